package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// TestDirectoryCountsFollowTheSources changes every source of the
// directory's totals every way it can change, and checks after each change
// that directory_counts holds, for every user and section, what counting
// the sources gives, and that the overview's totals are those; then it
// runs transactions of one user at once, which must lose no count.
func TestDirectoryCountsFollowTheSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	s := postgres.NewStore(db.Pool)
	check := func(step string) {
		t.Helper()
		var wrong []string
		err := db.Pool.QueryRow(ctx, `
			WITH want AS (
				SELECT user_id, 'access' AS section, count(DISTINCT smart_account_id) AS n FROM memberships GROUP BY user_id
				UNION ALL
				SELECT user_id, 'requested', count(*) FROM access_requests WHERE status IN ('pending', 'declined') GROUP BY user_id
				UNION ALL
				SELECT created_by, 'created', count(*) FROM smart_accounts WHERE created_by IS NOT NULL GROUP BY created_by
			), have AS (
				SELECT user_id, section, sum(n)::bigint AS n FROM directory_counts GROUP BY user_id, section HAVING sum(n) <> 0
			)
			SELECT coalesce(array_agg(format('%s %s %s %s', x.side, x.user_id, x.section, x.n)), '{}') FROM (
				(SELECT 'want', * FROM want EXCEPT SELECT 'want', * FROM have)
				UNION ALL
				(SELECT 'have', * FROM have EXCEPT SELECT 'have', * FROM want)) x (side, user_id, section, n)`).Scan(&wrong)
		if err != nil {
			t.Fatal(err)
		}
		if len(wrong) > 0 {
			t.Errorf("%s: directory_counts differs from the sources: %q", step, wrong)
		}
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	id := func(sql string, args ...any) int64 {
		t.Helper()
		var id int64
		if err := db.Pool.QueryRow(ctx, sql, args...).Scan(&id); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return id
	}
	user := func(name string) int64 {
		return id(`INSERT INTO users (email, name) VALUES ($1, $2) RETURNING id`, name+"@partner.example", name)
	}
	ada, bob, cat := user("ada"), user("bob"), user("cat")
	acct := func(name string, by *int64, status string) int64 {
		return id(`INSERT INTO smart_accounts (name, domain, account_type, status, created_by) VALUES ($1, $2, 'customer', $3, $4) RETURNING id`,
			name, name+".example", status, by)
	}

	// Accounts asked for, in one statement and one by one.
	exec(`INSERT INTO smart_accounts (name, domain, account_type, status, created_by)
		SELECT 'bulk ' || i, 'bulk' || i || '.example', 'customer', 'pending', $1 FROM generate_series(1, 40) i`, ada)
	globex, initech := acct("globex", &ada, "pending"), acct("initech", &bob, "active")
	hooli := acct("hooli", nil, "active")
	check("accounts asked for")
	exec(`UPDATE smart_accounts SET status = 'active' WHERE id = $1`, globex)
	check("an account's status changed")
	exec(`UPDATE smart_accounts SET created_by = $1 WHERE id = $2`, bob, globex)
	exec(`UPDATE smart_accounts SET created_by = NULL WHERE id = $1`, initech)
	check("accounts handed to another creator and to none")

	// Roles: several on one account count it once; the account goes when
	// the last goes.
	va := id(`INSERT INTO virtual_accounts (smart_account_id, name) VALUES ($1, 'Lab') RETURNING id`, hooli)
	exec(`INSERT INTO memberships (user_id, smart_account_id, role) VALUES ($1, $2, 'admin'), ($1, $3, 'user'), ($4, $2, 'viewer')`, ada, hooli, globex, bob)
	exec(`INSERT INTO memberships (user_id, smart_account_id, virtual_account_id, role) VALUES ($1, $2, $3, 'viewer')`, ada, hooli, va)
	exec(`INSERT INTO memberships (user_id, smart_account_id, role) SELECT $1, id, 'viewer' FROM smart_accounts WHERE name LIKE 'bulk %'`, bob)
	check("roles granted")
	exec(`DELETE FROM memberships WHERE user_id = $1 AND smart_account_id = $2 AND virtual_account_id IS NULL`, ada, hooli)
	check("one of two roles on an account taken away")
	exec(`DELETE FROM virtual_accounts WHERE id = $1`, va)
	check("a Virtual Account and its roles gone")
	exec(`UPDATE memberships SET smart_account_id = $1 WHERE user_id = $2 AND smart_account_id = $3`, initech, ada, globex)
	check("a membership moved to another account")

	// Access requests: pending and declined count, approved do not.
	exec(`INSERT INTO access_requests (user_id, smart_account_id, role, reason, created_at)
		SELECT $1, id, 'viewer', 'please', now() FROM smart_accounts WHERE name LIKE 'bulk %'`, ada)
	exec(`INSERT INTO access_requests (user_id, smart_account_id, role, reason, created_at) VALUES ($1, $2, 'user', 'please', now())`, bob, hooli)
	check("access requested")
	exec(`UPDATE access_requests SET status = 'declined', decided_at = now() WHERE user_id = $1 AND smart_account_id IN (SELECT id FROM smart_accounts WHERE name IN ('bulk 1', 'bulk 2'))`, ada)
	exec(`UPDATE access_requests SET status = 'approved', decided_at = now() WHERE user_id = $1 AND smart_account_id IN (SELECT id FROM smart_accounts WHERE name IN ('bulk 3', 'bulk 4', 'bulk 5'))`, ada)
	check("access requests decided")

	// An account gone takes its roles and requests with it; a user gone,
	// theirs.
	exec(`DELETE FROM smart_accounts WHERE name IN ('bulk 1', 'bulk 3', 'bulk 7')`)
	check("accounts deleted")
	exec(`INSERT INTO memberships (user_id, smart_account_id, role) SELECT $1, id, 'viewer' FROM smart_accounts WHERE name LIKE 'bulk 2%'`, cat)
	exec(`INSERT INTO access_requests (user_id, smart_account_id, role, reason, created_at) VALUES ($1, $2, 'user', 'please', now())`, cat, hooli)
	check("another user's roles and request")
	exec(`DELETE FROM users WHERE id = $1`, cat)
	check("a user deleted")

	// The overview's totals are these, the domain section's counted.
	exec(`INSERT INTO smart_accounts (name, domain, account_type, status) VALUES ('Partner', 'partner.example', 'partner_holding', 'active')`)
	_, totals, err := s.DirectoryOverview(ctx, ada, account.DomainAndParents("partner.example"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[account.Section]int{account.SectionAccess: 1, account.SectionRequested: 35, account.SectionCreated: 37, account.SectionDomain: 1}
	for _, sec := range account.Sections {
		if totals[sec] != want[sec] {
			t.Errorf("overview total of %s: %d, want %d", sec, totals[sec], want[sec])
		}
	}

	// One user's transactions at once, each holding its change of the
	// count until it commits: none is lost.
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
				for j := range 5 {
					if _, err := tx.Exec(ctx, `INSERT INTO smart_accounts (name, domain, account_type, status, created_by)
						VALUES ($1, $2, 'customer', 'pending', $3)`, fmt.Sprintf("race %d %d", i, j), fmt.Sprintf("race%d-%d.example", i, j), ada); err != nil {
						return err
					}
				}
				return nil
			})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	check("one user's requests at once")
}
