package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/account"
)

// The customer's consent, through the real router: each test is a finding
// of the review that tried main as an attacker would, and failed on it.

// A partner named a mailbox it controls as the approver, forwarded that
// link to its own work address and approved from there, becoming the
// customer's Administrator. Now the outside address waits for an operator
// and no link goes to it; a forward reaches only the customer's domain.
func TestPartnerCannotApproveItsOwnRequest(t *testing.T) {
	t.Parallel()
	a, b := requester(t) // ada@partner.example
	id := submit(t, a, b, formFor("Globex Corporation", "globex.example", "ada.home@mailbox.example, hank@globex.example"))

	// The outside address holds no link and was sent nothing.
	if n := a.count(t, `SELECT count(*) FROM approval_links WHERE email = 'ada.home@mailbox.example'`); n != 0 {
		t.Fatalf("the outside address holds %d links", n)
	}
	if n := a.count(t, `SELECT count(*) FROM outbox WHERE to_address = 'ada.home@mailbox.example'`); n != 0 {
		t.Fatalf("the outside address was emailed %d times", n)
	}
	// The partner sees the request awaiting Cisco review.
	st := b.get("/clc/requests/" + id.String())
	if !strings.Contains(text(st, "main"), "Awaiting Cisco review") || !strings.Contains(text(st, "main"), "ada.home@mailbox.example") {
		t.Errorf("the request page does not say what awaits review: %s", text(st, "main"))
	}

	// The customer's approver cannot forward to the partner, nor outside.
	hank := a.link(t, "hank@globex.example")
	approver := a.browser()
	for to, phrase := range map[string]string{
		"ada@partner.example":       "partner.example",
		"ada@sales.partner.example": "partner.example",
		"ada.home@mailbox.example":  "globex.example",
		"eve@notglobex.example":     "globex.example",
	} {
		p := approver.post(hank+"/forward", url.Values{"forward_to": {to}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if msg := text(p, "#forward_to-error"); !strings.Contains(msg, phrase) {
			t.Errorf("forward to %s: message %q does not say where it may go (%s)", to, msg, phrase)
		}
	}
	if n := a.count(t, `SELECT count(*) FROM approval_links WHERE email NOT LIKE '%@globex.example'`); n != 0 {
		t.Errorf("%d links outside the customer's domain after refused forwards", n)
	}
	// A colleague at the customer's domain is fine.
	wantRedirect(t, approver.post(hank+"/forward", url.Values{"forward_to": {"cfo@emea.globex.example"}}), hank)

	// Change approvers holds an outside address the same way, and still
	// refuses the partner's own domain.
	p := b.post("/clc/requests/"+id.String()+"/approvers", url.Values{"customer_emails": {"cfo@emea.globex.example ada@partner.example"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantRedirect(t, b.post("/clc/requests/"+id.String()+"/approvers",
		url.Values{"customer_emails": {"cfo@emea.globex.example ada.work@other.example"}}), "/clc/requests/"+id.String())
	if n := a.count(t, `SELECT count(*) FROM approval_links WHERE email = 'ada.work@other.example'`); n != 0 {
		t.Errorf("a changed-in outside address got a link")
	}
	if n := a.count(t, `SELECT count(*) FROM held_approvers WHERE email = 'ada.work@other.example'`); n != 1 {
		t.Errorf("a changed-in outside address is not held for review")
	}
	if n := a.count(t, `SELECT count(*) FROM held_approvers WHERE email = 'ada.home@mailbox.example'`); n != 0 {
		t.Errorf("an outside address the change dropped is still held")
	}
}

// An outside approver gets a link only when an operator allows it, and the
// history says which operator did.
func TestOutsideApproversWaitForAnOperator(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	id := submit(t, a, b, formFor("Initech", "initech.example", "bill@initech.example, peter@gmail.example"))
	a.user("olga@clc.example", "Olga Operator", true)
	ops := a.signedIn("olga@clc.example")
	p := ops.get("/ops/requests")
	wantStatus(t, p, http.StatusOK)
	section := "section#" + id.String()
	if held := text(p, section+" .held-approvers"); !strings.Contains(held, "peter@gmail.example") || strings.Contains(held, "bill@initech.example") {
		t.Fatalf("the queue does not show the held approver alone: %q", held)
	}
	if note := text(p, section); !strings.Contains(note, "Globex is our customer since 2019.") {
		t.Errorf("the queue does not show the Note to Cisco Approver: %s", note)
	}
	// A partner cannot allow its own outside address.
	wantStatus(t, b.post("/ops/requests/"+id.String()+"/allow", url.Values{"approver": {"peter@gmail.example"}}), http.StatusForbidden)
	// Nor can an operator allow an address the request never named.
	wantStatus(t, ops.post("/ops/requests/"+id.String()+"/allow", url.Values{"approver": {"eve@evil.example"}}), http.StatusUnprocessableEntity)
	if n := a.count(t, `SELECT count(*) FROM approval_links WHERE email IN ('peter@gmail.example', 'eve@evil.example')`); n != 0 {
		t.Fatalf("%d links before any operator allowed them", n)
	}

	wantRedirect(t, ops.post("/ops/requests/"+id.String()+"/allow", url.Values{"approver": {"peter@gmail.example"}}), "/ops/requests")
	if n := a.count(t, `SELECT count(*) FROM approval_links WHERE email = 'peter@gmail.example' AND revoked_at IS NULL`); n != 1 {
		t.Errorf("the allowed address holds %d live links", n)
	}
	if a.secret(t, "approval_request", "peter@gmail.example") == "" {
		t.Error("the allowed address was not emailed its link")
	}
	if who := a.str(t, `SELECT actor FROM events WHERE kind = 'approver_allowed' AND smart_account_id = $1`, id); who != "olga@clc.example" {
		t.Errorf("the history says %q allowed it", who)
	}
	// Allowing twice changes nothing.
	wantStatus(t, ops.post("/ops/requests/"+id.String()+"/allow", url.Values{"approver": {"peter@gmail.example"}}), http.StatusUnprocessableEntity)
}

// Users the partner adds were given a role the approver never saw. Now the
// page and the email list them, each ticked, and only those still ticked
// get access; a crafted form cannot add anyone else.
func TestApproverKeepsOnlyTheUsersTheyTick(t *testing.T) {
	t.Parallel()
	r := newRequested(t) // user emails it@ and ops@globex.example
	hank := r.link(t, "hank@globex.example")
	var approval queued
	for _, q := range r.outbox(t) {
		if q.Kind == "approval_request" && q.To == "hank@globex.example" {
			approval = q
		}
	}
	if strings.Join(approval.Data.Users, ",") != "it@globex.example,ops@globex.example" {
		t.Errorf("the approval email names users %v", approval.Data.Users)
	}
	mb := r.mailbox(t)
	if body := mb.find("hank@globex.example", "approve").Text; !strings.Contains(body, "it@globex.example") || !strings.Contains(body, "Users to be added") {
		t.Errorf("the delivered approval email does not list the users to add:\n%s", body)
	}
	approver := r.browser()
	page := approver.get(hank)
	if boxes := texts(page, "fieldset.users-to-add label"); strings.Join(boxes, ",") != "it@globex.example,ops@globex.example" {
		t.Errorf("the page lists users %v", boxes)
	}
	if n := page.Doc.Find(`fieldset.users-to-add input[type="checkbox"][checked]`).Length(); n != 2 {
		t.Errorf("%d boxes ticked, want 2", n)
	}
	// ops@ left unticked, and a crafted extra box for someone else.
	wantRedirect(t, approver.post(hank+"/approve", url.Values{"add_user": {"it@globex.example", "eve@evil.example"}}), hank)
	members := r.str(t, `SELECT string_agg(u.email, ',' ORDER BY u.email) FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.smart_account_id = $1`, r.id)
	if members != "hank@globex.example,it@globex.example" {
		t.Errorf("members %s, want hank@ and it@ only", members)
	}
	if n := r.count(t, `SELECT count(*) FROM users WHERE email IN ('ops@globex.example', 'eve@evil.example')`); n != 0 {
		t.Errorf("users were created for addresses the approver did not keep")
	}
	if left := r.str(t, `SELECT params->>'left_out' FROM events WHERE smart_account_id = $1 AND kind = 'approved'`, r.id); !strings.Contains(left, "ops@globex.example") {
		t.Errorf("the history does not name who was left out: %s", left)
	}
	st := r.partner.get("/clc/requests/" + r.id.String())
	if !strings.Contains(text(st, "main"), "ops@globex.example") || !strings.Contains(text(st, "main"), "Users left out by the approver") {
		t.Errorf("the partner's page does not say who was left out")
	}
}

// Swapping an address out and back in through Change approvers sent a
// fresh approval email each time (11 in seconds). Now one address gets the
// first plus 3 a day for one request, whatever causes them.
func TestApprovalEmailsToOneAddressAreCounted(t *testing.T) {
	t.Parallel()
	r := newRequested(t) // hank@ and cfo@globex.example
	path := "/clc/requests/" + r.id.String()
	swap := func(list string) page {
		return r.partner.post(path+"/approvers", url.Values{"customer_emails": {list}})
	}
	for i := 0; i < account.MaxApprovalEmailsPerDay; i++ {
		wantRedirect(t, swap("hank@globex.example"), path)
		wantRedirect(t, swap("hank@globex.example cfo@globex.example"), path)
	}
	p := swap("hank@globex.example")
	wantRedirect(t, p, path)
	p = swap("hank@globex.example cfo@globex.example")
	wantStatus(t, p, http.StatusTooManyRequests)
	if msg := text(p, "#customer_emails-error"); !strings.Contains(msg, "cfo@globex.example") {
		t.Errorf("the refusal does not say whose limit: %q", msg)
	}
	// Resend meets the same count for an address already at its limit.
	wantRedirect(t, swap("hank@globex.example"), path) // nothing to add: allowed
	n := r.count(t, `SELECT count(*) FROM outbox WHERE kind = 'approval_request' AND to_address = 'cfo@globex.example'`)
	if n != 1+account.MaxApprovalEmailsPerDay {
		t.Errorf("cfo@ was sent %d approval emails, want %d", n, 1+account.MaxApprovalEmailsPerDay)
	}
	if !strings.Contains(r.logs.String(), "email limit reached") {
		t.Error("the refusal was not logged as a security event")
	}
}

// Every email a user's actions cause counts against their day.
func TestAUsersEmailsPerDayAreCounted(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	a.svc.SetUserEmailsPerDay(7) // a submission here sends 3: two approvers and the confirmation
	submit(t, a, b, formFor("One", "one.example", "x@one.example, y@one.example"))
	submit(t, a, b, formFor("Two", "two.example", "x@two.example, y@two.example"))
	before := a.count(t, `SELECT count(*) FROM account_requests`)
	p := b.post("/clc/accounts/new/submit", review(t, b, formFor("Three", "three.example", "x@three.example, y@three.example")))
	wantStatus(t, p, http.StatusTooManyRequests)
	if msg := text(p, ".form-error, [role=alert]"); !strings.Contains(msg, "Not sent") {
		t.Errorf("no clear message: %q", msg)
	}
	if after := a.count(t, `SELECT count(*) FROM account_requests`); after != before {
		t.Errorf("a refused submission stored a request")
	}
	if n := a.count(t, `SELECT count(*) FROM smart_accounts WHERE domain = 'three.example'`); n != 0 {
		t.Errorf("a refused submission stored its account")
	}
}

// The Note to Cisco Approver is the partner's word to Cisco: the new
// account's Administrators never read it, in the API or on the page, and
// the partner's view of the request stops at the request.
func TestTheNoteAndTheHistoryStayWithTheirReaders(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	hank := r.link(t, "hank@globex.example")
	wantRedirect(t, approveAsShown(t, r.browser(), hank), hank)
	// hank sets a password and signs in as the new Administrator.
	mb := r.mailbox(t)
	set := linkTo(t, mb.find("hank@globex.example", "Administrator"), "/set-password/")
	admin := r.browser()
	wantRedirect(t, admin.post(set, url.Values{"password": {"correct horse"}, "confirm": {"correct horse"}}), "/clc")

	spec := r.openAPI(t)
	var seen apiRequest
	r.api(t, spec, admin.newToken("hank")).do(http.MethodGet, "/api/v1/account-requests/"+r.id.String(), nil).decode(t, &seen)
	if seen.NoteToApprover != "" {
		t.Errorf("the account's Administrator reads the Note to Cisco Approver: %q", seen.NoteToApprover)
	}
	var own apiRequest
	r.api(t, spec, r.partner.newToken("ada")).do(http.MethodGet, "/api/v1/account-requests/"+r.id.String(), nil).decode(t, &own)
	if own.NoteToApprover == "" {
		t.Error("the partner no longer reads its own note")
	}

	// The customer gives someone a role; the partner's history does not show it.
	r.user("newhire@globex.example", "New Hire", false)
	wantStatus(t, admin.post("/clc/accounts/"+r.id.String()+"/users", url.Values{"email": {"newhire@globex.example"}, "role": {"viewer"}}),
		http.StatusSeeOther)
	if h := text(r.partner.get("/clc/requests/"+r.id.String()), "main"); strings.Contains(h, "newhire@globex.example") {
		t.Error("the partner's request page shows the customer's later role changes")
	}
	if h := text(admin.get("/clc/requests/"+r.id.String()), "main"); !strings.Contains(h, "newhire@globex.example") {
		t.Error("the account's Administrator no longer sees its account's history")
	}
}

// Partners saw the SMTP server's own words (internal relay names and
// addresses); now they see what kind of trouble it was, in their language.
func TestPartnersSeeTheKindOfDeliveryFailureNotTheSMTPText(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	if _, err := r.db.Pool.Exec(t.Context(), `UPDATE outbox SET state = 'failed', attempts = 1,
		last_error = '550 5.1.1 <hank@globex.example> rejected by relay-7.corp.internal [10.2.3.4]'
		WHERE kind = 'approval_request' AND to_address = 'hank@globex.example'`); err != nil {
		t.Fatal(err)
	}
	page := text(r.partner.get("/clc/requests/"+r.id.String()), "main")
	if strings.Contains(page, "relay-7.corp.internal") || strings.Contains(page, "10.2.3.4") {
		t.Errorf("the partner reads the SMTP server's text: %s", page)
	}
	if !strings.Contains(page, "this mailbox does not exist") {
		t.Errorf("the partner is not told what kind of failure it was: %s", page)
	}
}
