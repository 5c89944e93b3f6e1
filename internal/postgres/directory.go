package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clc-portal/clc/internal/account"
)

// memberRank orders the role of membership m as account.Role.Rank does.
const memberRank = `CASE m.role WHEN 'admin' THEN 4 WHEN 'approver' THEN 3 WHEN 'user' THEN 2 ELSE 1 END`

// relationJoin and relationColumns tie the viewer, always $1, to each
// account sa of a listing, which every listing query builds last, over its
// page alone. One probe of memberships per account gives both the Smart
// Account's role and the strongest Virtual Account role; the viewer's
// access requests are read once and hashed. Scanned by scanListing.
const (
	relationJoin = `
	LEFT JOIN LATERAL (
		SELECT max(m.role) FILTER (WHERE m.virtual_account_id IS NULL) AS role,
			(array_agg(m.role ORDER BY ` + memberRank + ` DESC) FILTER (WHERE m.virtual_account_id IS NOT NULL))[1] AS va_role
		FROM memberships m
		WHERE m.user_id = $1 AND m.smart_account_id = sa.id
	) rel ON true`
	relationColumns = `
	coalesce(rel.role, ''), coalesce(rel.va_role, ''), coalesce(sa.created_by = $1, false),
	sa.id IN (SELECT r.smart_account_id FROM access_requests r WHERE r.user_id = $1)`
)

const listingColumns = accountColumns + `,` + relationColumns

// scanListing reads listingColumns, then whether the query matched exactly,
// then extra.
func scanListing(row pgx.Row, extra ...any) (account.Listing, error) {
	var l account.Listing
	r := &l.Relation
	a, err := scanAccount(row, append([]any{&r.Role, &r.VARole, &r.Creator, &r.AskedAccess, &r.ExactMatch}, extra...)...)
	l.Account = a
	return l, err
}

// filterMatches keeps the accounts whose folded name, domain or shown id
// (SA-000123) contains the filter, given as a LIKE pattern in $2. The
// directory's sections are a user's own accounts, a few hundred at most, so
// a filter over them needs no index of its own.
const filterMatches = `(sa.name_folded LIKE $2
	OR sa.domain LIKE $2
	OR 'sa-' || lpad(sa.id::text, greatest(6, length(sa.id::text)), '0') LIKE $2)`

// likeEscape makes folded text a literal part of a LIKE pattern.
var likeEscape = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace

// containing is the LIKE pattern for text that contains folded; for "" it
// is %%, which keeps all.
func containing(folded string) string { return "%" + likeEscape(folded) + "%" }

// lastCodePoint sorts after every character, so in collation "C" every text
// that starts with p lies between p and p+lastCodePoint.
const lastCodePoint = "\U0010FFFF"

func (s *Store) Fold(ctx context.Context, text string) (string, error) {
	var folded string
	err := s.pool.QueryRow(ctx, `SELECT clc_fold($1)`, text).Scan(&folded)
	return folded, err
}

func (s *Store) DirectorySection(ctx context.Context, q account.SectionQuery) ([]account.Listing, error) {
	switch q.Section {
	case account.SectionAccess:
		return s.listings(ctx, `
			SELECT `+listingColumns+`, false
			FROM (
				SELECT sa.* FROM smart_accounts sa
				WHERE sa.id IN (SELECT m.smart_account_id FROM memberships m WHERE m.user_id = $1)
					AND `+filterMatches+`
				ORDER BY sa.name_folded, sa.id
				LIMIT $3 OFFSET $4
			) sa
			`+relationJoin+`
			ORDER BY sa.name_folded, sa.id`, q.ViewerID, containing(q.Filter), q.Limit, q.Offset)
	case account.SectionRequested:
		return s.requestedSection(ctx, q)
	case account.SectionCreated:
		return s.listings(ctx, `
			SELECT `+listingColumns+`, false
			FROM (
				SELECT * FROM smart_accounts sa
				WHERE sa.created_by = $1 AND `+filterMatches+`
				ORDER BY sa.created_at DESC, sa.id DESC
				LIMIT $3 OFFSET $4
			) sa
			`+relationJoin+`
			ORDER BY sa.created_at DESC, sa.id DESC`, q.ViewerID, containing(q.Filter), q.Limit, q.Offset)
	case account.SectionDomain:
		// Restricted accounts are listed here too: their domain is the
		// viewer's own or one above it, which is exactly the whole-domain
		// search that finds a restricted account, so they count as found by
		// exact match.
		return s.listings(ctx, `
			SELECT `+listingColumns+`, true
			FROM (
				SELECT * FROM smart_accounts sa
				WHERE sa.domain = ANY($5) AND sa.status IN ('active', 'pending')
					AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = $1 AND m.smart_account_id = sa.id)
					AND NOT EXISTS (SELECT 1 FROM access_requests r
						WHERE r.user_id = $1 AND r.smart_account_id = sa.id AND r.status IN ('pending', 'declined'))
					AND sa.created_by IS DISTINCT FROM $1
					AND `+filterMatches+`
				ORDER BY sa.name_folded, sa.id
				LIMIT $3 OFFSET $4
			) sa
			`+relationJoin+`
			ORDER BY sa.name_folded, sa.id`, q.ViewerID, containing(q.Filter), q.Limit, q.Offset, q.Domains)
	}
	return nil, fmt.Errorf("unknown directory section %q", q.Section)
}

// requestedSection lists the accounts the viewer asked access to, newest
// request first. Approved requests are left out: their access is in the
// first section now.
func (s *Store) requestedSection(ctx context.Context, q account.SectionQuery) ([]account.Listing, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+listingColumns+`, false,
			r.id, r.user_id, coalesce(va.name, ''), r.role, r.reason, r.status, r.created_at
		FROM (
			SELECT r.* FROM access_requests r
			JOIN smart_accounts sa ON sa.id = r.smart_account_id
			WHERE r.user_id = $1 AND r.status IN ('pending', 'declined') AND `+filterMatches+`
			ORDER BY r.created_at DESC, r.id DESC
			LIMIT $3 OFFSET $4
		) r
		JOIN smart_accounts sa ON sa.id = r.smart_account_id
		LEFT JOIN virtual_accounts va ON va.id = r.virtual_account_id
		`+relationJoin+`
		ORDER BY r.created_at DESC, r.id DESC`, q.ViewerID, containing(q.Filter), q.Limit, q.Offset)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.Listing, error) {
		var req account.AccessRequest
		l, err := scanListing(row, &req.ID, &req.UserID, &req.VirtualAccount, &req.Role, &req.Reason, &req.Status, &req.CreatedAt)
		req.AccountID = l.Account.ID
		l.Request = &req
		return l, err
	})
}

func (s *Store) listings(ctx context.Context, sql string, args ...any) ([]account.Listing, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.Listing, error) { return scanListing(row) })
}

// Search runs in two tiers, names that start with the query first, then
// those that contain it elsewhere or whose domain does; each in name order.
// A query most often starts a name, and that tier is a range of
// smart_accounts_name_folded_idx, so a first page usually costs one short
// index read. The second tier runs only when the first does not fill the
// page: a word the statistics call common may be found by walking the name
// index in order, stopping after one page; anything else through a bitmap
// of the trigram index and a sort of the few matches.
//
// The first tier folds the query itself, and the fold is sent with it in
// one batch, so that search costs no round trip of its own to fold. The
// second tier gets the query folded, and its patterns are made here, so
// that planning it evaluates no function. The second tier's plan
// depends on how common the query is, which the planner can judge only when
// it sees the pattern: a prepared statement's generic plan would guess at a
// pattern it cannot see, so that tier is planned for each query
// (QueryExecModeExec, still one round trip).

// searchStartsSQL is the first tier: $1 viewer, $2 the query, which it
// folds, $3 lastCodePoint, which ends its range, $4 exact domain ("" for
// none), $5 limit, $6 offset. Like the
// second tier, it picks the page's ids from what the name index carries, so
// the index alone answers however many entries it passes, and reads the
// table for the page's rows only.
var searchStartsSQL = searchPage(`clc_fold($2)`, `
	SELECT m.id FROM smart_accounts m
	WHERE m.name_folded >= clc_fold($2) AND m.name_folded < (clc_fold($2) || $3)
		AND m.status IN ('active', 'pending')
		AND (NOT m.restricted OR m.name_folded = clc_fold($2) OR m.domain = $4)
	ORDER BY m.name_folded, m.id
	LIMIT $5 OFFSET $6`)

// searchStartsCountSQL counts the first tier, up to $4: only a page that
// starts past its end needs to know where it ended.
const searchStartsCountSQL = `
	SELECT count(*) FROM (
		SELECT FROM smart_accounts m
		WHERE m.name_folded >= $1 AND m.name_folded < $2
			AND m.status IN ('active', 'pending')
			AND (NOT m.restricted OR m.name_folded = $1 OR m.domain = $3)
		LIMIT $4
	) x`

// elsewhere is the second tier's condition: the query in the name after
// its first character, or anywhere in the domain. The trigram index narrows
// the search with $8, a pattern for the query after the first character of
// name-and-domain, or for one of its words (see trigramWord); strpos then
// checks the whole query. strpos rather than LIKE keeps the planner's
// estimate honest: it would take a LIKE repeating the index's pattern for an
// independent condition and multiply the two into a count of matches
// hundreds of times too small. "After the first character", because a word
// that mostly starts names (those are the first tier) is rare elsewhere,
// and a pattern that counted it at the start would make the planner expect
// many matches and walk the whole name index for a few.
//
// Parameters as the first tier's, then $7 whether the query may be part of
// a domain, $8 the index's pattern.
const elsewhere = `((m.name_folded || ' ' || m.domain) LIKE $8 OR ($4 <> '' AND m.domain = $4))
	AND (strpos(m.name_folded, $2) > 1 OR ($7 AND strpos(m.domain, $2) > 0) OR m.domain = $4)
	AND NOT (m.name_folded >= $2 AND m.name_folded < $3)
	AND m.status IN ('active', 'pending')
	AND (NOT m.restricted OR m.name_folded = $2 OR m.domain = $4)`

// searchCommonSQL serves a query of one word that the planner's own
// statistics say is common (see wordSample): the planner may then walk the
// name index in order, which finds a page of a common word's matches
// without sorting all of them.
var searchCommonSQL = searchPage(`$2`, `
	SELECT m.id FROM smart_accounts m
	WHERE `+elsewhere+`
	ORDER BY m.name_folded, m.id
	LIMIT $5 OFFSET $6`)

// searchRareSQL serves every other query. Its fence (a MATERIALIZED CTE)
// keeps the planner from walking the name index: it collects the
// candidates the trigram index gives, then sorts the few that hold the
// whole query. A walk is what the planner picks when it expects many
// matches, and it expects them from a sample of names: a rare word that
// happens to be in the sample looks like one name in a thousand, and a
// walk for it reads all million entries to find two.
var searchRareSQL = `
	WITH candidates AS MATERIALIZED (
		SELECT m.id, m.name_folded FROM smart_accounts m WHERE ` + elsewhere + `
	)
	` + searchPage(`$2`, `
	SELECT c.id FROM candidates c
	ORDER BY c.name_folded, c.id
	LIMIT $5 OFFSET $6`)

// searchDomainSQL is the second tier of a query too short in every word for
// the trigram index: only an account whose whole domain it is. Parameters
// as the first tier's.
var searchDomainSQL = searchPage(`$2`, `
	SELECT m.id FROM smart_accounts m
	WHERE m.domain = $4
		AND NOT (m.name_folded >= $2 AND m.name_folded < $3)
		AND m.status IN ('active', 'pending')
	ORDER BY m.name_folded, m.id
	LIMIT $5 OFFSET $6`)

// searchPage lists the accounts whose ids page selects, in name order, with
// the viewer's relation: only the page's rows are read from the table.
// folded is the folded query in SQL.
func searchPage(folded, page string) string {
	return `
	SELECT ` + listingColumns + `, sa.name_folded = ` + folded + ` OR sa.domain = $4
	FROM (` + page + `) page
	JOIN smart_accounts sa ON sa.id = page.id
	` + relationJoin + `
	ORDER BY sa.name_folded, sa.id`
}

// wordSample is the planner's sample of name-and-domain values, the
// statistics of smart_accounts_search_trgm_idx, kept for a while so that
// search can tell a common word from a rare one before it picks a plan.
type wordSample struct {
	mu      sync.Mutex
	values  []string
	fetched time.Time
}

// A word found after the first character of commonHits values of the
// sample (a thousand) is common: one name in three hundred or more, for
// which a walk reads a few thousand index entries. A word in one name in
// two thousand is seen that often by chance one time in a hundred, and its
// walk then costs what a common word's bitmap does; a rare one, never.
const (
	commonHits      = 3
	sampleMaxAge    = 10 * time.Minute
	searchSampleSQL = `
		SELECT coalesce((SELECT histogram_bounds::text::text[] FROM pg_stats
			WHERE schemaname = current_schema() AND tablename = 'smart_accounts_search_trgm_idx'), '{}')`
)

func (w *wordSample) common(ctx context.Context, pool *pgxpool.Pool, word string) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(w.fetched) > sampleMaxAge {
		var values []string
		if err := pool.QueryRow(ctx, searchSampleSQL).Scan(&values); err != nil {
			return false, fmt.Errorf("read search statistics: %w", err)
		}
		w.values, w.fetched = values, time.Now()
	}
	hits := 0
	for _, v := range w.values {
		_, size := utf8.DecodeRuneInString(v)
		if strings.Contains(v[size:], word) {
			if hits++; hits == commonHits {
				return true, nil
			}
		}
	}
	return false, nil
}

// trigramWord picks the word of a folded query that the trigram index
// looks up: its first of four letters or more, else its longest of three;
// ok is false when every word is shorter than a trigram. Text that
// contains the query contains each of its words, so nothing is missed, and
// the index reads the posting lists of a few trigrams instead of all of
// them. The first word, because it is the one that tells companies apart
// ("elsentor" in "elsentor capital france b.v.", "umgoka" in
// umgoka-430.example), where later ones are shared by thousands
// ("capital", "example").
func trigramWord(words []string) (word string, ok bool) {
	for _, w := range words {
		n := utf8.RuneCountInString(w)
		if n >= 4 {
			return w, true
		}
		if n == 3 && word == "" {
			word = w
		}
	}
	return word, word != ""
}

// words splits folded text where pg_trgm does: at anything but a letter or
// a digit.
func words(folded string) []string {
	return strings.FieldsFunc(folded, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func (s *Store) SearchAccounts(ctx context.Context, viewerID int64, q account.SearchQuery) ([]account.Listing, error) {
	var folded string
	var out []account.Listing
	b := &pgx.Batch{}
	b.Queue(`SELECT clc_fold($1)`, q.Text).QueryRow(func(row pgx.Row) error { return row.Scan(&folded) })
	b.Queue(searchStartsSQL, viewerID, q.Text, lastCodePoint, q.ExactDomain, q.Limit, q.Offset).Query(func(rows pgx.Rows) error {
		var err error
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.Listing, error) { return scanListing(row) })
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil || len(out) == q.Limit {
		return out, err
	}
	end := folded + lastCodePoint
	// The page reaches past the first tier. Where the second starts depends
	// on how many names start with the query; when this page holds some,
	// the tier ended here, else count it.
	skip := 0
	if len(out) == 0 && q.Offset > 0 {
		var first int
		if err := s.pool.QueryRow(ctx, searchStartsCountSQL, folded, end, q.ExactDomain, q.Offset).Scan(&first); err != nil {
			return nil, err
		}
		skip = q.Offset - first
	}
	ws := words(folded)
	pattern, ok := trigramWord(ws)
	if !ok {
		// No word of the query is long enough to look up by trigrams, and
		// finding it anywhere in a name would read every name: such a query
		// finds names that start with it, and a domain it is whole.
		rest, err := s.listings(ctx, searchDomainSQL, viewerID, folded, end, q.ExactDomain, q.Limit-len(out), skip)
		return append(out, rest...), err
	}
	// A query of one word is its own pattern; it may be common.
	oneWord := len(ws) == 1 && ws[0] == folded
	sql := searchRareSQL
	if oneWord {
		common, err := s.words.common(ctx, s.pool, folded)
		if err != nil {
			return nil, err
		}
		if common {
			sql = searchCommonSQL
		}
	}
	rest, err := s.listings(ctx, sql, pgx.QueryExecModeExec,
		viewerID, folded, end, q.ExactDomain, q.Limit-len(out), skip,
		q.InDomains, "_%"+likeEscape(pattern)+"%")
	return append(out, rest...), err
}

func (s *Store) AccountFor(ctx context.Context, viewerID int64, id account.AccountID, query, exactDomain string) (account.SmartAccount, account.Relation, error) {
	l, err := scanListing(s.pool.QueryRow(ctx, `
		SELECT `+listingColumns+`, $3 <> '' AND (sa.name_folded = clc_fold($3) OR sa.domain = $4)
		FROM smart_accounts sa
		`+relationJoin+`
		WHERE sa.id = $2`, viewerID, id, query, exactDomain))
	if err != nil {
		return account.SmartAccount{}, account.Relation{}, mapErr(err, "")
	}
	return l.Account, l.Relation, nil
}

func (s *Store) VirtualAccountsOf(ctx context.Context, viewerID int64, ids []account.AccountID, perAccount int) (map[account.AccountID][]account.VirtualAccountAccess, map[account.AccountID]int, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT smart_account_id, name, role, total FROM (
			SELECT va.smart_account_id, va.name, coalesce(m.role, '') AS role,
				row_number() OVER (PARTITION BY va.smart_account_id ORDER BY va.name <> 'DEFAULT', va.name) AS n,
				count(*) OVER (PARTITION BY va.smart_account_id) AS total
			FROM virtual_accounts va
			LEFT JOIN memberships m ON m.user_id = $2 AND m.smart_account_id = va.smart_account_id
				AND m.virtual_account_id = va.id
			WHERE va.smart_account_id = ANY($1)
		) x
		WHERE n <= $3
		ORDER BY smart_account_id, n`, ids, viewerID, perAccount)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	vas, more := map[account.AccountID][]account.VirtualAccountAccess{}, map[account.AccountID]int{}
	for rows.Next() {
		var id account.AccountID
		var va account.VirtualAccountAccess
		var total int
		if err := rows.Scan(&id, &va.Name, &va.Role, &total); err != nil {
			return nil, nil, err
		}
		vas[id] = append(vas[id], va)
		more[id] = total - len(vas[id])
	}
	return vas, more, rows.Err()
}

// menuAccountSQL picks the account the menu names for user $1: the one
// holding their email domain or a domain above it, then a partner holding,
// then any; within each, by their strongest role, then by id. Each of those
// is a query of its own, tried in turn until one finds an account, so that
// a partner with roles on hundreds of accounts, whose own account holds
// their domain, costs a few index probes on each page rather than a read of
// every account they have a role on.
const menuAccountSQL = `
	WITH own_domain AS MATERIALIZED (
		-- the accounts holding the email's domain or one above it, as the
		-- LIKE '%.' || domain that reads every account would find them;
		-- fenced, so that even a generic plan, which expects a user to
		-- have a few roles, looks them up in the domain index rather than
		-- reading every account a partner has a role on
		SELECT own.id, own.account_type FROM smart_accounts own
		WHERE own.domain = ANY (ARRAY(
			SELECT array_to_string(l.labels[i:], '.')
			FROM users u,
				LATERAL (SELECT string_to_array(split_part(u.email, '@', 2), '.') AS labels) l,
				generate_subscripts(l.labels, 1) i
			WHERE u.id = $1))
	)
	SELECT ` + accountColumns + ` FROM smart_accounts sa
	WHERE sa.id = (
		SELECT pick.id FROM (
			(SELECT m.smart_account_id AS id
			FROM own_domain own
			JOIN memberships m ON m.smart_account_id = own.id AND m.user_id = $1
			ORDER BY own.account_type = 'partner_holding' DESC, ` + memberRank + ` DESC, m.smart_account_id
			LIMIT 1)
			UNION ALL
			(SELECT m.smart_account_id
			FROM memberships m
			JOIN smart_accounts own ON own.id = m.smart_account_id
			WHERE m.user_id = $1 AND own.account_type = 'partner_holding'
			ORDER BY ` + memberRank + ` DESC, m.smart_account_id
			LIMIT 1)
			UNION ALL
			(SELECT m.smart_account_id
			FROM memberships m
			WHERE m.user_id = $1
			ORDER BY ` + memberRank + ` DESC, m.smart_account_id
			LIMIT 1)
		) pick
		LIMIT 1)`

func (s *Store) MenuAccount(ctx context.Context, userID int64) (account.SmartAccount, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, menuAccountSQL, userID))
	return a, mapErr(err, "")
}

func (s *Store) SignedIn(ctx context.Context, id int64) (account.User, account.SmartAccount, error) {
	var u account.User
	var a account.SmartAccount
	b := &pgx.Batch{}
	b.Queue(`SELECT `+userColumns+` FROM users WHERE id = $1`, id).QueryRow(func(row pgx.Row) error {
		var err error
		u, err = scanUser(row)
		return mapErr(err, "")
	})
	b.Queue(menuAccountSQL, id).QueryRow(func(row pgx.Row) error {
		var err error
		if a, err = scanAccount(row); errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return account.User{}, account.SmartAccount{}, err
	}
	return u, a, nil
}

func (s *Store) AdminsOf(ctx context.Context, ids []account.AccountID, perAccount int) (map[account.AccountID][]account.Contact, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT smart_account_id, name, email FROM (
			SELECT m.smart_account_id, u.name, u.email,
				row_number() OVER (PARTITION BY m.smart_account_id ORDER BY lower(u.name), u.id) AS n
			FROM memberships m
			JOIN users u ON u.id = m.user_id
			WHERE m.smart_account_id = ANY($1) AND m.virtual_account_id IS NULL AND m.role = 'admin'
		) x
		WHERE n <= $2
		ORDER BY smart_account_id, n`, ids, perAccount)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[account.AccountID][]account.Contact{}
	for rows.Next() {
		var id account.AccountID
		var c account.Contact
		if err := rows.Scan(&id, &c.Name, &c.Email); err != nil {
			return nil, err
		}
		out[id] = append(out[id], c)
	}
	return out, rows.Err()
}

func (s *Store) RoleHolders(ctx context.Context, id account.AccountID, limit, offset int) ([]account.RoleHolder, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT u.id, u.name, u.email, m.role, coalesce(va.name, '')
		FROM memberships m
		JOIN users u ON u.id = m.user_id
		LEFT JOIN virtual_accounts va ON va.id = m.virtual_account_id
		WHERE m.smart_account_id = $1
		ORDER BY va.name NULLS FIRST, `+memberRank+` DESC, lower(u.name), u.id
		LIMIT $2 OFFSET $3`, id, limit, offset)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.RoleHolder, error) {
		var h account.RoleHolder
		err := row.Scan(&h.UserID, &h.Name, &h.Email, &h.Role, &h.VirtualAccount)
		return h, err
	})
}

func (s *Store) Events(ctx context.Context, id account.AccountID, limit, offset int) ([]account.Event, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+eventColumns+`
		FROM events
		WHERE smart_account_id = $1
		ORDER BY at DESC, id DESC
		LIMIT $2 OFFSET $3`, id, limit, offset)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanEvent)
}
