package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/account"
)

// The domain refuses a request from a user with no role, whoever calls it:
// the handler's prerequisite page is not the only guard.
func TestSubmitRequestRefusesNoRole(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	u := a.user("new@partner.example", "New", false)
	_, err := a.svc.SubmitRequest(context.Background(), u, account.AccountRequestInput{
		Name: "Globex", Domain: "globex.example", NoteToApprover: "our customer",
		CustomerEmails: "hank@globex.example", SubmissionKey: account.NewSubmissionKey(),
	})
	if !errors.Is(err, account.ErrForbidden) {
		t.Fatalf("a user with no role submitted a request: %v", err)
	}
	if n := a.count(t, `SELECT count(*) FROM account_requests`); n != 0 {
		t.Fatal("a request was stored")
	}
}

// A partner cannot name a colleague, or themselves, as the customer's
// approver: an address at their own email domain is refused unless the
// account's domain is under it.
func TestRequesterCannotApproveTheirOwnRequest(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	for _, approvers := range []string{"ada@partner.example", "hank@globex.example, bob@partner.example", "it@mail.partner.example"} {
		f := validForm()
		f.Set("customer_emails", approvers)
		f.Set("action", "review")
		p := b.post("/clc/accounts/new", f)
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if msg := text(p, "#customer_emails-error"); !strings.Contains(msg, "partner.example") {
			t.Errorf("approvers %q: message %q", approvers, msg)
		}
		// Nor by skipping the review.
		f.Set("submission_key", account.NewSubmissionKey())
		wantStatus(t, b.post("/clc/accounts/new/submit", f), http.StatusUnprocessableEntity)
	}
	if n := a.count(t, `SELECT count(*) FROM account_requests`); n != 0 {
		t.Fatalf("%d requests stored", n)
	}
	// An account under the partner's own domain is the partner's own: its
	// approvers may be colleagues.
	f := validForm()
	f.Set("name", "Northwind EMEA")
	f.Set("domain", "emea.partner.example")
	f.Set("customer_emails", "bob@partner.example")
	f.Set("user_emails", "carol@partner.example")
	wantRedirect(t, b.post("/clc/accounts/new/submit", review(t, b, f)), "/clc/directory")
}
