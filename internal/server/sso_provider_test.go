package server_test

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
	"github.com/clc-portal/clc/internal/server"
	"github.com/clc-portal/clc/internal/sso"
)

// oidcProvider is a real OpenID provider, panva's oidc-provider from npm
// (pinned by testdata/oidc/package-lock.json; scripts/test.sh installs it
// with npm ci), started by testdata/oidc/provider.mjs for one test and
// stopped at its end. Its users sign in with providerPassword.
type oidcProvider struct {
	// origin is where it listens; issuer is who it says it is (the same
	// unless the test made it claim another's).
	origin, issuer string
}

const (
	providerPassword = "provider-password"
	ssoClientID      = "clc-portal"
	ssoClientSecret  = "clc-portal-secret"
)

// startProvider starts a provider whose client sends browsers back to
// redirect; env adds OIDC_* settings of provider.mjs.
func startProvider(t *testing.T, redirect string, env ...string) *oidcProvider {
	t.Helper()
	dir := filepath.Join("testdata", "oidc")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider")); err != nil {
		t.Fatalf("oidc-provider is not installed (run `npm ci` in internal/server/testdata/oidc, as make test does): %v", err)
	}
	cmd := exec.Command("node", "provider.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"OIDC_REDIRECT_URI=" + redirect, "OIDC_CLIENT_ID=" + ssoClientID, "OIDC_CLIENT_SECRET=" + ssoClientSecret}, env...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the OpenID provider (node is needed): %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() { // keep the pipe drained
		}
	}()
	select {
	case line, ok := <-lines:
		f := strings.Fields(line)
		if !ok || len(f) != 4 || f[0] != "listening" {
			t.Fatalf("the OpenID provider did not start: %q\n%s", line, stderr.String())
		}
		return &oidcProvider{origin: f[1], issuer: f[3]}
	case <-time.After(90 * time.Second):
		t.Fatalf("the OpenID provider did not start in 90 s:\n%s", stderr.String())
	}
	return nil
}

// newSSOApp is the portal with single sign-on through a provider of its
// own (started with env), whose clock also checks the ID tokens.
func newSSOApp(t *testing.T, env ...string) (*app, *oidcProvider) {
	t.Helper()
	var p *oidcProvider
	var clock *account.ManualClock
	a := newAppAt(t, pgtest.New(t), func(d *server.Deps, base string) {
		p = startProvider(t, base+paths.LoginSSOCallback, env...)
		clock = d.Accounts.Clock().(*account.ManualClock)
		d.SSO = sso.New(sso.Config{
			Issuer: p.issuer, ClientID: ssoClientID, ClientSecret: ssoClientSecret, Name: "Northwind ID",
			RedirectURL: base + paths.LoginSSOCallback, PostLogoutURL: base + "/", Now: clock.Now,
		})
	})
	return a, p
}

// ssoStart presses the button on Log In and returns where the portal
// sends the browser: the provider's authorization endpoint.
func (b *browser) ssoStart() string {
	b.t.Helper()
	p := b.post(paths.LoginSSO, url.Values{})
	wantStatus(b.t, p, http.StatusSeeOther)
	return p.Header.Get("Location")
}

// atProvider follows the browser from authURL through the provider's own
// pages, signing in as email, and returns the portal callback URL the
// provider sends it back to (with its code and state).
func (b *browser) atProvider(authURL, email string) string {
	b.t.Helper()
	next := authURL
	for range 10 {
		if strings.HasPrefix(next, b.app.srv.URL) {
			return next
		}
		req, _ := http.NewRequest(http.MethodGet, next, nil)
		p := b.do(req)
		switch {
		case p.StatusCode == http.StatusSeeOther || p.StatusCode == http.StatusFound:
			loc, err := p.Request.URL.Parse(p.Header.Get("Location"))
			if err != nil {
				b.t.Fatal(err)
			}
			next = loc.String()
		case p.StatusCode == http.StatusOK && p.Doc.Find("form input[name=login]").Length() == 1:
			action, _ := p.Doc.Find("form").Attr("action")
			to, _ := p.Request.URL.Parse(action)
			req, _ := http.NewRequest(http.MethodPost, to.String(), strings.NewReader(url.Values{"login": {email}, "password": {providerPassword}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r := b.do(req)
			if r.StatusCode != http.StatusSeeOther && r.StatusCode != http.StatusFound {
				b.t.Fatalf("the provider's login answered %d:\n%s", r.StatusCode, r.Body)
			}
			loc, _ := r.Request.URL.Parse(r.Header.Get("Location"))
			next = loc.String()
		default:
			b.t.Fatalf("the provider answered %d at %s:\n%s", p.StatusCode, next, p.Body)
		}
	}
	b.t.Fatalf("no way back to the portal from %s", authURL)
	return ""
}

// getURL opens an absolute URL on the portal.
func (b *browser) getURL(u string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

// ssoSignIn goes from the button through the provider as email and returns
// the portal's answer to the provider's callback.
func (b *browser) ssoSignIn(email string) page {
	b.t.Helper()
	return b.getURL(b.atProvider(b.ssoStart(), email))
}

// closedPort is an address nothing listens at: an issuer that is down.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// withQuery is u with key set to value.
func withQuery(t *testing.T, u, key, value string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	q.Set(key, value)
	p.RawQuery = q.Encode()
	return p.String()
}
