package demo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/demo"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// fastHasher keeps the test quick; the demo's passwords are no secret.
type fastHasher struct{}

func (fastHasher) Hash(p string) (string, error)    { return "plain:" + p, nil }
func (fastHasher) Verify(p, h string) (bool, error) { return h == "plain:"+p, nil }

func TestSeedTwiceChangesNothing(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	svc := account.NewService(postgres.NewStore(db.Pool), account.SystemClock{}, fastHasher{})
	count := func() (n [4]int) {
		for i, table := range []string{"users", "smart_accounts", "memberships", "access_requests"} {
			if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n[i]); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	if err := demo.Seed(ctx, svc); err != nil {
		t.Fatal(err)
	}
	first := count()
	if first[3] != 2 {
		t.Errorf("%d access requests, want 2", first[3])
	}
	if err := demo.Seed(ctx, svc); err != nil {
		t.Fatalf("second seed: %v", err)
	}
	if again := count(); again != first {
		t.Errorf("second seed changed counts from %v to %v", first, again)
	}
	// The partner sees her request among the accounts she asked access to.
	ada, err := svc.UserByEmail(ctx, demo.PartnerEmail)
	if err != nil {
		t.Fatal(err)
	}
	sections, err := svc.Directory(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	if got := sections[1].Items; len(got) != 1 || got[0].Account.Name != "Umbrella Corporation" || strings.Join(got[0].Request.VirtualAccounts, ",") != "Research" {
		t.Errorf("Ada's requested section: %+v", got)
	}
}
