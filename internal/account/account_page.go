package account

import (
	"context"
	"fmt"
)

// RoleHolder is someone's role on a Smart Account or one of its Virtual Accounts.
type RoleHolder struct {
	UserID         int64
	Name           string
	Email          string
	Role           Role
	VirtualAccount string // "" for the Smart Account itself
}

// Page sizes and bounds of an account's page.
const (
	HoldersPageSize = 50
	EventsPageSize  = 25
	// MaxShownVirtualAccounts bounds the hierarchy an account's page draws.
	MaxShownVirtualAccounts = 500
)

// AccountDetails is a Smart Account's page, cut to what the viewer may see:
// the fields Sight does not allow stay empty.
type AccountDetails struct {
	Listing
	Holders Page[RoleHolder]
	Events  Page[Event]
	// CanRequestAccess offers "Request Access".
	CanRequestAccess bool
}

// AccountPageQuery asks for an account's page.
type AccountPageQuery struct {
	ID AccountID
	// Query is the search that led here; it is how a restricted account is
	// reached by someone without a role (see SightOf).
	Query       string
	HoldersPage int
	EventsPage  int
}

// AccountPage shows a Smart Account to viewer. An account they may not see
// at all is ErrNotFound, the same answer as for an id that does not exist.
func (s *Service) AccountPage(ctx context.Context, viewer User, q AccountPageQuery) (AccountDetails, error) {
	a, rel, err := s.store.AccountFor(ctx, viewer.ID, q.ID, q.Query, exactDomain(q.Query))
	if err != nil {
		return AccountDetails{}, fmt.Errorf("account %s: %w", q.ID, err)
	}
	sight := SightOf(viewer, a, rel)
	if !sight.Listing {
		return AccountDetails{}, fmt.Errorf("account %s: %w", q.ID, ErrNotFound)
	}
	d := AccountDetails{
		Listing:          Listing{Account: a, Relation: rel, Sight: sight},
		CanRequestAccess: CanRequestAccess(a, rel, sight),
	}
	if d.Admins, err = s.adminsOf(ctx, a.ID); err != nil {
		return AccountDetails{}, err
	}
	if sight.VirtualAccounts {
		vas, more, err := s.store.VirtualAccountsOf(ctx, viewer.ID, []AccountID{a.ID}, MaxShownVirtualAccounts)
		if err != nil {
			return AccountDetails{}, fmt.Errorf("account %s: virtual accounts: %w", a.ID, err)
		}
		d.VirtualAccounts, d.MoreVirtualAccounts = vas[a.ID], more[a.ID]
	}
	if sight.RoleHolders {
		n := ClampPage(q.HoldersPage)
		hs, err := s.store.RoleHolders(ctx, a.ID, HoldersPageSize+1, (n-1)*HoldersPageSize)
		if err != nil {
			return AccountDetails{}, fmt.Errorf("account %s: role holders: %w", a.ID, err)
		}
		d.Holders = pageOf(hs, n, HoldersPageSize)
	}
	if sight.History {
		n := ClampPage(q.EventsPage)
		es, err := s.store.Events(ctx, a.ID, EventsPageSize+1, (n-1)*EventsPageSize)
		if err != nil {
			return AccountDetails{}, fmt.Errorf("account %s: history: %w", a.ID, err)
		}
		d.Events = pageOf(es, n, EventsPageSize)
	}
	return d, nil
}

// MaxShownAdmins bounds the contacts an account's own page lists.
const MaxShownAdmins = 50

func (s *Service) adminsOf(ctx context.Context, id AccountID) ([]Contact, error) {
	m, err := s.store.AdminsOf(ctx, []AccountID{id}, MaxShownAdmins)
	if err != nil {
		return nil, fmt.Errorf("account %s: administrators: %w", id, err)
	}
	return m[id], nil
}

// AccountListing is what the Request Access page shows of an account: its
// listing, if the viewer may see it, with their relation to it.
func (s *Service) AccountListing(ctx context.Context, viewer User, id AccountID, query string) (Listing, error) {
	a, rel, err := s.store.AccountFor(ctx, viewer.ID, id, query, exactDomain(query))
	if err != nil {
		return Listing{}, fmt.Errorf("account %s: %w", id, err)
	}
	sight := SightOf(viewer, a, rel)
	if !sight.Listing {
		return Listing{}, fmt.Errorf("account %s: %w", id, ErrNotFound)
	}
	l := Listing{Account: a, Relation: rel, Sight: Sight{Listing: true}}
	if l.Admins, err = s.adminsOf(ctx, id); err != nil {
		return Listing{}, err
	}
	return l, nil
}
