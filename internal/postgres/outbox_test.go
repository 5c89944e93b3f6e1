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

// outboxRig is three emails about one account, claimed by a worker.
func outboxRig(t *testing.T) (pgtest.DB, *postgres.Store, []account.QueuedEmail, time.Time) {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO smart_accounts (name, domain, account_type, status) VALUES ('Globex', 'globex.example', 'customer', 'active');
		INSERT INTO outbox (message_id, kind, to_address, data, secret, smart_account_id, next_attempt_at, created_at)
		SELECT 'm' || g, 'approval_request', 'a' || g || '@globex.example', '{}', 'token' || g,
			(SELECT id FROM smart_accounts), now() - interval '1 minute', now()
		FROM generate_series(1, 3) g`); err != nil {
		t.Fatal(err)
	}
	s := postgres.NewStore(db.Pool)
	claimed, err := s.ClaimEmails(ctx, 0, now, 10, time.Minute)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim: %d, %v", len(claimed), err)
	}
	return db, s, claimed, now
}

// overtake has another worker take the second email over once the first
// worker's lease ran out: the first worker's claim on it is lost.
func overtake(t *testing.T, db pgtest.DB, s *postgres.Store, claimed []account.QueuedEmail, now time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `UPDATE outbox SET locked_until = $2 WHERE id <> $1`, claimed[1].ID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	again, err := s.ClaimEmails(ctx, 0, now.Add(2*time.Minute), 10, time.Minute)
	if err != nil || len(again) != 1 || again[0].ID != claimed[1].ID || again[0].Attempts != 2 {
		t.Fatalf("the second worker's claim: %+v, %v", again, err)
	}
}

func claimsOf(qs []account.QueuedEmail) []account.EmailClaim {
	out := make([]account.EmailClaim, len(qs))
	for i, q := range qs {
		out[i] = q.Claim()
	}
	return out
}

func outboxRows(t *testing.T, db pgtest.DB) map[int64]string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `
		SELECT id, state || ' ' || attempts || ' ' || (secret IS NOT NULL)::text FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var s string
		if err := rows.Scan(&id, &s); err != nil {
			t.Fatal(err)
		}
		out[id] = s
	}
	return out
}

// A batch's deliveries are recorded in one statement; an email whose claim
// another worker has since taken is reported lost and left as that worker
// holds it, and the others are recorded, each with its history event.
func TestMarkEmailsSentRecordsAllButTheLostClaim(t *testing.T) {
	t.Parallel()
	db, s, claimed, now := outboxRig(t)
	overtake(t, db, s, claimed, now)
	lost, err := s.MarkEmailsSent(context.Background(), claimsOf(claimed), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) != 3 || lost[0] != nil || !errors.Is(lost[1], account.ErrClaimLost) || lost[2] != nil {
		t.Fatalf("lost %v, want only the second email's claim", lost)
	}
	got := outboxRows(t, db)
	want := map[int64]string{claimed[0].ID: "sent 1 false", claimed[1].ID: "sending 2 true", claimed[2].ID: "sent 1 false"}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("email %d: %q, want %q", id, got[id], w)
		}
	}
	var events []string
	rows, err := db.Pool.Query(context.Background(), `SELECT params->'to'->>0 || ' ' || (params->>'email') FROM events WHERE kind = 'emailed' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if len(events) != 2 || events[0] != claimed[0].Email.To+" approval_request" || events[1] != claimed[2].Email.To+" approval_request" {
		t.Errorf("emailed events %q, want one for each recorded delivery", events)
	}
	// Recorded once: the same outcome again records nothing more.
	lost, err = s.MarkEmailsSent(context.Background(), claimsOf(claimed), now)
	if err != nil || !errors.Is(lost[0], account.ErrClaimLost) || !errors.Is(lost[2], account.ErrClaimLost) {
		t.Fatalf("recording again: %v, %v", lost, err)
	}
}

// Handing a batch back takes back each claim's attempt, except where the
// claim was lost.
func TestReleaseEmailsSkipsTheLostClaim(t *testing.T) {
	t.Parallel()
	db, s, claimed, now := outboxRig(t)
	overtake(t, db, s, claimed, now)
	lost, err := s.ReleaseEmails(context.Background(), claimsOf(claimed), "SMTP server unreachable")
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) != 3 || lost[0] != nil || !errors.Is(lost[1], account.ErrClaimLost) || lost[2] != nil {
		t.Fatalf("lost %v, want only the second email's claim", lost)
	}
	got := outboxRows(t, db)
	want := map[int64]string{claimed[0].ID: "pending 0 true", claimed[1].ID: "sending 2 true", claimed[2].ID: "pending 0 true"}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("email %d: %q, want %q", id, got[id], w)
		}
	}
	var lastErr string
	if err := db.Pool.QueryRow(context.Background(), `SELECT last_error FROM outbox WHERE id = $1`, claimed[0].ID).Scan(&lastErr); err != nil || lastErr != "SMTP server unreachable" {
		t.Errorf("last error %q, %v", lastErr, err)
	}
}
