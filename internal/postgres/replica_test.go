package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// TestReplicaLeftOutWhileBehind checks where reads go against a real
// replica: to it while it keeps up; to the primary for a reader whose own
// write it has not replayed, and for everyone once it is more than the
// allowed lag behind; to it again once it caught up.
func TestReplicaLeftOutWhileBehind(t *testing.T) {
	db := pgtest.NewReplicated(t)
	url := pgtest.ReplicaURL(t, db)
	t.Cleanup(func() { pgtest.OnReplica(t, `SELECT pg_wal_replay_resume()`) })
	ctx := context.Background()
	const every, maxLag = 50 * time.Millisecond, 1500 * time.Millisecond
	r, err := postgres.OpenReplicaEvery(ctx, url, db.Pool, slog.New(slog.DiscardHandler), every, maxLag)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	store := postgres.NewStore(db.Pool).WithReplica(r)
	if !store.ReadsReplica(ctx) {
		t.Fatal("a replica that keeps up does not answer")
	}

	// The replica's lag counts from the last commit it replayed, so the
	// clock starts before a commit it is known to have replayed: the check
	// below must not count from a moment after that commit.
	start := time.Now()
	pgtest.CatchUp(t, db)
	pgtest.OnReplica(t, `SELECT pg_wal_replay_pause()`)
	if _, err := db.Pool.Exec(ctx, `CREATE TABLE written (id int)`); err != nil {
		t.Fatal(err)
	}
	mark, err := r.Mark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if store.ReadsReplica(r.Since(ctx, mark)) {
		t.Error("a reader whose write the replica lacks reads the replica")
	}
	if !store.ReadsReplica(ctx) {
		t.Error("a reader who wrote nothing does not read the replica within the allowed lag")
	}
	for store.ReadsReplica(ctx) {
		if time.Since(start) > 10*maxLag {
			t.Fatalf("the replica still answers %s after its replay stopped", time.Since(start))
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO written VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		time.Sleep(every)
	}
	if behind := time.Since(start); behind < maxLag {
		t.Errorf("left out after %s, before it was %s behind", behind, maxLag)
	}

	pgtest.OnReplica(t, `SELECT pg_wal_replay_resume()`)
	pgtest.CatchUp(t, db)
	for start := time.Now(); !store.ReadsReplica(r.Since(ctx, mark)); time.Sleep(every) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the replica does not answer again once it caught up")
		}
	}
}
