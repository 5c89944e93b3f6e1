package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// TestManagementMenusFollowTheSources changes memberships, accounts and
// access requests every way that can change what a user administers or
// what waits on them, and checks after each change that every user's frame
// counts exactly what the sources say, and that their Pending Access
// Requests (the admin_pending_access read model) lists exactly the requests
// the sources say, oldest first. Then that two access requests made at once
// to one account are both counted and listed, and so is a request made
// while its account gains an administrator.
func TestManagementMenusFollowTheSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	s := postgres.NewStore(db.Pool)
	check := func(step string) {
		t.Helper()
		rows, err := db.Pool.Query(ctx, `SELECT id, name FROM users ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		type user struct {
			id   int64
			name string
		}
		var users []user
		for rows.Next() {
			var u user
			if err := rows.Scan(&u.id, &u.name); err != nil {
				t.Fatal(err)
			}
			users = append(users, u)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			var accounts, pending int
			if err := db.Pool.QueryRow(ctx, manageCountsPlain, u.id).Scan(&accounts, &pending); err != nil {
				t.Fatal(err)
			}
			f, err := s.SignedIn(ctx, u.id)
			if err != nil {
				t.Fatal(err)
			}
			if f.Manage.Accounts != accounts || f.Manage.Pending != pending {
				t.Errorf("%s: %s's menu counts %d accounts and %d requests, want %d and %d",
					step, u.name, f.Manage.Accounts, f.Manage.Pending, accounts, pending)
			}
			var want []string
			if err := db.Pool.QueryRow(ctx, pendingAccessPlain, u.id).Scan(&want); err != nil {
				t.Fatal(err)
			}
			listed, err := s.PendingAccessRequestsOf(ctx, u.id, 100)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, p := range listed {
				got = append(got, fmt.Sprintf("%s on %s", p.Request.RequesterName, p.Account.Name))
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s's Pending Access Requests list %q, want %q", step, u.name, got, want)
			}
		}
	}
	request := `INSERT INTO access_requests (user_id, smart_account_id, role, reason, created_at)
		SELECT u.id, sa.id, 'user', 'please', now() FROM users u, smart_accounts sa WHERE u.name = $1 AND sa.name = $2`

	db.Exec(t, `INSERT INTO smart_accounts (name, domain, account_type, status, created_at, updated_at) VALUES
		('Globex', 'globex.example', 'customer', 'active', now(), now()),
		('Initech', 'initech.example', 'customer', 'active', now(), now()),
		('Hooli', 'hooli.example', 'customer', 'pending', now(), now())`)
	db.Exec(t, `INSERT INTO virtual_accounts (smart_account_id, name) SELECT id, 'DEFAULT' FROM smart_accounts`)
	db.Exec(t, `INSERT INTO users (email, name) VALUES
		('zoe@globex.example', 'Zoe'), ('adam@globex.example', 'Adam'), ('bea@initech.example', 'Bea'),
		('carl@initech.example', 'Carl'), ('rita@partner.example', 'Rita'), ('sam@partner.example', 'Sam')`)
	check("no administrators")
	db.Exec(t, `INSERT INTO memberships (user_id, smart_account_id, role)
		SELECT u.id, sa.id, 'admin' FROM users u, smart_accounts sa
		WHERE split_part(u.email, '@', 2) = sa.domain AND u.name <> 'Carl'`)
	db.Exec(t, `INSERT INTO memberships (user_id, smart_account_id, role)
		SELECT u.id, sa.id, 'admin' FROM users u, smart_accounts sa WHERE u.name = 'Zoe' AND sa.name IN ('Initech', 'Hooli')`)
	check("administrators granted, one of a pending account")
	db.Exec(t, request, "Rita", "Globex")
	db.Exec(t, request, "Sam", "Globex")
	db.Exec(t, request, "Rita", "Initech")
	db.Exec(t, request, "Sam", "Hooli")
	check("access requests made")
	db.Exec(t, `INSERT INTO memberships (user_id, smart_account_id, role)
		SELECT u.id, sa.id, 'admin' FROM users u, smart_accounts sa WHERE u.name = 'Adam' AND sa.name = 'Initech'`)
	check("an administrator added to an account a request waits on")
	db.Exec(t, `INSERT INTO memberships (user_id, smart_account_id, virtual_account_id, role)
		SELECT u.id, va.smart_account_id, va.id, 'admin' FROM users u, virtual_accounts va
		JOIN smart_accounts sa ON sa.id = va.smart_account_id
		WHERE u.name = 'Carl' AND sa.name = 'Initech'`)
	check("a Virtual Account administrator, who manages no Smart Account")
	db.Exec(t, `INSERT INTO memberships (user_id, smart_account_id, role)
		SELECT u.id, sa.id, 'user' FROM users u, smart_accounts sa WHERE u.name = 'Carl' AND sa.name = 'Initech'`)
	check("a user role")
	db.Exec(t, `UPDATE memberships SET role = 'admin' WHERE role = 'user'`)
	check("a user made administrator")
	db.Exec(t, `UPDATE memberships SET role = 'viewer' WHERE user_id = (SELECT id FROM users WHERE name = 'Adam')`)
	check("an administrator made viewer")
	db.Exec(t, `UPDATE access_requests SET status = 'declined', decided_at = now()
		WHERE user_id = (SELECT id FROM users WHERE name = 'Sam') AND smart_account_id = (SELECT id FROM smart_accounts WHERE name = 'Globex')`)
	check("a request declined")
	db.Exec(t, `UPDATE access_requests SET status = 'approved', decided_at = now()
		WHERE user_id = (SELECT id FROM users WHERE name = 'Rita') AND smart_account_id = (SELECT id FROM smart_accounts WHERE name = 'Initech')`)
	check("a request approved")
	db.Exec(t, `UPDATE smart_accounts SET status = 'active' WHERE name = 'Hooli'`)
	check("an account made active")
	db.Exec(t, `UPDATE smart_accounts SET status = 'expired' WHERE name = 'Globex'`)
	check("an account no longer active")
	db.Exec(t, `UPDATE smart_accounts SET name = 'Initech Inc.' WHERE name = 'Initech'`)
	check("a change to no count")
	db.Exec(t, `DELETE FROM access_requests WHERE user_id = (SELECT id FROM users WHERE name = 'Sam')`)
	check("requests deleted")
	db.Exec(t, `DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE name = 'Bea')`)
	check("a membership removed")
	db.Exec(t, `DELETE FROM smart_accounts WHERE name = 'Hooli'`)
	check("an account deleted")
	db.Exec(t, `DELETE FROM users WHERE name = 'Carl'`)
	check("an administrator deleted")

	// Two requests to one account, each in its own transaction, the second
	// begun before the first commits: both are counted.
	db.Exec(t, `UPDATE smart_accounts SET status = 'active' WHERE name = 'Globex'`)
	// race runs first, then second while first holds its locks
	// (raceForLock): second must wait for them, and both succeed.
	race := func(first string, firstArgs []any, second string, secondArgs ...any) {
		t.Helper()
		raceForLock(t, db, first, execIn(first, firstArgs...), execIn(second, secondArgs...))
	}
	// The second waits for the first's lock on Zoe's counts.
	race(request, []any{"Bea", "Globex"}, request, "Sam", "Globex")
	check("two requests made at once")

	// A role granted and a request made to one account at once, the request
	// begun before the grant commits: the new administrator lists it.
	race(`INSERT INTO memberships (user_id, smart_account_id, role)
		SELECT u.id, sa.id, 'admin' FROM users u, smart_accounts sa WHERE u.name = 'Rita' AND sa.name = 'Globex'`, nil,
		request, "Adam", "Globex")
	check("a role granted while a request was made")

	// An account that stops being active while a request is made to it, and
	// one that becomes active again while another is made, the status
	// first: each administrator's counts take the request and the account
	// away, or add both.
	db.Exec(t, `DELETE FROM access_requests WHERE smart_account_id = (SELECT id FROM smart_accounts WHERE name = 'Globex')`)
	race(`UPDATE smart_accounts SET status = 'expired' WHERE name = 'Globex'`, nil, request, "Bea", "Globex")
	check("an account no longer active while a request was made")
	race(`UPDATE smart_accounts SET status = 'active' WHERE name = 'Globex'`, nil, request, "Sam", "Globex")
	check("an account made active while a request was made")
	// And the request first, then the status.
	race(request, []any{"Rita", "Globex"}, `UPDATE smart_accounts SET status = 'expired' WHERE name = 'Globex'`)
	check("a request made while the account stopped being active")
}

// pendingAccessPlain is what Pending Access Requests lists for user $1,
// read the plain way: "requester on account", oldest first.
const pendingAccessPlain = `
	SELECT coalesce(array_agg(x.line ORDER BY x.created_at, x.id), '{}') FROM (
		SELECT DISTINCT r.id, r.created_at, u.name || ' on ' || sa.name AS line
		FROM access_requests r
		JOIN users u ON u.id = r.user_id
		JOIN smart_accounts sa ON sa.id = r.smart_account_id AND sa.status = 'active'
		JOIN memberships m ON m.smart_account_id = sa.id AND m.virtual_account_id IS NULL AND m.role = 'admin'
		WHERE r.status = 'pending' AND m.user_id = $1) x`
