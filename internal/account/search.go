package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Search bounds. Fewer than MinQueryLength characters would match a large
// share of all accounts and tell nobody anything.
const (
	MinQueryLength = 3
	SearchPageSize = 25
	// MaxSearchPage caps how deep search pages go: past a thousand matches
	// the query needs refining, not paging.
	MaxSearchPage = 40
)

// Query problems, for the page to explain.
var (
	ErrQueryTooShort = errors.New("query too short")
	ErrQueryTooLong  = errors.New("query too long")
)

// SearchQuery is a search as a store runs it.
type SearchQuery struct {
	// Text is the query as typed, trimmed, runs of spaces made one; the
	// store folds it (see DirectoryStore.Fold) as it searches.
	Text string
	// ExactDomain is Text as a stored domain, "" when it is not one: it finds
	// xn--bcher-kva.example by "Bücher.example".
	ExactDomain string
	// InDomains says the query could be part of a domain; a query with a space
	// cannot, and searching domains for it would be work for nothing.
	InDomains     bool
	Limit, Offset int
}

// SearchResults is one page of Smart Accounts that match a query.
type SearchResults struct {
	Page[Listing]
	// Capped says more matches exist beyond MaxSearchPage.
	Capped bool
}

// Search finds Smart Accounts by part of their name or domain, folding case
// and accents. A restricted account is found only by its entire name or its
// entire domain, and shows no more than any other result.
func (s *Listings) Search(ctx context.Context, viewer User, query string, page int) (SearchResults, error) {
	query = strings.Join(strings.Fields(query), " ")
	switch n := utf8.RuneCountInString(query); {
	case n < MinQueryLength:
		return SearchResults{}, ErrQueryTooShort
	case n > MaxFilterLength:
		return SearchResults{}, ErrQueryTooLong
	}
	page = max(1, min(page, MaxSearchPage))
	items, err := s.store.SearchAccounts(ctx, viewer.ID, SearchQuery{
		Text:        query,
		ExactDomain: exactDomain(query),
		InDomains:   !strings.Contains(query, " "),
		Limit:       SearchPageSize + 1,
		Offset:      (page - 1) * SearchPageSize,
	})
	if err != nil {
		return SearchResults{}, fmt.Errorf("search %q: %w", query, err)
	}
	res := SearchResults{Page: pageOf(items, page, SearchPageSize)}
	if res.HasNext && page == MaxSearchPage {
		res.HasNext, res.Capped = false, true
	}
	for i := range res.Items {
		// Search shows the same of every account, whatever the viewer's role:
		// its listing, which carries no Virtual Accounts. The account's page
		// shows more to those who may see it.
		res.Items[i].Sight = Sight{Listing: true}
		res.Items[i].Admins = listedAdmins(res.Items[i].Admins)
	}
	return res, nil
}
