package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/paths"
)

// signInEvents is the sign-in history's kinds for email, oldest first.
func (a *app) signInEvents(email string) []string {
	a.t.Helper()
	rows, err := a.db.Pool.Query(context.Background(), `SELECT kind FROM sign_in_events WHERE email = $1 ORDER BY id`, email)
	if err != nil {
		a.t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			a.t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}

// TestSSOSignsInThroughTheProvider signs in through a real OpenID provider:
// a known user by their verified email, a new one created with no role,
// staff whose provider asserted multi-factor without the portal's code and
// staff whose provider did not with it; an unverified email is refused.
func TestSSOSignsInThroughTheProvider(t *testing.T) {
	a, _ := newSSOApp(t)
	a.user("ada@northwind-partners.example", "Ada", false)
	a.user("ops@clc.example", "Olga", true)
	a.user("ops2@clc.example", "Otto", true)

	t.Run("known user", func(t *testing.T) {
		b := a.browser()
		login := b.get(paths.Login)
		if got := text(login, "#sso button"); got != "Log In with Northwind ID" {
			t.Fatalf("button %q", got)
		}
		wantRedirect(t, b.ssoSignIn("ada@northwind-partners.example"), paths.CLC)
		if p := b.get(paths.CLC); p.Doc.Find(`form[action="/logout"]`).Length() == 0 || !strings.Contains(p.Body, "Ada") {
			t.Fatalf("not signed in as ada:\n%s", p.Body)
		}
		if got := a.signInEvents("ada@northwind-partners.example"); strings.Join(got, ",") != "sso_sign_in" {
			t.Errorf("events %v", got)
		}
	})

	t.Run("new user has no role", func(t *testing.T) {
		b := a.browser()
		wantRedirect(t, b.ssoSignIn("new@northwind-partners.example"), paths.CLC)
		p := b.get(paths.CLC)
		if p.StatusCode != http.StatusForbidden || p.Doc.Find(`form[action="/logout"]`).Length() == 0 || !strings.Contains(p.Body, "Nova Newcomer") {
			t.Fatalf("the no-role page with a way to request access was not shown:\n%s", p.Body)
		}
		var hash string
		if err := a.db.Pool.QueryRow(context.Background(), `SELECT password_hash FROM users WHERE email = 'new@northwind-partners.example'`).Scan(&hash); err != nil || hash != "" {
			t.Errorf("the new user: hash %q, %v", hash, err)
		}
		if got := a.signInEvents("new@northwind-partners.example"); strings.Join(got, ",") != "sso_user_created,sso_sign_in" {
			t.Errorf("events %v", got)
		}
	})

	t.Run("unverified email", func(t *testing.T) {
		b := a.browser()
		p := b.ssoSignIn("unverified@northwind-partners.example")
		wantStatus(t, p, http.StatusForbidden)
		if !strings.Contains(text(p, "main"), "Northwind ID has not confirmed that this email address is yours") {
			t.Errorf("page:\n%s", text(p, "main"))
		}
		var n int
		_ = a.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE email = 'unverified@northwind-partners.example'`).Scan(&n)
		if n != 0 {
			t.Error("a user was created for an unverified email")
		}
		if got := a.signInEvents("unverified@northwind-partners.example"); strings.Join(got, ",") != "sso_refused_unverified" {
			t.Errorf("events %v", got)
		}
		wantRedirect(t, b.get(paths.CLC), paths.LoginThen(paths.CLC))
	})

	t.Run("staff with multi-factor at the provider skip the code", func(t *testing.T) {
		b := a.browser()
		wantRedirect(t, b.ssoSignIn("ops@clc.example"), paths.CLC)
		wantStatus(t, b.get(paths.OpsRequests), http.StatusOK)
	})

	t.Run("staff without it meet the code", func(t *testing.T) {
		b := a.browser()
		wantRedirect(t, b.ssoSignIn("ops2@clc.example"), paths.LoginCode)
		wantRedirect(t, b.get(paths.OpsRequests), paths.LoginThen(paths.OpsRequests))
		wantRedirect(t, b.post(paths.LoginCode, url.Values{"code": {a.totpCode("ops2@clc.example")}}), paths.CLC)
		wantStatus(t, b.get(paths.OpsRequests), http.StatusOK)
	})

	t.Run("log out offers the provider's end-session", func(t *testing.T) {
		b := a.browser()
		wantRedirect(t, b.ssoSignIn("ada@northwind-partners.example"), paths.CLC)
		wantRedirect(t, b.post(paths.Logout, nil), paths.LoggedOutSSO)
		p := b.get(paths.LoggedOutSSO)
		wantStatus(t, p, http.StatusOK)
		href, _ := p.Doc.Find("#sso-end-session").Attr("href")
		if !strings.Contains(href, "/session/end?") || !strings.Contains(href, "client_id="+ssoClientID) {
			t.Errorf("end-session link %q", href)
		}
		wantRedirect(t, b.get(paths.CLC), paths.LoginThen(paths.CLC))
		// A password sign-in's Log Out offers nothing of the provider.
		pw := a.signedIn("ada@northwind-partners.example")
		wantRedirect(t, pw.post(paths.Logout, nil), paths.Home)
	})
}
