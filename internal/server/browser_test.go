package server_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium starts a headless Chromium for one test and returns a tab's
// context. CLC_CHROMIUM names the binary (scripts/test.sh sets it); the
// test fails without it, since a skipped browser test proves nothing.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("CLC_CHROMIUM")
	if path == "" {
		t.Fatal("CLC_CHROMIUM is not set: run the tests with `make test`, or set it to the path scripts/chromium.sh prints")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab)
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	return ctx
}

// byName finds an element of a kind by its visible text, as a person would:
// an XPath query, which a plain string selector searches for.
func byName(tag, name string) string {
	return `//` + tag + `[normalize-space()="` + name + `"]`
}

// inDenyDialog is the dialog's own "Deny Request", not the page's.
var inDenyDialog = `//dialog[@id="deny-dialog"]` + byName("button", "Deny Request")

func TestBrowserDenyInTheDialogAndApprove(t *testing.T) {
	r := newRequested(t)
	deny := r.link(t, "hank@globex.example")
	submit(t, r.app, r.partner, formFor("Initrode", "initrode.example", "bill@initrode.example"))
	approve := r.link(t, "bill@initrode.example")
	ctx := chromium(t)
	dialogOpen := func() bool {
		t.Helper()
		open, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("deny-dialog").open`))
		if err != nil {
			t.Fatal(err)
		}
		return open
	}
	read := func(sel chromedp.CSS) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(s)
	}
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}

	do(chromedp.Navigate(r.srv.URL+deny),
		chromedp.WaitVisible(byName("h1", "Pending Request")),
		chromedp.Click(byName("a", "Deny Request")),
		chromedp.WaitVisible(chromedp.CSS(`#deny-dialog textarea#reason`)))
	if !dialogOpen() {
		t.Fatal("Deny Request did not open the dialog")
	}

	// Sent empty, the dialog stays open and says why.
	do(chromedp.Click(inDenyDialog), chromedp.WaitVisible(chromedp.CSS(`#reason-error`)))
	path, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatal(err)
	}
	if msg := read(`#reason-error`); !dialogOpen() || path != deny || msg != "Enter the reason for denying the request." {
		t.Fatalf("empty reason: dialog open %v, at %s, message %q", dialogOpen(), path, msg)
	}
	if s := r.str(t, `SELECT status FROM account_requests WHERE smart_account_id = $1`, r.id); s != "pending" {
		t.Fatalf("an empty reason was sent: %s", s)
	}

	do(chromedp.SendKeys(chromedp.CSS(`#deny-dialog textarea#reason`), "Globex already has an account."),
		chromedp.Click(inDenyDialog),
		chromedp.WaitVisible(chromedp.CSS(`#request-status`)))
	if status, heading := read(`#request-status`), read(`h1`); status != "Denied" || heading != "This request was denied" {
		t.Fatalf("after denying: %q, %q", heading, status)
	}
	if s := r.str(t, `SELECT status || '|' || decision_reason FROM account_requests WHERE smart_account_id = $1`, r.id); s != "denied|Globex already has an account." {
		t.Errorf("denied request: %s", s)
	}

	do(chromedp.Navigate(r.srv.URL+approve),
		chromedp.WaitVisible(byName("h1", "Pending Request")),
		chromedp.Click(byName("button", "Approve and Create the Account")),
		chromedp.WaitVisible(chromedp.CSS(`#request-status`)))
	if status, heading := read(`#request-status`), read(`h1`); status != "Approved" || heading != "This request was approved" {
		t.Fatalf("after approving: %q, %q", heading, status)
	}
	if s := r.str(t, `SELECT status FROM smart_accounts WHERE name = 'Initrode'`); s != "active" {
		t.Errorf("approved account is %s", s)
	}
}
