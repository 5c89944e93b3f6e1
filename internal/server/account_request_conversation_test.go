package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/jobs"
)

func TestConversationBetweenPartnerAndApprover(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	hank := r.link(t, "hank@globex.example")
	approver := r.browser()

	p := approver.get(hank)
	wantStatus(t, p, http.StatusOK)
	if text(p, "#conversation h2") != "Conversation" || p.Doc.Find("#message-form textarea#message").Length() != 1 {
		t.Fatalf("the Pending Request page has no conversation: %s", text(p, "main"))
	}

	// The approver asks without deciding; a link in the text stays text.
	question := "Is this for EMEA only? See https://evil.example/phish"
	wantRedirect(t, approver.post(hank+"/messages", url.Values{"message": {question}}), hank+"#conversation")
	if got := r.emailsOf(t, "message_to_partner"); strings.Join(got, ";") != "message_to_partner ada@partner.example" {
		t.Fatalf("the approver's message emailed %v", got)
	}
	p = approver.get(hank)
	if !strings.Contains(text(p, "#messages"), question) || p.Doc.Find(`#conversation a[href*="evil.example"]`).Length() != 0 {
		t.Errorf("the message is not shown as text: %s", text(p, "#conversation"))
	}
	if s := r.str(t, `SELECT status FROM account_requests`); s != "pending" {
		t.Fatalf("a message decided: %s", s)
	}

	// The partner reads it on the request's page and in the history, and
	// answers: each approver gets it with a new link, the old one replaced.
	p = r.partner.get("/clc/requests/" + r.id.String())
	if !strings.Contains(text(p, "#messages"), question) || !strings.Contains(text(p, "#history"), question) ||
		p.Doc.Find(`#history a[href*="evil.example"]`).Length() != 0 {
		t.Fatalf("the partner's page lacks the message: %s", text(p, "main"))
	}
	wantRedirect(t, r.partner.post("/clc/requests/"+r.id.String()+"/messages", url.Values{"message": {"Yes, EMEA only."}}),
		"/clc/requests/"+r.id.String()+"#conversation")
	got := r.emailsOf(t, "message_to_approver")
	if strings.Join(got, "; ") != "message_to_approver hank@globex.example; message_to_approver cfo@globex.example" {
		t.Fatalf("the partner's message emailed %v", got)
	}
	fresh := "/pending/" + r.secret(t, "message_to_approver", "hank@globex.example")
	wantClosed(t, approver.get(hank), http.StatusGone, "This link was replaced", "newer link")
	p = approver.get(fresh)
	wantStatus(t, p, http.StatusOK)
	if !strings.Contains(text(p, "#messages"), "Yes, EMEA only.") {
		t.Errorf("the approver does not see the answer: %s", text(p, "#conversation"))
	}
	msg := r.mailbox(t).find("hank@globex.example", "New message")
	if !strings.Contains(msg.Text, "Yes, EMEA only.") || linkTo(t, msg, "/pending/") != fresh {
		t.Errorf("the approver's email:\n%s", msg.Text)
	}

	// Refusals change nothing: empty, too long, control characters.
	r.partner.get("/clc/requests/" + r.id.String()) // shows the flash
	before := r.snapshot(t)
	for _, bad := range []string{"   ", strings.Repeat("x", 2001), "bell\a"} {
		p = approver.post(fresh+"/messages", url.Values{"message": {bad}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if !strings.Contains(bad, "\a") && p.Doc.Find("#message[aria-invalid=true]").Length() != 1 {
			t.Errorf("refused %q without a field error: %s", bad, text(p, "#conversation"))
		}
		wantStatus(t, r.partner.post("/clc/requests/"+r.id.String()+"/messages", url.Values{"message": {bad}}), http.StatusUnprocessableEntity)
	}
	wantUnchanged(t, before, r.snapshot(t), "refused messages")

	// Whoever may not see the request finds none; a replaced link writes nothing.
	r.user("eve@partner.example", "Eve", false)
	eve := r.signedIn("eve@partner.example")
	before = r.snapshot(t)
	wantStatus(t, eve.post("/clc/requests/"+r.id.String()+"/messages", url.Values{"message": {"hi"}}), http.StatusNotFound)
	wantClosed(t, approver.post(hank+"/messages", url.Values{"message": {"old link"}}), http.StatusGone, "This link was replaced", "newer link")
	wantUnchanged(t, before, r.snapshot(t), "messages nobody may write")

	// The approval-email limit counts messages: the first email is free,
	// then three a day to one address.
	for i := range 2 {
		wantRedirect(t, r.partner.post("/clc/requests/"+r.id.String()+"/messages", url.Values{"message": {"more " + string(rune('a'+i))}}),
			"/clc/requests/"+r.id.String()+"#conversation")
	}
	r.partner.get("/clc/requests/" + r.id.String())
	before = r.snapshot(t)
	p = r.partner.post("/clc/requests/"+r.id.String()+"/messages", url.Values{"message": {"one too many"}})
	wantStatus(t, p, http.StatusTooManyRequests)
	if !strings.Contains(text(p, "#message-error"), "@globex.example was already sent") {
		t.Errorf("limit message %q", text(p, "#message-error"))
	}
	wantUnchanged(t, before, r.snapshot(t), "a message over the limit")

	// An operator writes too, to both sides.
	r.clock.Advance(25 * time.Hour)
	r.user("olga@clc.example", "Olga Operator", true)
	ops := r.browser()
	wantRedirect(t, ops.login("olga@clc.example", "correct horse"), "/clc")
	r.partner = r.signedIn("ada@partner.example")
	wantRedirect(t, ops.post("/clc/requests/"+r.id.String()+"/messages", url.Values{"message": {"Cisco here."}}),
		"/clc/requests/"+r.id.String()+"#conversation")
	if n := r.count(t, `SELECT count(*) FROM events WHERE kind = 'message' AND params->>'side' = 'operator'`); n != 1 {
		t.Errorf("%d operator messages", n)
	}
	if got := r.emailsOf(t, "message_to_partner"); len(got) != 2 {
		t.Errorf("the operator's message did not reach the partner: %v", got)
	}

	// Decided, the conversation is read-only, refused in the domain.
	hankNow := "/pending/" + r.secret(t, "message_to_approver", "hank@globex.example")
	wantRedirect(t, approver.post(hankNow+"/approve", nil), hankNow)
	r.partner.get("/clc/requests/" + r.id.String())
	before = r.snapshot(t)
	wantRedirect(t, r.partner.post("/clc/requests/"+r.id.String()+"/messages", url.Values{"message": {"after"}}),
		"/clc/requests/"+r.id.String()+"#conversation")
	wantClosed(t, approver.post(hankNow+"/messages", url.Values{"message": {"after"}}), http.StatusConflict, "This request was approved", "")
	after := r.snapshot(t)
	delete(before, "sessions") // the partner's page says why in a flash
	wantUnchanged(t, before, after, "messages on a decided request")
	p = r.partner.get("/clc/requests/" + r.id.String())
	if p.Doc.Find("#message-form").Length() != 0 || text(p, "#conversation-closed") == "" {
		t.Errorf("a decided request's conversation still offers the form: %s", text(p, "#conversation"))
	}
}

func TestSeenIsRecordedByThePageNotByOpeningTheLink(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	hank := r.link(t, "hank@globex.example")
	b := r.browser()
	wantStatus(t, b.get(hank), http.StatusOK)
	if n := r.count(t, `SELECT count(*) FROM approval_links WHERE opened_at IS NOT NULL`); n != 0 {
		t.Fatalf("opening the link recorded it as seen")
	}
	wantStatus(t, b.post(hank+"/seen", nil), http.StatusNoContent)
	wantStatus(t, b.post(hank+"/seen", nil), http.StatusNoContent)
	wantStatus(t, b.post("/pending/"+strings.Repeat("A", 43)+"/seen", nil), http.StatusNoContent)
	if n := r.count(t, `SELECT count(*) FROM approval_links WHERE opened_at IS NOT NULL`); n != 1 {
		t.Fatalf("%d links seen, want 1", n)
	}
	// Someone opened it: the partner is not told nobody did, nor is it flagged.
	runner := &jobs.Runner{Jobs: jobs.Requests(r.svc), Log: slog.New(slog.DiscardHandler)}
	r.clock.Advance(15 * 24 * time.Hour)
	if err := runner.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := r.count(t, `SELECT count(*) FROM request_followups`); n != 0 {
		t.Errorf("an opened request went through %d follow-through steps", n)
	}
}

// TestARequestLeftAloneIsFollowedThrough walks a request nobody answers
// through its reminders, the partner's notice and the operators' flag, with
// two workers running the jobs at every step.
func TestARequestLeftAloneIsFollowedThrough(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	r.user("olga@clc.example", "Olga Operator", true)
	old := r.link(t, "hank@globex.example")
	ctx := context.Background()
	workers := []*jobs.Runner{
		{Jobs: jobs.Requests(r.svc), Log: slog.New(slog.DiscardHandler)},
		{Jobs: jobs.Requests(r.svc), Log: slog.New(slog.DiscardHandler)},
	}
	run := func() {
		t.Helper()
		errs := make(chan error, len(workers))
		for _, w := range workers {
			go func() { errs <- w.RunOnce(ctx) }()
		}
		for range workers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	// Days pass between the steps: each look is a new sign-in.
	queue := func() page {
		ops := r.browser()
		wantRedirect(t, ops.login("olga@clc.example", "correct horse"), "/clc")
		return ops.get("/ops/requests")
	}
	flagged := func() bool { return queue().Doc.Find("section#"+r.id.String()+" .no-response").Length() == 1 }

	r.clock.Advance(7*24*time.Hour - time.Minute)
	run()
	if got := r.emailsOf(t, "approvers_not_opened"); len(got) != 0 {
		t.Fatalf("told too early: %v", got)
	}
	r.clock.Advance(2 * time.Minute)
	run()
	run()
	if got := r.emailsOf(t, "approvers_not_opened"); strings.Join(got, ";") != "approvers_not_opened ada@partner.example" {
		t.Fatalf("the partner's notice: %v", got)
	}
	msg := r.mailbox(t).find("ada@partner.example", "Nobody has opened")
	if !strings.Contains(msg.Text, "Resend email") || !strings.Contains(msg.Text, "/clc/requests/"+r.id.String()+"#follow-up") {
		t.Errorf("the notice does not lead to resend or change approvers:\n%s", msg.Text)
	}
	if flagged() {
		t.Fatal("flagged after a week")
	}

	r.clock.Advance(7 * 24 * time.Hour)
	run()
	run()
	if !flagged() {
		t.Fatalf("not flagged after two weeks: %s", text(queue(), "main"))
	}
	if n := r.count(t, `SELECT count(*) FROM events WHERE kind = 'no_response'`); n != 1 {
		t.Errorf("%d no_response events", n)
	}

	// The reminders, 30, 7 and 1 days before expiry, each once, each with
	// a new link that replaces the one before.
	for i, days := range []int{30, 7, 1} {
		r.soon(t, time.Duration(days)*24*time.Hour+time.Minute)
		run()
		if got := r.emailsOf(t, "approval_reminder"); len(got) != 2*i {
			t.Fatalf("%d days + 1 minute before expiry: reminders %v", days, got)
		}
		r.clock.Advance(2 * time.Minute)
		run()
		run()
		if got := r.emailsOf(t, "approval_reminder"); len(got) != 2*(i+1) {
			t.Fatalf("%d days before expiry: reminders %v", days, got)
		}
		fresh := "/pending/" + r.secret(t, "approval_reminder", "hank@globex.example")
		// The link's email has not been sent yet: its token is still kept.
		wantStatus(t, r.browser().get(fresh), http.StatusOK)
		wantClosed(t, r.browser().get(old), http.StatusGone, "This link was replaced", "newer link")
		old = fresh
	}
	if n := r.count(t, `SELECT count(*) FROM events WHERE kind = 'reminded'`); n != 3 {
		t.Errorf("%d reminded events", n)
	}
	if n := r.count(t, `SELECT count(*) FROM events WHERE kind = 'not_opened'`); n != 1 {
		t.Errorf("%d not_opened events", n)
	}
	p := r.signedIn("ada@partner.example").get("/clc/requests/" + r.id.String())
	for _, want := range []string{"Reminder sent", "Partner told no approver opened the request", "Flagged: no approver response"} {
		if !strings.Contains(text(p, "#history"), want) {
			t.Errorf("the history lacks %q: %s", want, text(p, "#history"))
		}
	}
}

func TestOperatorAssignsAFlaggedRequestToTheDomainsAdministrators(t *testing.T) {
	t.Parallel()
	a, partner := requester(t)
	a.user("gina@globex.example", "Gina", false)
	a.user("pat@partner.example", "Pat", false) // the partner's colleague: never an approver
	a.account("Globex", "globex.example", "gina@globex.example", "pat@partner.example")
	id := submit(t, a, partner, formFor("Globex EMEA", "emea.globex.example", "hank@emea.globex.example"))
	a.user("olga@clc.example", "Olga Operator", true)
	assign := "/ops/requests/" + id.String() + "/assign"

	ops := a.signedIn("olga@clc.example")
	before := a.snapshot(t)
	wantStatus(t, partner.post(assign, nil), http.StatusForbidden)
	p := ops.post(assign, nil)
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(text(p, "section#"+id.String()+" [role=alert]"), "Only a request flagged") {
		t.Errorf("an unflagged request assigned: %s", text(p, "section#"+id.String()))
	}
	delete(before, "sessions")
	after := a.snapshot(t)
	wantUnchanged(t, before, after, "refused assignments")

	a.clock.Advance(15 * 24 * time.Hour)
	if err := (&jobs.Runner{Jobs: jobs.Requests(a.svc), Log: slog.New(slog.DiscardHandler)}).RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	ops = a.signedIn("olga@clc.example")
	p = ops.get("/ops/requests")
	offer := text(p, "section#"+id.String()+" .assign-admins")
	if !strings.Contains(offer, "gina@globex.example") || strings.Contains(offer, "pat@partner.example") {
		t.Fatalf("the offer to assign: %q", offer)
	}
	wantRedirect(t, ops.post(assign, nil), "/ops/requests")
	if got := a.emailsOf(t, "approval_request"); strings.Join(got, ";") != "approval_request hank@emea.globex.example;approval_request gina@globex.example" {
		t.Fatalf("approval emails %v", got)
	}
	if n := a.count(t, `SELECT count(*) FROM events WHERE kind = 'approvers_assigned' AND actor = 'olga@clc.example'`); n != 1 {
		t.Errorf("%d assignment events", n)
	}
	// Assigned once: nobody is left to assign it to.
	wantStatus(t, ops.post(assign, nil), http.StatusUnprocessableEntity)
	gina := a.link(t, "gina@globex.example")
	wantRedirect(t, a.browser().post(gina+"/approve", nil), gina)
	if s := a.str(t, `SELECT status FROM account_requests WHERE smart_account_id = $1`, id); s != "approved" {
		t.Errorf("request is %s after the assigned administrator approved", s)
	}
}

// TestConversationIsBounded: a request keeps at most account.MaxMessages
// messages, whoever writes them and whether or not they email anyone; the
// next is refused on the form, with the limit, and makes no row and no
// email.
func TestConversationIsBounded(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	approver := r.browser()
	r.db.Exec(t, `INSERT INTO events (smart_account_id, at, actor, kind, params)
		SELECT $1, now(), 'ada@partner.example', 'message', '{"message":"Earlier.","side":"partner"}'
		FROM generate_series(1, $2)`, r.id, account.MaxMessages-1)
	wantRedirect(t, r.partner.post("/clc/requests/"+r.id.String()+"/messages", url.Values{"message": {"The last one."}}),
		"/clc/requests/"+r.id.String()+"#conversation")
	fresh := "/pending/" + r.secret(t, "message_to_approver", "hank@globex.example")
	r.partner.get("/clc/requests/" + r.id.String()) // shows the flash
	wantStatus(t, approver.get(fresh), http.StatusOK)
	before := r.snapshot(t)
	p := r.partner.post("/clc/requests/"+r.id.String()+"/messages", url.Values{"message": {"One too many."}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(text(p, "main"), strconv.Itoa(account.MaxMessages)+" messages") {
		t.Errorf("the refusal does not say the limit: %s", text(p, "main"))
	}
	wantStatus(t, approver.post(fresh+"/messages", url.Values{"message": {"And mine."}}), http.StatusUnprocessableEntity)
	wantUnchanged(t, before, r.snapshot(t), "a message past the conversation's limit")
}
