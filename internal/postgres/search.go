package postgres

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

// commonSuffixes is where a word stops being rare: a word that begins this
// many suffixes (see migration 005) is in about one name in two thousand or
// more. A query's rarest word is found by counting, up to this, the
// suffixes each of its words begins; a query whose rarest word is rare is
// answered by checking each of those suffixes' accounts for the whole query.
const commonSuffixes = 500

// commonVariants bounds how many different suffixes that begin a query's
// common rarest word ("bank", "banking", "bankhaus") search reads one by
// one, each giving its accounts in name order: a single word with more is so
// common that walking all names in order finds a page sooner. A query of
// several words ("ag gmbh", "c1796684640-20": the part after the hyphen is
// too short to count) stops there too, at its first page, where it used to
// read every suffix of that word: 25 ms and more at a million accounts.
const commonVariants = 64

// searchSQL is the whole of a search page in one statement, so that search
// costs one round trip, planned once per connection (every value it
// depends on is computed inside it, so the planner's generic plan is the
// one it would pick anyway):
//
//  1. q: the query folded as names are.
//  2. rarest: of the query's words of three characters or more, the one that
//     begins the fewest suffixes, counted up to commonSuffixes.
//  3. starts: the first tier, names that start with the query, a range of
//     smart_accounts_name_folded_idx. A restricted account only by its
//     entire name or domain.
//  4. way, variants and elsewhere: the second tier, read only when the first
//     does not fill the page: the query after the first character of a
//     name, or anywhere in the domain, found through the suffixes that begin
//     its rarest word. When even that word is common, through each of the
//     few different suffixes that begin it, whose accounts are in name
//     order, so that each stops at its first page of accounts that hold the
//     whole query; when there are many such suffixes, a single word walks
//     the names in order, and a query of several words reads every suffix
//     of its rarest word, as for a rare one (its whole may still be rare).
//     And the account whose domain is the query as a whole.
//  5. page: both tiers in order, and that page's accounts with the viewer's
//     relation and their first administrators.
//
// $1 viewer, $2 the query, $3 the query as a domain ("" for none), $4 limit,
// $5 offset, $6 whether the query may be part of a domain.
var searchSQL = `
	WITH RECURSIVE q AS MATERIALIZED (
		SELECT f AS folded, f || chr(1114111) AS past, f !~ '[[:space:][:punct:]]' AS one_word
		FROM clc_fold($2::text) f
	),
	rarest AS MATERIALIZED (
		SELECT w.word, (SELECT count(*) FROM (
				SELECT FROM search_suffixes s
				WHERE s.suffix >= w.word AND s.suffix < w.word || chr(1114111)
				LIMIT ` + strconv.Itoa(commonSuffixes) + `) x) AS n
		FROM (SELECT DISTINCT w AS word FROM q, unnest(regexp_split_to_array(q.folded, '[[:space:][:punct:]]+')) w
			WHERE length(w) >= 3) w
		ORDER BY n, length(w.word) DESC
		LIMIT 1
	),
	starts AS MATERIALIZED (
		SELECT m.id, m.name_folded FROM smart_accounts m
		WHERE m.name_folded >= (SELECT folded FROM q) AND m.name_folded < (SELECT past FROM q)
			AND m.status IN ('active', 'pending')
			AND (NOT m.restricted OR m.name_folded = (SELECT folded FROM q) OR m.domain = $3::text)
		ORDER BY m.name_folded, m.id
		LIMIT $4::int + $5::int
	),
	-- Whether the second tier is read at all (the first did not fill the
	-- page), and whether the query is a single common word. rarest is
	-- counted only for the second tier: a CTE is computed when first read,
	-- and CASE reads it only then, which saves counting up to
	-- commonSuffixes suffixes (0.5 ms) when the names that start with the
	-- query fill the page.
	way AS MATERIALIZED (
		SELECT elsewhere, (SELECT one_word FROM q) AS one_word, CASE WHEN elsewhere
			THEN coalesce((SELECT n FROM rarest), 0) >= ` + strconv.Itoa(commonSuffixes) + `
			ELSE false END AS common_word
		FROM (SELECT (SELECT count(*) FROM starts) < $4::int + $5::int AS elsewhere) x
	),
	-- The distinct suffixes that begin a common single word, up to
	-- commonVariants and one more: an index probe each.
	variants (suffix, n) AS (
		(SELECT s.suffix, 1 FROM search_suffixes s
		WHERE (SELECT elsewhere AND common_word FROM way)
			AND s.suffix >= (SELECT word FROM rarest) AND s.suffix < (SELECT word || chr(1114111) FROM rarest)
		ORDER BY s.suffix
		LIMIT 1)
		UNION ALL
		SELECT (SELECT s.suffix FROM search_suffixes s
			WHERE s.suffix > v.suffix AND s.suffix < (SELECT word || chr(1114111) FROM rarest)
			ORDER BY s.suffix
			LIMIT 1), v.n + 1
		FROM variants v
		WHERE v.suffix IS NOT NULL AND v.n <= ` + strconv.Itoa(commonVariants) + `
	),
	elsewhere AS MATERIALIZED (
		SELECT DISTINCT ON (x.name_folded, x.id) x.id, x.name_folded FROM (
			-- a query whose rarest word is rare, or of several words whose
			-- rarest begins too many different suffixes: that word's
			-- suffixes, each checked for the whole query
			SELECT s.smart_account_id AS id, s.name_folded FROM search_suffixes s
			WHERE ((SELECT elsewhere AND NOT common_word FROM way)
					OR ((SELECT elsewhere AND common_word AND NOT one_word FROM way)
						AND (SELECT count(*) FROM variants WHERE suffix IS NOT NULL) > ` + strconv.Itoa(commonVariants) + `))
				AND s.suffix >= (SELECT word FROM rarest) AND s.suffix < (SELECT word || chr(1114111) FROM rarest)
				AND ` + holdsElsewhere("s") + `
			UNION ALL
			-- a common rarest word with a few variants: each variant's
			-- accounts are in name order in the key, so each gives its first
			-- page of those that hold the whole query
			SELECT page.id, page.name_folded FROM variants v
			CROSS JOIN LATERAL (
				SELECT s.smart_account_id AS id, s.name_folded FROM search_suffixes s
				WHERE s.suffix = v.suffix AND ` + holdsElsewhere("s") + `
				ORDER BY s.name_folded, s.smart_account_id
				LIMIT $4::int + $5::int) page
			WHERE (SELECT count(*) FROM variants WHERE suffix IS NOT NULL) <= ` + strconv.Itoa(commonVariants) + `
			UNION ALL
			-- a common single word with many: the names in order, until a
			-- page (a query of several words could be rare among them all)
			(SELECT m.id, m.name_folded FROM smart_accounts m
			WHERE (SELECT one_word FROM way)
				AND (SELECT count(*) FROM variants WHERE suffix IS NOT NULL) > ` + strconv.Itoa(commonVariants) + `
				AND ` + holdsElsewhere("m") + `
				AND clc_found_by_part(m.status, m.restricted)
			ORDER BY m.name_folded, m.id
			LIMIT $4::int + $5::int)
			UNION ALL
			-- the account whose domain is the query, whole
			SELECT m.id, m.name_folded FROM smart_accounts m
			WHERE (SELECT elsewhere FROM way)
				AND m.domain = $3::text AND m.status IN ('active', 'pending')
				AND NOT starts_with(m.name_folded, (SELECT folded FROM q))
		) x
		ORDER BY x.name_folded, x.id
		LIMIT $4::int + $5::int
	),
	page AS (
		SELECT id, name_folded, 1 AS tier FROM starts
		UNION ALL
		SELECT id, name_folded, 2 FROM elsewhere
		ORDER BY 3, 2, 1
		LIMIT $4::int OFFSET $5::int
	)
	SELECT ` + listingColumns + `, sa.name_folded = (SELECT folded FROM q) OR sa.domain = $3::text
	FROM page
	JOIN smart_accounts sa ON sa.id = page.id
	` + relationJoin + `
	ORDER BY page.tier, sa.name_folded, sa.id`

// holdsElsewhere is the second tier's test of a row t (of smart_accounts or
// search_suffixes, which both carry name_folded and domain): the query after
// the first character of the name, or, when it may be part of one, anywhere
// in the domain; and the name does not start with it (that is the first tier).
func holdsElsewhere(t string) string {
	return `(strpos(` + t + `.name_folded, (SELECT folded FROM q)) > 1
		OR ($6::bool AND strpos(` + t + `.domain, (SELECT folded FROM q)) > 0))
		AND NOT starts_with(` + t + `.name_folded, (SELECT folded FROM q))`
}

func (s *Store) SearchAccounts(ctx context.Context, viewerID int64, q account.SearchQuery) ([]account.Listing, error) {
	rows, err := s.reader(ctx).Query(ctx, searchSQL, viewerID, q.Text, q.ExactDomain, q.Limit, q.Offset, q.InDomains)
	if err != nil {
		return nil, err
	}
	return pgx.AppendRows(make([]account.Listing, 0, pageCapacity(q.Limit)), rows,
		func(row pgx.CollectableRow) (account.Listing, error) { return scanListing(row) })
}
