package account

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Deciding on a request: the Pending Request page's actions (approve, deny,
// forward) and the types every decision shares; the operator's decisions and
// the partner's withdrawal are in oversight.go, the jobs that remind and
// expire in expiry.go. Every decision is one conditional update of a pending
// request in the transaction that does everything it causes, so two
// approvers, a double click or a replayed form never decide twice or send
// two sets of emails.

// Bounds and lifetimes of decisions.
const (
	// MaxReasonLength bounds a reason: a denial's, an access request's.
	MaxReasonLength = 1000
	// SetPasswordLifetime is how long a link to set a first password works.
	SetPasswordLifetime = 7 * 24 * time.Hour
	// jobBatch bounds one run of a job, so a backlog is worked off over
	// several runs instead of one long one.
	jobBatch = 100
	// tokenBytes is the entropy of every emailed token: 256 bits.
	tokenBytes = 32
)

// Why a decision or a forward could not happen.
var (
	// ErrRequestClosed: the request is no longer pending (decided, expired
	// or withdrawn) at the moment of the change.
	ErrRequestClosed = errors.New("request is no longer pending")
	// ErrLinkRevoked: the approval link was forwarded.
	ErrLinkRevoked = errors.New("approval link was forwarded")
	// ErrTokenUsed and ErrTokenExpired: a set-password link was spent, or
	// is too old.
	ErrTokenUsed    = errors.New("link already used")
	ErrTokenExpired = errors.New("link expired")
)

// LinkState is what an approval link can still do.
type LinkState string

const (
	LinkLive      LinkState = "live"      // the request waits on it
	LinkDecided   LinkState = "decided"   // someone approved or denied the request
	LinkExpired   LinkState = "expired"   // nobody decided in time
	LinkWithdrawn LinkState = "withdrawn" // the partner took the request back
	LinkForwarded LinkState = "forwarded" // its holder passed it on
	LinkReplaced  LinkState = "replaced"  // a reminder sent a newer link
	LinkRemoved   LinkState = "removed"   // the partner changed the approvers
)

// PendingLink is an approval link with its request: what the Pending Request
// page shows.
type PendingLink struct {
	Link    ApprovalLink
	Request AccountRequest
	// Replaced is set when the token opened is one a reminder replaced.
	Replaced bool
	State    LinkState
}

// LinkClosedError says an approval link can no longer act, and why: the
// link as it stands now, including who decided when that is the reason.
type LinkClosedError struct{ Link PendingLink }

func (e *LinkClosedError) Error() string { return "approval link is " + string(e.Link.State) }

// RequestClosedError says a request is no longer pending, as it stands now.
type RequestClosedError struct{ Request AccountRequest }

func (e *RequestClosedError) Error() string { return "request is " + string(e.Request.Status) }

// StatusAt is the request's status at now: a pending request past its expiry
// is expired even before the job has recorded it.
func (r AccountRequest) StatusAt(now time.Time) RequestStatus {
	if r.Status == RequestPending && !now.Before(r.ExpiresAt) {
		return RequestExpired
	}
	return r.Status
}

// Decided reports whether someone approved or denied the request.
func (r AccountRequest) Decided() bool {
	return r.Status == RequestApproved || r.Status == RequestDenied
}

// Decision is an approval or a denial, ready for the store to apply.
type Decision struct {
	RequestID int64
	AccountID AccountID
	Outcome   RequestStatus // RequestApproved or RequestDenied
	// LinkID is the approval link it was made with; 0 for an operator's.
	// TokenHash is the token it was opened with: a resend or a reminder
	// that replaced it first wins.
	LinkID    int64
	TokenHash []byte
	By        string // the decider's address
	ByUser    int64  // the operator's user id; 0 for an approver
	Reason    string
	At        time.Time
	// Members are whom an approval gives a role on the new account;
	// LeftOut the requested users the approver did not keep.
	Members []NewMember
	LeftOut []string
	Emails  []Email
}

// NewMember is someone an approval gives a role, created as a user (named
// after their address's local part, with no password) when they are not one.
type NewMember struct {
	Email string
	Name  string
	Role  Role
	// Language is saved on the member when the approval creates their user
	// (the customer's language); an existing user keeps their own, and
	// Welcome goes in whichever they then have.
	Language string
	// Welcome tells them. When they have no password yet, the store keeps a
	// set-password link for PasswordToken (its hash) and puts the token in
	// Welcome's Secret; otherwise the email goes without one.
	Welcome         Email
	PasswordToken   string
	PasswordExpires time.Time
}

// Forwarding passes a live approval link to another address.
type Forwarding struct {
	RequestID int64
	AccountID AccountID
	LinkID    int64
	TokenHash []byte // the token it was opened with, as in Decision
	From      string
	At        time.Time
	// Link is the new approver's link, Email the approval request to them.
	Link  ApprovalLink
	Email Email
	// Allow decides, under the request's lock, whether another approval
	// email may go to Link.Email, given when the earlier ones went.
	Allow func(sent map[string][]time.Time) error
}

// Withdrawal is the partner taking back a pending request.
type Withdrawal struct {
	RequestID int64
	AccountID AccountID
	By        string
	ByUser    int64
	At        time.Time
}

// Reminder is what a reminder changes: a new token for each live link, since
// the first was never stored in clear and its email's copy is erased once
// sent, and the emails carrying them.
type Reminder struct {
	Tokens []RotatedToken
	Emails []Email
}

// RotatedToken is a live link's new token hash.
type RotatedToken struct {
	LinkID    int64
	TokenHash []byte
}

// PendingRequest is a request in the operator's queue, with whom it waits on.
type PendingRequest struct {
	Request   AccountRequest
	WaitingOn []string
	// Outside are those of WaitingOn whose address is not at the account's
	// domain, so operators can look twice at who would become its
	// Administrator.
	Outside []string
	// NoResponse: no approver opened the page within NoResponseAfter;
	// DomainAdmins, for such a request, are whom an operator may assign it
	// to (see AssignDomainAdmins), nil when nobody.
	NoResponse   bool
	DomainAdmins *AccountAdmins
}

// AccountRequestState is the partner's view of a request: where it stands, whom it
// waits on, and its account's history.
type AccountRequestState struct {
	Request     AccountRequest
	Status      RequestStatus // as of now
	WaitingOn   []string
	History     []Event
	CanWithdraw bool
	// CanRenew: u sent it and it ended without an account (see MayRenew).
	CanRenew bool
}

// DecisionStore is what decisions need from persistence. Every method that
// changes anything is one transaction, and changes nothing when it returns
// an error.
type DecisionStore interface {
	// LinkByTokenHash finds the link a token opens, with its request; a
	// token a reminder replaced finds its link with replaced set.
	LinkByTokenHash(ctx context.Context, hash []byte) (l ApprovalLink, r AccountRequest, replaced bool, err error)
	RequestByAccount(ctx context.Context, id AccountID) (AccountRequest, error)
	// LiveLinks lists the links a request waits on, oldest first.
	LiveLinks(ctx context.Context, requestID int64) ([]ApprovalLink, error)
	// PendingRequests lists the requests still pending and unexpired at now,
	// oldest first.
	PendingRequests(ctx context.Context, now time.Time) ([]PendingRequest, error)
	// AccountHistory is an account's whole history, oldest first.
	AccountHistory(ctx context.Context, id AccountID) ([]Event, error)

	// Decide applies d only if the request is pending and unexpired at d.At
	// and, when d.LinkID is set, that link was not forwarded; otherwise it
	// returns ErrRequestClosed or ErrLinkRevoked. An approval activates the
	// account with its DEFAULT Virtual Account and its members; a denial
	// denies it. Either records events and queues d's emails.
	Decide(ctx context.Context, d Decision) (AccountRequest, error)
	// Forward revokes f.LinkID and adds f.Link, unless the request is closed
	// (ErrRequestClosed), the link already forwarded (ErrLinkRevoked) or the
	// new address already holds a live link (ErrConflict).
	Forward(ctx context.Context, f Forwarding) error
	// AllowApprover takes a.Link.Email out of review and gives it a.Link,
	// recording who allowed it and queueing a.Email, unless the request is
	// closed (ErrRequestClosed) or the address no longer awaits review
	// (ErrNotFound).
	AllowApprover(ctx context.Context, a Allowance) error
	// Withdraw closes a pending request as withdrawn and its account as
	// expired, queueing emails(the live links), or returns ErrRequestClosed.
	Withdraw(ctx context.Context, w Withdrawal, emails func(live []ApprovalLink) []Email) (AccountRequest, error)
	// ExpireNext expires one pending request whose expiry has passed at now,
	// queueing expire(request, every link it had); several processes may run
	// it at once. ok is false when none is due.
	ExpireNext(ctx context.Context, now time.Time, expire func(AccountRequest, []ApprovalLink) []Email) (ok bool, err error)
	// RemindNext records the steps for one pending request expiring after
	// now and by dueBy that has not been through steps[0], applies
	// remind(request, its live links) and queues its emails. ok is false
	// when none is due.
	RemindNext(ctx context.Context, now, dueBy time.Time, steps []string, remind func(AccountRequest, []ApprovalLink) Reminder) (ok bool, err error)
	// NotOpenedNext records step for one pending, unexpired request sent by
	// sentBy that waits on live links none of which was opened and that has
	// not been through step, with an event of that kind, and queues
	// notify(request, its live links) when notify is set. ok is false when
	// none is due.
	NotOpenedNext(ctx context.Context, now, sentBy time.Time, step string, notify func(AccountRequest, []ApprovalLink) Email) (ok bool, err error)

	SetPasswordStore
}

// wellFormedToken rejects what no token of ours can be before any lookup.
func wellFormedToken(token string) bool { return wellFormedRandom(token, tokenBytes) }

// wellFormedRandom says whether s could be randomToken(n): n bytes in
// unpadded base64url. What it refuses (a NUL byte, invalid UTF-8, any
// length but the one) never reaches the database.
func wellFormedRandom(s string, n int) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(n) {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// OpenLink finds what an approval token opens. It only reads: mail scanners
// open links too, and opening one must never decide anything.
func (s *AccountRequests) OpenLink(ctx context.Context, token string) (PendingLink, error) {
	if !wellFormedToken(token) {
		return PendingLink{}, ErrNotFound
	}
	l, r, replaced, err := s.store.LinkByTokenHash(ctx, HashToken(token))
	if err != nil {
		return PendingLink{}, err
	}
	return PendingLink{Link: l, Request: r, Replaced: replaced, State: LinkStateAt(l, r, replaced, s.clock.Now())}, nil
}

// LinkStateAt is what link l of request r can still do at now; replaced says
// the token opened is one a reminder or a resend replaced.
func LinkStateAt(l ApprovalLink, r AccountRequest, replaced bool, now time.Time) LinkState {
	// What ended the request comes first: it is the news, whatever became
	// of this one link.
	switch st := r.StatusAt(now); {
	case r.Decided():
		return LinkDecided
	case st == RequestWithdrawn:
		return LinkWithdrawn
	case st == RequestExpired:
		return LinkExpired
	case !l.RevokedAt.IsZero() && l.ForwardedTo == "":
		// Revoked without being passed on: the partner removed the address.
		return LinkRemoved
	case !l.RevokedAt.IsZero():
		return LinkForwarded
	case replaced:
		return LinkReplaced
	}
	return LinkLive
}

// liveLink opens a token for an action; a link that cannot act is a
// *LinkClosedError saying why.
func (s *AccountRequests) liveLink(ctx context.Context, token string) (PendingLink, error) {
	p, err := s.OpenLink(ctx, token)
	if err != nil {
		return p, err
	}
	if p.State != LinkLive {
		return p, &LinkClosedError{Link: p}
	}
	return p, nil
}

// lostRace turns the store's "someone else acted first" into what the link
// shows now.
func (s *AccountRequests) lostRace(ctx context.Context, token string, err error) error {
	if !errors.Is(err, ErrRequestClosed) && !errors.Is(err, ErrLinkRevoked) {
		return err
	}
	p, oerr := s.OpenLink(ctx, token)
	if oerr != nil {
		return fmt.Errorf("read link after losing to another action: %w", oerr)
	}
	return &LinkClosedError{Link: p}
}

// Approve is "Approve and Create the Account": the account becomes active
// with a DEFAULT Virtual Account, the link's address its Administrator and
// those of the request's User Emails that the approver kept ticked (keep)
// its Users; the history names those left out.
func (s *AccountRequests) Approve(ctx context.Context, token string, keep []string) (AccountRequest, error) {
	p, err := s.liveLink(ctx, token)
	if err != nil {
		return AccountRequest{}, err
	}
	d := s.approval(p.Request, p.Link.Email, p.Link.Email, keep)
	d.LinkID, d.TokenHash = p.Link.ID, HashToken(token)
	r, err := s.store.Decide(ctx, d)
	if err != nil {
		return AccountRequest{}, s.lostRace(ctx, token, fmt.Errorf("approve request for %s: %w", p.Request.Account.ID, err))
	}
	return r, nil
}

// Deny is "Deny Request": the account becomes denied and the partner is
// told the reason, which is required.
func (s *AccountRequests) Deny(ctx context.Context, token, reason string) (AccountRequest, error) {
	p, err := s.liveLink(ctx, token)
	if err != nil {
		return AccountRequest{}, err
	}
	reason, err = checkReason(reason)
	if err != nil {
		return AccountRequest{}, err
	}
	d := s.denial(p.Request, p.Link.Email, reason)
	d.LinkID, d.TokenHash = p.Link.ID, HashToken(token)
	r, err := s.store.Decide(ctx, d)
	if err != nil {
		return AccountRequest{}, s.lostRace(ctx, token, fmt.Errorf("deny request for %s: %w", p.Request.Account.ID, err))
	}
	return r, nil
}

// Forward passes a live link to another address: that person is emailed a
// new link of their own, and this one stops working. It returns the address
// forwarded to.
func (s *AccountRequests) Forward(ctx context.Context, token, to string) (string, error) {
	p, err := s.liveLink(ctx, token)
	if err != nil {
		return "", err
	}
	fe := FieldErrors{}
	addr, err := NormalizeEmail(to)
	switch {
	case errors.Is(err, ErrEmailRequired):
		fe.Add("forward_to", "pending.error.forward_required")
	case err != nil:
		fe.Add("forward_to", "pending.error.forward_invalid", "Email", strings.TrimSpace(to))
	case addr == p.Link.Email:
		fe.Add("forward_to", "pending.error.forward_self")
	default:
		// A forward is the approver's own choice, so it reaches only the
		// customer's people: no operator reviews it.
		switch PlaceApprover(addr, p.Request.Account.Domain, EmailDomain(p.Request.Requester)) {
		case ApproverRequester:
			fe.Add("forward_to", "pending.error.forward_requester", "Domain", DisplayDomain(EmailDomain(p.Request.Requester)))
		case ApproverOutside:
			fe.Add("forward_to", "pending.error.forward_outside", "Domain", DisplayDomain(p.Request.Account.Domain))
		}
	}
	if err := fe.Err(); err != nil {
		return "", err
	}
	now := s.clock.Now()
	r := p.Request
	link, mail := newApprovalLink(r, addr)
	mail.Data.Actor = p.Link.Email // the email says who forwarded it
	f := Forwarding{
		RequestID: r.ID, AccountID: r.Account.ID, LinkID: p.Link.ID, TokenHash: HashToken(token), From: p.Link.Email, At: now,
		Link: link, Email: mail, Allow: checkApprovalEmails(now),
	}
	err = s.store.Forward(ctx, f)
	switch {
	case errors.Is(err, ErrConflict):
		fe.Add("forward_to", "pending.error.forward_has_link", "Email", addr)
		return "", fe
	case err != nil:
		return "", s.lostRace(ctx, token, fmt.Errorf("forward request for %s: %w", r.Account.ID, err))
	}
	return addr, nil
}

func checkReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		return "", FieldErrors{"reason": {Msg: "pending.error.reason_required"}}
	case n > MaxReasonLength:
		return "", FieldErrors{"reason": {Msg: "request.error.too_long", Args: []any{"Max", MaxReasonLength}}}
	}
	return reason, nil
}

// newApprovalLink is a fresh link of request r for the address to and the
// email that carries it: the token lives only in the email, its hash in the
// link. Every path that hands out a link (a forward, a resend, a change of
// approvers, an operator's Allow) makes it here.
func newApprovalLink(r AccountRequest, to string) (ApprovalLink, Email) {
	token := randomToken(tokenBytes)
	data := requestEmailData(r)
	data.Note = r.NoteToCustomer
	return ApprovalLink{Email: to, TokenHash: HashToken(token), ExpiresAt: r.ExpiresAt},
		Email{Kind: EmailApprovalRequest, To: to, Lang: r.CustomerLanguage, AccountID: r.Account.ID, Secret: token, Data: data}
}

// requestEmailData is what every email about a request shows.
func requestEmailData(r AccountRequest) EmailData {
	return EmailData{
		AccountID: r.Account.ID.String(), AccountName: r.Account.Name, Domain: r.DomainAsTyped,
		RequesterName: r.RequesterName, RequesterEmail: r.Requester, PartnerName: r.PartnerName,
		ExpiresAt: r.ExpiresAt, Users: r.UserEmails,
	}
}

// approval builds the approval of r by the address by, with admin as the
// account's Administrator: the request's user emails become Users, each is
// told, and so is the partner.
func (s *AccountRequests) approval(r AccountRequest, by, admin string, keep []string) Decision {
	now := s.clock.Now()
	kept, leftOut := UsersToAdd(r.UserEmails, keep)
	d := Decision{RequestID: r.ID, AccountID: r.Account.ID, Outcome: RequestApproved, By: by, At: now, LeftOut: leftOut}
	data := requestEmailData(r)
	data.Actor, data.Admin = by, admin
	data.Users, data.LeftOut = kept, leftOut
	member := func(addr string, role Role, kind EmailKind, note string) NewMember {
		md := data
		md.Role, md.Note = role, note
		return NewMember{
			Email: addr, Name: addr[:strings.LastIndexByte(addr, '@')], Role: role, Language: r.CustomerLanguage,
			Welcome:       Email{Kind: kind, To: addr, AccountID: r.Account.ID, Data: md},
			PasswordToken: randomToken(tokenBytes), PasswordExpires: now.Add(SetPasswordLifetime),
		}
	}
	d.Members = append(d.Members, member(admin, RoleAdmin, EmailAccountCreatedAdmin, ""))
	for _, u := range kept {
		if u == admin {
			continue // Administrator already allows what User does
		}
		d.Members = append(d.Members, member(u, RoleUser, EmailAddedUserWelcome, r.NoteToUsers))
	}
	d.Emails = []Email{{Kind: EmailRequestApproved, To: r.Requester, AccountID: r.Account.ID, Data: data}}
	return d
}

// denial builds the denial of r by the address by, telling the partner why.
func (s *AccountRequests) denial(r AccountRequest, by, reason string) Decision {
	data := requestEmailData(r)
	data.Actor, data.Reason = by, reason
	return Decision{
		RequestID: r.ID, AccountID: r.Account.ID, Outcome: RequestDenied, By: by, Reason: reason, At: s.clock.Now(),
		Emails: []Email{{Kind: EmailRequestDenied, To: r.Requester, AccountID: r.Account.ID, Data: data}},
	}
}
