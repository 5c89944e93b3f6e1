package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/clc-portal/clc/internal/demo"
)

// scrape reads the ops listener's /metrics with Prometheus's own parser.
func scrape(t *testing.T, ops string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return fams
}

// value is the sample of family name whose labels include want: a counter's
// or gauge's value, a histogram's count; 0 when there is none.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	total := 0.0
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

// TestMetricsFollowASubmission runs `clc serve` with its ops listener and
// checks, scraping it before and after, that a request submitted through
// the API and approved by the customer moves the series that say so, that
// a wrong password is counted, and that no label carries a path or an id.
func TestMetricsFollowASubmission(t *testing.T) {
	t.Parallel()
	srv := serveWithMail(t, "CLC_OPS_ADDR", "127.0.0.1:0")
	before := scrape(t, srv.ops)
	for _, name := range []string{"go_build_info", "clc_db_pool_max_conns", "clc_http_requests_in_flight", "clc_outbox_scrape_success"} {
		if before[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if value(before, "clc_outbox_scrape_success", nil) != 1 {
		t.Error("the outbox could not be read")
	}

	// A wrong password, then the partner signs in, makes a token, submits.
	if resp, _ := srv.post("/login", url.Values{"email": {demo.PartnerEmail}, "password": {"wrong"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	if resp, _ := srv.post("/login", url.Values{"email": {demo.PartnerEmail}, "password": {demo.Password}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("log in: %d", resp.StatusCode)
	}
	_, tokens := srv.post("/clc/api-tokens", url.Values{"name": {"metrics"}})
	i := strings.Index(tokens, "clc_")
	token := tokens[i : i+strings.IndexByte(tokens[i:], '"')]
	req, _ := http.NewRequest(http.MethodPost, srv.base+"/api/v1/account-requests", strings.NewReader(`{"name": "Acme Widgets",
		"domain": "acme-widgets.example", "note_to_approver": "New customer", "customer_emails": ["buyer@acme-widgets.example"]}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	link := srv.approvalLink("buyer@acme-widgets.example") // delivered by the worker
	approve, _ := http.NewRequest(http.MethodPost, link+"/approve", nil)
	approve.Header.Set("Origin", srv.base)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err = noRedirect.Do(approve); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %v %v", resp, err)
	}
	resp.Body.Close()

	after := scrape(t, srv.ops)
	for _, c := range []struct {
		name   string
		labels map[string]string
		moved  float64
	}{
		{"clc_http_request_duration_seconds", map[string]string{"route": "/api/v1/account-requests", "method": "POST", "status": "201"}, 1},
		{"clc_http_request_duration_seconds", map[string]string{"route": "/pending/{token}/approve", "method": "POST", "status": "303"}, 1},
		{"clc_http_request_duration_seconds", map[string]string{"route": "/login", "method": "POST", "status": "401"}, 1},
		{"clc_decisions_total", map[string]string{"kind": "approved"}, 1},
		{"clc_sign_in_failures_total", map[string]string{"step": "password"}, 1},
	} {
		if got := value(after, c.name, c.labels) - value(before, c.name, c.labels); got != c.moved {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.moved)
		}
	}
	// At least the approval request and the partner's confirmation went out.
	if got := value(after, "clc_email_deliveries_total", map[string]string{"outcome": "sent"}) -
		value(before, "clc_email_deliveries_total", map[string]string{"outcome": "sent"}); got < 2 {
		t.Errorf("%v emails counted sent, want at least 2", got)
	}
	if got := value(after, "clc_db_pool_acquires_total", nil); got <= value(before, "clc_db_pool_acquires_total", nil) {
		t.Errorf("the pool's acquisitions did not move: %v", got)
	}
	// Bounded labels: route patterns, never the token or an id.
	secret := link[strings.LastIndex(link, "/")+1:]
	for _, m := range after["clc_http_request_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && (strings.Contains(l.GetValue(), "SA-") || strings.Contains(l.GetValue(), secret)) {
				t.Errorf("a route label carries an id or a token: %q", l.GetValue())
			}
		}
	}
}
