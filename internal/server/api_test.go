package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/server"
)

// openAPI is the document the app serves, ready to hold answers to it.
type openAPI struct {
	doc libopenapi.Document
	v   validator.Validator
}

func (a *app) openAPI(t *testing.T) *openAPI {
	t.Helper()
	resp, err := http.Get(a.srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	doc, err := libopenapi.NewDocument(body)
	if err != nil {
		t.Fatal(err)
	}
	if doc.GetVersion() != "3.1.0" {
		t.Errorf("OpenAPI version %q", doc.GetVersion())
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("the document breaks OpenAPI 3.1: %s", e.Error())
		}
	}
	return &openAPI{doc: doc, v: v}
}

// apiClient calls the API with a bearer token and holds every answer it
// sees to the OpenAPI document: the response always, the request too when
// the server accepted it (tests send invalid requests on purpose).
type apiClient struct {
	t     *testing.T
	app   *app
	spec  *openAPI
	token string
	mu    *sync.Mutex
}

func (a *app) api(t *testing.T, spec *openAPI, token string) *apiClient {
	return &apiClient{t: t, app: a, spec: spec, token: token, mu: &sync.Mutex{}}
}

// answer is an API response with its body read.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

func (ans answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(ans.Body, v); err != nil {
		t.Fatalf("decode %s: %v", ans.Body, err)
	}
}

// problem is an RFC 9457 answer as a client reads it.
func (ans answer) problem(t *testing.T) server.Problem {
	t.Helper()
	if ct := ans.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("a %d answers %q, want application/problem+json", ans.Status, ct)
	}
	var p server.Problem
	ans.decode(t, &p)
	if p.Status != ans.Status || p.Title == "" || p.Type == "" {
		t.Errorf("problem %+v for a %d", p, ans.Status)
	}
	return p
}

func (c *apiClient) do(method, path string, body any, header ...string) answer {
	c.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	req, _ := http.NewRequest(method, c.app.srv.URL+path, bytes.NewReader(raw))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	c.check(method, path, raw, req.Header, resp, got)
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: got}
}

// check validates one exchange against the document.
func (c *apiClient) check(method, path string, reqBody []byte, h http.Header, resp *http.Response, body []byte) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	u, _ := url.Parse("http://clc.test" + path)
	req := &http.Request{Method: method, URL: u, Header: h.Clone(), Body: io.NopCloser(bytes.NewReader(reqBody))}
	r := &http.Response{StatusCode: resp.StatusCode, Header: resp.Header.Clone(), Body: io.NopCloser(bytes.NewReader(body)), Request: req}
	ok, errs := c.spec.v.ValidateHttpResponse(req, r)
	if resp.StatusCode < 300 {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		var rerrs []error
		if okReq, reqErrs := c.spec.v.ValidateHttpRequest(req); !okReq {
			for _, e := range reqErrs {
				rerrs = append(rerrs, e)
			}
		}
		for _, e := range rerrs {
			c.t.Errorf("%s %s: the request breaks the OpenAPI document: %v", method, path, e)
		}
	}
	if !ok {
		for _, e := range errs {
			c.t.Errorf("%s %s answered %d, which breaks the OpenAPI document: %s %v\n%s", method, path, resp.StatusCode, e.Error(), e.SchemaValidationErrors, body)
		}
	}
}

// newToken makes an API token on the "API tokens" page and reads it off.
func (b *browser) newToken(name string) string {
	b.t.Helper()
	p := b.post("/clc/api-tokens", url.Values{"name": {name}})
	wantStatus(b.t, p, http.StatusCreated)
	secret, _ := p.Doc.Find("#new-token-secret").Attr("value")
	if !strings.HasPrefix(secret, "clc_") {
		b.t.Fatalf("no token shown: %s", text(p, "main"))
	}
	return secret
}

// apiRequest is what the API answers about a request, as a client reads it.
type apiRequest struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Domain    string `json:"domain"`
	Status    string `json:"status"`
	DecidedBy string `json:"decided_by"`
	// NoteToApprover is the requester's and staff's only.
	NoteToApprover string `json:"note_to_approver"`
	Approvers      []struct {
		Email    string `json:"email"`
		Delivery string `json:"delivery"`
	} `json:"approvers"`
	History []struct {
		Kind string `json:"kind"`
	} `json:"history"`
	Links struct{ Self, Page string } `json:"links"`
}

func globexBody() map[string]any {
	return map[string]any{
		"name": "Globex Corporation", "domain": "globex.example", "note_to_approver": "Our customer since 2019.",
		"customer_emails": []string{"hank@globex.example", "CFO@globex.example"}, "note_to_customer": "Please approve.",
		"user_emails": []string{"it@globex.example"},
	}
}

func TestAPITokensPage(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	spec := a.openAPI(t)
	p := b.get("/clc/api-tokens")
	wantStatus(t, p, http.StatusOK)
	if text(p, "h1") != "API tokens" || !strings.Contains(text(p, "main"), "You have no API tokens") {
		t.Errorf("empty page: %s", text(p, "main"))
	}
	wantStatus(t, b.post("/clc/api-tokens", url.Values{"name": {"  "}}), http.StatusUnprocessableEntity)

	secret := b.newToken("onboarding script")
	// Only the hash is kept, and the page shows the token only once.
	sum := sha256.Sum256([]byte(secret))
	if n := a.count(t, `SELECT count(*) FROM api_tokens WHERE token_hash = $1 AND name = 'onboarding script'`, sum[:]); n != 1 {
		t.Errorf("%d tokens stored by hash", n)
	}
	if n := a.count(t, `SELECT count(*) FROM api_tokens t WHERE position($1 in t::text) > 0`, secret); n != 0 {
		t.Error("the token is stored in clear")
	}
	p = b.get("/clc/api-tokens")
	if strings.Contains(p.Body, secret) {
		t.Error("the token is shown again")
	}
	if got := text(p, "#tokens td.last-used"); got != "Never" {
		t.Errorf("last used %q before any call", got)
	}

	api := a.api(t, spec, secret)
	if ans := api.do("GET", "/api/v1/account-requests", nil); ans.Status != http.StatusOK {
		t.Fatalf("a new token answers %d: %s", ans.Status, ans.Body)
	}
	if got := text(b.get("/clc/api-tokens"), "#tokens td.last-used"); got != formatted(a.clock.Now()) {
		t.Errorf("last used %q, want %q", got, formatted(a.clock.Now()))
	}

	// Someone else cannot revoke it; its owner can, and it is refused from then on.
	a.user("eve@elsewhere.example", "Eve", false)
	eve := a.signedIn("eve@elsewhere.example")
	id, _ := b.get("/clc/api-tokens").Doc.Find("#tokens tr[data-token-id]").Attr("data-token-id")
	wantStatus(t, eve.post("/clc/api-tokens/"+id+"/revoke", nil), http.StatusNotFound)
	if ans := api.do("GET", "/api/v1/account-requests", nil); ans.Status != http.StatusOK {
		t.Fatalf("after a stranger's revoke: %d", ans.Status)
	}
	wantRedirect(t, b.post("/clc/api-tokens/"+id+"/revoke", nil), "/clc/api-tokens")
	p = b.get("/clc/api-tokens")
	if !strings.Contains(text(p, ".flash"), "revoked") || !strings.Contains(text(p, "#tokens"), "Revoked on") {
		t.Errorf("after revoking: %s", text(p, "main"))
	}
	ans := api.do("GET", "/api/v1/account-requests", nil)
	if ans.Status != http.StatusUnauthorized || !strings.HasPrefix(ans.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("a revoked token answers %d %q", ans.Status, ans.Header.Get("WWW-Authenticate"))
	}
	ans.problem(t)
	for _, bad := range []string{"", "clc_short", "clc_" + strings.Repeat("A", 43), secret[:len(secret)-1] + "x"} {
		if ans := a.api(t, spec, bad).do("GET", "/api/v1/account-requests", nil); ans.Status != http.StatusUnauthorized {
			t.Errorf("token %q answers %d", bad, ans.Status)
		}
	}
}

// formatted is a time as the English pages write it.
func formatted(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") }

func TestAPIRequestsLikeTheForm(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	spec := a.openAPI(t)
	api := a.api(t, spec, b.newToken("script"))

	// Invalid input: a problem naming each field.
	ans := api.do("POST", "/api/v1/account-requests", map[string]any{"name": "", "domain": "globex.example",
		"customer_emails": []string{"not-an-email"}})
	if ans.Status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid input answers %d: %s", ans.Status, ans.Body)
	}
	var fields []string
	for _, f := range ans.problem(t).Errors {
		fields = append(fields, f.Name+" "+f.Pointer)
	}
	if got := strings.Join(fields, ", "); got != "customer_emails /customer_emails, name /name, note_to_approver /note_to_approver" {
		t.Errorf("invalid fields %q", got)
	}
	// The self-approval rule and the one-account-per-domain rule are the form's.
	a.account("Initech", "initech.example")
	body := globexBody()
	body["domain"] = "initech.example"
	if ans := api.do("POST", "/api/v1/account-requests", body); ans.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(ans.Body), "Initech") {
		t.Errorf("a taken domain answers %d: %s", ans.Status, ans.Body)
	}
	// Each is malformed on purpose; the second names an unknown field.
	for _, raw := range []string{`{"name": "x"`, `{"nmae": "Globex"}`, `[1]`, `{"name":"a"} {"name":"b"}`} { //nolint:misspell
		if ans := api.do("POST", "/api/v1/account-requests", raw); ans.Status != http.StatusBadRequest {
			t.Errorf("body %s answers %d", raw, ans.Status)
		} else {
			ans.problem(t)
		}
	}
	// A user without a role opens no CLC page, so requests nothing here
	// either: the form's refusal, a 403, with or without a key.
	a.user("ivan@elsewhere.example", "Ivan", false)
	ivan := a.api(t, spec, a.signedIn("ivan@elsewhere.example").newToken("ivan"))
	for _, key := range []string{"", "ivan-1"} {
		var hdr []string
		if key != "" {
			hdr = []string{"Idempotency-Key", key}
		}
		if ans := ivan.do("POST", "/api/v1/account-requests", globexBody(), hdr...); ans.Status != http.StatusForbidden {
			t.Errorf("a user without a role (key %q) creates: %d %s", key, ans.Status, ans.Body)
		} else {
			ans.problem(t)
		}
	}
	if n := a.count(t, `SELECT count(*) FROM account_requests`); n != 0 {
		t.Fatalf("%d requests stored from refused calls", n)
	}

	// Created, with the same emails as the form sends; a retry with the same
	// key is the same request.
	ans = api.do("POST", "/api/v1/account-requests", globexBody(), "Idempotency-Key", "globex-1")
	if ans.Status != http.StatusCreated {
		t.Fatalf("create answers %d: %s", ans.Status, ans.Body)
	}
	var created apiRequest
	ans.decode(t, &created)
	if ans.Header.Get("Location") != created.Links.Self || created.Status != "pending" || created.Domain != "globex.example" {
		t.Errorf("created %+v at %q", created, ans.Header.Get("Location"))
	}
	wantEmails := []string{"approval_request hank@globex.example", "approval_request cfo@globex.example", "request_confirmation ada@partner.example"}
	if got := a.emailsOf(t, "approval_request", "request_confirmation"); !slices.Equal(got, wantEmails) {
		t.Errorf("emails %v", got)
	}
	var retried apiRequest
	ans = api.do("POST", "/api/v1/account-requests", globexBody(), "Idempotency-Key", "globex-1")
	ans.decode(t, &retried)
	if ans.Status != http.StatusOK || retried.ID != created.ID {
		t.Errorf("a retry answers %d with %s", ans.Status, retried.ID)
	}
	other := globexBody()
	other["name"] = "Globex Two"
	other["domain"] = "two.globex.example"
	// Approvers and users at the account's own domain, as the rules want.
	other["customer_emails"] = []string{"hank@two.globex.example"}
	other["user_emails"] = []string{"it@two.globex.example"}
	if ans := api.do("POST", "/api/v1/account-requests", other, "Idempotency-Key", "globex-1"); ans.Status != http.StatusUnprocessableEntity {
		t.Errorf("a reused key for another request answers %d", ans.Status)
	} else if p := ans.problem(t); !strings.Contains(p.Detail, created.ID) {
		t.Errorf("reused key: %q", p.Detail)
	}
	if n := a.count(t, `SELECT count(*) FROM account_requests`); n != 1 {
		t.Errorf("%d requests after retries", n)
	}
	if got := a.emailsOf(t, "approval_request", "request_confirmation"); !slices.Equal(got, wantEmails) {
		t.Errorf("emails after retries %v", got)
	}

	// Read back: approvers with their email's state, and the history.
	var got apiRequest
	api.do("GET", created.Links.Self, nil).decode(t, &got)
	if len(got.Approvers) != 2 || got.Approvers[0].Email != "hank@globex.example" || got.Approvers[0].Delivery != "queued" ||
		len(got.History) != 1 || got.History[0].Kind != "requested" {
		t.Errorf("read back %+v", got)
	}
	a.mailbox(t).deliver()
	api.do("GET", created.Links.Self, nil).decode(t, &got)
	if got.Approvers[1].Delivery != "sent" {
		t.Errorf("after delivery %+v", got.Approvers)
	}

	// Paged, newest first.
	second := api.do("POST", "/api/v1/account-requests", other)
	if second.Status != http.StatusCreated {
		t.Fatalf("second request %d: %s", second.Status, second.Body)
	}
	var page1 struct {
		Items []apiRequest `json:"items"`
		Next  *string      `json:"next"`
	}
	api.do("GET", "/api/v1/account-requests?limit=1", nil).decode(t, &page1)
	if len(page1.Items) != 1 || page1.Items[0].Name != "Globex Two" || page1.Next == nil {
		t.Fatalf("page 1: %+v", page1)
	}
	var page2 = page1
	page2.Next = nil
	api.do("GET", *page1.Next, nil).decode(t, &page2)
	if len(page2.Items) != 1 || page2.Items[0].ID != created.ID || page2.Next != nil {
		t.Errorf("page 2: %+v", page2)
	}
	if ans := api.do("GET", "/api/v1/account-requests?limit=0", nil); ans.Status != http.StatusUnprocessableEntity ||
		ans.problem(t).Errors[0].In != "query" {
		t.Errorf("limit=0 answers %d", ans.Status)
	}

	// Another user's token reaches none of it.
	a.user("eve@elsewhere.example", "Eve", false)
	eve := a.api(t, spec, a.signedIn("eve@elsewhere.example").newToken("eve"))
	for _, call := range [][2]string{{"GET", created.Links.Self}, {"POST", created.Links.Self + "/withdraw"}, {"GET", "/api/v1/account-requests/SA-999999"}, {"GET", "/api/v1/account-requests/nonsense"}} {
		if ans := eve.do(call[0], call[1], nil); ans.Status != http.StatusNotFound {
			t.Errorf("eve's %s %s answers %d", call[0], call[1], ans.Status)
		} else {
			ans.problem(t)
		}
	}
	var list struct {
		Items []apiRequest `json:"items"`
	}
	eve.do("GET", "/api/v1/account-requests", nil).decode(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("eve lists %d requests", len(list.Items))
	}
	// An operator sees it, and may not withdraw it.
	a.user("olga@clc.example", "Olga", true)
	ops := a.api(t, spec, a.signedIn("olga@clc.example").newToken("ops"))
	if ans := ops.do("GET", created.Links.Self, nil); ans.Status != http.StatusOK {
		t.Errorf("an operator reads %d", ans.Status)
	}
	if ans := ops.do("POST", created.Links.Self+"/withdraw", nil); ans.Status != http.StatusForbidden {
		t.Errorf("an operator withdraws: %d", ans.Status)
	}

	// Withdrawn once; a second time is a conflict.
	var withdrawn apiRequest
	ans = api.do("POST", created.Links.Self+"/withdraw", nil)
	ans.decode(t, &withdrawn)
	if ans.Status != http.StatusOK || withdrawn.Status != "withdrawn" || withdrawn.DecidedBy != "ada@partner.example" {
		t.Errorf("withdraw: %d %+v", ans.Status, withdrawn)
	}
	if ans := api.do("POST", created.Links.Self+"/withdraw", nil); ans.Status != http.StatusConflict {
		t.Errorf("a second withdraw answers %d", ans.Status)
	} else {
		ans.problem(t)
	}
}

func TestAPISearchKeepsTheRestrictedRule(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	spec := a.openAPI(t)
	api := a.api(t, spec, b.newToken("script"))
	a.account("Globex Corporation", "globex.example", "ada@partner.example")
	a.restricted("Hidden Holdings", "hidden-holdings.example")
	search := func(q string) []string {
		t.Helper()
		var res struct {
			Items []struct{ ID, Name, Domain string } `json:"items"`
		}
		ans := api.do("GET", "/api/v1/smart-accounts?"+url.Values{"q": {q}}.Encode(), nil)
		if ans.Status != http.StatusOK {
			t.Fatalf("search %q: %d %s", q, ans.Status, ans.Body)
		}
		ans.decode(t, &res)
		var names []string
		for _, it := range res.Items {
			names = append(names, it.Name)
		}
		return names
	}
	if got := search("globex"); !slices.Equal(got, []string{"Globex Corporation"}) {
		t.Errorf("globex finds %v", got)
	}
	if got := search("hidden"); len(got) != 0 {
		t.Errorf("a part of a restricted name finds %v", got)
	}
	if got := search("Hidden Holdings"); !slices.Equal(got, []string{"Hidden Holdings"}) {
		t.Errorf("the entire restricted name finds %v", got)
	}
	ans := api.do("GET", "/api/v1/smart-accounts?q=gl", nil)
	if ans.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a short query answers %d", ans.Status)
	}
	if f := ans.problem(t).Errors; len(f) != 1 || f[0].Name != "q" || f[0].In != "query" {
		t.Errorf("short query fields %+v", f)
	}
}

// TestAPITakesNoCookies: a session cookie never authenticates the API, which
// is why the API may skip cross-origin protection; a bearer token from
// another origin is a script, not a forged browser request.
func TestAPITakesNoCookies(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	spec := a.openAPI(t)
	token := b.newToken("script")
	for _, path := range []string{"/api/v1/account-requests", "/api/v1/smart-accounts?q=globex"} {
		p := b.get(path)
		if p.StatusCode != http.StatusUnauthorized {
			t.Errorf("a signed-in browser's GET %s answers %d", path, p.StatusCode)
		}
	}
	req, _ := http.NewRequest("POST", a.srv.URL+"/api/v1/account-requests", strings.NewReader(`{"name":"Globex","customer_emails":["hank@globex.example"]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := b.do(req); p.StatusCode != http.StatusUnauthorized {
		t.Errorf("a cross-site POST with the session cookie answers %d", p.StatusCode)
	}
	ans := a.api(t, spec, token).do("POST", "/api/v1/account-requests", globexBody(), "Origin", "https://tools.partner.example", "Sec-Fetch-Site", "cross-site")
	if ans.Status != http.StatusCreated {
		t.Errorf("a bearer call from another origin answers %d: %s", ans.Status, ans.Body)
	}
	if n := a.count(t, `SELECT count(*) FROM account_requests`); n != 1 {
		t.Errorf("%d requests", n)
	}
	if n := a.count(t, `SELECT count(*) FROM sessions`); n != 1 {
		t.Errorf("%d sessions: the API made one", n)
	}
	// Unknown routes and methods answer problems too (outside the document,
	// so not held to it).
	for _, c := range [][3]string{{"GET", "/api/v1/nothing-here", "404"}, {"DELETE", "/api/v1/account-requests", "405"}} {
		req, _ := http.NewRequest(c[0], a.srv.URL+c[1], nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Status[:3]; got != c[2] || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s answers %s %s", c[0], c[1], resp.Status, resp.Header.Get("Content-Type"))
		}
	}
}

// TestAPIRateLimitHoldsAcrossProcesses: two servers on one database share a
// token's count.
func TestAPIRateLimitHoldsAcrossProcesses(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	spec := a.openAPI(t)
	token := b.newToken("script")
	a2 := newAppOn(t, a.db)
	target := a.clock.Now().Truncate(time.Minute).Add(time.Minute + time.Second)
	for _, x := range []*app{a, a2} {
		x.clock.Advance(target.Sub(x.clock.Now()))
		x.svc.SetAPIRateLimit(4)
	}
	one, two := a.api(t, spec, token), a2.api(t, spec, token)
	for i, c := range []*apiClient{one, two, one, two} {
		if ans := c.do("GET", "/api/v1/account-requests", nil); ans.Status != http.StatusOK {
			t.Fatalf("call %d answers %d", i+1, ans.Status)
		}
	}
	for _, c := range []*apiClient{one, two} {
		ans := c.do("GET", "/api/v1/account-requests", nil)
		if ans.Status != http.StatusTooManyRequests || ans.Header.Get("Retry-After") != "59" {
			t.Fatalf("over the limit: %d, Retry-After %q", ans.Status, ans.Header.Get("Retry-After"))
		}
		ans.problem(t)
	}
	// Another user has their own count; the next window starts afresh.
	a.user("eve@elsewhere.example", "Eve", false)
	other := a.api(t, spec, a.signedIn("eve@elsewhere.example").newToken("other"))
	if ans := other.do("GET", "/api/v1/account-requests", nil); ans.Status != http.StatusOK {
		t.Errorf("another user's token answers %d", ans.Status)
	}
	for _, x := range []*app{a, a2} {
		x.clock.Advance(time.Minute)
	}
	if ans := two.do("GET", "/api/v1/account-requests", nil); ans.Status != http.StatusOK {
		t.Errorf("next window answers %d", ans.Status)
	}
	if n := a.count(t, `SELECT count(*) FROM api_user_rate_windows w JOIN users u ON u.id = w.user_id WHERE u.email = 'ada@partner.example'`); n != 1 {
		t.Errorf("%d windows kept for one user", n)
	}
}

// TestAPIRateLimitIsPerUser: a user with five tokens makes as many calls a
// window as with one; making tokens buys no calls.
func TestAPIRateLimitIsPerUser(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	spec := a.openAPI(t)
	a.clock.Advance(a.clock.Now().Truncate(time.Minute).Add(time.Minute + time.Second).Sub(a.clock.Now()))
	a.svc.SetAPIRateLimit(4)
	var clients []*apiClient
	for i := range 5 {
		clients = append(clients, a.api(t, spec, b.newToken(fmt.Sprintf("script %d", i))))
	}
	ok := 0
	for round := range 2 {
		for i, c := range clients {
			switch ans := c.do("GET", "/api/v1/account-requests", nil); ans.Status {
			case http.StatusOK:
				ok++
			case http.StatusTooManyRequests:
				ans.problem(t)
			default:
				t.Fatalf("round %d, token %d answers %d", round, i, ans.Status)
			}
		}
	}
	if ok != 4 {
		t.Errorf("10 calls over 5 tokens in one window: %d answered, want the limit, 4", ok)
	}
}

// TestAPITokensLimitedPerDay: a user makes at most MaxAPITokensPerDay
// tokens in 24 hours, revoked ones included; the page says so, in the
// user's language, and the log records it as a security event.
func TestAPITokensLimitedPerDay(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	for i := range account.MaxAPITokensPerDay {
		b.newToken(fmt.Sprintf("script %d", i))
		if i%2 == 0 { // revoking does not give a token back to the day's count
			id, _ := b.get("/clc/api-tokens").Doc.Find("#tokens tr[data-token-id]").First().Attr("data-token-id")
			wantRedirect(t, b.post("/clc/api-tokens/"+id+"/revoke", nil), "/clc/api-tokens")
		}
	}
	p := b.post("/clc/api-tokens", url.Values{"name": {"one more"}})
	wantStatus(t, p, http.StatusTooManyRequests)
	if msg := text(p, "main"); !strings.Contains(msg, fmt.Sprintf("You have made %d tokens in the last 24 hours", account.MaxAPITokensPerDay)) {
		t.Errorf("over the daily limit the page says: %s", msg)
	}
	if v, _ := p.Doc.Find("input#name").Attr("value"); v != "one more" {
		t.Errorf("name not kept: %q", v)
	}
	if n := a.count(t, `SELECT count(*) FROM api_tokens WHERE name = 'one more'`); n != 0 {
		t.Errorf("%d tokens made over the limit", n)
	}
	if !strings.Contains(a.logs.String(), `"msg":"API token refused: daily limit"`) {
		t.Errorf("no security event logged:\n%s", a.logs)
	}
	wantStatus(t, b.post("/language", url.Values{"lang": {"de"}}), http.StatusSeeOther)
	if msg := text(b.post("/clc/api-tokens", url.Values{"name": {"noch eins"}}), "main"); !strings.Contains(msg, "in den letzten 24 Stunden") {
		t.Errorf("in German the page says: %s", msg)
	}
	a.clock.Advance(24*time.Hour + time.Minute)
	a.signedIn("ada@partner.example").newToken("the next day")
}

// TestEveryAPIRouteIsDocumented holds the router and the document to each
// other: every route under /api/v1 is an operation, and every operation a route.
func TestEveryAPIRouteIsDocumented(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	spec := a.openAPI(t)
	model, err := spec.doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	routes, err := server.Routes(a.server)
	if err != nil {
		t.Fatal(err)
	}
	routed := map[string]bool{}
	for _, r := range routes {
		method, pattern, _ := strings.Cut(r, " ")
		if !strings.HasPrefix(pattern, "/api/v1/") {
			continue
		}
		routed[method+" "+pattern] = true
		if !documented[method+" "+pattern] {
			t.Errorf("route %s %s is not in openapi.json", method, pattern)
		}
	}
	for op := range documented {
		if !routed[op] {
			t.Errorf("openapi.json documents %s, which no route serves", op)
		}
	}
	if len(routed) < 6 {
		t.Errorf("only %d API routes found: %v", len(routed), routes)
	}
}
