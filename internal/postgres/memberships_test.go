package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// A role, or an access request, on a Virtual Account of another Smart
// Account cannot be stored: it would count for the wrong account.
func TestVirtualAccountBelongsToTheSameSmartAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	var user, globex, initech, initechVA, request int64
	err := db.Pool.QueryRow(ctx, `
		WITH u AS (INSERT INTO users (email, name) VALUES ('a@x.example', 'A') RETURNING id),
		g AS (INSERT INTO smart_accounts (name, domain, account_type, status) VALUES ('Globex', 'globex.example', 'customer', 'active') RETURNING id),
		i AS (INSERT INTO smart_accounts (name, domain, account_type, status) VALUES ('Initech', 'initech.example', 'customer', 'active') RETURNING id),
		v AS (INSERT INTO virtual_accounts (smart_account_id, name) SELECT id, 'DEFAULT' FROM i RETURNING id)
		SELECT u.id, g.id, i.id, v.id FROM u, g, i, v`).Scan(&user, &globex, &initech, &initechVA)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Pool.Exec(ctx, `INSERT INTO memberships (user_id, smart_account_id, virtual_account_id, role) VALUES ($1, $2, $3, 'admin')`,
		user, globex, initechVA)
	if !isForeignKeyViolation(err) {
		t.Errorf("a membership of Globex on Initech's Virtual Account: %v", err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO memberships (user_id, smart_account_id, virtual_account_id, role) VALUES ($1, $2, $3, 'admin')`,
		user, initech, initechVA); err != nil {
		t.Errorf("a membership on the account's own Virtual Account: %v", err)
	}
	if err := db.Pool.QueryRow(ctx, `
		INSERT INTO access_requests (user_id, smart_account_id, role, reason, created_at)
		VALUES ($1, $2, 'viewer', 'r', now()) RETURNING id`, user, globex).Scan(&request); err != nil {
		t.Fatal(err)
	}
	for _, sa := range []int64{globex, initech} {
		_, err = db.Pool.Exec(ctx, `
			INSERT INTO access_request_virtual_accounts (request_id, smart_account_id, virtual_account_id) VALUES ($1, $2, $3)`,
			request, sa, initechVA)
		if !isForeignKeyViolation(err) {
			t.Errorf("a request to Globex for Initech's Virtual Account (as account %d): %v", sa, err)
		}
	}
}

func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}
