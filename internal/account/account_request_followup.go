package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Following a pending request up, for the partner who sent it: how each
// approver's email fared, sending it again with a new link, and correcting
// the approvers. The commonest support case of invitation flows is "the
// customer never got the email" or "I typed the wrong address"; neither
// should mean withdrawing and starting over.

// Resends are bounded per request, so the page cannot be used to flood a
// customer's mailbox.
const (
	MaxResendsPerWindow = 3
	ResendWindow        = time.Hour
)

// Delivery is how an approver's latest email fared, in the words the page
// shows.
type Delivery string

const (
	DeliveryQueued   Delivery = "queued"   // written, not yet tried
	DeliverySent     Delivery = "sent"     // the SMTP server took it
	DeliveryRetrying Delivery = "retrying" // tried, failed for now, will be tried again
	DeliveryFailed   Delivery = "failed"   // refused for good; resend or change the address
)

// DeliveryOf is an outbox row's state in those words.
func DeliveryOf(state EmailState, attempts int) Delivery {
	switch {
	case state == EmailSent:
		return DeliverySent
	case state == EmailFailed:
		return DeliveryFailed
	case attempts > 0:
		return DeliveryRetrying
	default:
		return DeliveryQueued
	}
}

// DeliveryFailure is a kind of delivery trouble, in words a partner can act
// on without seeing the mail system's internals.
type DeliveryFailure string

const (
	FailureNone        DeliveryFailure = ""
	FailureMailbox     DeliveryFailure = "mailbox"     // no such mailbox: check the address
	FailureRejected    DeliveryFailure = "rejected"    // the receiving server refused it for good
	FailureTemporary   DeliveryFailure = "temporary"   // refused for now; it is tried again
	FailureUnreachable DeliveryFailure = "unreachable" // the mail server could not be reached
	FailureOther       DeliveryFailure = "other"
)

// FailureOf sorts an SMTP error text into a DeliveryFailure by its reply
// code (RFC 5321) and enhanced status code (RFC 3463): 5.1.x is a bad
// mailbox or address, any other 5xx a refusal, 4xx a delay; an error with
// no reply at all is a server that could not be reached.
func FailureOf(text string) DeliveryFailure {
	t := strings.ToLower(strings.TrimSpace(text))
	switch {
	case t == "":
		return FailureNone
	case strings.Contains(t, "5.1.") || strings.Contains(t, "user unknown") || strings.Contains(t, "no such user") ||
		strings.Contains(t, "mailbox unavailable") || strings.Contains(t, "does not exist"):
		return FailureMailbox
	case smtpReply(t, '5'):
		return FailureRejected
	case smtpReply(t, '4'):
		return FailureTemporary
	case strings.Contains(t, "dial") || strings.Contains(t, "connection") || strings.Contains(t, "timeout") ||
		strings.Contains(t, "no such host") || strings.Contains(t, "refused") || strings.Contains(t, "eof"):
		return FailureUnreachable
	}
	return FailureOther
}

// smtpReply reports whether t holds a three-digit SMTP reply code of class c
// as a word of its own.
func smtpReply(t string, class byte) bool {
	for i := 0; i+3 <= len(t); i++ {
		if t[i] != class || !isDigit(t[i+1]) || !isDigit(t[i+2]) {
			continue
		}
		before := i == 0 || !isDigit(t[i-1]) && t[i-1] != '.'
		after := i+3 == len(t) || !isDigit(t[i+3]) && t[i+3] != '.'
		if before && after {
			return true
		}
	}
	return false
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// Approver is one address a pending request waits on, with its latest email.
type Approver struct {
	Email    string
	Delivery Delivery
	// Failure is what kind of trouble the email met when the SMTP server
	// did not take it; the server's own words (which name internal relays
	// and addresses) are for staff, on the outbox page.
	Failure DeliveryFailure
	// At is when it was sent, or else when it was written.
	At time.Time
}

// ApproverEmail is the store's view of an approver's latest approval email;
// State is "" when none was ever written.
type ApproverEmail struct {
	Email     string
	State     EmailState
	Attempts  int
	LastError string
	At        time.Time
}

// ResendLimitError says the request's resends are used up for now.
type ResendLimitError struct{ RetryAt time.Time }

func (e *ResendLimitError) Error() string {
	return fmt.Sprintf("at most %d resends per %s; next at %s", MaxResendsPerWindow, ResendWindow, e.RetryAt.Format(time.RFC3339))
}

// ErrApproversChanged says the approvers changed (a forward, say) between
// reading them and changing them: the change is refused rather than applied
// to a list the partner never saw.
var ErrApproversChanged = errors.New("approvers changed meanwhile")

// Resending gives one approver a new token and emails it.
type Resending struct {
	RequestID int64
	AccountID AccountID
	Email     string // the approver's address
	By        string
	ByUser    int64
	At        time.Time
	TokenHash []byte
	Mail      Email
	// Allow decides, inside the transaction that locked the request, whether
	// another resend may go, given when the recent ones went.
	Allow func(recent []time.Time) error
	Since time.Time // how far back "recent" reaches
	// AllowEmails decides, under the same lock, whether another approval
	// email may go to Email, given when the earlier ones went; Quota counts
	// it against the partner's day.
	AllowEmails func(sent map[string][]time.Time) error
	Quota       EmailQuota
}

// ApproverChange replaces the approvers a pending request waits on.
type ApproverChange struct {
	RequestID int64
	AccountID AccountID
	By        string
	ByUser    int64
	At        time.Time
	// Seen is the live approvers the change was computed from; the store
	// refuses it with ErrApproversChanged when they are no longer those.
	Seen []string
	// SeenHeld is the addresses awaiting review the change was computed
	// from, refused with ErrApproversChanged like Seen.
	SeenHeld  []string
	Approvers []string // the new list, as customer_emails keeps it
	Remove    []string
	Add       []ApprovalLink
	// Hold are new addresses to keep awaiting an operator's review, Unhold
	// those awaiting review that the change drops.
	Hold   []string
	Unhold []string
	Emails []Email
	// AllowEmails and Quota are as in Resending, for Add's addresses.
	AllowEmails func(sent map[string][]time.Time) error
	Quota       EmailQuota
}

// FollowUpStore is what following a request up needs from persistence.
type FollowUpStore interface {
	// ApproverEmails lists the request's live links, oldest first, each
	// with its latest approval email.
	ApproverEmails(ctx context.Context, requestID int64) ([]ApproverEmail, error)
	// Resend rotates the live link of r.Email and queues r.Mail, unless the
	// request is closed (ErrRequestClosed), the address holds no live link
	// (ErrNotFound) or r.Allow refuses.
	Resend(ctx context.Context, r Resending) error
	// ChangeApprovers revokes c.Remove's links, adds c.Add's, holds c.Hold
	// and drops c.Unhold from review, keeps c.Approvers as the request's
	// customer addresses and queues c.Emails, unless the request is closed
	// (ErrRequestClosed), its live or held approvers are no longer c.Seen
	// and c.SeenHeld (ErrApproversChanged), or c.AllowEmails or c.Quota
	// refuses (*EmailLimitError).
	ChangeApprovers(ctx context.Context, c ApproverChange) error
}

// ownPendingRequest is the request for id when u sent it and it still waits;
// anyone else who may see it is forbidden to change it, and whoever may not
// see it finds no request (ErrNotFound).
func (s *AccountRequests) ownPendingRequest(ctx context.Context, u User, id AccountID) (AccountRequest, error) {
	r, err := s.store.RequestByAccount(ctx, id)
	if err != nil {
		return AccountRequest{}, fmt.Errorf("request for %s: %w", id, err)
	}
	if err := s.canSeeRequest(ctx, u, r); err != nil {
		return AccountRequest{}, err
	}
	if r.RequestedBy != u.ID {
		return AccountRequest{}, ErrForbidden
	}
	if r.StatusAt(s.clock.Now()) != RequestPending {
		return AccountRequest{}, &RequestClosedError{Request: r}
	}
	return r, nil
}

// Approvers lists whom a pending request waits on and how each one's email
// fared, for the partner who sent it.
func (s *AccountRequests) Approvers(ctx context.Context, u User, id AccountID) ([]Approver, error) {
	r, err := s.ownPendingRequest(ctx, u, id)
	if err != nil {
		return nil, err
	}
	return s.approvers(ctx, r)
}

func (s *AccountRequests) approvers(ctx context.Context, r AccountRequest) ([]Approver, error) {
	rows, err := s.store.ApproverEmails(ctx, r.ID)
	if err != nil {
		return nil, fmt.Errorf("approvers of %s: %w", r.Account.ID, err)
	}
	out := make([]Approver, 0, len(rows))
	for _, e := range rows {
		a := Approver{Email: e.Email, Delivery: DeliveryOf(e.State, e.Attempts), At: e.At}
		if a.Delivery != DeliverySent {
			a.Failure = FailureOf(e.LastError)
		}
		out = append(out, a)
	}
	return out, nil
}

// Resend emails one approver their request again with a new link; the link
// they held stops working (it says it was replaced). At most
// MaxResendsPerWindow go per request per ResendWindow.
func (s *AccountRequests) Resend(ctx context.Context, u User, id AccountID, approver string) error {
	r, err := s.ownPendingRequest(ctx, u, id)
	if err != nil {
		return err
	}
	addr, err := NormalizeEmail(approver)
	if err != nil {
		return FieldErrors{"approver": {Msg: "followup.error.not_approver"}}
	}
	now := s.clock.Now()
	link, mail := newApprovalLink(r, addr)
	rs := Resending{
		RequestID: r.ID, AccountID: id, Email: addr, By: u.Email, ByUser: u.ID, At: now, TokenHash: link.TokenHash,
		Mail:  mail,
		Since: now.Add(-ResendWindow),
		Allow: func(recent []time.Time) error {
			if len(recent) < MaxResendsPerWindow {
				return nil
			}
			slices.SortFunc(recent, func(a, b time.Time) int { return a.Compare(b) })
			return &ResendLimitError{RetryAt: recent[len(recent)-MaxResendsPerWindow].Add(ResendWindow)}
		},
	}
	rs.AllowEmails = checkApprovalEmails(now)
	rs.Quota = s.limits.quota(u.ID, now, []Email{rs.Mail})
	err = s.store.Resend(ctx, rs)
	switch {
	case errors.Is(err, ErrNotFound):
		return FieldErrors{"approver": {Msg: "followup.error.not_approver"}}
	case err != nil:
		return s.requestLostRace(ctx, id, fmt.Errorf("resend to %s for %s: %w", addr, id, err))
	}
	return nil
}

// ApproversChanged is what a change of approvers did: Held are the new
// addresses that wait for an operator's review before they get a link.
type ApproversChanged struct {
	Added, Removed, Held []string
}

// ChangeApprovers makes approvers (one field, parsed as the form's Customer
// Email addresses and checked by the same rules) the addresses the request
// waits on: removed addresses' links stop working, new addresses are
// emailed a link, addresses kept keep theirs.
func (s *AccountRequests) ChangeApprovers(ctx context.Context, u User, id AccountID, approvers string) (ApproversChanged, error) {
	r, err := s.ownPendingRequest(ctx, u, id)
	if err != nil {
		return ApproversChanged{}, err
	}
	fe := FieldErrors{}
	list, held := approverEmails(fe, "customer_emails", approvers, EmailDomain(r.Requester), r.Account.Domain)
	if len(held) > 0 && r.NoteToApprover == "" {
		// The operator who reviews them decides on the Note to Cisco
		// Approver, and this request has none.
		fe.Add("customer_emails", "followup.error.held_needs_note", "Email", held[0], "Domain", DisplayDomain(r.Account.Domain))
	}
	if err := fe.Err(); err != nil {
		return ApproversChanged{}, err
	}
	live, err := s.store.LiveLinks(ctx, r.ID)
	if err != nil {
		return ApproversChanged{}, fmt.Errorf("approvers of %s: %w", id, err)
	}
	var seen []string
	for _, l := range live {
		seen = append(seen, l.Email)
	}
	var out ApproversChanged
	for _, e := range seen {
		if !slices.Contains(list, e) || slices.Contains(held, e) {
			out.Removed = append(out.Removed, e)
		}
	}
	now := s.clock.Now()
	c := ApproverChange{RequestID: r.ID, AccountID: id, By: u.Email, ByUser: u.ID, At: now, Seen: seen, SeenHeld: r.Held,
		Approvers: list, Remove: out.Removed}
	for _, e := range r.Held {
		if !slices.Contains(held, e) {
			c.Unhold = append(c.Unhold, e)
		}
	}
	for _, e := range held {
		if !slices.Contains(r.Held, e) {
			c.Hold = append(c.Hold, e)
			out.Held = append(out.Held, e)
		}
	}
	for _, e := range list {
		if slices.Contains(seen, e) || slices.Contains(held, e) {
			continue
		}
		out.Added = append(out.Added, e)
		link, mail := newApprovalLink(r, e)
		c.Add = append(c.Add, link)
		c.Emails = append(c.Emails, mail)
	}
	if len(out.Added) == 0 && len(out.Removed) == 0 && len(c.Hold) == 0 && len(c.Unhold) == 0 {
		return out, nil
	}
	c.AllowEmails = checkApprovalEmails(now)
	c.Quota = s.limits.quota(u.ID, now, c.Emails)
	if err := s.store.ChangeApprovers(ctx, c); err != nil {
		if errors.Is(err, ErrApproversChanged) {
			return ApproversChanged{}, FieldErrors{"customer_emails": {Msg: "followup.error.changed_meanwhile"}}
		}
		return ApproversChanged{}, s.requestLostRace(ctx, id, fmt.Errorf("change approvers of %s: %w", id, err))
	}
	return out, nil
}
