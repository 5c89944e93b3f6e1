// Package metrics is what the ops listener's /metrics tells Prometheus:
// the portal's requests, its outbox, its deliveries and decisions, sign-in
// failures, the database pool and the build. Every label takes values from
// a bounded set (route patterns, never paths or ids; codes the portal
// defines), so no visitor can grow the series.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/clc-portal/clc/internal/account"
)

// Metrics holds the portal's instruments over the registry given to New.
// A nil *Metrics records nothing, for tests and tools that serve no ops.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	deliver   *prometheus.CounterVec
	decisions *prometheus.CounterVec
	failures  *prometheus.CounterVec
	blocks    *prometheus.CounterVec
}

// OutboxStats reads the outbox's depth by kind, at scrape time.
type OutboxStats func(ctx context.Context) ([]account.OutboxDepth, error)

// Sources are what the collectors read when scraped; nil ones are left out.
type Sources struct {
	Outbox OutboxStats
	Pool   *pgxpool.Pool
	// ScrapeTimeout bounds the outbox's query: a slow database must not
	// hold a scrape past Prometheus's own timeout.
	ScrapeTimeout time.Duration
	Log           *slog.Logger
}

// New registers the portal's instruments and collectors on reg.
func New(reg *prometheus.Registry, src Sources) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "clc_http_request_duration_seconds",
			Help:    "Time to answer a request, by route pattern, method and status.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "clc_http_requests_in_flight", Help: "Requests being answered now.",
		}),
		deliver: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clc_email_deliveries_total", Help: "Email delivery attempts by outcome: sent, retried, failed, unreachable.",
		}, []string{"outcome"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clc_decisions_total", Help: "Decisions made through the portal, by kind.",
		}, []string{"kind"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clc_sign_in_failures_total", Help: "Refused sign-ins by step: password or code.",
		}, []string{"step"}),
		blocks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clc_sign_in_blocks_total", Help: "Sign-ins turned away by the throttle, by step.",
		}, []string{"step"}),
	}
	reg.MustRegister(m.requests, m.inFlight, m.deliver, m.decisions, m.failures, m.blocks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector())
	if src.Outbox != nil {
		timeout := src.ScrapeTimeout
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		log := src.Log
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		reg.MustRegister(&outboxCollector{stats: src.Outbox, timeout: timeout, log: log})
	}
	if src.Pool != nil {
		reg.MustRegister(&poolCollector{pool: src.Pool})
	}
	return m
}

// Handler serves the registry in Prometheus's text format. A collector
// that fails leaves its series out and the rest are served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Request records one answered request; route is its pattern ("" when none
// matched, recorded as "unmatched").
func (m *Metrics) Request(route, method string, status int, took time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		method = "other"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Observe(took.Seconds())
}

// InFlight counts a request as being answered until done is called.
func (m *Metrics) InFlight() (done func()) {
	if m == nil {
		return func() {}
	}
	m.inFlight.Inc()
	return m.inFlight.Dec
}

// Delivery records an email delivery's outcome.
func (m *Metrics) Delivery(outcome string) {
	if m != nil {
		m.deliver.WithLabelValues(outcome).Inc()
	}
}

// Decision records a decision of kind (an event kind: approved, denied…).
func (m *Metrics) Decision(kind string) {
	if m != nil {
		m.decisions.WithLabelValues(kind).Inc()
	}
}

// SignInFailed and SignInBlocked record a refused sign-in at step.
func (m *Metrics) SignInFailed(step string) {
	if m != nil {
		m.failures.WithLabelValues(step).Inc()
	}
}

func (m *Metrics) SignInBlocked(step string) {
	if m != nil {
		m.blocks.WithLabelValues(step).Inc()
	}
}

var (
	outboxDepthDesc = prometheus.NewDesc("clc_outbox_emails", "Emails waiting in the outbox (pending or being sent), by kind.", []string{"kind"}, nil)
	outboxDueDesc   = prometheus.NewDesc("clc_outbox_oldest_due_seconds",
		"How long the oldest email that is due has waited past its time, by kind; 0 when none is due.", []string{"kind"}, nil)
	outboxUpDesc = prometheus.NewDesc("clc_outbox_scrape_success", "Whether the outbox could be read at this scrape.", nil, nil)
)

// outboxCollector reads the outbox when scraped, within a timeout.
type outboxCollector struct {
	stats   OutboxStats
	timeout time.Duration
	log     *slog.Logger
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- outboxDueDesc
	ch <- outboxUpDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	depth, err := c.stats(ctx)
	if err != nil {
		c.log.Warn("metrics: read the outbox", "err", err)
		ch <- prometheus.MustNewConstMetric(outboxUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxUpDesc, prometheus.GaugeValue, 1)
	for _, d := range depth {
		ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(d.Waiting), string(d.Kind))
		ch <- prometheus.MustNewConstMetric(outboxDueDesc, prometheus.GaugeValue, d.OldestDue.Seconds(), string(d.Kind))
	}
}

// poolCollector is pgxpool's own statistics, read when scraped.
type poolCollector struct{ pool *pgxpool.Pool }

var poolDescs = map[string]*prometheus.Desc{
	"acquired":        prometheus.NewDesc("clc_db_pool_acquired_conns", "Connections in use.", nil, nil),
	"idle":            prometheus.NewDesc("clc_db_pool_idle_conns", "Idle connections.", nil, nil),
	"total":           prometheus.NewDesc("clc_db_pool_total_conns", "Open connections.", nil, nil),
	"max":             prometheus.NewDesc("clc_db_pool_max_conns", "The pool's size.", nil, nil),
	"acquires":        prometheus.NewDesc("clc_db_pool_acquires_total", "Connections acquired.", nil, nil),
	"empty_acquires":  prometheus.NewDesc("clc_db_pool_empty_acquires_total", "Acquisitions that waited for a connection.", nil, nil),
	"canceled":        prometheus.NewDesc("clc_db_pool_canceled_acquires_total", "Acquisitions canceled while waiting.", nil, nil),
	"acquire_seconds": prometheus.NewDesc("clc_db_pool_acquire_seconds_total", "Time spent acquiring connections.", nil, nil),
	"new":             prometheus.NewDesc("clc_db_pool_new_conns_total", "Connections opened.", nil, nil),
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range poolDescs {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(name string, v float64) {
		ch <- prometheus.MustNewConstMetric(poolDescs[name], prometheus.GaugeValue, v)
	}
	counter := func(name string, v float64) {
		ch <- prometheus.MustNewConstMetric(poolDescs[name], prometheus.CounterValue, v)
	}
	gauge("acquired", float64(s.AcquiredConns()))
	gauge("idle", float64(s.IdleConns()))
	gauge("total", float64(s.TotalConns()))
	gauge("max", float64(s.MaxConns()))
	counter("acquires", float64(s.AcquireCount()))
	counter("empty_acquires", float64(s.EmptyAcquireCount()))
	counter("canceled", float64(s.CanceledAcquireCount()))
	counter("acquire_seconds", s.AcquireDuration().Seconds())
	counter("new", float64(s.NewConnsCount()))
}
