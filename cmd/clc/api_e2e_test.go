package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/demo"
	"github.com/clc-portal/clc/internal/mailcatch"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// served is the whole program as `make run` runs it: `clc serve` over a
// fresh database with the demo data, its worker delivering to a real SMTP
// server. It stops, and must stop cleanly, when the test ends.
type served struct {
	t       *testing.T
	base    string
	ops     string // the ops listener, when CLC_OPS_ADDR was given
	catcher *mailcatch.Server
	// browser is a cookie jar for the pages.
	browser *http.Client
}

func serveWithMail(t *testing.T, extraEnv ...string) *served {
	t.Helper()
	db := pgtest.New(t)
	catcher := mailcatch.New(nil)
	smtpAddr, err := catcher.ListenSMTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catcher.Close() })
	env := map[string]string{"DATABASE_URL": db.URL, "SMTP_URL": "smtp://" + smtpAddr.String(), "CLC_ADDR": "127.0.0.1:0"}
	for i := 0; i+1 < len(extraEnv); i += 2 {
		env[extraEnv[i]] = extraEnv[i+1]
	}
	mustRun(t, env, "", "seed", "demo")

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	out := bufio.NewReader(pr)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("serve printed nothing: %v", err)
	}
	urlOf := func(line string) string { return strings.TrimSpace(line[strings.Index(line, "http://"):]) }
	ops := ""
	if env["CLC_OPS_ADDR"] != "" {
		opsLine, err := out.ReadString('\n')
		if err != nil || !strings.Contains(opsLine, "ops on http://") {
			t.Fatalf("serve did not print the ops listener: %q %v", opsLine, err)
		}
		ops = urlOf(opsLine)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	jar, _ := cookiejar.New(nil)
	return &served{t: t, base: urlOf(line), ops: ops, catcher: catcher, browser: &http.Client{Jar: jar}}
}

// post sends a form from the portal's own pages.
func (s *served) post(path string, form url.Values) (*http.Response, string) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.base)
	resp, err := s.browser.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// approvalLink waits for the approval email to an address and returns its link.
func (s *served) approvalLink(to string) string {
	s.t.Helper()
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	approval, err := s.catcher.WaitForTo(ctx, to)
	if err != nil {
		s.t.Fatalf("the email to %s did not arrive: %v", to, err)
	}
	link := regexp.MustCompile(regexp.QuoteMeta(s.base) + `/pending/[A-Za-z0-9_-]+`).FindString(approval.Text)
	if link == "" {
		s.t.Fatalf("no link on %s in:\n%s", s.base, approval.Text)
	}
	return link
}

func TestScriptRequestsThroughTheAPI(t *testing.T) {
	t.Parallel()
	srv := serveWithMail(t)
	base, post := srv.base, srv.post

	// The partner makes a token in the browser, once.
	if resp, _ := post("/login", url.Values{"email": {demo.PartnerEmail}, "password": {demo.Password}}); resp.StatusCode != 200 {
		t.Fatalf("log in: %d", resp.StatusCode)
	}
	_, tokens := post("/clc/api-tokens", url.Values{"name": {"onboarding"}})
	m := regexp.MustCompile(`id="new-token-secret"[^>]*value="(clc_[A-Za-z0-9_-]+)"`).FindStringSubmatch(tokens)
	if m == nil {
		t.Fatalf("no token on the page:\n%s", tokens)
	}
	token := m[1]

	// From here on, the script: no cookies, only the token.
	call := func(method, path, body string, v any) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "acme-widgets")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if v != nil {
			if err := json.Unmarshal(raw, v); err != nil {
				t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
			}
		}
		return resp.StatusCode
	}
	var created struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		DecidedBy string `json:"decided_by"`
		Approvers []struct{ Email, Delivery string }
		Links     struct{ Self string }
	}
	body := `{"name": "Acme Widgets", "domain": "acme-widgets.example", "note_to_approver": "New customer",
		"customer_emails": ["buyer@acme-widgets.example"], "note_to_customer": "Welcome aboard"}`
	if st := call("POST", "/api/v1/account-requests", body, &created); st != http.StatusCreated || created.Status != "pending" {
		t.Fatalf("create: %d %+v", st, created)
	}
	// A retry of the same call (say, after a timeout) is the same request.
	var again struct{ ID string }
	if st := call("POST", "/api/v1/account-requests", body, &again); st != http.StatusOK || again.ID != created.ID {
		t.Fatalf("retry: %d %s, want 200 %s", st, again.ID, created.ID)
	}

	link := srv.approvalLink("buyer@acme-widgets.example")
	// The customer approves on the Pending Request page.
	req, _ := http.NewRequest(http.MethodPost, link+"/approve", nil)
	req.Header.Set("Origin", base)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", resp.StatusCode)
	}

	// The script follows the request to approved. A bound against a hang,
	// not a measure: beside the package's other processes it can take a while.
	deadline := time.Now().Add(time.Minute)
	for {
		var got struct {
			Status    string `json:"status"`
			DecidedBy string `json:"decided_by"`
			Approvers []struct{ Email, Delivery string }
		}
		if st := call("GET", created.Links.Self, "", &got); st != http.StatusOK {
			t.Fatalf("follow: %d", st)
		}
		if got.Status == "approved" {
			if got.DecidedBy != "buyer@acme-widgets.example" {
				t.Errorf("approved by %q", got.DecidedBy)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the request is still %s", got.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var list struct {
		Items []struct{ ID, Status string } `json:"items"`
	}
	if st := call("GET", "/api/v1/account-requests", "", &list); st != http.StatusOK || len(list.Items) == 0 ||
		list.Items[0].ID != created.ID || list.Items[0].Status != "approved" {
		t.Errorf("list: %d %+v", st, list)
	}
}
