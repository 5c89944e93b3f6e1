package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
	"github.com/clc-portal/clc/internal/scale"
)

// menuAccountPlain is the menu account's rule written as one ordering of
// every account the user has a role on: what MenuAccount must agree with.
const menuAccountPlain = `
	SELECT m.smart_account_id FROM memberships m
	JOIN smart_accounts own ON own.id = m.smart_account_id
	JOIN users u ON u.id = m.user_id
	WHERE m.user_id = $1
	ORDER BY
		(split_part(u.email, '@', 2) = own.domain OR split_part(u.email, '@', 2) LIKE '%.' || own.domain) DESC,
		own.account_type = 'partner_holding' DESC,
		CASE m.role WHEN 'admin' THEN 4 WHEN 'approver' THEN 3 WHEN 'user' THEN 2 ELSE 1 END DESC,
		m.smart_account_id
	LIMIT 1`

// TestMenuAccountFollowsTheRule compares MenuAccount with the plain rule for
// every user of a synthetic directory, and for users whose email domain is
// below their account's, who have only a partner holding, or no role.
func TestMenuAccountFollowsTheRule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	if _, err := scale.Load(ctx, db.Pool, scale.Options{Accounts: 3000, PasswordHash: "not a real hash"}); err != nil {
		t.Fatal(err)
	}
	// Some users under a subdomain of their account's domain, some whose
	// domain only ends like one, and a partner holding that holds no domain
	// of theirs.
	if _, err := db.Pool.Exec(ctx, `
		UPDATE users SET email = split_part(email, '@', 1) || '@emea.' || split_part(email, '@', 2) WHERE id % 7 = 0;
		UPDATE users SET email = split_part(email, '@', 1) || '@x' || split_part(email, '@', 2) WHERE id % 7 = 1;
		UPDATE smart_accounts SET account_type = 'partner_holding' WHERE id % 50 = 3;
		INSERT INTO users (email, name, password_hash) VALUES ('nobody@nowhere.example', 'Nobody', 'x');
	`); err != nil {
		t.Fatal(err)
	}
	s := postgres.NewStore(db.Pool)
	ids := userIDs(t, db)
	compared := 0
	for _, id := range ids {
		var want int64
		err := db.Pool.QueryRow(ctx, menuAccountPlain, id).Scan(&want)
		a, gotErr := s.MenuAccount(ctx, id)
		switch {
		case err != nil && gotErr == nil:
			t.Errorf("user %d: menu names %d, want none (%v)", id, a.ID, err)
		case err == nil && gotErr != nil:
			t.Errorf("user %d: %v, want account %d", id, gotErr, want)
		case err == nil && int64(a.ID) != want:
			t.Errorf("user %d: menu names %d, want %d", id, a.ID, want)
		case err == nil:
			compared++
		}
	}
	if compared < 1000 {
		t.Errorf("compared %d users with roles, want many", compared)
	}
}

// userIDs are the ids of every user, in order.
func userIDs(t *testing.T, db pgtest.DB) []int64 {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT id FROM users ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestMenuAccountsFollowTheSources changes roles, accounts and users one at
// a time, and twice in transactions that race, and after each compares the
// menu's account of every user (menu_accounts, migration 034, as the frame
// of every signed-in page reads it) with the plain rule.
func TestMenuAccountsFollowTheSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	s := postgres.NewStore(db.Pool)
	check := func(step string) {
		t.Helper()
		for _, id := range userIDs(t, db) {
			var want int64
			var wantName string
			err := db.Pool.QueryRow(ctx, `SELECT p.smart_account_id, sa.name FROM (`+menuAccountPlain+`) p (smart_account_id)
				JOIN smart_accounts sa ON sa.id = p.smart_account_id`, id).Scan(&want, &wantName)
			if errors.Is(err, pgx.ErrNoRows) {
				want, err = 0, nil
			}
			if err != nil {
				t.Fatal(err)
			}
			got := int64(0)
			a, err := s.MenuAccount(ctx, id)
			switch {
			case err == nil:
				got = int64(a.ID)
			case !errors.Is(err, account.ErrNotFound):
				t.Fatal(err)
			}
			f, err := s.SignedIn(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got != want || f.MenuAccount != wantName {
				t.Errorf("%s: user %d's menu names account %d (frame %q), want %d (%q)", step, id, got, f.MenuAccount, want, wantName)
			}
		}
	}
	role := `INSERT INTO memberships (user_id, smart_account_id, role)
		SELECT u.id, sa.id, $3 FROM users u, smart_accounts sa WHERE u.name = $1 AND sa.name = $2`

	db.Exec(t, `INSERT INTO smart_accounts (name, domain, account_type, status, created_at, updated_at) VALUES
		('Northwind', 'northwind.example', 'customer', 'active', now(), now()),
		('Globex', 'globex.example', 'customer', 'active', now(), now()),
		('Initech', 'initech.example', 'customer', 'pending', now(), now()),
		('Hooli', 'hooli.example', 'partner_holding', 'active', now(), now()),
		('Northwind EMEA', 'emea.northwind.example', 'customer', 'active', now(), now())`)
	db.Exec(t, `INSERT INTO virtual_accounts (smart_account_id, name) SELECT id, 'DEFAULT' FROM smart_accounts`)
	db.Exec(t, `INSERT INTO users (email, name) VALUES
		('ada@emea.northwind.example', 'Ada'), ('bob@globex.example', 'Bob'), ('cy@partner.example', 'Cy')`)
	check("no roles")
	db.Exec(t, role, "Ada", "Globex", "viewer")
	check("a first role")
	db.Exec(t, role, "Ada", "Initech", "user")
	check("a stronger role elsewhere")
	db.Exec(t, role, "Ada", "Northwind", "viewer")
	check("a role on the account holding the domain above hers")
	db.Exec(t, role, "Ada", "Northwind EMEA", "user")
	check("a stronger role on the account holding her own domain")
	db.Exec(t, `INSERT INTO memberships (user_id, smart_account_id, virtual_account_id, role)
		SELECT u.id, va.smart_account_id, va.id, 'admin' FROM users u, virtual_accounts va
		JOIN smart_accounts sa ON sa.id = va.smart_account_id WHERE u.name IN ('Bob', 'Cy') AND sa.name = 'Initech'`)
	check("Virtual Account roles, one on another domain's account")
	db.Exec(t, `UPDATE smart_accounts SET account_type = 'partner_holding' WHERE name = 'Globex'`)
	check("an account made a partner holding")
	db.Exec(t, `UPDATE users SET email = 'ada@initech.example' WHERE name = 'Ada'`)
	check("an email moved to another account's domain")
	db.Exec(t, `UPDATE smart_accounts SET domain = 'initech-corp.example' WHERE name = 'Initech'`)
	check("that account's domain changed")
	db.Exec(t, `UPDATE smart_accounts SET name = 'Globex Holding' WHERE name = 'Globex'`)
	check("the picked account renamed")
	db.Exec(t, `DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE name = 'Ada')
		AND smart_account_id = (SELECT id FROM smart_accounts WHERE name = 'Globex Holding')`)
	check("the picked role removed")
	db.Exec(t, `UPDATE memberships SET role = 'admin' WHERE user_id = (SELECT id FROM users WHERE name = 'Ada')
		AND smart_account_id = (SELECT id FROM smart_accounts WHERE name = 'Northwind')`)
	check("a role made stronger")
	db.Exec(t, `DELETE FROM smart_accounts WHERE name = 'Northwind'`)
	check("the picked account deleted")
	db.Exec(t, `DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE name = 'Ada')`)
	check("every role removed")

	// Two roles for one user, each in its own transaction, the second
	// begun before the first commits: the pick sees both. The first is the
	// one to pick (a partner holding), so a second that wrote what its own
	// snapshot saw would name the other.
	raceForLock(t, db, "two roles at once",
		execIn(role, "Ada", "Globex Holding", "admin"), execIn(role, "Ada", "Initech", "viewer"))
	check("two roles granted at once")
	raceForLock(t, db, "a role granted while another is removed",
		execIn(`DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE name = 'Ada')
			AND smart_account_id = (SELECT id FROM smart_accounts WHERE name = 'Globex Holding')`),
		execIn(role, "Ada", "Globex Holding", "user"))
	check("a role removed while another is granted")
	// An account's type changed while its holder gains a role elsewhere:
	// no other lock orders these two, only the read model's own row. Had
	// the second written what its snapshot saw, it would name Globex, still
	// a partner holding there, rather than Hooli.
	raceForLock(t, db, "a type changed while a role is granted",
		execIn(`UPDATE smart_accounts SET account_type = 'customer' WHERE name = 'Globex Holding'`),
		execIn(role, "Ada", "Hooli", "viewer"))
	check("a type changed while a role is granted")
	db.Exec(t, `DELETE FROM users WHERE name = 'Ada'`)
	check("a user deleted")
	var rows int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM menu_accounts ma WHERE NOT EXISTS (SELECT FROM users u WHERE u.id = ma.user_id)`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("%d rows of deleted users (%v)", rows, err)
	}
}
