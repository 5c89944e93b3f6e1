package scale_test

import (
	"context"
	"testing"

	"github.com/clc-portal/clc/internal/postgres/pgtest"
	"github.com/clc-portal/clc/internal/scale"
)

// TestLoadMakesPartnersOfEachSize loads heavy partners of three sizes and
// one larger than the load, twice into one database (as the bench grows
// it): each partner holds about as many accounts as asked, asked for a
// third as many to be created and asked access to a tenth as many; the one
// the load cannot hold is left out.
func TestLoadMakesPartnersOfEachSize(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	for _, n := range []int{4000, 2000} {
		sum, err := scale.Load(ctx, db.Pool, scale.Options{Accounts: n, Partners: []int{30, 300, 3000}, PasswordHash: "not a real hash"})
		if err != nil {
			t.Fatal(err)
		}
		want := []int{30, 300, 3000}
		if n < 3000 {
			want = want[:2]
		}
		if len(sum.Partners) != len(want) || sum.Partner != sum.Partners[0].Email {
			t.Fatalf("%d accounts: partners %+v, want %v", n, sum.Partners, want)
		}
		for i, p := range sum.Partners {
			k := want[i]
			var roles, created, requests int
			err := db.Pool.QueryRow(ctx, `
				SELECT (SELECT count(*) FROM accessible_accounts a WHERE a.user_id = u.id),
					(SELECT count(*) FROM smart_accounts sa WHERE sa.created_by = u.id),
					(SELECT count(*) FROM access_requests r WHERE r.user_id = u.id)
				FROM users u WHERE u.email = $1`, p.Email).Scan(&roles, &created, &requests)
			if err != nil {
				t.Fatal(err)
			}
			// About 96% of the accounts are active, and a partner holds a
			// few roles besides, as any user does.
			if p.Accounts != roles || roles < k*9/10 || roles > k*13/10+5 {
				t.Errorf("%d accounts: the partner of %d holds %d accounts (summary %d)", n, k, roles, p.Accounts)
			}
			if created < k/3-2 || created > k/3+5 {
				t.Errorf("%d accounts: the partner of %d asked for %d to be created, want about %d", n, k, created, k/3)
			}
			if requests < k/10*9/10 || requests > k/10+3 {
				t.Errorf("%d accounts: the partner of %d asked access %d times, want about %d", n, k, requests, k/10)
			}
		}
	}
	if _, err := scale.Load(ctx, db.Pool, scale.Options{Accounts: 10, Partners: []int{0}, PasswordHash: "x"}); err == nil {
		t.Error("a partner of no accounts was taken")
	}
}
