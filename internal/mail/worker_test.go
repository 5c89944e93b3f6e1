package mail_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/account/accounttest"
	"github.com/clc-portal/clc/internal/config"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/mail"
	"github.com/clc-portal/clc/internal/mailcatch"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// rig is a database, the domain over it, a real SMTP server and a worker.
type rig struct {
	t       *testing.T
	db      pgtest.DB
	store   *postgres.Store
	svc     *account.Service
	clock   *account.ManualClock
	catcher *mailcatch.Server
	smtp    net.Addr
	log     *slog.Logger
	base    *url.URL
}

func newRig(t *testing.T) *rig {
	t.Helper()
	db := pgtest.New(t)
	log := slog.New(slog.DiscardHandler)
	clock := account.NewManualClock(time.Now().UTC().Truncate(time.Second))
	store := postgres.NewStore(db.Pool)
	r := &rig{t: t, db: db, store: store, clock: clock, log: log,
		svc: account.NewService(store, clock, accounttest.Hasher())}
	r.base, _ = url.Parse("https://clc.example.com")
	r.startSMTP("127.0.0.1:0")
	return r
}

// startSMTP (re)starts the SMTP server, on a given address to bring it back.
func (r *rig) startSMTP(addr string) {
	r.t.Helper()
	r.catcher = mailcatch.New(r.log)
	a, err := r.catcher.ListenSMTP(addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.smtp = a
	c := r.catcher
	r.t.Cleanup(func() { c.Close() })
}

func (r *rig) worker() *mail.Worker {
	r.t.Helper()
	catalog, err := i18n.Load(r.log)
	if err != nil {
		r.t.Fatal(err)
	}
	renderer, err := mail.NewRenderer(r.base, "Cisco License Central <no-reply@clc.example.com>", catalog)
	if err != nil {
		r.t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(r.smtp.String())
	p, _ := strconv.Atoi(port)
	return &mail.Worker{
		Queue: r.store, Sender: mail.NewSMTPSender(config.SMTP{Host: host, Port: p}), Renderer: renderer,
		Lock:  r.lock(r.db.URL, r.db.Pool),
		Clock: r.clock, Log: r.log, Backoff: mail.Backoff{Base: time.Minute, Max: time.Hour, MaxAttempts: 5},
		Poll: 10 * time.Millisecond, Batch: 10, Lease: time.Minute,
	}
}

// lock is a worker's lock on the database at url, whose claims go through
// pool; it is freed when the test ends, as when the process ends.
func (r *rig) lock(url string, pool *pgxpool.Pool) *postgres.WorkerLock {
	r.t.Helper()
	l, err := postgres.NewWorkerLock(url, pool, r.log)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(l.Close)
	return l
}

// request has a partner ask for an account, queueing three emails: two
// customers and the partner's confirmation.
func (r *rig) request(domain string) account.AccountRequest {
	r.t.Helper()
	ctx := context.Background()
	email := "ada@" + strings.TrimPrefix(domain, "c-") + ".partner.example"
	u, err := r.svc.AddUser(ctx, account.NewUser{Email: email, Name: "Ada Lovelace", Password: "correct horse"})
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.svc.AddAccount(ctx, account.NewAccount{Name: "Partner " + domain, Domain: strings.TrimPrefix(domain, "c-") + ".partner.example", Type: account.TypePartnerHolding, AdminEmails: []string{email}}, "test"); err != nil {
		r.t.Fatal(err)
	}
	req, err := r.svc.SubmitRequest(ctx, u, account.AccountRequestInput{
		Name: "Globex Zürich", Domain: domain + ".example", NoteToApprover: "our customer",
		CustomerEmails: "hank@" + domain + ".example, cfo@" + domain + ".example", NoteToCustomer: "Please approve <b>soon</b>.",
		SubmissionKey: account.NewSubmissionKey(),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return req
}

func (r *rig) states() map[string]int {
	r.t.Helper()
	rows, err := r.db.Pool.Query(context.Background(), `SELECT state FROM outbox`)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			r.t.Fatal(err)
		}
		out[s]++
	}
	return out
}

func runOnce(t *testing.T, w *mail.Worker) int {
	t.Helper()
	n, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDeliversMultipartWithWorkingLink(t *testing.T) {
	r := newRig(t)
	req := r.request("globex")
	w := r.worker()
	if n := runOnce(t, w); n != 3 {
		t.Fatalf("claimed %d, want 3", n)
	}
	msgs := r.catcher.Messages()
	if len(msgs) != 3 {
		t.Fatalf("%d messages arrived, want 3", len(msgs))
	}
	var approval *mailcatch.Message
	for i, m := range msgs {
		if m.To[0] == "hank@globex.example" {
			approval = &msgs[i]
		}
	}
	if approval == nil {
		t.Fatalf("no email to the customer: %+v", msgs)
	}
	if !strings.Contains(approval.Subject, `"Globex Zürich"`) {
		t.Errorf("subject %q", approval.Subject)
	}
	for _, part := range []string{approval.Text, approval.HTML} {
		for _, want := range []string{"Ada Lovelace", "ada@globex.partner.example", "Partner globex", "Globex Zürich", "globex.example"} {
			if !strings.Contains(part, want) {
				t.Errorf("email lacks %q:\n%s", want, part)
			}
		}
	}
	if !strings.Contains(approval.Text, "Please approve <b>soon</b>.") || strings.Contains(approval.HTML, "<b>soon</b>") {
		t.Errorf("the note is not quoted as written (text) or not escaped (HTML)")
	}
	// The link is absolute on the base URL and its token matches a stored hash.
	link := regexp.MustCompile(`https://clc\.example\.com/pending/([A-Za-z0-9_-]{43})`).FindStringSubmatch(approval.Text)
	if link == nil || !strings.Contains(approval.HTML, link[0]) {
		t.Fatalf("no approval link in both parts:\n%s", approval.Text)
	}
	sum := sha256.Sum256([]byte(link[1]))
	var email string
	if err := r.db.Pool.QueryRow(context.Background(), `SELECT email FROM approval_links WHERE token_hash = $1 AND request_id = $2`, sum[:], req.ID).Scan(&email); err != nil || email != "hank@globex.example" {
		t.Fatalf("link token matches no stored hash for hank: %v %q", err, email)
	}
	// Stable Message-ID from the row; secret erased once sent; history records it.
	var mid string
	var secretLeft int
	if err := r.db.Pool.QueryRow(context.Background(), `SELECT message_id FROM outbox WHERE to_address = 'hank@globex.example'`).Scan(&mid); err != nil {
		t.Fatal(err)
	}
	if err := r.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE secret IS NOT NULL`).Scan(&secretLeft); err != nil {
		t.Fatal(err)
	}
	if got := approval.Header.Get("Message-Id"); got != "<"+mid+"@clc.example.com>" {
		t.Errorf("Message-ID %q, want <%s@clc.example.com>", got, mid)
	}
	if secretLeft != 0 {
		t.Errorf("%d sent emails keep their secret", secretLeft)
	}
	if s := r.states(); s["sent"] != 3 {
		t.Errorf("states %v", s)
	}
	var emailed int
	if err := r.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE kind = 'emailed' AND smart_account_id = $1`, req.Account.ID).Scan(&emailed); err != nil {
		t.Fatal(err)
	}
	if emailed != 3 {
		t.Errorf("%d emailed events, want 3", emailed)
	}
	if runOnce(t, w) != 0 || len(r.catcher.Messages()) != 3 {
		t.Error("a sent email was sent again")
	}
}

func TestTemporaryFailureRetriesWithBackoff(t *testing.T) {
	r := newRig(t)
	r.request("globex")
	r.catcher.FailNext(1, 451, "try again later")
	w := r.worker()
	runOnce(t, w)
	if s := r.states(); s["pending"] != 1 || s["sent"] != 2 {
		t.Fatalf("after a 451: %v", s)
	}
	var attempts int
	var lastErr string
	var next time.Time
	if err := r.db.Pool.QueryRow(context.Background(), `SELECT attempts, last_error, next_attempt_at FROM outbox WHERE state = 'pending'`).Scan(&attempts, &lastErr, &next); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 || !strings.Contains(lastErr, "451") || !next.After(r.clock.Now().Add(40*time.Second)) {
		t.Fatalf("retry row: attempts %d, error %q, next %v (now %v)", attempts, lastErr, next, r.clock.Now())
	}
	if runOnce(t, w) != 0 {
		t.Fatal("retried before its backoff")
	}
	r.clock.Advance(2 * time.Minute)
	runOnce(t, w)
	if s := r.states(); s["sent"] != 3 || len(r.catcher.Messages()) != 3 {
		t.Fatalf("after backoff: %v, %d arrived", s, len(r.catcher.Messages()))
	}
}

func TestPermanentFailureIsFinalAndRetriable(t *testing.T) {
	r := newRig(t)
	r.request("globex")
	r.catcher.FailNext(1, 550, "no such user")
	w := r.worker()
	runOnce(t, w)
	if s := r.states(); s["failed"] != 1 || s["sent"] != 2 {
		t.Fatalf("after a 550: %v", s)
	}
	var id int64
	var lastErr string
	if err := r.db.Pool.QueryRow(context.Background(), `SELECT id, last_error FROM outbox WHERE state = 'failed'`).Scan(&id, &lastErr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lastErr, "550") {
		t.Errorf("last error %q", lastErr)
	}
	r.clock.Advance(24 * time.Hour)
	if runOnce(t, w) != 0 {
		t.Fatal("a failed email was retried by itself")
	}
	ops, err := r.svc.AddUser(context.Background(), account.NewUser{Email: "ops@clc.example", Name: "Ops", Password: "correct horse", Staff: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.svc.RetryEmail(context.Background(), account.User{ID: 1}, id); err == nil {
		t.Fatal("a non-operator retried an email")
	}
	if err := r.svc.RetryEmail(context.Background(), ops, id); err != nil {
		t.Fatal(err)
	}
	runOnce(t, w)
	if s := r.states(); s["sent"] != 3 {
		t.Fatalf("after an operator's retry: %v", s)
	}
}

func TestSMTPDownThenBackLosesNothing(t *testing.T) {
	r := newRig(t)
	r.request("globex")
	addr := r.smtp.String()
	r.catcher.Close() // the SMTP server goes away
	w := r.worker()
	runOnce(t, w)
	if s := r.states(); s["pending"] != 3 {
		t.Fatalf("with SMTP down: %v", s)
	}
	r.request("initech") // and requests keep coming
	r.clock.Advance(time.Minute / 2)
	runOnce(t, w)
	if s := r.states(); s["pending"] != 6 {
		t.Fatalf("with SMTP still down: %v", s)
	}
	r.startSMTP(addr) // back, on the same address
	r.clock.Advance(3 * time.Minute)
	for runOnce(t, w) > 0 {
	}
	if s, n := r.states(), len(r.catcher.Messages()); s["sent"] != 6 || n != 6 {
		t.Fatalf("after SMTP came back: %v, %d arrived", s, n)
	}
}

func TestWorkersShareTheOutbox(t *testing.T) {
	r := newRig(t)
	for i := range 8 {
		r.request(fmt.Sprintf("c-%d", i))
	}
	var wg sync.WaitGroup
	for range 3 {
		w := r.worker()
		w.Batch = 4
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := w.RunOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	msgs := r.catcher.Messages()
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.Header.Get("Message-Id")]++
	}
	if len(msgs) != 24 || len(seen) != 24 {
		t.Fatalf("%d messages, %d distinct: each email should arrive exactly once", len(msgs), len(seen))
	}
}

// TestKilledWorkerIsTakenOverAtOnce: a worker that claimed a batch and died
// before recording it (its lock's session ended with its process) leaves
// the batch to the next worker at once, though the lease has a minute to
// run; and its late record, were it somehow to come, is refused.
func TestKilledWorkerIsTakenOverAtOnce(t *testing.T) {
	r := newRig(t)
	r.request("globex")
	ctx := context.Background()
	dead := r.lock(r.db.URL, r.db.Pool)
	id, err := dead.ID(ctx)
	if err != nil || id == 0 {
		t.Fatalf("lock: %d, %v", id, err)
	}
	claimed, err := r.store.ClaimEmails(ctx, id, r.clock.Now(), 10, time.Minute)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim: %v, %d", err, len(claimed))
	}
	w := r.worker()
	if n := runOnce(t, w); n != 0 {
		t.Fatalf("took over %d emails of a worker alive and within its lease", n)
	}
	dead.Close() // the process dies: its session, and so its lock, ends
	// The server ends the session a moment after the client's end closes;
	// under load a claim made at once could still see the lock held.
	waitLockFree(t, r.db.Pool, id)
	if n := runOnce(t, w); n != 3 || len(r.catcher.Messages()) != 3 {
		t.Fatalf("the dead worker's emails were not taken over before the lease ran out: claimed %d, %v", n, r.states())
	}
	claims := make([]account.EmailClaim, len(claimed))
	for i, q := range claimed {
		claims[i] = q.Claim()
	}
	lost, err := r.store.MarkEmailsSent(ctx, claims, r.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lost {
		if !errors.Is(l, account.ErrClaimLost) {
			t.Errorf("the dead worker's record of email %d was taken: %v", claimed[i].ID, l)
		}
	}
}

// TestStuckWorkerIsRescuedByTheLease: a worker that lives (its lock held) but
// is stuck keeps its claims until the lease runs out, and no longer.
func TestStuckWorkerIsRescuedByTheLease(t *testing.T) {
	r := newRig(t)
	r.request("globex")
	stuck := r.lock(r.db.URL, r.db.Pool)
	id, err := stuck.ID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := r.store.ClaimEmails(context.Background(), id, r.clock.Now(), 10, time.Minute)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim: %v, %d", err, len(claimed))
	}
	w := r.worker()
	r.clock.Advance(time.Minute - time.Second)
	if runOnce(t, w) != 0 {
		t.Fatal("took over an email whose worker lives and whose lease had not run out")
	}
	r.clock.Advance(2 * time.Second)
	if runOnce(t, w) != 3 || len(r.catcher.Messages()) != 3 {
		t.Fatalf("lease ran out but the emails were not delivered: %v", r.states())
	}
}

// waitLockFree waits until no session of this database holds worker id's lock.
func waitLockFree(t *testing.T, pool *pgxpool.Pool, id int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var held bool
		if err := pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND objid = $1::bigint::oid
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`, id).Scan(&held); err != nil {
			t.Fatal(err)
		}
		if !held {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker %d's lock still held 10 s after its connection closed", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
