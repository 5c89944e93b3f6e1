package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/pquerna/otp/totp"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/account/accounttest"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
	"github.com/clc-portal/clc/internal/server"
	"github.com/clc-portal/clc/internal/webhook"
)

// app is the whole portal on a real listener over a fresh database.
type app struct {
	t     *testing.T
	db    pgtest.DB
	svc   *account.Service
	clock *account.ManualClock
	srv   *httptest.Server
	// server is the router srv serves.
	server *server.Server
	base   *url.URL
	logs   *strings.Builder

	mu sync.Mutex
	// authenticators are the TOTP secrets of the users a test gave one (all
	// staff), and the newest step each has used: a code works once.
	authenticators map[string]*authenticator
}

type authenticator struct {
	secret   string
	lastStep int64
}

func newApp(t *testing.T) *app {
	t.Helper()
	return newAppOn(t, pgtest.New(t))
}

// newAppOn serves over db, whose pool may reach PostgreSQL through a proxy.
func newAppOn(t *testing.T, db pgtest.DB) *app {
	t.Helper()
	return newAppWith(t, db, func(*server.Deps) {})
}

// newAppWith lets set change the server's dependencies before it starts.
func newAppWith(t *testing.T, db pgtest.DB, set func(*server.Deps)) *app {
	t.Helper()
	return newAppAt(t, db, func(d *server.Deps, _ string) { set(d) })
}

// newAppAt is newAppWith whose set also learns the URL the server will
// listen at, for what must know it first (an OpenID provider's client).
func newAppAt(t *testing.T, db pgtest.DB, set func(d *server.Deps, url string)) *app {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	logs := &strings.Builder{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil))
	clock := account.NewManualClock(time.Now())
	svc := account.NewService(postgres.NewStore(db.Pool), clock, accounttest.Hasher())
	// As main does with CLC_WEBHOOK_ALLOW_PRIVATE=1: the tests' receivers
	// listen on loopback.
	svc.SetWebhookTargets(webhook.Targets{AllowPrivate: true}, true)
	catalog, err := i18n.Load(log)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("http://127.0.0.1")
	store := postgres.NewSessionStore(db.Pool, server.SessionUser)
	deps := server.Deps{
		Log:         log,
		Sessions:    server.NewSessions(store, base, 12*time.Hour),
		SessionIdle: time.Hour,
		Catalog:     catalog,
		BaseURL:     base,
		Ready:       db.Pool.Ping,
	}
	useServices(&deps, svc)
	set(&deps, "http://"+hs.Listener.Addr().String())
	srv := server.New(deps)
	hs.Config.Handler = withAxe(srv)
	hs.Start()
	t.Cleanup(hs.Close)
	u, _ := url.Parse(hs.URL)
	return &app{t: t, db: db, svc: svc, clock: clock, srv: hs, server: srv, base: u, logs: logs, authenticators: map[string]*authenticator{}}
}

// useServices hands the server svc's use cases, as main does.
func useServices(d *server.Deps, svc *account.Service) {
	d.Requests, d.Listings, d.Access = svc.AccountRequests, svc.Listings, svc.AccessManagement
	d.SignIn, d.Tokens, d.Accounts, d.Webhooks, d.Events = svc.SignIn, svc.Tokens, svc, svc.Webhooks, svc.EventLog
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// user adds a user with password "correct horse". Staff get an
// authenticator too, as they must before they can sign in.
func (a *app) user(email, name string, staff bool) account.User {
	a.t.Helper()
	u, err := a.svc.AddUser(context.Background(), account.NewUser{Email: email, Name: name, Password: "correct horse", Staff: staff})
	if err != nil {
		a.t.Fatal(err)
	}
	if staff {
		a.enrollTOTP(u)
	}
	return u
}

// enrollTOTP gives u an authenticator, confirmed as the setup page does.
func (a *app) enrollTOTP(u account.User) {
	a.t.Helper()
	e, err := a.svc.NewTOTPEnrollment(u)
	if err != nil {
		a.t.Fatal(err)
	}
	a.mu.Lock()
	a.authenticators[u.Email] = &authenticator{secret: e.Secret}
	a.mu.Unlock()
	if _, err := a.svc.EnrollTOTP(context.Background(), u.ID, e.Secret, a.totpCode(u.Email)); err != nil {
		a.t.Fatal(err)
	}
}

// totpCode is what email's authenticator app shows now, moving the clock on
// to the next 30-second step when this one's code was used already.
func (a *app) totpCode(email string) string {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	auth := a.authenticators[email]
	if auth == nil {
		a.t.Fatalf("%s has no authenticator", email)
	}
	if a.clock.Now().Unix()/30 <= auth.lastStep {
		a.clock.Advance(30 * time.Second)
	}
	now := a.clock.Now()
	auth.lastStep = now.Unix() / 30
	code, err := totp.GenerateCode(auth.secret, now)
	if err != nil {
		a.t.Fatal(err)
	}
	return code
}

func (a *app) account(name, domain string, admins ...string) account.SmartAccount {
	a.t.Helper()
	sa, err := a.svc.AddAccount(context.Background(), account.NewAccount{Name: name, Domain: domain, AdminEmails: admins}, "test")
	if err != nil {
		a.t.Fatal(err)
	}
	return sa
}

// browser is one person's cookie jar; it does not follow redirects so tests
// see each answer.
type browser struct {
	t      *testing.T
	app    *app
	client *http.Client
}

func (a *app) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: a.t, app: a, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}}
}

// page is a response with its parsed document.
type page struct {
	*http.Response
	Doc  *goquery.Document
	Body string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if err != nil {
		b.t.Fatal(err)
	}
	return page{Response: resp, Doc: doc, Body: string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.app.srv.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.app.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// What a browser sends for a form on the same site.
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", b.app.srv.URL)
	return b.do(req)
}

// login signs in with a password and, for a user whose authenticator the
// test holds, the code it shows; the answer is the last step's.
func (b *browser) login(email, password string) page {
	b.t.Helper()
	p := b.post("/login", url.Values{"email": {email}, "password": {password}})
	b.app.mu.Lock()
	_, has := b.app.authenticators[strings.ToLower(email)]
	b.app.mu.Unlock()
	if has && p.StatusCode == http.StatusSeeOther && p.Header.Get("Location") == "/login/code" {
		return b.post("/login/code", url.Values{"code": {b.app.totpCode(strings.ToLower(email))}})
	}
	return p
}

func (b *browser) cookie(name string) *http.Cookie {
	for _, c := range b.client.Jar.Cookies(b.app.base) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func wantStatus(t *testing.T, p page, want int) {
	t.Helper()
	if p.StatusCode != want {
		t.Fatalf("status %d, want %d; body:\n%s", p.StatusCode, want, p.Body)
	}
}

func wantRedirect(t *testing.T, p page, to string) {
	t.Helper()
	wantStatus(t, p, http.StatusSeeOther)
	if got := p.Header.Get("Location"); got != to {
		t.Fatalf("redirect to %q, want %q", got, to)
	}
}

func text(p page, sel string) string {
	return strings.Join(strings.Fields(p.Doc.Find(sel).Text()), " ")
}

type goquerySelection = goquery.Selection

func accountInput(name, domain string, restricted bool) account.NewAccount {
	return account.NewAccount{Name: name, Domain: domain, Restricted: restricted}
}

// restricted adds a restricted account, found by search only by its entire
// name or domain.
func (a *app) restricted(name, domain string, admins ...string) account.SmartAccount {
	a.t.Helper()
	sa, err := a.svc.AddAccount(context.Background(), account.NewAccount{Name: name, Domain: domain, Restricted: true, AdminEmails: admins}, "test")
	if err != nil {
		a.t.Fatal(err)
	}
	return sa
}

// createdBy adds an account the way a partner's request leaves it: created
// by them, in the given status, with no role for anyone yet.
func (a *app) createdBy(creator account.User, name, domain string, status account.Status) account.SmartAccount {
	a.t.Helper()
	var id int64
	err := a.db.Pool.QueryRow(context.Background(), `
		INSERT INTO smart_accounts (name, domain, account_type, status, created_by)
		VALUES ($1, $2, 'customer', $3, $4) RETURNING id`, name, domain, status, creator.ID).Scan(&id)
	if err != nil {
		a.t.Fatal(err)
	}
	return account.SmartAccount{ID: account.AccountID(id), Name: name, Domain: domain, Status: status, CreatedBy: creator.ID}
}

func (a *app) virtualAccount(sa account.SmartAccount, name string) {
	a.t.Helper()
	if err := a.svc.AddVirtualAccount(context.Background(), sa.ID, name, "test"); err != nil {
		a.t.Fatal(err)
	}
}

// grant gives email a role on sa, or on its Virtual Account va.
func (a *app) grant(email string, sa account.SmartAccount, va string, role account.Role) {
	a.t.Helper()
	if err := a.svc.GrantRole(context.Background(), email, sa.ID, va, role, "test"); err != nil {
		a.t.Fatal(err)
	}
}

// signedIn is a browser signed in as email.
func (a *app) signedIn(email string) *browser {
	a.t.Helper()
	b := a.browser()
	if p := b.login(email, "correct horse"); p.StatusCode != http.StatusSeeOther {
		a.t.Fatalf("sign in as %s: status %d", email, p.StatusCode)
	}
	return b
}

// texts is the whitespace-normalised text of each element sel matches.
func texts(p page, sel string) []string {
	var out []string
	p.Doc.Find(sel).Each(func(_ int, s *goquery.Selection) {
		out = append(out, strings.Join(strings.Fields(s.Text()), " "))
	})
	return out
}

// rows is each table row sel matches as its cells' texts joined by spaces.
func rows(p page, sel string) []string {
	var out []string
	p.Doc.Find(sel).Each(func(_ int, tr *goquery.Selection) {
		var cells []string
		tr.Children().Each(func(_ int, c *goquery.Selection) {
			cells = append(cells, strings.Join(strings.Fields(c.Text()), " "))
		})
		out = append(out, strings.Join(cells, " "))
	})
	return out
}
