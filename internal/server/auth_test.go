package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

func TestHomeLinksToCLC(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := a.browser().get("/")
	wantStatus(t, p, http.StatusOK)
	link := p.Doc.Find(`a:contains("Access Cisco License Central")`)
	if href, _ := link.Attr("href"); href != "/clc" {
		t.Fatalf("Access Cisco License Central links to %q, want /clc", href)
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	b := a.browser()
	for _, path := range []string{"/", "/login", "/no-such-page", "/static/app.css", "/healthz"} {
		p := b.get(path)
		csp := p.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if p.Header.Get("X-Content-Type-Options") != "nosniff" || p.Header.Get("Referrer-Policy") == "" {
			t.Errorf("%s: missing nosniff or Referrer-Policy: %v", path, p.Header)
		}
		if len(p.Header.Get("X-Request-Id")) != 16 {
			t.Errorf("%s: X-Request-Id %q", path, p.Header.Get("X-Request-Id"))
		}
	}
	if p := b.get("/"); p.Doc.Find("script:not([src])").Length() != 0 {
		t.Error("a page has inline script")
	}
}

func TestSignInOutAndShell(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada Lovelace", false)
	a.account("Northwind Partners", "partner.example", "ada@partner.example")
	b := a.browser()

	wantRedirect(t, b.get("/clc"), "/login?next=%2Fclc")
	login := b.get("/login?next=%2Fclc")
	for _, label := range []string{"Email", "Password"} {
		id, _ := login.Doc.Find(fmt.Sprintf(`label:contains(%q)`, label)).Attr("for")
		if login.Doc.Find("input#"+id).Length() != 1 {
			t.Errorf("no input labelled %q", label)
		}
	}
	if login.Doc.Find(`button:contains("Log In")`).Length() != 1 {
		t.Error("no Log In button")
	}
	before := b.cookie("clc_session")

	p := b.post("/login", url.Values{"email": {"ADA@partner.example"}, "password": {"correct horse"}, "next": {"/clc"}})
	wantRedirect(t, p, "/clc")
	after := b.cookie("clc_session")
	if after == nil || (before != nil && before.Value == after.Value) {
		t.Fatal("Log In did not issue a new session token")
	}
	var setCookie string
	for _, c := range p.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "clc_session=") {
			setCookie = c
		}
	}
	if !strings.Contains(setCookie, "HttpOnly") || !strings.Contains(setCookie, "SameSite=Lax") || strings.Contains(setCookie, "Secure") {
		t.Errorf("session cookie %q: want HttpOnly, SameSite=Lax, not Secure over http", setCookie)
	}

	shell := b.get("/clc")
	wantStatus(t, shell, http.StatusOK)
	if got := text(shell, "nav.menu .menu-heading"); got != "Northwind Partners" {
		t.Errorf("left menu shows %q, want the Smart Account's name", got)
	}
	if shell.Doc.Find(`nav.menu a:contains("Your Smart and Virtual Account access")`).Length() != 1 {
		t.Error("left menu lacks Your Smart and Virtual Account access")
	}
	if !strings.Contains(text(shell, "table"), "SA-") {
		t.Errorf("CLC page does not list the account: %s", text(shell, "main"))
	}

	p = b.post("/logout", nil)
	wantRedirect(t, p, "/")
	if c := b.cookie("clc_session"); c != nil && c.Value == after.Value {
		t.Error("Log Out kept the session token")
	}
	wantRedirect(t, b.get("/clc"), "/login?next=%2Fclc")
	if !strings.Contains(b.get("/").Body, "You are logged out.") {
		t.Error("no notice after Log Out")
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	b := a.browser()
	wrong := b.login("ada@partner.example", "wrong password")
	unknown := b.login("nobody@partner.example", "wrong password")
	wantStatus(t, wrong, http.StatusUnauthorized)
	wantStatus(t, unknown, http.StatusUnauthorized)
	if w, u := text(wrong, "#login-error"), text(unknown, "#login-error"); w != u || w == "" {
		t.Fatalf("wrong password says %q, unknown email says %q", w, u)
	}
	if v, _ := wrong.Doc.Find("input#email").Attr("value"); v != "ada@partner.example" {
		t.Errorf("email not kept: %q", v)
	}
	if wrong.Doc.Find("input#password[value]").Length() != 0 {
		t.Error("the password was echoed back")
	}
	wantStatus(t, b.login("", ""), http.StatusUnprocessableEntity)
}

func TestLoginThrottlesPerAccount(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	a.account("Partner", "partner.example", "ada@partner.example")
	b := a.browser()
	for i := 0; i < 6; i++ {
		wantStatus(t, b.login("ada@partner.example", "wrong"), http.StatusUnauthorized)
	}
	// Blocked now, even with the right password, and from another browser at
	// this address that has no device cookie of Ada's.
	p := a.browser().login("ada@partner.example", "correct horse")
	wantStatus(t, p, http.StatusTooManyRequests)
	if p.Header.Get("Retry-After") == "" || !strings.Contains(text(p, "#login-error"), "Too many failed attempts") {
		t.Fatalf("throttled answer lacks Retry-After or message: %v %s", p.Header, text(p, "#login-error"))
	}
	// Another account is not blocked by Ada's failures.
	a.user("bob@partner.example", "Bob", false)
	wantRedirect(t, a.browser().login("bob@partner.example", "correct horse"), "/clc")

	a.clock.Advance(2 * time.Second)
	wantRedirect(t, b.login("ada@partner.example", "correct horse"), "/clc")
	// Success clears the account's count: one more failure is not blocked.
	wantStatus(t, a.browser().login("ada@partner.example", "wrong"), http.StatusUnauthorized)
}

func TestLoginThrottlesPerClient(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	b := a.browser()
	for i := 0; i < 21; i++ {
		wantStatus(t, b.login(fmt.Sprintf("guess%d@partner.example", i), "wrong"), http.StatusUnauthorized)
	}
	wantStatus(t, b.login("ada@partner.example", "correct horse"), http.StatusTooManyRequests)
}

func TestNoRoleGetsPrerequisite(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("new@partner.example", "Newcomer", false)
	b := a.browser()
	wantRedirect(t, b.login("new@partner.example", "correct horse"), "/clc")
	p := b.get("/clc")
	wantStatus(t, p, http.StatusForbidden)
	body := text(p, "main")
	for _, want := range []string{"Smart Account User, Administrator or Viewer", "Virtual Account User, Administrator or Viewer"} {
		if !strings.Contains(body, want) {
			t.Errorf("no-access page lacks %q: %s", want, body)
		}
	}
}

func TestNextCannotLeaveTheSite(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example"} {
		p := a.browser().post("/login", url.Values{"email": {"ada@partner.example"}, "password": {"correct horse"}, "next": {next}})
		wantRedirect(t, p, "/clc")
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/login", strings.NewReader("email=ada%40partner.example&password=correct+horse"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	p := a.browser().do(req)
	wantStatus(t, p, http.StatusForbidden)
	if !strings.Contains(p.Body, "another site") {
		t.Errorf("cross-origin refusal page: %s", text(p, "main"))
	}
}

func TestNotFoundPage(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := a.browser().get("/no/such/page")
	wantStatus(t, p, http.StatusNotFound)
	if text(p, "h1") != "Page not found" || p.Doc.Find("header.topbar").Length() != 1 {
		t.Fatalf("404 not in the layout: %s", p.Body)
	}
}

func TestDatabaseDownAndBack(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	proxy, viaProxy := pgtest.NewProxy(t, db.URL)
	pool, err := postgres.Open(context.Background(), viaProxy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	a := newAppOn(t, pgtest.DB{Pool: pool, URL: viaProxy})
	a.user("ada@partner.example", "Ada", false)
	a.account("Partner", "partner.example", "ada@partner.example")
	b := a.browser()
	wantRedirect(t, b.login("ada@partner.example", "correct horse"), "/clc")
	wantStatus(t, b.get("/healthz"), http.StatusOK)
	wantStatus(t, b.get("/readyz"), http.StatusOK)

	proxy.Cut()
	wantStatus(t, b.get("/healthz"), http.StatusOK)
	wantStatus(t, b.get("/readyz"), http.StatusServiceUnavailable)
	p := b.get("/clc")
	wantStatus(t, p, http.StatusServiceUnavailable)
	if text(p, "h1") != "Cisco License Central is unavailable" || p.Doc.Find("header.topbar").Length() != 1 {
		t.Fatalf("database down page: %s", text(p, "main"))
	}
	if strings.Contains(p.Body, "dial") || strings.Contains(p.Body, "127.0.0.1") {
		t.Fatalf("error page shows internal text: %s", text(p, "main"))
	}

	// The portal comes back by itself, with the same sign-in.
	proxy.Restore()
	wantStatus(t, b.get("/readyz"), http.StatusOK)
	wantStatus(t, b.get("/clc"), http.StatusOK)
}

func TestIdleSignInEnds(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	a.account("Partner", "partner.example", "ada@partner.example")
	b := a.browser()
	wantRedirect(t, b.login("ada@partner.example", "correct horse"), "/clc")
	a.clock.Advance(59 * time.Minute)
	wantStatus(t, b.get("/clc"), http.StatusOK) // used: the idle clock starts again
	a.clock.Advance(59 * time.Minute)
	wantStatus(t, b.get("/clc"), http.StatusOK)
	a.clock.Advance(61 * time.Minute)
	wantRedirect(t, b.get("/clc"), "/login?next=%2Fclc")
}

// TestPageViewsDoNotRewriteTheSession guards the hot path: reading a page
// within a minute of the last must not write the session row.
func TestPageViewsDoNotRewriteTheSession(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	a.account("Partner", "partner.example", "ada@partner.example")
	b := a.browser()
	wantRedirect(t, b.login("ada@partner.example", "correct horse"), "/clc")
	snapshot := func() string {
		var s string
		if err := a.db.Pool.QueryRow(context.Background(), `SELECT string_agg(token || md5(data) || expiry::text, ',') FROM sessions`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := snapshot()
	for range 3 {
		wantStatus(t, b.get("/clc"), http.StatusOK)
	}
	if after := snapshot(); after != before {
		t.Fatalf("page views rewrote the session:\n%s\n%s", before, after)
	}
}

func TestMenuNamesTheUsersOwnAccount(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@emea.partner.example", "Ada", false)
	ctx := context.Background()
	for _, in := range []account.NewAccount{
		{Name: "A Lab Kit", Domain: "lab.other.example", Type: account.TypeLimitedUse},
		{Name: "B Holding", Domain: "holding.example", Type: account.TypePartnerHolding},
		{Name: "C Partner", Domain: "partner.example", Type: account.TypeCustomer},
	} {
		in.AdminEmails = []string{"ada@emea.partner.example"}
		if _, err := a.svc.AddAccount(ctx, in, "test"); err != nil {
			t.Fatal(err)
		}
	}
	b := a.signedIn("ada@emea.partner.example")
	if got := text(b.get("/clc"), "nav.menu .menu-heading"); got != "C Partner" {
		t.Errorf("menu names %q, want the account holding the user's domain", got)
	}
	a.user("bo@elsewhere.example", "Bo", false)
	a.grant("bo@elsewhere.example", account.SmartAccount{ID: 1}, "", account.RoleAdmin)
	a.grant("bo@elsewhere.example", account.SmartAccount{ID: 2}, "", account.RoleViewer)
	if got := text(a.signedIn("bo@elsewhere.example").get("/clc"), "nav.menu .menu-heading"); got != "B Holding" {
		t.Errorf("menu names %q, want the Partner Holding account", got)
	}
}
