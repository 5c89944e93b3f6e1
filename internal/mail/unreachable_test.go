package mail_test

import (
	"context"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/clc-portal/clc/internal/mail"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// An SMTP server that cannot be reached charges no email an attempt, so an
// outage of any length never makes an email fail; a worker that then finds
// it again delivers at once, not after the per-email backoff.
func TestUnreachableSMTPChargesNoAttempt(t *testing.T) {
	r := newRig(t)
	r.request("globex")
	addr := r.smtp.String()
	r.catcher.Close()
	w := r.worker()
	w.Backoff.MaxAttempts = 2
	for range 5 {
		runOnce(t, w)
	}
	var attempts, due int
	if err := r.db.Pool.QueryRow(context.Background(), `
		SELECT coalesce(max(attempts), 0), count(*) FILTER (WHERE state = 'pending' AND next_attempt_at <= $1)
		FROM outbox`, r.clock.Now()).Scan(&attempts, &due); err != nil {
		t.Fatal(err)
	}
	if attempts != 0 || due != 3 {
		t.Fatalf("after 5 tries with SMTP unreachable: max attempts %d, %d of 3 due now; want 0 and 3", attempts, due)
	}
	r.startSMTP(addr)
	runOnce(t, w) // the clock has not moved: no backoff stands between
	if s, n := r.states(), len(r.catcher.Messages()); s["sent"] != 3 || n != 3 {
		t.Fatalf("once SMTP is back: %v, %d arrived", s, n)
	}
}

// A worker whose context has ended hands back a batch it has not begun.
func TestStoppedWorkerClaimsNothing(t *testing.T) {
	r := newRig(t)
	r.request("globex")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := r.worker().RunOnce(ctx); n != 0 || err != nil {
		t.Fatalf("a stopped worker claimed %d (%v)", n, err)
	}
	claimed, err := r.store.ClaimEmails(context.Background(), 0, r.clock.Now(), 10, time.Minute)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("the emails were not left for others: %d, %v", len(claimed), err)
	}
}

// cutAfterSend is the real sender, after which the database goes away for a
// moment: the emails are out, and their outcome waits to be recorded.
type cutAfterSend struct {
	mail.Sender
	cable *pgtest.Proxy
}

func (s cutAfterSend) Send(ctx context.Context, msgs []*gomail.Msg) []error {
	res := s.Sender.Send(ctx, msgs)
	s.cable.Cut()
	time.AfterFunc(time.Second, s.cable.Restore)
	return res
}

// An outcome the database could not take at once is recorded when it is
// back, not left for the lease to resend.
func TestOutcomeRecordedWhenTheDatabaseReturns(t *testing.T) {
	r := newRig(t)
	r.request("globex")
	cable, viaCable := pgtest.NewProxy(t, r.db.URL)
	pool, err := postgres.Open(context.Background(), viaCable)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	w := r.worker()
	w.Queue = postgres.NewStore(pool)
	w.Sender = cutAfterSend{Sender: w.Sender, cable: cable}
	if n, err := w.RunOnce(context.Background()); n != 3 || err != nil {
		t.Fatalf("RunOnce: %d, %v", n, err)
	}
	if s, n := r.states(), len(r.catcher.Messages()); s["sent"] != 3 || n != 3 {
		t.Fatalf("after the database came back: %v, %d arrived", s, n)
	}
}
