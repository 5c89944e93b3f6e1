package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/internal/server"
)

// walkCase is how one route is fed bad input: as whom, at which path (its
// parameters the ids of real seeded rows), which fields it reads, and the
// rest of the input, chosen so that no value of the field under test can
// complete the action (see each case's comment where that needed care).
type walkCase struct {
	as     string // a browser name in walkSeed.browsers, or "api"
	path   string
	fields []string
	base   url.Values
	// query: the API operation reads these from the query string.
	query bool
}

// walkSeed is the portal with one real row of everything a route acts on.
type walkSeed struct {
	a        *app
	browsers map[string]*browser
	token    string
	pending  account.AccountID // ada's pending request for globex.example
	denied   account.AccountID // ada's request the customer denied
	approval string            // hank's live approval token for the pending request
	setPass  string            // a live set-password token
	access   int64             // bob's pending access request to Northwind
	declined int64             // carol's access request, declined already
	tokenID  string
	emailID  string
	hookID   string // ada's webhook endpoint
	delivery string // a delivery of it, failed

	importID string // ada's live preview of a users file for Northwind

	northID account.AccountID
	emeaID  string // Northwind's Virtual Account EMEA
	defID   string // Northwind's DEFAULT
}

func seedForWalk(t *testing.T) *walkSeed {
	t.Helper()
	ctx := context.Background()
	a, ada := requester(t)
	s := &walkSeed{a: a, browsers: map[string]*browser{"ada": ada, "anon": a.browser()}}
	a.user("olga@cisco.example", "Olga", true)
	s.browsers["olga"] = a.signedIn("olga@cisco.example")
	// Between the password and the code: what /login/code is for.
	s.browsers["olga-code"] = a.browser()
	wantRedirect(t, s.browsers["olga-code"].post("/login", url.Values{"email": {"olga@cisco.example"}, "password": {"correct horse"}}), "/login/code")
	s.northID = account.AccountID(a.count(t, `SELECT id FROM smart_accounts WHERE domain = 'partner.example'`))
	a.virtualAccount(account.SmartAccount{ID: s.northID}, "EMEA")
	s.emeaID = strconv.Itoa(a.count(t, `SELECT id FROM virtual_accounts WHERE name = 'EMEA'`))
	s.defID = strconv.Itoa(a.count(t, `SELECT id FROM virtual_accounts WHERE smart_account_id = $1 AND name = 'DEFAULT'`, s.northID))

	s.pending = submit(t, a, ada, validForm())
	s.approval = a.secret(t, "approval_request", "hank@globex.example")

	form := func(name, domain string) url.Values {
		f := validForm()
		f.Set("name", name)
		f.Set("domain", domain)
		f.Set("customer_emails", "boss@"+domain)
		f.Set("user_emails", "")
		return f
	}
	s.denied = submit(t, a, ada, form("Initech", "initech.example"))
	if _, err := a.svc.Deny(ctx, a.secret(t, "approval_request", "boss@initech.example"), "Not now."); err != nil {
		t.Fatal(err)
	}
	submit(t, a, ada, form("Umbrella", "umbrella.example"))
	if _, err := a.svc.Approve(ctx, a.secret(t, "approval_request", "boss@umbrella.example"), nil); err != nil {
		t.Fatal(err)
	}
	s.setPass = a.secret(t, "account_created_admin", "boss@umbrella.example")

	bob := a.user("bob@partner.example", "Bob", false)
	carol := a.user("carol@partner.example", "Carol", false)
	in := account.AccessRequestInput{Scope: string(account.ScopeAccount), Role: string(account.RoleUser), Reason: "Licences."}
	ar, err := a.svc.RequestAccess(ctx, bob, s.northID, "", in)
	if err != nil {
		t.Fatal(err)
	}
	s.access = ar.ID
	ar, err = a.svc.RequestAccess(ctx, carol, s.northID, "", in)
	if err != nil {
		t.Fatal(err)
	}
	adaUser, err := a.svc.UserByEmail(ctx, "ada@partner.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.DecideAccess(ctx, adaUser, s.northID, ar.ID, false, account.AccessDecisionInput{}); err != nil {
		t.Fatal(err)
	}
	s.declined = ar.ID

	s.token = ada.newToken("walk")
	s.tokenID = strconv.Itoa(a.count(t, `SELECT max(id) FROM api_tokens`))
	s.emailID = strconv.Itoa(a.count(t, `SELECT max(id) FROM outbox`))
	e, err := a.svc.CreateWebhook(ctx, adaUser, account.WebhookInput{URL: "https://hooks.partner.example/clc",
		EventTypes: []string{string(account.WebhookRequestSubmitted)}})
	if err != nil {
		t.Fatal(err)
	}
	s.hookID = strconv.FormatInt(e.ID, 10)
	a.db.Exec(t, `INSERT INTO webhook_deliveries (webhook_id, endpoint_id, event_id, event_type, payload, state, attempts, next_attempt_at, give_up_at, created_at)
		SELECT 'msg_walk', $1, max(id), 'account_request.submitted', '{}', 'failed', 3, now(), now(), now() FROM events`, e.ID)
	s.delivery = strconv.Itoa(a.count(t, `SELECT max(id) FROM webhook_deliveries`))
	im, err := a.svc.PreviewUsersImport(ctx, adaUser, s.northID, "users.csv", []byte("bob@partner.example,viewer\n"))
	if err != nil {
		t.Fatal(err)
	}
	s.importID = im.ID
	return s
}

// cases is every POST route and API operation with what it reads. A route
// missing here fails the test: a new form must say how it is fed.
func (s *walkSeed) cases() map[string]walkCase {
	pending, denied, north := s.pending.String(), s.denied.String(), s.northID.String()
	vals := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	// The request form with no name: nothing can be sent or reviewed.
	requestForm := validForm()
	requestForm.Set("name", "")
	requestFields := []string{"name", "domain", "domain_editable", "note_to_approver", "customer_emails", "customer_language",
		"note_to_customer", "user_emails", "note_to_users", "renews"}
	access := strconv.FormatInt(s.access, 10)
	return map[string]walkCase{
		"POST /login": {as: "anon", path: "/login", fields: []string{"email", "password", "next"},
			base: vals("email", "ada@partner.example", "password", "wrong horse")},
		"POST /logout": {as: "ada", path: "/logout"},
		// Anyone may choose a language; an empty choice legitimately resets a
		// signed-in user's stored one, so it is sent by someone not signed
		// in, whose choice lives in the session only.
		"POST /language":                 {as: "anon", path: "/language", fields: []string{"lang", "next"}, base: vals("lang", "de")},
		"POST /login/code":               {as: "anon", path: "/login/code", fields: []string{"code"}},
		"POST /two-factor/setup":         {as: "anon", path: "/two-factor/setup", fields: []string{"code"}},
		"POST /pending/{token}/approve":  {as: "anon", path: "/pending/" + s.approval + "/approve"},
		"POST /pending/{token}/deny":     {as: "anon", path: "/pending/" + s.approval + "/deny", fields: []string{"reason"}},
		"POST /pending/{token}/forward":  {as: "anon", path: "/pending/" + s.approval + "/forward", fields: []string{"forward_to"}},
		"POST /pending/{token}/messages": {as: "anon", path: "/pending/" + s.approval + "/messages", fields: []string{"message"}},
		"POST /pending/{token}/seen":     {as: "anon", path: "/pending/" + s.approval + "/seen"},
		"POST /set-password/{token}": {as: "anon", path: "/set-password/" + s.setPass, fields: []string{"password", "confirm"},
			base: vals("confirm", "a long enough passphrase")},
		"POST /settings/two-factor/disable": {as: "ada", path: "/settings/two-factor/disable", fields: []string{"code"}},
		"POST /clc/accounts/new": {as: "ada", path: "/clc/accounts/new", fields: append(requestFields, "action"),
			base: withValue(requestForm, "action", "review")},
		"POST /clc/accounts/new/submit": {as: "ada", path: "/clc/accounts/new/submit", fields: append(requestFields, "submission_key"),
			base: withValue(requestForm, "submission_key", "walk-submission-key-0001")},
		"POST /clc/requests/{accountID}/withdraw":  {as: "ada", path: "/clc/requests/" + pending + "/withdraw"},
		"POST /clc/requests/{accountID}/resend":    {as: "ada", path: "/clc/requests/" + pending + "/resend", fields: []string{"approver"}},
		"POST /clc/requests/{accountID}/approvers": {as: "ada", path: "/clc/requests/" + pending + "/approvers", fields: []string{"customer_emails"}},
		"POST /clc/requests/{accountID}/messages":  {as: "ada", path: "/clc/requests/" + pending + "/messages", fields: []string{"message"}},
		"POST /clc/api-tokens":                     {as: "ada", path: "/clc/api-tokens", fields: []string{"name"}},
		"POST /clc/api-tokens/{id}/revoke":         {as: "ada", path: "/clc/api-tokens/" + s.tokenID + "/revoke"},
		// An operator may approve without choosing the administrator, so an
		// empty one would complete it: the request is one decided already.
		"POST /ops/requests/{accountID}/approve": {as: "olga", path: "/ops/requests/" + denied + "/approve", fields: []string{"admin"}},
		"POST /ops/requests/{accountID}/deny":    {as: "olga", path: "/ops/requests/" + pending + "/deny", fields: []string{"reason"}},
		// The approver is the one field, and none of these is held.
		"POST /ops/requests/{accountID}/allow":  {as: "olga", path: "/ops/requests/" + pending + "/allow", fields: []string{"approver"}},
		"POST /ops/emails/{id}/retry":           {as: "olga", path: "/ops/emails/" + s.emailID + "/retry"},
		"POST /ops/requests/{accountID}/assign": {as: "olga", path: "/ops/requests/" + pending + "/assign"},
		// The walk's portal has no OpenID provider: the button is not found.
		"POST /login/sso": {as: "anon", path: "/login/sso", fields: []string{"next"}},
		// Sent by a partner, whom the domain refuses whatever the domain.
		"POST /ops/sso":         {as: "ada", path: "/ops/sso", fields: []string{"domain"}},
		"POST /ops/sso/release": {as: "ada", path: "/ops/sso/release", fields: []string{"domain"}},
		// Without a role nothing can be requested; the step is "submit".
		"POST /clc/accounts/{accountID}/request-access": {as: "ada", path: "/clc/accounts/" + denied + "/request-access",
			fields: []string{"q", "scope", "va", "role", "reason", "step"}, base: vals("scope", "account", "reason", "x")},
		// No decision: neither approve nor decline can happen.
		"POST /clc/accounts/{accountID}/access-requests/bulk": {as: "ada", path: "/clc/accounts/" + north + "/access-requests/bulk",
			fields: []string{"request", "decision", "scope", "va", "role", "reason"}, base: vals("request", access, "scope", "account", "role", "user")},
		// No role: an approval is incomplete.
		"POST /clc/accounts/{accountID}/access-requests/{request}/approve": {as: "ada",
			path: "/clc/accounts/" + north + "/access-requests/" + access + "/approve", fields: []string{"scope", "va", "role", "reason"},
			base: vals("scope", "account")},
		// A decline's reason is optional, so an empty one would decline: the
		// request is one declined already, which nothing can decide again.
		"POST /clc/accounts/{accountID}/access-requests/{request}/decline": {as: "ada",
			path:   "/clc/accounts/" + north + "/access-requests/" + strconv.FormatInt(s.declined, 10) + "/decline",
			fields: []string{"reason"}},
		"POST /clc/accounts/{accountID}/access-requests/{request}/messages": {as: "ada",
			path: "/clc/accounts/" + north + "/access-requests/" + access + "/messages", fields: []string{"message"}},
		// No role: nobody can be added or changed.
		"POST /clc/accounts/{accountID}/users": {as: "ada", path: "/clc/accounts/" + north + "/users", fields: []string{"email", "va", "role"},
			base: vals("email", "bob@partner.example")},
		"POST /clc/accounts/{accountID}/users/role": {as: "ada", path: "/clc/accounts/" + north + "/users/role", fields: []string{"user", "va", "role"},
			base: vals("user", "1")},
		// No user: nobody can be removed (an empty va means the whole account).
		"POST /clc/accounts/{accountID}/users/remove": {as: "ada", path: "/clc/accounts/" + north + "/users/remove", fields: []string{"user", "va"}},
		// The upload reads a file; a form that is not multipart carries none,
		// so no value of a field can make a preview.
		"POST /clc/accounts/{accountID}/users/import": {as: "ada", path: "/clc/accounts/" + north + "/users/import", fields: []string{"file"}},
		// A live preview: Apply reads no field, so each one is refused at the edge.
		"POST /clc/accounts/{accountID}/users/import/{import}/apply": {as: "ada",
			path: "/clc/accounts/" + north + "/users/import/" + s.importID + "/apply"},
		// A name is the one field: empty or too long, nothing is created or renamed.
		"POST /clc/accounts/{accountID}/virtual-accounts": {as: "ada", path: "/clc/accounts/" + north + "/virtual-accounts", fields: []string{"name"}},
		"POST /clc/accounts/{accountID}/virtual-accounts/{vaID}/rename": {as: "ada",
			path: "/clc/accounts/" + north + "/virtual-accounts/" + s.emeaID + "/rename", fields: []string{"name"}},
		// DEFAULT, which nothing deletes.
		"POST /clc/accounts/{accountID}/virtual-accounts/{vaID}/delete": {as: "ada",
			path: "/clc/accounts/" + north + "/virtual-accounts/" + s.defID + "/delete"},
		// No action for the same domain: the rules cannot be saved.
		"POST /clc/accounts/{accountID}/automation": {as: "ada", path: "/clc/accounts/" + north + "/automation",
			fields: []string{"same_domain", "same_domain_role", "same_domain_va", "other_domain"}, base: vals("other_domain", "manual")},

		// The API. A create without a name cannot succeed.
		"POST /api/v1/account-requests": {as: "api", path: "/api/v1/account-requests",
			fields: []string{"name", "domain", "note_to_approver", "customer_emails", "note_to_customer", "user_emails", "note_to_users"},
			base:   vals("domain", "globex.example", "customer_emails", "hank@globex.example")},
		"GET /api/v1/account-requests":             {as: "api", path: "/api/v1/account-requests", fields: []string{"limit", "before"}, query: true},
		"GET /api/v1/account-requests/{accountID}": {as: "api", path: "/api/v1/account-requests/" + pending, query: true},
		// Withdraw reads nothing: a member of any name must not reach it.
		"POST /api/v1/account-requests/{accountID}/withdraw": {as: "api", path: "/api/v1/account-requests/" + pending + "/withdraw"},
		"GET /api/v1/smart-accounts":                         {as: "api", path: "/api/v1/smart-accounts", fields: []string{"q", "page"}, query: true},

		// Webhooks. No event type: no endpoint can be registered.
		"POST /clc/webhooks": {as: "ada", path: "/clc/webhooks", fields: []string{"url", "account", "event_types"},
			base: vals("url", "https://hooks.partner.example/other")},
		"POST /clc/webhooks/{id}/rotate": {as: "ada", path: "/clc/webhooks/" + s.hookID + "/rotate"},
		"POST /clc/webhooks/{id}/delete": {as: "ada", path: "/clc/webhooks/" + s.hookID + "/delete"},
		"POST /clc/webhooks/{id}/deliveries/{delivery}/redeliver": {as: "ada",
			path: "/clc/webhooks/" + s.hookID + "/deliveries/" + s.delivery + "/redeliver"},
		"GET /api/v1/webhooks": {as: "api", path: "/api/v1/webhooks", query: true},
		"POST /api/v1/webhooks": {as: "api", path: "/api/v1/webhooks", fields: []string{"url", "smart_account_id", "event_types"},
			base: vals("url", "https://hooks.partner.example/other")},
		"GET /api/v1/webhooks/{id}":                       {as: "api", path: "/api/v1/webhooks/" + s.hookID, query: true},
		"DELETE /api/v1/webhooks/{id}":                    {as: "api", path: "/api/v1/webhooks/" + s.hookID},
		"POST /api/v1/webhooks/{id}/rotate-secret":        {as: "api", path: "/api/v1/webhooks/" + s.hookID + "/rotate-secret"},
		"GET /api/v1/webhooks/{id}/deliveries":            {as: "api", path: "/api/v1/webhooks/" + s.hookID + "/deliveries", query: true},
		"GET /api/v1/webhooks/{id}/deliveries/{delivery}": {as: "api", path: "/api/v1/webhooks/" + s.hookID + "/deliveries/" + s.delivery, query: true},
		"POST /api/v1/webhooks/{id}/deliveries/{delivery}/redeliver": {as: "api",
			path: "/api/v1/webhooks/" + s.hookID + "/deliveries/" + s.delivery + "/redeliver"},
		"GET /api/v1/account-requests/{accountID}/events": {as: "api", path: "/api/v1/account-requests/" + pending + "/events",
			fields: []string{"from", "to", "kind", "actor", "cursor"}, query: true},
		"GET /api/v1/events": {as: "api", path: "/api/v1/events", fields: []string{"from", "to", "kind", "actor", "cursor"}, query: true},
	}
}

func withValue(v url.Values, k, value string) url.Values {
	out := url.Values{}
	for key, vs := range v {
		out[key] = slices.Clone(vs)
	}
	out.Set(k, value)
	return out
}

// badValues are what each field is sent: a NUL, bytes that are not UTF-8,
// 100 KiB (past the body's limit), 3,211 characters (within it, but past
// what a btree index entry holds), and nothing. The long ones are random
// letters: PostgreSQL compresses a repeated letter into an entry that fits.
func badValues() map[string]string {
	letters := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rand.IntN(26))
		}
		return string(b)
	}
	return map[string]string{"NUL": "x\x00y", "invalid UTF-8": "x\xff\xfey", "100 KiB": letters(100 << 10),
		"3,211 characters": letters(3211), "empty": ""}
}

// tableHashes is a digest of every table's rows but those that change on
// requests that change nothing: sessions (any page may renew its own),
// login_throttle and its events (a failed sign-in is counted and recorded,
// on purpose), and the API
// token's use and rate counters (every authenticated call is counted,
// refused or not). The outbox is kept: no refused input may send mail.
func (a *app) tableHashes(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := a.db.Pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'
		AND tablename NOT IN ('sessions', 'login_throttle', 'api_tokens', 'api_rate_windows', 'api_user_rate_windows', 'schema_version') ORDER BY tablename`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, table := range tables {
		var h string
		where := ""
		if table == "events" {
			// A refused sign-in is recorded, on purpose, as the throttle counts it.
			where = ` WHERE kind NOT IN ('sign_in_failed', 'sign_in_blocked')`
		}
		if err := a.db.Pool.QueryRow(ctx, `SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM `+table+` x`+where).Scan(&h); err != nil {
			t.Fatal(err)
		}
		out[table] = h
	}
	return out
}

// TestEveryRouteRefusesBadInputWithoutHarm walks the real route table and
// sends every field of every POST form and API operation a NUL, invalid
// UTF-8, 100 KiB, 3,211 characters and nothing, as a user who may use the route: never a 5xx,
// and never a changed row.
func TestEveryRouteRefusesBadInputWithoutHarm(t *testing.T) {
	t.Parallel()
	s := seedForWalk(t)
	a := s.a
	cases := s.cases()
	routes, err := server.Routes(a.server)
	if err != nil {
		t.Fatal(err)
	}
	var walked []string
	for _, r := range routes {
		method, pattern, _ := strings.Cut(r, " ")
		if method != http.MethodPost && !strings.HasPrefix(pattern, "/api/v1/") || pattern == "/api/v1/openapi.json" {
			continue
		}
		if method == http.MethodHead {
			continue
		}
		if _, ok := cases[r]; !ok {
			t.Errorf("route %s is not in the table of TestEveryRouteRefusesBadInputWithoutHarm: say which fields it reads", r)
			continue
		}
		walked = append(walked, r)
	}
	for r := range cases {
		if !slices.Contains(walked, r) {
			t.Errorf("the table lists %s, which the router does not serve", r)
		}
	}
	slices.Sort(walked)

	bad := badValues()
	statuses := map[string][]int{}
	before := a.tableHashes(t)
	for _, r := range walked {
		c := cases[r]
		method, _, _ := strings.Cut(r, " ")
		fields := c.fields
		if len(fields) == 0 {
			// A route that reads no field is sent one it does not read: the
			// edge must refuse it before the handler acts.
			fields = []string{"unread"}
		}
		for _, field := range fields {
			for what, value := range bad {
				if len(c.fields) == 0 && (what == "empty" || what == "3,211 characters") {
					// A stray field of usable text is no input at all: the
					// route would act, as it should.
					continue
				}
				status := 0
				switch {
				case c.as == "api" && c.query:
					status = s.callAPI(t, method, c.path+"?"+url.Values{field: {value}}.Encode(), "")
				case c.as == "api":
					status = s.callAPI(t, method, c.path, apiBody(c.base, field, value))
				default:
					form := withValue(c.base, field, value)
					status = s.browsers[c.as].post(c.path, form).StatusCode
				}
				statuses[r] = append(statuses[r], status)
				if status >= 500 {
					t.Errorf("%s with %s in %s: %d", r, what, field, status)
				}
				if after := a.tableHashes(t); !mapsEqual(before, after) {
					t.Fatalf("%s with %s in %s (answered %d) changed %v", r, what, field, status, changed(before, after))
				}
			}
		}
	}
	for _, r := range walked {
		t.Logf("%s answered %v", r, statuses[r])
	}
	if strings.Contains(a.logs.String(), `"level":"ERROR"`) {
		t.Errorf("an error was logged:\n%s", a.logs.String())
	}
}

// callAPI sends one call with the seed's token and returns its status. It
// does not hold the exchange to the OpenAPI document: an empty limit, say,
// breaks the document on purpose and may still be answered.
func (s *walkSeed) callAPI(t *testing.T, method, path, body string) int {
	t.Helper()
	var rd io.Reader = http.NoBody
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.a.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// apiBody is a JSON body of base's members with field set to value; the
// list members are lists. Invalid UTF-8 is written raw, as a client
// that does not encode would send it.
func apiBody(base url.Values, field, value string) string {
	var b bytes.Buffer
	b.WriteByte('{')
	members := withValue(base, field, value)
	keys := make([]string, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k)
		b.Write(key)
		b.WriteByte(':')
		v := rawJSONString(members.Get(k))
		if k == "customer_emails" || k == "user_emails" {
			v = "[" + v + "]"
		}
		b.WriteString(v)
	}
	b.WriteByte('}')
	return b.String()
}

// rawJSONString quotes s, escaping what JSON requires but leaving bytes
// that are not UTF-8 as they are (json.Marshal would replace them).
func rawJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func changed(before, after map[string]string) []string {
	var out []string
	for k := range after {
		if before[k] != after[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// TestPageQueriesRefuseBadInputWithoutHarm does for the pages that read a
// query what TestEveryRouteRefusesBadInputWithoutHarm does for forms: each
// field of search, the directory's section pages and every Event Log (page
// and export), and a field the landing does not read, gets a NUL, invalid
// UTF-8, 100 KiB, 3,211 characters and
// nothing, from someone who may read the page. Unusable text is refused at
// the edge (422), a query past 8 KiB too (414), nothing is a 5xx, no row
// changes, and no answer carries the 100 KiB back.
func TestPageQueriesRefuseBadInputWithoutHarm(t *testing.T) {
	t.Parallel()
	s := seedForWalk(t)
	a := s.a
	eventFields := []string{"from", "to", "kind", "actor", "cursor"}
	pageFields := []struct {
		as, path string
		fields   []string
	}{
		{"ada", paths.Search, []string{"q", "page"}},
		{"ada", paths.CLC, []string{"q"}},
		{"ada", paths.DirectorySectionPage(string(account.SectionCreated)), []string{"q", "page", "after", "before"}},
		{"ada", paths.DirectorySectionPage(string(account.SectionAccess)), []string{"q", "page", "after", "before"}},
		{"ada", paths.AccountEvents(s.northID), eventFields},
		{"ada", paths.AccountEventsExport(s.northID), eventFields},
		{"ada", paths.RequestEvents(s.pending), eventFields},
		{"ada", paths.RequestEventsExport(s.pending), eventFields},
		{"olga", paths.OpsEvents, eventFields},
		{"olga", paths.OpsEventsExport, eventFields},
	}
	before := a.tableHashes(t)
	for _, pf := range pageFields {
		for _, field := range pf.fields {
			for what, value := range badValues() {
				p := s.browsers[pf.as].get(pf.path + "?" + url.Values{field: {value}}.Encode())
				switch {
				case p.StatusCode >= 500:
					t.Errorf("%s with %s in %s: %d", pf.path, what, field, p.StatusCode)
				case (what == "NUL" || what == "invalid UTF-8") && p.StatusCode != http.StatusUnprocessableEntity:
					t.Errorf("%s with %s in %s: %d, want 422", pf.path, what, field, p.StatusCode)
				case what == "100 KiB" && p.StatusCode != http.StatusRequestURITooLong:
					t.Errorf("%s with %s in %s: %d, want 414", pf.path, what, field, p.StatusCode)
				case len(p.Body) > 64<<10 && what == "100 KiB":
					t.Errorf("%s with %s in %s answered %d bytes: the value came back", pf.path, what, field, len(p.Body))
				}
				if after := a.tableHashes(t); !mapsEqual(before, after) {
					t.Fatalf("%s with %s in %s (answered %d) changed %v", pf.path, what, field, p.StatusCode, changed(before, after))
				}
			}
		}
	}
}
