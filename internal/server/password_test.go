package server_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
)

// setPasswordLink makes a user with no password and a live link to set one,
// as an approval that added them does.
func (a *app) setPasswordLink(email, name string) string {
	a.t.Helper()
	ctx := context.Background()
	var id int64
	if err := a.db.Pool.QueryRow(ctx, `INSERT INTO users (email, name) VALUES ($1, $2) RETURNING id`, email, name).Scan(&id); err != nil {
		a.t.Fatal(err)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	now := a.clock.Now()
	if _, err := a.db.Pool.Exec(ctx, `INSERT INTO set_password_links (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		id, account.HashToken(token), now, now.Add(account.SetPasswordLifetime)); err != nil {
		a.t.Fatal(err)
	}
	return "/set-password/" + token
}

// ASVS 6.2: at least 8 characters, 64 and more allowed, any characters and
// none required, common and context-specific passwords refused, and the
// password checked exactly as typed.
func TestPasswordRules(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	link := a.setPasswordLink("hank@globex.example", "Hank Scorpio")
	b := a.browser()
	for _, c := range []struct{ pw, want string }{
		{"seven77", "at least 8"},
		{"password1", "too easy to guess"},
		{"12345678", "too easy to guess"},
		{"qwertyuiop", "too easy to guess"},
		{"P@ssw0rd!", "too easy to guess"},
		{"hank@globex.example", "too easy to guess"},
		{"HankScorpio", "too easy to guess"},
		{"ciscolicense", "too easy to guess"},
		{strings.Repeat("a", 80), "too easy to guess"},
		{strings.Repeat("x", account.MaxPasswordLength+1), "at most"},
	} {
		p := b.post(link, url.Values{"password": {c.pw}, "confirm": {c.pw}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if got := text(p, "#password-error"); !strings.Contains(got, c.want) {
			t.Errorf("%.20q: error %q, want %q", c.pw, got, c.want)
		}
	}
	if hint := text(b.get(link), "#password-hint"); !strings.Contains(hint, "At least 8") {
		t.Errorf("hint %q", hint)
	}

	// 100 characters of lower case, spaces and accents: no rule of
	// composition refuses it, and nothing cuts it.
	long := "près de la rivière un vieux moulin tourne encore quand le vent du nord souffle sur les toits gris !!"
	if n := len([]rune(long)); n != 100 {
		t.Fatalf("test password has %d characters", n)
	}
	wantRedirect(t, b.post(link, url.Values{"password": {long}, "confirm": {long}}), "/clc")
	for _, wrong := range []string{
		string([]rune(long)[:72]), // where bcrypt would have cut it
		string([]rune(long)[:99]),
		strings.ToUpper(long),
		" " + long,
	} {
		a.clock.Advance(time.Hour) // stay clear of the sign-in throttle
		wantStatus(t, a.browser().login("hank@globex.example", wrong), http.StatusUnauthorized)
	}
	wantRedirect(t, a.browser().login("hank@globex.example", long), "/clc")
}
