package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/paths"
)

// hiddenOf is the review's hidden fields, as Submit Request posts them.
func hiddenOf(p page) url.Values {
	out := url.Values{}
	p.Doc.Find(`form[action="/clc/accounts/new/submit"] input[type=hidden]`).Each(func(_ int, s *goquerySelection) {
		name, _ := s.Attr("name")
		value, _ := s.Attr("value")
		out.Set(name, value)
	})
	return out
}

// TestRenewExpiredRequestInTwoClicks: "Request again" on an expired request
// opens its review filled with what it carried, and Submit Request sends
// it; both histories name the other request, and sending the review twice
// makes one request.
func TestRenewExpiredRequestInTwoClicks(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	ctx := context.Background()
	r.clock.Advance(account.RequestLifetime + time.Hour)
	if n, err := r.svc.ExpireRequests(ctx); err != nil || n != 1 {
		t.Fatalf("expired %d (%v), want 1", n, err)
	}
	// Ninety days outlast the session.
	r.partner = r.signedIn("ada@partner.example")
	status := r.partner.get(paths.RequestStatus(r.id))
	wantStatus(t, status, http.StatusOK)
	again, ok := status.Doc.Find("a#request-again").Attr("href")
	if !ok || strings.TrimSpace(text(status, "a#request-again")) != "Request again" {
		t.Fatalf("no Request again on an expired request: %s", text(status, "main"))
	}

	// Click one: the review, filled.
	rev := r.partner.get(again)
	wantStatus(t, rev, http.StatusOK)
	if text(rev, "h1") != "Review request" {
		t.Fatalf("Request again did not open the review: %s", text(rev, "main"))
	}
	if note := text(rev, "#renewal-note"); !strings.Contains(note, r.id.String()) || !strings.Contains(note, "Expired") {
		t.Errorf("the review does not say what it sends again: %q", note)
	}
	hidden := hiddenOf(rev)
	for field, want := range map[string]string{"name": "Globex Corporation", "domain": "globex.example",
		"customer_emails": "hank@globex.example\ncfo@globex.example", "user_emails": "it@globex.example\nops@globex.example",
		"note_to_customer": "Please approve.", "renews": r.id.String()} {
		if got := hidden.Get(field); got != want {
			t.Errorf("review carries %s = %q, want %q", field, got, want)
		}
	}

	// Click two: Submit Request.
	wantRedirect(t, r.partner.post(paths.SubmitRequest, hidden), paths.Directory)
	var renewed account.AccountID
	if err := r.db.Pool.QueryRow(ctx, `SELECT smart_account_id FROM account_requests ORDER BY id DESC LIMIT 1`).Scan(&renewed); err != nil {
		t.Fatal(err)
	}
	if renewed == r.id {
		t.Fatal("no new request")
	}
	if got := r.str(t, `SELECT r.status || ' ' || sa.name || ' ' || sa.domain || ' ' || array_to_string(r.customer_emails, ',')
		FROM account_requests r JOIN smart_accounts sa ON sa.id = r.smart_account_id WHERE sa.id = $1`, renewed); got != "pending Globex Corporation globex.example hank@globex.example,cfo@globex.example" {
		t.Errorf("renewed request: %s", got)
	}
	// A new request in every way: fresh approval emails with fresh links.
	if n := r.count(t, `SELECT count(*) FROM outbox WHERE smart_account_id = $1 AND kind = 'approval_request'`, renewed); n != 2 {
		t.Errorf("%d approval emails for the renewed request, want 2", n)
	}
	// Sending the same review again is the same request.
	wantRedirect(t, r.partner.post(paths.SubmitRequest, hidden), paths.Directory)
	if n := r.count(t, `SELECT count(*) FROM account_requests`); n != 2 {
		t.Errorf("%d requests after submitting the renewal twice, want 2", n)
	}

	// Both histories name the other, with a link.
	oldPage := r.partner.get(paths.RequestStatus(r.id))
	if href, _ := oldPage.Doc.Find(`#history a[href="` + paths.RequestStatus(renewed) + `"]`).Attr("href"); href == "" {
		t.Errorf("the old request's history does not link the new one: %s", text(oldPage, "#history"))
	}
	newPage := r.partner.get(paths.RequestStatus(renewed))
	if !strings.Contains(text(newPage, "#history"), "Sends again the request for "+r.id.String()) {
		t.Errorf("the new request's history does not name the old one: %s", text(newPage, "#history"))
	}
	if newPage.Doc.Find("a#request-again").Length() != 0 {
		t.Error("a pending request offers Request again")
	}
	// A pending request cannot be renewed, even by a crafted link.
	wantStatus(t, r.partner.get(paths.RequestAction(renewed, "renew")), http.StatusConflict)
}

// TestRenewDeniedRequestShowsTheReason: the review of a denied request
// sent again shows the approver's reason, and a request that no longer
// passes the rules opens the filled form with the message beside the field.
func TestRenewDeniedRequestShowsTheReason(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	hank := r.link(t, "hank@globex.example")
	b := r.browser()
	wantRedirect(t, b.post(hank+"/deny", url.Values{"reason": {"We already have an account."}}), hank)
	rev := r.partner.get(paths.RequestAction(r.id, "renew"))
	wantStatus(t, rev, http.StatusOK)
	if note := text(rev, "#renewal-note"); !strings.Contains(note, "Denied") || !strings.Contains(note, "We already have an account.") {
		t.Errorf("the review does not show the deny reason: %q", note)
	}
	// Meanwhile someone else got globex.example: the form, filled, says so.
	r.user("zed@globex.example", "Zed", false)
	r.account("Globex Holding", "globex.example", "zed@globex.example")
	form := r.partner.get(paths.RequestAction(r.id, "renew"))
	wantStatus(t, form, http.StatusUnprocessableEntity)
	if v, _ := form.Doc.Find("input#name").Attr("value"); v != "Globex Corporation" {
		t.Errorf("the form is not filled: name %q", v)
	}
	if v, _ := form.Doc.Find(`input[name=renews]`).Attr("value"); v != r.id.String() {
		t.Errorf("the form lost what it renews: %q", v)
	}
	if !strings.Contains(text(form, "#renewal-note"), "We already have an account.") {
		t.Error("the form does not show the deny reason")
	}
}

// TestRenewRefusals: only the partner who sent a request may send it
// again; to anyone else its id does not exist, on the link and on a
// crafted submission alike, and nothing is stored.
func TestRenewRefusals(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	wantRedirect(t, r.partner.post(paths.RequestAction(r.id, "withdraw"), url.Values{}), paths.RequestStatus(r.id))
	// Bob is a partner too, of another company.
	r.user("bob@other.example", "Bob", false)
	r.account("Other Partners", "other.example", "bob@other.example")
	bob := r.signedIn("bob@other.example")
	wantStatus(t, bob.get(paths.RequestAction(r.id, "renew")), http.StatusNotFound)
	hidden := hiddenOf(r.partner.get(paths.RequestAction(r.id, "renew")))
	hidden.Set("submission_key", account.NewSubmissionKey())
	before := r.count(t, `SELECT count(*) FROM account_requests`)
	wantStatus(t, bob.post(paths.SubmitRequest, hidden), http.StatusNotFound)
	wantStatus(t, bob.post(paths.NewRequest, hidden), http.StatusNotFound)
	for _, bad := range []string{"SA-999999", "12", "x"} {
		hidden.Set("renews", bad)
		wantStatus(t, r.partner.post(paths.SubmitRequest, hidden), http.StatusNotFound)
	}
	if after := r.count(t, `SELECT count(*) FROM account_requests`); after != before {
		t.Errorf("refused renewals stored %d requests", after-before)
	}
	// The withdrawn request's own partner may.
	hidden.Set("renews", r.id.String())
	wantRedirect(t, r.partner.post(paths.SubmitRequest, hidden), paths.Directory)
}
