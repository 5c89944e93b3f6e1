package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/config"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/metrics"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/server"
	"github.com/clc-portal/clc/internal/sso"
	"github.com/clc-portal/clc/internal/webhook"
)

var errDraining = errors.New("shutting down")

// serve refuses a database whose schema is behind, naming `clc migrate`:
// migrating is an operator's deliberate step, not a side effect of a start.
func (c *cli) serve(ctx context.Context, args []string) error {
	if err := parse(c.flags("serve"), args); err != nil {
		return err
	}
	cfg, err := config.Load(c.getenv, config.Need{Web: true, SMTP: true})
	if err != nil {
		return err
	}
	log := c.logger()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	// Port 0 picks a free port: links in emails must name the one picked.
	if cfg.BaseURL.Port() == "0" {
		cfg.BaseURL.Host = ln.Addr().String()
	}
	log.Info("starting", "addr", cfg.Addr, "base_url", cfg.BaseURL.String(), "smtp", cfg.SMTP.String(), "mail_from", cfg.MailFrom, "oidc", cfg.OIDC.String())

	pool, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.CheckSchema(ctx, pool); err != nil {
		return err
	}
	if err := postgres.CheckSettings(ctx, pool); err != nil {
		log.Warn("database settings", "err", err)
	}
	accountStore := postgres.NewStore(pool)
	var writes server.ReadYourWrites
	if cfg.ReplicaURL != "" {
		replica, err := postgres.OpenReplica(ctx, cfg.ReplicaURL, pool, log.With("component", "replica"))
		if err != nil {
			return err
		}
		defer replica.Close()
		accountStore, writes = accountStore.WithReplica(replica), replica
	}
	catalog, err := i18n.Load(log)
	if err != nil {
		return err
	}
	sessions := server.NewSessions(postgres.NewSessionStore(pool, server.SessionUser), cfg.BaseURL, cfg.SessionLifetime)

	svc := account.NewService(accountStore, account.SystemClock{}, account.NewArgon2id())
	svc.SetUserEmailsPerDay(cfg.UserEmailsPerDay)
	deviceSecret := cfg.DeviceKey
	if deviceSecret == nil {
		if deviceSecret, err = postgres.NewStore(pool).ServerSecret(ctx, "device_cookie", account.DeviceKeyLength); err != nil {
			return err
		}
	}
	svc.SetDeviceKey(account.NewDeviceKey(deviceSecret))
	svc.SetWebhookTargets(webhook.Targets{AllowPrivate: cfg.WebhookAllowPrivate}, cfg.WebhookAllowPrivate)
	if cfg.WebhookAllowPrivate {
		log.Warn("CLC_WEBHOOK_ALLOW_PRIVATE is set: users may register webhooks over plain http and to loopback, private and link-local addresses")
	}
	var draining atomic.Bool
	// The metrics' own registry, not the process-wide default: what the ops
	// listener serves is exactly what was registered here.
	store := postgres.NewStore(pool)
	meters := metrics.New(prometheus.NewRegistry(), metrics.Sources{
		Outbox: func(ctx context.Context) ([]account.OutboxDepth, error) { return store.OutboxDepth(ctx, time.Now()) },
		Pool:   pool, ScrapeTimeout: 5 * time.Second, Log: log.With("component", "metrics"),
	})
	srv := server.New(server.Deps{
		Log:         log,
		Requests:    svc.AccountRequests,
		Listings:    svc.Listings,
		Access:      svc.AccessManagement,
		SignIn:      svc.SignIn,
		Tokens:      svc.Tokens,
		Webhooks:    svc.Webhooks,
		Events:      svc.EventLog,
		Accounts:    svc,
		Sessions:    sessions,
		Catalog:     catalog,
		BaseURL:     cfg.BaseURL,
		SessionIdle: cfg.SessionIdle,
		Ready: func(ctx context.Context) error {
			if draining.Load() {
				return errDraining
			}
			return pool.Ping(ctx)
		},
		// The client's address, for throttling sign-in.
		TrustedProxies: cfg.TrustedProxies,
		// Set only with a replica: nil means every read is the primary's.
		ReadYourWrites: writes,
		SSO:            newSSO(cfg),
		// A request beyond the pool's connections would only wait for one.
		Admission: server.Admission{InFlight: cmp.Or(cfg.MaxInFlight, int(pool.Config().MaxConns)), Wait: cfg.AdmissionWait},
		Metrics:   meters,
	})

	worker, release, err := newWorker(ctx, cfg, pool, catalog, log)
	if err != nil {
		return err
	}
	worker.mail.Delivered = meters.Delivery
	defer release() // after the worker stops (the defer below runs first)
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	workerDone := make(chan error, 1)
	go func() { workerDone <- runBackground(workerCtx, worker, newJobs(pool, cfg, log)) }()
	// The worker stops after the last request is served, so email queued by
	// a request in flight during shutdown is still picked up next start.
	defer func() {
		stopWorker()
		if err := <-workerDone; err != nil {
			log.Error("worker stopped with an error", "err", err)
		}
	}()

	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
	}
	errc := make(chan error, 2)
	go func() { errc <- httpServer.Serve(ln) }()
	log.Info("serving", "url", "http://"+ln.Addr().String())
	fmt.Fprintf(c.stdout, "CLC Portal serving on http://%s\n", ln.Addr())
	opsServer, err := c.serveOps(cfg, log, meters.Handler(), errc)
	if err != nil {
		return err
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if cfg.ShutdownDrain > 0 {
		// Still serving, but no longer ready: the load balancer's cue.
		log.Info("draining", "for", cfg.ShutdownDrain.String())
		draining.Store(true)
		time.Sleep(cfg.ShutdownDrain)
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	if opsServer != nil {
		// A profile being taken runs for as long as it was asked to: past
		// the deadline it is cut short, which costs nothing but the profile.
		if err := opsServer.Shutdown(shutdownCtx); err != nil {
			log.Warn("ops listener closed before its requests finished", "err", err)
			_ = opsServer.Close()
		}
	}
	return nil
}

// serveOps starts the operators' listener when CLC_OPS_ADDR is set, and
// reports its failure on errc like the portal's.
func (c *cli) serveOps(cfg config.Config, log *slog.Logger, metrics http.Handler, errc chan<- error) (*http.Server, error) {
	if cfg.OpsAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.OpsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on CLC_OPS_ADDR %s: %w", cfg.OpsAddr, err)
	}
	if !cfg.OpsOnLoopback() {
		log.Warn("CLC_OPS_ADDR is not a loopback address: profiles of this process are served, without sign-in, to whoever reaches it", "ops_addr", cfg.OpsAddr)
	}
	ops := &http.Server{
		Handler:           server.Ops(log.With("component", "ops"), metrics),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		// No write timeout: a CPU profile or trace answers after the
		// seconds it was asked to record.
	}
	go func() {
		if err := ops.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("ops: %w", err)
		}
	}()
	log.Info("serving ops", "url", "http://"+ln.Addr().String())
	fmt.Fprintf(c.stdout, "CLC Portal ops on http://%s\n", ln.Addr())
	return ops, nil
}

// newSSO is the OpenID provider cfg names, or nil for none.
func newSSO(cfg config.Config) *sso.Provider {
	if cfg.OIDC.Issuer == "" {
		return nil
	}
	return sso.New(sso.Config{
		Issuer:        cfg.OIDC.Issuer,
		ClientID:      cfg.OIDC.ClientID,
		ClientSecret:  cfg.OIDC.ClientSecret,
		Name:          cfg.OIDC.Name,
		RedirectURL:   cfg.BaseURL.JoinPath(paths.LoginSSOCallback).String(),
		PostLogoutURL: cfg.BaseURL.JoinPath(paths.Home).String(),
		Now:           account.SystemClock{}.Now,
	})
}
