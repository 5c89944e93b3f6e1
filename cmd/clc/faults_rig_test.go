package main

// The rig of the fault tests (faults_test.go): the clc binary run as a real
// process that a test can kill, a partner's browser as an HTTP client, and
// the checks that nothing was lost.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clc-portal/clc/internal/mailcatch"
)

// faultKills is how many times the kill test kills `clc serve`:
// CLC_FAULT_KILLS, else 50 (10 with -short).
func faultKills(t *testing.T) int {
	if v := os.Getenv("CLC_FAULT_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CLC_FAULT_KILLS=%q: want a positive number", v)
		}
		return n
	}
	if testing.Short() {
		return 10
	}
	return 50
}

// buildCLC builds the clc binary into the test's temporary directory.
func buildCLC(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "clc")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freePort is a port nothing listens on now, so that every restart of the
// portal serves the links its emails carry.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// portal is `clc serve` as a process, restarted as often as a test likes on
// one address.
type portal struct {
	t    *testing.T
	bin  string
	env  []string
	base string
	logf string // every run's stderr, appended

	cmd    *exec.Cmd
	exited chan error
}

func newPortal(t *testing.T, bin, dbURL, smtpURL string, extra ...string) *portal {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	p := &portal{t: t, bin: bin, base: "http://" + addr, logf: filepath.Join(t.TempDir(), "serve.log"),
		env: append([]string{"PATH=" + os.Getenv("PATH"), "DATABASE_URL=" + dbURL, "SMTP_URL=" + smtpURL, "CLC_ADDR=" + addr}, extra...)}
	t.Cleanup(func() {
		if p.cmd != nil {
			p.kill9()
		}
		if t.Failed() {
			b, _ := os.ReadFile(p.logf)
			// Each kind of warning or error once, with its count.
			kinds, counts := []string{}, map[string]int{}
			for _, l := range strings.Split(string(b), "\n") {
				var e struct{ Level, Msg, Err, Path string }
				if json.Unmarshal([]byte(l), &e) != nil || (e.Level != "WARN" && e.Level != "ERROR") {
					continue
				}
				k := e.Msg + " " + e.Path + ": " + e.Err
				if counts[k] == 0 {
					kinds = append(kinds, k)
				}
				counts[k]++
			}
			var sum strings.Builder
			for _, k := range kinds[:min(len(kinds), 40)] {
				fmt.Fprintf(&sum, "%5d × %.300s\n", counts[k], k)
			}
			t.Logf("the portal's warnings and errors:\n%s", sum.String())
		}
	})
	return p
}

// start runs the portal and waits until it answers /healthz.
func (p *portal) start() {
	p.t.Helper()
	logFile, err := os.OpenFile(p.logf, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(p.bin, "serve")
	cmd.Env, cmd.Stdout, cmd.Stderr = p.env, io.Discard, logFile
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	logFile.Close()
	p.cmd, p.exited = cmd, make(chan error, 1)
	go func() { p.exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-p.exited:
			p.cmd = nil
			p.t.Fatalf("clc serve exited while starting: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatal("clc serve did not answer /healthz within 30 s")
		}
	}
}

// kill9 kills the portal as a crash or an OOM killer would.
func (p *portal) kill9() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited //nolint:errcheck // killed: its exit status says only that
	p.cmd = nil
}

// terminate sends SIGTERM, as a service manager stopping the portal does,
// and waits for the process to end.
func (p *portal) terminate(within time.Duration) error {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-p.exited:
		p.cmd = nil
		return err
	case <-time.After(within):
		return fmt.Errorf("still running %v after SIGTERM", within)
	}
}

// browser is one person's HTTP client: cookies kept, redirects shown, not
// followed.
type browser struct {
	base string
	c    *http.Client
}

func newBrowser(base string, keepAlive bool) *browser {
	jar, _ := cookiejar.New(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = !keepAlive
	return &browser{base: base, c: &http.Client{
		Jar: jar, Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(ctx context.Context, method, path string, form url.Values) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.base)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(page), err
}

func (b *browser) logIn(email, password string) error {
	code, _, err := b.do(context.Background(), http.MethodPost, "/login", url.Values{"email": {email}, "password": {password}})
	if err == nil && code != http.StatusSeeOther {
		err = fmt.Errorf("log in answered %d", code)
	}
	return err
}

// order is one request for a customer account, as the form carries it.
type order struct{ name, domain, customer, key string }

func newOrder(n int) order {
	d := fmt.Sprintf("fault%d-%s.example", n, randomWord())
	return order{name: "Fault Customer " + strconv.Itoa(n) + " " + d, domain: d, customer: "buyer@" + d}
}

func randomWord() string { return strconv.FormatInt(time.Now().UnixNano()%1e9, 36) }

func (o order) form() url.Values {
	return url.Values{"name": {o.name}, "domain": {o.domain}, "domain_editable": {"1"},
		"note_to_approver": {"Our customer"}, "customer_emails": {o.customer}}
}

var submissionKey = regexp.MustCompile(`name="submission_key" value="([^"]+)"`)

// review is Send Request: it checks the form and hands out its submission key.
func (b *browser) review(ctx context.Context, o *order) error {
	f := o.form()
	f.Set("action", "review")
	code, page, err := b.do(ctx, http.MethodPost, "/clc/accounts/new", f)
	if err != nil {
		return err
	}
	m := submissionKey.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		return fmt.Errorf("review answered %d without a submission key", code)
	}
	o.key = m[1]
	return nil
}

// submit is the review's Submit Request; the answer is 303 when it was taken.
func (b *browser) submit(ctx context.Context, o order) (int, error) {
	f := o.form()
	f.Set("submission_key", o.key)
	code, _, err := b.do(ctx, http.MethodPost, "/clc/accounts/new/submit", f)
	return code, err
}

var pendingLink = regexp.MustCompile(`/pending/([A-Za-z0-9_-]{43})`)

// approvalLinks are the tokens of every approval email caught so far.
func approvalLinks(catcher *mailcatch.Server) []string {
	var out []string
	for _, m := range catcher.Messages() {
		if l := pendingLink.FindStringSubmatch(m.Text); l != nil && strings.HasPrefix(m.To[0], "buyer@") {
			out = append(out, l[1])
		}
	}
	return out
}

// invariants are the states a request must never be seen in: each query
// counts the requests or accounts in it.
var invariants = []struct{ name, query string }{
	{"a pending account without its request", `
		SELECT count(*) FROM smart_accounts sa WHERE sa.status = 'pending'
			AND NOT EXISTS (SELECT 1 FROM account_requests r WHERE r.smart_account_id = sa.id)`},
	{"a request whose account's status disagrees", `
		SELECT count(*) FROM account_requests r JOIN smart_accounts sa ON sa.id = r.smart_account_id
		WHERE (r.status, sa.status) NOT IN (('pending', 'pending'), ('approved', 'active'), ('denied', 'denied'),
			('expired', 'expired'), ('withdrawn', 'expired'))`},
	{"a request without an approval link for each customer address", `
		SELECT count(*) FROM account_requests r WHERE EXISTS (
			SELECT 1 FROM unnest(r.customer_emails) e
			WHERE NOT EXISTS (SELECT 1 FROM approval_links l WHERE l.request_id = r.id AND l.email = e))`},
	{"a request without its approval emails or the partner's confirmation", `
		SELECT count(*) FROM account_requests r
		WHERE EXISTS (
			SELECT 1 FROM unnest(r.customer_emails) e WHERE NOT EXISTS (
				SELECT 1 FROM outbox o WHERE o.smart_account_id = r.smart_account_id AND o.kind = 'approval_request' AND o.to_address = e))
			OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.smart_account_id = r.smart_account_id AND o.kind = 'request_confirmation')`},
	{"an approved request without its DEFAULT VA, its Administrator or its emails", `
		SELECT count(*) FROM account_requests r WHERE r.status = 'approved' AND (
			r.decided_at IS NULL
			OR NOT EXISTS (SELECT 1 FROM virtual_accounts v WHERE v.smart_account_id = r.smart_account_id AND v.name = 'DEFAULT')
			OR NOT EXISTS (SELECT 1 FROM memberships m WHERE m.smart_account_id = r.smart_account_id AND m.role = 'admin')
			OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.smart_account_id = r.smart_account_id AND o.kind = 'request_approved')
			OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.smart_account_id = r.smart_account_id AND o.kind = 'account_created_admin'))`},
	{"a denied request without its reason or the partner's email", `
		SELECT count(*) FROM account_requests r WHERE r.status = 'denied' AND (
			r.decided_at IS NULL
			OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.smart_account_id = r.smart_account_id AND o.kind = 'request_denied'))`},
	{"a decision's email for a request still pending", `
		SELECT count(*) FROM account_requests r WHERE r.status = 'pending' AND EXISTS (
			SELECT 1 FROM outbox o WHERE o.smart_account_id = r.smart_account_id
				AND o.kind IN ('request_approved', 'request_denied', 'account_created_admin'))`},
}

// checkInvariants fails t for each invariant some row breaks.
func checkInvariants(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	for _, inv := range invariants {
		var n int
		if err := pool.QueryRow(context.Background(), inv.query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", inv.name, err)
		}
		if n != 0 {
			t.Errorf("%d × %s", n, inv.name)
		}
	}
}

// waitAllSent waits until the outbox holds nothing undelivered, and says when
// that was first seen.
func waitAllSent(t *testing.T, pool *pgxpool.Pool, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var open, failed int
		err := pool.QueryRow(context.Background(), `
			SELECT count(*) FILTER (WHERE state IN ('pending', 'sending')), count(*) FILTER (WHERE state = 'failed') FROM outbox`).Scan(&open, &failed)
		if err != nil {
			t.Fatal(err)
		}
		if failed > 0 {
			t.Fatalf("%d emails failed", failed)
		}
		if open == 0 {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d emails still undelivered after %v", open, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// delivery is how the outbox's emails arrived at the SMTP server.
type delivery struct {
	emails, messages, duplicates int
}

// checkDelivered fails t unless every email in the outbox arrived at the
// catcher at least once, every message that arrived is one of them, and any
// duplicate carries its original's Message-ID: the same email under two ids
// would be a second email, not a resend.
func checkDelivered(t *testing.T, pool *pgxpool.Pool, msgs []mailcatch.Message) delivery {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT message_id, to_address FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for rows.Next() {
		var id, to string
		if err := rows.Scan(&id, &to); err != nil {
			t.Fatal(err)
		}
		want[id] = to
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	idOfContent := map[string]string{}
	var d delivery
	for _, m := range msgs {
		raw := m.Header.Get("Message-Id")
		id := strings.TrimPrefix(raw, "<")
		if at := strings.IndexByte(id, '@'); at > 0 {
			id = id[:at]
		}
		to, ok := want[id]
		if !ok {
			t.Errorf("a message arrived that the outbox never held: Message-ID %q to %v", raw, m.To)
			continue
		}
		if len(m.To) != 1 || m.To[0] != to {
			t.Errorf("Message-ID %q went to %v, its row to %s", raw, m.To, to)
		}
		got[id]++
		content := strings.Join(m.To, ",") + "\x00" + m.Subject + "\x00" + m.Text
		if other, seen := idOfContent[content]; seen && other != id {
			t.Errorf("the same email to %v arrived under two Message-IDs, %s and %s", m.To, other, id)
		}
		idOfContent[content] = id
	}
	for id, to := range want {
		if got[id] == 0 {
			t.Errorf("email %s to %s never arrived", id, to)
		}
		if got[id] > 1 {
			d.duplicates += got[id] - 1
		}
	}
	d.emails, d.messages = len(want), len(msgs)
	return d
}

// inbox gathers every message the catcher received, harvested often enough
// that the catcher's memory of the newest 1000 never drops one unseen.
type inbox struct {
	c   *mailcatch.Server
	got map[int]mailcatch.Message
}

func newInbox(c *mailcatch.Server) *inbox { return &inbox{c: c, got: map[int]mailcatch.Message{}} }

// harvest gathers what arrived and says the newest message's id.
func (b *inbox) harvest() int {
	newest := 0
	for _, m := range b.c.Messages() {
		b.got[m.ID] = m
		newest = max(newest, m.ID)
	}
	return newest
}

// waitArrival waits until a message newer than after arrives, or within
// passes. It asks for that one message, so that waiting a millisecond at a
// time copies nothing.
func waitArrival(c *mailcatch.Server, after int, within time.Duration) {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, ok := c.Message(after + 1); ok {
			return
		}
	}
}

// all is every message in arrival order; it fails t if one was missed.
func (b *inbox) all(t *testing.T) []mailcatch.Message {
	t.Helper()
	b.harvest()
	out := make([]mailcatch.Message, 0, len(b.got))
	for id := 1; id <= len(b.got); id++ {
		m, ok := b.got[id]
		if !ok {
			t.Fatalf("message %d of %d was dropped by the catcher before it was harvested", id, len(b.got))
		}
		out = append(out, m)
	}
	return out
}

// pgCluster is a PostgreSQL cluster of the test's own (scripts/pg.sh), one
// it may stop and start.
type pgCluster struct {
	t         *testing.T
	dir, port string
}

func startCluster(t *testing.T) (*pgCluster, string) {
	t.Helper()
	c := &pgCluster{t: t, dir: filepath.Join(t.TempDir(), "pg"), port: strconv.Itoa(freePort(t))}
	t.Cleanup(func() {
		_ = exec.Command("../../scripts/pg.sh", "stop", c.dir).Run()
		// As root the cluster lives in /tmp/clc-pg-…, linked from dir.
		if real, err := os.Readlink(c.dir); err == nil && strings.HasPrefix(real, "/tmp/clc-pg-") {
			_ = os.RemoveAll(real)
		}
	})
	return c, c.start()
}

func (c *pgCluster) start() string {
	c.t.Helper()
	out, err := exec.Command("../../scripts/pg.sh", "start", c.dir, c.port).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			c.t.Fatalf("pg.sh start: %v\n%s", err, ee.Stderr)
		}
		c.t.Fatalf("pg.sh start: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func (c *pgCluster) stop() {
	c.t.Helper()
	if out, err := exec.Command("../../scripts/pg.sh", "stop", c.dir).CombinedOutput(); err != nil {
		c.t.Fatalf("pg.sh stop: %v\n%s", err, out)
	}
}

// tally counts outcomes from several goroutines.
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

func (t *tally) add(what string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil {
		t.n = map[string]int{}
	}
	t.n[what]++
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprint(t.n)
}

// heldClaims are the emails a killed worker had claimed and not recorded,
// and the moment their wait is counted from: the restart, or the kill when
// another worker was running.
type heldClaims struct {
	messageIDs []string
	killedAt   time.Time
	from       time.Time
}

// settled waits until no server process of the database but the caller's
// is running a statement or holds a transaction open: a killed client's
// last statement is run to its end by its server process, and may record
// claims the moment after the kill.
func settled(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var busy int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if busy == 0 || time.Now().After(deadline) {
			return
		}
	}
}

// claimedBy is the Message-IDs of the emails claimed by worker (any worker
// when 0) and not yet recorded.
func claimedBy(t *testing.T, pool *pgxpool.Pool, worker int64) []string {
	t.Helper()
	sql, args := `SELECT message_id FROM outbox WHERE state = 'sending' ORDER BY id`, []any{}
	if worker != 0 {
		sql, args = `SELECT message_id FROM outbox WHERE state = 'sending' AND claimed_by = $1 ORDER BY id`, []any{worker}
	}
	rows, err := pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// messageID is the local part of m's Message-ID, as the outbox keeps it.
func messageID(m mailcatch.Message) string {
	id, _, _ := strings.Cut(strings.Trim(m.Header.Get("Message-Id"), "<>"), "@")
	return id
}

// waits are, for each kill that caught claims, how long after its from
// the last of them arrived.
type waits struct {
	d      []time.Duration
	emails int
	// posthumous counts the claimed emails that arrived before the kill
	// and were recorded after it, by the statement the dead process had
	// sent: its server process runs it to the end. Nothing waited for them.
	posthumous int
}

// claimWaits measures each kill's wait in the messages that arrived: an
// email's first arrival after the kill is its delivery by another worker.
func claimWaits(t *testing.T, held []heldClaims, arrived []mailcatch.Message) waits {
	t.Helper()
	var w waits
	for _, h := range held {
		var last time.Duration
		resent := 0
		for _, id := range h.messageIDs {
			var at time.Time
			before := false
			for _, m := range arrived {
				if messageID(m) != id {
					continue
				}
				if m.Received.After(h.killedAt) {
					at = m.Received
					break
				}
				before = true
			}
			switch {
			case at.IsZero() && before:
				w.posthumous++
			case at.IsZero():
				t.Errorf("email %s, claimed by the worker killed at %v, never arrived", id, h.killedAt.Format(time.StampMilli))
			default:
				resent++
				last = max(last, at.Sub(h.from))
			}
		}
		if resent > 0 {
			w.d = append(w.d, last)
			w.emails += resent
		}
	}
	slices.Sort(w.d)
	return w
}

func (w waits) max() time.Duration {
	if len(w.d) == 0 {
		return 0
	}
	return w.d[len(w.d)-1]
}

// String is the distribution: min, median, p90 and max.
func (w waits) String() string {
	if len(w.d) == 0 {
		return "(none measured)"
	}
	at := func(q float64) time.Duration { return w.d[int(q*float64(len(w.d)-1))].Round(10 * time.Millisecond) }
	return fmt.Sprintf("min %v, median %v, p90 %v, max %v over %d kills (%d emails; %d more recorded by the dead process's last statement)",
		at(0), at(0.5), at(0.9), at(1), len(w.d), w.emails, w.posthumous)
}

// workerProcess is `clc worker` as a process of its own.
type workerProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	exited chan error
	logf   string
	id     int64 // the id its lock is held under; 0 when it took none
}

// startWorker runs `clc worker` with env and waits until it has started,
// its lock taken (or not, as it logs).
func startWorker(t *testing.T, bin string, env ...string) *workerProcess {
	t.Helper()
	w := &workerProcess{t: t, logf: filepath.Join(t.TempDir(), "worker.log"), exited: make(chan error, 1)}
	logFile, err := os.Create(w.logf)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	w.cmd = exec.Command(bin, "worker")
	w.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "CLC_ADDR=127.0.0.1:0"}, env...)
	w.cmd.Stdout, w.cmd.Stderr = io.Discard, logFile
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.exited <- w.cmd.Wait() }()
	t.Cleanup(func() {
		if w.cmd != nil {
			_ = w.cmd.Process.Signal(syscall.SIGKILL)
			<-w.exited //nolint:errcheck // killed at cleanup: its exit status says only that
		}
		if t.Failed() {
			b, _ := os.ReadFile(w.logf)
			t.Logf("clc worker %d's log:\n%.3000s", w.id, b)
		}
	})
	for deadline, started := time.Now().Add(20*time.Second), false; !started; time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(w.logf)
		for _, l := range strings.Split(string(b), "\n") {
			var e struct {
				Msg      string
				WorkerID int64 `json:"worker_id"`
			}
			if json.Unmarshal([]byte(l), &e) == nil && e.Msg == "worker lock held" {
				w.id = e.WorkerID
			}
			started = started || e.Msg == "worker started"
		}
		select {
		case err := <-w.exited:
			w.cmd = nil
			t.Fatalf("clc worker exited while starting: %v\n%s", err, b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("clc worker did not start within 20 s:\n%s", b)
		}
	}
	return w
}

// logged says whether the worker's log has a line carrying part.
func (w *workerProcess) logged(part string) bool {
	b, _ := os.ReadFile(w.logf)
	return strings.Contains(string(b), part)
}

func (w *workerProcess) signal(sig syscall.Signal) {
	w.t.Helper()
	if err := w.cmd.Process.Signal(sig); err != nil {
		w.t.Fatal(err)
	}
}

// kill9 kills the worker as a crash would; it returns when the process has
// gone, and with it its connections.
func (w *workerProcess) kill9() {
	w.t.Helper()
	w.signal(syscall.SIGKILL)
	<-w.exited //nolint:errcheck // killed: its exit status says only that
	w.cmd = nil
}

// slowCable forwards TCP to target, each chunk from the server a delay
// late: a distant SMTP server, whose every reply takes a round trip.
func slowCable(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() {
				defer c.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := up.Read(buf)
					if n > 0 {
						time.Sleep(delay)
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}
