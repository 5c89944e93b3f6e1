package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
)

func TestRequestAccessValidatesAndKeepsInput(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("hank@globex.example", "Hank", false)
	a.user("ada@partner.example", "Ada", false)
	globex := a.account("Globex Corporation", "globex.example", "hank@globex.example")
	a.virtualAccount(globex, "Engineering")
	path := "/clc/accounts/" + globex.ID.String() + "/request-access"
	b := a.signedIn("ada@partner.example")

	form := b.get(path)
	wantStatus(t, form, http.StatusOK)
	if text(form, "h1") != "Request Access" || text(form, "#request-account") != "Globex Corporation" {
		t.Fatalf("form page: %s", text(form, "main"))
	}
	for _, label := range []string{"User role", "Reason"} {
		id, _ := form.Doc.Find(`label:contains("` + label + `")`).Attr("for")
		if form.Doc.Find("#"+id).Length() != 1 {
			t.Errorf("no field labelled %q", label)
		}
	}
	if got := text(form, "fieldset#scope legend"); got != "Scope of access" {
		t.Errorf("scope legend %q", got)
	}
	if got := texts(form, "fieldset#scope label"); strings.Join(got, ",") != "Entire Smart Account,Selected Virtual Accounts" {
		t.Errorf("scopes offered %q", got)
	}
	if got := texts(form, "select#role option"); strings.Join(got, ",") != "Administrator,User,Viewer" {
		t.Errorf("roles offered %q", got)
	}
	if got := text(form, "main form button"); got != "Next" {
		t.Errorf("first step's button %q", got)
	}

	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"no reason", url.Values{"step": {"next"}, "scope": {"virtual"}, "role": {"admin"}, "reason": {"   "}}, "reason", "Say why you need access."},
		{"long reason", url.Values{"step": {"next"}, "role": {"user"}, "reason": {strings.Repeat("é", 1001)}}, "reason", "at most 1000 characters"},
		{"no role", url.Values{"step": {"next"}, "scope": {"virtual"}, "reason": {"Need it"}}, "role", "Choose Administrator, User or Viewer."},
		{"approver", url.Values{"role": {"approver"}, "reason": {"Need it"}}, "role", "Choose Administrator, User or Viewer."},
		{"odd scope", url.Values{"scope": {"everything"}, "role": {"viewer"}, "reason": {"Need it"}}, "scope", "Choose Entire Smart Account or Selected Virtual Accounts."},
	} {
		p := b.post(path, tc.form)
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if got := text(p, "#"+tc.field+"-error"); !strings.Contains(got, tc.msg) {
			t.Errorf("%s: message beside %s is %q", tc.name, tc.field, got)
		}
		if v, _ := p.Doc.Find("#" + tc.field).Attr("aria-invalid"); v != "true" {
			t.Errorf("%s: %s not marked invalid", tc.name, tc.field)
		}
		if v := p.Doc.Find("textarea#reason").Text(); v != tc.form.Get("reason") {
			t.Errorf("%s: reason not kept: %q", tc.name, v)
		}
		if v, _ := p.Doc.Find("select#role option[selected]").Attr("value"); tc.form.Get("role") != "approver" && v != tc.form.Get("role") {
			t.Errorf("%s: role not kept: %q", tc.name, v)
		}
		if tc.form.Get("scope") == "virtual" && p.Doc.Find(`input[name=scope][value=virtual][checked]`).Length() != 1 {
			t.Errorf("%s: scope not kept", tc.name)
		}
	}
	// The second step: no Virtual Account chosen, or one the account lacks.
	for _, tc := range []struct {
		name string
		vas  []string
		msg  string
	}{
		{"none chosen", nil, "Choose at least one Virtual Account."},
		{"unknown", []string{"Marketing"}, "no Virtual Account with that name"},
	} {
		p := b.post(path, url.Values{"step": {"submit"}, "scope": {"virtual"}, "va": tc.vas, "role": {"viewer"}, "reason": {"Need it"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if got := text(p, "#virtual_accounts-error"); !strings.Contains(got, tc.msg) {
			t.Errorf("%s: message %q", tc.name, got)
		}
		if got := text(p, "fieldset#virtual_accounts legend"); got != "Available Virtual Accounts" {
			t.Errorf("%s: not on the Virtual Accounts step: %s", tc.name, text(p, "main"))
		}
	}
	var n int
	if err := a.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM access_requests`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("invalid forms saved %d requests (%v)", n, err)
	}
}

func TestRequestAccessRecordsOnePendingRequest(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("hank@globex.example", "Hank", false)
	a.user("ada@partner.example", "Ada", false)
	globex := a.account("Globex Corporation", "globex.example", "hank@globex.example")
	a.virtualAccount(globex, "Engineering")
	a.virtualAccount(globex, "Sales")
	path := "/clc/accounts/" + globex.ID.String() + "/request-access"
	b := a.signedIn("ada@partner.example")
	// The request comes a second after the account's own events, so the
	// history's newest-first order is certain.
	a.clock.Advance(time.Second)

	// "Next" shows the Available Virtual Accounts, keeping the first step.
	first := url.Values{"scope": {"virtual"}, "role": {"user"}, "reason": {"  I manage Globex's renewals.  "}}
	next := url.Values{"step": {"next"}}
	for k, v := range first {
		next[k] = v
	}
	p := b.post(path, next)
	wantStatus(t, p, http.StatusOK)
	if got := texts(p, "fieldset#virtual_accounts label"); strings.Join(got, ",") != "DEFAULT,Engineering,Sales" {
		t.Fatalf("available Virtual Accounts %q: %s", got, text(p, "main"))
	}
	if v, _ := p.Doc.Find(`input[type=hidden][name=reason]`).Attr("value"); v != first.Get("reason") {
		t.Errorf("reason not carried to the second step: %q", v)
	}
	submit := url.Values{"step": {"submit"}, "va": {"Engineering", "Sales"}}
	for k, v := range first {
		submit[k] = v
	}
	p = b.post(path, submit)
	wantRedirect(t, p, "/clc/directory#section-requested")
	dir := b.get("/clc/directory")
	if got := text(dir, ".flash"); got != "Access requested. The administrators of Globex Corporation will answer your request." {
		t.Errorf("flash %q", got)
	}
	if got := text(dir, "#section-requested tbody tr"); !strings.Contains(got, "User on Engineering, Sales: Pending") {
		t.Errorf("directory shows the request as %q", got)
	}

	var status, reason, vas string
	err := a.db.Pool.QueryRow(context.Background(), `
		SELECT r.status, r.reason, string_agg(va.name, ',' ORDER BY va.name) FROM access_requests r
		JOIN access_request_virtual_accounts x ON x.request_id = r.id
		JOIN virtual_accounts va ON va.id = x.virtual_account_id
		GROUP BY r.id`).Scan(&status, &reason, &vas)
	if err != nil || status != "pending" || reason != "I manage Globex's renewals." || vas != "Engineering,Sales" {
		t.Fatalf("stored %q %q %q (%v)", status, reason, vas, err)
	}
	// Its administrator is emailed, in the same transaction.
	var kind, to string
	var data []byte
	if err := a.db.Pool.QueryRow(context.Background(), `SELECT kind, to_address, data FROM outbox`).Scan(&kind, &to, &data); err != nil ||
		kind != "access_requested" || to != "hank@globex.example" ||
		!strings.Contains(string(data), `"virtual_account": "Engineering, Sales"`) || !strings.Contains(string(data), "renewals") {
		t.Errorf("outbox: %q to %q, %s (%v)", kind, to, data, err)
	}
	// The account's history says so, to those who see it.
	history := rows(a.signedIn("hank@globex.example").get("/clc/accounts/"+globex.ID.String()), "#history tbody tr")
	if len(history) == 0 || !strings.Contains(history[0], "Access requested ada@partner.example User on Engineering, Sales") {
		t.Errorf("history %q", history)
	}

	// A second request while the first waits says so and saves nothing.
	p = b.post(path, url.Values{"role": {"admin"}, "reason": {"Again"}})
	wantStatus(t, p, http.StatusConflict)
	if !strings.Contains(text(p, "#request-pending"), "You already asked for access") {
		t.Errorf("second request: %s", text(p, "main"))
	}
	p = b.get(path)
	if !strings.Contains(text(p, "#request-pending"), "have not answered yet") || p.Doc.Find("main form").Length() != 0 {
		t.Errorf("the form is offered again while a request waits: %s", text(p, "main"))
	}
	var n, emails int
	if err := a.db.Pool.QueryRow(context.Background(), `SELECT count(*), (SELECT count(*) FROM outbox) FROM access_requests`).Scan(&n, &emails); err != nil || n != 1 || emails != 1 {
		t.Errorf("%d requests and %d emails stored (%v)", n, emails, err)
	}
}

func TestRequestAccessNeedsAnAccountTheUserMaySeeAndThatIsActive(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ada := a.user("ada@partner.example", "Ada", false)
	a.user("alice@umbrella.example", "Alice", false)
	umbrella := a.restricted("Umbrella Corporation", "umbrella.example", "alice@umbrella.example")
	pending := a.createdBy(ada, "Acme Widgets", "acme.example", account.StatusPending)
	b := a.signedIn(ada.Email)
	form := url.Values{"role": {"viewer"}, "reason": {"Need it"}}

	path := "/clc/accounts/" + umbrella.ID.String() + "/request-access"
	wantStatus(t, b.get(path), http.StatusNotFound)
	wantStatus(t, b.post(path, form), http.StatusNotFound)
	form.Set("q", "Umbrella")
	wantStatus(t, b.post(path, form), http.StatusNotFound)
	// Found by its entire name, the form carries that along.
	p := b.get(path + "?q=" + url.QueryEscape("umbrella corporation"))
	wantStatus(t, p, http.StatusOK)
	if v, _ := p.Doc.Find(`form input[name=q]`).Attr("value"); v != "umbrella corporation" {
		t.Errorf("form does not carry the query: %q", v)
	}
	form.Set("q", "umbrella corporation")
	wantRedirect(t, b.post(path, form), "/clc/directory#section-requested")

	p = b.post("/clc/accounts/"+pending.ID.String()+"/request-access", url.Values{"role": {"viewer"}, "reason": {"Need it"}})
	wantStatus(t, p, http.StatusConflict)
	if !strings.Contains(text(p, "#request-error"), "not active") {
		t.Errorf("pending account: %s", text(p, "main"))
	}
}
