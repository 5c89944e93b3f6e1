package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/logctx"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/layout"
)

// Session keys.
const (
	sessionUserID = "user_id"
	sessionFlash  = "flash"
	sessionLang   = "lang"
	sessionSeen   = "seen" // when the signed-in user last made a request
)

// touchEvery bounds how often a request records that the user was seen, so
// most requests write nothing.
const touchEvery = time.Minute

type userKey struct{}

// frameKey holds the signed-in user's frame (account.Frame): every page's
// shell shows it.
type frameKey struct{}

// loadUser puts the signed-in user, if any, in the request's context.
func (s *Server) loadUser(next http.Handler) http.Handler {
	return s.h(func(w http.ResponseWriter, r *http.Request) error {
		id := s.sessions.GetInt64(r.Context(), sessionUserID)
		if id == 0 {
			next.ServeHTTP(w, r)
			return nil
		}
		if !s.touchSession(r) {
			next.ServeHTTP(w, r)
			return nil
		}
		// Read with the session, as a rule; a session just signed in, or
		// stored before sessions named their user, asks for it.
		f, ok := openedFrame(r.Context(), id)
		var err error
		if !ok {
			f, err = s.accounts.SignedIn(r.Context(), id)
		}
		if errors.Is(err, account.ErrNotFound) {
			// The user was removed while signed in.
			s.sessions.Remove(r.Context(), sessionUserID)
			next.ServeHTTP(w, r)
			return nil
		}
		if err != nil {
			return err
		}
		ctx := context.WithValue(r.Context(), userKey{}, f.User)
		logctx.SetUser(ctx, f.User.ID)
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, frameKey{}, &f)))
		return nil
	})
}

// touchSession enforces the idle timeout: a sign-in unused for longer ends,
// and a used one is marked seen at most once per touchEvery. It reports
// whether the user is still signed in.
func (s *Server) touchSession(r *http.Request) bool {
	ctx := r.Context()
	now := s.accounts.Clock().Now()
	// Unix seconds: the session codec (gob) takes an int64 without registration.
	seen := time.Unix(s.sessions.GetInt64(ctx, sessionSeen), 0)
	if now.Sub(seen) > s.idle {
		s.sessions.Remove(ctx, sessionUserID)
		s.sessions.Remove(ctx, sessionSeen)
		return false
	}
	if now.Sub(seen) > touchEvery {
		s.sessions.Put(ctx, sessionSeen, now.Unix())
	}
	return true
}

// signIn starts a signed-in session for u under a new token, which defeats
// session fixation.
func (s *Server) signIn(r *http.Request, u account.User) error {
	ctx := r.Context()
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.sessions.Put(ctx, sessionUserID, u.ID)
	logctx.SetUser(ctx, u.ID)
	if err := s.logins.SignedIn(ctx, u); err != nil {
		return err
	}
	s.sessions.Put(ctx, sessionSeen, s.accounts.Clock().Now().Unix())
	// The language saved on the user wins over one chosen while signed out;
	// a choice made before a first sign-in is kept for the user's emails.
	switch choice := s.sessions.GetString(ctx, sessionLang); {
	case u.Language != "":
		s.sessions.Put(ctx, sessionLang, u.Language)
	case choice != "":
		if err := s.accounts.SetLanguage(ctx, u.ID, choice); err != nil {
			return err
		}
	}
	return nil
}

// currentUser is the signed-in user; ok is false for visitors.
func currentUser(ctx context.Context) (account.User, bool) {
	u, ok := ctx.Value(userKey{}).(account.User)
	return u, ok
}

// requireUser sends visitors to Log In, then back.
func (s *Server) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := currentUser(r.Context()); !ok {
			http.Redirect(w, r, paths.LoginThen(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// shell builds the signed-in frame for page current.
func (s *Server) shell(r *http.Request, current string) *layout.Shell {
	u, ok := currentUser(r.Context())
	if !ok {
		return nil
	}
	sh := &layout.Shell{UserName: u.Name, UserEmail: u.Email, Staff: u.Staff, Current: current}
	if f, ok := r.Context().Value(frameKey{}).(*account.Frame); ok {
		sh.AccountName = f.MenuAccount
		sh.Manage = manageMenu(f.Manage)
	}
	return sh
}

// flash stores a notice for the next page.
func (s *Server) flash(r *http.Request, msg string) { s.sessions.Put(r.Context(), sessionFlash, msg) }

// popFlash takes the pending notice, if any.
func (s *Server) popFlash(r *http.Request) string {
	return s.sessions.PopString(r.Context(), sessionFlash)
}

// localPath keeps a post-login destination on this site: a path, never
// "//evil.example" or an absolute URL.
func localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return paths.CLC
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return paths.CLC
	}
	return next
}
