package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

func workerLock(t *testing.T, url string, db pgtest.DB, log *slog.Logger) *postgres.WorkerLock {
	t.Helper()
	l, err := postgres.NewWorkerLock(url, db.Pool, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// Two workers hold two ids, and a worker whose lock is gone claims nothing:
// its claims would be free for every other worker the moment it made them.
func TestWorkerLockClaimsOnlyWhileHeld(t *testing.T) {
	db, s, claimed, now := outboxRig(t)
	ctx := context.Background()
	// outboxRig's claim took no lock: 0, as an older worker claims.
	a := workerLock(t, db.URL, db, slog.New(slog.DiscardHandler))
	b := workerLock(t, db.URL, db, slog.New(slog.DiscardHandler))
	idA, errA := a.ID(ctx)
	idB, errB := b.ID(ctx)
	if errA != nil || errB != nil || idA == 0 || idA == idB {
		t.Fatalf("ids %d (%v) and %d (%v): want two, distinct", idA, errA, idB, errB)
	}
	if again, _ := a.ID(ctx); again != idA {
		t.Errorf("the lock's id moved from %d to %d while its session lived", idA, again)
	}
	if got, err := s.ClaimEmails(ctx, idA, now.Add(time.Second), 10, time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("claims of a worker without a lock were taken before their lease ran out: %d, %v", len(got), err)
	}
	db.Exec(t, `UPDATE outbox SET state = 'pending', claimed_by = NULL WHERE id = $1`, claimed[0].ID)
	b.Close()
	// Closing the client's end does not end the server's session at once:
	// the lock is free when pg_locks says so, a moment later under load.
	waitLockFree(t, db, idB)
	if got, err := s.ClaimEmails(ctx, idB, now.Add(time.Second), 10, time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("a worker whose lock is gone claimed %d (%v)", len(got), err)
	}
	got, err := s.ClaimEmails(ctx, idA, now.Add(time.Second), 10, time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatalf("a worker with its lock claimed %d (%v), want the one pending email", len(got), err)
	}
	var by int64
	if err := db.Pool.QueryRow(ctx, `SELECT claimed_by FROM outbox WHERE id = $1`, got[0].ID).Scan(&by); err != nil || by != idA {
		t.Errorf("the claim names worker %d (%v), want %d", by, err, idA)
	}
}

// A lock whose connection reaches another database than the claims' would
// be seen by none of them: every claim would look abandoned. It is refused.
func TestWorkerLockRefusesAnotherDatabase(t *testing.T) {
	db, other := pgtest.New(t), pgtest.New(t)
	l := workerLock(t, other.URL, db, slog.New(slog.DiscardHandler))
	if id, err := l.ID(context.Background()); err == nil || !strings.Contains(err.Error(), "CLC_LOCK_DATABASE_URL") {
		t.Fatalf("a lock on another database: id %d, %v; want an error naming CLC_LOCK_DATABASE_URL", id, err)
	}
}

// Through PgBouncer in transaction pooling a session's lock would stay on a
// server connection other clients use: the lock is not taken, the worker
// claims without one (its claims wait for their lease), and it says so.
func TestWorkerLockThroughAPoolerIsNone(t *testing.T) {
	db := pgtest.New(t)
	var logged strings.Builder
	l := workerLock(t, pgtest.BouncerURL(t, db), db, slog.New(slog.NewJSONHandler(&logged, nil)))
	for range 2 {
		if id, err := l.ID(context.Background()); id != 0 || err != nil {
			t.Fatalf("through PgBouncer: id %d, %v; want none", id, err)
		}
	}
	if n := strings.Count(logged.String(), "CLC_LOCK_DATABASE_URL"); n != 1 {
		t.Errorf("the warning naming CLC_LOCK_DATABASE_URL was logged %d times, want once:\n%s", n, logged.String())
	}
}

// TestClaimEmailsReadsTheDueIndex explains the claim's generic plan at an
// outbox of 100,000 sent emails, a few hundred due and some claimed by a
// worker that died: the outbox is read by its partial due index, never
// scanned, and pg_locks once a claim, not once a row.
func TestClaimEmailsReadsTheDueIndex(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	db.Exec(t, `
		INSERT INTO outbox (message_id, kind, to_address, data, state, attempts, next_attempt_at, created_at, sent_at)
		SELECT 'sent' || g, 'approval_request', 'a' || g || '@globex.example', '{}', 'sent', 1,
			now() - interval '1 day', now() - interval '1 day', now() - interval '1 day'
		FROM generate_series(1, 100000) g;
		INSERT INTO outbox (message_id, kind, to_address, data, next_attempt_at, created_at)
		SELECT 'due' || g, 'approval_request', 'd' || g || '@globex.example', '{}', now() - interval '1 minute', now()
		FROM generate_series(1, 300) g;
		INSERT INTO outbox (message_id, kind, to_address, data, state, attempts, claimed_by, locked_until, next_attempt_at, created_at)
		SELECT 'dead' || g, 'approval_request', 'x' || g || '@globex.example', '{}', 'sending', 1, 424242,
			now() + interval '1 minute', now() - interval '2 minutes', now()
		FROM generate_series(1, 50) g;
		ANALYZE outbox`)
	l := workerLock(t, db.URL, db, slog.New(slog.DiscardHandler))
	id, err := l.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "PREPARE claim AS "+postgres.ClaimEmailsSQL); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) // the plan is what is wanted, not the claim
	var plan string
	if err := tx.QueryRow(ctx, fmt.Sprintf(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE claim (now(), 100, '2 minutes', %d)`, id)).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	var root []struct {
		Plan planNode
	}
	if err := json.Unmarshal([]byte(plan), &root); err != nil || len(root) == 0 {
		t.Fatalf("plan: %v\n%s", err, plan)
	}
	var walk func(n planNode)
	var dueIndex bool
	walk = func(n planNode) {
		switch {
		case n.Relation == "outbox" && n.Type == "Seq Scan":
			t.Errorf("the outbox is scanned: %+v", n)
		case n.Index == "outbox_due_idx":
			dueIndex = true
			if n.Rows*n.Loops > 400 {
				t.Errorf("%v rows of the due index read for a claim of 100", n.Rows*n.Loops)
			}
		case n.Type == "Function Scan" && n.Loops > 1:
			t.Errorf("pg_locks read %v times in one claim", n.Loops)
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(root[0].Plan)
	if !dueIndex {
		t.Errorf("the claim does not read outbox_due_idx:\n%s", plan)
	}
	t.Logf("claim plan at 100,000 sent emails: %s", compactPlan(root[0].Plan, 0))
}

// compactPlan is a plan's tree on one line, for the log.
func compactPlan(n planNode, depth int) string {
	s := n.Type
	if n.Relation != "" || n.Index != "" {
		s += " " + n.Relation + " " + n.Index
	}
	s += fmt.Sprintf(" (%v×%v)", n.Loops, n.Rows)
	var kids []string
	for _, c := range n.Plans {
		kids = append(kids, compactPlan(c, depth+1))
	}
	if len(kids) > 0 {
		s += " [" + strings.Join(kids, "; ") + "]"
	}
	return s
}

// waitLockFree waits until no session holds worker id's lock.
func waitLockFree(t *testing.T, db pgtest.DB, id int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var held bool
		if err := db.Pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND objid = $1::bigint::oid
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`, id).Scan(&held); err != nil {
			t.Fatal(err)
		}
		if !held {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker %d's lock still held 10 s after its connection closed", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
