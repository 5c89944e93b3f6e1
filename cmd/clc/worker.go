package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/config"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/mail"
	"github.com/clc-portal/clc/internal/postgres"
)

// newWorker wires the outbox worker over pool.
func newWorker(cfg config.Config, pool *pgxpool.Pool, catalog *i18n.Catalog, log *slog.Logger) (*mail.Worker, error) {
	renderer, err := mail.NewRenderer(cfg.BaseURL, cfg.MailFrom, catalog)
	if err != nil {
		return nil, err
	}
	return &mail.Worker{
		Queue:    postgres.NewStore(pool),
		Sender:   mail.NewSMTPSender(cfg.SMTP),
		Renderer: renderer,
		Clock:    account.SystemClock{},
		Log:      log.With("component", "mail"),
		Backoff:  mail.DefaultBackoff,
		Poll:     time.Second,
		Batch:    20,
		Lease:    2 * time.Minute,
	}, nil
}

// worker delivers email without serving pages; run several for more
// throughput, or beside `clc serve`, which runs one of its own.
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
	w, err := newWorker(cfg, pool, catalog, log)
	if err != nil {
		return err
	}
	log.Info("worker started", "smtp", cfg.SMTP.String())
	return w.Run(ctx)
}
