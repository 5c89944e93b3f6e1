package mail_test

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/config"
	"github.com/clc-portal/clc/internal/mail"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// stalledSender is a worker's connection that stalls past its lease: while
// it stalls, stall runs (another worker takes the emails over), then every
// message fails with a lost connection.
type stalledSender struct {
	stall func()
}

func (s stalledSender) Send(_ context.Context, msgs []*gomail.Msg) []error {
	s.stall()
	errs := make([]error, len(msgs))
	for i := range errs {
		errs[i] = errors.New("connection lost")
	}
	return errs
}

func (stalledSender) Close() error { return nil }

// A worker that overran its lease records nothing over the worker that took
// its emails over: the sent emails stay sent, and no email goes out again
// without its link's token.
func TestOverranLeaseRecordsNothing(t *testing.T) {
	r := newRig(t)
	r.request("globex")
	slow := r.worker()
	slow.Sender = stalledSender{stall: func() {
		r.clock.Advance(2 * slow.Lease)
		if n := runOnce(t, r.worker()); n != 3 {
			t.Errorf("the second worker took over %d emails, want 3", n)
		}
	}}
	runOnce(t, slow)
	if s := r.states(); s["sent"] != 3 {
		t.Fatalf("the stalled worker's outcome overwrote the delivery: %v", s)
	}
	r.clock.Advance(24 * time.Hour)
	for runOnce(t, r.worker()) > 0 {
	}
	msgs := r.catcher.Messages()
	for _, m := range msgs {
		if regexp.MustCompile(`/pending/(\s|$)`).MatchString(m.Text) {
			t.Errorf("an email to %v went out with an empty link:\n%s", m.To, m.Text)
		}
	}
	if len(msgs) != 3 {
		t.Errorf("%d messages arrived, want 3", len(msgs))
	}
}

// A link email whose secret is gone is refused, not sent with an empty token.
func TestRenderRefusesALinkWithoutItsSecret(t *testing.T) {
	r := newRig(t)
	w := r.worker()
	for _, kind := range []account.EmailKind{account.EmailApprovalRequest, account.EmailApprovalReminder} {
		q := account.QueuedEmail{ID: 1, MessageID: "x", CreatedAt: r.clock.Now(),
			Email: account.Email{Kind: kind, To: "hank@globex.example", Data: account.EmailData{AccountName: "Globex", Domain: "globex.example"}}}
		if _, err := w.Renderer.Render(q); err == nil {
			t.Errorf("%s rendered without its token", kind)
		}
	}
}

// A failed email keeps no live token: its secret is erased and the token it
// carried stops working; an operator's retry mints a new link that works.
func TestFailedEmailKeepsNoLiveToken(t *testing.T) {
	r := newRig(t)
	req := r.request("globex")
	ctx := context.Background()
	var first string
	if err := r.db.Pool.QueryRow(ctx, `SELECT secret FROM outbox WHERE to_address = 'hank@globex.example'`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	// Only hank's email fails: the others go first.
	if _, err := r.db.Pool.Exec(ctx, `UPDATE outbox SET next_attempt_at = next_attempt_at + interval '1 minute' WHERE to_address = 'hank@globex.example'`); err != nil {
		t.Fatal(err)
	}
	w := r.worker()
	runOnce(t, w)
	r.clock.Advance(2 * time.Minute)
	r.catcher.FailNext(1, 550, "no such user")
	runOnce(t, w)
	var id int64
	var secretLeft bool
	if err := r.db.Pool.QueryRow(ctx, `SELECT id, secret IS NOT NULL FROM outbox WHERE state = 'failed' AND to_address = 'hank@globex.example'`).Scan(&id, &secretLeft); err != nil {
		t.Fatalf("hank's email did not fail: %v %v", err, r.states())
	}
	if secretLeft {
		t.Error("the failed email keeps its token in clear")
	}
	var live int
	if err := r.db.Pool.QueryRow(ctx, `SELECT count(*) FROM approval_links WHERE token_hash = $1`, account.HashToken(first)).Scan(&live); err != nil {
		t.Fatal(err)
	}
	if live != 0 {
		t.Error("the failed email's token still opens the request")
	}
	ops, err := r.svc.AddUser(ctx, account.NewUser{Email: "ops@clc.example", Name: "Ops", Password: "correct horse", Staff: true})
	if err != nil {
		t.Fatal(err)
	}
	list, err := r.svc.RecentEmails(ctx, ops, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		if e.Email.Secret != "" {
			t.Errorf("the operators' list loaded the secret of email %d", e.ID)
		}
	}
	if err := r.svc.RetryEmail(ctx, ops, id); err != nil {
		t.Fatal(err)
	}
	r.catcher.Clear()
	runOnce(t, w)
	msgs := r.catcher.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages after the retry, want 1", len(msgs))
	}
	link := regexp.MustCompile(`/pending/([A-Za-z0-9_-]{43})`).FindStringSubmatch(msgs[0].Text)
	if link == nil {
		t.Fatalf("the retried email has no link:\n%s", msgs[0].Text)
	}
	if link[1] == first {
		t.Error("the retry sent the old token again")
	}
	var email string
	if err := r.db.Pool.QueryRow(ctx, `SELECT email FROM approval_links WHERE token_hash = $1 AND request_id = $2 AND revoked_at IS NULL`,
		account.HashToken(link[1]), req.ID).Scan(&email); err != nil || email != "hank@globex.example" {
		t.Fatalf("the retried link opens nothing: %v %q", err, email)
	}
}

// Credentials never go over a connection without TLS: the mail catcher
// offers no STARTTLS and accepts AUTH in clear, so a sender with a username
// must refuse to send to it.
func TestCredentialsRequireTLS(t *testing.T) {
	r := newRig(t)
	r.request("globex")
	host, port, _ := net.SplitHostPort(r.smtp.String())
	p, _ := strconv.Atoi(port)
	w := r.worker()
	w.Sender = mail.NewSMTPSender(config.SMTP{Host: host, Port: p, Username: "portal", Password: "s3cret"})
	runOnce(t, w)
	if n := len(r.catcher.Messages()); n != 0 {
		t.Fatalf("%d messages went out after authenticating without TLS", n)
	}
	var lastErr string
	if err := r.db.Pool.QueryRow(context.Background(), `SELECT last_error FROM outbox LIMIT 1`).Scan(&lastErr); err != nil {
		t.Fatal(err)
	}
	t.Logf("last error: %s", lastErr)
	if !strings.Contains(strings.ToLower(lastErr), "tls") {
		t.Errorf("last error %q does not say TLS was missing", lastErr)
	}
	if s := r.states(); s["pending"] != 3 {
		t.Errorf("states %v: a missing TLS is worth retrying (the server may be fixed)", s)
	}
}

// cutMidSend is a sender that reports every message delivered, but while
// it "sends", mid runs: the worker's database cable is cut under it.
type cutMidSend struct{ mid func() }

func (s cutMidSend) Send(_ context.Context, msgs []*gomail.Msg) []error {
	s.mid()
	return make([]error, len(msgs))
}

func (cutMidSend) Close() error { return nil }

// TestCutWorkerLosesItsClaims: a worker whose connections to the database
// are cut mid-send, its process alive, loses its claims to another worker
// within two seconds, though the lease has a minute to run; once the cable
// is back it records nothing over that worker's deliveries, and it claims
// again under a new lock.
func TestCutWorkerLosesItsClaims(t *testing.T) {
	r := newRig(t)
	req := r.request("globex")
	ctx := context.Background()
	cable, viaCable := pgtest.NewProxy(t, r.db.URL)
	pool, err := postgres.Open(ctx, viaCable)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	cut := r.worker()
	lock := r.lock(viaCable, pool)
	cut.Queue, cut.Lock = postgres.NewStore(pool), lock
	first, err := lock.ID(ctx)
	if err != nil || first == 0 {
		t.Fatalf("lock: %d, %v", first, err)
	}
	var tookOver time.Duration
	cut.Sender = cutMidSend{mid: func() {
		cable.Cut()
		defer cable.Restore()
		other := r.worker()
		for began := time.Now(); ; time.Sleep(50 * time.Millisecond) {
			if n := runOnce(t, other); n > 0 {
				tookOver = time.Since(began)
				if n != 3 {
					t.Errorf("the other worker took over %d emails, want 3", n)
				}
				return
			}
			if time.Since(began) > 2*time.Second {
				t.Errorf("the other worker took nothing over within 2 s of the cut: %v", r.states())
				return
			}
		}
	}}
	if n, err := cut.RunOnce(ctx); n != 3 || err != nil {
		t.Fatalf("the cut worker's RunOnce: %d, %v", n, err)
	}
	t.Logf("taken over %v after the cut", tookOver.Round(time.Millisecond))
	var attempts, events int
	if err := r.db.Pool.QueryRow(ctx, `SELECT min(attempts) FROM outbox WHERE state = 'sent'`).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	if err := r.db.Pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE kind = 'emailed' AND smart_account_id = $1`, req.Account.ID).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if s := r.states(); s["sent"] != 3 || attempts != 2 || events != 3 || len(r.catcher.Messages()) != 3 {
		t.Errorf("after the cut worker recorded: %v, attempts %d, %d emailed events, %d arrived; want 3 sent by the second claim, 3 events, 3 arrived",
			s, attempts, events, len(r.catcher.Messages()))
	}
	again, err := lock.ID(ctx)
	if err != nil || again == 0 || again == first {
		t.Errorf("after the cut the worker claims under %d (%v), before under %d: want a new lock", again, err, first)
	}
}
