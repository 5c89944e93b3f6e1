package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// AccessRequestStatus is where an access request stands.
type AccessRequestStatus string

const (
	AccessPending  AccessRequestStatus = "pending"
	AccessApproved AccessRequestStatus = "approved"
	AccessDeclined AccessRequestStatus = "declined"
)

// Scope is what an access request, or its approval, covers: the "Scope of
// access" of the article.
type Scope string

const (
	ScopeAccount Scope = "account" // "Entire Smart Account"
	ScopeVirtual Scope = "virtual" // "Selected Virtual Accounts"
)

// AccessRequest is a user asking for a role on a Smart Account, or on some of
// its Virtual Accounts; the account's administrators, or its rules, answer it.
type AccessRequest struct {
	ID        int64
	UserID    int64
	AccountID AccountID
	// VirtualAccounts are the names asked for, by name; none means the
	// entire Smart Account.
	VirtualAccounts []string
	Role            Role
	Reason          string
	Status          AccessRequestStatus
	CreatedAt       time.Time

	// Who asks, for the administrators.
	RequesterName  string
	RequesterEmail string

	// The decision, once taken.
	DecidedAt      time.Time
	DecidedBy      string // the administrator's email; "" when a rule decided
	DecisionReason string
	Rule           Rule // the rule that decided, "" when a person did
	GrantedRole    Role
	GrantedVAs     []string
}

// Scope is what the request asks for.
func (r AccessRequest) Scope() Scope {
	if len(r.VirtualAccounts) > 0 {
		return ScopeVirtual
	}
	return ScopeAccount
}

// Errors of RequestAccess beyond a form's field errors.
var (
	// ErrAccessAlreadyRequested: one request per user and account waits at a time.
	ErrAccessAlreadyRequested = fmt.Errorf("an access request is already pending: %w", ErrConflict)
	// ErrAccessAlreadyHeld: the requester already holds what they ask for.
	ErrAccessAlreadyHeld = fmt.Errorf("that access is already held: %w", ErrConflict)
	// ErrAccountNotActive: only an active account has administrators to ask.
	ErrAccountNotActive = errors.New("the Smart Account is not active")
	// ErrNoSuchVirtualAccount: a named Virtual Account is not in the account.
	ErrNoSuchVirtualAccount = errors.New("no such virtual account")
)

// AccessRequestInput is what the Request Access form carries.
type AccessRequestInput struct {
	Scope           string
	VirtualAccounts []string // with ScopeVirtual
	Role            string
	Reason          string
}

// maxNotifiedAdmins bounds whom one access request emails.
const maxNotifiedAdmins = 50

// MaxRequestedVirtualAccounts bounds the Virtual Accounts one request names.
const MaxRequestedVirtualAccounts = 100

// RequestableRoles are the roles a user may ask for, strongest first.
var RequestableRoles = []Role{RoleAdmin, RoleUser, RoleViewer}

// ValidateChoice checks the first step of the form: scope, role and reason.
// The Virtual Accounts are chosen on the next step.
func (in AccessRequestInput) ValidateChoice() FieldErrors {
	fe := FieldErrors{}
	switch Scope(in.Scope) {
	case "", ScopeAccount, ScopeVirtual: // none is the entire Smart Account
	default:
		fe.Add("scope", "access.error.scope")
	}
	if !slices.Contains(RequestableRoles, Role(in.Role)) {
		fe.Add("role", "access.error.role")
	}
	reason := strings.TrimSpace(in.Reason)
	switch {
	case reason == "":
		fe.Add("reason", "access.error.reason_required")
	case utf8.RuneCountInString(reason) > MaxReasonLength:
		fe.Add("reason", "access.error.reason_too_long", "Max", MaxReasonLength)
	}
	return fe
}

// Validate reports a message per wrong field of the whole request.
func (in AccessRequestInput) Validate() FieldErrors {
	fe := in.ValidateChoice()
	if Scope(in.Scope) == ScopeVirtual {
		if msg := checkVirtualAccounts(in.VirtualAccounts); msg != "" {
			fe.Add("virtual_accounts", msg, "Max", MaxRequestedVirtualAccounts)
		}
	}
	return fe
}

// checkVirtualAccounts gives the message for a wrong choice of Virtual
// Accounts, "" when it is right.
func checkVirtualAccounts(names []string) string {
	switch {
	case len(cleanNames(names)) == 0:
		return "access.error.va_required"
	case len(names) > MaxRequestedVirtualAccounts:
		return "access.error.va_too_many"
	}
	for _, n := range names {
		if utf8.RuneCountInString(n) > MaxNameLength {
			return "access.error.va_unknown"
		}
	}
	return ""
}

// cleanNames trims, drops empty and repeated names, and sorts.
func cleanNames(names []string) []string {
	var out []string
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// RequestAccessChoices is what the Request Access steps offer for account
// id: its listing, and the names of its Virtual Accounts for "Selected
// Virtual Accounts". Someone who may not otherwise see its Virtual Accounts
// sees their names here, as the article's "Available Virtual Accounts" step
// shows them: one cannot ask for what one cannot name.
func (s *AccessManagement) RequestAccessChoices(ctx context.Context, viewer User, id AccountID, query string) (Listing, []string, error) {
	l, err := s.listings.AccountListing(ctx, viewer, id, query)
	if err != nil {
		return Listing{}, nil, err
	}
	vas, _, err := s.store.VirtualAccountsOf(ctx, viewer.ID, []AccountID{id}, MaxShownVirtualAccounts)
	if err != nil {
		return Listing{}, nil, fmt.Errorf("account %s: virtual accounts: %w", id, err)
	}
	l.VirtualAccounts = vas[id]
	names := make([]string, 0, len(vas[id]))
	for _, va := range vas[id] {
		names = append(names, va.Name)
	}
	return l, names, nil
}

// RequestAccess records viewer's request for a role on account id. query is
// what they searched with, which lets them reach a restricted account (see
// SightOf); an account they may not see is ErrNotFound. The account's rules
// may decide it at once (see AutomationRules.Apply); otherwise its
// administrators are emailed.
func (s *AccessManagement) RequestAccess(ctx context.Context, viewer User, id AccountID, query string, in AccessRequestInput) (AccessRequest, error) {
	if err := in.Validate().Err(); err != nil {
		return AccessRequest{}, err
	}
	l, err := s.store.AccountFor(ctx, viewer.ID, id, query, exactDomain(query))
	if err != nil {
		return AccessRequest{}, fmt.Errorf("request access to %s: %w", id, err)
	}
	a := l.Account
	if !SightOf(viewer, a, l.Relation).Listing {
		return AccessRequest{}, fmt.Errorf("request access to %s: %w", id, ErrNotFound)
	}
	if a.Status != StatusActive {
		return AccessRequest{}, fmt.Errorf("request access to %s: %w", id, ErrAccountNotActive)
	}
	req := AccessRequest{
		UserID:         viewer.ID,
		AccountID:      id,
		Role:           Role(in.Role),
		Reason:         strings.TrimSpace(in.Reason),
		Status:         AccessPending,
		CreatedAt:      s.clock.Now(),
		RequesterName:  viewer.Name,
		RequesterEmail: viewer.Email,
	}
	if Scope(in.Scope) == ScopeVirtual {
		req.VirtualAccounts = cleanNames(in.VirtualAccounts)
	}
	held, err := s.holds(ctx, viewer, a, l.Relation, req.Role, req.VirtualAccounts)
	if err != nil {
		return AccessRequest{}, err
	}
	if held {
		return AccessRequest{}, ErrAccessAlreadyHeld
	}

	rules, err := s.store.AccessAutomation(ctx, id)
	if err != nil {
		return AccessRequest{}, fmt.Errorf("request access to %s: rules: %w", id, err)
	}
	var emails []Email
	auto := rules.Apply(viewer.Email, a.Domain, req)
	if auto != nil {
		auto.AccountID, auto.At, auto.By = id, req.CreatedAt, ""
		emails = decisionEmails(a, req, *auto)
	} else {
		// The administrators are told in the transaction that records the
		// request, so neither exists without the other.
		admins, err := s.store.AdminsOf(ctx, []AccountID{id}, maxNotifiedAdmins)
		if err != nil {
			return AccessRequest{}, fmt.Errorf("request access to %s: find administrators: %w", id, err)
		}
		for _, admin := range admins[id] {
			data := accessEmailData(a, req)
			data.Reason = req.Reason
			emails = append(emails, Email{Kind: EmailAccessRequested, To: admin.Email, AccountID: id, Data: data})
		}
	}
	created, err := s.store.CreateAccessRequest(ctx, req, viewer.Email, emails, auto, s.limits.quota(viewer.ID, req.CreatedAt, emails))
	switch {
	case errors.Is(err, ErrNoSuchVirtualAccount):
		return AccessRequest{}, FieldErrors{"virtual_accounts": {Msg: "access.error.va_unknown"}}
	case errors.Is(err, ErrConflict):
		return AccessRequest{}, ErrAccessAlreadyRequested
	case err != nil:
		return AccessRequest{}, fmt.Errorf("request access to %s: %w", id, err)
	}
	return created, nil
}

// holds reports whether viewer already holds role on the scope: a Smart
// Account role covers the account and all its Virtual Accounts; a Virtual
// Account role covers only that Virtual Account, never the Smart Account.
func (s *AccessManagement) holds(ctx context.Context, viewer User, a SmartAccount, rel Relation, role Role, vas []string) (bool, error) {
	if rel.Role.Rank() >= role.Rank() {
		return true, nil
	}
	if len(vas) == 0 || rel.VARole == "" {
		return false, nil
	}
	mine, _, err := s.store.VirtualAccountsOf(ctx, viewer.ID, []AccountID{a.ID}, MaxShownVirtualAccounts)
	if err != nil {
		return false, fmt.Errorf("request access to %s: virtual accounts: %w", a.ID, err)
	}
	for _, name := range vas {
		i := slices.IndexFunc(mine[a.ID], func(va VirtualAccountAccess) bool { return va.Name == name })
		if i < 0 || mine[a.ID][i].Role.Rank() < role.Rank() {
			return false, nil
		}
	}
	return true, nil
}

// PendingAccessRequest is viewer's waiting request for account id, or ErrNotFound.
func (s *AccessManagement) PendingAccessRequest(ctx context.Context, viewerID int64, id AccountID) (AccessRequest, error) {
	return s.store.PendingAccessRequest(ctx, viewerID, id)
}
