package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/demo"
	"github.com/clc-portal/clc/internal/mailcatch"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// TestMain lets a test run the program as a process of its own: the test
// binary started with CLC_TEST_AS_CLC=1 is clc, main and all.
func TestMain(m *testing.M) {
	if os.Getenv("CLC_TEST_AS_CLC") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// process is a `clc serve` running as a process of its own.
type process struct {
	base string // http://127.0.0.1:port
	cmd  *exec.Cmd
	logs *lockedBuffer
}

// startServe starts `clc serve` in a process with exactly env, on a free
// port, and stops it (SIGTERM, as a deployment does) when t ends.
func startServe(t *testing.T, env map[string]string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = []string{"CLC_TEST_AS_CLC=1", "CLC_ADDR=127.0.0.1:0"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, logs: &lockedBuffer{}}
	cmd.Stderr = p.logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("clc serve did not stop cleanly: %v\n%s", err, p.logs)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("clc serve did not stop on SIGTERM")
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("clc serve printed nothing: %v\n%s", err, p.logs)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	p.base = strings.TrimSpace(line[strings.Index(line, "http://"):])
	return p
}

// count is how many log lines of the process carry every one of parts.
func (p *process) count(parts ...string) int {
	n := 0
	for _, line := range strings.Split(p.logs.String(), "\n") {
		all := line != ""
		for _, s := range parts {
			all = all && strings.Contains(line, s)
		}
		if all {
			n++
		}
	}
	return n
}

// grep is the log lines that carry part.
func (p *process) grep(part string) string {
	var out []string
	for _, line := range strings.Split(p.logs.String(), "\n") {
		if strings.Contains(line, part) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// sum adds the "count" of the log lines that carry part.
func (p *process) sum(part string) int {
	total := 0
	for _, line := range strings.Split(p.logs.String(), "\n") {
		var entry struct{ Count int }
		if strings.Contains(line, part) && json.Unmarshal([]byte(line), &entry) == nil {
			total += entry.Count
		}
	}
	return total
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// visitor is one browser: a cookie jar across every process (cookies are
// not kept per port, so one sign-in reaches each instance, as behind a load
// balancer).
type visitor struct {
	t      *testing.T
	client *http.Client
}

func newVisitor(t *testing.T) *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{t: t, client: &http.Client{Jar: jar}}
}

// do sends a request and follows redirects; it returns the last response's
// status, path and body.
func (v *visitor) do(method, target string, form url.Values) (int, string, string) {
	v.t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(form.Encode()))
	if err != nil {
		v.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", req.URL.Scheme+"://"+req.URL.Host)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL.Path, string(body)
}

func (v *visitor) get(target string) (int, string, string) {
	return v.do(http.MethodGet, target, nil)
}

func (v *visitor) login(base, email string) {
	v.t.Helper()
	if code, path, _ := v.do(http.MethodPost, base+"/login", url.Values{"email": {email}, "password": {demo.Password}}); code != 200 || path != "/clc" {
		v.t.Fatalf("log in as %s on %s: %d at %s", email, base, code, path)
	}
}

// submit requests an account for customer through the form, review step
// included; it returns the page the submission lands on.
func (v *visitor) submit(base, name, domain, customer string) string {
	v.t.Helper()
	form := url.Values{"name": {name}, "domain": {domain}, "domain_editable": {"1"},
		"note_to_approver": {"New customer"}, "customer_emails": {customer}}
	form.Set("action", "review")
	_, _, review := v.do(http.MethodPost, base+"/clc/accounts/new", form)
	key := regexp.MustCompile(`name="submission_key" value="([^"]+)"`).FindStringSubmatch(review)
	if key == nil {
		v.t.Fatalf("no review form:\n%s", review)
	}
	form.Del("action")
	form.Del("domain_editable")
	form.Set("submission_key", key[1])
	code, path, page := v.do(http.MethodPost, base+"/clc/accounts/new/submit", form)
	if code != 200 || path != "/clc/directory" {
		v.t.Fatalf("submit %s: %d at %s", name, code, path)
	}
	return page
}

func newCatcher(t *testing.T) (*mailcatch.Server, string) {
	t.Helper()
	c := mailcatch.New(nil)
	addr, err := c.ListenSMTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, "smtp://" + addr.String()
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func scalar[T any](t *testing.T, db pgtest.DB, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// TestTwoServesShareOneDatabase runs two `clc serve` processes on one
// database, as two instances behind a load balancer: a sign-in made on one
// works on the other, and while both workers run every email goes out once
// and every request expires once.
func TestTwoServesShareOneDatabase(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	catcher, smtpURL := newCatcher(t)
	env := map[string]string{"DATABASE_URL": db.URL, "SMTP_URL": smtpURL}
	mustRun(t, env, "", "seed", "demo")
	ctx := context.Background()

	// The clock moved: requests made a lifetime ago are due to expire, and
	// their approval emails are due too.
	const requests = 30
	store := postgres.NewStore(db.Pool)
	longAgo := account.NewManualClock(time.Now().Add(-account.RequestLifetime - time.Hour))
	svc := account.NewService(store, longAgo, account.NewArgon2id())
	partner, err := store.UserByEmail(ctx, demo.PartnerEmail)
	if err != nil {
		t.Fatal(err)
	}
	for i := range requests {
		_, err := svc.SubmitRequest(ctx, partner, account.AccountRequestInput{
			Name: fmt.Sprintf("Moved Clock %02d", i), Domain: fmt.Sprintf("moved-clock-%02d.example", i),
			NoteToApprover: "Long ago", CustomerEmails: fmt.Sprintf("buyer@moved-clock-%02d.example", i),
			SubmissionKey: account.NewSubmissionKey(),
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	// Both processes' first claims wait on this lock, so both start the
	// work at the same moment rather than one finishing before the other is up.
	gate, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Rollback(ctx)
	if _, err := gate.Exec(ctx, `LOCK TABLE outbox, account_requests IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	a, b := startServe(t, env), startServe(t, env)
	eventually(t, 20*time.Second, "both workers and both job runners wait on the gate", func() bool {
		return scalar[int](t, db, `SELECT count(DISTINCT (l.pid, l.relation)) FROM pg_locks l
			WHERE NOT l.granted AND l.relation IN ('outbox'::regclass, 'account_requests'::regclass)`) == 4
	})
	if err := gate.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	eventually(t, 60*time.Second, "every request expired and every email sent", func() bool {
		return scalar[int](t, db, `SELECT (SELECT count(*) FROM account_requests WHERE status <> 'expired')
			+ (SELECT count(*) FROM outbox WHERE state <> 'sent')`) == 0
	})
	time.Sleep(1500 * time.Millisecond) // more than a worker's poll: a second send would have arrived

	if n := scalar[int](t, db, `SELECT count(*) FROM events WHERE kind = 'expired'`); n != requests {
		t.Errorf("%d expired events for %d requests", n, requests)
	}
	rows, err := db.Pool.Query(ctx, `SELECT message_id FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	queued, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	// Each request: the customer's approval email, then the expiry emails
	// to the customer and the partner.
	if len(queued) < 3*requests {
		t.Fatalf("%d emails queued for %d requests", len(queued), requests)
	}
	arrived := map[string]int{}
	for _, m := range catcher.Messages() {
		id, _, _ := strings.Cut(strings.Trim(m.Header.Get("Message-Id"), "<>"), "@")
		arrived[id]++
	}
	for _, id := range queued {
		if arrived[id] != 1 {
			t.Errorf("email %s arrived %d times", id, arrived[id])
		}
		delete(arrived, id)
	}
	if len(arrived) != 0 {
		t.Errorf("emails that were never queued arrived: %v", arrived)
	}
	sentA, sentB := a.count(`"msg":"email sent"`), b.count(`"msg":"email sent"`)
	if sentA+sentB != len(queued) {
		t.Errorf("the processes logged %d + %d emails sent, %d were queued", sentA, sentB, len(queued))
	}
	if sentA == 0 || sentB == 0 {
		t.Errorf("one worker sent every email (%d and %d): the test did not make them share", sentA, sentB)
	}
	expiredA, expiredB := a.sum(`"job":"expire requests"`), b.sum(`"job":"expire requests"`)
	if expiredA+expiredB != requests {
		t.Errorf("the processes logged %d + %d requests expired, want %d", expiredA, expiredB, requests)
	}
	if expiredA == 0 || expiredB == 0 {
		t.Errorf("one job runner expired every request (%d and %d): the test did not make them share", expiredA, expiredB)
	}
	t.Logf("emails sent: %d by one process, %d by the other; requests expired: %d and %d", sentA, sentB, expiredA, expiredB)

	// One sign-in, both instances.
	v := newVisitor(t)
	v.login(a.base, demo.PartnerEmail)
	code, path, page := v.get(b.base + "/clc/directory")
	if code != 200 || path != "/clc/directory" || !strings.Contains(page, "Moved Clock 29") {
		t.Fatalf("the directory on the other instance: %d at %s", code, path)
	}
	if code, path, _ := v.do(http.MethodPost, b.base+"/logout", nil); code != 200 || path == "/clc" {
		t.Fatalf("log out on the other instance: %d at %s", code, path)
	}
	if _, path, _ := v.get(a.base + "/clc"); path != "/login" {
		t.Fatalf("after logging out on one instance the first still serves %s", path)
	}
}

// TestReplicaAnswersSearchAndTheDirectory runs `clc serve` with a streaming
// replica: a browser that wrote reads its write at once (from the primary),
// one that did not reads from the replica, which a paused replay shows; the
// replica stopped, every read is the primary's, and once it is back the
// replica answers again.
func TestReplicaAnswersSearchAndTheDirectory(t *testing.T) {
	db := pgtest.NewReplicated(t)
	_, smtpURL := newCatcher(t)
	mustRun(t, map[string]string{"DATABASE_URL": db.URL}, "", "seed", "demo")
	replica := pgtest.ReplicaURL(t, db)
	stopped := false
	t.Cleanup(func() {
		if stopped {
			pgtest.StartReplica(t)
		} else {
			pgtest.OnReplica(t, `SELECT pg_wal_replay_resume()`)
		}
	})
	p := startServe(t, map[string]string{"DATABASE_URL": db.URL, "DATABASE_REPLICA_URL": replica, "SMTP_URL": smtpURL})
	writer, reader := newVisitor(t), newVisitor(t)
	writer.login(p.base, demo.PartnerEmail)
	reader.login(p.base, demo.PartnerEmail)
	search := p.base + "/clc/search?q=" + url.QueryEscape("Umbrella Corporation")
	if code, _, page := reader.get(search); code != 200 || !strings.Contains(page, "umbrella.example") {
		t.Fatalf("search through the replica: %d", code)
	}

	// staleRead proves the reader's pages come from the replica: with its
	// replay paused, the writer's new request is on its own directory at
	// once and not yet on the reader's.
	staleRead := func(name, domain string) {
		t.Helper()
		pgtest.CatchUp(t, db)
		pgtest.OnReplica(t, `SELECT pg_wal_replay_pause()`)
		if page := writer.submit(p.base, name, domain, "buyer@"+domain); !strings.Contains(page, name) {
			t.Fatalf("the directory right after submitting %s does not show it", name)
		}
		if _, _, page := writer.get(p.base + "/clc/directory"); !strings.Contains(page, name) {
			t.Fatalf("the writer's directory lost %s", name)
		}
		if _, _, page := reader.get(p.base + "/clc/directory"); strings.Contains(page, name) {
			t.Fatalf("the reader's directory shows %s while the replica's replay is paused: it did not read the replica\n%s", name, p.grep("replica"))
		}
		pgtest.OnReplica(t, `SELECT pg_wal_replay_resume()`)
		pgtest.CatchUp(t, db)
		if _, _, page := reader.get(p.base + "/clc/directory"); !strings.Contains(page, name) {
			t.Fatalf("the reader's directory lacks %s once the replica caught up", name)
		}
	}
	staleRead("Replica Lag One", "replica-lag-one.example")

	pgtest.StopReplica(t)
	stopped = true
	for _, target := range []string{p.base + "/clc/directory", search} {
		if code, _, page := reader.get(target); code != 200 || !strings.Contains(page, "umbrella.example") {
			t.Fatalf("%s with the replica stopped: %d\n%s", target, code, p.logs)
		}
	}
	if p.count(`"msg":"replica not used: reads go to the primary"`) == 0 {
		t.Error("the replica going away was not logged")
	}

	answered := p.count(`"msg":"replica answers reads"`)
	pgtest.StartReplica(t)
	stopped = false
	eventually(t, 15*time.Second, "the replica answers again", func() bool {
		return p.count(`"msg":"replica answers reads"`) > answered
	})
	staleRead("Replica Lag Two", "replica-lag-two.example")
}

// TestThroughPgBouncer runs `clc serve` through PgBouncer in transaction
// pooling: a partner signs in and requests an account, the worker's email
// reaches the customer, who approves it.
func TestThroughPgBouncer(t *testing.T) {
	db := pgtest.New(t)
	catcher, smtpURL := newCatcher(t)
	mustRun(t, map[string]string{"DATABASE_URL": db.URL}, "", "seed", "demo")
	bouncer := pgtest.BouncerURL(t, db)
	ctx := context.Background()

	// Startup parameters do not get through PgBouncer; the settings the
	// statements are written for reach its server connections as the
	// database's defaults.
	withParams, _ := pgx.ParseConfig(bouncer)
	withParams.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	if c, err := pgx.ConnectConfig(ctx, withParams); err == nil {
		c.Close(ctx)
		t.Error("PgBouncer took a plan_cache_mode startup parameter")
	} else if !strings.Contains(err.Error(), "unsupported startup parameter") {
		t.Errorf("PgBouncer refused a startup parameter with: %v", err)
	}
	pool, err := postgres.Open(ctx, bouncer)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.CheckSettings(ctx, pool); err != nil {
		t.Fatal(err)
	}

	p := startServe(t, map[string]string{"DATABASE_URL": bouncer, "SMTP_URL": smtpURL})
	v := newVisitor(t)
	v.login(p.base, demo.PartnerEmail)
	v.submit(p.base, "Pooled Widgets", "pooled-widgets.example", "buyer@pooled-widgets.example")
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	m, err := catcher.WaitForTo(waitCtx, "buyer@pooled-widgets.example")
	if err != nil {
		t.Fatalf("the customer's email did not arrive: %v\n%s", err, p.logs)
	}
	link := regexp.MustCompile(regexp.QuoteMeta(p.base) + `/pending/[A-Za-z0-9_-]+`).FindString(m.Text)
	approver := newVisitor(t)
	if code, _, _ := approver.get(link); code != 200 {
		t.Fatalf("the Pending Request page: %d", code)
	}
	// The decided request's page answers Gone, saying who decided.
	if code, _, page := approver.do(http.MethodPost, link+"/approve", nil); code != http.StatusGone || !strings.Contains(page, "This request was approved") {
		t.Fatalf("approve: %d\n%s", code, p.logs)
	}
	if s := scalar[string](t, db, `SELECT status FROM smart_accounts WHERE domain = 'pooled-widgets.example'`); s != "active" {
		t.Fatalf("after approving, the account is %s", s)
	}
	if strings.Contains(p.logs.String(), `"level":"ERROR"`) || strings.Contains(p.logs.String(), "database settings") {
		t.Errorf("clc serve through PgBouncer logged:\n%s", p.logs)
	}

	// And it went through PgBouncer: the process's connections are its clients.
	pool.Close()
	admin, _ := pgx.ParseConfig(os.Getenv("TEST_PGBOUNCER_URL"))
	admin.Database = "pgbouncer"
	admin.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SHOW CLIENTS`)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := pgx.CollectRows(rows, pgx.RowToMap)
	if err != nil {
		t.Fatal(err)
	}
	name, n := db.Pool.Config().ConnConfig.Database, 0
	for _, c := range clients {
		if c["database"] == name {
			n++
		}
	}
	if n == 0 {
		t.Errorf("no client of PgBouncer uses %s", name)
	}
}

// TestWorkerLockThroughPgBouncer runs workers through PgBouncer in
// transaction pooling, where a session's lock means nothing: with
// CLC_LOCK_DATABASE_URL naming a direct connection, a worker killed while
// holding claims has them taken over by the other within 2 s; without it, a
// worker says its lock is not taken and why, and delivers all the same.
func TestWorkerLockThroughPgBouncer(t *testing.T) {
	bin := buildCLC(t)
	db, catcher, smtpURL := seededDB(t)
	bouncer := pgtest.BouncerURL(t, db)
	unlocked := startWorker(t, bin, "DATABASE_URL="+bouncer, "SMTP_URL="+smtpURL)
	if unlocked.id != 0 || !unlocked.logged("CLC_LOCK_DATABASE_URL") {
		t.Errorf("a worker whose lock would go through PgBouncer holds lock %d, and did not name CLC_LOCK_DATABASE_URL", unlocked.id)
	}
	taken, delivered := takeOverRounds(t, bin, db, catcher, strings.TrimPrefix(smtpURL, "smtp://"), 3,
		"DATABASE_URL="+bouncer, "CLC_LOCK_DATABASE_URL="+db.URL)
	t.Logf("through PgBouncer, the lock on a direct connection: taken over %v; delivered %v", taken, delivered)
}
