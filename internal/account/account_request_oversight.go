package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// What happens to a request besides its approvers' decision: the partner
// follows and may withdraw it, and Cisco operators may decide on it.

// PendingQueue is every request still waiting for a decision, for operators.
func (s *AccountRequests) PendingQueue(ctx context.Context, u User) ([]PendingRequest, error) {
	if !u.Staff {
		return nil, ErrForbidden
	}
	queue, err := s.store.PendingRequests(ctx, s.clock.Now())
	if err != nil {
		return nil, err
	}
	for i, p := range queue {
		for _, e := range p.WaitingOn {
			if !Under(EmailDomain(e), p.Request.Account.Domain) {
				queue[i].Outside = append(queue[i].Outside, e)
			}
		}
		if p.NoResponse {
			admins, ok, err := s.DomainAdmins(ctx, p.Request, p.WaitingOn)
			if err != nil {
				return nil, err
			}
			if ok && len(admins.Admins) > 0 {
				queue[i].DomainAdmins = &admins
			}
		}
	}
	return queue, nil
}

// pendingRequest finds the request for an account and checks it still waits.
func (s *AccountRequests) pendingRequest(ctx context.Context, id AccountID) (AccountRequest, error) {
	r, err := s.store.RequestByAccount(ctx, id)
	if err != nil {
		return AccountRequest{}, fmt.Errorf("request for %s: %w", id, err)
	}
	if r.StatusAt(s.clock.Now()) != RequestPending {
		return AccountRequest{}, &RequestClosedError{Request: r}
	}
	return r, nil
}

// requestLostRace turns the store's "someone else acted first" into the
// request as it stands now.
func (s *AccountRequests) requestLostRace(ctx context.Context, id AccountID, err error) error {
	if !errors.Is(err, ErrRequestClosed) {
		return err
	}
	r, rerr := s.store.RequestByAccount(ctx, id)
	if rerr != nil {
		return fmt.Errorf("read request after losing to another action: %w", rerr)
	}
	return &RequestClosedError{Request: r}
}

// OperatorApprove lets a Cisco operator approve a request. The account is the
// customer's, so its Administrator is a customer approver, never the
// operator: admin, which must hold a live link, or else the first address
// that does (the one the partner typed first, unless it was forwarded on).
func (s *AccountRequests) OperatorApprove(ctx context.Context, u User, id AccountID, admin string, keep []string) (AccountRequest, error) {
	if !u.Staff {
		return AccountRequest{}, ErrForbidden
	}
	r, err := s.pendingRequest(ctx, id)
	if err != nil {
		return AccountRequest{}, err
	}
	live, err := s.store.LiveLinks(ctx, r.ID)
	if err != nil {
		return AccountRequest{}, fmt.Errorf("approvers of %s: %w", id, err)
	}
	if len(live) == 0 {
		// Every approver awaits review: one must be allowed first, since
		// the Administrator is always a customer's approver.
		return AccountRequest{}, FieldErrors{"admin": {Msg: "ops.requests.error.no_live_approver"}}
	}
	chosen := live[0].Email
	if admin = strings.ToLower(strings.TrimSpace(admin)); admin != "" {
		chosen = ""
		for _, l := range live {
			if l.Email == admin {
				chosen = admin
			}
		}
		if chosen == "" {
			return AccountRequest{}, FieldErrors{"admin": {Msg: "ops.requests.error.admin"}}
		}
	}
	// The operator stands in for the customer and sees the users on the
	// queue; keep says which of them stay.
	d := s.approval(r, u.Email, chosen, keep)
	d.ByUser = u.ID
	out, err := s.store.Decide(ctx, d)
	if err != nil {
		return AccountRequest{}, s.requestLostRace(ctx, id, fmt.Errorf("approve request for %s: %w", id, err))
	}
	return out, nil
}

// Allowance is an operator letting an approver address that awaits review
// have its link.
type Allowance struct {
	RequestID int64
	AccountID AccountID
	By        string
	ByUser    int64
	At        time.Time
	Link      ApprovalLink
	Email     Email
}

// AllowApprover lets an approver address outside the account's domain,
// which the partner named and which waits for review, have its approval
// link: the operator has read the Note to Cisco Approver and vouches that
// the address speaks for the customer. The history records who allowed it.
func (s *AccountRequests) AllowApprover(ctx context.Context, u User, id AccountID, addr string) error {
	if !u.Staff {
		return ErrForbidden
	}
	r, err := s.pendingRequest(ctx, id)
	if err != nil {
		return err
	}
	addr = strings.ToLower(strings.TrimSpace(addr))
	if !slices.Contains(r.Held, addr) {
		return FieldErrors{"approver": {Msg: "ops.requests.error.not_held"}}
	}
	now := s.clock.Now()
	link, mail := newApprovalLink(r, addr)
	a := Allowance{RequestID: r.ID, AccountID: id, By: u.Email, ByUser: u.ID, At: now, Link: link, Email: mail}
	if err := s.store.AllowApprover(ctx, a); err != nil {
		if errors.Is(err, ErrNotFound) {
			return FieldErrors{"approver": {Msg: "ops.requests.error.not_held"}}
		}
		return s.requestLostRace(ctx, id, fmt.Errorf("allow %s on %s: %w", addr, id, err))
	}
	return nil
}

// OperatorDeny lets a Cisco operator deny a request, with a reason the
// partner is told.
func (s *AccountRequests) OperatorDeny(ctx context.Context, u User, id AccountID, reason string) (AccountRequest, error) {
	if !u.Staff {
		return AccountRequest{}, ErrForbidden
	}
	r, err := s.pendingRequest(ctx, id)
	if err != nil {
		return AccountRequest{}, err
	}
	reason, err = checkReason(reason)
	if err != nil {
		return AccountRequest{}, err
	}
	d := s.denial(r, u.Email, reason)
	d.ByUser = u.ID
	out, err := s.store.Decide(ctx, d)
	if err != nil {
		return AccountRequest{}, s.requestLostRace(ctx, id, fmt.Errorf("deny request for %s: %w", id, err))
	}
	return out, nil
}

// RequestState is where a request stands, for the partner who sent it, the
// operators, and the administrators of its account.
func (s *AccountRequests) RequestState(ctx context.Context, u User, id AccountID) (AccountRequestState, error) {
	r, err := s.store.RequestByAccount(ctx, id)
	if err != nil {
		return AccountRequestState{}, fmt.Errorf("request for %s: %w", id, err)
	}
	// What u holds on the account decides both whether they see the
	// request and how much of its history: read once. Staff see everything
	// without it.
	var rel Relation
	if !u.Staff {
		if rel, err = relationTo(ctx, s.store, u, id); err != nil {
			return AccountRequestState{}, err
		}
	}
	if !MaySeeRequest(u, r, rel) {
		return AccountRequestState{}, ErrNotFound
	}
	now := s.clock.Now()
	st := AccountRequestState{Request: r, Status: r.StatusAt(now), CanRenew: MayRenew(u, r, now) == nil}
	// The Note to Cisco Approver is the partner's word to Cisco, not to the
	// customer who later administers the account.
	if u.ID != r.RequestedBy && !u.Staff {
		st.Request.NoteToApprover = ""
	}
	if st.Status == RequestPending {
		live, err := s.store.LiveLinks(ctx, r.ID)
		if err != nil {
			return AccountRequestState{}, fmt.Errorf("approvers of %s: %w", id, err)
		}
		for _, l := range live {
			st.WaitingOn = append(st.WaitingOn, l.Email)
		}
		st.CanWithdraw = u.ID == r.RequestedBy
	}
	if st.History, err = s.store.AccountHistory(ctx, id); err != nil {
		return AccountRequestState{}, fmt.Errorf("history of %s: %w", id, err)
	}
	if !MayReadAccountLog(u, rel) {
		// The partner follows its request, not the customer's account once
		// it exists: who the customer later gives which role is theirs.
		st.History = RequestEvents(st.History)
	}
	return st, nil
}

// requestEventKinds are the events of a request's own life, as opposed to
// what happens to its account afterwards.
var requestEventKinds = []string{"requested", "emailed", "forwarded", "resent", "reminded", "approvers_changed",
	"approver_allowed", "approved", "denied", "expired", "withdrawn", "email_failed", "renewed", "message", StepNotOpened,
	StepNoResponse, "approvers_assigned"}

// RequestEvents is the part of an account's history that belongs to its
// request.
func RequestEvents(history []Event) []Event {
	var out []Event
	for _, e := range history {
		if slices.Contains(requestEventKinds, e.Kind) {
			out = append(out, e)
		}
	}
	return out
}

// canSeeRequest answers ErrNotFound, not ErrForbidden, for a request u may
// not see, so its id cannot be probed for.
func (s *AccountRequests) canSeeRequest(ctx context.Context, u User, r AccountRequest) error {
	if u.ID == r.RequestedBy || u.Staff {
		return nil
	}
	rel, err := relationTo(ctx, s.store, u, r.Account.ID)
	if err != nil {
		return err
	}
	if !MaySeeRequest(u, r, rel) {
		return ErrNotFound
	}
	return nil
}

// MaySeeRequest is who may see a request: the partner who sent it, staff,
// and the Administrators of its account (rel is how u relates to that
// account; a Virtual Account's Administrator does not count).
func MaySeeRequest(u User, r AccountRequest, rel Relation) bool {
	return u.ID == r.RequestedBy || u.Staff || rel.Role == RoleAdmin
}

// relationTo is how u relates to Smart Account id (accountRelation); an
// account that does not exist relates to nobody.
func relationTo(ctx context.Context, store relationReader, u User, id AccountID) (Relation, error) {
	_, rel, err := accountRelation(ctx, store, u, id)
	if errors.Is(err, ErrNotFound) {
		return Relation{}, nil
	}
	return rel, err
}

// Withdraw is the partner taking back a request nobody has decided on. Every
// link stops working and the approvers still holding one are told. The
// request is recorded as withdrawn; its account becomes expired, which frees
// the domain: no account ever existed for the customer, so "denied" would
// blame them, while "expired" already means "ended without being created"
// everywhere accounts are listed, and the request says why.
func (s *AccountRequests) Withdraw(ctx context.Context, u User, id AccountID) (AccountRequest, error) {
	r, err := s.ownPendingRequest(ctx, u, id)
	if err != nil {
		return AccountRequest{}, err
	}
	w := Withdrawal{RequestID: r.ID, AccountID: id, By: u.Email, ByUser: u.ID, At: s.clock.Now()}
	out, err := s.store.Withdraw(ctx, w, func(live []ApprovalLink) []Email {
		data := requestEmailData(r)
		data.Actor = u.Email
		var emails []Email
		for _, l := range live {
			emails = append(emails, Email{Kind: EmailRequestWithdrawn, To: l.Email, Lang: r.CustomerLanguage, AccountID: id, Data: data})
		}
		return emails
	})
	if err != nil {
		return AccountRequest{}, s.requestLostRace(ctx, id, fmt.Errorf("withdraw request for %s: %w", id, err))
	}
	return out, nil
}

// Assignment gives a request flagged "no approver response" the
// administrators of the account its domain falls under as approvers.
type Assignment struct {
	RequestID int64
	AccountID AccountID
	By        string
	ByUser    int64
	At        time.Time
	Parent    AccountID
	Links     []ApprovalLink
	Emails    []Email
	// AllowEmails is as in Resending, for Links' addresses.
	AllowEmails func(sent map[string][]time.Time) error
}

// EscalationStore is what escalating a request nobody answers needs.
type EscalationStore interface {
	// ParentAccounts lists the active accounts whose domain the domain
	// falls under, the nearest first, each with its administrators.
	ParentAccounts(ctx context.Context, domain string) ([]AccountAdmins, error)
	// AssignApprovers gives a.Links to a request flagged "no approver
	// response", takes their addresses out of review, adds them to its
	// customer addresses and queues a.Emails, unless the request is no
	// longer pending (ErrRequestClosed), not flagged (ErrNotFlagged), or
	// a.AllowEmails refuses (*EmailLimitError).
	AssignApprovers(ctx context.Context, a Assignment) error
}

// ErrNotFlagged: the request is not flagged "no approver response".
var ErrNotFlagged = errors.New("request is not flagged as having no approver response")

// DomainAdmins is whom an operator may assign a request flagged "no
// approver response" to: the administrators of the nearest active account
// its domain falls under (one of the customer's accounts), less those the
// consent rules never let approve (the requester's colleagues) and those
// who already hold a link. ok is false when no such account exists.
func (s *AccountRequests) DomainAdmins(ctx context.Context, r AccountRequest, live []string) (AccountAdmins, bool, error) {
	parents, err := s.store.ParentAccounts(ctx, r.Account.Domain)
	if err != nil {
		return AccountAdmins{}, false, fmt.Errorf("accounts above %s: %w", r.Account.Domain, err)
	}
	if len(parents) == 0 {
		return AccountAdmins{}, false, nil
	}
	out := AccountAdmins{Account: parents[0].Account}
	for _, a := range parents[0].Admins {
		if PlaceApprover(a, r.Account.Domain, EmailDomain(r.Requester)) == ApproverRequester || slices.Contains(live, a) {
			continue
		}
		out.Admins = append(out.Admins, a)
	}
	return out, true, nil
}

// AssignDomainAdmins is an operator giving a request nobody answered the
// administrators of the account its domain falls under as approvers, each
// emailed a link. Like an operator's Allow, the operator vouches that they
// speak for the customer; the requester's colleagues are never among them.
func (s *AccountRequests) AssignDomainAdmins(ctx context.Context, u User, id AccountID) ([]string, error) {
	if !u.Staff {
		return nil, ErrForbidden
	}
	r, err := s.pendingRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	live, err := s.store.LiveLinks(ctx, r.ID)
	if err != nil {
		return nil, fmt.Errorf("approvers of %s: %w", id, err)
	}
	var holding []string
	for _, l := range live {
		holding = append(holding, l.Email)
	}
	admins, ok, err := s.DomainAdmins(ctx, r, holding)
	if err != nil {
		return nil, err
	}
	if !ok || len(admins.Admins) == 0 {
		return nil, FieldErrors{"admin": {Msg: "ops.requests.error.no_domain_admins"}}
	}
	now := s.clock.Now()
	a := Assignment{RequestID: r.ID, AccountID: id, By: u.Email, ByUser: u.ID, At: now, Parent: admins.Account.ID,
		AllowEmails: checkApprovalEmails(now)}
	for _, addr := range admins.Admins {
		link, mail := newApprovalLink(r, addr)
		a.Links = append(a.Links, link)
		a.Emails = append(a.Emails, mail)
	}
	if err := s.store.AssignApprovers(ctx, a); err != nil {
		if errors.Is(err, ErrNotFlagged) {
			return nil, FieldErrors{"admin": {Msg: "ops.requests.error.not_flagged"}}
		}
		return nil, s.requestLostRace(ctx, id, fmt.Errorf("assign %s to its domain's administrators: %w", id, err))
	}
	return admins.Admins, nil
}
