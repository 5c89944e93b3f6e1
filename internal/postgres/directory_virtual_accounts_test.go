package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// TestDirectoryVirtualAccountsFollowSight: a directory row lists the
// Virtual Accounts, DEFAULT first and at most account.MaxListedVirtualAccounts
// with a count of the rest, and the viewer's role on each, exactly where
// SightOf lets its viewer see them, on the overview and on each section's
// own page: on every account they hold a role on, asked for or created, on
// an account they asked access to only while they hold a role on it, and on
// an account under their domain only for staff. A section whose every row
// shows them reads them with its rows (for staff, every section); the
// others' rows that show them come in one round trip after the sections'.
func TestDirectoryVirtualAccountsFollowSight(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	db.Exec(t, `
		INSERT INTO users (email, name, is_staff) VALUES
			('ada@northwind.example', 'Ada', false), ('sam@northwind.example', 'Sam', true), ('own@globex.example', 'Owner', false)`)
	db.Exec(t, `
		INSERT INTO smart_accounts (name, domain, account_type, status, created_by)
		SELECT n, d, 'customer', s, CASE WHEN n = 'Made Co' THEN (SELECT id FROM users WHERE email = 'ada@northwind.example') END
		FROM (VALUES ('Access Co', 'globex.example', 'active'), ('Asked Co', 'initech.example', 'active'),
			('Stranger Co', 'hooli.example', 'active'), ('Made Co', 'acme.example', 'pending'),
			('Home Co', 'northwind.example', 'active')) x (n, d, s)`)
	// Access Co has DEFAULT and VA01 to VA11, one more than a row lists.
	db.Exec(t, `
		INSERT INTO virtual_accounts (smart_account_id, name)
		SELECT sa.id, v FROM smart_accounts sa, unnest(CASE sa.name
			WHEN 'Access Co' THEN ARRAY['DEFAULT'] || ARRAY(SELECT format('VA%s', lpad(i::text, 2, '0')) FROM generate_series(11, 1, -1) i)
			WHEN 'Asked Co' THEN '{DEFAULT,Lab}' WHEN 'Stranger Co' THEN '{DEFAULT,Sales}'
			WHEN 'Made Co' THEN '{DEFAULT}' ELSE '{DEFAULT,Ops}' END) v`)
	db.Exec(t, `
		INSERT INTO memberships (user_id, smart_account_id, virtual_account_id, role)
		SELECT u.id, sa.id, va.id, r FROM (VALUES
			('Access Co', NULL, 'user'), ('Access Co', 'VA02', 'admin'), ('Asked Co', 'Lab', 'viewer')) x (acct, vname, r)
		JOIN users u ON u.email = 'ada@northwind.example'
		JOIN smart_accounts sa ON sa.name = x.acct
		LEFT JOIN virtual_accounts va ON va.smart_account_id = sa.id AND va.name = x.vname`)
	db.Exec(t, `
		INSERT INTO access_requests (user_id, smart_account_id, role, reason, created_at)
		SELECT u.id, sa.id, 'user', 'please', now() FROM users u, smart_accounts sa
		WHERE u.email = 'ada@northwind.example' AND sa.name IN ('Asked Co', 'Stranger Co')`)
	s, trips := tracedStore(t, db)
	listings := account.NewListings(s, account.SystemClock{})
	user := func(email string) account.User {
		u := account.User{Email: email}
		if err := db.Pool.QueryRow(ctx, `SELECT id, is_staff FROM users WHERE email = $1`, email).Scan(&u.ID, &u.Staff); err != nil {
			t.Fatal(err)
		}
		return u
	}
	// shown writes what a row shows of its Virtual Accounts: each with the
	// viewer's role, then how many more, or "-" for none.
	shown := func(l account.Listing) string {
		if len(l.VirtualAccounts) == 0 && l.MoreVirtualAccounts == 0 {
			return "-"
		}
		var parts []string
		for _, va := range l.VirtualAccounts {
			parts = append(parts, va.Name+":"+string(va.Role))
		}
		return strings.Join(parts, " ") + fmt.Sprintf(" +%d", l.MoreVirtualAccounts)
	}
	access := "DEFAULT: VA01: VA02:admin VA03: VA04: VA05: VA06: VA07: VA08: VA09: +2"
	for _, tc := range []struct {
		viewer string
		// trips are the round trips of the overview, then of each
		// section's own page.
		trips map[account.Section]int
		want  map[account.Section]map[string]string
	}{
		{"ada@northwind.example", map[account.Section]int{"": 2,
			account.SectionAccess: 1, account.SectionRequested: 2, account.SectionCreated: 1, account.SectionDomain: 1,
		}, map[account.Section]map[string]string{
			account.SectionAccess:    {"Access Co": access, "Asked Co": "DEFAULT: Lab:viewer +0"},
			account.SectionRequested: {"Asked Co": "DEFAULT: Lab:viewer +0", "Stranger Co": "-"},
			account.SectionCreated:   {"Made Co": "DEFAULT: +0"},
			account.SectionDomain:    {"Home Co": "-"},
		}},
		{"sam@northwind.example", map[account.Section]int{"": 1,
			account.SectionAccess: 1, account.SectionRequested: 1, account.SectionCreated: 1, account.SectionDomain: 1,
		}, map[account.Section]map[string]string{
			account.SectionAccess: {}, account.SectionRequested: {}, account.SectionCreated: {},
			account.SectionDomain: {"Home Co": "DEFAULT: Ops: +0"},
		}},
	} {
		viewer := user(tc.viewer)
		check := func(where string, sec account.DirectorySection) {
			t.Helper()
			got := map[string]string{}
			for _, l := range sec.Items {
				got[l.Account.Name] = shown(l)
			}
			if want := tc.want[sec.Section]; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s, %s, %s: %v, want %v", tc.viewer, where, sec.Section, got, want)
			}
		}
		trips.take()
		secs, err := listings.Directory(ctx, viewer)
		if err != nil {
			t.Fatal(err)
		}
		if n := trips.take(); n != tc.trips[""] {
			t.Errorf("%s's overview took %d round trips, want %d", tc.viewer, n, tc.trips[""])
		}
		for _, sec := range secs {
			check("overview", sec)
			page, err := listings.DirectorySection(ctx, viewer, account.DirectorySectionQuery{Section: sec.Section})
			if err != nil {
				t.Fatal(err)
			}
			if n := trips.take(); n != tc.trips[sec.Section] {
				t.Errorf("%s's page of %s took %d round trips, want %d", tc.viewer, sec.Section, n, tc.trips[sec.Section])
			}
			check("own page", page)
		}
	}
}
