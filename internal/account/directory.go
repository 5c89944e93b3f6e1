package account

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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
	Filter string
	Limit  int
	// After, when set, starts the page after the row with this key; Before
	// ends it before that row, and the store then lists the Limit rows
	// nearest to it, still in the section's order.
	After, Before SectionKey
	// VirtualAccounts, when above zero, has the section's statement read
	// each row's first that many Virtual Accounts, with the viewer's role
	// on each, and how many it has: set only where the viewer may see them
	// on every row the section can list (pageVirtualAccounts).
	VirtualAccounts int
}

// SectionKey is where a row stands in its section's order, as a page link
// carries it: the folded name and the account's id in the name-ordered
// sections, when it was asked and the id of the request or account in the
// others. A page starts from a key rather than an offset, so that a late
// page reads no row before it.
type SectionKey struct {
	Name string
	At   time.Time
	ID   int64
}

// IsZero says whether k stands for no row: the first page.
func (k SectionKey) IsZero() bool { return k.ID == 0 }

// maxSectionKeyName bounds the folded name a key carries: a name is at most
// MaxNameLength characters, and folding (ß to ss) may lengthen it.
const maxSectionKeyName = 4 * MaxNameLength

// sectionOrderedByName says whether sec lists accounts by name; the others
// list the newest first.
func sectionOrderedByName(sec Section) bool { return sec == SectionAccess || sec == SectionDomain }

// String is k as a link carries it: the id, a dot, then the folded name or
// the time in microseconds since 1970.
func (k SectionKey) String(sec Section) string {
	if sectionOrderedByName(sec) {
		return strconv.FormatInt(k.ID, 10) + "." + k.Name
	}
	return strconv.FormatInt(k.ID, 10) + "." + strconv.FormatInt(k.At.UnixMicro(), 10)
}

// ErrBadSectionKey is a page link's key that no row of sec could have.
var ErrBadSectionKey = errors.New("not a position in the section")

// ParseSectionKey reads a key of sec as String writes it.
func ParseSectionKey(sec Section, s string) (SectionKey, error) {
	id, rest, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || n < 1 || id != strconv.FormatInt(n, 10) {
		return SectionKey{}, ErrBadSectionKey
	}
	if sectionOrderedByName(sec) {
		if len(rest) > maxSectionKeyName || !utf8.ValidString(rest) || strings.ContainsRune(rest, 0) {
			return SectionKey{}, ErrBadSectionKey
		}
		return SectionKey{ID: n, Name: rest}, nil
	}
	us, err := strconv.ParseInt(rest, 10, 64)
	// PostgreSQL's timestamps run from 4713 BC to 294276 AD; a key outside
	// the years 1970 to 9999 is no row's.
	if err != nil || us < 0 || us > maxSectionKeyMicros {
		return SectionKey{}, ErrBadSectionKey
	}
	return SectionKey{ID: n, At: time.UnixMicro(us).UTC()}, nil
}

// maxSectionKeyMicros is the end of the year 9999.
var maxSectionKeyMicros = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro() - 1

// DirectorySection is one page of one section; on the overview, Total is
// how many accounts the whole section holds.
type DirectorySection struct {
	Section Section
	Page[Listing]
	Total int
	// On a section's own page: whether rows come before this page, and
	// the keys of its first and last rows, from which the pages before
	// and after it start.
	HasPrev     bool
	First, Last SectionKey
	// BadKey says the page asked for started from a key no row has (a
	// link typed or altered by hand): this is the first page instead.
	BadKey bool
}

// Directory is the overview of "Your Smart and Virtual Account access": in
// order, the accounts the viewer can access, asked access to, asked to have
// created, and those that match their email domain, the first
// DirectoryOverviewSize of each with the section's total.
func (s *Listings) Directory(ctx context.Context, viewer User) ([]DirectorySection, error) {
	qs := overviewQueries(viewer, Sections...)
	for i := range qs {
		qs[i].VirtualAccounts = pageVirtualAccounts(viewer, qs[i].Section)
	}
	out, unread, err := s.overview(ctx, viewer, qs)
	if err == nil {
		err = s.readVirtualAccounts(ctx, viewer.ID, unread)
	}
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return out, nil
}

// Landing is what Cisco License Central's landing page lists: the first
// DirectoryOverviewSize accounts the viewer can access, in the directory's
// order, with how many there are. It listed them all once: 3 MB and 230 ms
// for a partner with roles on 28,817 accounts. The rest are on the
// directory's section page. It shows no Virtual Accounts, so it reads none.
func (s *Listings) Landing(ctx context.Context, viewer User) (DirectorySection, error) {
	out, _, err := s.overview(ctx, viewer, overviewQueries(viewer, SectionAccess))
	if err != nil {
		return DirectorySection{}, fmt.Errorf("landing: %w", err)
	}
	return out[0], nil
}

// overviewQueries ask for the first DirectoryOverviewSize rows of each of
// secs, and one more to know there are more.
func overviewQueries(viewer User, secs ...Section) []SectionQuery {
	domains := DomainAndParents(EmailDomain(viewer.Email))
	qs := make([]SectionQuery, len(secs))
	for i, sec := range secs {
		qs[i] = SectionQuery{ViewerID: viewer.ID, Domains: domains, Section: sec, Limit: DirectoryOverviewSize + 1}
	}
	return qs
}

// overview reads the first page of each of the sections qs asks for (all
// for one viewer and their domains) and each section's total, in one round
// trip, and decides what the viewer sees of them (sight): it returns the
// listings whose Virtual Accounts are shown but were not read.
func (s *Listings) overview(ctx context.Context, viewer User, qs []SectionQuery) ([]DirectorySection, []*Listing, error) {
	lists, totals, err := s.store.DirectoryOverview(ctx, viewer.ID, qs[0].Domains, qs)
	if err != nil {
		return nil, nil, err
	}
	out := make([]DirectorySection, len(qs))
	for i, q := range qs {
		out[i] = DirectorySection{Section: q.Section, Page: pageOf(lists[i], 1, DirectoryOverviewSize), Total: totals[q.Section]}
	}
	return out, sight(viewer, out, qs), nil
}

// DirectorySectionQuery asks for one page of one section's own page: the
// first, or the one after (or before) a row's key as a page link carries
// it (SectionKey.String).
type DirectorySectionQuery struct {
	Section       Section
	Filter        string
	After, Before string
	// Page is the number the page link says this page has, shown and
	// counted on from; out of range means the nearest page. The first
	// page is always 1.
	Page int
}

// DirectorySection is one page of one section of the directory, filtered.
// Each page reads from the key of the row before it (or after it, going
// back), so a late page costs what the first does. Going back to the
// beginning gives the first page, which lacks the rows that were added
// before it since (they are on the first page the next time it is read).
func (s *Listings) DirectorySection(ctx context.Context, viewer User, q DirectorySectionQuery) (DirectorySection, error) {
	if _, err := ParseSection(string(q.Section)); err != nil {
		return DirectorySection{}, err
	}
	filter := strings.TrimSpace(q.Filter)
	if utf8.RuneCountInString(filter) > MaxFilterLength {
		filter = string([]rune(filter)[:MaxFilterLength])
	}
	sq := SectionQuery{
		ViewerID: viewer.ID, Domains: DomainAndParents(EmailDomain(viewer.Email)), Section: q.Section, Filter: filter,
		Limit: DirectoryPageSize + 1, VirtualAccounts: pageVirtualAccounts(viewer, q.Section),
	}
	n, badKey := ClampPage(q.Page), false
	var err error
	switch {
	case q.After != "":
		sq.After, err = ParseSectionKey(q.Section, q.After)
		n = max(n, 2)
	case q.Before != "":
		sq.Before, err = ParseSectionKey(q.Section, q.Before)
	default:
		n = 1
	}
	if err != nil {
		sq.After, sq.Before, n, badKey = SectionKey{}, SectionKey{}, 1, true
	}
	lists, err := s.store.DirectorySections(ctx, []SectionQuery{sq})
	if err != nil {
		return DirectorySection{}, fmt.Errorf("directory section %s: %w", q.Section, err)
	}
	items := lists[0]
	sec := DirectorySection{Section: q.Section, BadKey: badKey}
	switch {
	case !sq.Before.IsZero() && len(items) <= DirectoryPageSize:
		// Back at the beginning: the first page, short by the rows that
		// came before it since the page after it was read, so that going
		// back lists no row twice.
		sec.Page = Page[Listing]{Items: items, Number: 1, HasNext: true}
	case !sq.Before.IsZero():
		// The row before the page, read to know there is one.
		sec.Page = Page[Listing]{Items: items[1:], Number: max(2, n), HasNext: true}
		sec.HasPrev = true
	default:
		sec.Page = pageOf(items, n, DirectoryPageSize)
		sec.HasPrev = !sq.After.IsZero()
	}
	if len(sec.Items) > 0 {
		sec.First, sec.Last = sec.Items[0].Key, sec.Items[len(sec.Items)-1].Key
	}
	if err := s.readVirtualAccounts(ctx, viewer.ID, sight(viewer, []DirectorySection{sec}, []SectionQuery{sq})); err != nil {
		return DirectorySection{}, fmt.Errorf("directory section %s: %w", q.Section, err)
	}
	return sec, nil
}

// sight decides what the viewer may see of each listing of the sections,
// each read by its query in qs, and decorates them accordingly:
// administrators cut to MaxListedAdmins, and Virtual Accounts cleared where
// SightOf hides them. It returns the listings that show Virtual Accounts
// their section's statement did not read (its VirtualAccounts is 0), for
// readVirtualAccounts to read in one query for all.
func sight(viewer User, secs []DirectorySection, qs []SectionQuery) []*Listing {
	var unread []*Listing
	for s, sec := range secs {
		read := qs[s].VirtualAccounts > 0
		for i := range sec.Items {
			l := &sec.Items[i]
			l.Sight = SightOf(viewer, l.Account, l.Relation)
			l.Admins = listedAdmins(l.Admins)
			switch {
			case !l.Sight.VirtualAccounts:
				// Never read for such a row (TestPageVirtualAccountsFollowSight);
				// never shown, whatever a change to either rule might bring.
				l.VirtualAccounts, l.MoreVirtualAccounts = nil, 0
			case !read:
				unread = append(unread, l)
			}
		}
	}
	return unread
}

// pageVirtualAccounts is how many Virtual Accounts a section's statement
// reads with each of its rows: MaxListedVirtualAccounts where SightOf lets
// the viewer see them on every account the section can list, from the
// relation that puts an account in it (a role on it or on one of its
// Virtual Accounts for "Accounts you can access", having asked for it for
// "asked to have created", anything for staff); else none, and
// readVirtualAccounts reads them afterwards for the rows sight finds showing
// them. Reading them with the page
// saves a round trip and a statement: on the bench's partner, 9-14% of a
// section page's CPU (clc and PostgreSQL), 4-7% of the overview's.
func pageVirtualAccounts(viewer User, sec Section) int {
	var least Relation
	switch sec {
	case SectionAccess:
		least.VARole = RoleViewer
	case SectionCreated:
		least.Creator = true
	}
	if SightOf(viewer, SmartAccount{}, least).VirtualAccounts {
		return MaxListedVirtualAccounts
	}
	return 0
}

// MenuAccount is the Smart Account the left menu names for a user, or
// ErrNotFound when they hold no role. It costs one short query however many
// accounts the user can access, because every page shows it.
func (s *Listings) MenuAccount(ctx context.Context, userID int64) (SmartAccount, error) {
	return s.store.MenuAccount(ctx, userID)
}

// readVirtualAccounts adds their Virtual Accounts to listings ls, in one
// query for all.
func (s *Listings) readVirtualAccounts(ctx context.Context, viewerID int64, ls []*Listing) error {
	if len(ls) == 0 {
		return nil
	}
	ids := make([]AccountID, len(ls))
	for i, l := range ls {
		ids[i] = l.Account.ID
	}
	vas, more, err := s.store.VirtualAccountsOf(ctx, viewerID, ids, MaxListedVirtualAccounts)
	if err != nil {
		return fmt.Errorf("virtual accounts: %w", err)
	}
	for _, l := range ls {
		l.VirtualAccounts, l.MoreVirtualAccounts = vas[l.Account.ID], more[l.Account.ID]
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
