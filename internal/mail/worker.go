package mail

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/clc-portal/clc/internal/account"
)

// Queue is the outbox as the worker sees it. Each outcome names the claim
// (the attempt) it records, and is refused with account.ErrClaimLost when the
// email has since been claimed again; the batch methods report that per
// email, in lost, and record the others.
type Queue interface {
	// ClaimEmails claims for worker, the id from the worker's Lock.
	ClaimEmails(ctx context.Context, worker int64, now time.Time, limit int, lease time.Duration) ([]account.QueuedEmail, error)
	MarkEmailsSent(ctx context.Context, claims []account.EmailClaim, now time.Time) (lost []error, err error)
	RetryEmailLater(ctx context.Context, id int64, attempt int, next time.Time, lastErr string) error
	MarkEmailFailed(ctx context.Context, id int64, attempt int, lastErr string) error
	// ReleaseEmails hands back emails claimed under the given claims without
	// counting those attempts, due again at once.
	ReleaseEmails(ctx context.Context, claims []account.EmailClaim, lastErr string) (lost []error, err error)
}

// Lock is the worker's proof of life (postgres.WorkerLock): while the
// worker lives its lock is held, and once it is free every email claimed
// under its id is due again for any worker, without waiting for the lease.
type Lock interface {
	// ID is the id to claim under now: a new one once the lock was lost,
	// zero when the worker has no lock (its claims wait for their lease).
	ID(ctx context.Context) (int64, error)
}

// Sender delivers messages, one result per message.
type Sender interface {
	Send(ctx context.Context, msgs []*gomail.Msg) []error
	Close() error
}

// Backoff spaces retries: Base doubling per attempt up to Max, with ±20%
// jitter so a burst of failures does not retry in step. After MaxAttempts an
// email fails for good.
type Backoff struct {
	Base        time.Duration
	Max         time.Duration
	MaxAttempts int
}

// DefaultBackoff retries for about a day.
var DefaultBackoff = Backoff{Base: 30 * time.Second, Max: time.Hour, MaxAttempts: 30}

// DefaultReconnect spaces the attempts to reach an SMTP server that could
// not be reached at all. It is short and bounded, unlike DefaultBackoff: the
// emails are not at fault, so none of them is charged an attempt, and once
// the server is back they all flow within seconds of its return.
var DefaultReconnect = Backoff{Base: time.Second, Max: 10 * time.Second}

// Delay is the wait after the given attempt failed.
func (b Backoff) Delay(attempt int) time.Duration {
	d := float64(b.Base) * math.Pow(2, float64(attempt-1))
	if d > float64(b.Max) || math.IsInf(d, 0) {
		d = float64(b.Max)
	}
	return time.Duration(d * (0.8 + 0.4*rand.Float64()))
}

// Worker delivers the outbox.
type Worker struct {
	Queue    Queue
	Sender   Sender
	Renderer *Renderer
	Clock    account.Clock
	Log      *slog.Logger
	Backoff  Backoff
	// Reconnect spaces the tries while the SMTP server cannot be reached
	// (Base and Max only); zero waits Poll.
	Reconnect Backoff
	// Poll is how often an idle worker looks for due email.
	Poll time.Duration
	// Batch is how many emails one claim takes.
	Batch int
	// Lock names the worker in its claims; nil claims without a name, and
	// the lease alone hands back what a dead worker held.
	Lock Lock
	// Lease is how long a claimed email stays with a worker that lives (its
	// lock held) before another may take it: the rescue of a worker that is
	// stuck. It must outlast a batch's delivery, or a slow send goes twice.
	Lease time.Duration
	// Delivered, when set, hears each delivery's outcome: sent, retried,
	// failed or unreachable (handed back untried).
	Delivered func(outcome string)

	// unreachable counts the batches in a row that found no SMTP server.
	unreachable int
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	defer w.Sender.Close()
	for {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("deliver email", "err", err)
		}
		wait := w.Poll
		switch {
		case w.unreachable > 0:
			if w.Reconnect.Base > 0 {
				wait = max(wait, w.Reconnect.Delay(w.unreachable))
			}
		case n == w.Batch && err == nil:
			continue // more may be due
		case n == 0:
			_ = w.Sender.Close() // nothing to send: release the connection
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// RunOnce claims one batch of due emails and delivers it, returning how many
// it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, nil //nolint:nilerr // stopping is not a failure
	}
	// Once begun, a claim and the records after it run to completion even if
	// shutdown begins meanwhile: a claim cut off after it committed would
	// strand its emails until the lease ran out, and an email that went out
	// must be marked sent.
	record := context.WithoutCancel(ctx)
	var worker int64
	if w.Lock != nil {
		id, err := w.Lock.ID(record)
		if err != nil {
			return 0, err
		}
		worker = id
	}
	batch, err := w.Queue.ClaimEmails(record, worker, w.Clock.Now(), w.Batch, w.Lease)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	if ctx.Err() != nil {
		// Shutting down: hand the batch back for the next worker, untried.
		return len(batch), w.release(record, batch, "")
	}
	var msgs []*gomail.Msg
	var sending []account.QueuedEmail
	for _, q := range batch {
		m, err := w.Renderer.Render(q)
		if err != nil {
			w.Log.Error("render email", "id", q.ID, "kind", q.Email.Kind, "err", err)
			if err := w.lost(q, w.Queue.MarkEmailFailed(record, q.ID, q.Attempts, "render: "+err.Error())); err != nil {
				return len(batch), err
			}
			continue
		}
		msgs = append(msgs, m)
		sending = append(sending, q)
	}
	if len(msgs) == 0 {
		return len(batch), nil
	}
	results := w.Sender.Send(ctx, msgs)
	// The common outcomes, sent and handed back, are recorded a batch in one
	// statement each, the deliveries first; the rare ones one email at a time.
	var sent, untried []account.QueuedEmail
	var unreachable error
	for i, q := range sending {
		switch err := results[i]; {
		case err == nil:
			w.Log.Info("email sent", "id", q.ID, "kind", q.Email.Kind, "to", q.Email.To, "attempt", q.Attempts)
			w.delivered("sent")
			sent = append(sent, q)
		case errors.Is(err, ErrUnreachable):
			// Nothing reached a server: the email is handed back uncharged
			// and Run waits the Reconnect backoff, however long the outage.
			unreachable = err
			w.delivered("unreachable")
			untried = append(untried, q)
		}
	}
	if err := w.untilStored(ctx, func(ctx context.Context) error { return w.markSent(ctx, sent) }); err != nil {
		return len(batch), err
	}
	if unreachable != nil {
		if err := w.untilStored(ctx, func(ctx context.Context) error { return w.release(ctx, untried, unreachable.Error()) }); err != nil {
			return len(batch), err
		}
	}
	for i, q := range sending {
		if results[i] == nil || errors.Is(results[i], ErrUnreachable) {
			continue // recorded above
		}
		if err := w.untilStored(ctx, func(ctx context.Context) error { return w.lost(q, w.failed(ctx, q, results[i])) }); err != nil {
			return len(batch), err
		}
	}
	switch {
	case unreachable == nil:
		if w.unreachable > 0 {
			w.Log.Info("SMTP server reachable again", "after_tries", w.unreachable)
		}
		w.unreachable = 0
	case w.unreachable == 0:
		w.Log.Warn("SMTP server unreachable; emails wait for it", "err", unreachable)
		fallthrough
	default:
		w.unreachable++
	}
	return len(batch), nil
}

// release hands claimed emails back untried.
func (w *Worker) release(ctx context.Context, batch []account.QueuedEmail, why string) error {
	if len(batch) == 0 {
		return nil
	}
	lost, err := w.Queue.ReleaseEmails(ctx, claims(batch), why)
	return w.lostEach(batch, lost, err)
}

func (w *Worker) markSent(ctx context.Context, sent []account.QueuedEmail) error {
	if len(sent) == 0 {
		return nil
	}
	lost, err := w.Queue.MarkEmailsSent(ctx, claims(sent), w.Clock.Now())
	return w.lostEach(sent, lost, err)
}

func claims(batch []account.QueuedEmail) []account.EmailClaim {
	out := make([]account.EmailClaim, len(batch))
	for i, q := range batch {
		out[i] = q.Claim()
	}
	return out
}

// untilStored records an outcome, trying again while the database is away:
// the emails have gone out (or been tried), and an outcome left unrecorded
// has them sent again once another worker claims them (at once if this
// one's lock is lost, else when the lease runs out). It gives up when the
// lease is half gone or the worker is stopping; the lease then hands the
// emails back, and a resend carries the same Message-ID.
func (w *Worker) untilStored(ctx context.Context, store func(context.Context) error) error {
	giveUp := time.Now().Add(w.Lease / 2)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		// A lost claim is final, and not an error: store reports it.
		err := store(context.WithoutCancel(ctx))
		if err == nil || time.Now().Add(wait).After(giveUp) {
			return err
		}
		w.Log.Warn("record email outcome; trying again", "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// failed records a send that reached a server and did not deliver.
func (w *Worker) failed(ctx context.Context, q account.QueuedEmail, sendErr error) error {
	now := w.Clock.Now()
	switch {
	case Permanent(sendErr) || q.Attempts >= w.Backoff.MaxAttempts:
		w.Log.Error("email failed", "id", q.ID, "kind", q.Email.Kind, "to", q.Email.To, "attempt", q.Attempts, "err", sendErr)
		w.delivered("failed")
		return w.Queue.MarkEmailFailed(ctx, q.ID, q.Attempts, sendErr.Error())
	case !Refused(sendErr):
		// The connection broke mid-send: try again on a new one soon; if the
		// server is gone, that try finds it unreachable.
		next := now.Add(w.Reconnect.Base)
		w.delivered("retried")
		w.Log.Warn("email will be retried", "id", q.ID, "kind", q.Email.Kind, "attempt", q.Attempts, "next", next, "err", sendErr)
		return w.Queue.RetryEmailLater(ctx, q.ID, q.Attempts, next, sendErr.Error())
	default:
		next := now.Add(w.Backoff.Delay(q.Attempts))
		w.delivered("retried")
		w.Log.Warn("email will be retried", "id", q.ID, "kind", q.Email.Kind, "attempt", q.Attempts, "next", next, "err", sendErr)
		return w.Queue.RetryEmailLater(ctx, q.ID, q.Attempts, next, sendErr.Error())
	}
}

// lostEach is lost for each email of a batch recorded in one statement.
func (w *Worker) lostEach(batch []account.QueuedEmail, lost []error, err error) error {
	if err != nil {
		return err
	}
	errs := make([]error, len(batch))
	for i, q := range batch {
		errs[i] = w.lost(q, lost[i])
	}
	return errors.Join(errs...)
}

// lost lets a batch go on past an email another worker took over: its
// outcome is that worker's to record.
func (w *Worker) lost(q account.QueuedEmail, err error) error {
	if errors.Is(err, account.ErrClaimLost) {
		w.Log.Warn("email claimed by another worker; outcome not recorded", "id", q.ID, "kind", q.Email.Kind, "attempt", q.Attempts)
		return nil
	}
	return err
}

func (w *Worker) delivered(outcome string) {
	if w.Delivered != nil {
		w.Delivered(outcome)
	}
}
