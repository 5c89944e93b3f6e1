package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/clc-portal/clc/internal/account"
)

// NewSessions configures sign-in sessions over store: an HttpOnly, Lax
// cookie, Secure and __Host- when the portal is served over https, ending lifetime after
// sign-in at the latest. The idle timeout is the server's (see touchSession):
// scs's own rewrites the session row on every request.
//
// The store is asked for a session only when openSession has not read it
// already, with its user's frame, in the same round trip.
func NewSessions(store scs.Store, base *url.URL, lifetime time.Duration) *scs.SessionManager {
	sm := scs.New()
	sm.Store = openedStore{store}
	sm.Codec = sessionCodec{}
	sm.Lifetime = lifetime
	sm.Cookie.Name = "clc_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Path = "/"
	if base.Scheme == "https" {
		// __Host-: the browser takes it only Secure, for this host alone
		// and for every path (ASVS 3.3.1, 3.3.3); plain http cannot.
		sm.Cookie.Name = "__Host-clc_session"
		sm.Cookie.Secure = true
	}
	return sm
}

// openedSession is the session openSession read for a request.
type openedSession struct {
	token string
	found bool
	data  []byte
	frame *account.Frame // nil when the session has no user
}

type openedKey struct{}

// openSession reads the request's session and its signed-in user's frame
// in one round trip (account.Service.OpenSession), ahead of scs's
// LoadAndSave, which then takes the session from openedStore instead of
// asking the database a second time, and loadUser takes the frame.
func (s *Server) openSession(next http.Handler) http.Handler {
	return s.h(func(w http.ResponseWriter, r *http.Request) error {
		token := ""
		if c, err := r.Cookie(s.sessions.Cookie.Name); err == nil {
			token = c.Value
		}
		if token == "" {
			next.ServeHTTP(w, r) // a visitor with no session yet
			return nil
		}
		sess, found, err := s.accounts.OpenSession(r.Context(), token)
		if err != nil {
			return err
		}
		o := &openedSession{token: token, found: found, data: sess.Data, frame: sess.Frame}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), openedKey{}, o)))
		return nil
	})
}

// openedFrame is the frame openSession read with the session, if it is
// user id's.
func openedFrame(ctx context.Context, id int64) (account.Frame, bool) {
	o, ok := ctx.Value(openedKey{}).(*openedSession)
	if !ok || o.frame == nil || o.frame.User.ID != id {
		return account.Frame{}, false
	}
	return *o.frame, true
}

// openedStore answers scs's read of the session openSession already read,
// and passes everything else to the store.
type openedStore struct{ scs.Store }

func (o openedStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if opened, ok := ctx.Value(openedKey{}).(*openedSession); ok && opened.token == token {
		return opened.data, opened.found, nil
	}
	if cs, ok := o.Store.(scs.CtxStore); ok {
		return cs.FindCtx(ctx, token)
	}
	return o.Find(token)
}

func (o openedStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if cs, ok := o.Store.(scs.CtxStore); ok {
		return cs.CommitCtx(ctx, token, b, expiry)
	}
	return o.Commit(token, b, expiry)
}

func (o openedStore) DeleteCtx(ctx context.Context, token string) error {
	if cs, ok := o.Store.(scs.CtxStore); ok {
		return cs.DeleteCtx(ctx, token)
	}
	return o.Delete(token)
}

// sessionCodec stores a session as JSON, each value in a map of its Go
// type so that it decodes to that type again (scs's typed getters assert
// it). It replaces scs's gob codec, whose encoder and decoder describe the
// types afresh for every session and cost a signed-in page about an eighth
// of its CPU. A session holds strings, int64s and ints only.
type sessionCodec struct{}

type encodedSession struct {
	Deadline time.Time         `json:"deadline"`
	Strings  map[string]string `json:"s,omitempty"`
	Int64s   map[string]int64  `json:"i64,omitempty"`
	Ints     map[string]int    `json:"i,omitempty"`
}

func (sessionCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	e := encodedSession{Deadline: deadline}
	for k, v := range values {
		switch v := v.(type) {
		case string:
			if e.Strings == nil {
				e.Strings = map[string]string{}
			}
			e.Strings[k] = v
		case int64:
			if e.Int64s == nil {
				e.Int64s = map[string]int64{}
			}
			e.Int64s[k] = v
		case int:
			if e.Ints == nil {
				e.Ints = map[string]int{}
			}
			e.Ints[k] = v
		default:
			return nil, fmt.Errorf("session value %q is a %T: the session codec keeps strings, int64s and ints", k, v)
		}
	}
	return json.Marshal(e)
}

func (sessionCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	if len(b) > 0 && b[0] != '{' {
		// Written by scs's gob codec before this one: still read, so that
		// an upgrade signs nobody out; the next write is JSON.
		return scs.GobCodec{}.Decode(b)
	}
	var e encodedSession
	if err := json.Unmarshal(b, &e); err != nil {
		return time.Time{}, nil, err
	}
	values := make(map[string]any, len(e.Strings)+len(e.Int64s)+len(e.Ints))
	for k, v := range e.Strings {
		values[k] = v
	}
	for k, v := range e.Int64s {
		values[k] = v
	}
	for k, v := range e.Ints {
		values[k] = v
	}
	return e.Deadline, values, nil
}

// SessionUser is the id of the user signed in by a session's encoded data,
// 0 for none: what the session store keeps beside the data, for
// account.Service.OpenSession to join on.
func SessionUser(data []byte) int64 {
	_, values, err := sessionCodec{}.Decode(data)
	if err != nil {
		return 0
	}
	id, _ := values[sessionUserID].(int64)
	return id
}
