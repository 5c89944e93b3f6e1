package account

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"
)

// Listings is what a viewer may see of Smart Accounts: the directory, the
// search and an account's page, each cut by the sight rules (sight.go). It
// reads and changes nothing else.
type Listings struct {
	store ListingStore
	clock Clock
}

// NewListings wires Listings.
func NewListings(store ListingStore, clock Clock) *Listings {
	return &Listings{store: store, clock: clock}
}

// ListingStore is what the directory, search and account pages read.
// Listing methods return Relation filled in for the viewer; they never fill
// Sight, which is the domain's decision.
type ListingStore interface {
	// DirectorySections lists one page of each given section of a viewer's
	// directory, all in one round trip; the filter is compared folded, as
	// names are stored. Each listing carries its administrators as
	// AccountFor's do.
	DirectorySections(ctx context.Context, qs []SectionQuery) ([][]Listing, error)
	// DirectoryOverview is DirectorySections and, in the same round trip,
	// the viewer's total of every section, unfiltered, at a cost that does
	// not grow with the accounts the sections hold; domains are as in
	// SectionQuery.
	DirectoryOverview(ctx context.Context, viewerID int64, domains []string, qs []SectionQuery) ([][]Listing, map[Section]int, error)
	// SearchAccounts lists live accounts whose folded name or domain contains
	// the query folded, or whose domain is its ExactDomain; a restricted
	// account only when the query is its entire name or domain. Names that
	// start with the query come first, then the others, each in name order.
	// Each listing carries up to q.Admins administrators, by name.
	SearchAccounts(ctx context.Context, viewerID int64, q SearchQuery) ([]Listing, error)
	// AccountFor returns an account, how the viewer relates to it, and its
	// first MaxShownAdmins administrators by name; ExactMatch compares query
	// and exactDomain with its name and domain.
	AccountFor(ctx context.Context, viewerID int64, id AccountID, query, exactDomain string) (Listing, error)
	// VirtualAccountsOf lists each account's Virtual Accounts, DEFAULT first,
	// at most perAccount each, with the viewer's role on each, and counts
	// those left out.
	VirtualAccountsOf(ctx context.Context, viewerID int64, ids []AccountID, perAccount int) (map[AccountID][]VirtualAccountAccess, map[AccountID]int, error)
	// MenuAccount is the account the menu names for a user: the one holding
	// their email's domain, else their Partner Holding account, else the one
	// they hold their strongest role on, the oldest first; ErrNotFound for none.
	MenuAccount(ctx context.Context, userID int64) (SmartAccount, error)
	// AccountParts reads, in one round trip, what an account's page shows
	// below the account: each part only when its limit is above zero.
	AccountParts(ctx context.Context, q AccountPartsQuery) (AccountParts, error)
}

// DirectoryStore is ListingStore and what Request Access and Account
// Management read and write beside it.
type DirectoryStore interface {
	ListingStore
	// AdminsOf lists up to perAccount administrators of each account, by
	// name, from the memberships themselves: for whom to email, where the
	// listings' contacts (capped at MaxShownAdmins) would not do.
	AdminsOf(ctx context.Context, ids []AccountID, perAccount int) (map[AccountID][]Contact, error)
	// RoleHolders lists who holds which role on an account and its Virtual
	// Accounts: the account's own roles first, then by Virtual Account.
	RoleHolders(ctx context.Context, id AccountID, limit, offset int) ([]RoleHolder, error)

	// CreateAccessRequest records a pending request, its event and the
	// emails it causes; a second pending one for the same user and account
	// is ErrConflict, an unknown Virtual Account ErrNoSuchVirtualAccount.
	// With auto, a rule's decision, it is decided in the same transaction.
	// quota counts emails against the requester's day (*EmailLimitError
	// when over it).
	CreateAccessRequest(ctx context.Context, r AccessRequest, actor string, emails []Email, auto *AccessDecision, quota EmailQuota) (AccessRequest, error)
	PendingAccessRequest(ctx context.Context, userID int64, id AccountID) (AccessRequest, error)
}

// Section is one part of "Your Smart and Virtual Account access".
type Section string

const (
	SectionAccess    Section = "access"    // accounts the user holds a role on
	SectionRequested Section = "requested" // accounts the user asked access to
	SectionCreated   Section = "created"   // accounts the user asked to have created
	SectionDomain    Section = "domain"    // accounts under the user's email domain, not in an earlier section
)

// Sections is the directory's order.
var Sections = []Section{SectionAccess, SectionRequested, SectionCreated, SectionDomain}

// ParseSection reads a section's name as a path carries it; any other name
// is ErrNotFound.
func ParseSection(s string) (Section, error) {
	for _, sec := range Sections {
		if string(sec) == s {
			return sec, nil
		}
	}
	return "", ErrNotFound
}

// DirectoryOverviewSize is how many accounts the overview shows of each
// section; DirectoryPageSize how many one page of a section's own page does.
const (
	DirectoryOverviewSize = 10
	DirectoryPageSize     = 25
)

// MaxFilterLength bounds the directory's filter and the search query.
const MaxFilterLength = 100

// SectionQuery asks a store for one page of one directory section.
type SectionQuery struct {
	ViewerID int64
	// Domains are the viewer's email domain and its parents (see
	// DomainAndParents), for SectionDomain.
	Domains []string
	Section Section
	// Filter keeps accounts whose name, domain or id contains it, both
	// folded (lowercase, without accents); "" keeps all.
	Filter        string
	Limit, Offset int
}

// DirectorySection is one page of one section; on the overview, Total is
// how many accounts the whole section holds.
type DirectorySection struct {
	Section Section
	Page[Listing]
	Total int
}

// Directory is the overview of "Your Smart and Virtual Account access": in
// order, the accounts the viewer can access, asked access to, asked to have
// created, and those that match their email domain, the first
// DirectoryOverviewSize of each with the section's total.
func (s *Listings) Directory(ctx context.Context, viewer User) ([]DirectorySection, error) {
	domains := DomainAndParents(EmailDomain(viewer.Email))
	qs := make([]SectionQuery, len(Sections))
	for i, sec := range Sections {
		qs[i] = SectionQuery{ViewerID: viewer.ID, Domains: domains, Section: sec, Limit: DirectoryOverviewSize + 1}
	}
	lists, totals, err := s.store.DirectoryOverview(ctx, viewer.ID, domains, qs)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	out := make([]DirectorySection, len(Sections))
	for i, sec := range Sections {
		out[i] = DirectorySection{Section: sec, Page: pageOf(lists[i], 1, DirectoryOverviewSize), Total: totals[sec]}
	}
	if err := s.sight(ctx, viewer, out); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return out, nil
}

// DirectorySectionQuery asks for one page of one section's own page.
type DirectorySectionQuery struct {
	Section Section
	Filter  string
	Page    int // out of range means the nearest page
}

// DirectorySection is one page of one section of the directory, filtered.
func (s *Listings) DirectorySection(ctx context.Context, viewer User, q DirectorySectionQuery) (DirectorySection, error) {
	if _, err := ParseSection(string(q.Section)); err != nil {
		return DirectorySection{}, err
	}
	filter := strings.TrimSpace(q.Filter)
	if utf8.RuneCountInString(filter) > MaxFilterLength {
		filter = string([]rune(filter)[:MaxFilterLength])
	}
	n := ClampPage(q.Page)
	lists, err := s.store.DirectorySections(ctx, []SectionQuery{{
		ViewerID: viewer.ID, Domains: DomainAndParents(EmailDomain(viewer.Email)), Section: q.Section, Filter: filter,
		Limit: DirectoryPageSize + 1, Offset: (n - 1) * DirectoryPageSize,
	}})
	if err != nil {
		return DirectorySection{}, fmt.Errorf("directory section %s: %w", q.Section, err)
	}
	out := []DirectorySection{{Section: q.Section, Page: pageOf(lists[0], n, DirectoryPageSize)}}
	if err := s.sight(ctx, viewer, out); err != nil {
		return DirectorySection{}, fmt.Errorf("directory section %s: %w", q.Section, err)
	}
	return out[0], nil
}

// sight decides what the viewer may see of each listing of the sections
// and decorates them accordingly.
func (s *Listings) sight(ctx context.Context, viewer User, secs []DirectorySection) error {
	var all []*Listing
	for _, sec := range secs {
		for i := range sec.Items {
			sec.Items[i].Sight = SightOf(viewer, sec.Items[i].Account, sec.Items[i].Relation)
			all = append(all, &sec.Items[i])
		}
	}
	return s.decorate(ctx, viewer.ID, all)
}

// MenuAccount is the Smart Account the left menu names for a user, or
// ErrNotFound when they hold no role. It costs one short query however many
// accounts the user can access, because every page shows it.
func (s *Listings) MenuAccount(ctx context.Context, userID int64) (SmartAccount, error) {
	return s.store.MenuAccount(ctx, userID)
}

// decorate cuts listings' administrators to MaxListedAdmins and adds
// Virtual Accounts where the viewer may see them, in one query for all.
func (s *Listings) decorate(ctx context.Context, viewerID int64, ls []*Listing) error {
	var withVAs []AccountID
	for _, l := range ls {
		l.Admins = listedAdmins(l.Admins)
		if l.Sight.VirtualAccounts {
			withVAs = append(withVAs, l.Account.ID)
		}
	}
	if len(withVAs) == 0 {
		return nil
	}
	vas, more, err := s.store.VirtualAccountsOf(ctx, viewerID, withVAs, MaxListedVirtualAccounts)
	if err != nil {
		return fmt.Errorf("virtual accounts: %w", err)
	}
	for _, l := range ls {
		if l.Sight.VirtualAccounts {
			l.VirtualAccounts, l.MoreVirtualAccounts = vas[l.Account.ID], more[l.Account.ID]
		}
	}
	return nil
}

// DomainAndParents lists a domain and each domain above it down to the
// registrable one: emea.globex.example, globex.example. These are the
// Smart Account domains a user with that email domain belongs under.
func DomainAndParents(domain string) []string {
	top, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return []string{domain}
	}
	out := []string{domain}
	for d := domain; d != top; {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
		out = append(out, d)
	}
	return out
}

// exactDomain is query as a stored domain, or "" when it is not one; search
// compares it with whole domains, so "Bücher.example" finds xn--bcher-kva.example.
func exactDomain(query string) string {
	d, err := NormalizeDomain(query)
	if err != nil {
		return ""
	}
	return d
}

// listedAdmins is the part of an account's administrators a list shows
// beside it.
func listedAdmins(cs []Contact) []Contact { return cs[:min(len(cs), MaxListedAdmins)] }
