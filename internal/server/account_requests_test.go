package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// requester signs in a partner with a role, ready to request accounts.
func requester(t *testing.T) (*app, *browser) {
	t.Helper()
	a := newApp(t)
	a.user("ada@partner.example", "Ada Lovelace", false)
	a.account("Northwind Partners", "partner.example", "ada@partner.example")
	b := a.browser()
	wantRedirect(t, b.login("ada@partner.example", "correct horse"), "/clc")
	return a, b
}

func validForm() url.Values {
	return url.Values{
		"name":             {"Globex Corporation"},
		"domain":           {"globex.example"},
		"domain_editable":  {"1"},
		"note_to_approver": {"Globex is our customer since 2019."},
		"customer_emails":  {"hank@globex.example; CFO@globex.example,\nhank@globex.example"},
		"note_to_customer": {"Please approve."},
		"user_emails":      {"it@globex.example ops@globex.example"},
		"note_to_users":    {"Welcome."},
	}
}

// review posts the form and returns the review page's hidden fields.
func review(t *testing.T, b *browser, form url.Values) url.Values {
	t.Helper()
	form.Set("action", "review")
	p := b.post("/clc/accounts/new", form)
	wantStatus(t, p, http.StatusOK)
	if text(p, "h1") != "Review request" {
		t.Fatalf("no review: %s", text(p, "main"))
	}
	out := url.Values{}
	p.Doc.Find(`form[action="/clc/accounts/new/submit"] input[type=hidden]`).Each(func(_ int, s *goquerySelection) {
		name, _ := s.Attr("name")
		value, _ := s.Attr("value")
		out.Set(name, value)
	})
	return out
}

func (a *app) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := a.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRequestFormWords(t *testing.T) {
	t.Parallel()
	_, b := requester(t)
	p := b.get("/clc/accounts/new")
	wantStatus(t, p, http.StatusOK)
	if text(p, "h1") != "Request a Smart Account for a Customer" {
		t.Fatalf("heading %q", text(p, "h1"))
	}
	for _, label := range []string{"Smart Account Name", "Account Domain Identifier", "Note to Cisco Approver",
		"Customer Email addresses", "Note to Customer", "User Emails", "Note to Added Users"} {
		l := p.Doc.Find("label").FilterFunction(func(_ int, s *goquerySelection) bool {
			return strings.HasPrefix(strings.TrimSpace(s.Text()), label)
		})
		id, _ := l.Attr("for")
		if l.Length() != 1 || p.Doc.Find("#"+id).Length() != 1 {
			t.Errorf("no control labelled %q", label)
		}
	}
	domain := p.Doc.Find("input#domain")
	if v, _ := domain.Attr("value"); v != "partner.example" {
		t.Errorf("domain starts as %q, want the user's own", v)
	}
	if _, ro := domain.Attr("readonly"); !ro {
		t.Error("domain is editable before Edit")
	}
	if p.Doc.Find(`button:contains("Send Request")`).Length() != 1 || p.Doc.Find(`button:contains("Edit")`).Length() != 1 {
		t.Error("no Send Request or Edit button")
	}
	// Edit without script: the same form with the domain unlocked.
	edit := b.post("/clc/accounts/new", url.Values{"action": {"edit"}, "name": {"Kept"}, "domain": {"partner.example"}})
	if _, ro := edit.Doc.Find("input#domain").Attr("readonly"); ro {
		t.Error("Edit left the domain read-only")
	}
	if v, _ := edit.Doc.Find("input#name").Attr("value"); v != "Kept" {
		t.Error("Edit lost the name")
	}
}

func TestRequestFormRules(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	a.user("hank@globex.example", "Hank", false)
	a.account("Globex Corporation", "globex.example", "hank@globex.example")
	restricted, err := a.svc.AddAccount(context.Background(), accountInput("Umbrella", "umbrella.example", true), "test")
	if err != nil {
		t.Fatal(err)
	}
	_ = restricted

	cases := []struct {
		name  string
		edit  func(url.Values)
		field string
		want  string
	}{
		{"name required", func(f url.Values) { f.Set("name", "  ") }, "name", "Enter the Smart Account Name"},
		{"name too long", func(f url.Values) { f.Set("name", strings.Repeat("x", 101)) }, "name", "at most 100"},
		{"scheme", func(f url.Values) { f.Set("domain", "https://acme.example") }, "domain", "no http://"},
		{"path", func(f url.Values) { f.Set("domain", "acme.example/x") }, "domain", "no http://"},
		{"port", func(f url.Values) { f.Set("domain", "acme.example:443") }, "domain", "no http://"},
		{"space", func(f url.Values) { f.Set("domain", "acme example.com") }, "domain", "no http://"},
		{"empty label", func(f url.Values) { f.Set("domain", "acme..example") }, "domain", "no http://"},
		{"public suffix", func(f url.Values) { f.Set("domain", "co.uk") }, "domain", "public suffix"},
		{"taken", func(f url.Values) { f.Set("domain", "GLOBEX.example") }, "domain", `"Globex Corporation" (SA-`},
		{"taken restricted", func(f url.Values) { f.Set("domain", "umbrella.example") }, "domain", "already taken by a Smart Account"},
		{"note required off-domain", func(f url.Values) { f.Set("note_to_approver", "") }, "note_to_approver", "not your own"},
		{"note too long", func(f url.Values) { f.Set("note_to_customer", strings.Repeat("n", 2001)) }, "note_to_customer", "at most 2000"},
		{"customer required", func(f url.Values) { f.Set("customer_emails", " ,; ") }, "customer_emails", "at least one"},
		{"customer invalid", func(f url.Values) { f.Set("customer_emails", "hank@globex.example, not-an-address") }, "customer_emails", `"not-an-address"`},
		{"customer display name", func(f url.Values) { f.Set("customer_emails", "Hank <hank@globex.example>") }, "customer_emails", "not a valid"},
		{"user invalid", func(f url.Values) { f.Set("user_emails", "bob@") }, "user_emails", `"bob@"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := validForm()
			f.Set("domain", "acme.example")
			c.edit(f)
			f.Set("action", "review")
			p := b.post("/clc/accounts/new", f)
			wantStatus(t, p, http.StatusUnprocessableEntity)
			if got := text(p, "#"+c.field+"-error"); !strings.Contains(got, c.want) {
				t.Fatalf("%s error %q, want %q", c.field, got, c.want)
			}
			if inv, _ := p.Doc.Find("#" + c.field).Attr("aria-invalid"); inv != "true" {
				t.Errorf("%s not marked invalid", c.field)
			}
			for _, field := range []string{"name", "domain"} {
				if v, _ := p.Doc.Find("input#" + field).Attr("value"); v != f.Get(field) {
					t.Errorf("%s not kept: %q", field, v)
				}
			}
			for _, field := range []string{"customer_emails", "note_to_customer", "user_emails"} {
				if v := p.Doc.Find("textarea#" + field).Text(); v != f.Get(field) {
					t.Errorf("%s not kept: %q, want %q", field, v, f.Get(field))
				}
			}
		})
	}
	// The taken domain links to a request for access, except a restricted one.
	f := validForm()
	f.Set("domain", "globex.example")
	f.Set("action", "review")
	p := b.post("/clc/accounts/new", f)
	if href, _ := p.Doc.Find("#domain-error a").Attr("href"); !strings.HasSuffix(href, "/request-access") {
		t.Errorf("taken domain offers %q", href)
	}
	f.Set("domain", "umbrella.example")
	p = b.post("/clc/accounts/new", f)
	if strings.Contains(text(p, "#domain-error"), "Umbrella") {
		t.Error("a restricted account was named")
	}
	if n := a.count(t, `SELECT count(*) FROM account_requests`); n != 0 {
		t.Fatalf("bad input saved %d requests", n)
	}
}

func TestOwnDomainNeedsNoNote(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	f := validForm()
	f.Set("domain", "emea.partner.example") // a subdomain of an existing account: allowed
	f.Set("note_to_approver", "")
	f.Set("action", "review")
	wantStatus(t, b.post("/clc/accounts/new", f), http.StatusUnprocessableEntity) // not the user's own domain

	// The user's own domain is held by their partner account already, so
	// the own-domain case is checked against a user whose domain is free.
	a.user("bo@free.example", "Bo", false)
	sa := a.account("Free Partner Holding", "holding.example", "bo@free.example")
	_ = sa
	b2 := a.browser()
	wantRedirect(t, b2.login("bo@free.example", "correct horse"), "/clc")
	f = validForm()
	f.Set("domain", "free.example")
	f.Set("customer_emails", "it@free.example")
	f.Set("user_emails", "")
	f.Set("note_to_approver", "")
	review(t, b2, f)
}

func TestSubmitCreatesEverythingOnce(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	a.user("admin@globex.example", "Globex Admin", false)
	a.account("Globex Corporation", "globex.example", "admin@globex.example")

	f := validForm()
	f.Set("domain", "EMEA.Globex.example") // under an existing account: its admins are told
	f.Set("customer_emails", "hank@emea.globex.example; CFO@emea.globex.example,\nhank@emea.globex.example")
	f.Set("user_emails", "it@emea.globex.example ops@emea.globex.example")
	f.Set("type", "partner_holding") // whatever the request carries
	hidden := review(t, b, f)
	if len(hidden.Get("submission_key")) < 16 {
		t.Fatalf("review carries no submission key: %v", hidden)
	}
	p := b.post("/clc/accounts/new/submit", hidden)
	wantRedirect(t, p, "/clc/directory")
	dir := b.get("/clc/directory")
	if !strings.Contains(text(dir, ".flash"), "Smart Account Request Complete") {
		t.Errorf("directory notice %q", text(dir, ".flash"))
	}
	created := dir.Doc.Find(`[id^="section-"] :contains("emea.globex.example")`).Last().Closest("tr, li, article, section")
	if !strings.Contains(text(dir, "main"), "emea.globex.example") || !strings.Contains(created.Text(), "Pending") {
		t.Errorf("the directory does not list the new account as Pending: %s", text(dir, "main"))
	}
	if href, _ := dir.Doc.Find(`#section-created a[href^="/clc/requests/SA-"]`).Attr("href"); href == "" {
		t.Error("the pending account does not lead to its request's status")
	} else {
		wantStatus(t, b.get(href), http.StatusOK)
	}

	var id int64
	var status, typ, domain string
	err := a.db.Pool.QueryRow(context.Background(),
		`SELECT id, status, account_type, domain FROM smart_accounts WHERE name = 'Globex Corporation' AND status = 'pending'`).Scan(&id, &status, &typ, &domain)
	if err != nil || typ != "customer" || domain != "emea.globex.example" {
		t.Fatalf("pending account: %v %s %s %s", err, status, typ, domain)
	}
	if n := a.count(t, `SELECT count(*) FROM approval_links l JOIN account_requests r ON r.id = l.request_id WHERE r.smart_account_id = $1 AND length(l.token_hash) = 32`, id); n != 2 {
		t.Errorf("%d approval links, want 2 (duplicates removed)", n)
	}
	if n := a.count(t, `SELECT count(*) FROM account_requests WHERE smart_account_id = $1 AND expires_at BETWEEN created_at + interval '89 days' AND created_at + interval '91 days' AND cardinality(user_emails) = 2`, id); n != 1 {
		t.Error("request row wrong: expiry or users")
	}
	kinds := map[string]int{}
	rows, _ := a.db.Pool.Query(context.Background(), `SELECT kind || ' ' || to_address FROM outbox`)
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		kinds[k]++
	}
	want := []string{"approval_request hank@emea.globex.example", "approval_request cfo@emea.globex.example",
		"subdomain_notice admin@globex.example", "request_confirmation ada@partner.example"}
	for _, w := range want {
		if kinds[w] != 1 {
			t.Errorf("outbox lacks %q: %v", w, kinds)
		}
	}
	if len(kinds) != len(want) {
		t.Errorf("outbox has %v, want exactly %v", kinds, want)
	}
	if n := a.count(t, `SELECT count(*) FROM events WHERE smart_account_id = $1 AND kind = 'requested'`, id); n != 1 {
		t.Errorf("%d requested events", n)
	}

	// The same submission again (back and resubmit, a replayed post) changes nothing.
	wantRedirect(t, b.post("/clc/accounts/new/submit", hidden), "/clc/directory")
	if n := a.count(t, `SELECT count(*) FROM account_requests`); n != 1 {
		t.Fatalf("%d requests after a resubmit", n)
	}
	if n := a.count(t, `SELECT count(*) FROM outbox`); n != 4 {
		t.Fatalf("%d emails after a resubmit", n)
	}
}

func TestDoubleClickMakesOneRequest(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	hidden := review(t, b, validForm())
	var wg sync.WaitGroup
	statuses := make([]int, 50)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = b.post("/clc/accounts/new/submit", hidden).StatusCode
		}()
	}
	wg.Wait()
	for _, s := range statuses {
		if s != http.StatusSeeOther {
			t.Errorf("a concurrent submit answered %d", s)
		}
	}
	if n := a.count(t, `SELECT count(*) FROM account_requests`); n != 1 {
		t.Fatalf("%d requests from one double-clicked form", n)
	}
	if n := a.count(t, `SELECT count(*) FROM outbox`); n != 3 {
		t.Fatalf("%d emails, want 3", n)
	}
}

func TestTwoFormsRaceForOneDomain(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	h1 := review(t, b, validForm())
	h2 := review(t, b, validForm())
	var wg sync.WaitGroup
	var p1, p2 page
	wg.Add(2)
	go func() { defer wg.Done(); p1 = b.post("/clc/accounts/new/submit", h1) }()
	go func() { defer wg.Done(); p2 = b.post("/clc/accounts/new/submit", h2) }()
	wg.Wait()
	ok, refused := 0, 0
	for _, p := range []page{p1, p2} {
		switch p.StatusCode {
		case http.StatusSeeOther:
			ok++
		case http.StatusUnprocessableEntity:
			if strings.Contains(text(p, "#domain-error"), "already holds this domain") {
				refused++
			}
		}
	}
	if ok != 1 || refused != 1 {
		t.Fatalf("two forms for one domain: %d created, %d refused (%d, %d)", ok, refused, p1.StatusCode, p2.StatusCode)
	}
	if n := a.count(t, `SELECT count(*) FROM smart_accounts WHERE domain = 'globex.example'`); n != 1 {
		t.Fatalf("%d accounts hold globex.example", n)
	}
}

func TestSubmitFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	hidden := review(t, b, validForm())
	// Make the last write of the transaction fail: the outbox refuses rows.
	if _, err := a.db.Pool.Exec(context.Background(), `
		CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'outbox refused'; END $$;
		CREATE TRIGGER refuse BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse();`); err != nil {
		t.Fatal(err)
	}
	p := b.post("/clc/accounts/new/submit", hidden)
	wantStatus(t, p, http.StatusInternalServerError)
	if strings.Contains(p.Body, "outbox refused") {
		t.Error("the 500 page shows internal text")
	}
	for _, table := range []string{"account_requests", "approval_links", "outbox"} {
		if n := a.count(t, `SELECT count(*) FROM `+table); n != 0 {
			t.Errorf("%s has %d rows after a failed submit", table, n)
		}
	}
	if n := a.count(t, `SELECT count(*) FROM smart_accounts WHERE status = 'pending'`); n != 0 {
		t.Errorf("a pending account survived a failed submit")
	}
	if n := a.count(t, `SELECT count(*) FROM events WHERE kind = 'requested'`); n != 0 {
		t.Errorf("an event survived a failed submit")
	}
}

func TestNoRoleCannotRequest(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("new@partner.example", "New", false)
	b := a.browser()
	wantRedirect(t, b.login("new@partner.example", "correct horse"), "/clc")
	wantStatus(t, b.get("/clc/accounts/new"), http.StatusForbidden)
	f := validForm()
	f.Set("submission_key", "0123456789abcdef0123")
	wantStatus(t, b.post("/clc/accounts/new/submit", f), http.StatusForbidden)
	if n := a.count(t, `SELECT count(*) FROM account_requests`); n != 0 {
		t.Fatal("a user with no role requested an account")
	}
}
