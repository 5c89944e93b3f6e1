package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
	"github.com/clc-portal/clc/internal/server"
)

func TestSessionCookieSecureOnlyOverHTTPS(t *testing.T) {
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
	db := pgtest.New(t)
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	tracer := &countingTracer{}
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	a := newAppWith(t, db, func(d *server.Deps) {
		d.Accounts = account.NewService(postgres.NewStore(pool), account.SystemClock{}, account.NewArgon2id())
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
