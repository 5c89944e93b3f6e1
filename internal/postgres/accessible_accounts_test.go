package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
	"github.com/clc-portal/clc/internal/scale"
)

// TestAccessibleAccountsFollowTheSources changes memberships and accounts
// every way that can change which accounts a user holds a role on, or
// where one stands in their list, and checks after each change that
// accessible_accounts is exactly what memberships and smart_accounts say.
// Then it races, two transactions at a time, the changes whose triggers
// could each miss the other's: a user's last role on an account taken away
// while another is granted, and an account renamed while a role on it is
// granted, each in both orders.
func TestAccessibleAccountsFollowTheSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	s := postgres.NewStore(db.Pool)
	check := func(step string, rows int) {
		t.Helper()
		var missing, extra []string
		err := db.Pool.QueryRow(ctx, `
			WITH want AS (
				SELECT DISTINCT m.user_id, sa.name_folded, sa.id, sa.domain
				FROM memberships m JOIN smart_accounts sa ON sa.id = m.smart_account_id
			), have AS (SELECT user_id, name_folded, smart_account_id, domain FROM accessible_accounts)
			SELECT
				(SELECT coalesce(array_agg(format('%s %s', user_id, name_folded)), '{}') FROM (SELECT * FROM want EXCEPT ALL SELECT * FROM have) x),
				(SELECT coalesce(array_agg(format('%s %s', user_id, name_folded)), '{}') FROM (SELECT * FROM have EXCEPT ALL SELECT * FROM want) x)`).
			Scan(&missing, &extra)
		if err != nil {
			t.Fatal(err)
		}
		if len(missing) > 0 || len(extra) > 0 {
			t.Errorf("%s: accessible_accounts lacks %q and has %q too many", step, missing, extra)
		}
		var n int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM accessible_accounts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != rows {
			t.Errorf("%s: %d rows, want %d", step, n, rows)
		}
	}
	userID := func(name string) int64 {
		t.Helper()
		var id int64
		if err := db.Pool.QueryRow(ctx, `SELECT id FROM users WHERE name = $1`, name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	// The viewer's first section, as the directory lists it.
	access := func(viewer string) string {
		t.Helper()
		secs, err := s.DirectorySections(ctx, []account.SectionQuery{
			{ViewerID: userID(viewer), Section: account.SectionAccess, Limit: 26}})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range secs[0] {
			names = append(names, l.Account.Name)
		}
		return strings.Join(names, ", ")
	}

	db.Exec(t, `INSERT INTO smart_accounts (name, domain, account_type, status, created_at, updated_at) VALUES
		('Globex', 'globex.example', 'customer', 'active', now(), now()),
		('Initech', 'initech.example', 'customer', 'active', now(), now()),
		('Hooli', 'hooli.example', 'customer', 'active', now(), now()),
		('Umbrella', 'umbrella.example', 'customer', 'pending', now(), now())`)
	db.Exec(t, `INSERT INTO virtual_accounts (smart_account_id, name) SELECT id, n FROM smart_accounts, unnest(ARRAY['DEFAULT', 'Lab']) n`)
	db.Exec(t, `INSERT INTO users (email, name) VALUES
		('ada@globex.example', 'Ada'), ('bob@initech.example', 'Bob'), ('cy@hooli.example', 'Cy'), ('di@hooli.example', 'Di')`)
	accountID := func(name string) int64 {
		t.Helper()
		var id int64
		if err := db.Pool.QueryRow(ctx, `SELECT id FROM smart_accounts WHERE name = $1`, name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	// A grant to a user (by name) on an account (by id, which a rename
	// leaves), of a role on it or, named, one of its Virtual Accounts.
	grant := `INSERT INTO memberships (user_id, smart_account_id, virtual_account_id, role)
		SELECT u.id, $2, (SELECT va.id FROM virtual_accounts va WHERE va.smart_account_id = $2 AND va.name = $3), $4
		FROM users u WHERE u.name = $1`
	check("no roles", 0)
	db.Exec(t, `INSERT INTO memberships (user_id, smart_account_id, role)
		SELECT u.id, sa.id, 'admin' FROM users u, smart_accounts sa WHERE split_part(u.email, '@', 2) = sa.domain`)
	check("administrators of several accounts in one statement", 4)
	db.Exec(t, `INSERT INTO memberships (user_id, smart_account_id, role)
		SELECT u.id, sa.id, 'viewer' FROM users u, smart_accounts sa WHERE u.name = 'Ada' AND sa.name <> 'Globex'`)
	check("one user on several accounts in one statement", 7)
	if got, want := access("Ada"), "Globex, Hooli, Initech, Umbrella"; got != want {
		t.Errorf("Ada's accounts are %q, want %q", got, want)
	}
	db.Exec(t, grant, "Bob", accountID("Globex"), "Lab", "user")
	check("a Virtual Account role alone", 8)
	db.Exec(t, grant, "Bob", accountID("Globex"), "DEFAULT", "viewer")
	check("a second role on the same account", 8)
	db.Exec(t, `INSERT INTO memberships AS m (user_id, smart_account_id, virtual_account_id, role)
		SELECT u.id, sa.id, NULL, 'admin' FROM users u, smart_accounts sa WHERE u.name = 'Ada' AND sa.name = 'Hooli'
		ON CONFLICT (user_id, smart_account_id, virtual_account_id) DO UPDATE SET role = excluded.role`)
	check("a role granted over one held (INSERT ... ON CONFLICT DO UPDATE)", 8)
	db.Exec(t, `UPDATE memberships SET role = 'user' WHERE role = 'viewer'`)
	check("roles changed", 8)
	db.Exec(t, `UPDATE memberships SET smart_account_id = (SELECT id FROM smart_accounts WHERE name = 'Initech')
		WHERE virtual_account_id IS NULL AND user_id = (SELECT id FROM users WHERE name = 'Cy')`)
	check("a role moved to another account", 8)
	db.Exec(t, `UPDATE memberships SET user_id = (SELECT id FROM users WHERE name = 'Cy')
		WHERE user_id = (SELECT id FROM users WHERE name = 'Di')`)
	check("a role moved to another user", 8)
	db.Exec(t, `DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE name = 'Bob')
		AND virtual_account_id = (SELECT va.id FROM virtual_accounts va JOIN smart_accounts sa ON sa.id = va.smart_account_id
			WHERE sa.name = 'Globex' AND va.name = 'Lab')`)
	check("one of two roles on an account taken away", 8)
	db.Exec(t, `DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE name = 'Bob')
		AND smart_account_id = (SELECT id FROM smart_accounts WHERE name = 'Globex')`)
	check("the last role on an account taken away", 7)
	db.Exec(t, `UPDATE smart_accounts SET name = 'Aperture' WHERE name = 'Umbrella'`)
	check("an account renamed", 7)
	if got, want := access("Ada"), "Aperture, Globex, Hooli, Initech"; got != want {
		t.Errorf("after the rename Ada's accounts are %q, want %q", got, want)
	}
	db.Exec(t, `UPDATE smart_accounts SET domain = 'hooli.test' WHERE name = 'Hooli'`)
	check("a new domain", 7)
	db.Exec(t, `UPDATE smart_accounts SET status = 'active', updated_at = now()`)
	check("a change to neither", 7)
	db.Exec(t, `UPDATE smart_accounts SET name = name || ' AG'`)
	check("every account renamed in one statement", 7)
	db.Exec(t, `DELETE FROM virtual_accounts WHERE name = 'Lab'`)
	check("a Virtual Account deleted", 7)
	db.Exec(t, grant, "Bob", accountID("Hooli AG"), "DEFAULT", "viewer")
	check("a Virtual Account role", 8)
	db.Exec(t, `DELETE FROM virtual_accounts WHERE name = 'DEFAULT'`)
	check("a Virtual Account holding a user's only role deleted", 7)
	db.Exec(t, `DELETE FROM users WHERE name = 'Cy'`)
	check("a user deleted", 5)
	db.Exec(t, `DELETE FROM smart_accounts WHERE name = 'Initech AG'`)
	check("an account deleted", 3)
	if got, want := access("Ada"), "Aperture AG, Globex AG, Hooli AG"; got != want {
		t.Errorf("at the end Ada's accounts are %q, want %q", got, want)
	}

	// Each race: first runs in a transaction left open; second, in another,
	// waits for it (for the lock on the account) until first commits.
	race := func(step string, rows int, first, second func(pgx.Tx) error) {
		t.Helper()
		raceForLock(t, db, step, first, second)
		check(step, rows)
	}
	db.Exec(t, `INSERT INTO virtual_accounts (smart_account_id, name) SELECT id, 'DEFAULT' FROM smart_accounts`)
	takeAway := `DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE name = $1)
		AND smart_account_id = $2 AND virtual_account_id IS NULL`
	// Ada holds one role on Globex AG: taken away first, then another granted.
	race("the last role taken away while another is granted", 3,
		execIn(takeAway, "Ada", accountID("Globex AG")), execIn(grant, "Ada", accountID("Globex AG"), "DEFAULT", "viewer"))
	// And the other way round on Hooli AG.
	race("a role granted while the last other one is taken away", 3,
		execIn(grant, "Ada", accountID("Hooli AG"), "DEFAULT", "viewer"), execIn(takeAway, "Ada", accountID("Hooli AG")))
	rename := `UPDATE smart_accounts SET name = $2 WHERE name = $1`
	aperture := accountID("Aperture AG")
	race("an account renamed while a role on it is granted", 4,
		execIn(rename, "Aperture AG", "Black Mesa"), execIn(grant, "Bob", aperture, "", "user"))
	race("a role granted while the account is renamed", 5,
		execIn(grant, "Di", accountID("Black Mesa"), "", "user"), execIn(rename, "Black Mesa", "Xen"))
	if got, want := access("Di"), "Xen"; got != want {
		t.Errorf("Di's accounts are %q, want %q", got, want)
	}
}

// TestDirectorySectionsReadOnePage loads a synthetic directory and checks,
// with EXPLAIN ANALYZE of the generic plans the store runs, that a page of
// the heavy partner's accounts reads a page of accessible_accounts, not all
// their memberships, and that a filter on the accounts they asked to have
// created reads the index alone; and that every page of each section, with
// and without a filter, lists what reading the sources plainly lists.
func TestDirectorySectionsReadOnePage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	sum, err := scale.Load(ctx, db.Pool, scale.Options{Accounts: 6000, PasswordHash: "not a real hash"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.PartnerAccounts < 250 {
		t.Fatalf("loaded %+v", sum)
	}
	allVisible(t, db.Pool, "accessible_accounts", "smart_accounts")
	var partner int64
	if err := db.Pool.QueryRow(ctx, `SELECT id FROM users WHERE email = $1`, sum.Partner).Scan(&partner); err != nil {
		t.Fatal(err)
	}
	domains := account.DomainAndParents(account.EmailDomain(sum.Partner))
	s := postgres.NewStore(db.Pool)

	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	explain := func(q account.SectionQuery) []planNode {
		t.Helper()
		sql, args := postgres.SectionSQL(q)
		name := "section_" + string(q.Section)
		if _, err := conn.Exec(ctx, "DEALLOCATE ALL"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "PREPARE "+name+" AS "+sql); err != nil {
			t.Fatal(err)
		}
		// EXPLAIN takes no parameters: the values are written out.
		var values []string
		for _, a := range args {
			values = append(values, literal(a))
		}
		var plan string
		if err := conn.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE "+name+" ("+strings.Join(values, ", ")+")").Scan(&plan); err != nil {
			t.Fatalf("explain %s: %v", q.Section, err)
		}
		return planNodes(plan)
	}
	// The key of the partner's 200th account: page 9 starts after it.
	var ninth account.SectionKey
	if err := db.Pool.QueryRow(ctx, `SELECT name_folded, smart_account_id FROM accessible_accounts WHERE user_id = $1
		ORDER BY name_folded, smart_account_id OFFSET 199 LIMIT 1`, partner).Scan(&ninth.Name, &ninth.ID); err != nil {
		t.Fatal(err)
	}
	for page, after := range map[int]account.SectionKey{1: {}, 9: ninth} {
		q := account.SectionQuery{ViewerID: partner, Domains: domains, Section: account.SectionAccess, Limit: 26, After: after}
		nodes := explain(q)
		read := 0.0
		for _, n := range nodes {
			switch {
			case n.Relation == "accessible_accounts":
				if n.Type != "Index Only Scan" || n.HeapFetches > 0 {
					t.Errorf("page %d: accessible_accounts read by %s, %v heap fetches", page, n.Type, n.HeapFetches)
				}
				read += n.Rows * n.Loops
			case n.Relation == "memberships" && n.Rows > 4:
				t.Errorf("page %d: %s of memberships gave %v rows a loop: the partner's memberships are read", page, n.Type, n.Rows)
			case n.Relation == "smart_accounts" && n.Loops*n.Rows > 26:
				t.Errorf("page %d: %v accounts read", page, n.Loops*n.Rows)
			}
		}
		// From its key, a late page reads a page, not every row before it.
		if read == 0 || read > float64(q.Limit) {
			t.Errorf("page %d: %v rows of accessible_accounts read for a page of %d", page, read, q.Limit)
		}
	}
	// A partner who asked for far more accounts than most users: the
	// generic plan expects a few requests a user, and must still read a
	// page of theirs in order, not all of them to sort.
	db.Exec(t, `INSERT INTO access_requests (user_id, smart_account_id, role, reason, status, created_at, decided_at)
		SELECT $1, sa.id, 'user', 'r', 'declined', now() - make_interval(secs => sa.id), now()
		FROM smart_accounts sa WHERE sa.id <= 2000
			AND NOT EXISTS (SELECT FROM access_requests r WHERE r.user_id = $1 AND r.smart_account_id = sa.id)`, partner)
	db.Exec(t, `ANALYZE access_requests`)
	for _, filter := range []string{"", "gmbh"} {
		read := 0.0
		for _, n := range explain(account.SectionQuery{ViewerID: partner, Section: account.SectionRequested, Filter: filter, Limit: 26}) {
			if n.Relation == "access_requests" && n.Index != "access_requests_account_user_idx" {
				read += n.Rows * n.Loops
			}
		}
		if limit := map[string]float64{"": 26, "gmbh": 26 * 20}[filter]; read == 0 || read > limit {
			t.Errorf("asked access to, filter %q: %v of the partner's requests read for a page of 26", filter, read)
		}
	}

	// scale.Load vacuums last, so every page is all-visible: an index-only
	// scan reads no table.
	if !slices.ContainsFunc(explain(account.SectionQuery{ViewerID: partner, Section: account.SectionCreated, Filter: "gmbh", Limit: 26}),
		func(n planNode) bool {
			return n.Index == "smart_accounts_created_by_idx" && n.Type == "Index Only Scan" && n.HeapFetches == 0
		}) {
		t.Errorf("a filter on the created accounts does not read smart_accounts_created_by_idx alone")
	}

	// The sections as reading every account plainly gives them, by id.
	plain := map[account.Section]string{
		account.SectionAccess: `SELECT sa.id FROM smart_accounts sa, f
			WHERE EXISTS (SELECT FROM memberships m WHERE m.user_id = $1 AND m.smart_account_id = sa.id) AND ` + matches + `
			ORDER BY sa.name_folded, sa.id`,
		account.SectionRequested: `SELECT sa.id FROM access_requests r JOIN smart_accounts sa ON sa.id = r.smart_account_id, f
			WHERE r.user_id = $1 AND r.status IN ('pending', 'declined') AND ` + matches + `
			ORDER BY r.created_at DESC, r.id DESC`,
		account.SectionCreated: `SELECT sa.id FROM smart_accounts sa, f
			WHERE sa.created_by = $1 AND ` + matches + `
			ORDER BY sa.created_at DESC, sa.id DESC`,
		account.SectionDomain: `SELECT sa.id FROM smart_accounts sa, f
			WHERE sa.domain = ANY($3::text[]) AND sa.status IN ('active', 'pending') AND sa.created_by IS DISTINCT FROM $1
				AND NOT EXISTS (SELECT FROM memberships m WHERE m.user_id = $1 AND m.smart_account_id = sa.id)
				AND NOT EXISTS (SELECT FROM access_requests r WHERE r.user_id = $1 AND r.smart_account_id = sa.id
					AND r.status IN ('pending', 'declined'))
				AND ` + matches + `
			ORDER BY sa.name_folded, sa.id`,
	}
	var someID string
	if err := db.Pool.QueryRow(ctx, `SELECT 'SA-' || lpad(min(smart_account_id)::text, 6, '0') FROM accessible_accounts WHERE user_id = $1`,
		partner).Scan(&someID); err != nil {
		t.Fatal(err)
	}
	for _, filter := range []string{"", "gmbh", "KA", "zürich", someID[:len(someID)-1], "50%_\\", "no such account"} {
		for _, sec := range account.Sections {
			args := []any{partner, filter}
			if sec == account.SectionDomain {
				args = append(args, domains)
			}
			rows, err := db.Pool.Query(ctx, `WITH f AS (SELECT clc_fold($2::text) AS q) `+
				plain[sec], args...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				t.Fatal(err)
			}
			if sec == account.SectionAccess && filter == "" && len(want) < 250 {
				t.Fatalf("the partner can access %d accounts", len(want))
			}
			var got []int64
			for after := (account.SectionKey{}); ; {
				lists, err := s.DirectorySections(ctx, []account.SectionQuery{{ViewerID: partner, Domains: domains,
					Section: sec, Filter: filter, Limit: 26, After: after}})
				if err != nil {
					t.Fatal(err)
				}
				for i, l := range lists[0] {
					if i < 25 {
						got = append(got, int64(l.Account.ID))
						after = l.Key
					}
				}
				if len(lists[0]) < 26 {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s, filter %q: %d accounts %v, want %d %v", sec, filter, len(got), head(got), len(want), head(want))
			}
		}
	}
}

// matches is the directory's filter read plainly, over sa and the folded
// filter f.q: the name, the domain or the id as shown (SA-000123, for the
// ids below a million the test has) contains it.
const matches = `(strpos(sa.name_folded, f.q) > 0 OR strpos(sa.domain, f.q) > 0
	OR strpos('sa-' || to_char(sa.id, 'FM000000'), f.q) > 0)`

func head(ids []int64) []int64 { return ids[:min(len(ids), 5)] }

// literal writes a statement's argument out as SQL.
func literal(v any) string {
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	switch v := v.(type) {
	case string:
		return quote(v)
	case []string:
		var out []string
		for _, s := range v {
			out = append(out, quote(s))
		}
		return "ARRAY[" + strings.Join(out, ", ") + "]::text[]"
	case time.Time:
		return quote(v.Format(time.RFC3339Nano)) + "::timestamptz"
	}
	return fmt.Sprint(v)
}

// planNodes lists every executed node of an analyzed JSON plan.
func planNodes(plan string) []planNode {
	var root []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(plan), &root); err != nil || len(root) == 0 {
		return nil
	}
	var out []planNode
	var walk func(n planNode)
	walk = func(n planNode) {
		if n.Loops == 0 {
			return
		}
		out = append(out, n)
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(root[0].Plan)
	return out
}

// allVisible holds the premise of the index-only scans' "no heap fetches":
// scale.Load vacuums last, so every page of the tables is all-visible. A
// vacuum leaves a page unmarked when another transaction still might not
// see its rows, or when it cannot pin the page at once; under make test's
// parallel databases that can happen, rarely. So vacuum again a few times,
// and say so if the premise still does not hold, rather than blame the
// plan.
func allVisible(t *testing.T, pool *pgxpool.Pool, tables ...string) {
	t.Helper()
	ctx := context.Background()
	for try := 0; ; try++ {
		var pages, visible int64
		if err := pool.QueryRow(ctx, `SELECT coalesce(sum(relpages), 0), coalesce(sum(relallvisible), 0)
			FROM pg_class WHERE relname = ANY ($1)`, tables).Scan(&pages, &visible); err != nil {
			t.Fatal(err)
		}
		if pages > 0 && visible == pages {
			if try > 0 {
				t.Logf("%v: all-visible after %d more vacuums", tables, try)
			}
			return
		}
		if try == 5 {
			t.Fatalf("%v: %d of %d pages all-visible after %d vacuums", tables, visible, pages, try)
		}
		time.Sleep(100 * time.Millisecond)
		if _, err := pool.Exec(ctx, "VACUUM "+strings.Join(tables, ", ")); err != nil {
			t.Fatal(err)
		}
	}
}
