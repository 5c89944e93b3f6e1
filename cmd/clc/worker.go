package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/config"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/jobs"
	"github.com/clc-portal/clc/internal/mail"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/webhook"
)

// workers are the outbox's workers: email and webhooks, under one lock.
type workers struct {
	mail  *mail.Worker
	hooks *webhook.Worker
}

// newWorker wires the outbox workers over pool, with their lock taken;
// release frees the lock, once the workers have stopped.
func newWorker(ctx context.Context, cfg config.Config, pool *pgxpool.Pool, catalog *i18n.Catalog, log *slog.Logger) (w workers, release func(), err error) {
	renderer, err := mail.NewRenderer(cfg.BaseURL, cfg.MailFrom, catalog)
	if err != nil {
		return workers{}, nil, err
	}
	lockURL := cfg.LockDatabaseURL
	if lockURL == "" {
		lockURL = cfg.DatabaseURL
	}
	log = log.With("component", "mail")
	lock, err := postgres.NewWorkerLock(lockURL, pool, log)
	if err != nil {
		return workers{}, nil, err
	}
	// Taken now, so that a lock that cannot be taken stops the start with
	// its reason, and the id is in the log before the first claim.
	if _, err := lock.ID(ctx); err != nil {
		return workers{}, nil, err
	}
	hooks := &webhook.Worker{
		Queue:   postgres.NewStore(pool),
		Poster:  webhook.NewSender(cfg.WebhookAllowPrivate, webhook.Timeout),
		Clock:   account.SystemClock{},
		Log:     log.With("component", "webhooks"),
		Backoff: webhook.Backoff{Base: cfg.WebhookRetryBase, Max: time.Hour},
		// The same lock as the mail worker's: it is the process's life.
		Lock: lock,
		// A batch is posted at once, each post within webhook.Timeout: the
		// lease outlasts it many times over.
		Lease: 2 * time.Minute,
		Poll:  time.Second,
		Batch: 20,
	}
	return workers{mail: &mail.Worker{
		Queue:     postgres.NewStore(pool),
		Sender:    mail.NewSMTPSender(cfg.SMTP),
		Renderer:  renderer,
		Clock:     account.SystemClock{},
		Lock:      lock,
		Log:       log,
		Backoff:   mail.DefaultBackoff,
		Reconnect: mail.DefaultReconnect,
		Poll:      time.Second,
		// A claim and the record of its deliveries are one statement each
		// however large the batch: 100 spends a third less of PostgreSQL's
		// time an email than 20 did; sending 100 takes well under a second
		// of the lease.
		Batch: 100,
		Lease: cfg.MailLease,
	}, hooks: hooks}, lock.Close, nil
}

// newJobs wires the periodic jobs over pool.
func newJobs(pool *pgxpool.Pool, cfg config.Config, log *slog.Logger) *jobs.Runner {
	svc := account.NewService(postgres.NewStore(pool), account.SystemClock{}, account.NewArgon2id())
	svc.SetReminderDays(cfg.ReminderDays)
	return &jobs.Runner{Jobs: append(jobs.Requests(svc), jobs.Housekeeping(svc)...), Every: time.Minute, Log: log.With("component", "jobs")}
}

// runBackground runs the workers and the jobs until ctx ends.
func runBackground(ctx context.Context, w workers, j *jobs.Runner) error {
	done, hooks := make(chan error, 1), make(chan error, 1)
	go func() { done <- j.Run(ctx) }()
	go func() { hooks <- w.hooks.Run(ctx) }()
	err := w.mail.Run(ctx)
	return errors.Join(err, <-hooks, <-done)
}

// worker delivers email and runs the periodic jobs without serving pages;
// run several for more throughput, or beside `clc serve`, which runs its own.
func (c *cli) worker(ctx context.Context, args []string) error {
	if err := parse(c.flags("worker"), args); err != nil {
		return err
	}
	cfg, err := config.Load(c.getenv, config.Need{Web: true, SMTP: true})
	if err != nil {
		return err
	}
	log := c.logger()
	pool, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	catalog, err := i18n.Load(log)
	if err != nil {
		return err
	}
	w, release, err := newWorker(ctx, cfg, pool, catalog, log)
	if err != nil {
		return err
	}
	defer release()
	log.Info("worker started", "smtp", cfg.SMTP.String())
	return runBackground(ctx, w, newJobs(pool, cfg, log))
}
