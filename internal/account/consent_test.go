package account

import (
	"slices"
	"testing"
	"time"
)

func TestPlaceApprover(t *testing.T) {
	for _, c := range []struct {
		addr, account, requester string
		want                     Placement
	}{
		{"hank@globex.example", "globex.example", "partner.example", ApproverCustomer},
		{"hank@emea.globex.example", "globex.example", "partner.example", ApproverCustomer},
		{"hank@globex.example", "emea.globex.example", "partner.example", ApproverOutside}, // above the account's domain
		{"ada.home@mailbox.example", "globex.example", "partner.example", ApproverOutside},
		{"eve@notglobex.example", "globex.example", "partner.example", ApproverOutside}, // a suffix, not a subdomain
		{"ada@partner.example", "globex.example", "partner.example", ApproverRequester},
		{"ada@sales.partner.example", "globex.example", "partner.example", ApproverRequester},
		// The partner's own account: its people are the customer.
		{"bob@partner.example", "partner.example", "partner.example", ApproverCustomer},
		{"bob@partner.example", "emea.partner.example", "partner.example", ApproverCustomer},
		// A requester inside the customer's domain still may not approve
		// from its own part of it.
		{"sam@sales.globex.example", "globex.example", "sales.globex.example", ApproverRequester},
		{"cfo@globex.example", "globex.example", "sales.globex.example", ApproverCustomer},
	} {
		if got := PlaceApprover(c.addr, c.account, c.requester); got != c.want {
			t.Errorf("PlaceApprover(%s, %s, %s) = %d, want %d", c.addr, c.account, c.requester, got, c.want)
		}
	}
}

func TestApprovalEmailAllowed(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	for _, c := range []struct {
		name  string
		sent  []time.Time
		ok    bool
		retry time.Time
	}{
		{"none yet", nil, true, time.Time{}},
		{"the first only", []time.Time{ago(time.Minute)}, true, time.Time{}},
		{"first plus two", []time.Time{ago(time.Hour), ago(3 * time.Minute), ago(2 * time.Minute)}, true, time.Time{}},
		{"first plus three", []time.Time{ago(time.Hour), ago(3 * time.Minute), ago(2 * time.Minute), ago(time.Minute)}, false, ago(3 * time.Minute).Add(24 * time.Hour)},
		{"unordered", []time.Time{ago(time.Minute), ago(2 * time.Minute), ago(time.Hour), ago(3 * time.Minute)}, false, ago(3 * time.Minute).Add(24 * time.Hour)},
		{"three, but a day ago", []time.Time{ago(72 * time.Hour), ago(30 * time.Hour), ago(26 * time.Hour), ago(25 * time.Hour)}, true, time.Time{}},
		{"one of three past the window", []time.Time{ago(72 * time.Hour), ago(25 * time.Hour), ago(2 * time.Hour), ago(time.Hour)}, true, time.Time{}},
	} {
		ok, retry := ApprovalEmailAllowed(c.sent, now)
		if ok != c.ok || !retry.Equal(c.retry) {
			t.Errorf("%s: %v %v, want %v %v", c.name, ok, retry, c.ok, c.retry)
		}
	}
}

func TestUsersToAdd(t *testing.T) {
	requested := []string{"it@globex.example", "ops@globex.example", "cfo@globex.example"}
	kept, out := UsersToAdd(requested, []string{"ops@globex.example", "eve@evil.example"})
	if !slices.Equal(kept, []string{"ops@globex.example"}) || !slices.Equal(out, []string{"it@globex.example", "cfo@globex.example"}) {
		t.Errorf("kept %v, left out %v", kept, out)
	}
	if kept, out := UsersToAdd(requested, nil); kept != nil || len(out) != 3 {
		t.Errorf("nothing ticked: kept %v, left out %v", kept, out)
	}
}

func TestFailureOf(t *testing.T) {
	for text, want := range map[string]DeliveryFailure{
		"": FailureNone,
		"550 5.1.1 <x@globex.example>: Recipient address rejected: User unknown in virtual mailbox table": FailureMailbox,
		"smtp: 554 5.7.1 relay.internal.example rejected: spam":                                           FailureRejected,
		"451 4.7.1 greylisted, try again later":                                                           FailureTemporary,
		"dial tcp 10.0.0.7:25: connect: connection refused":                                               FailureUnreachable,
		"something odd":                              FailureOther,
		"550 mailbox unavailable":                    FailureMailbox,
		"client at 10.0.5.512 said nothing":          FailureOther, // a dotted number is no reply code
		"421 service not available, closing channel": FailureTemporary,
	} {
		if got := FailureOf(text); got != want {
			t.Errorf("FailureOf(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestRequestEventsLeaveOutTheAccountsLaterLife(t *testing.T) {
	history := []Event{{Kind: "requested"}, {Kind: "emailed"}, {Kind: "approved"}, {Kind: "access_granted"},
		{Kind: "created"}, {Kind: "access_changed"}, {Kind: "access_removed"}, {Kind: "approver_allowed"}}
	var kinds []string
	for _, e := range RequestEvents(history) {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Equal(kinds, []string{"requested", "emailed", "approved", "approver_allowed"}) {
		t.Errorf("request events %v", kinds)
	}
}
