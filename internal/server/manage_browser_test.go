package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/clc-portal/clc/internal/account"
)

// The "Done when", in a real browser: a partner asks for access
// from the directory's search, the administrator approves it narrower (a
// User on one Virtual Account), and the partner sees that access.
func TestBrowserAccessRequestApprovedNarrower(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("hank@globex.example", "Hank Scorpio", false)
	a.user("ada@partner.example", "Ada Partner", false)
	globex := a.account("Globex Corporation", "globex.example", "hank@globex.example")
	a.virtualAccount(globex, "Engineering")
	a.virtualAccount(globex, "Sales")
	ctx := chromium(t)
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	read := func(sel chromedp.CSS) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(strings.Fields(s), " ")
	}
	signIn := func(email string) {
		t.Helper()
		do(chromedp.Navigate(a.srv.URL+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`#email`)),
			chromedp.SendKeys(chromedp.CSS(`#email`), email),
			chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse"),
			chromedp.Click(byName("button", "Log In")),
			chromedp.WaitVisible(chromedp.CSS(`nav.menu`)))
	}

	signIn("ada@partner.example")
	do(chromedp.Navigate(a.srv.URL+"/clc/directory"),
		chromedp.WaitVisible(chromedp.CSS(`#directory-search-q`)),
		chromedp.SendKeys(chromedp.CSS(`#directory-search-q`), "Globex"),
		chromedp.Click(`//form[@id="directory-search"]`+byName("button", "Search")),
		chromedp.WaitVisible(byName("a", "Request Access")),
		chromedp.Click(byName("a", "Request Access")),
		chromedp.WaitVisible(byName("h1", "Request Access")),
		chromedp.Click(chromedp.CSS(`input[name=scope][value=virtual]`)),
		chromedp.SetValue(chromedp.CSS(`#role`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#reason`), "I renew Globex's licences."),
		chromedp.Click(byName("button", "Next")),
		chromedp.WaitVisible(chromedp.CSS(`fieldset#virtual_accounts`)),
		chromedp.Click(chromedp.CSS(`input[name=va][value=Engineering]`)),
		chromedp.Click(chromedp.CSS(`input[name=va][value=Sales]`)),
		chromedp.Click(byName("button", "Submit")),
		chromedp.WaitVisible(chromedp.CSS(`#section-requested`)))
	if got := read(`#section-requested tbody tr`); !strings.Contains(got, "Administrator on Engineering, Sales: Pending") {
		t.Fatalf("Ada's request shows as %q", got)
	}
	do(chromedp.Click(byName("button", "Log Out")), chromedp.WaitVisible(chromedp.CSS(`a.topbar-login`)))

	signIn("hank@globex.example")
	if got := read(`#menu-pending-count`); got != "1" {
		t.Errorf("badge %q", got)
	}
	do(chromedp.Click(chromedp.CSS(`#menu-pending-access`)),
		chromedp.WaitVisible(chromedp.CSS(`#access-requests`)))
	if got := read(`#access-requests tbody tr`); !strings.Contains(got, "Different domain") || !strings.Contains(got, "Pending") {
		t.Errorf("row %q", got)
	}
	do(chromedp.Click(byName("a", "Open")),
		chromedp.WaitVisible(byName("a", "Next")),
		chromedp.Click(byName("a", "Next")),
		chromedp.WaitVisible(chromedp.CSS(`#approve-form`)),
		// Narrower: one of the two Virtual Accounts, and User, not Administrator.
		chromedp.Click(chromedp.CSS(`#approve-form input[name=va][value=Sales]`)),
		chromedp.SetValue(chromedp.CSS(`#role`), "user"),
		chromedp.Click(`//form[@id="approve-form"]`+byName("button", "Approve")),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if got := read(`.flash`); !strings.Contains(got, "User on Engineering") {
		t.Errorf("flash %q", got)
	}
	do(chromedp.Click(byName("button", "Log Out")), chromedp.WaitVisible(chromedp.CSS(`a.topbar-login`)))

	if got := a.emailsOf(t, string(account.EmailAccessApproved)); strings.Join(got, ",") != "access_approved ada@partner.example" {
		t.Errorf("emails %q", got)
	}
	signIn("ada@partner.example")
	do(chromedp.Navigate(a.srv.URL+"/clc/directory"), chromedp.WaitVisible(chromedp.CSS(`#section-access`)))
	if got := read(`#section-access tbody tr`); !strings.Contains(got, "Globex Corporation") || !strings.Contains(got, "Virtual Account User") {
		t.Errorf("Ada's access %q", got)
	}
}
