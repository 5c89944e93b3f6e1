package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// TestAccountPageComesInTwoRoundTrips: an account's page is the viewer's
// relation to it, then one batch of what that relation lets them see, the
// Virtual Accounts they may change among it: whoever views it, in two round
// trips. The account's Administrator may create and change Virtual
// Accounts, a Virtual Account's administrator may rename theirs, and a user
// of the account is offered none of it.
func TestAccountPageComesInTwoRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	var sa int64
	err := db.Pool.QueryRow(ctx, `
		WITH u AS (INSERT INTO users (email, name) VALUES
			('admin@globex.example', 'Admin'), ('sales@globex.example', 'Sales Lead'), ('user@globex.example', 'User')),
		g AS (INSERT INTO smart_accounts (name, domain, account_type, status) VALUES ('Globex', 'globex.example', 'customer', 'active') RETURNING id),
		v AS (INSERT INTO virtual_accounts (smart_account_id, name) SELECT id, n FROM g, unnest('{DEFAULT,Sales,Support}'::text[]) n)
		SELECT id FROM g`).Scan(&sa)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, `
		INSERT INTO memberships (user_id, smart_account_id, virtual_account_id, role)
		SELECT u.id, va.smart_account_id, CASE WHEN u.email = 'sales@globex.example' THEN va.id END,
			CASE WHEN u.email = 'user@globex.example' THEN 'user' ELSE 'admin' END
		FROM users u JOIN virtual_accounts va ON va.name = CASE WHEN u.email = 'sales@globex.example' THEN 'Sales' ELSE 'DEFAULT' END`)
	s, trips := tracedStore(t, db)
	listings := account.NewListings(s, account.SystemClock{})

	page := func(email string) account.AccountDetails {
		t.Helper()
		u := account.User{Email: email}
		if err := db.Pool.QueryRow(ctx, `SELECT id FROM users WHERE email = $1`, email).Scan(&u.ID); err != nil {
			t.Fatal(err)
		}
		trips.take()
		d, err := listings.AccountPage(ctx, u, account.AccountPageQuery{ID: account.AccountID(sa)})
		if err != nil {
			t.Fatalf("%s's account page: %v", email, err)
		}
		if n := trips.take(); n != 2 {
			t.Errorf("%s's account page took %d round trips, want 2", email, n)
		}
		return d
	}
	changeable := func(c account.VirtualAccountChoices) (renamed, deleted []string) {
		for _, va := range c.Items {
			if va.CanRename {
				renamed = append(renamed, va.Name)
			}
			if va.CanDelete {
				deleted = append(deleted, va.Name)
			}
		}
		return renamed, deleted
	}

	admin := page("admin@globex.example").ManageVirtualAccounts
	renamed, deleted := changeable(admin)
	if !admin.CanCreate || len(admin.Items) != 3 || !slices.Equal(renamed, []string{"Sales", "Support"}) || !slices.Equal(deleted, []string{"Support"}) {
		t.Errorf("the Administrator's choices: create %v, %d listed, rename %v, delete %v; want create, 3, [Sales Support], [Support]",
			admin.CanCreate, len(admin.Items), renamed, deleted)
	}
	lead := page("sales@globex.example").ManageVirtualAccounts
	renamed, deleted = changeable(lead)
	if lead.CanCreate || !slices.Equal(renamed, []string{"Sales"}) || len(deleted) != 0 || len(lead.Items) != 1 {
		t.Errorf("the Sales administrator's choices: create %v, %d listed, rename %v, delete %v; want only to rename Sales",
			lead.CanCreate, len(lead.Items), renamed, deleted)
	}
	if user := page("user@globex.example").ManageVirtualAccounts; user.CanCreate || len(user.Items) != 0 {
		t.Errorf("a user of the account is offered %+v", user)
	}
}
