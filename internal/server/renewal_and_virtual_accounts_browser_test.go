package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/text/language"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/paths"
)

// TestBrowserRenewalAndVirtualAccounts, in a real Chromium: the partner
// sends an expired request again in two clicks (Request again, Submit
// Request), and an administrator creates, renames and deletes a Virtual
// Account on the account's page. axe-core checks each page on the way.
func TestBrowserRenewalAndVirtualAccounts(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	r.clock.Advance(account.RequestLifetime + time.Hour)
	if n, err := r.svc.ExpireRequests(context.Background()); err != nil || n != 1 {
		t.Fatalf("expired %d (%v)", n, err)
	}
	b := openTab(t, r.app, language.English)
	b.signIn("ada@partner.example", "correct horse")
	b.visit(paths.RequestStatus(r.id))
	b.axe("expired request")
	b.do(chromedp.Click(chromedp.CSS("a#request-again")))
	b.waitFor("#renewal-note")
	b.axe("request again, review")
	b.do(chromedp.Click(chromedp.CSS(`form[action="/clc/accounts/new/submit"] button.primary`)))
	b.waitFor(".flash")
	if got := b.text(".flash"); got != "Smart Account Request Complete" {
		t.Errorf("after Submit Request: %q", got)
	}
	if n := r.count(t, `SELECT count(*) FROM account_requests WHERE status = 'pending'`); n != 1 {
		t.Errorf("%d pending requests after the renewal, want 1", n)
	}

	// Ada administers Northwind Partners.
	north := account.AccountID(r.count(t, `SELECT id FROM smart_accounts WHERE domain = 'partner.example'`))
	b.visit(paths.Account(north))
	b.axe("account page, Manage Virtual Accounts")
	b.do(chromedp.SetValue(chromedp.CSS("#va-name-new"), "Lab"), chromedp.Click(chromedp.CSS("#create-virtual-account button")))
	b.waitFor(".flash")
	b.axe("Virtual Account created")
	rename := `form[action$="/rename"]:has(input[value="Lab"])`
	b.do(chromedp.SetValue(chromedp.CSS(rename+" input[name=name]"), "Lab Two"), chromedp.Click(chromedp.CSS(rename+" button")))
	b.waitFor(`form[action$="/rename"]:has(input[value="Lab Two"])`)
	if names := b.text("#virtual-account-rows"); !strings.Contains(names, "Lab Two") {
		t.Errorf("after renaming: %s", names)
	}
	deleteLab := chromedp.CSS(`button[aria-label="Delete Virtual Account Lab Two"]`)
	b.do(chromedp.Click(deleteLab), chromedp.WaitNotPresent(deleteLab))
	b.waitFor(".flash")
	if got := r.str(t, `SELECT string_agg(name, ',' ORDER BY name) FROM virtual_accounts WHERE smart_account_id = $1`, north); got != "DEFAULT" {
		t.Errorf("after deleting: %s", got)
	}
	b.axe("Virtual Account deleted")
}
