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
	for _, label := range []string{"Virtual Account (optional)", "Role", "Reason"} {
		id, _ := form.Doc.Find(`label:contains("` + label + `")`).Attr("for")
		if form.Doc.Find("#"+id).Length() != 1 {
			t.Errorf("no field labelled %q", label)
		}
	}
	if got := texts(form, "select#role option"); strings.Join(got, ",") != "Administrator,User,Viewer" {
		t.Errorf("roles offered %q", got)
	}

	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"no reason", url.Values{"virtual_account": {"Engineering"}, "role": {"admin"}, "reason": {"   "}}, "reason", "Say why you need access."},
		{"long reason", url.Values{"role": {"user"}, "reason": {strings.Repeat("é", 1001)}}, "reason", "at most 1000 characters"},
		{"no role", url.Values{"virtual_account": {"Engineering"}, "reason": {"Need it"}}, "role", "Choose Administrator, User or Viewer."},
		{"approver", url.Values{"role": {"approver"}, "reason": {"Need it"}}, "role", "Choose Administrator, User or Viewer."},
		{"unknown virtual account", url.Values{"virtual_account": {"Marketing"}, "role": {"viewer"}, "reason": {"Need it"}}, "virtual_account", "no Virtual Account with that name"},
		{"long virtual account", url.Values{"virtual_account": {strings.Repeat("v", 101)}, "role": {"viewer"}, "reason": {"Need it"}}, "virtual_account", "at most 100 characters"},
	} {
		p := b.post(path, tc.form)
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if got := text(p, "#"+tc.field+"-error"); !strings.Contains(got, tc.msg) {
			t.Errorf("%s: message beside %s is %q", tc.name, tc.field, got)
		}
		if v, _ := p.Doc.Find("#" + tc.field).Attr("aria-invalid"); v != "true" {
			t.Errorf("%s: %s not marked invalid", tc.name, tc.field)
		}
		if v, _ := p.Doc.Find("input#virtual_account").Attr("value"); v != tc.form.Get("virtual_account") {
			t.Errorf("%s: Virtual Account not kept: %q", tc.name, v)
		}
		if v := p.Doc.Find("textarea#reason").Text(); v != tc.form.Get("reason") {
			t.Errorf("%s: reason not kept: %q", tc.name, v)
		}
		if v, _ := p.Doc.Find("select#role option[selected]").Attr("value"); tc.form.Get("role") != "approver" && v != tc.form.Get("role") {
			t.Errorf("%s: role not kept: %q", tc.name, v)
		}
	}
	var n int
	if err := a.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM access_requests`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("invalid forms saved %d requests (%v)", n, err)
	}
}

func TestRequestAccessRecordsOnePendingRequest(t *testing.T) {
	a := newApp(t)
	a.user("hank@globex.example", "Hank", false)
	a.user("ada@partner.example", "Ada", false)
	globex := a.account("Globex Corporation", "globex.example", "hank@globex.example")
	a.virtualAccount(globex, "Engineering")
	path := "/clc/accounts/" + globex.ID.String() + "/request-access"
	b := a.signedIn("ada@partner.example")
	// The request comes a second after the account's own events, so the
	// history's newest-first order is certain.
	a.clock.Advance(time.Second)

	p := b.post(path, url.Values{"virtual_account": {"engineering"}, "role": {"user"}, "reason": {"  I manage Globex's renewals.  "}})
	wantRedirect(t, p, "/clc/directory#section-requested")
	dir := b.get("/clc/directory")
	if got := text(dir, ".flash"); got != "Access requested. The administrators of Globex Corporation will answer your request." {
		t.Errorf("flash %q", got)
	}
	if got := text(dir, "#section-requested tbody tr"); !strings.Contains(got, "User on Engineering: Pending") {
		t.Errorf("directory shows the request as %q", got)
	}

	var status, reason, va string
	err := a.db.Pool.QueryRow(context.Background(), `
		SELECT r.status, r.reason, va.name FROM access_requests r JOIN virtual_accounts va ON va.id = r.virtual_account_id`).Scan(&status, &reason, &va)
	if err != nil || status != "pending" || reason != "I manage Globex's renewals." || va != "Engineering" {
		t.Fatalf("stored %q %q %q (%v)", status, reason, va, err)
	}
	// Its administrator is emailed, in the same transaction.
	var kind, to string
	var data []byte
	if err := a.db.Pool.QueryRow(context.Background(), `SELECT kind, to_address, data FROM outbox`).Scan(&kind, &to, &data); err != nil ||
		kind != "access_requested" || to != "hank@globex.example" ||
		!strings.Contains(string(data), `"virtual_account": "Engineering"`) || !strings.Contains(string(data), "renewals") {
		t.Errorf("outbox: %q to %q, %s (%v)", kind, to, data, err)
	}
	// The account's history says so, to those who see it.
	history := rows(a.signedIn("hank@globex.example").get("/clc/accounts/"+globex.ID.String()), "#history tbody tr")
	if len(history) == 0 || !strings.Contains(history[0], "Access requested ada@partner.example User on Engineering") {
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
