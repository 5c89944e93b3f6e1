package server_test

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"golang.org/x/text/language"

	"github.com/clc-portal/clc/internal/paths"
)

// TestEveryPageIsAccessible opens every page, signed out and in, as a
// partner, a user with no role and an operator, with its dialogs open and
// its refusals (the 422 re-renders, 403 and 404) shown, in every language
// the catalog has, and runs axe-core on each. A new page adds a line here
// (or calls wantAccessible from its own browser test).
func TestEveryPageIsAccessible(t *testing.T) {
	t.Parallel()
	// The languages' tours are independent (each its own database, server
	// and browser context) and run side by side.
	for _, lang := range languageTags(t) {
		t.Run(lang.String(), func(t *testing.T) { t.Parallel(); tourPages(t, lang) })
	}
}

func tourPages(t *testing.T, lang language.Tag) {
	r := newRequested(t) // Globex, waiting on hank@ and cfo@globex.example
	r.user("ops@clc.example", "Olga Operator", true)
	r.user("nils@partner.example", "Nils Newcomer", false)
	r.user("peter@initech.example", "Peter Gibbons", false)
	initech := r.account("Initech", "initech.example", "peter@initech.example")
	r.virtualAccount(initech, "Engineering")
	hank, cfo := r.link(t, "hank@globex.example"), r.link(t, "cfo@globex.example")
	submit(t, r.app, r.partner, formFor("Initrode", "initrode.example", "bill@initrode.example"))
	bill := r.link(t, "bill@initrode.example")
	// A request whose second approver is outside its domain: it awaits
	// Cisco review on the partner's page and in the operators' queue.
	umbrella := submit(t, r.app, r.partner, formFor("Umbrella", "umbrella.example", "alice@umbrella.example, boss@mailbox.example")).String()
	// A withdrawn request, which its partner may request again.
	hooli := submit(t, r.app, r.partner, formFor("Hooli", "hooli.example", "gavin@hooli.example"))
	wantRedirect(t, r.partner.post("/clc/requests/"+hooli.String()+"/withdraw", nil), "/clc/requests/"+hooli.String())
	// One email failed for good, so the operators' page offers Retry.
	if _, err := r.db.Pool.Exec(context.Background(),
		`UPDATE outbox SET state = 'failed', attempts = 1, last_error = '550 no such user' WHERE id = (SELECT min(id) FROM outbox)`); err != nil {
		t.Fatal(err)
	}
	globex := r.id.String()
	b := openTab(t, r.app, lang)
	check := func(path, where string) {
		t.Helper()
		b.visit(path)
		b.axe(where)
	}
	// submitForm sends the form around sel's field as the page's own
	// button would, after setting the field, and waits for what comes back.
	submitForm := func(sel, value, wait, where string) {
		t.Helper()
		b.do(chromedp.Evaluate[chromedp.Void](`(() => { const f = document.querySelector(` + jsString(sel) + `); f.value = ` + jsString(value) + `; f.form.requestSubmit(f.form.querySelector("button[value=review]") || f.form.querySelector("[type=submit]")); })()`))
		b.waitFor(wait)
		b.axe(where)
	}

	// Signed out.
	check("/", "home")
	check("/login", "log in")
	submitForm("#password", "wrong", "#login-error", "log in refused")
	check("/no-such-page", "not found")
	check("/pending/not-a-token", "unknown link")
	check(hank, "pending request")
	for _, d := range []string{"forward-dialog", "deny-dialog"} {
		b.do(chromedp.Click(chromedp.CSS(`[data-dialog="`+d+`"]`)), chromedp.WaitVisible(chromedp.CSS("#"+d+" form")))
		b.axe(d)
		b.do(chromedp.Click(chromedp.CSS(`#`+d+` button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#`+d+` .field-error`)))
		b.axe(d + " refused")
		b.key("\u001b")
	}
	// Without script, Forward and Deny Request lead to their forms' own pages.
	noScript := func(off bool) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tgt, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: off})
			return chromedp.Void{}, err
		}
	}
	b.do(noScript(true))
	for _, d := range []string{"forward", "deny"} {
		b.visit(hank)
		b.do(chromedp.Click(chromedp.CSS(`[data-dialog="` + d + `-dialog"]`)))
		// The form's own page has it in main, not in a dialog.
		b.waitFor(`main > form[method=post][action="` + hank + `/` + d + `"]`)
		if b.path() != hank+"/"+d {
			t.Errorf("without script %s leads to %s", d, b.path())
		}
	}
	b.do(noScript(false))
	check(hank+"/forward", "forward page")
	submitForm("#forward_to", "not an address", "#forward_to-error", "forward page refused")
	check(hank+"/deny", "deny page")
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("form[data-require]").removeAttribute("data-require")`))
	submitForm("#reason", " ", "#reason-error", "deny page refused (by the server)")
	b.do(chromedp.Navigate(b.base+bill), chromedp.WaitVisible(chromedp.CSS("h1")),
		chromedp.Click(chromedp.CSS(`main form[method=post] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#request-status")))
	b.axe("approved")
	check(bill, "approved link opened again")
	b.do(chromedp.Navigate(b.base+cfo), chromedp.WaitVisible(chromedp.CSS("h1")))
	submitForm("#forward-dialog input[type=email]", "cto@globex.example", "#request-status, h1", "forwarded")
	setPassword := linkTo(t, r.mailbox(t).find("bill@initrode.example", ""), "/set-password/")
	check(setPassword, "set password")
	submitForm("#password", "short", ".field-error, [role=alert]", "set password refused")

	// A partner.
	b.signIn("ada@partner.example", "correct horse")
	b.axe("CLC home")
	for _, p := range []struct{ path, where string }{
		{"/clc/directory", "directory"},
		{"/clc/directory/created", "directory section"},
		{"/clc/directory/access?q=glob", "directory section filtered"},
		{"/clc/search", "search"},
		{"/clc/search?q=in", "search refused"},
		{"/clc/search?q=init", "search results"},
		{"/clc/search?q=zzzzzz", "search, nothing found"},
		{"/clc/requests/" + globex, "request status"},
		{"/clc/requests/" + umbrella, "request status, an approver awaiting Cisco review"},
		{"/clc/requests/" + globex + "/events", "a request's event log"},
		{"/clc/accounts/" + globex, "account page"},
		{"/ops/requests", "operators only (403)"},
	} {
		check(p.path, p.where)
	}
	// The request's follow-up: a change of approvers refused and re-rendered.
	b.visit("/clc/requests/" + globex)
	submitForm("#customer_emails", "not an address", "#customer_emails-error", "change approvers refused")
	// Request again: the withdrawn request, its review filled, and the form.
	check("/clc/requests/"+hooli.String(), "withdrawn request, Request again")
	b.do(chromedp.Click(chromedp.CSS("a#request-again")))
	b.waitFor("#renewal-note")
	b.axe("request again, review")
	b.do(chromedp.Click(chromedp.CSS(`button[value=back]`)))
	b.waitFor("form[action='/clc/accounts/new'] #name")
	b.axe("request again, the form filled")
	// API tokens, with one just created and shown once.
	check("/clc/api-tokens", "API tokens")
	submitForm("#name", "tour script", "#new-token-secret", "API token created")
	// Webhooks: refused, registered (its secret shown once), its deliveries
	// and one delivery's attempts.
	b.visit("/clc/webhooks")
	submitForm("#url", "https://hooks.partner.example/clc", "#event_types-error", "webhook refused")
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#event-type-0").checked = true`))
	submitForm("#url", "https://hooks.partner.example/clc", "#new-webhook-secret", "webhook registered")
	hook := r.count(t, `SELECT max(id) FROM webhook_endpoints`)
	r.db.Exec(t, `INSERT INTO webhook_deliveries (webhook_id, endpoint_id, event_id, event_type, payload, state, attempts, next_attempt_at, give_up_at, created_at)
		SELECT 'msg_tour', $1, max(id), 'account_request.submitted', '{"type":"account_request.submitted"}', 'failed', 1, now(), now(), now() FROM events`, hook)
	r.db.Exec(t, `INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, response_body, duration_ms)
		SELECT max(id), 1, now(), 503, 'upstream unavailable', 42 FROM webhook_deliveries`)
	check(paths.Webhook(int64(hook)), "webhook deliveries")
	check(paths.WebhookDelivery(int64(hook), int64(r.count(t, `SELECT max(id) FROM webhook_deliveries`))), "webhook delivery with Redeliver")
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	check("/clc/directory", "directory on a phone")
	check(hank, "pending request on a phone")
	b.do(chromedp.EmulateViewport(1280, 900))
	check("/clc/directory", "directory")
	b.do(chromedp.Click(chromedp.CSS("details.dropdown summary")), chromedp.WaitVisible(chromedp.CSS(".dropdown-menu a")))
	b.axe("directory, Create Smart Account open")
	check("/clc/accounts/new", "request form")
	submitForm("#name", "", "#name-error", "request form refused")
	b.do(chromedp.SetValue(chromedp.CSS("#name"), "Acme"), chromedp.SetValue(chromedp.CSS("#domain"), "acme.example"),
		chromedp.SetValue(chromedp.CSS("#note_to_approver"), "Our customer."))
	submitForm("#customer_emails", "wile@acme.example", "form[action='/clc/accounts/new/submit']", "review")
	b.visit("/clc/search?q=initech")
	b.do(chromedp.Click(chromedp.CSS(`main a[href*="/request-access"]`)))
	b.waitFor("textarea#reason")
	b.axe("request access")
	submitForm("#reason", "", "#reason-error", "request access refused")
	// The second step: the Virtual Accounts of the scope, refused with none chosen.
	b.do(chromedp.Click(chromedp.CSS(`input[name=scope][value=virtual]`)))
	submitForm("#reason", "Our customer Initech asked us to manage their licences.", "fieldset#virtual_accounts", "request access, Available Virtual Accounts")
	b.do(chromedp.Click(chromedp.CSS(`button[name=step][value=submit]`)))
	b.waitFor("#virtual_accounts-error")
	b.axe("request access, no Virtual Account chosen")
	b.do(chromedp.Click(chromedp.CSS(`input[name=va]`)), chromedp.Click(chromedp.CSS(`button[name=step][value=submit]`)))
	b.waitFor(".flash")
	b.axe("directory after asking for access")
	// The request, as its requester follows it, with its conversation.
	b.do(chromedp.Click(chromedp.CSS(`#section-requested a[href*="/access-requests/"]`)))
	b.waitFor("#message-form")
	b.axe("access request, the requester's page")
	submitForm("#message", " ", "#message-error", "access request, the requester's message refused")
	b.do(chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)))

	// A Smart Account's Administrator: Account Management.
	b.signIn("peter@initech.example", "correct horse")
	b.axe("CLC home with Account Management")
	accountPath := "/clc/accounts/" + initech.ID.String()
	check("/clc/manage/access-requests", "pending access requests")
	check("/clc/manage", "users and settings")
	check(accountPath+"/access-requests", "an account's access requests, to decide several")
	b.do(chromedp.Click(chromedp.CSS(`#bulk button[value=approve]`)))
	b.waitFor("#requests-error")
	b.axe("several access requests, none selected")
	b.do(chromedp.Click(chromedp.CSS(`#access-requests a[href*="/access-requests/"]`)))
	b.waitFor("#decline-form")
	b.axe("access request")
	submitForm("#message", "", "#message-error", "access request, the administrator's message refused")
	b.do(chromedp.Click(chromedp.CSS(`#decline-form a.button`)))
	b.waitFor("#approve-form")
	b.axe("access request, approval step")
	b.do(chromedp.Click(chromedp.CSS(`#approve-form input[name=va]:checked`)), chromedp.Click(chromedp.CSS(`#approve-form button[type=submit]`)))
	b.waitFor("#virtual_accounts-error")
	b.axe("access request, approval refused")
	check(accountPath, "account page, Manage Virtual Accounts")
	submitForm("#va-name-new", "engineering", "#va-name-new-error", "create a Virtual Account refused")
	check(accountPath+"/users", "users")
	submitForm("#email", "not an address", "#email-error", "add a user refused")
	// Add users from CSV: sent with no file, then a file of good and bad
	// rows, whose preview is shown (and not applied: Nils has no role yet).
	b.visit(accountPath + "/users")
	b.do(chromedp.Click(chromedp.CSS("#import-users button[type=submit]")))
	b.waitFor("#file-error")
	b.axe("add users from CSV refused")
	chooseFile(b, "#file", "users.csv", "\ufeffemail;role;virtual account\nnils@partner.example;viewer;Engineering\nghost@initech.example;user;\npeter@initech.example;approver;Engineering\n")
	b.do(chromedp.Click(chromedp.CSS("#import-users button[type=submit]")))
	b.waitFor("#import-rows")
	b.axe("add users from CSV, preview")
	check(accountPath+"/automation", "automation settings")
	check(accountPath+"/events", "an account's event log")
	check(accountPath+"/events?from=not-a-date", "an account's event log, filter refused")
	b.do(chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)))

	// Someone with no role yet.
	b.signIn("nils@partner.example", "correct horse")
	b.axe("no access yet")
	// Two-factor sign-in, off, then being set up and refused.
	check("/settings/two-factor", "two-factor settings")
	check("/two-factor/setup", "two-factor setup")
	submitForm("#code", "000000", "#code-error", "two-factor setup refused")
	b.do(chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)))

	// An operator.
	b.signIn("ops@clc.example", "correct horse")
	check("/ops/requests", "operator's pending requests")
	submitForm(`form[action$="/deny"] textarea`, "", ".ops-actions .field-error, [role=alert]", "operator's deny refused")
	check("/ops/emails", "outgoing email")
	check("/ops/events", "operators' event log")
	check("/ops/sso", "single sign-on domains")
	submitForm("#domain", "not a domain", "#domain-error", "single sign-on domain refused")
}
