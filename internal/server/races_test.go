package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
)

// Forward and Approve sent at once from one approver's link resolve to one
// outcome: either the approval stands and the forward is refused, or the
// forward stands (the link revoked, the new approver holding a live link)
// and the approval is refused. Never both, never neither.
func TestForwardAndApproveAtOnceMakeOneOutcome(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	outcomes := map[string]int{}
	for round := range 8 {
		// One approver each, so the forward leaves exactly one live link.
		domain := fmt.Sprintf("race%d.example", round)
		id := submit(t, r.app, r.partner, formFor(fmt.Sprintf("Race %d", round), domain, "hank@"+domain))
		hank := "/pending/" + r.secret(t, "approval_request", "hank@"+domain)
		var wg sync.WaitGroup
		var forward, approve int
		start := make(chan struct{})
		wg.Go(func() {
			b := r.browser()
			<-start
			forward = b.post(hank+"/forward", url.Values{"forward_to": {"boss@" + domain}}).StatusCode
		})
		wg.Go(func() {
			b := r.browser()
			<-start
			approve = b.post(hank+"/approve", nil).StatusCode
		})
		close(start)
		wg.Wait()

		status := r.str(t, `SELECT status FROM account_requests WHERE smart_account_id = $1`, id)
		forwards := r.count(t, `SELECT count(*) FROM outbox WHERE kind = 'approval_request' AND to_address = $1`, "boss@"+domain)
		live := r.count(t, `SELECT count(*) FROM approval_links l JOIN account_requests q ON q.id = l.request_id
			WHERE q.smart_account_id = $1 AND l.revoked_at IS NULL`, id)
		admins := r.count(t, `SELECT count(*) FROM memberships WHERE smart_account_id = $1 AND role = 'admin'`, id)
		switch {
		case forward == http.StatusSeeOther && approve != http.StatusSeeOther:
			if status != "pending" || forwards != 1 || live != 1 || admins != 0 {
				t.Errorf("round %d: the forward won but the request is %s with %d forward emails, %d live links, %d admins", round, status, forwards, live, admins)
			}
			outcomes["forwarded"]++
		case approve == http.StatusSeeOther && forward != http.StatusSeeOther:
			if status != "approved" || forwards != 0 || admins != 1 {
				t.Errorf("round %d: the approval won but the request is %s with %d forward emails, %d admins", round, status, forwards, admins)
			}
			outcomes["approved"]++
		default:
			t.Errorf("round %d: forward answered %d and approve %d: want exactly one to succeed", round, forward, approve)
		}
		if n := r.count(t, `SELECT count(*) FROM events WHERE smart_account_id = $1 AND kind IN ('approved', 'denied', 'forwarded')`, id); n != 1 {
			t.Errorf("round %d: %d decision or forward events, want 1", round, n)
		}
	}
	t.Logf("outcomes over 8 rounds: %v", outcomes)
}
