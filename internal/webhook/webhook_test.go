package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/account/accounttest"
	"github.com/clc-portal/clc/internal/demo"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
	"github.com/clc-portal/clc/internal/webhook"
)

// receiver is a partner's endpoint: every delivery is verified with the
// Standard Webhooks library against the secrets it knows.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	secrets []string
	// answer picks the status of the n-th request (from 1); nil is 204.
	answer func(n int) int
	hang   chan struct{} // when set, each request waits for it to close
	n      int
	got    []received
}

type received struct {
	id, typ, body string
	verified      map[string]bool // by secret
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		r.mu.Lock()
		if r.hang != nil {
			close(r.hang)
			r.hang = nil
		}
		r.mu.Unlock()
		r.srv.Close()
	})
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.n++
	n, hang, answer := r.n, r.hang, r.answer
	rec := received{id: req.Header.Get("webhook-id"), body: string(body), verified: map[string]bool{}}
	for _, s := range r.secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			r.t.Errorf("secret %q: %v", s, err)
			continue
		}
		rec.verified[s] = wh.Verify(body, req.Header) == nil
	}
	var p struct{ Type string }
	_ = json.Unmarshal(body, &p)
	rec.typ = p.Type
	r.got = append(r.got, rec)
	r.mu.Unlock()
	if hang != nil {
		<-hang
	}
	status := http.StatusNoContent
	if answer != nil {
		status = answer(n)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, strings.Repeat("x", 5000))
}

func (r *receiver) deliveries() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

type rig struct {
	db      pgtest.DB
	store   *postgres.Store
	svc     *account.Service
	partner account.User
	worker  *webhook.Worker
}

func newRig(t *testing.T) *rig {
	t.Helper()
	db := pgtest.New(t)
	store := postgres.NewStore(db.Pool)
	svc := account.NewService(store, account.SystemClock{}, accounttest.Hasher())
	if err := demo.Seed(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	svc.SetWebhookTargets(webhook.Targets{AllowPrivate: true}, true)
	partner, err := store.UserByEmail(context.Background(), demo.PartnerEmail)
	if err != nil {
		t.Fatal(err)
	}
	w := &webhook.Worker{Queue: store, Poster: webhook.NewSender(true, webhook.Timeout), Clock: account.SystemClock{},
		Log: slog.New(slog.DiscardHandler), Backoff: webhook.Backoff{Base: 50 * time.Millisecond, Max: time.Second},
		Lease: time.Minute, Poll: 50 * time.Millisecond, Batch: 20}
	return &rig{db: db, store: store, svc: svc, partner: partner, worker: w}
}

func (g *rig) register(t *testing.T, u account.User, target string, account_ string, types ...account.WebhookEventType) account.WebhookEndpoint {
	t.Helper()
	in := account.WebhookInput{URL: target, Account: account_}
	for _, ty := range types {
		in.EventTypes = append(in.EventTypes, string(ty))
	}
	e, err := g.svc.CreateWebhook(context.Background(), u, in)
	if err != nil {
		t.Fatalf("register %s: %v", target, err)
	}
	return e
}

func (g *rig) submit(t *testing.T, name, domain string) account.AccountRequest {
	t.Helper()
	r, err := g.svc.SubmitRequest(context.Background(), g.partner, account.AccountRequestInput{
		Name: name, Domain: domain, NoteToApprover: "A customer of ours.", CustomerEmails: "buyer@" + domain,
		SubmissionKey: account.NewSubmissionKey()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// drain runs the worker until nothing is due, or fails after within.
func (g *rig) drain(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if _, err := g.worker.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		var open int
		if err := g.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM webhook_deliveries WHERE state IN ('pending', 'sending')`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("deliveries still open after %v", within)
}

// TestWebhookRequestLifeVerified: a partner's endpoint receives its request's
// events, each verified by the Standard Webhooks library, each with its own
// webhook-id; an endpoint that chose only some types gets only those.
func TestWebhookRequestLifeVerified(t *testing.T) {
	g := newRig(t)
	all := newReceiver(t)
	some := newReceiver(t)
	eAll := g.register(t, g.partner, all.srv.URL+"/hooks", "", account.WebhookTypesFor(0)...)
	eSome := g.register(t, g.partner, some.srv.URL, "", account.WebhookRequestWithdrawn)
	all.secrets, some.secrets = []string{eAll.Secret}, []string{eSome.Secret}
	if !strings.HasPrefix(eAll.Secret, "whsec_") {
		t.Errorf("secret %q lacks the whsec_ prefix", eAll.Secret)
	}

	r := g.submit(t, "Acme Webhooks", "acme-hooks.example")
	if err := g.svc.PostMessage(context.Background(), g.partner, r.Account.ID, "Who signs for Acme?"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.svc.Withdraw(context.Background(), g.partner, r.Account.ID); err != nil {
		t.Fatal(err)
	}
	g.drain(t, 10*time.Second)

	got := all.deliveries()
	var types []string
	ids := map[string]bool{}
	for _, d := range got {
		types = append(types, d.typ)
		if !d.verified[eAll.Secret] {
			t.Errorf("delivery %s (%s) did not verify", d.id, d.typ)
		}
		if ids[d.id] {
			t.Errorf("webhook-id %s twice", d.id)
		}
		ids[d.id] = true
	}
	if strings.Join(types, ",") != "account_request.submitted,account_request.comment_added,account_request.withdrawn" {
		t.Errorf("types %v, want submitted, comment_added, withdrawn", types)
	}
	if !strings.Contains(got[1].body, "Who signs for Acme?") {
		t.Errorf("the comment's payload does not carry its text: %s", got[1].body)
	}
	var payload struct {
		Type string
		Data struct {
			SmartAccount struct{ ID, Name, Status string } `json:"smart_account"`
		}
	}
	if err := json.Unmarshal([]byte(got[0].body), &payload); err != nil {
		t.Fatal(err)
	}
	if payload.Data.SmartAccount.ID != r.Account.ID.String() || payload.Data.SmartAccount.Name != "Acme Webhooks" {
		t.Errorf("payload names %+v, want %s", payload.Data.SmartAccount, r.Account.ID)
	}
	if s := some.deliveries(); len(s) != 1 || s[0].typ != "account_request.withdrawn" || !s[0].verified[eSome.Secret] {
		t.Errorf("the withdrawn-only endpoint got %+v", s)
	}

	// Another partner's request reaches neither.
	grace, _ := g.store.UserByEmail(context.Background(), "grace@northwind-partners.example")
	if _, err := g.svc.SubmitRequest(context.Background(), grace, account.AccountRequestInput{Name: "Other", Domain: "other-hooks.example",
		NoteToApprover: "x", CustomerEmails: "a@other-hooks.example", SubmissionKey: account.NewSubmissionKey()}); err != nil {
		t.Fatal(err)
	}
	g.drain(t, 5*time.Second)
	if n := len(all.deliveries()); n != 3 {
		t.Errorf("another partner's request reached the endpoint: %d deliveries", n)
	}
}

// TestWebhookRetriesThenDelivers: a 5xx, then a 2xx: two attempts with the
// same webhook-id, both recorded, the body kept to 1 KiB.
func TestWebhookRetriesThenDelivers(t *testing.T) {
	g := newRig(t)
	rc := newReceiver(t)
	e := g.register(t, g.partner, rc.srv.URL, "", account.WebhookRequestSubmitted)
	rc.secrets = []string{e.Secret}
	rc.answer = func(n int) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	g.submit(t, "Retry Co", "retry-hooks.example")
	g.drain(t, 10*time.Second)

	got := rc.deliveries()
	if len(got) != 2 || got[0].id != got[1].id || !got[0].verified[e.Secret] || !got[1].verified[e.Secret] {
		t.Fatalf("deliveries %+v, want two verified with one webhook-id", got)
	}
	_, ds, err := g.svc.WebhookDeliveries(context.Background(), g.partner, e.ID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries %v, %v", ds, err)
	}
	_, d, attempts, err := g.svc.WebhookAttempts(context.Background(), g.partner, e.ID, ds[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != account.WebhookDelivered || len(attempts) != 2 || attempts[0].StatusCode != 503 || attempts[1].StatusCode != 200 {
		t.Errorf("state %s, attempts %+v", d.State, attempts)
	}
	for _, a := range attempts {
		if len(a.ResponseBody) > account.MaxWebhookResponseBody {
			t.Errorf("kept %d bytes of the body, want at most %d", len(a.ResponseBody), account.MaxWebhookResponseBody)
		}
	}

	// Redeliver: once more, the same webhook-id and body.
	if err := g.svc.Redeliver(context.Background(), g.partner, e.ID, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	g.drain(t, 5*time.Second)
	got = rc.deliveries()
	if len(got) != 3 || got[2].id != got[0].id || got[2].body != got[0].body || !got[2].verified[e.Secret] {
		t.Errorf("redelivery %+v, want the first's id and body", got[len(got)-1])
	}
	// A delivery still due cannot be redelivered; nor can a stranger's.
	grace, _ := g.store.UserByEmail(context.Background(), "grace@northwind-partners.example")
	for _, err := range []error{
		g.svc.Redeliver(context.Background(), grace, e.ID, ds[0].ID),
		g.svc.Redeliver(context.Background(), g.partner, e.ID, ds[0].ID+1000),
	} {
		if !errors.Is(err, account.ErrNotFound) {
			t.Errorf("redeliver someone else's or a crafted id: %v, want not found", err)
		}
	}
}

// TestWebhookRotatedSecret: after a rotation each delivery carries two
// signatures, and a receiver that knows either secret verifies it.
func TestWebhookRotatedSecret(t *testing.T) {
	g := newRig(t)
	rc := newReceiver(t)
	e := g.register(t, g.partner, rc.srv.URL, "", account.WebhookRequestSubmitted)
	fresh, err := g.svc.RotateWebhookSecret(context.Background(), g.partner, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	rc.secrets = []string{e.Secret, fresh}
	g.submit(t, "Rotate Co", "rotate-hooks.example")
	g.drain(t, 5*time.Second)
	got := rc.deliveries()
	if len(got) != 1 || !got[0].verified[e.Secret] || !got[0].verified[fresh] {
		t.Fatalf("after a rotation: %+v, want verified by the old and the new secret", got)
	}
	// Once the overlap is over, only the new one signs.
	g.db.Exec(t, `UPDATE webhook_endpoints SET previous_secret_until = now() - interval '1 second'`)
	g.submit(t, "Rotate Two", "rotate-two-hooks.example")
	g.drain(t, 5*time.Second)
	got = rc.deliveries()
	if len(got) != 2 || got[1].verified[e.Secret] || !got[1].verified[fresh] {
		t.Errorf("after the overlap: %+v, want only the new secret", got[1])
	}
}

// TestWebhookSlowEndpointTimesOut: an endpoint that never answers holds the
// worker for webhook.Timeout (10 s), no longer; the attempt is recorded as
// a timeout and retried.
func TestWebhookSlowEndpointTimesOut(t *testing.T) {
	g := newRig(t)
	rc := newReceiver(t)
	rc.hang = make(chan struct{})
	e := g.register(t, g.partner, rc.srv.URL, "", account.WebhookRequestSubmitted)
	rc.secrets = []string{e.Secret}
	g.submit(t, "Slow Co", "slow-hooks.example")
	// Two more behind it: the batch hands them back untried rather than
	// hang on each in turn.
	g.submit(t, "Slow Two", "slow-two-hooks.example")
	g.submit(t, "Slow Three", "slow-three-hooks.example")
	start := time.Now()
	if _, err := g.worker.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took < webhook.Timeout-time.Second || took > webhook.Timeout+2*time.Second {
		t.Errorf("the attempt held the worker %v, want about %v", took, webhook.Timeout)
	}
	_, ds, _ := g.svc.WebhookDeliveries(context.Background(), g.partner, e.ID)
	if len(ds) != 3 || ds[0].Attempts != 0 || ds[1].Attempts != 0 || ds[0].State != account.WebhookPending {
		t.Errorf("the later deliveries: %+v, want pending and uncharged", ds[:2])
	}
	_, d, attempts, err := g.svc.WebhookAttempts(context.Background(), g.partner, e.ID, ds[2].ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != account.WebhookPending || len(attempts) != 1 || !strings.Contains(attempts[0].Error, "Timeout") {
		t.Errorf("state %s, attempts %+v, want pending after a timeout", d.State, attempts)
	}
	t.Logf("a hung endpoint held the worker %v", took.Round(10*time.Millisecond))
}

// TestWebhookPrivateTargetsRefused: without the operator's allowance an
// endpoint on a loopback, private or link-local address is refused when it
// is registered, and the dialer refuses it when it is posted to, whatever
// DNS said before.
func TestWebhookPrivateTargetsRefused(t *testing.T) {
	g := newRig(t)
	rc := newReceiver(t)
	g.svc.SetWebhookTargets(webhook.Targets{}, false)
	for _, target := range []string{
		"https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://169.254.169.254/latest", "https://[::1]/hook",
		"https://[::ffff:127.0.0.1]/hook", "https://100.64.0.1/", "https://localhost/hook", "https://192.168.1.1/",
	} {
		_, err := g.svc.CreateWebhook(context.Background(), g.partner, account.WebhookInput{URL: target,
			EventTypes: []string{string(account.WebhookRequestSubmitted)}})
		var fe account.FieldErrors
		if !errors.As(err, &fe) || fe["url"].Msg != "webhooks.error.url_private" {
			t.Errorf("%s: %v, want refused as private", target, err)
		}
	}
	for _, target := range []string{"http://hooks.example.com/", "https://user:pw@hooks.example.com/", "ftp://x.example/",
		"https://" + strings.Repeat("a", account.MaxWebhookURLLength) + ".example/"} {
		_, err := g.svc.CreateWebhook(context.Background(), g.partner, account.WebhookInput{URL: target,
			EventTypes: []string{string(account.WebhookRequestSubmitted)}})
		var fe account.FieldErrors
		if !errors.As(err, &fe) || fe["url"].Msg == "" {
			t.Errorf("%.60s: %v, want refused", target, err)
		}
	}
	if !webhook.Public(netip.MustParseAddr("93.184.215.14")) {
		t.Error("a public address counted as internal")
	}

	// At delivery: an endpoint registered while allowed, posted by a
	// sender that is not, is never reached.
	g.svc.SetWebhookTargets(webhook.Targets{AllowPrivate: true}, true)
	e := g.register(t, g.partner, rc.srv.URL, "", account.WebhookRequestSubmitted)
	g.worker.Poster = webhook.NewSender(false, webhook.Timeout)
	g.submit(t, "Rebind Co", "rebind-hooks.example")
	if _, err := g.worker.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(rc.deliveries()); n != 0 {
		t.Errorf("the sender reached a loopback endpoint %d times", n)
	}
	_, ds, _ := g.svc.WebhookDeliveries(context.Background(), g.partner, e.ID)
	_, _, attempts, _ := g.svc.WebhookAttempts(context.Background(), g.partner, e.ID, ds[0].ID)
	if len(attempts) != 1 || !strings.Contains(attempts[0].Error, webhook.ErrPrivateAddress.Error()) {
		t.Errorf("attempts %+v, want refused by the dialer", attempts)
	}
}

// TestWebhookOwnership: an endpoint is its owner's alone; an
// administrator's endpoint receives its account's access requests only, and
// is gone for its owner once they no longer administer the account; bounds.
func TestWebhookOwnership(t *testing.T) {
	g := newRig(t)
	ctx := context.Background()
	rc := newReceiver(t)
	grace, _ := g.store.UserByEmail(ctx, "grace@northwind-partners.example")
	hank, _ := g.store.UserByEmail(ctx, "hank@globex.example")
	e := g.register(t, g.partner, rc.srv.URL, "", account.WebhookRequestSubmitted)

	if _, err := g.svc.WebhookEndpoint(ctx, grace, e.ID); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("another user sees the endpoint: %v", err)
	}
	if err := g.svc.DeleteWebhook(ctx, grace, e.ID); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("another user deletes the endpoint: %v", err)
	}
	if _, err := g.svc.RotateWebhookSecret(ctx, grace, e.ID); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("another user rotates the secret: %v", err)
	}
	if _, _, err := g.svc.WebhookDeliveries(ctx, grace, e.ID); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("another user lists the deliveries: %v", err)
	}

	// Access requests: only an Administrator of the account registers for
	// them, and only their types.
	globex, _ := g.store.AccountByDomain(ctx, "globex.example")
	for _, u := range []account.User{g.partner, grace} { // ada is a User of Globex, grace nothing
		_, err := g.svc.CreateWebhook(ctx, u, account.WebhookInput{URL: rc.srv.URL, Account: globex.ID.String(),
			EventTypes: []string{string(account.WebhookAccessRequested)}})
		var fe account.FieldErrors
		if !errors.As(err, &fe) || fe["account"].Msg == "" {
			t.Errorf("%s registers for Globex's access requests: %v", u.Email, err)
		}
	}
	_, err := g.svc.CreateWebhook(ctx, hank, account.WebhookInput{URL: rc.srv.URL, Account: globex.ID.String(),
		EventTypes: []string{string(account.WebhookRequestSubmitted)}})
	var fe account.FieldErrors
	if !errors.As(err, &fe) || fe["event_types"].Msg == "" {
		t.Errorf("an access endpoint took a request type: %v", err)
	}
	admin := g.register(t, hank, rc.srv.URL+"/globex", globex.ID.String(), account.WebhookTypesFor(globex.ID)...)
	rc.secrets = []string{e.Secret, admin.Secret}
	if _, err := g.svc.RequestAccess(ctx, grace, globex.ID, "", account.AccessRequestInput{Scope: string(account.ScopeAccount), Role: string(account.RoleViewer), Reason: "Reporting for the renewal."}); err != nil {
		t.Fatal(err)
	}
	g.drain(t, 5*time.Second)
	got := rc.deliveries()
	if len(got) != 1 || got[0].typ != "access_request.requested" || !got[0].verified[admin.Secret] {
		t.Errorf("the administrator's endpoint got %+v", got)
	}

	// Hank is no longer Globex's administrator: his endpoint is gone for
	// him, and receives nothing more.
	g.db.Exec(t, `UPDATE memberships SET role = 'user' WHERE user_id = $1 AND smart_account_id = $2`, hank.ID, int64(globex.ID))
	if _, err := g.svc.WebhookEndpoint(ctx, hank, admin.ID); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("a former administrator still sees the endpoint: %v", err)
	}
	peter, _ := g.store.UserByEmail(ctx, "peter@initech.example")
	if _, err := g.svc.RequestAccess(ctx, peter, globex.ID, "", account.AccessRequestInput{Scope: string(account.ScopeAccount), Role: string(account.RoleViewer), Reason: "Another one."}); err != nil {
		t.Fatal(err)
	}
	g.drain(t, 5*time.Second)
	if n := len(rc.deliveries()); n != 1 {
		t.Errorf("a former administrator's endpoint got %d deliveries, want still 1", n)
	}

	// At most MaxWebhookEndpoints each.
	for i := 1; i < account.MaxWebhookEndpoints; i++ {
		g.register(t, g.partner, rc.srv.URL+"/n", "", account.WebhookRequestSubmitted)
	}
	_, err = g.svc.CreateWebhook(ctx, g.partner, account.WebhookInput{URL: rc.srv.URL, EventTypes: []string{string(account.WebhookRequestSubmitted)}})
	if !errors.As(err, &fe) || fe["url"].Msg != "webhooks.error.too_many" {
		t.Errorf("endpoint %d: %v, want refused", account.MaxWebhookEndpoints+1, err)
	}
}

// TestWebhookClaimFenced: a worker whose claim was overtaken records
// nothing over the next worker's.
func TestWebhookClaimFenced(t *testing.T) {
	g := newRig(t)
	ctx := context.Background()
	rc := newReceiver(t)
	g.register(t, g.partner, rc.srv.URL, "", account.WebhookRequestSubmitted)
	g.submit(t, "Fence Co", "fence-hooks.example")
	now := time.Now()
	first, err := g.store.ClaimWebhooks(ctx, 0, now, 10, time.Millisecond)
	if err != nil || len(first) != 1 {
		t.Fatalf("claim: %v, %v", first, err)
	}
	second, err := g.store.ClaimWebhooks(ctx, 0, now.Add(time.Second), 10, time.Minute)
	if err != nil || len(second) != 1 || second[0].WebhookID != first[0].WebhookID {
		t.Fatalf("second claim after the lease: %v, %v", second, err)
	}
	a := account.WebhookAttempt{Attempt: first[0].Attempts, At: now, StatusCode: 200}
	if err := g.store.RecordWebhookAttempt(ctx, first[0].Claim(), a, true, time.Time{}); !errors.Is(err, account.ErrClaimLost) {
		t.Errorf("the overtaken claim recorded: %v", err)
	}
	a.Attempt = second[0].Attempts
	if err := g.store.RecordWebhookAttempt(ctx, second[0].Claim(), a, true, time.Time{}); err != nil {
		t.Errorf("the live claim: %v", err)
	}
}

// TestWebhookDeliveriesPrunedAfterRetention: the housekeeping job forgets a
// settled delivery past the retention, with its attempts, and keeps a young
// one and an old one that is due again (redelivered).
func TestWebhookDeliveriesPrunedAfterRetention(t *testing.T) {
	g := newRig(t)
	rc := newReceiver(t)
	e := g.register(t, g.partner, rc.srv.URL, "", account.WebhookRequestSubmitted)
	rc.secrets = []string{e.Secret}
	for _, d := range []string{"old-settled", "old-due", "young"} {
		g.submit(t, "Prune "+d, d+".prune-hooks.example")
	}
	g.drain(t, 10*time.Second)
	ctx := context.Background()
	var ids []int64
	if err := g.db.Pool.QueryRow(ctx, `SELECT array_agg(id ORDER BY id) FROM webhook_deliveries`).Scan(&ids); err != nil || len(ids) != 3 {
		t.Fatalf("deliveries %v, %v", ids, err)
	}
	old := time.Now().Add(-account.WebhookRetention - time.Hour)
	if _, err := g.db.Pool.Exec(ctx, `UPDATE webhook_deliveries SET created_at = $1 WHERE id = ANY($2)`, old, ids[:2]); err != nil {
		t.Fatal(err)
	}
	if _, err := g.db.Pool.Exec(ctx, `UPDATE webhook_deliveries SET state = 'pending' WHERE id = $1`, ids[1]); err != nil {
		t.Fatal(err)
	}

	n, err := g.svc.PruneWebhookDeliveries(ctx)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want the old settled delivery alone", n, err)
	}
	var left []int64
	var attempts int
	if err := g.db.Pool.QueryRow(ctx, `SELECT array_agg(id ORDER BY id), (SELECT count(*) FROM webhook_attempts WHERE delivery_id = $1)
		FROM webhook_deliveries`, ids[0]).Scan(&left, &attempts); err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || left[0] != ids[1] || left[1] != ids[2] || attempts != 0 {
		t.Errorf("left %v with %d attempts of the pruned one; want %v and none", left, attempts, ids[1:])
	}
	if n, err := g.svc.PruneWebhookDeliveries(ctx); err != nil || n != 0 {
		t.Errorf("a second run pruned %d, %v; want nothing", n, err)
	}
}
