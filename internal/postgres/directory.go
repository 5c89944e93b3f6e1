package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

// memberRank orders the role of membership m as account.Role.Rank does.
const memberRank = `CASE m.role WHEN 'admin' THEN 4 WHEN 'approver' THEN 3 WHEN 'user' THEN 2 ELSE 1 END`

// relationJoin and relationColumns tie the viewer, always $1, to each
// account sa of a listing, which every listing query builds last, over its
// page alone. One probe of memberships per account gives both the Smart
// Account's role and the strongest Virtual Account role, and one probe of
// access_requests_account_user_idx whether the viewer asked for access
// (migration 024). Scanned by scanListing.
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
	EXISTS (SELECT FROM access_requests r WHERE r.smart_account_id = sa.id AND r.user_id = $1)`
)

// listingColumns are an account, the viewer's relation to it and its
// administrators, read from the account's own row (migration 014 keeps them
// there, the first account.MaxShownAdmins by name).
const listingColumns = accountColumns + `,` + relationColumns + `, sa.admin_names, sa.admin_emails`

// scanListing reads listingColumns, then whether the query matched exactly,
// then extra.
func scanListing(row pgx.Row, extra ...any) (account.Listing, error) {
	var l account.Listing
	var admins contacts
	r := &l.Relation
	dest := accountDest(&l.Account, make([]any, 0, accountFields+7+len(extra)))
	dest = append(dest, (*string)(&r.Role), (*string)(&r.VARole), &r.Creator, &r.AskedAccess, &admins.names, &admins.emails, &r.ExactMatch)
	err := row.Scan(append(dest, extra...)...)
	l.Admins = admins.list()
	return l, err
}

// filterMatches keeps the accounts whose folded name, domain or shown id
// (SA-000123) contains the filter, given as typed in $2: folded and made a
// LIKE pattern once per statement (the sub-select), so the sections of a
// directory need no round trip of their own to fold it. It reads the SQL
// columns name, domain and id: an account's, or a row of an index that
// carries them. No filter, as on the overview and most section pages, is
// its first test, which keeps every row before the pattern is computed: no
// fold, no three LIKEs a row.
//
// A filter that matches few of a section's rows reads all of them, in the
// section's order, until a page is full: measured for a partner with 30,000
// accounts in each section (TestMeasureDirectorySections), 30,000 buffers
// and 40 to 90 ms for "Accounts you can access", 90,000 buffers and 100 ms
// for "asked access to" (an account fetched per request), 900 buffers and
// 25 ms for "asked to have created" (the index alone; the time is the three
// LIKEs a row); a filter that matches one row in eight fills a page in under
// a millisecond. search_suffixes (migration 005) would turn the filter into
// a prefix range, but holds live, unrestricted accounts only, where these
// sections list denied, expired and restricted ones too, and matches no
// SA-000123 id; a per-user suffix index would hold a dozen rows per user
// and account. Left linear in the section's size.
func filterMatches(name, domain, id string) string {
	return `($2::text = '' OR ` + name + ` LIKE (SELECT pattern FROM filter)
	OR ` + domain + ` LIKE (SELECT pattern FROM filter)
	OR 'sa-' || lpad(` + id + `::text, greatest(6, length(` + id + `::text)), '0') LIKE (SELECT pattern FROM filter))`
}

// filterCTE defines filter for filterMatches: the text that contains $2
// folded, as a LIKE pattern; for "" it is %%, which keeps all.
const filterCTE = `WITH filter AS MATERIALIZED (
	SELECT '%' || replace(replace(replace(clc_fold($2::text), '\', '\\'), '%', '\%'), '_', '\_') || '%' AS pattern)`

// DirectorySections reads every asked section in one round trip.
func (s *Store) DirectorySections(ctx context.Context, qs []account.SectionQuery) ([][]account.Listing, error) {
	b := &pgx.Batch{}
	out, err := queueSections(b, qs)
	if err != nil {
		return nil, err
	}
	if err := s.reader(ctx).SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return out, nil
}

// DirectoryOverview reads the asked sections and the viewer's total of
// each section in one round trip. The totals of the first three come from
// directory_counts (migration 024), at most 16 rows a section however many
// accounts the viewer has; the domain section's from its rows, a handful.
func (s *Store) DirectoryOverview(ctx context.Context, viewerID int64, domains []string, qs []account.SectionQuery) ([][]account.Listing, map[account.Section]int, error) {
	b := &pgx.Batch{}
	out, err := queueSections(b, qs)
	if err != nil {
		return nil, nil, err
	}
	totals := map[account.Section]int{}
	b.Queue(`
		SELECT section, sum(n)::bigint FROM directory_counts WHERE user_id = $1 GROUP BY section
		UNION ALL
		SELECT 'domain', count(*) FROM smart_accounts sa WHERE `+domainSectionWhere("$2"),
		viewerID, domains).Query(func(rows pgx.Rows) error {
		var sec string
		var n int
		_, err := pgx.ForEachRow(rows, []any{&sec, &n}, func() error {
			totals[account.Section(sec)] = n
			return nil
		})
		return err
	})
	if err := s.reader(ctx).SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, err
	}
	return out, totals, nil
}

// queueSections queues the statement of each section query on b; the
// returned lists are filled when b's results are read.
func queueSections(b *pgx.Batch, qs []account.SectionQuery) ([][]account.Listing, error) {
	out := make([][]account.Listing, len(qs))
	for i, q := range qs {
		sql, args, scan, err := sectionSQL(q)
		if err != nil {
			return nil, err
		}
		b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
			var err error
			out[i], err = pgx.AppendRows(make([]account.Listing, 0, pageCapacity(q.Limit)), rows, scan)
			return err
		})
	}
	return out, nil
}

// pageCapacity is the room to read a page of at most limit rows (a few
// dozen) into: sized once, rather than grown and copied four or five times
// as rows arrive, and never more than 100 whatever limit says.
func pageCapacity(limit int) int { return min(max(limit, 0), 100) }

// domainSectionWhere keeps the live accounts sa under the domains (the SQL
// parameter named) that viewer $1 has no other section for: no role, no
// open or declined access request, not asked for by them.
//
// The two checks are scalar subqueries, a probe for each of the few
// accounts a domain holds, because PostgreSQL cannot turn them into joins:
// as NOT EXISTS, the generic plan (which expects a user to hold a few
// roles) hash-anti-joined every membership the viewer has, 28,817 rows and
// 19 ms for a partner with roles on 30,000 accounts, against 0.06 ms.
func domainSectionWhere(domains string) string {
	return `sa.domain = ANY(` + domains + `) AND sa.status IN ('active', 'pending')
	AND (SELECT true FROM memberships m WHERE m.user_id = $1 AND m.smart_account_id = sa.id LIMIT 1) IS NULL
	AND (SELECT true FROM access_requests r
		WHERE r.user_id = $1 AND r.smart_account_id = sa.id AND r.status IN ('pending', 'declined') LIMIT 1) IS NULL
	AND sa.created_by IS DISTINCT FROM $1`
}

// keyColumns end every section's row: where it stands in the section
// (account.SectionKey), read by sectionScan.
func keyColumns(name, at, id string) string {
	return `coalesce(` + name + `::text, ''), ` + at + `::timestamptz, ` + id + `::bigint`
}

// keyset is what pages a section from q's key rather than an offset: the
// condition that keeps the rows after it (or, for q.Before, before it) in
// the section's order over the sort columns sort and id, and the order in
// which an index range reads them from the key on; so a late page reads a
// page of the index, not every row before it. The key's values are
// appended to args as the next parameters. byName says the first sort
// column is a name, compared as stored (collation "C"), else a time; desc
// that the section lists the newest first.
func keyset(q account.SectionQuery, sort, id string, byName, desc bool, args []any) (cond, order string, _ []any) {
	backward := !q.Before.IsZero()
	if backward != desc {
		order = ` DESC`
	}
	key := q.After
	if backward {
		key = q.Before
	}
	if key.IsZero() {
		return `true`, sort + order + `, ` + id + order, args
	}
	op := `>`
	if order != `` {
		op = `<`
	}
	n := len(args)
	value, sortValue := fmt.Sprintf(`$%d::timestamptz`, n+1), any(key.At)
	if byName {
		value, sortValue = fmt.Sprintf(`$%d::text COLLATE "C"`, n+1), key.Name
	}
	args = append(args, sortValue, key.ID)
	return fmt.Sprintf(`(%s, %s) %s (%s, $%d::bigint)`, sort, id, op, value, n+2), sort + order + `, ` + id + order, args
}

// sectionKeyDest reads keyColumns into a row's SectionKey.
type sectionKeyDest struct {
	name string
	at   *time.Time
	id   int64
}

func (d *sectionKeyDest) dest() []any { return []any{&d.name, &d.at, &d.id} }

func (d *sectionKeyDest) key() account.SectionKey {
	return account.SectionKey{Name: d.name, At: deref(d.at), ID: d.id}
}

// sectionScan reads a section's row: listingColumns, whether it matched
// exactly, keyColumns, then for "asked access to" accessRequestColumns, and
// pageVirtualAccountsColumns when the statement reads them.
func sectionScan(requested, virtualAccounts bool) pgx.RowToFunc[account.Listing] {
	return func(row pgx.CollectableRow) (account.Listing, error) {
		var k sectionKeyDest
		var d accessRequestDest
		var v pageVirtualAccountsDest
		dest := make([]any, 0, 16)
		dest = append(dest, k.dest()...)
		if requested {
			dest = append(dest, d.dest()...)
		}
		if virtualAccounts {
			dest = append(dest, v.dest()...)
		}
		l, err := scanListing(row, dest...)
		l.Key = k.key()
		if requested {
			req := d.request()
			l.Request = &req
		}
		if virtualAccounts {
			l.VirtualAccounts, l.MoreVirtualAccounts = v.list()
		}
		return l, err
	}
}

// pageVirtualAccountsJoin reads, for the account sa of a row (a section's,
// or virtualAccountsSQL's), its first n Virtual Accounts, DEFAULT first, with viewer $1's role on
// each: an index range and a sort of a few rows. It follows relationJoin,
// whose va_role says whether the viewer holds any Virtual Account role on
// the account; only then is each one probed for it (most viewers hold
// none: two thirds of the statement's buffers were those probes). The
// aggregates take the rows in the order the subquery sorted them, with
// nothing between to reorder them, and both from the same rows, so a name
// and its role share an index. Read by pageVirtualAccountsColumns.
func pageVirtualAccountsJoin(n int) string {
	return `
	LEFT JOIN LATERAL (
		SELECT array_agg(va.name) AS names,
			array_agg(CASE WHEN rel.va_role IS NULL THEN '' ELSE coalesce((SELECT m.role FROM memberships m
				WHERE m.user_id = $1 AND m.smart_account_id = va.smart_account_id AND m.virtual_account_id = va.id), '') END) AS roles
		FROM (
			SELECT va.id, va.smart_account_id, va.name FROM virtual_accounts va
			WHERE va.smart_account_id = sa.id
			ORDER BY va.name <> 'DEFAULT', va.name
			LIMIT ` + strconv.Itoa(n) + `
		) va
	) vas ON true`
}

// pageVirtualAccountsColumns are pageVirtualAccountsJoin's names, roles and
// how many Virtual Accounts the account has: counted only when it listed n,
// else as many as it listed.
func pageVirtualAccountsColumns(n int) string {
	return `coalesce(vas.names, '{}'), coalesce(vas.roles, '{}'),
	CASE WHEN cardinality(vas.names) < ` + strconv.Itoa(n) + ` THEN cardinality(vas.names)
		ELSE (SELECT count(*) FROM virtual_accounts va WHERE va.smart_account_id = sa.id) END`
}

// pageVirtualAccountsDest reads pageVirtualAccountsColumns.
type pageVirtualAccountsDest struct {
	names, roles []string
	total        int
}

func (d *pageVirtualAccountsDest) dest() []any { return []any{&d.names, &d.roles, &d.total} }

// list is the Virtual Accounts read (nil for none) and how many more the
// account has.
func (d *pageVirtualAccountsDest) list() ([]account.VirtualAccountAccess, int) {
	var vas []account.VirtualAccountAccess
	if len(d.names) > 0 {
		vas = make([]account.VirtualAccountAccess, len(d.names))
		for i := range d.names {
			vas[i] = account.VirtualAccountAccess{Name: d.names[i], Role: account.Role(d.roles[i])}
		}
	}
	return vas, d.total - len(d.names)
}

// sectionSQL is the statement that lists one page of one section, its
// arguments and how to read its rows. Each reads the page from its key on
// (keyset), in the section's order or, for a page before a key, backwards
// from it; the outer ORDER BY puts the page in the section's order either
// way.
func sectionSQL(q account.SectionQuery) (string, []any, pgx.RowToFunc[account.Listing], error) {
	args := []any{q.ViewerID, q.Filter, q.Limit}
	// The rows' Virtual Accounts, when the query asks for them.
	vaColumns, vaJoin, withVAs := "", "", q.VirtualAccounts > 0
	if withVAs {
		vaColumns, vaJoin = ", "+pageVirtualAccountsColumns(q.VirtualAccounts), pageVirtualAccountsJoin(q.VirtualAccounts)
	}
	switch q.Section {
	case account.SectionAccess:
		// One range of accessible_accounts (migration 017), the viewer's
		// accounts in name order with what the filter reads, cut to the
		// page before any account is fetched.
		after, order, args := keyset(q, "a.name_folded", "a.smart_account_id", true, false, args)
		return filterCTE + `
			SELECT ` + listingColumns + `, false, ` + keyColumns("page.name_folded", "NULL", "page.smart_account_id") + vaColumns + `
			FROM (
				SELECT a.smart_account_id, a.name_folded FROM accessible_accounts a
				WHERE a.user_id = $1 AND ` + filterMatches("a.name_folded", "a.domain", "a.smart_account_id") + `
					AND ` + after + `
				ORDER BY ` + order + `
				LIMIT $3
			) page
			JOIN smart_accounts sa ON sa.id = page.smart_account_id
			` + relationJoin + vaJoin + `
			ORDER BY page.name_folded, page.smart_account_id`, args, sectionScan(false, withVAs), nil
	case account.SectionRequested:
		// Approved requests are left out: their access is in the first
		// section now. Newest request first, read in the order of
		// access_requests_user_idx and cut to the page before any account
		// is fetched; only a filter reads each request's account, and
		// under an OR the planner keeps it a probe. As a join, the generic
		// plan (which expects a user to have asked for a few accounts) read
		// every request of the viewer's and sorted them: 3,000 requests and
		// 10 ms of the overview for a partner with 30,000 accounts, at
		// 100,000 accounts.
		after, order, args := keyset(q, "r.created_at", "r.id", false, true, args)
		return filterCTE + `
			SELECT ` + listingColumns + `, false, ` + keyColumns("NULL", "r.created_at", "r.id") + `, ` + accessRequestColumns + vaColumns + `
			FROM (
				SELECT r.* FROM access_requests r
				WHERE r.user_id = $1 AND r.status IN ('pending', 'declined')
					AND ($2::text = '' OR EXISTS (SELECT FROM smart_accounts fa WHERE fa.id = r.smart_account_id
						AND ` + filterMatches("fa.name_folded", "fa.domain", "fa.id") + `))
					AND ` + after + `
				ORDER BY ` + order + `
				LIMIT $3
			) r
			JOIN smart_accounts sa ON sa.id = r.smart_account_id
			JOIN users u ON u.id = r.user_id
			LEFT JOIN users d ON d.id = r.decided_by
			` + relationJoin + vaJoin + `
			ORDER BY r.created_at DESC, r.id DESC`, args, sectionScan(true, withVAs), nil
	case account.SectionCreated:
		// smart_accounts_created_by_idx carries the name and domain, so a
		// filter reads the index alone however many accounts the viewer
		// asked for; the page's accounts are fetched afterwards.
		after, order, args := keyset(q, "c.created_at", "c.id", false, true, args)
		return filterCTE + `
			SELECT ` + listingColumns + `, false, ` + keyColumns("NULL", "page.created_at", "page.id") + vaColumns + `
			FROM (
				SELECT c.id, c.created_at FROM smart_accounts c
				WHERE c.created_by = $1 AND ` + filterMatches("c.name_folded", "c.domain", "c.id") + `
					AND ` + after + `
				ORDER BY ` + order + `
				LIMIT $3
			) page
			JOIN smart_accounts sa ON sa.id = page.id
			` + relationJoin + vaJoin + `
			ORDER BY page.created_at DESC, page.id DESC`, args, sectionScan(false, withVAs), nil
	case account.SectionDomain:
		// Restricted accounts are listed here too: their domain is the
		// viewer's own or one above it, which is exactly the whole-domain
		// search that finds a restricted account, so they count as found by
		// exact match.
		args = append(args, q.Domains)
		after, order, args := keyset(q, "sa.name_folded", "sa.id", true, false, args)
		return filterCTE + `
			SELECT ` + listingColumns + `, true, ` + keyColumns("sa.name_folded", "NULL", "sa.id") + vaColumns + `
			FROM (
				SELECT * FROM smart_accounts sa
				WHERE ` + domainSectionWhere("$4") + `
					AND ` + filterMatches("sa.name_folded", "sa.domain", "sa.id") + `
					AND ` + after + `
				ORDER BY ` + order + `
				LIMIT $3
			) sa
			` + relationJoin + vaJoin + `
			ORDER BY sa.name_folded, sa.id`, args, sectionScan(false, withVAs), nil
	}
	return "", nil, nil, fmt.Errorf("unknown directory section %q", q.Section)
}

func (s *Store) AccountFor(ctx context.Context, viewerID int64, id account.AccountID, query, exactDomain string) (account.Listing, error) {
	l, err := scanListing(s.pool.QueryRow(ctx, `
		SELECT `+listingColumns+`, $3 <> '' AND (sa.name_folded = clc_fold($3) OR sa.domain = $4)
		FROM smart_accounts sa
		`+relationJoin+`
		WHERE sa.id = $2`, viewerID, id, query, exactDomain))
	if err != nil {
		return account.Listing{}, mapErr(err, "")
	}
	return l, nil
}

// virtualAccountsSQL lists, for each of accounts $2, its first n Virtual
// Accounts with viewer $1's role on each and how many it has, read as a
// section reads them with its rows (pageVirtualAccountsJoin, after
// relationJoin): one row an account, read by collectVirtualAccounts. The
// role stays a probe: as a join, the generic plan (which expects a user to
// hold a few roles) read and sorted every membership the viewer has, 28,817
// rows and 24.8 ms for a partner with roles on 30,000 accounts.
func virtualAccountsSQL(n int) string {
	return `SELECT sa.id, ` + pageVirtualAccountsColumns(n) + `
	FROM smart_accounts sa` + relationJoin + pageVirtualAccountsJoin(n) + `
	WHERE sa.id = ANY ($2)`
}

func collectVirtualAccounts(rows pgx.Rows) (map[account.AccountID][]account.VirtualAccountAccess, map[account.AccountID]int, error) {
	defer rows.Close()
	vas, more := map[account.AccountID][]account.VirtualAccountAccess{}, map[account.AccountID]int{}
	for rows.Next() {
		var id int64
		var d pageVirtualAccountsDest
		if err := rows.Scan(append([]any{&id}, d.dest()...)...); err != nil {
			return nil, nil, err
		}
		vas[account.AccountID(id)], more[account.AccountID(id)] = d.list()
	}
	return vas, more, rows.Err()
}

func (s *Store) VirtualAccountsOf(ctx context.Context, viewerID int64, ids []account.AccountID, perAccount int) (map[account.AccountID][]account.VirtualAccountAccess, map[account.AccountID]int, error) {
	rows, err := s.reader(ctx).Query(ctx, virtualAccountsSQL(perAccount), viewerID, ids)
	if err != nil {
		return nil, nil, err
	}
	return collectVirtualAccounts(rows)
}

// menuAccountSQL reads the account the menu names for user $1 from
// menu_accounts (migration 034), a read model that keeps the rule: the
// account holding their email domain or a domain above it, then a partner
// holding, then any; within each, by their strongest role, then by id.
const menuAccountSQL = `SELECT ` + accountColumns + ` FROM menu_accounts ma
	JOIN smart_accounts sa ON sa.id = ma.smart_account_id
	WHERE ma.user_id = $1`

func (s *Store) MenuAccount(ctx context.Context, userID int64) (account.SmartAccount, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, menuAccountSQL, userID))
	return a, mapErr(err, "")
}

// adminsJoin reads, for the account whose id is the SQL expression account,
// its first administrators by name, at most limit (SQL too), as the arrays
// adminsColumns names: one probe of memberships_admins_idx per account.
func adminsJoin(account, limit string) string {
	return `
	LEFT JOIN LATERAL (
		SELECT array_agg(a.name ORDER BY lower(a.name), a.id) AS names,
			array_agg(a.email ORDER BY lower(a.name), a.id) AS emails
		FROM (
			SELECT u.id, u.name, u.email FROM memberships m
			JOIN users u ON u.id = m.user_id
			WHERE m.smart_account_id = ` + account + ` AND m.virtual_account_id IS NULL AND m.role = 'admin'
			ORDER BY lower(u.name), u.id
			LIMIT ` + limit + `) a
	) admins ON true`
}

// adminsColumns are adminsJoin's administrators, scanned into contacts.
const adminsColumns = `coalesce(admins.names, '{}'), coalesce(admins.emails, '{}')`

// contacts is adminsColumns as scanned.
type contacts struct{ names, emails []string }

func (c contacts) list() []account.Contact {
	var out []account.Contact
	for i := range c.names {
		out = append(out, account.Contact{Name: c.names[i], Email: c.emails[i]})
	}
	return out
}

func (s *Store) AdminsOf(ctx context.Context, ids []account.AccountID, perAccount int) (map[account.AccountID][]account.Contact, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT ids.id, `+adminsColumns+`
		FROM unnest($1::bigint[]) ids (id)
		`+adminsJoin("ids.id", "$2::int"), ids, perAccount)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[account.AccountID][]account.Contact{}
	for rows.Next() {
		var id account.AccountID
		var c contacts
		if err := rows.Scan(&id, &c.names, &c.emails); err != nil {
			return nil, err
		}
		if len(c.names) > 0 {
			out[id] = c.list()
		}
	}
	return out, rows.Err()
}

// AccountParts reads what an account's page shows below the account, each
// part only when asked for, all in one round trip.
func (s *Store) AccountParts(ctx context.Context, q account.AccountPartsQuery) (account.AccountParts, error) {
	var p account.AccountParts
	b := &pgx.Batch{}
	if q.VirtualAccounts > 0 {
		b.Queue(virtualAccountsSQL(q.VirtualAccounts), q.ViewerID, []account.AccountID{q.ID}).Query(func(rows pgx.Rows) error {
			vas, more, err := collectVirtualAccounts(rows)
			p.VirtualAccounts, p.MoreVirtualAccounts = vas[q.ID], more[q.ID]
			if p.VirtualAccounts == nil {
				p.VirtualAccounts = []account.VirtualAccountAccess{}
			}
			return err
		})
	}
	if q.ManagedVirtualAccounts > 0 {
		b.Queue(managedVirtualAccountsSQL, q.ViewerID, q.ID, account.DefaultVirtualAccount, q.ManagedVirtualAccounts).Query(func(rows pgx.Rows) error {
			var err error
			p.ManagedVirtualAccounts, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.ManagedVirtualAccount, error) { return scanVirtualAccount(row) })
			return err
		})
	}
	if q.Holders.Limit > 0 {
		b.Queue(roleHoldersSQL, q.ID, q.Holders.Limit, q.Holders.Offset).Query(func(rows pgx.Rows) error {
			var err error
			p.Holders, err = pgx.CollectRows(rows, scanRoleHolder)
			return err
		})
	}
	if q.Events.Limit > 0 {
		b.Queue(`
			SELECT `+eventColumns+`
			FROM events
			WHERE smart_account_id = $1
			ORDER BY at DESC, id DESC
			LIMIT $2 OFFSET $3`, q.ID, q.Events.Limit, q.Events.Offset).Query(func(rows pgx.Rows) error {
			var err error
			p.Events, err = pgx.CollectRows(rows, scanEvent)
			return err
		})
	}
	if b.Len() == 0 {
		return p, nil
	}
	return p, s.pool.SendBatch(ctx, b).Close()
}

// roleHoldersSQL is one page ($2 rows from $3) of who holds which role on
// account $1: the account's own roles first, then by Virtual Account. The
// account page's batch and the Users page both read it.
const roleHoldersSQL = `
	SELECT u.id, u.name, u.email, m.role, coalesce(va.name, '')
	FROM memberships m
	JOIN users u ON u.id = m.user_id
	LEFT JOIN virtual_accounts va ON va.id = m.virtual_account_id
	WHERE m.smart_account_id = $1
	ORDER BY va.name NULLS FIRST, ` + memberRank + ` DESC, lower(u.name), u.id
	LIMIT $2 OFFSET $3`

func scanRoleHolder(row pgx.CollectableRow) (account.RoleHolder, error) {
	var h account.RoleHolder
	err := row.Scan(&h.UserID, &h.Name, &h.Email, (*string)(&h.Role), &h.VirtualAccount)
	return h, err
}

func (s *Store) RoleHolders(ctx context.Context, id account.AccountID, limit, offset int) ([]account.RoleHolder, error) {
	rows, err := s.pool.Query(ctx, roleHoldersSQL, id, limit, offset)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanRoleHolder)
}
