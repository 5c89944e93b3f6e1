package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// raceForLock runs first in a transaction it leaves open, then second in
// another, which must wait for a lock first holds (waitForLockWait); once it
// waits, first commits. Either failing fails the test, named by step. The
// read models' tests use it to show that of two changes to the same account
// at once, the second sees the first.
func raceForLock(t *testing.T, db pgtest.DB, step string, first, second func(pgx.Tx) error) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := first(tx); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	var wg sync.WaitGroup
	var secondErr error
	wg.Go(func() { secondErr = pgx.BeginFunc(ctx, db.Pool, second) })
	waitForLockWait(t, db)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if secondErr != nil {
		t.Fatalf("%s: %v", step, secondErr)
	}
}

// execIn is one statement, for raceForLock.
func execIn(sql string, args ...any) func(pgx.Tx) error {
	return func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), sql, args...)
		return err
	}
}

// waitForLockWait returns once some session of the test's database waits
// for a lock.
func waitForLockWait(t *testing.T, db pgtest.DB) {
	t.Helper()
	for range 500 {
		var n int
		if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no session waited for a lock")
}
