package webhook

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/clc-portal/clc/internal/account"
)

// Queue is the deliveries as the worker sees them (postgres.Store). Each
// outcome names the claim it records, and is refused with
// account.ErrClaimLost once another worker claimed the delivery since.
type Queue interface {
	ClaimWebhooks(ctx context.Context, worker int64, now time.Time, limit int, lease time.Duration) ([]account.QueuedWebhook, error)
	// RecordWebhookAttempt records the attempt and the outcome: delivered,
	// due again at next, or failed for good when next is zero.
	RecordWebhookAttempt(ctx context.Context, c account.WebhookClaim, a account.WebhookAttempt, delivered bool, next time.Time) error
	ReleaseWebhooks(ctx context.Context, claims []account.WebhookClaim) error
}

// Lock is the worker's proof of life, as for the mail worker
// (postgres.WorkerLock): claims made under its id come free the moment the
// process dies.
type Lock interface {
	ID(ctx context.Context) (int64, error)
}

// Poster posts one delivery (Sender).
type Poster interface {
	Post(ctx context.Context, q account.QueuedWebhook, now time.Time) account.WebhookAttempt
}

// Backoff spaces the retries of a delivery: Base doubling per attempt up to
// Max, with ±20% jitter.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// DefaultBackoff retries within a minute, then ever more rarely, at most
// hourly, until the delivery's day is up.
var DefaultBackoff = Backoff{Base: 30 * time.Second, Max: time.Hour}

// Delay is the wait after the given attempt failed.
func (b Backoff) Delay(attempt int) time.Duration {
	d := float64(b.Base) * math.Pow(2, float64(attempt-1))
	if d > float64(b.Max) || math.IsInf(d, 0) {
		d = float64(b.Max)
	}
	return time.Duration(d * (0.8 + 0.4*rand.Float64()))
}

// Worker delivers the webhooks.
type Worker struct {
	Queue   Queue
	Poster  Poster
	Clock   account.Clock
	Log     *slog.Logger
	Backoff Backoff
	// Lock names the worker in its claims; nil claims without a name and
	// the lease alone hands back what a dead worker held.
	Lock Lock
	// Lease must outlast a batch: its deliveries are posted at once, each
	// within Timeout.
	Lease time.Duration
	Poll  time.Duration
	// Batch is how many deliveries one claim takes, all posted at once.
	Batch int
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	for {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("deliver webhooks", "err", err)
		}
		if n == w.Batch && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(w.Poll):
		}
	}
}

// RunOnce claims one batch of due deliveries and posts them, returning how
// many it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, nil //nolint:nilerr // stopping is not a failure
	}
	// A claim made is seen through: its outcome recorded, or handed back.
	record := context.WithoutCancel(ctx)
	var worker int64
	if w.Lock != nil {
		id, err := w.Lock.ID(record)
		if err != nil {
			return 0, err
		}
		worker = id
	}
	batch, err := w.Queue.ClaimWebhooks(record, worker, w.Clock.Now(), w.Batch, w.Lease)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	if ctx.Err() != nil {
		claims := make([]account.WebhookClaim, len(batch))
		for i, q := range batch {
			claims[i] = q.Claim()
		}
		return len(batch), w.Queue.ReleaseWebhooks(record, claims)
	}
	// Each endpoint's deliveries go one after another, in the order their
	// events happened; the endpoints at once. An endpoint that failed, or
	// has taken Timeout already, gets no more of this batch: the rest are
	// handed back uncharged, so one slow endpoint holds the batch about
	// 2×Timeout at most, and its later events do not overtake the one that
	// failed within the batch.
	var order []int64
	byEndpoint := map[int64][]account.QueuedWebhook{}
	for _, q := range batch {
		if _, ok := byEndpoint[q.EndpointID]; !ok {
			order = append(order, q.EndpointID)
		}
		byEndpoint[q.EndpointID] = append(byEndpoint[q.EndpointID], q)
	}
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for i, id := range order {
		wg.Go(func() { errs[i] = w.deliverInOrder(record, byEndpoint[id]) })
	}
	wg.Wait()
	return len(batch), errors.Join(errs...)
}

// deliverInOrder posts one endpoint's deliveries one after another.
func (w *Worker) deliverInOrder(ctx context.Context, qs []account.QueuedWebhook) error {
	start := time.Now()
	var errs []error
	var untried []account.WebhookClaim
	stop := false
	for _, q := range qs {
		if stop || time.Since(start) >= Timeout {
			untried = append(untried, q.Claim())
			continue
		}
		delivered, err := w.deliver(ctx, q)
		errs = append(errs, err)
		stop = !delivered
	}
	if len(untried) > 0 {
		errs = append(errs, w.Queue.ReleaseWebhooks(ctx, untried))
	}
	return errors.Join(errs...)
}

// deliver posts one delivery and records what came of it.
func (w *Worker) deliver(ctx context.Context, q account.QueuedWebhook) (delivered bool, err error) {
	a := w.Poster.Post(ctx, q, w.Clock.Now())
	delivered = Delivered(a)
	var next time.Time
	switch {
	case delivered:
		w.Log.Info("webhook delivered", "delivery_id", q.ID, "webhook_id", q.WebhookID, "type", q.EventType, "attempt", q.Attempts, "status", a.StatusCode)
	default:
		next = w.Clock.Now().Add(w.Backoff.Delay(q.Failures + 1))
		if next.After(q.GiveUpAt) {
			next = time.Time{}
			w.Log.Warn("webhook failed", "delivery_id", q.ID, "webhook_id", q.WebhookID, "attempt", q.Attempts, "status", a.StatusCode, "err", a.Error)
		} else {
			w.Log.Info("webhook will be retried", "delivery_id", q.ID, "webhook_id", q.WebhookID, "attempt", q.Attempts, "status", a.StatusCode, "err", a.Error, "next", next)
		}
	}
	// The endpoint has been tried: its outcome is recorded even while the
	// database is away for a moment, or it is posted again after the lease.
	for wait := 100 * time.Millisecond; wait < 5*time.Second; wait *= 2 {
		err = w.Queue.RecordWebhookAttempt(ctx, q.Claim(), a, delivered, next)
		if err == nil || errors.Is(err, account.ErrClaimLost) {
			break
		}
		time.Sleep(wait)
	}
	if errors.Is(err, account.ErrClaimLost) {
		w.Log.Warn("webhook delivery claimed by another worker; outcome not recorded", "delivery_id", q.ID, "attempt", q.Attempts)
		return delivered, nil
	}
	return delivered, err
}
