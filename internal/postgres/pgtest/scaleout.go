package pgtest

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The streaming replica and the PgBouncer that `make test` starts beside the
// test cluster (scripts/pg.sh replica, scripts/pg.sh bouncer). The replica
// follows a cluster of its own (TEST_REPLICATED_DATABASE_URL, NewReplicated);
// PgBouncer is in front of the test cluster.

// ReplicaURL is db's database on the replica (TEST_REPLICA_URL), once the
// replica has replayed all the primary had written, the database included.
// db is NewReplicated's: the replica follows that cluster alone.
//
// Tests that use the replica pause its replay and stop it, so they run one
// at a time, whichever package they are in: a lock on the primary cluster
// is held until t ends.
func ReplicaURL(t testing.TB, db DB) string {
	t.Helper()
	if hostOf(t, db.URL).Host != hostOf(t, need(t, "TEST_REPLICATED_DATABASE_URL")).Host {
		t.Fatal("ReplicaURL: the replica follows NewReplicated's cluster, not this database's")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lock, err := pgx.Connect(ctx, need(t, "TEST_REPLICATED_DATABASE_URL"))
	if err != nil {
		t.Fatalf("connect to test cluster: %v", err)
	}
	t.Cleanup(func() { lock.Close(context.Background()) })
	if _, err := lock.Exec(ctx, `SELECT pg_advisory_lock(727275)`); err != nil {
		t.Fatalf("wait for the replica: %v", err)
	}
	u := withDatabase(need(t, "TEST_REPLICA_URL"), databaseOf(t, db.URL))
	CatchUp(t, db)
	return u
}

// CatchUp waits until the replica has replayed everything the primary had
// written when it was called.
func CatchUp(t testing.TB, db DB) {
	t.Helper()
	// A bound against a hang, not a measure: the replica replays every
	// test's CREATE DATABASE too, and with tests side by side (make test
	// runs them so) it can trail by tens of seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A record of its own to wait for: the insert position may lie past a
	// page header no record has filled yet (after a segment switch, as a
	// base backup makes), which the replica reaches only with the next one.
	var at string
	if err := db.Pool.QueryRow(ctx, `SELECT pg_logical_emit_message(false, 'pgtest', 'catch up')::text`).Scan(&at); err != nil {
		t.Fatalf("primary's WAL position: %v", err)
	}
	conn, err := pgx.Connect(ctx, need(t, "TEST_REPLICA_URL"))
	if err != nil {
		t.Fatalf("connect to the replica: %v", err)
	}
	defer conn.Close(context.Background())
	for {
		var done bool
		if err := conn.QueryRow(ctx, `SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn`, at).Scan(&done); err != nil {
			t.Fatalf("replica's WAL position: %v", err)
		}
		if done {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the replica did not replay up to %s", at)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// OnReplica runs sql on the replica's admin database, as pg_wal_replay_pause
// needs.
func OnReplica(t testing.TB, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, need(t, "TEST_REPLICA_URL"))
	if err != nil {
		t.Fatalf("connect to the replica: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("on the replica: %s: %v", sql, err)
	}
}

// StopReplica shuts the replica down, as an outage would.
func StopReplica(t testing.TB) {
	t.Helper()
	pgScript(t, "stop", need(t, "TEST_REPLICA_DIR"))
}

// StartReplica brings the replica back (made afresh from the primary).
func StartReplica(t testing.TB) {
	t.Helper()
	replica, primary := hostOf(t, need(t, "TEST_REPLICA_URL")), hostOf(t, need(t, "TEST_REPLICATED_DATABASE_URL"))
	pgScript(t, "replica", need(t, "TEST_REPLICA_DIR"), replica.Port(), primary.Port())
}

// BouncerURL is db's database through PgBouncer in transaction pooling
// (TEST_PGBOUNCER_URL), sending statements as the portal must through it:
// unnamed, with their descriptions cached (see README, "Running at scale").
func BouncerURL(t testing.TB, db DB) string {
	t.Helper()
	u, err := url.Parse(withDatabase(need(t, "TEST_PGBOUNCER_URL"), databaseOf(t, db.URL)))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("default_query_exec_mode", "cache_describe")
	u.RawQuery = q.Encode()
	return u.String()
}

func need(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which starts the replica and PgBouncer", name)
	}
	return v
}

func databaseOf(t testing.TB, raw string) string {
	t.Helper()
	return hostOf(t, raw).Path[1:]
}

func hostOf(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// pgScript runs scripts/pg.sh, found above the test's directory.
func pgScript(t testing.TB, args ...string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "pg.sh")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("scripts/pg.sh not found above the test's directory")
		}
		dir = parent
	}
	out, err := exec.Command(filepath.Join(dir, "scripts", "pg.sh"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/pg.sh %v: %v\n%s", args, err, out)
	}
}
