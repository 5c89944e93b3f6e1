package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/demo"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// clcRun runs the program in-process as an operator would from a shell.
func clcRun(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func mustRun(t *testing.T, env map[string]string, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := clcRun(t, env, stdin, args...)
	if err != nil {
		t.Fatalf("clc %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return strings.TrimSpace(out)
}

func count(t *testing.T, db pgtest.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrateThenServeRefusesNothing(t *testing.T) {
	t.Parallel()
	db := pgtest.NewUnmigrated(t)
	env := map[string]string{"DATABASE_URL": db.URL, "SMTP_URL": "smtp://127.0.0.1:1", "CLC_ADDR": "127.0.0.1:0"}

	_, _, err := clcRun(t, env, "", "serve")
	if err == nil || !strings.Contains(err.Error(), "clc migrate") {
		t.Fatalf("serve on an unmigrated database: %v, want a refusal naming clc migrate", err)
	}
	if out := mustRun(t, env, "", "migrate"); !strings.Contains(out, "migrated database schema from version 0") {
		t.Fatalf("migrate said %q", out)
	}
	if out := mustRun(t, env, "", "migrate"); !strings.Contains(out, "current") {
		t.Fatalf("second migrate said %q", out)
	}
}

func TestUserAccountGrant(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := map[string]string{"DATABASE_URL": db.URL}

	mustRun(t, env, "a long password\n", "user", "add", "--email", "Ada@Partner.example", "--name", "Ada Lovelace", "--password-stdin")
	mustRun(t, env, "another password\n", "user", "add", "--email", "ops@clc.example", "--name", "Olga", "--staff", "--password-stdin")
	var staff bool
	if err := db.Pool.QueryRow(context.Background(), `SELECT is_staff FROM users WHERE email = 'ops@clc.example'`).Scan(&staff); err != nil || !staff {
		t.Fatalf("--staff not recorded: %v %v", staff, err)
	}

	id := mustRun(t, env, "", "account", "add", "--name", "Globex", "--domain", "Globex.Example", "--admin", "ada@partner.example", "--restricted")
	if !strings.HasPrefix(id, "SA-") {
		t.Fatalf("account add printed %q, want an SA id", id)
	}
	var domain, status string
	var restricted bool
	var vas int
	err := db.Pool.QueryRow(context.Background(), `
		SELECT domain, status, restricted, (SELECT count(*) FROM virtual_accounts v WHERE v.smart_account_id = sa.id AND v.name = 'DEFAULT')
		FROM smart_accounts sa`).Scan(&domain, &status, &restricted, &vas)
	if err != nil || domain != "globex.example" || status != "active" || !restricted || vas != 1 {
		t.Fatalf("account: %q %q %v %d %v", domain, status, restricted, vas, err)
	}

	mustRun(t, env, "pw-for-bob-1\n", "user", "add", "--email", "bob@globex.example", "--name", "Bob", "--password-stdin")
	mustRun(t, env, "", "grant", "--email", "bob@globex.example", "--account", id, "--va", "DEFAULT", "--role", "viewer")
	mustRun(t, env, "", "grant", "--email", "bob@globex.example", "--account", id, "--role", "user")
	if n := count(t, db, "memberships"); n != 3 {
		t.Fatalf("%d memberships, want 3 (admin, VA viewer, SA user)", n)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := map[string]string{"DATABASE_URL": db.URL}
	mustRun(t, env, "a long password\n", "user", "add", "--email", "ada@partner.example", "--name", "Ada", "--password-stdin")
	id := mustRun(t, env, "", "account", "add", "--name", "Partner", "--domain", "partner.example")

	cases := []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"duplicate email", "a long password\n", []string{"user", "add", "--email", "ADA@partner.example", "--name", "Ada 2", "--password-stdin"}, "already exists"},
		{"bad email", "a long password\n", []string{"user", "add", "--email", "not-an-email", "--name", "X", "--password-stdin"}, "not a valid email"},
		{"short password", "short\n", []string{"user", "add", "--email", "x@partner.example", "--name", "X", "--password-stdin"}, "password"},
		{"no password flag", "", []string{"user", "add", "--email", "x@partner.example", "--name", "X"}, "--password-stdin"},
		{"duplicate domain", "", []string{"account", "add", "--name", "Other", "--domain", "PARTNER.example"}, "already exists"},
		{"malformed domain", "", []string{"account", "add", "--name", "Other", "--domain", "https://other.example/x"}, "domain"},
		{"public suffix", "", []string{"account", "add", "--name", "Other", "--domain", "co.uk"}, "public suffix"},
		{"unknown admin", "", []string{"account", "add", "--name", "Other", "--domain", "other.example", "--admin", "ghost@other.example"}, "no user with email ghost@other.example"},
		{"bad type", "", []string{"account", "add", "--name", "Other", "--domain", "other.example", "--type", "gold"}, "account type"},
		{"unknown user", "", []string{"grant", "--email", "ghost@partner.example", "--account", id, "--role", "user"}, "no user"},
		{"unknown account", "", []string{"grant", "--email", "ada@partner.example", "--account", "SA-999999", "--role", "user"}, "not found"},
		{"unknown va", "", []string{"grant", "--email", "ada@partner.example", "--account", id, "--va", "NOPE", "--role", "user"}, "NOPE"},
		{"bad role", "", []string{"grant", "--email", "ada@partner.example", "--account", id, "--role", "owner"}, "role"},
		{"unknown command", "", []string{"frobnicate"}, "unknown command"},
	}
	tables := []string{"users", "smart_accounts", "virtual_accounts", "memberships", "events"}
	before := map[string]int{}
	for _, tb := range tables {
		before[tb] = count(t, db, tb)
	}
	for _, c := range cases {
		_, _, err := clcRun(t, env, c.stdin, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: reason is not one line: %q", c.name, err)
		}
	}
	for _, tb := range tables {
		if n := count(t, db, tb); n != before[tb] {
			t.Errorf("%s: %d rows after bad input, %d before", tb, n, before[tb])
		}
	}
}

func TestMissingConfigFailsFast(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "DATABASE_URL is not set"},
		{map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db"}, "SMTP_URL is not set"},
		{map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db", "SMTP_URL": "http://mail"}, "SMTP_URL is malformed"},
		{map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db", "SMTP_URL": "smtp://m:25", "CLC_BASE_URL": "ftp://x"}, "CLC_BASE_URL"},
		{map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db", "SMTP_URL": "smtp://m:25", "CLC_ADDR": "nonsense"}, "CLC_ADDR"},
		{map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db", "SMTP_URL": "smtp://m:25", "CLC_TRUSTED_PROXIES": "10.0.0.0/8, proxy"}, "CLC_TRUSTED_PROXIES"},
		{map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db", "DATABASE_REPLICA_URL": "mysql://replica/db", "SMTP_URL": "smtp://m:25"}, "DATABASE_REPLICA_URL is malformed"},
	} {
		_, _, err := clcRun(t, c.env, "", "serve")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("env %v: %v, want %q", c.env, err, c.want)
		}
	}
}

func TestSeedDemoIsIdempotent(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := map[string]string{"DATABASE_URL": db.URL}
	mustRun(t, env, "", "seed", "demo")
	tables := []string{"users", "smart_accounts", "virtual_accounts", "memberships", "events"}
	first := map[string]int{}
	for _, tb := range tables {
		first[tb] = count(t, db, tb)
		if first[tb] == 0 {
			t.Fatalf("demo seed left %s empty", tb)
		}
	}
	mustRun(t, env, "", "seed", "demo")
	for _, tb := range tables {
		if n := count(t, db, tb); n != first[tb] {
			t.Errorf("%s: %d rows after a second seed, %d after the first", tb, n, first[tb])
		}
	}
}

// TestServeAndShutDown starts the real program on port 0, serves a page, and
// stops cleanly when its context ends, as on SIGTERM.
func TestServeAndShutDown(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := map[string]string{"DATABASE_URL": db.URL, "SMTP_URL": "smtp://127.0.0.1:1", "CLC_ADDR": "127.0.0.1:0"}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("serve printed nothing: %v (%v)", err, <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	url := strings.TrimSpace(line[strings.Index(line, "http://"):])
	resp, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Access Cisco License Central") {
		t.Fatalf("home page: %d %s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestRequestEmailArrivesWithWorkingLink runs the whole program as `make run`
// does: a partner requests an account through the web, and the worker inside
// serve delivers the customer's email to a real SMTP server; its link opens
// the Pending Request page.
func TestRequestEmailArrivesWithWorkingLink(t *testing.T) {
	t.Parallel()
	srv := serveWithMail(t)
	if resp, _ := srv.post("/login", url.Values{"email": {demo.PartnerEmail}, "password": {demo.Password}}); resp.StatusCode != 200 {
		t.Fatalf("log in: %d", resp.StatusCode)
	}
	_, review := srv.post("/clc/accounts/new", url.Values{"action": {"review"}, "name": {"Acme Widgets"}, "domain": {"acme-widgets.example"},
		"domain_editable": {"1"}, "note_to_approver": {"New customer"}, "customer_emails": {"buyer@acme-widgets.example"}})
	key := regexp.MustCompile(`name="submission_key" value="([^"]+)"`).FindStringSubmatch(review)
	if key == nil {
		t.Fatalf("no review form:\n%s", review)
	}
	if resp, _ := srv.post("/clc/accounts/new/submit", url.Values{"name": {"Acme Widgets"}, "domain": {"acme-widgets.example"},
		"note_to_approver": {"New customer"}, "customer_emails": {"buyer@acme-widgets.example"}, "submission_key": {key[1]}}); resp.StatusCode >= 400 {
		t.Fatalf("submit: %d", resp.StatusCode)
	}

	link := srv.approvalLink("buyer@acme-widgets.example")
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Pending Request") || !strings.Contains(string(page), "Acme Widgets") {
		t.Fatalf("the link opens %d:\n%s", resp.StatusCode, page)
	}
}

// TestProfilesOnlyOnTheOpsListener starts the real program with
// CLC_OPS_ADDR as a bare port: profiles are served there, on loopback, and
// the portal's listener answers 404 for them although this client connects
// from loopback, as every visitor does behind a reverse proxy on the host.
func TestProfilesOnlyOnTheOpsListener(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := map[string]string{"DATABASE_URL": db.URL, "SMTP_URL": "smtp://127.0.0.1:1", "CLC_ADDR": "127.0.0.1:0", "CLC_OPS_ADDR": ":0"}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewReader(pr)
	urlOn := func(prefix string) string {
		t.Helper()
		line, err := lines.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, prefix) {
			t.Fatalf("serve printed %q (%v), want %q…", line, err, prefix)
		}
		return strings.TrimSpace(strings.TrimPrefix(line, prefix))
	}
	portal := urlOn("CLC Portal serving on ")
	ops := urlOn("CLC Portal ops on ")
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if !strings.HasPrefix(ops, "http://127.0.0.1:") {
		t.Errorf("ops listener on %s, want loopback for a bare port", ops)
	}
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=2", "/debug/pprof/heap?debug=1", "/debug/pprof/profile?seconds=1"} {
		if code, body := get(portal + path); code != http.StatusNotFound {
			t.Errorf("portal %s: %d, want 404\n%.300s", path, code, body)
		}
	}
	if code, body := get(ops + "/debug/pprof/goroutine?debug=2"); code != http.StatusOK || !strings.Contains(body, "goroutine ") {
		t.Errorf("ops goroutine dump: %d\n%.300s", code, body)
	}
	if code, body := get(ops + "/debug/pprof/profile?seconds=1"); code != http.StatusOK || len(body) == 0 {
		t.Errorf("ops CPU profile: %d, %d bytes", code, len(body))
	}
	if code, _ := get(ops + "/"); code != http.StatusNotFound {
		t.Errorf("ops listener serves %d at /, want 404: it serves internals only", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := http.Get(ops + "/debug/pprof/"); err == nil {
		t.Error("ops listener still answers after shutdown")
	}
}
