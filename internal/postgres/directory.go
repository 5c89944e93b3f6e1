package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

// memberRank orders the role of membership m as account.Role.Rank does.
const memberRank = `CASE m.role WHEN 'admin' THEN 4 WHEN 'approver' THEN 3 WHEN 'user' THEN 2 ELSE 1 END`

// relationColumns tie a viewer to the account sa; every query that uses
// them names the viewer's row v, so the fragment works whatever the
// viewer's parameter number. Scanned by scanListing.
const relationColumns = `
	coalesce((SELECT m.role FROM memberships m
		WHERE m.user_id = v.id AND m.smart_account_id = sa.id AND m.virtual_account_id IS NULL), ''),
	coalesce((SELECT m.role FROM memberships m
		WHERE m.user_id = v.id AND m.smart_account_id = sa.id AND m.virtual_account_id IS NOT NULL
		ORDER BY ` + memberRank + ` DESC LIMIT 1), ''),
	coalesce(sa.created_by = v.id, false),
	EXISTS (SELECT 1 FROM access_requests r WHERE r.user_id = v.id AND r.smart_account_id = sa.id)`

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
// (SA-000123) contains the filter; an empty filter makes the pattern %%,
// which keeps all. The directory's sections are a user's own accounts, a few
// hundred at most, so a filter over them needs no index of its own.
const filterMatches = `(sa.name_folded LIKE clc_contains($2)
	OR sa.domain LIKE clc_contains($2)
	OR 'sa-' || lpad(sa.id::text, greatest(6, length(sa.id::text)), '0') LIKE clc_contains($2))`

func (s *Store) DirectorySection(ctx context.Context, q account.SectionQuery) ([]account.Listing, error) {
	switch q.Section {
	case account.SectionAccess:
		return s.listings(ctx, `
			SELECT `+listingColumns+`, false
			FROM (SELECT $1::bigint AS id) v
			CROSS JOIN LATERAL (SELECT DISTINCT m.smart_account_id FROM memberships m WHERE m.user_id = v.id) mine
			JOIN smart_accounts sa ON sa.id = mine.smart_account_id
			WHERE `+filterMatches+`
			ORDER BY sa.name_folded, sa.id
			LIMIT $3 OFFSET $4`, q.ViewerID, q.Filter, q.Limit, q.Offset)
	case account.SectionRequested:
		return s.requestedSection(ctx, q)
	case account.SectionCreated:
		return s.listings(ctx, `
			SELECT `+listingColumns+`, false
			FROM (SELECT $1::bigint AS id) v
			JOIN smart_accounts sa ON sa.created_by = v.id
			WHERE `+filterMatches+`
			ORDER BY sa.created_at DESC, sa.id DESC
			LIMIT $3 OFFSET $4`, q.ViewerID, q.Filter, q.Limit, q.Offset)
	case account.SectionDomain:
		// Restricted accounts are listed here too: their domain is the
		// viewer's own or one above it, which is exactly the whole-domain
		// search that finds a restricted account, so they count as found by
		// exact match.
		return s.listings(ctx, `
			SELECT `+listingColumns+`, true
			FROM (SELECT $1::bigint AS id) v
			JOIN smart_accounts sa ON sa.domain = ANY($5)
			WHERE sa.status IN ('active', 'pending')
				AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = v.id AND m.smart_account_id = sa.id)
				AND NOT EXISTS (SELECT 1 FROM access_requests r
					WHERE r.user_id = v.id AND r.smart_account_id = sa.id AND r.status IN ('pending', 'declined'))
				AND sa.created_by IS DISTINCT FROM v.id
				AND `+filterMatches+`
			ORDER BY sa.name_folded, sa.id
			LIMIT $3 OFFSET $4`, q.ViewerID, q.Filter, q.Limit, q.Offset, q.Domains)
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
		FROM (SELECT $1::bigint AS id) v
		JOIN access_requests r ON r.user_id = v.id
		JOIN smart_accounts sa ON sa.id = r.smart_account_id
		LEFT JOIN virtual_accounts va ON va.id = r.virtual_account_id
		WHERE r.status IN ('pending', 'declined') AND `+filterMatches+`
		ORDER BY r.created_at DESC, r.id DESC
		LIMIT $3 OFFSET $4`, q.ViewerID, q.Filter, q.Limit, q.Offset)
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
// page. There the planner chooses: for a rare term, the trigram indexes'
// bitmaps and a sort of the few matches; for a common one, a walk of the
// name index that stops after one page.
//
// The planner can only choose well when it sees the pattern, so these
// queries are never prepared: a prepared statement's generic plan would
// guess at a pattern it cannot see. QueryExecModeExec sends each in one
// round trip, planned for its values.
//
// Every query names its parameters alike: $1 viewer, $2 query, $3 exact
// domain, $4 whether the query may be part of a domain, $5 limit, $6 offset.
const (
	searchViewer = `(SELECT $1::bigint AS id, $4::boolean AS in_domains) v`
	// searchable is what search may show: live accounts, and restricted ones
	// only by their entire name or domain.
	searchable = `sa.status IN ('active', 'pending')
		AND (NOT sa.restricted OR sa.name_folded = clc_fold($2) OR sa.domain = $3)`
	startsWith = `sa.name_folded LIKE clc_prefix($2)`
	// containsElsewhere asks for the query after a name's first character
	// rather than "anywhere but not first": the planner estimates a pattern
	// well, but not how a word that mostly starts names is rarer elsewhere,
	// and would walk the whole name index looking for it.
	containsElsewhere = `(sa.name_folded LIKE clc_infix($2)
			OR (v.in_domains AND sa.domain LIKE clc_contains($2))
			OR sa.domain = $3)
		AND sa.name_folded NOT LIKE clc_prefix($2)`
)

// searchTier lists one page of one tier; only its rows get the viewer's
// relation.
func searchTier(tier string) string {
	return `
		SELECT ` + listingColumns + `, sa.name_folded = clc_fold($2) OR sa.domain = $3
		FROM ` + searchViewer + `
		CROSS JOIN LATERAL (
			SELECT * FROM smart_accounts sa
			WHERE ` + tier + ` AND ` + searchable + `
			ORDER BY sa.name_folded, sa.id
			LIMIT $5 OFFSET $6
		) sa
		ORDER BY sa.name_folded, sa.id`
}

var (
	searchStartsSQL    = searchTier(startsWith)
	searchElsewhereSQL = searchTier(containsElsewhere)
	// searchStartsCountSQL counts the first tier, up to $5: only a page that
	// starts past its end needs to know where it ended.
	searchStartsCountSQL = `
		SELECT count(*) FROM (
			SELECT FROM ` + searchViewer + `, smart_accounts sa
			WHERE ` + startsWith + ` AND ` + searchable + `
			LIMIT $5
		) x`
)

func (s *Store) SearchAccounts(ctx context.Context, viewerID int64, q account.SearchQuery) ([]account.Listing, error) {
	args := func(limit, offset int) []any {
		return []any{pgx.QueryExecModeExec, viewerID, q.Text, q.ExactDomain, q.InDomains, limit, offset}
	}
	out, err := s.listings(ctx, searchStartsSQL, args(q.Limit, q.Offset)...)
	if err != nil || len(out) == q.Limit {
		return out, err
	}
	// The page reaches past the first tier. Where the second starts depends
	// on how many names start with the query; when this page holds some,
	// the tier ended here, else count it.
	skip := 0
	if len(out) == 0 && q.Offset > 0 {
		var first int
		a := args(q.Offset, 0)
		if err := s.pool.QueryRow(ctx, searchStartsCountSQL, a[:len(a)-1]...).Scan(&first); err != nil {
			return nil, err
		}
		skip = q.Offset - first
	}
	rest, err := s.listings(ctx, searchElsewhereSQL, args(q.Limit-len(out), skip)...)
	return append(out, rest...), err
}

func (s *Store) AccountFor(ctx context.Context, viewerID int64, id account.AccountID, query, exactDomain string) (account.SmartAccount, account.Relation, error) {
	l, err := scanListing(s.pool.QueryRow(ctx, `
		SELECT `+listingColumns+`, $3 <> '' AND (sa.name_folded = clc_fold($3) OR sa.domain = $4)
		FROM (SELECT $1::bigint AS id) v
		JOIN smart_accounts sa ON sa.id = $2`, viewerID, id, query, exactDomain))
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
		SELECT id, smart_account_id, at, coalesce(actor_user_id, 0), actor, kind, detail
		FROM events
		WHERE smart_account_id = $1
		ORDER BY at DESC, id DESC
		LIMIT $2 OFFSET $3`, id, limit, offset)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.Event, error) {
		var e account.Event
		err := row.Scan(&e.ID, &e.AccountID, &e.At, &e.ActorID, &e.Actor, &e.Kind, &e.Detail)
		return e, err
	})
}
