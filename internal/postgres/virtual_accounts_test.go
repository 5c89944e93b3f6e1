package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// TestDeleteVirtualAccountOnlyWhenEmpty: the store deletes a Virtual
// Account only while nothing uses it, whatever its caller checked before:
// a role, a pending access request or an automation rule naming it keeps
// it (deleting it would take them with it by cascade), and DEFAULT stays.
// A name is unique in its account whatever its case.
func TestDeleteVirtualAccountOnlyWhenEmpty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	s := postgres.NewStore(db.Pool)
	var user, sa int64
	err := db.Pool.QueryRow(ctx, `
		WITH u AS (INSERT INTO users (email, name) VALUES ('a@globex.example', 'A') RETURNING id),
		g AS (INSERT INTO smart_accounts (name, domain, account_type, status) VALUES ('Globex', 'globex.example', 'customer', 'active') RETURNING id),
		d AS (INSERT INTO virtual_accounts (smart_account_id, name) SELECT id, 'DEFAULT' FROM g)
		SELECT u.id, g.id FROM u, g`).Scan(&user, &sa)
	if err != nil {
		t.Fatal(err)
	}
	id := account.AccountID(sa)
	now := time.Now()
	add := func(name string) int64 {
		t.Helper()
		va, err := s.AddVirtualAccount(ctx, account.VirtualAccountChange{AccountID: id, Name: name, Actor: "a@globex.example", ActorID: user, At: now})
		if err != nil {
			t.Fatal(err)
		}
		return va
	}
	del := func(va int64) error {
		return s.DeleteVirtualAccount(ctx, account.VirtualAccountChange{AccountID: id, ID: va, Actor: "a@globex.example", ActorID: user, At: now})
	}
	if _, err := s.AddVirtualAccount(ctx, account.VirtualAccountChange{AccountID: id, Name: "default", At: now}); !errors.Is(err, account.ErrVirtualAccountNameTaken) {
		t.Errorf("a second DEFAULT in lower case: %v", err)
	}
	held, requested, ruled, empty := add("Held"), add("Requested"), add("Ruled"), add("Empty")
	if err := s.RenameVirtualAccount(ctx, account.VirtualAccountChange{AccountID: id, ID: empty, Name: "HELD", At: now}); !errors.Is(err, account.ErrVirtualAccountNameTaken) {
		t.Errorf("renamed to another's name in capitals: %v", err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO memberships (user_id, smart_account_id, virtual_account_id, role) VALUES ($1, $2, $3, 'user')`, user, sa, held); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `
		WITH r AS (INSERT INTO access_requests (user_id, smart_account_id, role, reason, created_at) VALUES ($1, $2, 'viewer', 'r', now()) RETURNING id)
		INSERT INTO access_request_virtual_accounts (request_id, smart_account_id, virtual_account_id) SELECT r.id, $2, $3 FROM r`, user, sa, requested); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO access_automation (smart_account_id, same_domain, same_domain_role, same_domain_virtual_account_id, other_domain, updated_at)
		VALUES ($1, 'approve', 'user', $2, 'manual', now())`, sa, ruled); err != nil {
		t.Fatal(err)
	}
	for name, va := range map[string]int64{"Held": held, "Requested": requested, "Ruled": ruled} {
		if err := del(va); !errors.Is(err, account.ErrVirtualAccountInUse) {
			t.Errorf("deleting %s: %v", name, err)
		}
	}
	var def int64
	if err := db.Pool.QueryRow(ctx, `SELECT id FROM virtual_accounts WHERE name = 'DEFAULT'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if err := del(def); !errors.Is(err, account.ErrDefaultVirtualAccount) {
		t.Errorf("deleting DEFAULT: %v", err)
	}
	if err := s.RenameVirtualAccount(ctx, account.VirtualAccountChange{AccountID: id, ID: def, Name: "Main", At: now}); !errors.Is(err, account.ErrDefaultVirtualAccount) {
		t.Errorf("renaming DEFAULT: %v", err)
	}
	if err := del(empty); err != nil {
		t.Errorf("deleting an empty Virtual Account: %v", err)
	}
	var names string
	var automation, memberships, requests int
	if err := db.Pool.QueryRow(ctx, `SELECT string_agg(name, ',' ORDER BY name),
		(SELECT count(*) FROM access_automation), (SELECT count(*) FROM memberships), (SELECT count(*) FROM access_request_virtual_accounts)
		FROM virtual_accounts`).Scan(&names, &automation, &memberships, &requests); err != nil {
		t.Fatal(err)
	}
	if names != "DEFAULT,Held,Requested,Ruled" || automation != 1 || memberships != 1 || requests != 1 {
		t.Errorf("after the refusals and one deletion: %s, %d rules, %d roles, %d requested", names, automation, memberships, requests)
	}
	// Once the request is decided, Requested is empty.
	if _, err := db.Pool.Exec(ctx, `UPDATE access_requests SET status = 'declined', decided_at = now()`); err != nil {
		t.Fatal(err)
	}
	if err := del(requested); err != nil {
		t.Errorf("deleting a Virtual Account whose request was decided: %v", err)
	}
	// Another account's id is no Virtual Account of this one.
	if err := s.DeleteVirtualAccount(ctx, account.VirtualAccountChange{AccountID: id + 1000, ID: held, At: now}); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("deleting through another account: %v", err)
	}
}
