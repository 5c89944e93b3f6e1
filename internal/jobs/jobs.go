// Package jobs runs the portal's periodic work beside the mail worker:
// expiring the requests nobody decided on, reminding their approvers,
// telling partners nobody opened their request, flagging it for operators and
// forgetting old sign-in failures, expired sessions and settled webhook
// deliveries past their retention.
// Every job is safe to run from several processes at once, so each `clc
// serve` and `clc worker` runs one Runner.
package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/clc-portal/clc/internal/account"
)

// Job is one kind of periodic work; Run returns how many things it did.
type Job struct {
	Name string
	Run  func(ctx context.Context) (int, error)
}

// Requests are the jobs of account requests: expiry first, so a request
// past its expiry is never reminded.
func Requests(svc *account.Service) []Job {
	return []Job{
		{Name: "expire requests", Run: svc.ExpireRequests},
		{Name: "remind approvers", Run: svc.RemindApprovers},
		{Name: "tell partners nobody opened", Run: svc.NotifyNotOpened},
		{Name: "flag requests with no response", Run: svc.FlagNoResponse},
	}
}

// Housekeeping forgets what no rule needs any more.
func Housekeeping(svc *account.Service) []Job {
	return []Job{
		{Name: "prune sign-in throttle", Run: svc.PruneLoginThrottle},
		{Name: "prune sessions", Run: svc.PruneSessions},
		{Name: "prune webhook deliveries", Run: svc.PruneWebhookDeliveries},
	}
}

// Runner runs its jobs every Every until its context ends.
type Runner struct {
	Jobs  []Job
	Every time.Duration
	Log   *slog.Logger
}

// Run runs the jobs at once, then every r.Every, until ctx ends. A job that
// fails is logged and tried again next time.
func (r *Runner) Run(ctx context.Context) error {
	for {
		if err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
			r.Log.Error("run jobs", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(r.Every):
		}
	}
}

// RunOnce runs each job once; one failing does not stop the others.
func (r *Runner) RunOnce(ctx context.Context) error {
	var errs []error
	for _, j := range r.Jobs {
		n, err := j.Run(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		if n > 0 {
			r.Log.Info("job done", "job", j.Name, "count", n)
		}
	}
	return errors.Join(errs...)
}
