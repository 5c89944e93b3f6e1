package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/account/accounttest"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
	"github.com/clc-portal/clc/internal/server"
)

func TestSessionCookieSecureOnlyOverHTTPS(t *testing.T) {
	t.Parallel()
	for base, secure := range map[string]bool{"https://clc.example.com": true, "http://127.0.0.1:8080": false} {
		u, _ := url.Parse(base)
		sm := server.NewSessions(memstore.New(), u, 12*time.Hour)
		if name := map[bool]string{true: "__Host-clc_session", false: "clc_session"}[secure]; sm.Cookie.Name != name {
			t.Errorf("%s: cookie named %q, want %q", base, sm.Cookie.Name, name)
		}
		if sm.Cookie.Secure != secure || !sm.Cookie.HttpOnly || sm.Lifetime != 12*time.Hour {
			t.Errorf("%s: cookie %+v, lifetime %v", base, sm.Cookie, sm.Lifetime)
		}
	}
}

// countingTracer counts the statements a pool sends, batched or not.
type countingTracer struct {
	mu  sync.Mutex
	sql []string
}

func (c *countingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sql = append(c.sql, d.SQL)
	return ctx
}

func (c *countingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A batch is one round trip, but each of its statements counts: the test
// is of round trips, and a batch of several would hide work.
func (c *countingTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (c *countingTracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sql = append(c.sql, d.SQL)
}

func (c *countingTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (c *countingTracer) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	sql := c.sql
	c.sql = nil
	return sql
}

// TestASignedInPageAsksTheDatabaseOnceForItsFrame counts the statements a
// signed-in page sends before its own: one, which reads the session with
// the user, the menu's account and Account Management's counts. The home
// page has no work of its own, so it is that statement alone; and the
// frame it shows is the administrator's.
func TestASignedInPageAsksTheDatabaseOnceForItsFrame(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	tracer := &countingTracer{}
	pool := db.TracedPool(t, tracer)
	a := newAppWith(t, db, func(d *server.Deps) {
		useServices(d, account.NewService(postgres.NewStore(pool), account.SystemClock{}, accounttest.Hasher()))
		d.Sessions = server.NewSessions(postgres.NewSessionStore(pool, server.SessionUser), d.BaseURL, 12*time.Hour)
	})
	a.user("ada@globex.example", "Ada Admin", false)
	a.user("rita@partner.example", "Rita Requester", false)
	globex := a.account("Globex", "globex.example", "ada@globex.example")
	if _, err := db.Pool.Exec(context.Background(), `INSERT INTO access_requests (user_id, smart_account_id, role, reason, created_at)
		SELECT id, $1, 'user', 'please', now() FROM users WHERE email = 'rita@partner.example'`, globex.ID); err != nil {
		t.Fatal(err)
	}
	b := a.signedIn("ada@globex.example")
	for range 3 {
		tracer.take()
		p := b.get("/")
		if p.StatusCode != http.StatusOK {
			t.Fatalf("home: %d", p.StatusCode)
		}
		if sql := tracer.take(); len(sql) != 1 {
			t.Errorf("the home page sent %d statements, want 1:\n%s", len(sql), strings.Join(sql, "\n----\n"))
		}
		for _, want := range []string{"Ada Admin", "Globex"} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("the home page does not show %q", want)
			}
		}
		if n := p.Doc.Find("#menu-pending-count").Text(); n != "1" {
			t.Errorf("the menu counts %q access requests waiting, want 1", n)
		}
	}
}

// TestSessionsKeepTheirTypes stores a session of every kind of value the
// portal keeps through the real store and reads it back, typed as put;
// and a session written by scs's gob codec before is still read.
func TestSessionsKeepTheirTypes(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	sm := server.NewSessions(postgres.NewSessionStore(db.Pool, server.SessionUser), &url.URL{Scheme: "http", Host: "x"}, time.Hour)
	put, err := sm.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	sm.Put(put, "user_id", int64(42))
	sm.Put(put, "pending_step", 2)
	sm.Put(put, "flash", "Saved — gespeichert")
	token, _, err := sm.Commit(put)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sm.Load(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if sm.GetInt64(got, "user_id") != 42 || sm.GetInt(got, "pending_step") != 2 || sm.GetString(got, "flash") != "Saved — gespeichert" {
		t.Errorf("read back %v", sm.Keys(got))
	}
	if _, err := sm.Load(ctx, token); err != nil {
		t.Fatal(err)
	}
	put2, _ := sm.Load(ctx, "")
	sm.Put(put2, "odd", 1.5)
	if _, _, err := sm.Commit(put2); err == nil {
		t.Error("a float was stored; the codec keeps strings and integers only")
	}

	old, err := scs.GobCodec{}.Encode(time.Now().Add(time.Hour), map[string]any{"user_id": int64(7), "lang": "de"})
	if err != nil {
		t.Fatal(err)
	}
	if server.SessionUser(old) != 7 {
		t.Errorf("a gob session's user is %d, want 7", server.SessionUser(old))
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO sessions (token, data, expiry) VALUES ('old', $1, now() + interval '1 hour')`, old); err != nil {
		t.Fatal(err)
	}
	was, err := sm.Load(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if sm.GetInt64(was, "user_id") != 7 || sm.GetString(was, "lang") != "de" {
		t.Errorf("a gob session read back as %v", sm.Keys(was))
	}
}
