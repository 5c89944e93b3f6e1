package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
)

// logged is each log record with the given message.
func (a *app) logged(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(a.logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// ASVS 16.3.1-16.3.3: sign-ins that work and fail, throttling, Log Out and
// refused authorization are logged with who and which request, never with
// the password.
func TestSecurityEventsAreLogged(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ada := a.user("ada@partner.example", "Ada", false)
	a.account("Partner", "partner.example", "ada@partner.example")

	for range 6 {
		a.browser().login("ada@partner.example", "wrong guess")
	}
	wantStatus(t, a.browser().login("ada@partner.example", "wrong guess"), http.StatusTooManyRequests)
	if n := len(a.logged("login failed")); n != 6 {
		t.Errorf("%d failed sign-ins logged, want 6", n)
	}
	if recs := a.logged("login throttled"); len(recs) != 1 || recs[0]["level"] != "WARN" || recs[0]["request_id"] == "" {
		t.Errorf("throttled sign-in logged as %v", recs)
	}
	if strings.Contains(a.logs.String(), "wrong guess") {
		t.Error("a password reached the log")
	}

	a.clock.Advance(account.AccountThrottle.Window + time.Minute)
	b := a.signedIn("ada@partner.example")
	if recs := a.logged("login"); len(recs) != 1 || recs[0]["user_id"] != float64(ada.ID) {
		t.Errorf("sign-in logged as %v", recs)
	}
	wantStatus(t, b.get("/ops/requests"), http.StatusForbidden)
	recs := a.logged("access refused")
	if len(recs) != 1 || recs[0]["user_id"] != float64(ada.ID) || recs[0]["path"] != "/ops/requests" || recs[0]["level"] != "WARN" {
		t.Errorf("refused authorization logged as %v", recs)
	}
	b.post("/logout", nil)
	if recs := a.logged("logout"); len(recs) != 1 || recs[0]["user_id"] != float64(ada.ID) {
		t.Errorf("Log Out logged as %v", recs)
	}
}

// ASVS 14.3.2, 7.4.1, 7.4.4: every signed-in page says no-store and offers
// Log Out; after Log Out the old session token resumes nothing.
func TestSignedInPagesAreNotCachedAndLogOutEndsTheSession(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	sa := a.account("Partner", "partner.example", "ada@partner.example")
	b := a.signedIn("ada@partner.example")
	for _, path := range []string{"/clc", "/clc/directory", "/clc/search?q=part", "/clc/accounts/" + sa.ID.String(),
		"/clc/accounts/new", "/settings/two-factor", "/clc/requests/SA-999999"} {
		p := b.get(path)
		if got := p.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, got)
		}
		if p.Doc.Find(`form[action="/logout"][method="post"] button`).Length() != 1 {
			t.Errorf("%s: no Log Out", path)
		}
	}
	old := b.cookie("clc_session")
	wantRedirect(t, b.post("/logout", nil), "/")

	replay := a.browser()
	replay.client.Jar.SetCookies(a.base, []*http.Cookie{{Name: old.Name, Value: old.Value, Path: "/"}})
	wantRedirect(t, replay.get("/clc"), "/login?next=%2Fclc")
	if replay.get("/").Doc.Find(`form[action="/logout"]`).Length() != 0 {
		t.Error("the old session token is still signed in")
	}
}

// ASVS 7.4.2: a user removed while signed in is signed out at the next
// request, whatever session they hold.
func TestARemovedUserIsSignedOut(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	a.account("Partner", "partner.example", "ada@partner.example")
	b := a.signedIn("ada@partner.example")
	wantStatus(t, b.get("/clc"), http.StatusOK)
	if _, err := a.db.Pool.Exec(context.Background(), `DELETE FROM users WHERE email = 'ada@partner.example'`); err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, b.get("/clc"), "/login?next=%2Fclc")
}
