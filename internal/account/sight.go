package account

import (
	"context"
	"fmt"
)

// relationReader reads a Smart Account with how a viewer relates to it.
type relationReader interface {
	AccountFor(ctx context.Context, viewerID int64, id AccountID, query, exactDomain string) (Listing, error)
}

// accountRelation is Smart Account id and how u relates to it, read for that
// account alone: a partner may hold roles on tens of thousands of accounts,
// and a decision about one must not read them all (it took 170 ms for
// 28,817). ErrNotFound when there is no such account.
func accountRelation(ctx context.Context, store relationReader, u User, id AccountID) (SmartAccount, Relation, error) {
	l, err := store.AccountFor(ctx, u.ID, id, "", "")
	if err != nil {
		return SmartAccount{}, Relation{}, fmt.Errorf("account %s: %w", id, err)
	}
	return l.Account, l.Relation, nil
}

// Relation is what ties one person to one Smart Account.
type Relation struct {
	Role        Role // their role on the Smart Account itself; "" for none
	VARole      Role // their strongest role on any of its Virtual Accounts; "" for none
	Creator     bool // they asked to have it created
	AskedAccess bool // they have asked for access to it, whatever the answer
	// ExactMatch says they came with its entire name or domain, which is
	// how search finds a restricted account.
	ExactMatch bool
}

// Strongest is the strongest of the Smart Account and Virtual Account roles.
func (r Relation) Strongest() Role {
	if r.VARole.Rank() > r.Role.Rank() {
		return r.VARole
	}
	return r.Role
}

// HasRole reports whether they hold any role on the account or its Virtual Accounts.
func (r Relation) HasRole() bool { return r.Role != "" || r.VARole != "" }

// Sight is how much of a Smart Account someone may see. The zero Sight is
// nothing, not even that the account exists.
type Sight struct {
	Listing         bool // name, id, domain, status and administrators: what search shows
	VirtualAccounts bool
	RoleHolders     bool
	History         bool
}

// SightOf decides what viewer may see of a, given how they relate to it.
//
//   - Staff see everything.
//   - Users, Approvers and Administrators (of the account or of one of its
//     Virtual Accounts) see everything too.
//   - Viewers see the account, its Virtual Accounts and whom to contact.
//   - Whoever asked to have it created follows it: its Virtual Accounts and
//     its history (approved, denied and why), not who holds which role.
//   - Anyone else sees what search shows, and only what search would find:
//     a live account (active or pending), and a restricted one only when they
//     came with its entire name or domain, or asked for access to it before.
//     Restricted accounts therefore answer "not found" to everyone else,
//     exactly like an id that does not exist, so ids cannot be probed.
func SightOf(viewer User, a SmartAccount, rel Relation) Sight {
	if viewer.Staff || rel.Strongest().Rank() >= RoleUser.Rank() {
		return Sight{Listing: true, VirtualAccounts: true, RoleHolders: true, History: true}
	}
	var s Sight
	if rel.HasRole() {
		s = Sight{Listing: true, VirtualAccounts: true}
	}
	if rel.Creator {
		s = Sight{Listing: true, VirtualAccounts: true, History: true}
	}
	live := a.Status == StatusActive || a.Status == StatusPending
	if rel.AskedAccess || (live && (!a.Restricted || rel.ExactMatch)) {
		s.Listing = true
	}
	return s
}

// CanRequestAccess reports whether the viewer is offered "Request Access":
// an active account they may see and hold no role on.
func CanRequestAccess(a SmartAccount, rel Relation, s Sight) bool {
	return s.Listing && a.Status == StatusActive && !rel.HasRole()
}

// Contact is an administrator people can write to.
type Contact struct {
	Name  string
	Email string
}

// VirtualAccountAccess is a Virtual Account with the viewer's role on it.
type VirtualAccountAccess struct {
	Name string
	Role Role // "" when the viewer holds no role on this Virtual Account
}

// Listing is one Smart Account as the directory and search results show it,
// cut to what the viewer may see.
type Listing struct {
	Account  SmartAccount
	Relation Relation
	Sight    Sight
	// VirtualAccounts is empty unless Sight.VirtualAccounts; at most
	// MaxListedVirtualAccounts, with MoreVirtualAccounts counting the rest.
	VirtualAccounts     []VirtualAccountAccess
	MoreVirtualAccounts int
	Admins              []Contact
	// Request is the viewer's access request, in the directory section of
	// accounts they asked access to.
	Request *AccessRequest
	// Key is where the listing stands in its directory section, on a
	// section's page.
	Key SectionKey
}

// Bounds on what one listing carries, so an account with hundreds of
// Virtual Accounts or administrators keeps a directory page small.
const (
	MaxListedVirtualAccounts = 10
	MaxListedAdmins          = 5
)

// Page is one page of a longer list. Number counts from 1; HasNext is known
// by fetching one item more than a page holds, never by counting them all.
type Page[T any] struct {
	Items   []T
	Number  int
	HasNext bool
}

// pageOf trims items fetched with limit size+1 to one page.
func pageOf[T any](items []T, number, size int) Page[T] {
	p := Page[T]{Items: items, Number: number}
	if len(items) > size {
		p.Items, p.HasNext = items[:size], true
	}
	return p
}

// MaxPage bounds a page number so an offset stays sane whatever the URL says.
const MaxPage = 10000

// ClampPage turns a requested page number into one in [1, MaxPage].
func ClampPage(n int) int {
	return max(1, min(n, MaxPage))
}
