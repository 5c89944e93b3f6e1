// Package account holds the portal's domain: users, Smart Accounts, Virtual
// Accounts, roles and their rules. It imports no database driver, no HTTP and
// no templates; the stores and transports that serve it live beside it.
package account

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AccountID identifies a Smart Account; users see it as SA-000123.
type AccountID int64

func (id AccountID) String() string { return fmt.Sprintf("SA-%06d", int64(id)) }

// ParseAccountID accepts "SA-000123", "sa-123" or "123".
func ParseAccountID(s string) (AccountID, error) {
	s = strings.TrimSpace(s)
	if len(s) > 3 && strings.EqualFold(s[:3], "SA-") {
		s = s[3:]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a Smart Account id (want SA-000123)", s)
	}
	return AccountID(n), nil
}

// ParseShownAccountID accepts an id only as String writes it ("SA-000123"):
// the one form the API documents, so that "123", "sa-123" or "SA-0000123"
// name nothing rather than a second spelling of an account.
func ParseShownAccountID(s string) (AccountID, error) {
	id, err := ParseAccountID(s)
	if err != nil || id.String() != s {
		return 0, fmt.Errorf("%q is not a Smart Account id as shown (want SA-000123)", s)
	}
	return id, nil
}

// Status is where a Smart Account stands in its life.
type Status string

const (
	StatusPending Status = "pending"
	StatusActive  Status = "active"
	StatusDenied  Status = "denied"
	StatusExpired Status = "expired"
)

// Type is a Smart Account's kind.
type Type string

const (
	TypeCustomer       Type = "customer"
	TypePartnerHolding Type = "partner_holding"
	TypeLimitedUse     Type = "limited_use"
)

// ParseType accepts the names the CLI and forms use.
func ParseType(s string) (Type, error) {
	switch t := Type(strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "_")); t {
	case TypeCustomer, TypePartnerHolding, TypeLimitedUse:
		return t, nil
	}
	return "", fmt.Errorf("account type %q is not one of customer, partner_holding, limited_use", s)
}

// Role is what a membership lets a user do.
type Role string

const (
	RoleAdmin    Role = "admin"
	RoleUser     Role = "user"
	RoleViewer   Role = "viewer"
	RoleApprover Role = "approver" // Smart Account only
)

// ParseRole accepts admin, user, viewer and approver.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleAdmin, RoleUser, RoleViewer, RoleApprover:
		return r, nil
	}
	return "", fmt.Errorf("role %q is not one of admin, user, viewer, approver", s)
}

// Rank orders roles by how much they allow, so the strongest can be shown.
func (r Role) Rank() int {
	switch r {
	case RoleAdmin:
		return 4
	case RoleApprover:
		return 3
	case RoleUser:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// DefaultVirtualAccount is the Virtual Account every active Smart Account starts with.
const DefaultVirtualAccount = "DEFAULT"

// SmartAccount is a customer's or partner's licensing account.
type SmartAccount struct {
	ID         AccountID
	Name       string
	Domain     string // lowercase ASCII (A-labels)
	Type       Type
	Restricted bool
	Status     Status
	CreatedBy  int64 // user id; 0 when made by an operator
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// VirtualAccount is a named partition of a Smart Account.
type VirtualAccount struct {
	ID        int64
	AccountID AccountID
	Name      string
}

// Membership gives a user a role on a Smart Account, or on one of its
// Virtual Accounts when VirtualAccount is set.
type Membership struct {
	UserID         int64
	AccountID      AccountID
	VirtualAccount string // "" for the Smart Account itself
	Role           Role
}

// Event is one line of a Smart Account's append-only history.
type Event struct {
	ID        int64
	AccountID AccountID
	At        time.Time
	ActorID   int64  // 0 when not a signed-in user
	Actor     string // email or name, kept as it was at the time
	Kind      string // requested, emailed, forwarded, denied, approved, expired, access_granted, created, resent, approvers_changed
	Params    EventParams
	// Client is the address the change came from ("" for the portal's own
	// jobs); only staff see it.
	Client string
}

// EventParams is what an event records beside its kind, as data rather than
// words, so that each viewer reads it in their own language. Each kind uses
// some of it.
type EventParams struct {
	Approvers      []string  `json:"approvers,omitempty"` // requested: the customer addresses asked
	To             []string  `json:"to,omitempty"`        // emailed, forwarded, reminded: the recipients
	Email          EmailKind `json:"email,omitempty"`     // emailed: which email
	User           string    `json:"user,omitempty"`      // access_granted: whose access (an address)
	Role           Role      `json:"role,omitempty"`
	VirtualAccount string    `json:"virtual_account,omitempty"` // the role's or the new Virtual Account
	// access_requested, access_approved: the Virtual Accounts of the scope;
	// none is the entire Smart Account.
	VirtualAccounts []string `json:"virtual_accounts,omitempty"`
	// automation_changed: what happens to requests from the account's
	// domain (Role and VirtualAccount say the grant of an approval) and
	// from the others.
	SameDomain  string `json:"same_domain,omitempty"`
	OtherDomain string `json:"other_domain,omitempty"`
	Reason      string `json:"reason,omitempty"` // approved, denied, access_declined: the decider's words
	// approvers_changed: the addresses a change of approvers added and removed.
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	// requested, approvers_changed: the addresses held for an operator's
	// review; approved: the User Emails the approver did not keep.
	Held    []string `json:"held,omitempty"`
	LeftOut []string `json:"left_out,omitempty"`
	// message: what was written, as written (plain text, shown as text),
	// and on which side of the request its writer stands (Side*).
	Message string `json:"message,omitempty"`
	Side    string `json:"side,omitempty"`
	// access_message: the access request written on (Message and Side say
	// what and by which side).
	AccessRequest int64 `json:"access_request,omitempty"`
	// api_token_created, api_token_revoked: the token's name.
	Name string `json:"name,omitempty"`
	// webhook_*: the endpoint's URL.
	URL string `json:"url,omitempty"`
	// sso_domain_required, sso_domain_released: the email domain.
	Domain string `json:"domain,omitempty"`
	// language_changed: the language chosen.
	Language string `json:"language,omitempty"`
	// Text is history written before events had parameters that the
	// migration could not read back, shown as it was written.
	Text string `json:"text,omitempty"`
	// requested: the account whose ended request this one sends again;
	// renewed: the account of the request that sent it again.
	Renews string `json:"renews,omitempty"`
	// virtual_account_renamed: the name before (VirtualAccount is the new one).
	OldName   string `json:"old_name,omitempty"`
	RenewedAs string `json:"renewed_as,omitempty"`
}
