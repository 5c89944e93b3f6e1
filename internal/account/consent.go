package account

import (
	"fmt"
	"slices"
	"time"
)

// The customer's consent. A Smart Account is created only by someone the
// customer chose: its approvers are the customer's people, so each rule here
// guards who may hold an approval link (the form, the API, Change approvers,
// Forward and an operator all ask these functions), and how many approval
// emails a partner can make the portal send. They are pure functions over
// facts, so every path meets the same rule and a table tests it.

// Placement is where an approver address stands for an account.
type Placement int

const (
	// ApproverCustomer: at or under the account's domain, so one of the
	// customer's people. They get a link.
	ApproverCustomer Placement = iota
	// ApproverOutside: neither the customer's nor the requester's. Only an
	// operator who reviewed it may give it a link; until then the request
	// waits as "Awaiting Cisco review".
	ApproverOutside
	// ApproverRequester: at the requester's own domain, for an account that
	// is not under it. Never: a partner would approve its own request.
	ApproverRequester
)

// PlaceApprover says where addr stands as an approver of an account at
// accountDomain requested by someone at requesterDomain. The requester's
// colleagues may approve only an account under the requester's own domain:
// that account is the partner's own, so its people are the customer.
func PlaceApprover(addr, accountDomain, requesterDomain string) Placement {
	d := EmailDomain(addr)
	if Under(d, requesterDomain) {
		if Under(accountDomain, requesterDomain) {
			return ApproverCustomer
		}
		return ApproverRequester
	}
	if Under(d, accountDomain) {
		return ApproverCustomer
	}
	return ApproverOutside
}

// Approval emails are counted per address and request, however they are
// caused (a resend, a change of approvers, a forward): the first is free, then
// at most MaxApprovalEmailsPerDay in any ApprovalEmailWindow. The portal must
// not become a way to send partner-written text to someone again and again.
const (
	MaxApprovalEmailsPerDay = 3
	ApprovalEmailWindow     = 24 * time.Hour
)

// DefaultUserEmailsPerDay bounds the emails one user's actions may cause in a
// day (requests, resends, changes of approvers, access requests), across
// everything they do; a setting overrides it.
const DefaultUserEmailsPerDay = 500

// EmailLimitError says an email would go over a limit; RetryAt is when it
// would not.
type EmailLimitError struct {
	// To is the address whose per-request limit is reached, or "" for the
	// user's daily limit.
	To      string
	RetryAt time.Time
}

func (e *EmailLimitError) Error() string {
	if e.To == "" {
		return fmt.Sprintf("daily email limit reached; next at %s", e.RetryAt.Format(time.RFC3339))
	}
	return fmt.Sprintf("approval email limit for %s reached; next at %s", e.To, e.RetryAt.Format(time.RFC3339))
}

// ApprovalEmailAllowed decides whether one more approval email may go to an
// address for a request at now, given when every earlier one went (any
// order). It returns the time the next would be allowed when not.
func ApprovalEmailAllowed(sent []time.Time, now time.Time) (bool, time.Time) {
	if len(sent) == 0 {
		return true, time.Time{}
	}
	sent = slices.Clone(sent)
	slices.SortFunc(sent, func(a, b time.Time) int { return a.Compare(b) })
	// The first email is what the request itself sends; it is not counted.
	var recent []time.Time
	for _, t := range sent[1:] {
		if now.Sub(t) < ApprovalEmailWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) < MaxApprovalEmailsPerDay {
		return true, time.Time{}
	}
	return false, recent[len(recent)-MaxApprovalEmailsPerDay].Add(ApprovalEmailWindow)
}

// checkApprovalEmails is the Allow of every change that emails approvers a
// new link: each address in sent (when its earlier approval emails went)
// must have room for one more.
func checkApprovalEmails(now time.Time) func(sent map[string][]time.Time) error {
	return func(sent map[string][]time.Time) error {
		addrs := make([]string, 0, len(sent))
		for a := range sent {
			addrs = append(addrs, a)
		}
		slices.Sort(addrs)
		for _, a := range addrs {
			if ok, at := ApprovalEmailAllowed(sent[a], now); !ok {
				return &EmailLimitError{To: a, RetryAt: at}
			}
		}
		return nil
	}
}

// EmailQuota is what a change tells the store about the emails a user's
// action causes: the store counts them against the user's day in the
// transaction that queues them, and refuses the change with an
// *EmailLimitError when Count would take the day past Limit.
type EmailQuota struct {
	UserID int64
	Day    time.Time // the UTC day counted
	Count  int
	Limit  int
}

// EmailLimits is the daily bound on the emails a user's actions cause, one
// for every service whose actions send them.
type EmailLimits struct {
	// perDay is 0 for DefaultUserEmailsPerDay.
	perDay int
}

// SetUserEmailsPerDay sets how many emails one user's actions may cause in a
// day.
func (l *EmailLimits) SetUserEmailsPerDay(n int) { l.perDay = n }

// quota is the EmailQuota of emails caused by user u at now; a user id of 0
// (an approver, a job) is not counted.
func (l *EmailLimits) quota(u int64, now time.Time, emails []Email) EmailQuota {
	limit := l.perDay
	if limit <= 0 {
		limit = DefaultUserEmailsPerDay
	}
	return EmailQuota{UserID: u, Day: now.UTC().Truncate(24 * time.Hour), Count: len(emails), Limit: limit}
}

// UsersToAdd is the part of a request's User Emails that the approver kept
// ticked: keep lists the addresses ticked, and anything not in the request
// is ignored, so a crafted form cannot add anyone the approver was not shown.
// It returns the users kept and those left out, in the request's order.
func UsersToAdd(requested, keep []string) (kept, leftOut []string) {
	for _, u := range requested {
		if slices.Contains(keep, u) {
			kept = append(kept, u)
		} else {
			leftOut = append(leftOut, u)
		}
	}
	return kept, leftOut
}
