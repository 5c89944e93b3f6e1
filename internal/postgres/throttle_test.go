package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// Requests racing on one key read the clock a little apart and may reach the
// database in the other order. A first attempt or a refunded success must
// not leave a "block" until the time its request read, or an attempt whose
// clock read earlier is refused for the milliseconds between.
func TestThrottleAttemptsWithClocksApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := postgres.NewStore(pgtest.New(t).Pool)
	keys := []account.ThrottleKey{
		{Key: "email:ada@partner.example", Policy: account.AccountThrottle},
		{Key: "client:192.0.2.1", Policy: account.ClientThrottle},
	}
	now := time.Now()
	later := now.Add(5 * time.Millisecond)
	if until, err := store.CountLoginAttempt(ctx, keys, later); err != nil || until.After(later) {
		t.Fatalf("first attempt: blocked until %v, %v", until, err)
	}
	if until, err := store.CountLoginAttempt(ctx, keys, now); err != nil || until.After(now) {
		t.Fatalf("an attempt whose clock read 5 ms earlier is blocked until %v (its now %v), %v", until, now, err)
	}
	if err := store.RefundLoginAttempt(ctx, keys[1]); err != nil {
		t.Fatal(err)
	}
	if until, err := store.CountLoginAttempt(ctx, keys[1:], now.Add(-time.Millisecond)); err != nil || until.After(now.Add(-time.Millisecond)) {
		t.Fatalf("after a refund: blocked until %v, %v", until, err)
	}
}
