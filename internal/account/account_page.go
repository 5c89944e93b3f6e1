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
	// ManageVirtualAccounts is what the viewer may change of the account's
	// Virtual Accounts; the zero value when nothing.
	ManageVirtualAccounts VirtualAccountChoices
}

// Window is one page of a list: at most Limit items after Offset.
type Window struct{ Limit, Offset int }

// AccountPartsQuery asks a store for what an account's page shows below
// the account, for viewer ViewerID: up to VirtualAccounts Virtual Accounts
// (0: none), up to ManagedVirtualAccounts of them as their manager sees
// them (0: none), a window of its role holders and one of its history (a
// zero Limit: none).
type AccountPartsQuery struct {
	ViewerID               int64
	ID                     AccountID
	VirtualAccounts        int
	ManagedVirtualAccounts int
	Holders, Events        Window
}

// AccountParts is what AccountPartsQuery asked for: Virtual Accounts (DEFAULT
// first, with the viewer's role on each, and how many more there are), role
// holders (the account's own roles first, then by Virtual Account) and
// history (newest first).
type AccountParts struct {
	VirtualAccounts        []VirtualAccountAccess
	MoreVirtualAccounts    int
	ManagedVirtualAccounts []ManagedVirtualAccount
	Holders                []RoleHolder
	Events                 []Event
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
func (s *Listings) AccountPage(ctx context.Context, viewer User, q AccountPageQuery) (AccountDetails, error) {
	l, err := s.store.AccountFor(ctx, viewer.ID, q.ID, q.Query, exactDomain(q.Query))
	if err != nil {
		return AccountDetails{}, fmt.Errorf("account %s: %w", q.ID, err)
	}
	a, rel := l.Account, l.Relation
	sight := SightOf(viewer, a, rel)
	if !sight.Listing {
		return AccountDetails{}, fmt.Errorf("account %s: %w", q.ID, ErrNotFound)
	}
	l.Sight = sight
	d := AccountDetails{Listing: l, CanRequestAccess: CanRequestAccess(a, rel, sight)}
	// What the viewer may see below the account, in one round trip.
	pq := AccountPartsQuery{ViewerID: viewer.ID, ID: a.ID}
	holdersPage, eventsPage := ClampPage(q.HoldersPage), ClampPage(q.EventsPage)
	if sight.VirtualAccounts {
		pq.VirtualAccounts = MaxShownVirtualAccounts
	}
	if sight.RoleHolders {
		pq.Holders = Window{Limit: HoldersPageSize + 1, Offset: (holdersPage - 1) * HoldersPageSize}
	}
	if sight.History {
		pq.Events = Window{Limit: EventsPageSize + 1, Offset: (eventsPage - 1) * EventsPageSize}
	}
	manages := mayManageVirtualAccounts(a, rel)
	if manages {
		pq.ManagedVirtualAccounts = MaxShownVirtualAccounts
	}
	parts, err := s.store.AccountParts(ctx, pq)
	if err != nil {
		return AccountDetails{}, fmt.Errorf("account %s: %w", a.ID, err)
	}
	if sight.VirtualAccounts {
		d.VirtualAccounts, d.MoreVirtualAccounts = parts.VirtualAccounts, parts.MoreVirtualAccounts
	}
	if sight.RoleHolders {
		d.Holders = pageOf(parts.Holders, holdersPage, HoldersPageSize)
	}
	if sight.History {
		d.Events = pageOf(parts.Events, eventsPage, EventsPageSize)
	}
	if manages {
		d.ManageVirtualAccounts = virtualAccountChoices(a, rel, parts.ManagedVirtualAccounts)
	}
	return d, nil
}

// MaxShownAdmins bounds the contacts an account's own page lists; each
// account's row keeps this many (migration 014), so it cannot grow alone.
const MaxShownAdmins = 50

// AccountListing is what the Request Access page shows of an account: its
// listing, if the viewer may see it, with their relation to it.
func (s *Listings) AccountListing(ctx context.Context, viewer User, id AccountID, query string) (Listing, error) {
	l, err := s.store.AccountFor(ctx, viewer.ID, id, query, exactDomain(query))
	if err != nil {
		return Listing{}, fmt.Errorf("account %s: %w", id, err)
	}
	if !SightOf(viewer, l.Account, l.Relation).Listing {
		return Listing{}, fmt.Errorf("account %s: %w", id, ErrNotFound)
	}
	l.Sight = Sight{Listing: true}
	return l, nil
}
