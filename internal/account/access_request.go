package account

import (
	"context"
	"errors"
	"fmt"
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

// AccessRequest is a user asking for a role on a Smart Account, or on one of
// its Virtual Accounts; the account's administrators answer it.
type AccessRequest struct {
	ID             int64
	UserID         int64
	AccountID      AccountID
	VirtualAccount string // "" for the Smart Account itself
	Role           Role
	Reason         string
	Status         AccessRequestStatus
	CreatedAt      time.Time
}

// Errors of RequestAccess beyond a form's field errors.
var (
	// ErrAccessAlreadyRequested: one request per user and account waits at a time.
	ErrAccessAlreadyRequested = fmt.Errorf("an access request is already pending: %w", ErrConflict)
	// ErrAccountNotActive: only an active account has administrators to ask.
	ErrAccountNotActive = errors.New("the Smart Account is not active")
	// ErrNoSuchVirtualAccount: the named Virtual Account is not in the account.
	ErrNoSuchVirtualAccount = errors.New("no such virtual account")
)

// AccessRequestInput is what the Request Access form carries.
type AccessRequestInput struct {
	VirtualAccount string // optional
	Role           string
	Reason         string
}

// maxNotifiedAdmins bounds whom one access request emails.
const maxNotifiedAdmins = 50

// RequestableRoles are the roles a user may ask for, strongest first.
var RequestableRoles = []Role{RoleAdmin, RoleUser, RoleViewer}

// Validate reports a message per wrong field.
func (in AccessRequestInput) Validate() FieldErrors {
	fe := FieldErrors{}
	if utf8.RuneCountInString(strings.TrimSpace(in.VirtualAccount)) > MaxNameLength {
		fe.Add("virtual_account", "access.error.va_too_long", "Max", MaxNameLength)
	}
	switch Role(in.Role) {
	case RoleAdmin, RoleUser, RoleViewer:
	default:
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

// RequestAccess records viewer's request for a role on account id. query is
// what they searched with, which lets them reach a restricted account (see
// SightOf); an account they may not see is ErrNotFound.
func (s *Service) RequestAccess(ctx context.Context, viewer User, id AccountID, query string, in AccessRequestInput) (AccessRequest, error) {
	if err := in.Validate().Err(); err != nil {
		return AccessRequest{}, err
	}
	a, rel, err := s.store.AccountFor(ctx, viewer.ID, id, query, exactDomain(query))
	if err != nil {
		return AccessRequest{}, fmt.Errorf("request access to %s: %w", id, err)
	}
	if !SightOf(viewer, a, rel).Listing {
		return AccessRequest{}, fmt.Errorf("request access to %s: %w", id, ErrNotFound)
	}
	if a.Status != StatusActive {
		return AccessRequest{}, fmt.Errorf("request access to %s: %w", id, ErrAccountNotActive)
	}
	req := AccessRequest{
		UserID:         viewer.ID,
		AccountID:      id,
		VirtualAccount: strings.TrimSpace(in.VirtualAccount),
		Role:           Role(in.Role),
		Reason:         strings.TrimSpace(in.Reason),
		Status:         AccessPending,
		CreatedAt:      s.clock.Now(),
	}
	// The administrators are told in the transaction that records the
	// request, so neither exists without the other.
	admins, err := s.store.AdminsOf(ctx, []AccountID{id}, maxNotifiedAdmins)
	if err != nil {
		return AccessRequest{}, fmt.Errorf("request access to %s: find administrators: %w", id, err)
	}
	var emails []Email
	for _, admin := range admins[id] {
		emails = append(emails, Email{Kind: EmailAccessRequested, To: admin.Email, AccountID: id, Data: EmailData{
			AccountID: id.String(), AccountName: a.Name, Domain: DisplayDomain(a.Domain),
			RequesterName: viewer.Name, RequesterEmail: viewer.Email,
			Role: req.Role, VirtualAccount: req.VirtualAccount, Reason: req.Reason,
		}})
	}
	created, err := s.store.CreateAccessRequest(ctx, req, viewer.Email, emails)
	switch {
	case errors.Is(err, ErrNoSuchVirtualAccount):
		return AccessRequest{}, FieldErrors{"virtual_account": {Msg: "access.error.va_unknown"}}
	case errors.Is(err, ErrConflict):
		return AccessRequest{}, ErrAccessAlreadyRequested
	case err != nil:
		return AccessRequest{}, fmt.Errorf("request access to %s: %w", id, err)
	}
	return created, nil
}

// PendingAccessRequest is viewer's waiting request for account id, or ErrNotFound.
func (s *Service) PendingAccessRequest(ctx context.Context, viewerID int64, id AccountID) (AccessRequest, error) {
	return s.store.PendingAccessRequest(ctx, viewerID, id)
}
