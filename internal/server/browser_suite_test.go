package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/text/language"
)

// suiteLanguages is English and the catalog's first other language, when it
// has one: the whole path runs in each, found by the words of that language.
func suiteLanguages(t *testing.T) []language.Tag {
	tags := languageTags(t)
	if len(tags) > 2 {
		tags = tags[:2]
	}
	return tags
}

// TestBrowserPartnerAndApproverPaths drives the portal as its people do,
// by keyboard alone, in a real Chromium: the partner signs in, searches from
// the directory, asks for access, requests an account (refused first, then
// reviewed and submitted); the customer's approver opens the link from the
// email the real SMTP server caught, forwards it; the colleague denies it
// with a reason; another approver approves a second request; spent links
// say so; the partner signs out. axe-core checks every page on the way.
func TestBrowserPartnerAndApproverPaths(t *testing.T) {
	t.Parallel()
	langs := suiteLanguages(t)
	if len(langs) == 1 {
		t.Log("the catalog has English only: the path runs once; it runs again in the next language once one is added")
	}
	for _, lang := range langs {
		t.Run(lang.String(), func(t *testing.T) { t.Parallel(); partnerAndApproverPaths(t, lang) })
	}
}

func partnerAndApproverPaths(t *testing.T, lang language.Tag) {
	a := newApp(t)
	a.user("ada@partner.example", "Ada Lovelace", false)
	a.account("Northwind Partners", "partner.example", "ada@partner.example")
	a.user("peter@initech.example", "Peter Gibbons", false)
	a.account("Initech", "initech.example", "peter@initech.example")
	mb := a.mailbox(t)
	b := openTab(t, a, lang)

	// Home, then Log In by keyboard.
	b.visit("/")
	if got := b.js(`document.documentElement.lang`); got != lang.String() {
		t.Fatalf("<html lang=%q>, want %q", got, lang)
	}
	b.axe("home")
	b.tabTo(`a[href="/clc"]`, 10)
	b.key("\r")
	b.do(chromedp.WaitVisible(byName("h1", b.T("login.heading"))))
	b.axe("log in")
	// A wrong password: the message is announced and the page stays.
	b.do(chromedp.Focus(chromedp.CSS("#email")), chromedp.KeyEvent("ada@partner.example\twrong password\r"),
		chromedp.WaitVisible(chromedp.CSS(`[role=alert]`)))
	if got := b.text(`[role=alert]`); got != b.T("login.invalid") {
		t.Errorf("wrong password says %q", got)
	}
	if b.focused() != "input#password " || b.js(`document.getElementById("password").getAttribute("aria-describedby")`) != "login-error" {
		t.Errorf("wrong password: focus on %q, password %s", b.focused(), b.js(`document.getElementById("password").outerHTML`))
	}
	b.axe("log in refused")
	b.do(chromedp.Clear(chromedp.CSS("#password")), chromedp.Focus(chromedp.CSS("#password")), chromedp.KeyEvent("correct horse\r"),
		chromedp.WaitVisible(chromedp.CSS("nav.menu")))
	b.axe("CLC home")

	// The directory, from the left menu; its Create Smart Account menu.
	b.tabTo(`nav.menu a[href="/clc/directory"]`, 15)
	b.key("\r")
	b.do(chromedp.WaitVisible(byName("h1", b.T("directory.heading"))))
	b.axe("directory")

	// Search from the directory: the menu's Search Smart Accounts.
	b.tabTo(`nav.menu a[href="/clc/search"]`, 15)
	b.key("\r")
	b.do(chromedp.WaitVisible(chromedp.CSS("#search-q")))
	b.axe("search")
	b.do(chromedp.Focus(chromedp.CSS("#search-q")), chromedp.KeyEvent("in\r"), chromedp.WaitVisible(chromedp.CSS(`#search-q[aria-invalid=true]`)))
	b.axe("search refused (query too short)")
	b.do(chromedp.Clear(chromedp.CSS("#search-q")), chromedp.Focus(chromedp.CSS("#search-q")), chromedp.KeyEvent("initech\r"),
		chromedp.WaitVisible(byName("a", "Initech")))
	b.axe("search results")

	// Request access to the account found, in two steps; Peter, Initech's
	// Administrator, approves it below and Ada finds the access in her
	// directory at the end.
	b.tabTo(`main a[href*="/request-access"]`, 40)
	b.key("\r")
	b.do(chromedp.WaitVisible(chromedp.CSS("textarea#reason")))
	b.axe("request access")
	b.tabTo("#role", 30)
	b.key(kb.ArrowDown) // User
	b.tabTo(`main form button[type=submit]`, 5)
	b.key("\r")
	b.do(chromedp.WaitVisible(chromedp.CSS("#reason-error")))
	if b.focused() != "textarea#reason " || !b.is(`document.getElementById("reason").getAttribute("aria-describedby").includes("reason-error")`) {
		t.Errorf("a refused access request leaves the focus on %q, reason described by %q", b.focused(), b.js(`document.getElementById("reason").getAttribute("aria-describedby") || ""`))
	}
	b.axe("request access refused")
	b.key("Our customer Initech asked us to manage their licences.")
	b.tabTo(`main form button[type=submit]`, 5)
	b.key("\r")
	b.do(chromedp.WaitVisible(chromedp.CSS(`#request-summary`)))
	b.axe("request access, second step")
	b.tabTo(`main form button[value=submit]`, 30)
	b.key("\r")
	b.do(chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if got := b.text(".flash"); got != b.T("access.requested", "Account", "Initech") {
		t.Errorf("after asking for access: %q", got)
	}
	if n := a.count(t, `SELECT count(*) FROM access_requests WHERE status = 'pending'`); n != 1 {
		t.Errorf("%d pending access requests", n)
	}
	b.axe("directory after asking for access")

	// Peter, Initech's Administrator, in a browser of his own: the menu's
	// Pending Access Requests counts it; he opens it, goes on with Next and
	// approves it as asked.
	c := openTab(t, a, lang)
	c.signIn("peter@initech.example", "correct horse")
	if got := c.text("#menu-pending-count"); got != "1" {
		t.Errorf("Peter's menu counts %q pending access requests", got)
	}
	c.tabTo(`#menu-pending-access`, 20)
	c.key("\r")
	c.do(chromedp.WaitVisible(byName("h1", c.T("nav.pending_access"))))
	c.axe("pending access requests")
	c.tabTo(`#access-requests a[href*="/access-requests/"]`, 40)
	c.key("\r")
	c.do(chromedp.WaitVisible(chromedp.CSS("#decline-form")))
	c.axe("access request")
	c.tabTo(`#decline-form a.button`, 30)
	c.key("\r")
	c.do(chromedp.WaitVisible(chromedp.CSS("#approve-form")))
	c.axe("access request, approval step")
	c.tabTo(`#approve-form button[type=submit]`, 40)
	c.key("\r")
	c.do(chromedp.WaitVisible(chromedp.CSS(".flash")))
	c.axe("access request approved")
	if n := a.count(t, `SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id JOIN smart_accounts sa ON sa.id = m.smart_account_id
		WHERE u.email = 'ada@partner.example' AND sa.name = 'Initech' AND m.virtual_account_id IS NULL`); n != 1 {
		t.Errorf("Ada holds %d roles on Initech after the approval", n)
	}
	c.tabTo(`header form[action="/logout"] button`, 10)
	c.key("\r")
	c.do(chromedp.WaitVisible(byName("a", c.T("nav.login"))))

	// Create Smart Account > Request for a customer, from the keyboard.
	b.tabTo(`details.dropdown summary`, 20)
	b.key("\r")
	b.do(chromedp.WaitVisible(chromedp.CSS(`.dropdown-menu a`)))
	b.axe("directory, Create Smart Account open")
	b.key("\t")
	b.key("\r")
	b.do(chromedp.WaitVisible(byName("h1", b.T("request.heading"))))
	b.axe("request form")

	// Edit unlocks the domain in place, its text selected, for the
	// customer's domain.
	b.tabTo(`[data-edit-domain]`, 20)
	b.key("\r")
	if b.focused() != "input#domain " || b.is(`document.getElementById("domain").readOnly`) {
		t.Fatalf("Edit left the focus on %q", b.focused())
	}

	// Sent with no name and the partner's own domain, which Northwind
	// Partners holds: the form comes back, says why, and the focus is on
	// the first wrong field, which names its message.
	b.tabTo(`button[value=review]`, 20)
	b.key("\r")
	b.do(chromedp.WaitVisible(chromedp.CSS("#name-error")))
	if got := b.text(`main [role=alert]`); got != b.T("request.fix_errors") {
		t.Errorf("the refused form announces %q", got)
	}
	for _, id := range []string{"name", "domain", "customer_emails"} {
		if !b.is(`document.getElementById("`+id+`").getAttribute("aria-describedby").split(" ").includes("`+id+`-error")`) ||
			!b.is(`document.getElementById("`+id+`").getAttribute("aria-invalid") === "true"`) {
			t.Errorf("refused form: %s", b.js(`document.getElementById("`+id+`").outerHTML`))
		}
	}
	if b.focused() != "input#name " {
		t.Errorf("refused form: focus on %q", b.focused())
	}
	b.axe("request form refused")

	b.key("Globex Corporation")
	b.tabTo("#domain", 5)
	b.do(chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	b.key("globex.example")
	b.tabTo("#note_to_approver", 3)
	b.key("Globex is our customer since 2019.")
	b.tabTo("#customer_emails", 3)
	b.key("hank@globex.example")
	b.tabTo("#note_to_customer", 3)
	b.key("Please approve.")
	b.tabTo(`button[value=review]`, 10)
	b.key("\r")
	b.do(chromedp.WaitVisible(byName("h1", b.T("request.review_heading"))))
	if main := b.text("main"); !strings.Contains(main, "Globex Corporation") || !strings.Contains(main, "globex.example") {
		t.Errorf("review shows %q", main)
	}
	b.axe("review")
	b.tabTo(`main form button[type=submit]:not([formaction])`, 20)
	b.key("\r")
	b.do(chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := b.text(".flash"); got != b.T("request.complete") {
		t.Errorf("after Submit Request: %q", got)
	}
	if got := b.text(`main tr:has(a[href^="/clc/requests/"]) .status`); got != b.T("status.pending") {
		t.Errorf("the new account shows %q", got)
	}
	b.axe("directory after the request")

	// The customer's email, from the SMTP server.
	hank := linkTo(t, mb.find("hank@globex.example", ""), "/pending/")

	// The approver opens it in a browser of their own (Peter's, signed out).
	c.visit(hank)
	if c.text("h1") != c.T("pending.heading") {
		t.Fatalf("the link opens %q", c.text("h1"))
	}
	c.axe("pending request")

	// Forward opens its dialog: the focus is in it and stays in it; Escape
	// closes it and the focus is back on Forward.
	c.tabTo(`[data-dialog="forward-dialog"]`, 20)
	c.key("\r")
	c.do(chromedp.WaitVisible(chromedp.CSS("#forward-dialog input[type=email]")))
	if !c.is(`document.getElementById("forward-dialog").open`) || !c.is(`document.getElementById("forward-dialog").contains(document.activeElement)`) {
		t.Fatalf("Forward: dialog open %v, focus on %q", c.is(`document.getElementById("forward-dialog").open`), c.focused())
	}
	c.axe("forward dialog")
	for i := range 6 {
		c.key("\t")
		if !c.is(`document.getElementById("forward-dialog").contains(document.activeElement)`) {
			t.Fatalf("Tab %d left the dialog for %q", i+1, c.focused())
		}
	}
	c.key(kb.Escape)
	if c.is(`document.getElementById("forward-dialog").open`) || !c.is(`document.activeElement.dataset.dialog === "forward-dialog"`) {
		t.Fatalf("Escape: dialog open %v, focus on %q", c.is(`document.getElementById("forward-dialog").open`), c.focused())
	}

	// Forward to a colleague, for real.
	c.key("\r")
	c.do(chromedp.WaitVisible(chromedp.CSS("#forward-dialog input[type=email]")))
	c.key("cfo@globex.example\r")
	c.do(chromedp.WaitVisible(byName("h1", c.T("pending.closed.forwarded.heading"))))
	c.axe("forwarded link")
	cfo := linkTo(t, mb.find("cfo@globex.example", ""), "/pending/")

	// A spent link says so.
	c.visit(hank)
	if c.text("h1") != c.T("pending.closed.forwarded.heading") {
		t.Errorf("the forwarded link opens %q", c.text("h1"))
	}

	// The colleague denies it: the dialog refuses an empty reason, then sends one.
	c.visit(cfo)
	c.tabTo(`[data-dialog="deny-dialog"]`, 20)
	c.key("\r")
	c.do(chromedp.WaitVisible(chromedp.CSS("#deny-dialog textarea#reason")))
	c.axe("deny dialog")
	c.tabTo(`#deny-dialog button[type=submit]`, 5)
	c.key("\r")
	c.do(chromedp.WaitVisible(chromedp.CSS("#reason-error")))
	if c.focused() != "textarea#reason " || c.text("#reason-error") != c.T("pending.error.reason_required") || c.js(`document.getElementById("reason-error").getAttribute("role")`) != "alert" {
		t.Errorf("empty reason: focus on %q, message %q", c.focused(), c.text("#reason-error"))
	}
	if s := a.str(t, `SELECT status FROM account_requests ORDER BY id DESC LIMIT 1`); s != "pending" {
		t.Fatalf("an empty reason was sent: %s", s)
	}
	c.axe("deny dialog refused")
	c.key("Globex already has an account.")
	c.tabTo(`#deny-dialog button[type=submit]`, 5)
	c.key("\r")
	c.do(chromedp.WaitVisible(byName("h1", c.T("pending.closed.denied.heading"))))
	c.axe("denied")
	if got := c.text("#request-status"); got != c.T("request.status.denied") {
		t.Errorf("status after denying: %q", got)
	}
	if denied := mb.find("ada@partner.example", ""); !strings.Contains(denied.Text, "Globex already has an account.") {
		t.Errorf("the partner's last email lacks the reason: %s\n%s", denied.Subject, denied.Text)
	}

	// A second request, with users to add and an approver outside its
	// domain: that one awaits Cisco review on the partner's page, and the
	// approver unticks one of the users and approves, by keyboard.
	initrode := formFor("Initrode", "initrode.example", "bill@initrode.example, bill.home@mailbox.example")
	initrode.Set("user_emails", "it@initrode.example ops@initrode.example")
	initrodeID := submit(t, a, a.signedIn("ada@partner.example"), initrode)
	b.visit("/clc/requests/" + initrodeID.String())
	if main := b.text("main"); !strings.Contains(main, b.T("request.status.review")) || !strings.Contains(main, "bill.home@mailbox.example") {
		t.Errorf("the request page does not say what awaits Cisco review: %s", main)
	}
	b.axe("request awaiting Cisco review")
	bill := linkTo(t, mb.find("bill@initrode.example", ""), "/pending/")
	c.visit(bill)
	if got := c.text("fieldset.users-to-add legend"); got != c.T("pending.users_legend") {
		t.Errorf("the users to add are under %q", got)
	}
	c.axe("pending request with users to add")
	c.tabTo(`input[name=add_user][value="ops@initrode.example"]`, 20)
	c.key(" ")
	if c.is(`document.querySelector('input[value="ops@initrode.example"]').checked`) {
		t.Fatal("Space did not untick ops@initrode.example")
	}
	c.tabTo(`#approve-form button[type=submit]`, 20)
	c.key("\r")
	c.do(chromedp.WaitVisible(byName("h1", c.T("pending.closed.approved.heading"))))
	c.axe("approved")
	if s := a.str(t, `SELECT status FROM smart_accounts WHERE name = 'Initrode'`); s != "active" {
		t.Errorf("approved account is %s", s)
	}
	if got := a.str(t, `SELECT string_agg(u.email, ',' ORDER BY u.email) FROM memberships m JOIN users u ON u.id = m.user_id
		JOIN smart_accounts sa ON sa.id = m.smart_account_id WHERE sa.name = 'Initrode'`); got != "bill@initrode.example,it@initrode.example" {
		t.Errorf("Initrode's members are %s: the unticked user got access, or the ticked one did not", got)
	}

	// The partner sees both outcomes, then logs out.
	b.visit("/clc/directory")
	for name, want := range map[string]string{"Globex Corporation": "status.denied", "Initrode": "status.active"} {
		if got := b.js(`Array.from(document.querySelectorAll("main tr")).filter(r => r.textContent.includes(` + jsString(name) + `)).map(r => r.querySelector(".status").textContent.trim()).join("|")`); !strings.Contains(got, b.T(want)) {
			t.Errorf("%s shows %q, want %q", name, got, b.T(want))
		}
	}
	// The role she asked for, as Peter approved it.
	role := a.str(t, `SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id JOIN smart_accounts sa ON sa.id = m.smart_account_id
		WHERE u.email = 'ada@partner.example' AND sa.name = 'Initech'`)
	if got := b.js(`Array.from(document.querySelectorAll("#section-access tr")).filter(r => r.textContent.includes("Initech")).map(r => r.textContent).join("|")`); !strings.Contains(got, b.T("role."+role)) {
		t.Errorf("Ada's access to Initech shows as %q, want the role %s", got, role)
	}
	b.axe("directory after the decisions")
	// All of the accounts she asked to have created, on their own page.
	b.do(chromedp.Click(chromedp.CSS(`#section-created a[href="/clc/directory/created"]`)),
		chromedp.WaitVisible(byName("h1", b.T("directory.created.heading"))))
	if got := b.js(`Array.from(document.querySelectorAll("#section-created tbody th")).map(th => th.textContent.trim()).join("|")`); !strings.Contains(got, "Initrode") || !strings.Contains(got, "Globex Corporation") {
		t.Errorf("the created section's own page lists %q", got)
	}
	b.axe("directory section")
	b.tabTo(`header form[action="/logout"] button`, 10)
	b.key("\r")
	b.do(chromedp.WaitVisible(byName("a", b.T("nav.login"))))
	b.axe("signed out")
	b.visit("/clc/directory")
	if b.path() != "/login" {
		t.Errorf("after Log Out the directory answers at %s", b.path())
	}
}
