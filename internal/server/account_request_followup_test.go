package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/clc-portal/clc/internal/account"
)

// approverStates reads the follow-up table: "address: state" per row.
func approverStates(p page) []string {
	return p.Doc.Find("#approvers tbody tr").Map(func(_ int, s *goquery.Selection) string {
		return strings.TrimSpace(s.Find(".approver-email").Text()) + ": " + strings.TrimSpace(s.Find(".delivery").Text())
	})
}

func TestPartnerResendsAndTheNewLinkWorks(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	page := "/clc/requests/" + r.id.String()
	p := r.partner.get(page)
	wantStatus(t, p, http.StatusOK)
	if got := strings.Join(approverStates(p), "; "); got != "hank@globex.example: Queued; cfo@globex.example: Queued" {
		t.Errorf("before delivery: %q", got)
	}
	mb := r.mailbox(t)
	first := linkTo(t, mb.find("hank@globex.example", "Action required"), "/pending/")
	if got := strings.Join(approverStates(r.partner.get(page)), "; "); got != "hank@globex.example: Sent; cfo@globex.example: Sent" {
		t.Errorf("after delivery: %q", got)
	}

	// The customer lost the email: resend it.
	wantRedirect(t, r.partner.post(page+"/resend", url.Values{"approver": {"hank@globex.example"}}), page)
	p = r.partner.get(page)
	if !strings.Contains(text(p, ".flash"), "sent again to hank@globex.example") {
		t.Errorf("flash after resend: %q", text(p, ".flash"))
	}
	if got := strings.Join(approverStates(p), "; "); got != "hank@globex.example: Queued; cfo@globex.example: Sent" {
		t.Errorf("after resend: %q", got)
	}
	if !strings.Contains(text(p, "#history"), "Email sent again") {
		t.Errorf("history lacks the resend: %s", text(p, "#history"))
	}
	second := linkTo(t, mb.find("hank@globex.example", "Action required"), "/pending/")
	if second == first {
		t.Fatal("the resend carries the same link")
	}
	wantClosed(t, r.browser().get(first), http.StatusGone, "This link was replaced", "newer link")
	wantClosed(t, r.browser().post(first+"/approve", nil), http.StatusGone, "This link was replaced", "newer link")

	// Two more go within the hour; the fourth is refused, plainly.
	for range 2 {
		wantRedirect(t, r.partner.post(page+"/resend", url.Values{"approver": {"cfo@globex.example"}}), page)
	}
	before := r.count(t, `SELECT count(*) FROM outbox WHERE kind = 'approval_request'`)
	wantRedirect(t, r.partner.post(page+"/resend", url.Values{"approver": {"hank@globex.example"}}), page)
	if msg := text(r.partner.get(page), ".flash"); !strings.Contains(msg, "already resent 3 times in the last hour") {
		t.Errorf("a fourth resend says %q", msg)
	}
	if n := r.count(t, `SELECT count(*) FROM outbox WHERE kind = 'approval_request'`); n != before {
		t.Errorf("a refused resend queued %d emails", n-before)
	}
	// An hour after the first resend, one may go again.
	r.clock.Advance(account.ResendWindow + time.Minute)
	wantRedirect(t, r.partner.login("ada@partner.example", "correct horse"), "/clc") // an hour idle signed them out
	wantRedirect(t, r.partner.post(page+"/resend", url.Values{"approver": {"hank@globex.example"}}), page)
	if n := r.count(t, `SELECT count(*) FROM outbox WHERE kind = 'approval_request'`); n != before+1 {
		t.Errorf("%d emails after the window passed, want %d", n, before+1)
	}
	// Not an approver of this request.
	wantRedirect(t, r.partner.post(page+"/resend", url.Values{"approver": {"eve@elsewhere.example"}}), page)
	if msg := text(r.partner.get(page), ".flash"); !strings.Contains(msg, "not an address this request waits on") {
		t.Errorf("resend to a stranger says %q", msg)
	}

	// Only the partner who asked follows up.
	r.user("olga@clc.example", "Olga", true)
	ops := r.signedIn("olga@clc.example")
	if p := ops.get(page); p.Doc.Find("#approvers").Length() != 0 {
		t.Error("an operator sees the partner's follow-up")
	}
	wantStatus(t, ops.post(page+"/resend", url.Values{"approver": {"hank@globex.example"}}), http.StatusForbidden)
	wantStatus(t, ops.post(page+"/approvers", url.Values{"customer_emails": {"x@globex.example"}}), http.StatusForbidden)
	// Whoever may not see the request finds none, as its page answers.
	r.user("eve@elsewhere.example", "Eve", false)
	eve := r.signedIn("eve@elsewhere.example")
	wantStatus(t, eve.get(page), http.StatusNotFound)
	wantStatus(t, eve.post(page+"/resend", url.Values{"approver": {"hank@globex.example"}}), http.StatusNotFound)
	wantStatus(t, eve.post(page+"/approvers", url.Values{"customer_emails": {"x@globex.example"}}), http.StatusNotFound)

	latest := linkTo(t, mb.find("hank@globex.example", "Action required"), "/pending/")
	wantRedirect(t, r.browser().post(latest+"/approve", nil), latest)
	if got := text(r.partner.get(page), "#request-status"); got != "Approved" {
		t.Errorf("status after approving with the resent link: %q", got)
	}
	if p := r.partner.get(page); p.Doc.Find("#approvers").Length() != 0 {
		t.Error("the follow-up stays after the decision")
	}
	wantRedirect(t, r.partner.post(page+"/resend", url.Values{"approver": {"hank@globex.example"}}), page)
	if msg := text(r.partner.get(page), ".flash"); !strings.Contains(msg, "no longer pending") {
		t.Errorf("resend after approval says %q", msg)
	}
}

func TestPartnerChangesApprovers(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	page := "/clc/requests/" + r.id.String()
	cfo := r.link(t, "cfo@globex.example")
	p := r.partner.get(page)
	if got := p.Doc.Find("#change-approvers textarea").Text(); got != "hank@globex.example\ncfo@globex.example" {
		t.Errorf("the change form holds %q", got)
	}

	// Checked as the form checks them: a colleague may not approve, nor a
	// malformed address, nor nobody; the page keeps what was typed.
	for _, c := range []struct{ in, want string }{
		{"hank@globex.example, bob@partner.example", "is at your own domain"},
		{"hank@globex.example not-an-email", "not-an-email"},
		{"  ", "at least one"},
	} {
		before := r.snapshot(t)
		p := r.partner.post(page+"/approvers", url.Values{"customer_emails": {c.in}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if got := text(p, "#customer_emails-error"); !strings.Contains(strings.ToLower(got), strings.ToLower(c.want)) {
			t.Errorf("%q: error %q, want %q", c.in, got, c.want)
		}
		if got := p.Doc.Find("#change-approvers textarea").Text(); got != c.in {
			t.Errorf("%q: kept %q", c.in, got)
		}
		delete(before, "sessions")
		wantUnchanged(t, before, r.snapshot(t), "a refused change")
	}

	wantRedirect(t, r.partner.post(page+"/approvers", url.Values{"customer_emails": {"hank@globex.example; Lena@Globex.example"}}), page)
	p = r.partner.get(page)
	if msg := text(p, ".flash"); msg != "Approvers changed. Added: lena@globex.example. Removed: cfo@globex.example." {
		t.Errorf("flash %q", msg)
	}
	if got := strings.Join(approverStates(p), "; "); got != "hank@globex.example: Queued; lena@globex.example: Queued" {
		t.Errorf("approvers after the change: %q", got)
	}
	if got := text(p, `tr:has(td:contains("Approvers changed")) td.prewrap`); got != "Added lena@globex.example; removed cfo@globex.example" {
		t.Errorf("history detail %q", got)
	}
	if got := r.str(t, `SELECT array_to_string(customer_emails, ' ') FROM account_requests`); got != "hank@globex.example lena@globex.example" {
		t.Errorf("customer emails %q", got)
	}
	if got := r.emailsOf(t, "approval_request"); len(got) != 3 || got[2] != "approval_request lena@globex.example" {
		t.Errorf("approval emails %v", got)
	}
	wantClosed(t, r.browser().get(cfo), http.StatusGone, "This link no longer works", "changed the approvers")
	wantClosed(t, r.browser().post(cfo+"/approve", nil), http.StatusGone, "This link no longer works", "changed the approvers")

	// The same list again changes nothing.
	wantRedirect(t, r.partner.post(page+"/approvers", url.Values{"customer_emails": {"hank@globex.example\nlena@globex.example"}}), page)
	if msg := text(r.partner.get(page), ".flash"); !strings.Contains(msg, "Nothing changed") {
		t.Errorf("flash %q", msg)
	}
	// cfo comes back with a new link; the removed one stays dead.
	wantRedirect(t, r.partner.post(page+"/approvers", url.Values{"customer_emails": {"lena@globex.example cfo@globex.example"}}), page)
	wantClosed(t, r.browser().get(cfo), http.StatusGone, "This link was replaced", "newer link")
	lena := r.link(t, "lena@globex.example")
	wantRedirect(t, r.browser().post(lena+"/approve", nil), lena)
	if got := r.str(t, `SELECT status || ' ' || decided_by FROM account_requests`); got != "approved lena@globex.example" {
		t.Errorf("after the new approver approved: %s", got)
	}
}

// TestFollowUpRacesAnApproval runs a resend, or a change that removes the
// approver, at the same moment as that approver approves with the link they
// hold: exactly one wins, and the loser changes nothing.
func TestFollowUpRacesAnApproval(t *testing.T) {
	t.Parallel()
	a, partner := requester(t)
	for i := range 6 {
		domain := "race" + string(rune('a'+i)) + ".example"
		id := submit(t, a, partner, formFor("Race "+domain, domain, "hank@"+domain+" cfo@"+domain))
		page := "/clc/requests/" + id.String()
		hank := a.link(t, "hank@"+domain)
		change := i%2 == 1
		var wg sync.WaitGroup
		start := make(chan struct{})
		var approveStatus int
		wg.Add(2)
		go func() {
			defer wg.Done()
			b := a.browser()
			<-start
			approveStatus = b.post(hank+"/approve", nil).StatusCode
		}()
		go func() {
			defer wg.Done()
			<-start
			if change {
				partner.post(page+"/approvers", url.Values{"customer_emails": {"cfo@" + domain}})
			} else {
				partner.post(page+"/resend", url.Values{"approver": {"hank@" + domain}})
			}
		}()
		close(start)
		wg.Wait()

		kind := "resent"
		if change {
			kind = "approvers_changed"
		}
		approved := a.count(t, `SELECT count(*) FROM events WHERE smart_account_id = $1 AND kind = 'approved'`, id)
		followed := a.count(t, `SELECT count(*) FROM events WHERE smart_account_id = $1 AND kind = $2`, id, kind)
		if approved+followed != 1 {
			t.Fatalf("%s: %d approvals and %d %s events, want exactly one outcome", domain, approved, followed, kind)
		}
		status := a.str(t, `SELECT status FROM account_requests WHERE smart_account_id = $1`, id)
		t.Logf("%s: approval %d, %s %d", domain, approved, kind, followed)
		switch {
		case approved == 1 && (approveStatus != http.StatusSeeOther || status != "approved"):
			t.Errorf("%s: approved, but answered %d and the request is %s", domain, approveStatus, status)
		case followed == 1 && (approveStatus == http.StatusSeeOther || status != "pending"):
			t.Errorf("%s: %s won, but the approval answered %d and the request is %s", domain, kind, approveStatus, status)
		}
		emails := a.count(t, `SELECT count(*) FROM outbox WHERE smart_account_id = $1 AND kind = 'approval_request'`, id)
		want := 2
		if !change {
			want += followed // a resend emails a new link; removing hank emails nobody
		}
		if emails != want {
			t.Errorf("%s: %d approval emails, want %d", domain, emails, want)
		}
	}
}
