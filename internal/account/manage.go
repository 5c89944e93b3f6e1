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

// Account Management is a Smart Account Administrator's own: the pending
// access requests, the users and the automation rules of the accounts they
// administer. To anyone else, staff included, it does not exist: every
// method here answers ErrNotFound to someone who is not an Administrator of
// the Smart Account itself, so a crafted request learns no more than a
// missing id would. A Virtual Account Administrator administers that Virtual
// Account, not its Smart Account, and is refused like anyone else.

// AccessManagement is asking for access to an account and its Administrators
// deciding (Account Management): access requests, their automation, and
// who holds which role. It touches roles, access requests and their
// emails, and reads what the directory reads.
type AccessManagement struct {
	store    AccessStore
	clock    Clock
	listings *Listings
	limits   *EmailLimits
}

// AccessStore is what AccessManagement needs from persistence.
type AccessStore interface {
	DirectoryStore
	ManagementStore
	VirtualAccountStore
	UsersImportStore
	AccessConversationStore
	UserByEmail(ctx context.Context, email string) (User, error)
}

// NewAccessManagement wires AccessManagement; listings decorates what it lists as the
// directory does.
func NewAccessManagement(store AccessStore, clock Clock, listings *Listings, limits *EmailLimits) *AccessManagement {
	return &AccessManagement{store: store, clock: clock, listings: listings, limits: limits}
}

// ManagementStore is what Account Management reads and writes.
type ManagementStore interface {
	// AdministeredAccounts lists the active accounts userID holds the Smart
	// Account Administrator role on, by name, with their pending requests.
	AdministeredAccounts(ctx context.Context, userID int64) ([]ManagedAccount, error)
	// AccessRequests lists the requests of accounts ids in status, oldest
	// first, at most limit.
	AccessRequests(ctx context.Context, ids []AccountID, status AccessRequestStatus, limit int) ([]AccessRequest, error)
	// PendingAccessRequestsOf lists the pending requests of the active
	// accounts userID holds the Smart Account Administrator role on, oldest
	// first, at most limit, each with its account; its cost is the page's,
	// however many accounts userID administers.
	PendingAccessRequestsOf(ctx context.Context, userID int64, limit int) ([]PendingAccess, error)
	// AccessRequestByID is one request of account id; ErrNotFound when it
	// is not that account's.
	AccessRequestByID(ctx context.Context, id AccountID, requestID int64) (AccessRequest, error)
	// DecideAccessRequest records d if the request is still pending, grants
	// what an approval gives, records the event and queues emails, in one
	// transaction; ErrAccessRequestDecided when it was not pending.
	DecideAccessRequest(ctx context.Context, d AccessDecision, emails []Email) (AccessRequest, error)
	// SetRole gives, changes or (Role "") removes one role; ErrLastAdmin when
	// it would leave the Smart Account without an Administrator.
	SetRole(ctx context.Context, c RoleChange) error
	// AccessAutomation is an account's rules; the zero rules when none saved.
	AccessAutomation(ctx context.Context, id AccountID) (AutomationRules, error)
	// SaveAccessAutomation replaces the rules and records the change.
	SaveAccessAutomation(ctx context.Context, id AccountID, r AutomationRules, actor string, actorID int64, at time.Time) error
}

// Errors of Account Management.
var (
	// ErrAccessRequestDecided: someone, or a rule, decided first.
	ErrAccessRequestDecided = fmt.Errorf("the access request was already decided: %w", ErrConflict)
	// ErrLastAdmin: a Smart Account keeps at least one Administrator.
	ErrLastAdmin = fmt.Errorf("the last administrator cannot be removed: %w", ErrConflict)
)

// ManagedAccount is an account its Administrator manages.
type ManagedAccount struct {
	Account SmartAccount
	Pending int
}

// ManagementMenu is what the left menu shows of Account Management: how
// many accounts the viewer administers and the access requests waiting on
// them; the zero value hides it.
type ManagementMenu struct {
	Accounts int
	Pending  int
}

// ManagedAccounts lists the accounts u administers.
func (s *AccessManagement) ManagedAccounts(ctx context.Context, u User) ([]ManagedAccount, error) {
	return s.store.AdministeredAccounts(ctx, u.ID)
}

// administered returns account id when u is an Administrator of the Smart
// Account itself and it is active (CanManage); anything else is
// ErrNotFound. Account Management and webhooks scoped to an account ask it.
func administered(ctx context.Context, store relationReader, u User, id AccountID) (SmartAccount, error) {
	a, rel, err := accountRelation(ctx, store, u, id)
	if err != nil {
		return SmartAccount{}, fmt.Errorf("manage: %w", err)
	}
	if !CanManage(a, rel) {
		return SmartAccount{}, fmt.Errorf("manage %s: %w", id, ErrNotFound)
	}
	return a, nil
}

// CanManage reports whether someone related to a by rel administers it:
// only the Smart Account's own Administrator role counts.
func CanManage(a SmartAccount, rel Relation) bool {
	return rel.Role == RoleAdmin && a.Status == StatusActive
}

// MaxListedAccessRequests bounds one list of pending requests.
const MaxListedAccessRequests = 500

// PendingAccessRequest is one row of "Pending Access Requests".
type PendingAccess struct {
	Request AccessRequest
	Account SmartAccount
	// DomainMatches says the requester's email domain is the account's
	// domain or under it; a mismatch is flagged for the administrator.
	DomainMatches bool
}

// AccountAccessRequests is one account's pending requests, for its Administrator.
func (s *AccessManagement) AccountAccessRequests(ctx context.Context, u User, id AccountID) (SmartAccount, []PendingAccess, error) {
	a, err := administered(ctx, s.store, u, id)
	if err != nil {
		return SmartAccount{}, nil, err
	}
	rows, err := s.pendingOf(ctx, []SmartAccount{a})
	return a, rows, err
}

// AllAccessRequests is the pending requests of every account u administers.
func (s *AccessManagement) AllAccessRequests(ctx context.Context, u User) ([]PendingAccess, error) {
	out, err := s.store.PendingAccessRequestsOf(ctx, u.ID, MaxListedAccessRequests)
	if err != nil {
		return nil, fmt.Errorf("pending access requests: %w", err)
	}
	for i := range out {
		out[i] = pendingAccess(out[i].Request, out[i].Account)
	}
	return out, nil
}

func (s *AccessManagement) pendingOf(ctx context.Context, accounts []SmartAccount) ([]PendingAccess, error) {
	if len(accounts) == 0 {
		return nil, nil
	}
	byID := map[AccountID]SmartAccount{}
	ids := make([]AccountID, len(accounts))
	for i, a := range accounts {
		ids[i], byID[a.ID] = a.ID, a
	}
	reqs, err := s.store.AccessRequests(ctx, ids, AccessPending, MaxListedAccessRequests)
	if err != nil {
		return nil, fmt.Errorf("pending access requests: %w", err)
	}
	out := make([]PendingAccess, len(reqs))
	for i, r := range reqs {
		out[i] = pendingAccess(r, byID[r.AccountID])
	}
	return out, nil
}

// pendingAccess is request r to account a as its administrator sees it.
func pendingAccess(r AccessRequest, a SmartAccount) PendingAccess {
	return PendingAccess{Request: r, Account: a, DomainMatches: UnderDomain(EmailDomain(r.RequesterEmail), a.Domain)}
}

// UnderDomain reports whether d is domain or one of its subdomains.
func UnderDomain(d, domain string) bool {
	return d == domain || strings.HasSuffix(d, "."+domain)
}

// AccessRequestToDecide is one request with what its decision may choose
// from: the account's Virtual Accounts.
type AccessRequestToDecide struct {
	PendingAccess
	VirtualAccounts []string
}

// AccessRequestFor opens one request of account id for its Administrator.
// A decided request opens too, to say how it was decided.
func (s *AccessManagement) AccessRequestFor(ctx context.Context, u User, id AccountID, requestID int64) (AccessRequestToDecide, error) {
	a, err := administered(ctx, s.store, u, id)
	if err != nil {
		return AccessRequestToDecide{}, err
	}
	r, err := s.store.AccessRequestByID(ctx, id, requestID)
	if err != nil {
		return AccessRequestToDecide{}, fmt.Errorf("access request %d of %s: %w", requestID, id, err)
	}
	vas, err := s.vaNames(ctx, u, id)
	if err != nil {
		return AccessRequestToDecide{}, err
	}
	return AccessRequestToDecide{
		PendingAccess:   PendingAccess{Request: r, Account: a, DomainMatches: UnderDomain(EmailDomain(r.RequesterEmail), a.Domain)},
		VirtualAccounts: vas,
	}, nil
}

func (s *AccessManagement) vaNames(ctx context.Context, u User, id AccountID) ([]string, error) {
	vas, _, err := s.store.VirtualAccountsOf(ctx, u.ID, []AccountID{id}, MaxShownVirtualAccounts)
	if err != nil {
		return nil, fmt.Errorf("account %s: virtual accounts: %w", id, err)
	}
	names := make([]string, len(vas[id]))
	for i, va := range vas[id] {
		names[i] = va.Name
	}
	return names, nil
}

// Rule names an automation rule that decided a request.
type Rule string

const (
	RuleSameDomain  Rule = "same_domain"
	RuleOtherDomain Rule = "other_domain"
)

// AccessDecision is an approval or a decline of one access request.
type AccessDecision struct {
	RequestID int64
	AccountID AccountID
	Approve   bool
	// What an approval grants; VirtualAccounts empty is the entire Smart Account.
	Role            Role
	VirtualAccounts []string
	Reason          string // a decline's, sent to the requester; may be ""
	By              string // the administrator's email; "" for a rule
	ByUser          int64
	Rule            Rule
	At              time.Time
}

// AccessDecisionInput is what the administrator chose: "Decline" with an
// optional reason, or "Approve" with a Scope of Access and a User Role.
type AccessDecisionInput struct {
	Scope           string
	VirtualAccounts []string
	Role            string
	Reason          string
}

// ValidateApproval reports a message per wrong field of an approval.
func (in AccessDecisionInput) ValidateApproval() FieldErrors {
	fe := FieldErrors{}
	switch Scope(in.Scope) {
	case "", ScopeAccount: // none is the entire Smart Account
	case ScopeVirtual:
		if msg := checkVirtualAccounts(in.VirtualAccounts); msg != "" {
			fe.Add("virtual_accounts", msg, "Max", MaxRequestedVirtualAccounts)
		}
	default:
		fe.Add("scope", "access.error.scope")
	}
	if !slices.Contains(RequestableRoles, Role(in.Role)) {
		fe.Add("role", "access.error.role")
	}
	return fe
}

// ValidateDecline reports a message per wrong field of a decline.
func (in AccessDecisionInput) ValidateDecline() FieldErrors {
	fe := FieldErrors{}
	if utf8.RuneCountInString(strings.TrimSpace(in.Reason)) > MaxReasonLength {
		fe.Add("reason", "access.error.reason_too_long", "Max", MaxReasonLength)
	}
	return fe
}

// AccessRequestDecidedError says how a request was decided, for whoever
// came second.
type AccessRequestDecidedError struct{ Request AccessRequest }

func (e *AccessRequestDecidedError) Error() string {
	return fmt.Sprintf("access request %d was already %s", e.Request.ID, e.Request.Status)
}
func (e *AccessRequestDecidedError) Unwrap() error { return ErrAccessRequestDecided }

// DecideAccess approves or declines one request of account id. Exactly one
// decision stands: the store's update is conditional on the request still
// pending, so a second administrator, a double click or a rule that came
// first gets AccessRequestDecidedError.
func (s *AccessManagement) DecideAccess(ctx context.Context, u User, id AccountID, requestID int64, approve bool, in AccessDecisionInput) (AccessRequest, error) {
	a, err := administered(ctx, s.store, u, id)
	if err != nil {
		return AccessRequest{}, err
	}
	return s.decideAccess(ctx, u, a, requestID, approve, in)
}

func (s *AccessManagement) decideAccess(ctx context.Context, u User, a SmartAccount, requestID int64, approve bool, in AccessDecisionInput) (AccessRequest, error) {
	fe := in.ValidateDecline()
	if approve {
		fe = in.ValidateApproval()
	}
	if err := fe.Err(); err != nil {
		return AccessRequest{}, err
	}
	r, err := s.store.AccessRequestByID(ctx, a.ID, requestID)
	if err != nil {
		return AccessRequest{}, fmt.Errorf("access request %d of %s: %w", requestID, a.ID, err)
	}
	if r.Status != AccessPending {
		return AccessRequest{}, &AccessRequestDecidedError{Request: r}
	}
	d := AccessDecision{RequestID: r.ID, AccountID: a.ID, Approve: approve, By: u.Email, ByUser: u.ID, At: s.clock.Now()}
	if approve {
		d.Role = Role(in.Role)
		if Scope(in.Scope) == ScopeVirtual {
			d.VirtualAccounts = cleanNames(in.VirtualAccounts)
		}
	} else {
		d.Reason = strings.TrimSpace(in.Reason)
	}
	out, err := s.store.DecideAccessRequest(ctx, d, decisionEmails(a, r, d))
	switch {
	case errors.Is(err, ErrNoSuchVirtualAccount):
		return AccessRequest{}, FieldErrors{"virtual_accounts": {Msg: "access.error.va_unknown"}}
	case errors.Is(err, ErrAccessRequestDecided):
		now, rerr := s.store.AccessRequestByID(ctx, a.ID, requestID)
		if rerr != nil {
			return AccessRequest{}, fmt.Errorf("read access request %d after losing a race: %w", requestID, rerr)
		}
		return AccessRequest{}, &AccessRequestDecidedError{Request: now}
	case err != nil:
		return AccessRequest{}, fmt.Errorf("decide access request %d of %s: %w", requestID, a.ID, err)
	}
	return out, nil
}

// accessEmailData is what every email about access request r to account a
// says of them: the account, the requester and what was asked.
func accessEmailData(a SmartAccount, r AccessRequest) EmailData {
	return EmailData{
		AccountID: a.ID.String(), AccountName: a.Name, Domain: DisplayDomain(a.Domain),
		RequesterName: r.RequesterName, RequesterEmail: r.RequesterEmail,
		Role: r.Role, VirtualAccount: strings.Join(r.VirtualAccounts, ", "),
	}
}

// decisionEmails tells the requester how their request was decided.
func decisionEmails(a SmartAccount, r AccessRequest, d AccessDecision) []Email {
	data := accessEmailData(a, r)
	data.Actor = d.By
	kind := EmailAccessDeclined
	if d.Approve {
		kind = EmailAccessApproved
		data.Role, data.VirtualAccount = d.Role, strings.Join(d.VirtualAccounts, ", ")
	} else {
		data.Reason = d.Reason
	}
	return []Email{{Kind: kind, To: r.RequesterEmail, AccountID: a.ID, Data: data}}
}

// BulkResult says what a bulk decision did.
type BulkResult struct {
	Decided int
	// AlreadyDecided counts requests someone else decided first; each was
	// decided, and emailed, once.
	AlreadyDecided int
}

// MaxBulk bounds one bulk decision.
const MaxBulk = 100

// DecideAccessBulk approves (with one scope and role) or declines several
// requests of account id. Each is its own decision, as if decided one by
// one: one that was decided meanwhile is counted, not decided again.
func (s *AccessManagement) DecideAccessBulk(ctx context.Context, u User, id AccountID, requestIDs []int64, approve bool, in AccessDecisionInput) (BulkResult, error) {
	a, err := administered(ctx, s.store, u, id)
	if err != nil {
		return BulkResult{}, err
	}
	if len(requestIDs) == 0 {
		return BulkResult{}, FieldErrors{"requests": {Msg: "manage.bulk.error.none"}}
	}
	if len(requestIDs) > MaxBulk {
		return BulkResult{}, FieldErrors{"requests": {Msg: "manage.bulk.error.too_many", Args: []any{"Max", MaxBulk}}}
	}
	requestIDs = slices.Compact(slices.Sorted(slices.Values(requestIDs)))
	// Every id must be a request of this account before any is decided, so
	// a crafted list with another account's request changes nothing.
	for _, rid := range requestIDs {
		if _, err := s.store.AccessRequestByID(ctx, a.ID, rid); err != nil {
			return BulkResult{}, fmt.Errorf("access request %d of %s: %w", rid, a.ID, err)
		}
	}
	var res BulkResult
	for _, rid := range requestIDs {
		_, err := s.decideAccess(ctx, u, a, rid, approve, in)
		switch {
		case err == nil:
			res.Decided++
		case errors.Is(err, ErrAccessRequestDecided):
			res.AlreadyDecided++
		default:
			return res, err
		}
	}
	return res, nil
}

// AutomationRules are an account's "Access request Automation settings",
// applied as each request arrives.
type AutomationRules struct {
	// SameDomain is "approve" or "manual" for requesters whose email domain
	// is the account's domain or under it.
	SameDomain     string
	SameDomainRole Role
	SameDomainVA   string // "" is the entire Smart Account
	// OtherDomain is "decline" or "manual" for everyone else.
	OtherDomain string
}

// Rule actions.
const (
	RuleManual  = "manual"
	RuleApprove = "approve"
	RuleDecline = "decline"
)

// Apply is the decision the rules take on req from requesterEmail to an
// account of domain; nil leaves it for a person. An approval never grants
// more than was asked nor more than the rule allows: the weaker of the two
// roles, on the rule's Virtual Account if it names one, else on what was
// asked.
func (r AutomationRules) Apply(requesterEmail, domain string, req AccessRequest) *AccessDecision {
	if UnderDomain(EmailDomain(requesterEmail), domain) {
		if r.SameDomain != RuleApprove {
			return nil
		}
		d := &AccessDecision{Approve: true, Rule: RuleSameDomain, Role: req.Role, VirtualAccounts: req.VirtualAccounts}
		if r.SameDomainRole.Rank() < req.Role.Rank() {
			d.Role = r.SameDomainRole
		}
		if r.SameDomainVA != "" {
			d.VirtualAccounts = []string{r.SameDomainVA}
		}
		return d
	}
	if r.OtherDomain == RuleDecline {
		return &AccessDecision{Rule: RuleOtherDomain}
	}
	return nil
}

// AutomationInput is what the settings form carries.
type AutomationInput struct {
	SameDomain     string
	SameDomainRole string
	SameDomainVA   string
	OtherDomain    string
}

// Automation is account id's rules, with the Virtual Accounts a rule may name.
func (s *AccessManagement) Automation(ctx context.Context, u User, id AccountID) (SmartAccount, AutomationRules, []string, error) {
	a, err := administered(ctx, s.store, u, id)
	if err != nil {
		return SmartAccount{}, AutomationRules{}, nil, err
	}
	r, err := s.store.AccessAutomation(ctx, id)
	if err != nil {
		return SmartAccount{}, AutomationRules{}, nil, fmt.Errorf("rules of %s: %w", id, err)
	}
	vas, err := s.vaNames(ctx, u, id)
	return a, r, vas, err
}

// SaveAutomation replaces account id's rules; the change is in its history.
func (s *AccessManagement) SaveAutomation(ctx context.Context, u User, id AccountID, in AutomationInput) error {
	if _, err := administered(ctx, s.store, u, id); err != nil {
		return err
	}
	fe := FieldErrors{}
	if in.SameDomain != RuleManual && in.SameDomain != RuleApprove {
		fe.Add("same_domain", "automation.error.action")
	}
	if !slices.Contains(RequestableRoles, Role(in.SameDomainRole)) {
		fe.Add("same_domain_role", "access.error.role")
	}
	if in.OtherDomain != RuleManual && in.OtherDomain != RuleDecline {
		fe.Add("other_domain", "automation.error.action")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	r := AutomationRules{SameDomain: in.SameDomain, SameDomainRole: Role(in.SameDomainRole),
		SameDomainVA: strings.TrimSpace(in.SameDomainVA), OtherDomain: in.OtherDomain}
	err := s.store.SaveAccessAutomation(ctx, id, r, u.Email, u.ID, s.clock.Now())
	if errors.Is(err, ErrNoSuchVirtualAccount) {
		return FieldErrors{"same_domain_va": {Msg: "access.error.va_unknown"}}
	}
	if err != nil {
		return fmt.Errorf("save rules of %s: %w", id, err)
	}
	return nil
}

// RoleChange gives, changes or removes one role.
type RoleChange struct {
	AccountID      AccountID
	UserID         int64
	VirtualAccount string // "" for the Smart Account itself
	Role           Role   // "" removes the role
	Actor          string
	ActorID        int64
	At             time.Time
}

// AccountUsers is "Account Management" > "Users" of one account.
type AccountUsers struct {
	Account         SmartAccount
	Holders         Page[RoleHolder]
	VirtualAccounts []string
}

// Users lists who holds which role on account id and its Virtual Accounts.
func (s *AccessManagement) Users(ctx context.Context, u User, id AccountID, page int) (AccountUsers, error) {
	a, err := administered(ctx, s.store, u, id)
	if err != nil {
		return AccountUsers{}, err
	}
	n := ClampPage(page)
	hs, err := s.store.RoleHolders(ctx, id, HoldersPageSize+1, (n-1)*HoldersPageSize)
	if err != nil {
		return AccountUsers{}, fmt.Errorf("users of %s: %w", id, err)
	}
	vas, err := s.vaNames(ctx, u, id)
	if err != nil {
		return AccountUsers{}, err
	}
	return AccountUsers{Account: a, Holders: pageOf(hs, n, HoldersPageSize), VirtualAccounts: vas}, nil
}

// UserRoleInput names a user by email (when adding) or id, a scope and a role.
type UserRoleInput struct {
	Email          string
	UserID         int64
	VirtualAccount string
	Role           string
}

// SetUserRole gives or changes a role on account id or one of its Virtual
// Accounts. A user named by email must already exist.
func (s *AccessManagement) SetUserRole(ctx context.Context, u User, id AccountID, in UserRoleInput) error {
	if _, err := administered(ctx, s.store, u, id); err != nil {
		return err
	}
	fe := FieldErrors{}
	role := Role(in.Role)
	if !slices.Contains(RequestableRoles, role) && !(role == RoleApprover && in.VirtualAccount == "") {
		fe.Add("role", "access.error.role")
	}
	userID := in.UserID
	if in.Email != "" || userID == 0 {
		target, err := userByEmail(ctx, s.store, in.Email)
		switch {
		case errors.Is(err, ErrNotFound):
			fe.Add("email", "users.error.unknown")
		case err != nil && !errors.Is(err, ErrNotFound):
			fe.Add("email", "users.error.email")
		default:
			userID = target.ID
		}
	}
	if err := fe.Err(); err != nil {
		return err
	}
	return s.changeRole(ctx, u, RoleChange{AccountID: id, UserID: userID, VirtualAccount: strings.TrimSpace(in.VirtualAccount), Role: role})
}

// RemoveUserRole takes one role away; the last Administrator of the Smart
// Account stays.
func (s *AccessManagement) RemoveUserRole(ctx context.Context, u User, id AccountID, userID int64, va string) error {
	if _, err := administered(ctx, s.store, u, id); err != nil {
		return err
	}
	return s.changeRole(ctx, u, RoleChange{AccountID: id, UserID: userID, VirtualAccount: va})
}

func (s *AccessManagement) changeRole(ctx context.Context, u User, c RoleChange) error {
	c.Actor, c.ActorID, c.At = u.Email, u.ID, s.clock.Now()
	err := s.store.SetRole(ctx, c)
	if errors.Is(err, ErrNoSuchVirtualAccount) {
		return FieldErrors{"virtual_account": {Msg: "access.error.va_unknown"}}
	}
	if err != nil {
		return fmt.Errorf("set role of user %d on %s: %w", c.UserID, c.AccountID, err)
	}
	return nil
}
