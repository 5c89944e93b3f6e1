package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/metrics"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// The outbox's depth and the age of its oldest due email, by kind, are
// read from the real outbox when scraped; a database that does not answer
// within the timeout says so in clc_outbox_scrape_success, and the rest is
// still served.
func TestOutboxSeriesReadTheOutboxWhenScraped(t *testing.T) {
	db := pgtest.New(t)
	store := postgres.NewStore(db.Pool)
	now := time.Now()
	db.Exec(t, `INSERT INTO outbox (message_id, kind, to_address, data, next_attempt_at, created_at, state) VALUES
		('<a@x>', 'approval_request', 'a@x.example', '{}', $1::timestamptz - interval '7 minutes', $1, 'pending'),
		('<b@x>', 'approval_request', 'b@x.example', '{}', $1::timestamptz + interval '1 hour', $1, 'pending'),
		('<c@x>', 'request_denied', 'c@x.example', '{}', $1::timestamptz + interval '1 hour', $1, 'pending'),
		('<d@x>', 'request_denied', 'd@x.example', '{}', $1, $1, 'sent')`, now)
	slow := false
	m := metrics.New(prometheus.NewRegistry(), metrics.Sources{
		Outbox: func(ctx context.Context) ([]account.OutboxDepth, error) {
			if slow {
				_, err := db.Pool.Exec(ctx, `SELECT pg_sleep(2)`)
				return nil, err
			}
			return store.OutboxDepth(ctx, time.Now())
		},
		Pool: db.Pool, ScrapeTimeout: 200 * time.Millisecond,
	})
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	get := func() map[string]float64 {
		t.Helper()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for name, f := range fams {
			for _, s := range f.GetMetric() {
				key := name
				for _, l := range s.GetLabel() {
					key += "," + l.GetName() + "=" + l.GetValue()
				}
				out[key] = s.GetGauge().GetValue()
			}
		}
		return out
	}
	got := get()
	if got["clc_outbox_emails,kind=approval_request"] != 2 || got["clc_outbox_emails,kind=request_denied"] != 1 {
		t.Errorf("depth: %v", got)
	}
	if age := got["clc_outbox_oldest_due_seconds,kind=approval_request"]; age < 7*60 || age > 8*60 {
		t.Errorf("the oldest due approval request waited %vs, want 7 minutes", age)
	}
	if age := got["clc_outbox_oldest_due_seconds,kind=request_denied"]; age != 0 {
		t.Errorf("nothing denied is due, yet the oldest waited %vs", age)
	}
	slow = true
	start := time.Now()
	got = get()
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("a slow database held the scrape %v", took)
	}
	if got["clc_outbox_scrape_success"] != 0 || got["clc_db_pool_max_conns"] == 0 {
		t.Errorf("a slow outbox: %v", got)
	}
	for k := range got {
		if strings.HasPrefix(k, "clc_outbox_emails") {
			t.Errorf("a failed read served %s", k)
		}
	}
}
