package server_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/server"
)

// stateHashes digests every row the portal's changes write, but not the
// events themselves nor the bookkeeping that moves on every request:
// sessions, the sign-in and API rate counters, an API token's last use, an
// authenticator's replay and failure counters, and when an approver's page
// was first seen: like a token's last use it is a mark the page's own
// script leaves on the link once, not a change anyone made (the
// follow-through reads it to tell the partner nobody opened the request,
// and that notice is recorded as an event of its own). A users file's
// preview is left out too: like a request's review step it changes nothing
// yet, and its Apply records an event for each role it gives.
func (a *app) stateHashes(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := a.db.Pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'
		AND tablename NOT IN ('events', 'sessions', 'login_throttle', 'api_rate_windows', 'api_user_rate_windows', 'schema_version', 'user_imports')
		ORDER BY tablename`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	tables, err := collectStrings(rows)
	if err != nil {
		t.Fatal(err)
	}
	columns := map[string]string{
		"api_tokens":     "(x.id, x.user_id, x.name, x.token_hash, x.created_at, x.revoked_at)",
		"user_totp":      "(x.user_id, x.secret, x.enabled_at)",
		"approval_links": "(to_jsonb(x) - 'opened_at')",
	}
	out := map[string]string{}
	for _, table := range tables {
		row := "x"
		if c, ok := columns[table]; ok {
			row = c
		}
		var h string
		if err := a.db.Pool.QueryRow(ctx, `SELECT md5(coalesce(string_agg(`+row+`::text, E'\n' ORDER BY `+row+`::text), '')) FROM `+table+` x`).Scan(&h); err != nil {
			t.Fatal(err)
		}
		out[table] = h
	}
	return out
}

func collectStrings(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close()
}) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// eventStep is one POST that succeeds, as whom, with what.
type eventStep struct {
	route string // "POST pattern", as the route table names it
	do    func() int
	// same: the step succeeds without changing a stored row (a review
	// step, a choice kept in the session).
	same bool
	// signIn: the step changes only the session, and is an event itself.
	signIn bool
	// on: the portal the step is sent to, when not the walk's (single
	// sign-on needs one with an OpenID provider).
	on *app
}

// TestEveryPOSTThatChangesARowRecordsAnEvent walks the route table and
// sends each POST a request that succeeds; whenever a stored row changed,
// at least one event was recorded with it. A POST route missing from the
// walk fails the test: a new form must show it leaves a trail.
func TestEveryPOSTThatChangesARowRecordsAnEvent(t *testing.T) {
	s := seedForWalk(t)
	a := s.a
	ctx := context.Background()
	ada := s.browsers["ada"]
	pending, north := s.pending.String(), s.northID.String()
	form := func(name, domain, approvers string) url.Values {
		f := validForm()
		f.Set("name", name)
		f.Set("domain", domain)
		f.Set("customer_emails", approvers)
		f.Set("user_emails", "")
		return f
	}
	opsApprove := submit(t, a, ada, form("Acme", "acme.example", "boss@acme.example"))
	opsDeny := submit(t, a, ada, form("Soylent", "soylent.example", "boss@soylent.example"))
	withdraw := submit(t, a, ada, form("Tyrell", "tyrell.example", "boss@tyrell.example"))
	apiWithdraw := submit(t, a, ada, form("Wonka", "wonka.example", "boss@wonka.example"))
	submit(t, a, ada, form("Hooli", "hooli.example", "boss@hooli.example"))
	// Access requests to Northwind, which ada administers, to decide.
	in := account.AccessRequestInput{Scope: string(account.ScopeAccount), Role: string(account.RoleUser), Reason: "Licences."}
	var accessIDs []int64
	for _, email := range []string{"dave@partner.example", "erin@partner.example", "fred@partner.example"} {
		u := a.user(email, email, false)
		ar, err := a.svc.RequestAccess(ctx, u, s.northID, "", in)
		if err != nil {
			t.Fatal(err)
		}
		accessIDs = append(accessIDs, ar.ID)
	}
	a.user("gina@partner.example", "Gina", false)
	// A failed email for an operator to retry.
	if _, err := a.db.Pool.Exec(ctx, `UPDATE outbox SET state = 'failed', last_error = '550 no such user' WHERE id = $1`, s.emailID); err != nil {
		t.Fatal(err)
	}
	// A staff member yet to set up an authenticator, a partner who has one.
	if _, err := a.svc.AddUser(ctx, account.NewUser{Email: "sam@cisco.example", Name: "Sam", Password: "correct horse", Staff: true}); err != nil {
		t.Fatal(err)
	}
	sam := a.browser()
	wantRedirect(t, sam.login("sam@cisco.example", "correct horse"), "/two-factor/setup")
	setup := sam.get("/two-factor/setup")
	samSecret := strings.ReplaceAll(text(setup, "code.secret"), " ", "")
	pat := a.user("pat@partner.example", "Pat", false)
	a.enrollTOTP(pat)
	patB := a.signedIn("pat@partner.example")
	forwardToken := ""
	// A request nobody answered, flagged for operators, under an account
	// whose administrator an operator may assign it to.
	a.user("tony@stark.example", "Tony", false)
	a.account("Stark", "stark.example", "tony@stark.example")
	flaggedID := submit(t, a, ada, form("Stark EMEA", "emea.stark.example", "pepper@emea.stark.example"))
	a.db.Exec(t, `INSERT INTO request_followups (request_id, step, at)
		SELECT id, $2, now() FROM account_requests WHERE smart_account_id = $1`, flaggedID, account.StepNoResponse)
	flagged := flaggedID.String()
	// A second failed delivery of ada's endpoint, for the API to redeliver.
	a.db.Exec(t, `INSERT INTO webhook_deliveries (webhook_id, endpoint_id, event_id, event_type, payload, state, attempts, next_attempt_at, give_up_at, created_at)
		SELECT 'msg_walk_api', $1, max(id), 'account_request.submitted', '{}', 'failed', 3, now(), now(), now() FROM events e
		WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = $1 AND d.event_id = e.id)`, s.hookID)
	apiDelivery := strconv.Itoa(a.count(t, `SELECT max(id) FROM webhook_deliveries`))
	// A portal whose Log In offers single sign-on through a real provider.
	ssoApp, _ := newSSOApp(t)
	hank := func() string { return "/pending/" + a.secret(t, "approval_request", "hank@globex.example") }

	post := func(b *browser, path string, f url.Values) func() int {
		return func() int { return b.post(path, f).StatusCode }
	}
	v := func(kv ...string) url.Values {
		out := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	api := func(method, path, body string) func() int {
		return func() int { return s.callAPI(t, method, path, body) }
	}
	steps := []eventStep{
		{route: "POST /language", do: post(s.browsers["anon"], "/language", v("lang", "fr")), same: true},
		{route: "POST /language", do: post(ada, "/language", v("lang", "de"))},
		{route: "POST /login", signIn: true, same: true, do: post(a.browser(), "/login", v("email", "ada@partner.example", "password", "correct horse"))},
		{route: "POST /login/code", signIn: true, same: true, do: func() int {
			return s.browsers["olga-code"].post("/login/code", v("code", a.totpCode("olga@cisco.example"))).StatusCode
		}},
		{route: "POST /two-factor/setup", do: func() int {
			code, err := totp.GenerateCode(samSecret, a.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			return sam.post("/two-factor/setup", v("code", code)).StatusCode
		}},
		{route: "POST /settings/two-factor/disable", do: func() int {
			return patB.post("/settings/two-factor/disable", v("code", a.totpCode("pat@partner.example"))).StatusCode
		}},
		{route: "POST /set-password/{token}", do: post(s.browsers["anon"], "/set-password/"+s.setPass, v("password", "a long enough passphrase", "confirm", "a long enough passphrase"))},
		{route: "POST /clc/accounts/new", do: post(ada, "/clc/accounts/new", withValue(form("Initrode", "initrode.example", "boss@initrode.example"), "action", "review")), same: true},
		{route: "POST /clc/accounts/new/submit", do: post(ada, "/clc/accounts/new/submit", withValue(form("Initrode", "initrode.example", "boss@initrode.example"), "submission_key", "event-walk-key-0001"))},
		{route: "POST /clc/requests/{accountID}/resend", do: post(ada, "/clc/requests/"+pending+"/resend", v("approver", "hank@globex.example"))},
		{route: "POST /clc/requests/{accountID}/approvers", do: post(ada, "/clc/requests/"+pending+"/approvers", v("customer_emails", "hank@globex.example cfo@globex.example peter@gmail.example"))},
		{route: "POST /ops/requests/{accountID}/allow", do: post(s.browsers["olga"], "/ops/requests/"+pending+"/allow", v("approver", "peter@gmail.example"))},
		// Seeing the page marks the link only (see stateHashes).
		{route: "POST /pending/{token}/seen", same: true, do: func() int {
			st := s.browsers["anon"].post(hank()+"/seen", nil).StatusCode
			if a.count(t, `SELECT count(*) FROM approval_links WHERE email = 'hank@globex.example' AND opened_at IS NOT NULL`) == 0 {
				t.Error("/pending/{token}/seen marked no link opened")
			}
			return st
		}},
		{route: "POST /pending/{token}/messages", do: func() int {
			return s.browsers["anon"].post(hank()+"/messages", v("message", "Which team will use this account?")).StatusCode
		}},
		{route: "POST /pending/{token}/forward", do: func() int {
			st := s.browsers["anon"].post("/pending/"+a.secret(t, "approval_request", "hank@globex.example")+"/forward", v("forward_to", "it.lead@globex.example")).StatusCode
			forwardToken = a.secret(t, "approval_request", "it.lead@globex.example")
			return st
		}},
		{route: "POST /pending/{token}/approve", do: func() int {
			return s.browsers["anon"].post("/pending/"+forwardToken+"/approve", nil).StatusCode
		}},
		{route: "POST /pending/{token}/deny", do: func() int {
			return s.browsers["anon"].post("/pending/"+a.secret(t, "approval_request", "boss@hooli.example")+"/deny", v("reason", "Not now.")).StatusCode
		}},
		{route: "POST /ops/requests/{accountID}/approve", do: post(s.browsers["olga"], "/ops/requests/"+opsApprove.String()+"/approve", v("admin", "boss@acme.example"))},
		{route: "POST /ops/requests/{accountID}/deny", do: post(s.browsers["olga"], "/ops/requests/"+opsDeny.String()+"/deny", v("reason", "Duplicate."))},
		{route: "POST /clc/requests/{accountID}/withdraw", do: post(ada, "/clc/requests/"+withdraw.String()+"/withdraw", nil)},
		{route: "POST /clc/requests/{accountID}/messages", do: post(ada, "/clc/requests/"+flagged+"/messages", v("message", "Pepper, please approve."))},
		{route: "POST /ops/requests/{accountID}/assign", do: post(s.browsers["olga"], "/ops/requests/"+flagged+"/assign", nil)},
		{route: "POST /ops/emails/{id}/retry", do: post(s.browsers["olga"], "/ops/emails/"+s.emailID+"/retry", nil)},
		{route: "POST /clc/api-tokens", do: post(ada, "/clc/api-tokens", v("name", "deploy"))},
		{route: "POST /clc/api-tokens/{id}/revoke", do: func() int {
			id := a.count(t, `SELECT max(id) FROM api_tokens`)
			return ada.post("/clc/api-tokens/"+strconv.Itoa(id)+"/revoke", nil).StatusCode
		}},
		{route: "POST /clc/webhooks", do: post(ada, "/clc/webhooks", v("url", "https://hooks.partner.example/form", "event_types", "account_request.submitted"))},
		{route: "POST /api/v1/webhooks", do: api(http.MethodPost, "/api/v1/webhooks",
			`{"url":"https://hooks.partner.example/api","event_types":["account_request.submitted"]}`)},
		{route: "POST /clc/webhooks/{id}/rotate", do: post(ada, "/clc/webhooks/"+s.hookID+"/rotate", nil)},
		{route: "POST /api/v1/webhooks/{id}/rotate-secret", do: api(http.MethodPost, "/api/v1/webhooks/"+s.hookID+"/rotate-secret", "")},
		{route: "POST /clc/webhooks/{id}/deliveries/{delivery}/redeliver", do: post(ada, "/clc/webhooks/"+s.hookID+"/deliveries/"+s.delivery+"/redeliver", nil)},
		{route: "POST /api/v1/webhooks/{id}/deliveries/{delivery}/redeliver", do: api(http.MethodPost,
			"/api/v1/webhooks/"+s.hookID+"/deliveries/"+apiDelivery+"/redeliver", "")},
		{route: "POST /clc/webhooks/{id}/delete", do: post(ada, "/clc/webhooks/"+s.hookID+"/delete", nil)},
		{route: "POST /clc/accounts/{accountID}/virtual-accounts", do: post(ada, "/clc/accounts/"+north+"/virtual-accounts", v("name", "APAC"))},
		{route: "POST /clc/accounts/{accountID}/virtual-accounts/{vaID}/rename", do: post(ada,
			"/clc/accounts/"+north+"/virtual-accounts/"+s.emeaID+"/rename", v("name", "Europe"))},
		{route: "POST /clc/accounts/{accountID}/virtual-accounts/{vaID}/delete", do: post(ada,
			"/clc/accounts/"+north+"/virtual-accounts/"+s.emeaID+"/delete", nil)},
		{route: "POST /ops/sso", do: post(s.browsers["olga"], "/ops/sso", v("domain", "sso.example"))},
		{route: "POST /ops/sso/release", do: post(s.browsers["olga"], "/ops/sso/release", v("domain", "sso.example"))},
		// Starting a sign-in keeps its state in the session only.
		{route: "POST /login/sso", on: ssoApp, same: true, do: func() int {
			return ssoApp.browser().post("/login/sso", nil).StatusCode
		}},
		{route: "POST /clc/accounts/{accountID}/request-access", do: post(a.signedIn("gina@partner.example"), "/clc/accounts/"+north+"/request-access",
			v("scope", "account", "role", "viewer", "reason", "Reports.", "step", "submit"))},
		{route: "POST /clc/accounts/{accountID}/access-requests/bulk", do: post(ada, "/clc/accounts/"+north+"/access-requests/bulk",
			v("request", strconv.FormatInt(accessIDs[0], 10), "decision", "decline", "reason", "No."))},
		{route: "POST /clc/accounts/{accountID}/access-requests/{request}/approve", do: post(ada,
			"/clc/accounts/"+north+"/access-requests/"+strconv.FormatInt(accessIDs[1], 10)+"/approve", v("scope", "account", "role", "user"))},
		{route: "POST /clc/accounts/{accountID}/access-requests/{request}/decline", do: post(ada,
			"/clc/accounts/"+north+"/access-requests/"+strconv.FormatInt(accessIDs[2], 10)+"/decline", v("reason", "No."))},
		{route: "POST /clc/accounts/{accountID}/access-requests/{request}/messages", do: post(ada,
			"/clc/accounts/"+north+"/access-requests/"+strconv.FormatInt(s.access, 10)+"/messages", v("message", "Which team are you in?"))},
		{route: "POST /clc/accounts/{accountID}/users", do: post(ada, "/clc/accounts/"+north+"/users", v("email", "bob@partner.example", "role", "viewer"))},
		{route: "POST /clc/accounts/{accountID}/users/role", do: func() int {
			bob := a.count(t, `SELECT id FROM users WHERE email = 'bob@partner.example'`)
			return ada.post("/clc/accounts/"+north+"/users/role", v("user", strconv.Itoa(bob), "role", "user")).StatusCode
		}},
		{route: "POST /clc/accounts/{accountID}/users/remove", do: func() int {
			bob := a.count(t, `SELECT id FROM users WHERE email = 'bob@partner.example'`)
			return ada.post("/clc/accounts/"+north+"/users/remove", v("user", strconv.Itoa(bob))).StatusCode
		}},
		{route: "POST /clc/accounts/{accountID}/users/import", same: true, do: func() int {
			return ada.upload("/clc/accounts/"+north+"/users/import", "users.csv", []byte("gina@partner.example,viewer\n"), false).StatusCode
		}},
		{route: "POST /clc/accounts/{accountID}/users/import/{import}/apply", do: func() int {
			id := a.str(t, `SELECT id FROM user_imports WHERE applied_at IS NULL`)
			return ada.post("/clc/accounts/"+north+"/users/import/"+id+"/apply", nil).StatusCode
		}},
		{route: "POST /clc/accounts/{accountID}/automation", do: post(ada, "/clc/accounts/"+north+"/automation",
			v("same_domain", "approve", "same_domain_role", "viewer", "other_domain", "decline"))},
		{route: "POST /api/v1/account-requests", do: api(http.MethodPost, "/api/v1/account-requests",
			`{"name":"Massive Dynamic","domain":"massive.example","note_to_approver":"Our customer.","customer_emails":["boss@massive.example"]}`)},
		{route: "POST /api/v1/account-requests/{accountID}/withdraw", do: api(http.MethodPost, "/api/v1/account-requests/"+apiWithdraw.String()+"/withdraw", "")},
		{route: "POST /logout", signIn: true, same: true, do: post(ada, "/logout", nil)},
	}

	routes, err := server.Routes(a.server)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if strings.HasPrefix(r, "POST ") && !slices.ContainsFunc(steps, func(st eventStep) bool { return st.route == r }) {
			t.Errorf("%s is not walked: add a step that succeeds", r)
		}
	}
	for _, st := range steps {
		if !slices.Contains(routes, st.route) {
			t.Errorf("the walk names %s, which the router does not serve", st.route)
		}
	}
	for _, st := range steps {
		on := a
		if st.on != nil {
			on = st.on
		}
		before, events := on.stateHashes(t), on.count(t, `SELECT count(*) FROM events`)
		status := st.do()
		after, recorded := on.stateHashes(t), on.count(t, `SELECT count(*) FROM events`)-events
		if status >= 400 {
			t.Errorf("%s answered %d: the step must succeed", st.route, status)
			continue
		}
		diff := changed(before, after)
		switch {
		case st.same && len(diff) > 0:
			t.Errorf("%s changed %v", st.route, diff)
		case st.signIn && recorded != 1:
			t.Errorf("%s recorded %d events, want 1", st.route, recorded)
		case !st.same && len(diff) == 0:
			t.Errorf("%s (answered %d) changed nothing: the step must do what the route is for", st.route, status)
		case (len(diff) > 0 || st.signIn) && recorded == 0:
			t.Errorf("%s changed %v and recorded no event", st.route, diff)
		default:
			t.Logf("%s: %d; changed %v; %d events", st.route, status, diff, recorded)
		}
	}
}
