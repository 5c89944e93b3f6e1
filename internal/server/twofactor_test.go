package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/clc-portal/clc/internal/account"
)

// setUpAuthenticator goes through the setup page as a person with an app
// would: reads the key off the page, enters the code the app shows.
func setUpAuthenticator(t *testing.T, a *app, b *browser) (secret string, answer page) {
	t.Helper()
	p := b.get("/two-factor/setup")
	wantStatus(t, p, http.StatusOK)
	secret = strings.ReplaceAll(text(p, "code.secret"), " ", "")
	if len(secret) < 16 {
		t.Fatalf("setup page shows no key: %q", secret)
	}
	if src, _ := p.Doc.Find("img").Attr("src"); src != "/two-factor/qr.png" {
		t.Fatalf("setup page's QR code is %q", src)
	}
	qr := b.get("/two-factor/qr.png")
	if qr.StatusCode != http.StatusOK || qr.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(qr.Body, "\x89PNG") {
		t.Fatalf("QR code: %d %s", qr.StatusCode, qr.Header.Get("Content-Type"))
	}
	wrong := b.post("/two-factor/setup", url.Values{"code": {"000000"}})
	wantStatus(t, wrong, http.StatusUnprocessableEntity)
	if wrong.Doc.Find(`#code[aria-invalid="true"][aria-describedby="code-error"]`).Length() != 1 || text(wrong, "#code-error") == "" {
		t.Fatalf("a wrong code is not said beside the field:\n%s", wrong.Body)
	}
	// The same key survives the refused try: the app already holds it.
	if again := strings.ReplaceAll(text(wrong, "code.secret"), " ", ""); again != secret {
		t.Fatalf("key changed after a wrong code: %q then %q", secret, again)
	}
	code, err := totp.GenerateCode(secret, a.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return secret, b.post("/two-factor/setup", url.Values{"code": {code}})
}

func TestStaffMustSetUpAnAuthenticatorBeforeTheyAreSignedIn(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	// Added as `clc user add --staff` does: no authenticator yet.
	if _, err := a.svc.AddUser(context.Background(), account.NewUser{Email: "ops@clc.example", Name: "Olga", Password: "correct horse", Staff: true}); err != nil {
		t.Fatal(err)
	}
	b := a.browser()
	wantRedirect(t, b.login("ops@clc.example", "correct horse"), "/two-factor/setup")
	// The password alone opens nothing.
	wantRedirect(t, b.get("/ops/requests"), "/login?next=%2Fops%2Frequests")
	wantRedirect(t, b.post("/ops/emails/1/retry", nil), "/login?next=%2Fops%2Femails%2F1%2Fretry")

	_, done := setUpAuthenticator(t, a, b)
	wantRedirect(t, done, "/two-factor/recovery-codes")
	codes := texts(b.get("/two-factor/recovery-codes"), ".recovery-codes code")
	if len(codes) != account.RecoveryCodeCount {
		t.Fatalf("recovery codes shown: %q", codes)
	}
	// Shown once: a reload leads to the settings.
	wantRedirect(t, b.get("/two-factor/recovery-codes"), "/settings/two-factor")
	wantStatus(t, b.get("/ops/requests"), http.StatusOK)

	// Staff cannot turn it off, whatever the request carries.
	settings := b.get("/settings/two-factor")
	if settings.Doc.Find(`form[action="/settings/two-factor/disable"]`).Length() != 0 {
		t.Fatal("staff are offered to turn two-factor sign-in off")
	}
	wantStatus(t, b.post("/settings/two-factor/disable", url.Values{"code": {codes[0]}}), http.StatusForbidden)
	if n := a.count(t, `SELECT count(*) FROM user_totp`); n != 1 {
		t.Fatalf("%d authenticators after a refused turn-off", n)
	}
	// The QR code is not served once the key is stored.
	wantStatus(t, a.browser().get("/two-factor/qr.png"), http.StatusNotFound)
}

func TestPartnersMayTurnOnTwoFactorSignIn(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	b := a.signedIn("ada@partner.example") // no code asked: it is off
	if p := b.get("/settings/two-factor"); p.Doc.Find(`a[href="/two-factor/setup"]`).Length() != 1 {
		t.Fatalf("settings do not offer to turn it on:\n%s", p.Body)
	}
	secret, done := setUpAuthenticator(t, a, b)
	wantRedirect(t, done, "/two-factor/recovery-codes")
	codes := texts(b.get("/two-factor/recovery-codes"), ".recovery-codes code")
	if n := a.count(t, `SELECT count(*) FROM user_recovery_codes WHERE used_at IS NULL`); n != len(codes) || n != 10 {
		t.Fatalf("%d codes stored, %d shown", n, len(codes))
	}
	if n := a.count(t, `SELECT count(*) FROM user_recovery_codes WHERE code_hash = sha256(convert_to($1, 'UTF8'))`, strings.ReplaceAll(codes[0], "-", "")); n != 1 {
		t.Fatal("recovery codes are not stored as their SHA-256")
	}
	a.mu.Lock()
	a.authenticators["ada@partner.example"] = &authenticator{secret: secret, lastStep: a.clock.Now().Unix() / 30}
	a.mu.Unlock()
	b.post("/logout", nil)

	// Now the password is not enough.
	c := a.browser()
	wantRedirect(t, c.post("/login", url.Values{"email": {"ada@partner.example"}, "password": {"correct horse"}, "next": {"/clc/directory"}}), "/login/code")
	wantRedirect(t, c.get("/clc"), "/login?next=%2Fclc")
	wrong := c.post("/login/code", url.Values{"code": {"123456"}})
	wantStatus(t, wrong, http.StatusUnprocessableEntity)
	if text(wrong, "#code-error") == "" {
		t.Fatal("a wrong code is not said")
	}
	code := a.totpCode("ada@partner.example")
	wantRedirect(t, c.post("/login/code", url.Values{"code": {code}}), "/clc/directory")
	wantStatus(t, c.get("/clc/directory"), http.StatusOK)

	// The same code a second time is refused: someone who saw it cannot use it.
	d := a.browser()
	wantRedirect(t, d.post("/login", url.Values{"email": {"ada@partner.example"}, "password": {"correct horse"}}), "/login/code")
	wantStatus(t, d.post("/login/code", url.Values{"code": {code}}), http.StatusUnprocessableEntity)
	// A recovery code works, as typed, once.
	wantRedirect(t, d.post("/login/code", url.Values{"code": {" " + strings.ToUpper(codes[3]) + " "}}), "/clc")
	e := a.browser()
	e.post("/login", url.Values{"email": {"ada@partner.example"}, "password": {"correct horse"}})
	wantStatus(t, e.post("/login/code", url.Values{"code": {codes[3]}}), http.StatusUnprocessableEntity)
	if p := d.get("/settings/two-factor"); !strings.Contains(text(p, "main"), "9 unused recovery codes left") {
		t.Fatalf("settings do not count the codes left: %s", text(p, "main"))
	}

	// Turning it off needs a code too.
	wantStatus(t, d.post("/settings/two-factor/disable", url.Values{"code": {"000000"}}), http.StatusUnprocessableEntity)
	wantRedirect(t, d.post("/settings/two-factor/disable", url.Values{"code": {a.totpCode("ada@partner.example")}}), "/settings/two-factor")
	if n := a.count(t, `SELECT count(*) FROM user_totp`) + a.count(t, `SELECT count(*) FROM user_recovery_codes`); n != 0 {
		t.Fatalf("%d rows left after turning it off", n)
	}
	a.mu.Lock()
	delete(a.authenticators, "ada@partner.example")
	a.mu.Unlock()
	wantRedirect(t, a.browser().login("ada@partner.example", "correct horse"), "/clc")
}

func TestParallelCodeGuessesMeetTheBlock(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ops@clc.example", "Olga", true)
	// The setup's code is spent: wait for the next one before guessing, so
	// the right code below is one the block alone refuses.
	a.clock.Advance(30 * time.Second)
	const tries = 16
	sessions := make([]*browser, tries)
	for i := range sessions {
		sessions[i] = a.browser()
		wantRedirect(t, sessions[i].post("/login", url.Values{"email": {"ops@clc.example"}, "password": {"correct horse"}}), "/login/code")
	}
	statuses := make([]int, tries)
	var wg sync.WaitGroup
	for i, b := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = b.post("/login/code", url.Values{"code": {"999999"}}).StatusCode
		}()
	}
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	free := account.SecondFactorThrottle.Free
	// The first Free misses cost nothing; the next one is still checked but
	// starts a block that every later guess meets, however parallel.
	if counts[http.StatusUnprocessableEntity] != free+1 || counts[http.StatusTooManyRequests] != tries-free-1 {
		t.Fatalf("statuses of %d parallel guesses: %v", tries, counts)
	}
	// Even the right code waits out the block, then works.
	right := a.totpCode("ops@clc.example")
	p := sessions[0].post("/login/code", url.Values{"code": {right}})
	wantStatus(t, p, http.StatusTooManyRequests)
	if p.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	a.clock.Advance(2 * time.Second)
	wantRedirect(t, sessions[0].post("/login/code", url.Values{"code": {a.totpCode("ops@clc.example")}}), "/clc")
}

func TestAPendingSignInLapses(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ops@clc.example", "Olga", true)
	b := a.browser()
	wantRedirect(t, b.post("/login", url.Values{"email": {"ops@clc.example"}, "password": {"correct horse"}}), "/login/code")
	a.clock.Advance(11 * time.Minute)
	wantRedirect(t, b.post("/login/code", url.Values{"code": {a.totpCode("ops@clc.example")}}), "/login")
	wantRedirect(t, b.get("/login/code"), "/login")
}

// ASVS 6.5.5: a code lives for its own 30-second step: one never used is
// refused once the next step has begun.
func TestACodeLapsesWithItsStep(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ops@clc.example", "Olga", true)
	a.clock.Advance(30 * time.Second) // past the step the setup used
	// To the 25th second of a step, so that 10 more are in the next.
	if off := (25 - a.clock.Now().Unix()%30 + 30) % 30; off > 0 {
		a.clock.Advance(time.Duration(off) * time.Second)
	}
	a.mu.Lock()
	secret := a.authenticators["ops@clc.example"].secret
	a.mu.Unlock()
	stale, err := totp.GenerateCode(secret, a.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	a.clock.Advance(10 * time.Second) // into the next step
	fresh, _ := totp.GenerateCode(secret, a.clock.Now())
	if fresh == stale {
		t.Skip("two steps drew the same code")
	}
	b := a.browser()
	wantRedirect(t, b.post("/login", url.Values{"email": {"ops@clc.example"}, "password": {"correct horse"}}), "/login/code")
	wantStatus(t, b.post("/login/code", url.Values{"code": {stale}}), http.StatusUnprocessableEntity)
	wantRedirect(t, b.post("/login/code", url.Values{"code": {fresh}}), "/clc")
}
