package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

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
