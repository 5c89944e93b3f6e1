package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// TestAdminContactsFollowTheSources changes memberships and users every way
// that can change who administers an account, and checks after each change
// that every account's admin_names and admin_emails are exactly what
// memberships and users say: the first MaxShownAdmins Smart Account
// administrators by name. Then that two transactions granting the same
// account an administrator at once leave both in the list.
func TestAdminContactsFollowTheSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	s := postgres.NewStore(db.Pool)
	check := func(step string) {
		t.Helper()
		var wrong []string
		rows, err := db.Pool.Query(ctx, `
			SELECT sa.name FROM smart_accounts sa
			LEFT JOIN LATERAL (
				SELECT coalesce(array_agg(a.name ORDER BY lower(a.name), a.id), '{}') AS names,
					coalesce(array_agg(a.email ORDER BY lower(a.name), a.id), '{}') AS emails
				FROM (SELECT u.id, u.name, u.email FROM memberships m JOIN users u ON u.id = m.user_id
					WHERE m.smart_account_id = sa.id AND m.virtual_account_id IS NULL AND m.role = 'admin'
					ORDER BY lower(u.name), u.id LIMIT $1) a
			) want ON true
			WHERE (sa.admin_names, sa.admin_emails) IS DISTINCT FROM (want.names, want.emails)
			ORDER BY sa.name`, account.MaxShownAdmins)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			wrong = append(wrong, name)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(wrong) > 0 {
			t.Errorf("%s: the contacts of %q differ from their memberships", step, wrong)
		}
	}
	contactsOf := func(name string) []account.Contact {
		t.Helper()
		var id account.AccountID
		if err := db.Pool.QueryRow(ctx, `SELECT id FROM smart_accounts WHERE name = $1`, name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		l, err := s.AccountFor(ctx, 0, id, "", "")
		if err != nil {
			t.Fatal(err)
		}
		return l.Admins
	}

	db.Exec(t, `INSERT INTO smart_accounts (name, domain, account_type, status, created_at, updated_at) VALUES
		('Globex', 'globex.example', 'customer', 'active', now(), now()),
		('Initech', 'initech.example', 'customer', 'active', now(), now())`)
	db.Exec(t, `INSERT INTO virtual_accounts (smart_account_id, name) SELECT id, 'DEFAULT' FROM smart_accounts`)
	db.Exec(t, `INSERT INTO users (email, name) VALUES
		('zoe@globex.example', 'Zoe'), ('adam@globex.example', 'adam'), ('bea@initech.example', 'Bea'),
		('carl@initech.example', 'Carl')`)
	check("no administrators")
	db.Exec(t, `INSERT INTO memberships (user_id, smart_account_id, role)
		SELECT u.id, sa.id, 'admin' FROM users u, smart_accounts sa
		WHERE split_part(u.email, '@', 2) = sa.domain AND u.name <> 'Carl'`)
	check("administrators granted in one statement")
	if got, want := fmt.Sprint(contactsOf("Globex")), "[{adam adam@globex.example} {Zoe zoe@globex.example}]"; got != want {
		t.Errorf("Globex's contacts are %s, want %s (by name, case folded)", got, want)
	}
	db.Exec(t, `INSERT INTO memberships (user_id, smart_account_id, virtual_account_id, role)
		SELECT u.id, va.smart_account_id, va.id, 'admin' FROM users u, virtual_accounts va
		JOIN smart_accounts sa ON sa.id = va.smart_account_id
		WHERE u.name = 'Carl' AND sa.name = 'Initech'`)
	check("a Virtual Account administrator, who is no contact")
	if got := contactsOf("Initech"); len(got) != 1 {
		t.Errorf("Initech lists %v, want Bea alone", got)
	}
	db.Exec(t, `INSERT INTO memberships (user_id, smart_account_id, role)
		SELECT u.id, sa.id, 'user' FROM users u, smart_accounts sa WHERE u.name = 'Carl' AND sa.name = 'Initech'`)
	check("a user role")
	db.Exec(t, `UPDATE memberships SET role = 'admin' WHERE role = 'user'`)
	check("a user made administrator")
	db.Exec(t, `UPDATE memberships SET role = 'viewer' WHERE user_id = (SELECT id FROM users WHERE name = 'Zoe')`)
	check("an administrator made viewer")
	db.Exec(t, `UPDATE memberships SET smart_account_id = (SELECT id FROM smart_accounts WHERE name = 'Globex')
		WHERE virtual_account_id IS NULL AND user_id = (SELECT id FROM users WHERE name = 'Bea')`)
	check("an administrator moved to another account")
	db.Exec(t, `UPDATE users SET name = 'Adam Smith' WHERE name = 'adam'`)
	check("an administrator renamed")
	db.Exec(t, `UPDATE users SET email = 'carl@initrode.example' WHERE name = 'Carl'`)
	check("an administrator's new email")
	db.Exec(t, `UPDATE users SET language = 'de'`)
	check("a change to no contact")
	db.Exec(t, `DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE name = 'Bea')`)
	check("a membership removed")
	db.Exec(t, `DELETE FROM users WHERE name = 'Carl'`)
	check("an administrator deleted")
	db.Exec(t, `INSERT INTO users (email, name) SELECT 'many' || i || '@globex.example', 'Many ' || lpad(i::text, 3, '0')
		FROM generate_series(1, 60) i`)
	db.Exec(t, `INSERT INTO memberships (user_id, smart_account_id, role)
		SELECT u.id, sa.id, 'admin' FROM users u, smart_accounts sa WHERE u.name LIKE 'Many %' AND sa.name = 'Globex'`)
	check("more administrators than a page shows")
	if got := contactsOf("Globex"); len(got) != account.MaxShownAdmins {
		t.Errorf("Globex lists %d contacts, want %d", len(got), account.MaxShownAdmins)
	}
	db.Exec(t, `DELETE FROM memberships WHERE user_id IN (SELECT id FROM users WHERE name LIKE 'Many 00%')`)
	check("the first of many removed")

	// Two grants to one account, each in its own transaction, the second
	// begun before the first commits: both administrators are listed.
	db.Exec(t, `INSERT INTO users (email, name) VALUES ('ann@initech.example', 'Ann'), ('ben@initech.example', 'Ben')`)
	grant := `INSERT INTO memberships (user_id, smart_account_id, role)
		SELECT u.id, sa.id, 'admin' FROM users u, smart_accounts sa WHERE u.name = $1 AND sa.name = 'Initech'`
	// The second waits for the first's lock on Initech's row.
	raceForLock(t, db, "two grants at once", execIn(grant, "Ann"), execIn(grant, "Ben"))
	check("two grants at once")
	if got := contactsOf("Initech"); len(got) != 2 {
		t.Errorf("Initech lists %v, want Ann and Ben", got)
	}
}
