package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/account"
)

// The partner chooses French for the customer; the approval email the
// customer receives from the real SMTP server is French, the partner's own
// confirmation stays in the partner's language, and each outbox row says
// which language it rendered in. Forwarding keeps the customer's language.
func TestCustomerEmailInTheLanguageThePartnerChose(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	// The form offers the partner's own language first.
	form := b.get("/clc/accounts/new")
	if got, _ := form.Doc.Find(`select[name=customer_language] option[selected]`).Attr("value"); got != "en" {
		t.Errorf("customer language defaults to %q, want the partner's en", got)
	}
	f := validForm()
	f.Set("customer_language", "fr")
	id := submit(t, a, b, f)
	if got := a.str(t, `SELECT customer_language FROM account_requests WHERE smart_account_id = $1`, int64(id)); got != "fr" {
		t.Errorf("stored customer language %q", got)
	}

	box := a.mailbox(t)
	msg := box.find("hank@globex.example", "Action requise")
	if want := "Action requise\u00a0: approuver le compte Smart «\u00a0Globex Corporation\u00a0»"; msg.Subject != want {
		t.Errorf("subject %q, want %q", msg.Subject, want)
	}
	for _, want := range []string{"Bonjour,", "a demandé dans Cisco License Central un compte Smart", "Remarque à l'attention du client",
		"Ouvrir la demande en attente", "Please approve."} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("French email lacks %q:\n%s", want, msg.Text)
		}
	}
	// The expiry date is written the French way: day, month's name, year.
	exp := a.clock.Now().Add(account.RequestLifetime).UTC()
	if line := "Expire le\u00a0: " + strconv.Itoa(exp.Day()) + " "; !strings.Contains(msg.Text, line) ||
		strings.Contains(msg.Text, exp.Month().String()) || !strings.Contains(msg.Text, strconv.Itoa(exp.Year())) {
		t.Errorf("expiry not in French:\n%s", msg.Text)
	}
	if !strings.Contains(msg.HTML, "Ouvrir la demande en attente") {
		t.Errorf("French HTML part lacks its action:\n%s", msg.HTML)
	}
	if got := msg.Header.Get("Content-Language"); got != "fr" {
		t.Errorf("Content-Language %q", got)
	}
	if !strings.Contains(msg.HTML, `lang="fr"`) {
		t.Errorf("HTML part is not marked French")
	}
	confirmation := box.find("ada@partner.example", "Smart Account Request Complete")
	if confirmation.Header.Get("Content-Language") != "en" {
		t.Errorf("partner's confirmation in %q", confirmation.Header.Get("Content-Language"))
	}
	for to, want := range map[string]string{"hank@globex.example": "fr", "cfo@globex.example": "fr", "ada@partner.example": "en"} {
		if got := a.str(t, `SELECT language FROM outbox WHERE to_address = $1`, to); got != want {
			t.Errorf("outbox row to %s records %q, want %q", to, got, want)
		}
	}

	// Hank forwards; his colleague's link comes in French too.
	approver := a.browser()
	link := linkTo(t, msg, "/pending/")
	wantRedirect(t, approver.post(link+"/forward", url.Values{"forward_to": {"boss@globex.example"}}), link)
	fwd := box.find("boss@globex.example", "Action requise")
	if !strings.Contains(fwd.Text, "vous a transféré cette demande") {
		t.Errorf("forwarded email not in French:\n%s", fwd.Text)
	}

	// The partner's follow-up writes to the customer in French as well: a
	// resend, and a change of approvers that adds someone.
	page := "/clc/requests/" + id.String()
	wantRedirect(t, b.post(page+"/resend", url.Values{"approver": {"cfo@globex.example"}}), page)
	if got := a.str(t, `SELECT language FROM outbox WHERE to_address = 'cfo@globex.example' ORDER BY id DESC LIMIT 1`); got != "fr" {
		t.Errorf("the resend renders in %q", got)
	}
	wantRedirect(t, b.post(page+"/approvers", url.Values{"customer_emails": {"boss@globex.example cfo@globex.example lena@globex.example"}}), page)
	if added := box.find("lena@globex.example", "Action requise"); !strings.Contains(added.Text, "Ouvrir la demande en attente") {
		t.Errorf("an added approver's email is not in French:\n%s", added.Text)
	}
	// The history is in its reader's language, English for the partner.
	history := text(b.get(page), "#history")
	for _, want := range []string{"Email sent again", "To cfo@globex.example", "Approvers changed", "Added lena@globex.example"} {
		if !strings.Contains(history, want) {
			t.Errorf("history lacks %q: %s", want, history)
		}
	}
}

// A user whose saved language is German reads the directory, its menu and
// the history of their account in German, with <html lang="de">.
func TestGermanUserSeesTheDirectoryInGerman(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	u := a.user("hank@globex.example", "Hank", false)
	globex := a.account("Globex Corporation", "globex.example", "hank@globex.example")
	if err := a.svc.SetLanguage(context.Background(), u.ID, "de"); err != nil {
		t.Fatal(err)
	}
	b := a.signedIn("hank@globex.example")
	p := b.get("/clc/directory")
	wantStatus(t, p, http.StatusOK)
	if got, _ := p.Doc.Find("html").Attr("lang"); got != "de" {
		t.Errorf("html lang %q", got)
	}
	if got := text(p, "h1"); got != "Ihr Zugriff auf Smart und Virtual Accounts" {
		t.Errorf("heading %q", got)
	}
	for _, want := range []string{"Accounts, auf die Sie Zugriff haben", "Aktiv", "Administrator", "Smart Account erstellen",
		"Anforderung für einen Kunden", "Smart Accounts suchen"} {
		if !strings.Contains(text(p, "body"), want) {
			t.Errorf("directory lacks %q", want)
		}
	}
	if got, _ := p.Doc.Find(`select[name=lang] option[selected]`).Attr("value"); got != "de" {
		t.Errorf("switcher shows %q", got)
	}
	// The history was stored as codes: it reads in German.
	a.virtualAccount(globex, "Lab")
	a.grant("hank@globex.example", globex, "Lab", account.RoleViewer)
	history := rows(b.get("/clc/accounts/"+globex.ID.String()), "#history tbody tr")
	if len(history) != 3 || !strings.Contains(history[0], "Zugriff erteilt test hank@globex.example: Betrachter für Lab") ||
		!strings.Contains(history[1], "Virtual Account erstellt test Lab") || !strings.Contains(history[2], "Smart Account erstellt") {
		t.Errorf("history %q", history)
	}
}

// A visitor who chose nothing gets the best of their browser's languages.
func TestAcceptLanguagePicksDutch(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	b := a.browser()
	req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/login", nil)
	req.Header.Set("Accept-Language", "nl-BE, nl;q=0.9, en;q=0.5")
	p := b.do(req)
	wantStatus(t, p, http.StatusOK)
	if got, _ := p.Doc.Find("html").Attr("lang"); got != "nl" {
		t.Errorf("html lang %q", got)
	}
	if got := p.Header.Get("Content-Language"); got != "nl" {
		t.Errorf("Content-Language %q", got)
	}
	if got := text(p, "h1"); got != "Inloggen" {
		t.Errorf("heading %q", got)
	}
	if got := text(p, `label[for=password]`); !strings.Contains(got, "Wachtwoord") {
		t.Errorf("password label %q", got)
	}
}

// A choice made in the switcher is saved on the user: it survives signing
// out, and a sign-in from another browser (a new session) finds it.
func TestSavedLanguageSurvivesSignOutAndSignIn(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("hank@globex.example", "Hank", false)
	a.account("Globex Corporation", "globex.example", "hank@globex.example")
	b := a.signedIn("hank@globex.example")
	switcher := b.get("/clc/directory")
	next, _ := switcher.Doc.Find(`form[action="/language"] input[name=next]`).Attr("value")
	if next != "/clc/directory" {
		t.Errorf("switcher returns to %q", next)
	}
	wantRedirect(t, b.post("/language", url.Values{"lang": {"it"}, "next": {next}}), "/clc/directory")
	if got := text(b.get("/clc/directory"), "h1"); got != "Accesso allo Smart Account e all'account virtuale" {
		t.Errorf("after switching: %q", got)
	}
	wantRedirect(t, b.post("/logout", nil), "/")
	if got, _ := b.get("/").Doc.Find("html").Attr("lang"); got != "it" {
		t.Errorf("signed out, the page is in %q", got)
	}

	other := a.browser()
	req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/login", nil)
	req.Header.Set("Accept-Language", "en")
	if got, _ := other.do(req).Doc.Find("html").Attr("lang"); got != "en" {
		t.Fatalf("a new visitor reads %q", got)
	}
	wantRedirect(t, other.login("hank@globex.example", "correct horse"), "/clc")
	p := other.get("/clc/directory")
	if got, _ := p.Doc.Find("html").Attr("lang"); got != "it" {
		t.Errorf("signed in again, the page is in %q", got)
	}
	if got := text(p, "h1"); got != "Accesso allo Smart Account e all'account virtuale" {
		t.Errorf("signed in again: %q", got)
	}
	// A crafted choice of a language the portal lacks clears the saved one.
	wantRedirect(t, other.post("/language", url.Values{"lang": {"xx"}, "next": {"//evil.example"}}), "/clc")
	if got := a.str(t, `SELECT language FROM users WHERE email = 'hank@globex.example'`); got != "" {
		t.Errorf("saved language %q", got)
	}
}
