package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
)

// domainSnapshot is every table a refused request must leave as it was:
// a.snapshot without sessions (the session middleware may touch the row of
// the session that sent the request) and the sign-in throttle (a refused
// sign-in is counted there on purpose).
func (a *app) domainSnapshot(t *testing.T) map[string]string {
	t.Helper()
	s := a.snapshot(t)
	delete(s, "sessions")
	delete(s, "login_throttle")
	return s
}

// A form post of nearly ten megabytes (under Go's own 10 MB form limit, so
// the old code parsed all of it and split the whole address field) is
// refused before it is read, quickly, on a page in the user's language, and
// stores nothing.
func TestOversizedFormIsRefusedQuicklyInTheUsersLanguage(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	form := review(t, b, validForm())
	wantRedirect(t, b.post("/language", url.Values{"lang": {"de"}, "next": {"/clc"}}), "/clc")
	before := a.domainSnapshot(t)

	form.Set("customer_emails", strings.Repeat("x@globex.example,", (10<<20-4096)/17))
	start := time.Now()
	p := b.post("/clc/accounts/new/submit", form)
	took := time.Since(start)
	wantStatus(t, p, http.StatusRequestEntityTooLarge)
	if took > 2*time.Second {
		t.Errorf("the refusal took %s", took)
	}
	if h := text(p, "h1"); h != "Zu viel zum Senden" {
		t.Errorf("heading %q, want the German one", h)
	}
	if !strings.Contains(text(p, "main"), "64 KB") {
		t.Errorf("the page does not say the limit: %s", text(p, "main"))
	}
	wantUnchanged(t, before, a.domainSnapshot(t), "a 10 MB post")

	// Multipart is no form of the portal's: refused, not parsed.
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/clc/accounts/new/submit", strings.NewReader("--x\r\n\r\n--x--\r\n"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	wantStatus(t, b.do(req), http.StatusUnsupportedMediaType)

	// The API's body has its own limit, answered with a problem document.
	api := a.api(t, a.openAPI(t), b.newToken("limits"))
	before = a.domainSnapshot(t) // the token's creation is an event of its own
	body := globexBody()
	body["note_to_customer"] = strings.Repeat("x", 100<<10)
	ans := api.do("POST", "/api/v1/account-requests", body)
	if ans.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 100 KiB API body answers %d: %s", ans.Status, ans.Body)
	}
	ans.problem(t)
	wantUnchanged(t, before, a.domainSnapshot(t), "a 100 KiB API body")
}

// A NUL byte, another control character or bytes that are not UTF-8, in any
// form field, query parameter or API member, is refused at the edge with a
// page or problem naming the field; nothing reaches PostgreSQL, which
// answered a NUL with SQLSTATE 22021 and the portal with a 500.
func TestUnusableTextIsRefusedBeforeTheDatabase(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	token := b.newToken("text")
	before := a.domainSnapshot(t)

	form := review(t, b, validForm())
	form.Set("name", "Globex\x00Corporation")
	p := b.post("/clc/accounts/new/submit", form)
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if msg := text(p, "main"); !strings.Contains(msg, "“Smart Account Name” contains a control character") {
		t.Errorf("the page does not name the field: %s", msg)
	}
	form.Set("name", "Globex")
	form.Set("note_to_customer", "Z\xfcrich")
	p = b.post("/clc/accounts/new/submit", form)
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if msg := text(p, "main"); !strings.Contains(msg, "“Note to Customer” contains bytes that are not valid text") {
		t.Errorf("the page does not name the field: %s", msg)
	}
	for _, path := range []string{"/clc/directory/access?q=%00", "/clc/search?q=glo%00bex", "/clc/search?q=%FFglobex"} {
		wantStatus(t, b.get(path), http.StatusUnprocessableEntity)
	}
	wantStatus(t, b.post("/clc/api-tokens", url.Values{"name": {"ci\x00"}}), http.StatusUnprocessableEntity)
	// A textarea's CRLF is text.
	form = validForm()
	form.Set("note_to_customer", "Dear Hank,\r\nplease approve.\r\n")
	review(t, b, form)

	api := a.api(t, a.openAPI(t), token)
	for _, c := range []struct {
		name, body, pointer string
	}{
		{"NUL in a note", `{"name":"Globex","domain":"globex.example","note_to_approver":"x\u0000","customer_emails":["hank@globex.example"]}`, "/note_to_approver"},
		{"escape in an approver", `{"name":"Globex","domain":"globex.example","note_to_approver":"x","customer_emails":["hank@globex.example","\u001b[2J@globex.example"]}`, "/customer_emails/1"},
		{"invalid UTF-8 in the name", "{\"name\":\"Glob\xffex\",\"domain\":\"globex.example\",\"note_to_approver\":\"x\",\"customer_emails\":[\"hank@globex.example\"]}", "/name"},
		{"NUL in a member's name", `{"name":"Globex","na\u0000me":"x"}`, "/na\x00me"},
		{"a member named with / and ~", `{"name":"Globex","a/b~c":{"d":["ok","\u0007"]}}`, "/a~1b~0c/d/1"},
	} {
		ans := api.do("POST", "/api/v1/account-requests", c.body)
		if ans.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s", c.name, ans.Status, ans.Body)
			continue
		}
		pr := ans.problem(t)
		if pr.Type != "/api/v1/problems/invalid-input" || len(pr.Errors) != 1 || pr.Errors[0].In != "body" ||
			pr.Errors[0].Pointer != c.pointer {
			t.Errorf("%s: problem %+v, want pointer %q", c.name, pr, c.pointer)
		}
	}
	ans := api.do("GET", "/api/v1/smart-accounts?q=glo%00bex", nil)
	if ans.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a NUL in q answers %d: %s", ans.Status, ans.Body)
	}
	if pr := ans.problem(t); len(pr.Errors) != 1 || pr.Errors[0].Name != "q" || pr.Errors[0].In != "query" {
		t.Errorf("problem %+v", pr)
	}
	wantUnchanged(t, before, a.domainSnapshot(t), "refused text")
	if strings.Contains(a.logs.String(), `"level":"ERROR"`) {
		t.Errorf("an error was logged:\n%s", a.logs.String())
	}
}

// The API names an account one way, as the pages show it: a bare number, a
// lower-case prefix or extra zeros are unknown ids.
func TestAPITakesIdsOnlyAsShown(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	api := a.api(t, a.openAPI(t), b.newToken("ids"))
	ans := api.do("POST", "/api/v1/account-requests", globexBody())
	if ans.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", ans.Status, ans.Body)
	}
	var created apiRequest
	ans.decode(t, &created)
	id, err := account.ParseAccountID(created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ans := api.do("GET", "/api/v1/account-requests/"+created.ID, nil); ans.Status != http.StatusOK {
		t.Fatalf("%s answers %d", created.ID, ans.Status)
	}
	before := a.domainSnapshot(t)
	for _, other := range []string{
		strings.TrimLeft(strings.TrimPrefix(created.ID, "SA-"), "0"), strings.ToLower(created.ID), "SA-0" + strings.TrimPrefix(created.ID, "SA-"),
		"%20" + created.ID,
	} {
		if ans := api.do("GET", "/api/v1/account-requests/"+other, nil); ans.Status != http.StatusNotFound {
			t.Errorf("GET %s (for %s) answers %d", other, id, ans.Status)
		}
		if ans := api.do("POST", "/api/v1/account-requests/"+other+"/withdraw", nil); ans.Status != http.StatusNotFound {
			t.Errorf("withdraw %s answers %d", other, ans.Status)
		}
	}
	if ans := api.do("GET", "/api/v1/account-requests?before="+strings.TrimPrefix(created.ID, "SA-"), nil); ans.Status != http.StatusUnprocessableEntity {
		t.Errorf("before as a bare number answers %d", ans.Status)
	}
	wantUnchanged(t, before, a.domainSnapshot(t), "calls with ids not as shown")
}

// The same Idempotency-Key with another body is 422 (the IETF draft), even
// when only the approvers differ; the old code compared name and domain
// only and answered the earlier request. The same body is the earlier
// request, as before.
func TestIdempotencyKeyReusedWithAnotherBodyIsRefused(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	api := a.api(t, a.openAPI(t), b.newToken("retries"))
	ans := api.do("POST", "/api/v1/account-requests", globexBody(), "Idempotency-Key", "globex-1")
	if ans.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", ans.Status, ans.Body)
	}
	var created apiRequest
	ans.decode(t, &created)
	before := a.domainSnapshot(t)
	for member, value := range map[string]any{
		"customer_emails":  []string{"hank@globex.example", "mallory@globex.example"},
		"user_emails":      []string{},
		"note_to_customer": "Please approve soon.",
	} {
		body := globexBody()
		body[member] = value
		ans := api.do("POST", "/api/v1/account-requests", body, "Idempotency-Key", "globex-1")
		if ans.Status != http.StatusUnprocessableEntity {
			t.Errorf("the key again with another %s answers %d: %s", member, ans.Status, ans.Body)
			continue
		}
		if pr := ans.problem(t); pr.Type != "/api/v1/problems/idempotency-key-reused" || !strings.Contains(pr.Detail, created.ID) {
			t.Errorf("problem %+v", pr)
		}
	}
	wantUnchanged(t, before, a.domainSnapshot(t), "a reused key")
	var again apiRequest
	ans = api.do("POST", "/api/v1/account-requests", globexBody(), "Idempotency-Key", "globex-1")
	ans.decode(t, &again)
	if ans.Status != http.StatusOK || again.ID != created.ID {
		t.Errorf("the same body again answers %d with %s", ans.Status, again.ID)
	}
	if n := a.count(t, `SELECT count(*) FROM account_requests WHERE input_hash IS NOT NULL`); n != 1 {
		t.Errorf("%d requests carry a fingerprint", n)
	}
}
