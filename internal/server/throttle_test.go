package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/postgres/pgtest"
	"github.com/clc-portal/clc/internal/server"
)

// parallelLogins sends n sign-ins at once and counts the answers by status.
func parallelLogins(a *app, n int, form func(i int) url.Values, header http.Header) map[int]int {
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/login", strings.NewReader(form(i).Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			for k, v := range header {
				req.Header[k] = v
			}
			<-start
			resp, err := client.Do(req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				got[0]++
				return
			}
			resp.Body.Close()
			got[resp.StatusCode]++
		})
	}
	close(start)
	wg.Wait()
	return got
}

// Guesses sent at once meet the same block as guesses sent one by one: five
// free failures and the sixth, then every other is refused unchecked.
func TestParallelGuessesMeetTheBlock(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	got := parallelLogins(a, 12, func(int) url.Values {
		return url.Values{"email": {"ada@partner.example"}, "password": {"wrong"}}
	}, nil)
	if got[http.StatusUnauthorized] > 6 || got[http.StatusTooManyRequests] < 6 {
		t.Fatalf("12 parallel guesses: %v; want at most 6 checked (401) and the rest refused (429)", got)
	}
}

// Behind a trusted proxy each client is throttled by the address the proxy
// heard from; from anyone else X-Forwarded-For is ignored, so a client
// cannot escape its block by naming another address.
func TestTrustedProxyNamesTheClient(t *testing.T) {
	t.Parallel()
	guesses := func(i int) url.Values {
		return url.Values{"email": {fmt.Sprintf("guess%d@partner.example", i)}, "password": {"wrong"}}
	}
	from := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr + ", 10.0.0.7"}} }

	a := newAppWith(t, pgtest.New(t), func(d *server.Deps) {
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	})
	a.user("ada@partner.example", "Ada", false)
	if got := parallelLogins(a, 21, guesses, from("203.0.113.5")); got[http.StatusUnauthorized] != 21 {
		t.Fatalf("21 guesses from one client: %v", got)
	}
	ada := func(h http.Header) map[int]int {
		return parallelLogins(a, 1, func(int) url.Values {
			return url.Values{"email": {"ada@partner.example"}, "password": {"correct horse"}}
		}, h)
	}
	if got := ada(from("203.0.113.5")); got[http.StatusTooManyRequests] != 1 {
		t.Errorf("the guessing client was not blocked: %v", got)
	}
	if got := ada(from("203.0.113.6")); got[http.StatusSeeOther] != 1 {
		t.Errorf("another client behind the same proxy was blocked: %v", got)
	}

	// No trusted proxy: the header is the client's word and counts for nothing.
	b := newApp(t)
	b.user("ada@partner.example", "Ada", false)
	parallelLogins(b, 21, guesses, from("203.0.113.5"))
	got := parallelLogins(b, 1, func(int) url.Values {
		return url.Values{"email": {"ada@partner.example"}, "password": {"correct horse"}}
	}, from("198.51.100.9"))
	if got[http.StatusTooManyRequests] != 1 {
		t.Errorf("a client escaped its block by naming another address: %v", got)
	}
}

// Old failures that block nothing are forgotten by the worker's jobs.
func TestThrottlePruned(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	b := a.browser()
	wantStatus(t, b.login("nobody@partner.example", "wrong"), http.StatusUnauthorized)
	count := func() (n int) {
		if err := a.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM login_throttle`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count() != 2 {
		t.Fatalf("%d throttle rows after a failure, want 2 (account and client)", count())
	}
	if n, err := a.svc.PruneLoginThrottle(context.Background()); err != nil || n != 0 {
		t.Fatalf("pruned %d (%v) fresh failures", n, err)
	}
	a.clock.Advance(61 * time.Minute)
	if n, err := a.svc.PruneLoginThrottle(context.Background()); err != nil || n != 2 || count() != 0 {
		t.Fatalf("pruned %d (%v), %d left", n, err, count())
	}
}

// Each attempt is counted before its password is checked, and a success
// refunded: an office signing in many times from one address is never
// blocked by its own successes.
func TestSuccessesDoNotCountAgainstTheClient(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	a.account("Partner", "partner.example", "ada@partner.example")
	for i := range 25 {
		if p := a.browser().login("ada@partner.example", "correct horse"); p.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in %d from one address: status %d", i+1, p.StatusCode)
		}
	}
	var failures int
	if err := a.db.Pool.QueryRow(context.Background(), `SELECT coalesce(sum(failures), 0) FROM login_throttle`).Scan(&failures); err != nil {
		t.Fatal(err)
	}
	if failures != 0 {
		t.Errorf("%d failures counted after 25 successes", failures)
	}
}

// X-Forwarded-For from a peer that is not a trusted proxy is ignored, and
// said so in the log, once a minute however many requests carry it: behind
// a proxy no one listed in CLC_TRUSTED_PROXIES, every visitor shares one
// sign-in throttle, which should not stay silent. From a trusted proxy the
// header is expected and nothing is said.
func TestUntrustedForwardingWarnedOnceAMinute(t *testing.T) {
	t.Parallel()
	warnings := func(a *app) int {
		return strings.Count(a.logs.String(), "CLC_TRUSTED_PROXIES may be missing")
	}
	forwarded := http.Header{"X-Forwarded-For": {"203.0.113.5"}}
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	wantStatus(t, a.browser().get("/"), http.StatusOK)
	if n := warnings(a); n != 0 {
		t.Fatalf("%d warnings without X-Forwarded-For", n)
	}
	parallelLogins(a, 30, func(int) url.Values {
		return url.Values{"email": {"ada@partner.example"}, "password": {"correct horse"}}
	}, forwarded)
	if n := warnings(a); n != 1 {
		t.Fatalf("%d warnings for 30 forwarded requests within a minute, want 1; log:\n%s", n, a.logs)
	}
	if !strings.Contains(a.logs.String(), `"peer":"127.0.0.1"`) {
		t.Errorf("the warning does not name the peer:\n%s", a.logs)
	}
	a.clock.Advance(61 * time.Second)
	parallelLogins(a, 5, func(int) url.Values { return url.Values{"email": {"x@partner.example"}, "password": {"wrong"}} }, forwarded)
	if n := warnings(a); n != 2 {
		t.Errorf("%d warnings a minute later, want 2", n)
	}

	b := newAppWith(t, pgtest.New(t), func(d *server.Deps) {
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	parallelLogins(b, 5, func(int) url.Values { return url.Values{"email": {"x@partner.example"}, "password": {"wrong"}} }, forwarded)
	if n := warnings(b); n != 0 {
		t.Errorf("%d warnings for a trusted proxy's X-Forwarded-For", n)
	}
}

// forwardedFor is a transport whose requests a trusted proxy forwarded
// from addr.
type forwardedFor string

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", string(f))
	return http.DefaultTransport.RoundTrip(r)
}

// behindProxy is a portal behind a reverse proxy on its host, which names
// each client in X-Forwarded-For.
func behindProxy(t *testing.T) *app {
	return newAppWith(t, pgtest.New(t), func(d *server.Deps) {
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
}

// from is a new browser at addr.
func (a *app) from(addr string) *browser {
	b := a.browser()
	b.client.Transport = forwardedFor(addr)
	return b
}

// An attacker who knows Ada's email cannot keep her out: 50 wrong passwords
// from address A block A for her account, not Ada at address B, nor Ada at
// A in the browser she signed in with before (it carries a device cookie).
// The attacker at A stays blocked, even with the right password, and a
// forged device cookie, or another user's, exempts nobody.
func TestAttackerCannotLockOutTheUser(t *testing.T) {
	t.Parallel()
	a := behindProxy(t)
	a.user("ada@partner.example", "Ada", false)
	a.user("bob@partner.example", "Bob", false)
	const attacker, other = "203.0.113.5", "198.51.100.9"

	adasLaptop := a.from(attacker) // the same café as the attacker
	wantStatus(t, adasLaptop.login("ada@partner.example", "correct horse"), http.StatusSeeOther)
	wantStatus(t, adasLaptop.post("/logout", nil), http.StatusSeeOther)
	bobsLaptop := a.from(attacker)
	wantStatus(t, bobsLaptop.login("bob@partner.example", "correct horse"), http.StatusSeeOther)

	thief := a.from(attacker)
	for i := range 50 {
		p := thief.login("ada@partner.example", fmt.Sprintf("guess %d", i))
		if p.StatusCode != http.StatusUnauthorized && p.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("guess %d: status %d", i, p.StatusCode)
		}
	}
	wantStatus(t, thief.login("ada@partner.example", "correct horse"), http.StatusTooManyRequests)

	wantRedirect(t, a.from(other).login("ada@partner.example", "correct horse"), "/clc")
	device := adasLaptop.cookie("clc_device")
	if device == nil {
		t.Fatal("no device cookie after a sign-in")
	}
	wantRedirect(t, adasLaptop.login("ada@partner.example", "correct horse"), "/clc")

	// A cookie jar holding a device cookie the server did not sign for Ada.
	withCookie := func(value string) *browser {
		b := a.from(attacker)
		b.client.Jar.SetCookies(a.base, []*http.Cookie{{Name: "clc_device", Value: value}})
		return b
	}
	parts := strings.Split(device.Value, ".")
	if len(parts) != 3 {
		t.Fatalf("device cookie %q is not id.nonce.signature", device.Value)
	}
	bobs := bobsLaptop.cookie("clc_device")
	if bobs == nil {
		t.Fatal("Bob has no device cookie")
	}
	for name, forged := range map[string]string{
		"unsigned":                   parts[0] + "." + parts[1] + ".",
		"signature of another nonce": parts[0] + ".AAAAAAAAAAAAAAAAAAAAAA." + parts[2],
		"Bob's":                      bobs.Value,
		"garbage":                    "1.x.y",
	} {
		if p := withCookie(forged).login("ada@partner.example", "correct horse"); p.StatusCode != http.StatusTooManyRequests {
			t.Errorf("%s device cookie: status %d, want 429 (no exemption)", name, p.StatusCode)
		}
	}
}

// A device cookie that guesses is blocked by itself: stolen, it buys the
// thief Ada's device's five free failures and no more, and blocks no one
// else.
func TestAbusedDeviceCookieIsBlocked(t *testing.T) {
	t.Parallel()
	a := behindProxy(t)
	a.user("ada@partner.example", "Ada", false)
	laptop := a.from("203.0.113.5")
	wantStatus(t, laptop.login("ada@partner.example", "correct horse"), http.StatusSeeOther)
	stolen := laptop.cookie("clc_device")

	thief := a.from("192.0.2.77")
	thief.client.Jar.SetCookies(a.base, []*http.Cookie{stolen})
	for range 6 {
		wantStatus(t, thief.login("ada@partner.example", "wrong"), http.StatusUnauthorized)
	}
	wantStatus(t, thief.login("ada@partner.example", "correct horse"), http.StatusTooManyRequests)
	wantStatus(t, laptop.post("/logout", nil), http.StatusSeeOther)
	wantStatus(t, laptop.login("ada@partner.example", "correct horse"), http.StatusTooManyRequests)
	wantRedirect(t, a.from("198.51.100.9").login("ada@partner.example", "correct horse"), "/clc")
}
