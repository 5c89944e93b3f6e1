package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
	"github.com/clc-portal/clc/internal/server"
)

// A portal whose base URL is https (behind a TLS-terminating proxy) sends
// HSTS on every response and names its session cookie __Host-, Secure, for
// this host and every path (ASVS 3.3.1, 3.3.3, 3.3.4, 3.4.1); over plain
// http it sends neither, as a browser would ignore both.
func TestOverHTTPSTheCookieIsHostOnlyAndHSTSIsSent(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	base, _ := url.Parse("https://clc.example.com")
	a := newAppWith(t, db, func(d *server.Deps) {
		d.BaseURL = base
		d.Sessions = server.NewSessions(postgres.NewSessionStore(db.Pool, server.SessionUser), base, 12*time.Hour)
	})
	a.user("ada@partner.example", "Ada", false)
	b := a.browser()
	for _, path := range []string{"/", "/login", "/no-such-page", "/static/app.css", "/healthz"} {
		if got := b.get(path).Header.Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
			t.Errorf("%s: Strict-Transport-Security %q", path, got)
		}
	}
	p := b.post("/login", url.Values{"email": {"ada@partner.example"}, "password": {"correct horse"}})
	wantStatus(t, p, http.StatusSeeOther)
	var cookie string
	for _, c := range p.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "__Host-clc_session=") {
			cookie = c
		}
	}
	for _, want := range []string{"Secure", "HttpOnly", "SameSite=Lax", "Path=/;"} {
		if !strings.Contains(cookie+";", want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Domain=") {
		t.Errorf("session cookie %q names a Domain", cookie)
	}

	plain := newApp(t).browser()
	if got := plain.get("/").Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("plain http sends Strict-Transport-Security %q", got)
	}
}

// ASVS 13.4.3, 13.4.4: the assets folder lists nothing, and TRACE is
// answered by no route, assets included.
func TestNoListingAndNoTrace(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	b := a.browser()
	for _, path := range []string{"/static/", "/static", "/static/./", "/static/no-such.css"} {
		p := b.get(path)
		if p.StatusCode != http.StatusNotFound || strings.Contains(p.Body, `href="app.js"`) {
			t.Errorf("GET %s: %d\n%s", path, p.StatusCode, p.Body)
		}
	}
	if p := b.get("/static/app.css"); p.StatusCode != http.StatusOK || p.Header.Get("Cache-Control") != "public, max-age=3600" {
		t.Errorf("GET /static/app.css: %d %q", p.StatusCode, p.Header.Get("Cache-Control"))
	}
	for _, path := range []string{"/", "/login", "/static/app.css", "/pending/x"} {
		req, _ := http.NewRequest(http.MethodTrace, a.srv.URL+path, nil)
		if p := b.do(req); p.StatusCode != http.StatusMethodNotAllowed && p.StatusCode != http.StatusNotFound {
			t.Errorf("TRACE %s: %d", path, p.StatusCode)
		}
	}
}
