package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Virtual Accounts are managed on their Smart Account's page (Cisco's
// lic224154, lic224156): its Administrator creates, renames and deletes
// them; a Virtual Account's own Administrator renames it. DEFAULT, which
// every active account starts with, stays as it is. Only an empty Virtual
// Account is deleted: one nobody holds a role on, no pending access request
// asks for and no automation rule names, since deleting it would take those
// with it. To anyone else the Virtual Accounts of an account they may not
// manage do not exist (ErrNotFound), as a missing id would not.

// ManagedVirtualAccount is one Virtual Account as its managers see it.
type ManagedVirtualAccount struct {
	VirtualAccount
	// What keeps it from being deleted: role holders, pending access
	// requests that ask for it, and whether an automation rule names it.
	Holders         int
	PendingRequests int
	InRule          bool
	// ViewerRole is the viewer's role on this Virtual Account, "" for none.
	ViewerRole Role
}

// Empty reports whether nothing would go with va if it were deleted.
func (va ManagedVirtualAccount) Empty() bool {
	return va.Holders == 0 && va.PendingRequests == 0 && !va.InRule
}

// IsDefault reports whether va is the account's DEFAULT Virtual Account.
func (va ManagedVirtualAccount) IsDefault() bool { return va.Name == DefaultVirtualAccount }

// VirtualAccountChange creates (ID 0), renames or deletes a Virtual Account.
type VirtualAccountChange struct {
	AccountID AccountID
	ID        int64
	Name      string // the new name; the deleted one's for a deletion
	OldName   string
	Actor     string
	ActorID   int64
	At        time.Time
}

// VirtualAccountStore is what managing Virtual Accounts reads and writes.
// Every change is one transaction with its event.
type VirtualAccountStore interface {
	// ManagedVirtualAccount is Virtual Account vaID of account id as its
	// manager sees it: what keeps it from being deleted, and viewerID's role
	// on it; ErrNotFound when vaID is not account id's.
	ManagedVirtualAccount(ctx context.Context, viewerID int64, id AccountID, vaID int64) (ManagedVirtualAccount, error)
	// AddVirtualAccount creates c.Name under an active account, or returns
	// ErrVirtualAccountNameTaken.
	AddVirtualAccount(ctx context.Context, c VirtualAccountChange) (int64, error)
	// RenameVirtualAccount renames c.ID unless it is DEFAULT or the name is
	// taken (ErrVirtualAccountNameTaken).
	RenameVirtualAccount(ctx context.Context, c VirtualAccountChange) error
	// DeleteVirtualAccount deletes c.ID if it is not DEFAULT and still
	// empty when locked, or returns ErrVirtualAccountInUse.
	DeleteVirtualAccount(ctx context.Context, c VirtualAccountChange) error
}

// Errors of managing Virtual Accounts.
var (
	ErrVirtualAccountNameTaken = fmt.Errorf("the Smart Account has a Virtual Account of that name: %w", ErrConflict)
	ErrVirtualAccountInUse     = fmt.Errorf("the Virtual Account is not empty: %w", ErrConflict)
	// ErrTooManyVirtualAccounts: an account holds at most
	// MaxVirtualAccounts, as many as its page draws.
	ErrTooManyVirtualAccounts = fmt.Errorf("the Smart Account has %d Virtual Accounts already: %w", MaxVirtualAccounts, ErrConflict)
	ErrDefaultVirtualAccount  = fmt.Errorf("the DEFAULT Virtual Account stays as it is: %w", ErrConflict)
)

// CheckVirtualAccountName is a Virtual Account's name as stored (trimmed),
// or the message for the field: 1 to MaxNameLength characters of one line.
func CheckVirtualAccountName(raw string) (string, *FieldError) {
	name := strings.TrimSpace(raw)
	switch n := utf8.RuneCountInString(name); {
	case CheckText(name) != TextOK || strings.ContainsAny(name, "\t\r\n"):
		return "", &FieldError{Msg: "va.error.name_text"}
	case n == 0:
		return "", &FieldError{Msg: "va.error.name_required"}
	case n > MaxNameLength:
		return "", &FieldError{Msg: "request.error.too_long", Args: []any{"Max", MaxNameLength}}
	case strings.EqualFold(name, DefaultVirtualAccount):
		return "", &FieldError{Msg: "va.error.name_taken", Args: []any{"Name", name}}
	}
	return name, nil
}

// MayRenameVirtualAccount: the Smart Account's Administrator renames any of
// its Virtual Accounts, a Virtual Account's Administrator their own; DEFAULT
// keeps its name. Anyone else finds no such Virtual Account.
func MayRenameVirtualAccount(a SmartAccount, rel Relation, va ManagedVirtualAccount) error {
	if !CanManage(a, rel) && (a.Status != StatusActive || va.ViewerRole != RoleAdmin) {
		return ErrNotFound
	}
	if va.IsDefault() {
		return ErrDefaultVirtualAccount
	}
	return nil
}

// MayDeleteVirtualAccount: only the Smart Account's Administrator, and only
// an empty Virtual Account other than DEFAULT.
func MayDeleteVirtualAccount(a SmartAccount, rel Relation, va ManagedVirtualAccount) error {
	switch {
	case !CanManage(a, rel):
		return ErrNotFound
	case va.IsDefault():
		return ErrDefaultVirtualAccount
	case !va.Empty():
		return ErrVirtualAccountInUse
	}
	return nil
}

// VirtualAccountChoices is what u may do with account id's Virtual
// Accounts: CanCreate, and the Virtual Accounts u may rename or delete,
// each with whether they may.
type VirtualAccountChoices struct {
	CanCreate bool
	Items     []VirtualAccountChoice
}

// VirtualAccountChoice is one Virtual Account and what u may do with it.
type VirtualAccountChoice struct {
	ManagedVirtualAccount
	CanRename bool
	CanDelete bool
}

// mayManageVirtualAccounts says whether the viewer with relation rel to a
// may change any of its Virtual Accounts: the account's Administrator, or
// an administrator of one of its Virtual Accounts. The account page reads
// the Virtual Accounts to manage (virtualAccountChoices) only then.
func mayManageVirtualAccounts(a SmartAccount, rel Relation) bool {
	return CanManage(a, rel) || (a.Status == StatusActive && rel.VARole == RoleAdmin)
}

// virtualAccountChoices is what the viewer with relation rel to a may do
// with each of vas, a's Virtual Accounts as the store lists them to manage.
func virtualAccountChoices(a SmartAccount, rel Relation, vas []ManagedVirtualAccount) VirtualAccountChoices {
	out := VirtualAccountChoices{CanCreate: CanManage(a, rel)}
	for _, va := range vas {
		item := VirtualAccountChoice{ManagedVirtualAccount: va,
			CanRename: MayRenameVirtualAccount(a, rel, va) == nil, CanDelete: MayDeleteVirtualAccount(a, rel, va) == nil}
		if item.CanRename || out.CanCreate {
			out.Items = append(out.Items, item)
		}
	}
	return out
}

// MaxVirtualAccounts bounds the Virtual Accounts of one Smart Account
// (DEFAULT included): the rows an administrator can make, and no more than
// the account's page draws.
const MaxVirtualAccounts = MaxShownVirtualAccounts

// CreateVirtualAccount is "Create Virtual Account", for the Smart Account's
// Administrator.
func (s *AccessManagement) CreateVirtualAccount(ctx context.Context, u User, id AccountID, name string) (ManagedVirtualAccount, error) {
	if _, err := administered(ctx, s.store, u, id); err != nil {
		return ManagedVirtualAccount{}, err
	}
	clean, fe := CheckVirtualAccountName(name)
	if fe != nil {
		return ManagedVirtualAccount{}, FieldErrors{"name": *fe}
	}
	c := VirtualAccountChange{AccountID: id, Name: clean, Actor: u.Email, ActorID: u.ID, At: s.clock.Now()}
	vaID, err := s.store.AddVirtualAccount(ctx, c)
	if errors.Is(err, ErrVirtualAccountNameTaken) {
		return ManagedVirtualAccount{}, FieldErrors{"name": {Msg: "va.error.name_taken", Args: []any{"Name", clean}}}
	}
	if errors.Is(err, ErrTooManyVirtualAccounts) {
		return ManagedVirtualAccount{}, FieldErrors{"name": {Msg: "va.error.too_many", Args: []any{"Max", MaxVirtualAccounts}}}
	}
	if err != nil {
		return ManagedVirtualAccount{}, fmt.Errorf("create virtual account %q in %s: %w", clean, id, err)
	}
	return ManagedVirtualAccount{VirtualAccount: VirtualAccount{ID: vaID, AccountID: id, Name: clean}}, nil
}

// managed is Virtual Account vaID of account id with the account and u's
// relation to it; ErrNotFound when vaID is not id's.
func (s *AccessManagement) managed(ctx context.Context, u User, id AccountID, vaID int64) (SmartAccount, Relation, ManagedVirtualAccount, error) {
	a, rel, err := accountRelation(ctx, s.store, u, id)
	if err != nil {
		return SmartAccount{}, Relation{}, ManagedVirtualAccount{}, err
	}
	va, err := s.store.ManagedVirtualAccount(ctx, u.ID, id, vaID)
	if err != nil {
		return SmartAccount{}, Relation{}, ManagedVirtualAccount{}, fmt.Errorf("virtual account %d of %s: %w", vaID, id, err)
	}
	return a, rel, va, nil
}

// RenameVirtualAccount renames Virtual Account vaID of account id.
func (s *AccessManagement) RenameVirtualAccount(ctx context.Context, u User, id AccountID, vaID int64, name string) error {
	a, rel, va, err := s.managed(ctx, u, id, vaID)
	if err != nil {
		return err
	}
	if err := MayRenameVirtualAccount(a, rel, va); err != nil {
		return fmt.Errorf("rename virtual account %d of %s: %w", vaID, id, err)
	}
	clean, fe := CheckVirtualAccountName(name)
	if fe != nil {
		return FieldErrors{"name": *fe}
	}
	if clean == va.Name {
		return nil
	}
	c := VirtualAccountChange{AccountID: id, ID: vaID, Name: clean, OldName: va.Name, Actor: u.Email, ActorID: u.ID, At: s.clock.Now()}
	switch err := s.store.RenameVirtualAccount(ctx, c); {
	case errors.Is(err, ErrVirtualAccountNameTaken):
		return FieldErrors{"name": {Msg: "va.error.name_taken", Args: []any{"Name", clean}}}
	case err != nil:
		return fmt.Errorf("rename virtual account %d of %s: %w", vaID, id, err)
	}
	return nil
}

// DeleteVirtualAccount deletes an empty Virtual Account vaID of account id;
// it returns the Virtual Account as it was.
func (s *AccessManagement) DeleteVirtualAccount(ctx context.Context, u User, id AccountID, vaID int64) (ManagedVirtualAccount, error) {
	a, rel, va, err := s.managed(ctx, u, id, vaID)
	if err != nil {
		return ManagedVirtualAccount{}, err
	}
	if err := MayDeleteVirtualAccount(a, rel, va); err != nil {
		return va, fmt.Errorf("delete virtual account %d of %s: %w", vaID, id, err)
	}
	c := VirtualAccountChange{AccountID: id, ID: vaID, Name: va.Name, Actor: u.Email, ActorID: u.ID, At: s.clock.Now()}
	if err := s.store.DeleteVirtualAccount(ctx, c); err != nil {
		return va, fmt.Errorf("delete virtual account %d of %s: %w", vaID, id, err)
	}
	return va, nil
}
