package main

// Faults with nothing lost: the clc binary as a real process, killed,
// stopped and starved of its SMTP server and its database under load, then
// checked at the real SMTP server and in the database. The rig is in
// faults_rig_test.go.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/demo"
	"github.com/clc-portal/clc/internal/mailcatch"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// seededDB is a fresh database with the demo data, and a real SMTP server.
func seededDB(t *testing.T) (pgtest.DB, *mailcatch.Server, string) {
	t.Helper()
	db := pgtest.New(t)
	mustRun(t, map[string]string{"DATABASE_URL": db.URL}, "", "seed", "demo")
	catcher := mailcatch.New(nil)
	addr, err := catcher.ListenSMTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catcher.Close() })
	return db, catcher, "smtp://" + addr.String()
}

// TestFaultKill9LosesNoEmail kills `clc serve` with SIGKILL at random moments
// while partners submit requests and approvers decide on them, restarting it
// each time. Afterwards every committed request and decision has every email
// it caused, each of them arrived, and a resend carries the original's
// Message-ID; and the emails each killed worker had claimed arrived within
// 10 s of the restart, under the default two-minute lease: the restarted
// worker finds the dead one's lock free and takes its claims at once.
func TestFaultKill9LosesNoEmail(t *testing.T) {
	const longestWait = 10 * time.Second
	kills := faultKills(t)
	bin := buildCLC(t)
	db, catcher, smtpURL := seededDB(t)
	// The default lease: the claims of a killed worker must come free by
	// its lock, not by a lease shortened for the test. The partner's
	// hundreds of requests under 200 kills are the test's load, not abuse.
	p := newPortal(t, bin, db.URL, smtpURL, "CLC_USER_EMAILS_PER_DAY=1000000")
	p.start()

	partners := []*browser{newBrowser(p.base, true), newBrowser(p.base, true)}
	for _, b := range partners {
		if err := b.logIn(demo.PartnerEmail, demo.Password); err != nil {
			t.Fatal(err)
		}
	}
	approver := newBrowser(p.base, true)

	var (
		mu        sync.Mutex
		taken     []order // acknowledged with a 303
		unsure    []order // sent, but the answer was lost: sent again with the same key
		decided   = map[string]bool{}
		serial    atomic.Int64
		outcomes  tally
		decisions tally
		// acked has a value for every action the portal acknowledged:
		// a life's kill waits for its first, so that a slow machine still
		// commits work in every life instead of being killed before it.
		acked = make(chan struct{}, 64)
	)
	ack := func() {
		select {
		case acked <- struct{}{}:
		default:
		}
	}
	// act is one partner's or approver's next step; errors are the kills.
	act := func(ctx context.Context, b *browser) {
		mu.Lock()
		var o order
		retry := len(unsure) > 0 && rand.IntN(2) == 0
		if retry {
			o, unsure = unsure[0], unsure[1:]
		}
		var link string
		if !retry && rand.IntN(3) == 0 {
			for _, l := range approvalLinks(catcher) {
				if !decided[l] {
					link = l
					break
				}
			}
			decided[link] = link != ""
		}
		mu.Unlock()
		if link != "" {
			path, form := "/pending/"+link+"/approve", url.Values{}
			if rand.IntN(3) == 0 {
				path, form = "/pending/"+link+"/deny", url.Values{"reason": {"Not our company"}}
			}
			code, _, err := approver.do(ctx, http.MethodPost, path, form)
			switch {
			case err != nil:
				decisions.add("lost")
			case code == http.StatusSeeOther:
				decisions.add("taken")
				ack()
			default:
				decisions.add("refused")
			}
			return
		}
		if !retry {
			o = newOrder(int(serial.Add(1)))
			if err := b.review(ctx, &o); err != nil {
				outcomes.add("review lost")
				return
			}
		}
		code, err := b.submit(ctx, o)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			outcomes.add("submit lost")
			unsure = append(unsure, o)
		case code == http.StatusSeeOther:
			outcomes.add("taken")
			taken = append(taken, o)
			ack()
		default:
			t.Errorf("submitting %s answered %d", o.name, code)
		}
	}

	mail := newInbox(catcher)
	var held []heldClaims
	start := time.Now()
	for life := range kills {
		mail.harvest()
		// Each life of the server sees a burst from both partners, and is
		// killed at a random moment of it after its first acknowledged
		// action: mid-request, mid-commit or mid-send of the emails earlier
		// lives queued. Every other life is killed just as an email of its
		// worker arrives instead: mid-batch, the moment a random one rarely
		// hits, with emails sent and not recorded, and others claimed and
		// not sent.
		for len(acked) > 0 {
			<-acked
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, b := range partners {
			// Six steps at most, back to back: the kill below finds steps
			// in flight, and a fast machine does not pile up more work than
			// a slow one.
			wg.Go(func() {
				for range 6 {
					if ctx.Err() != nil {
						return
					}
					act(ctx, b)
				}
			})
		}
		began := time.Now()
		select {
		case <-acked:
		case <-time.After(longestWait):
			cancel()
			wg.Wait()
			t.Fatalf("life %d: the portal acknowledged nothing in %v", life, longestWait)
		}
		// The first step's time is this machine's pace: the kill falls
		// within the next two steps, with more of them still to come.
		time.Sleep(rand.N(2 * time.Since(began)))
		if life%2 == 1 {
			// Past the claim at start-up, which would end the life before
			// the partners did anything: the next poll's batch.
			waitArrival(catcher, mail.harvest(), 2*time.Second)
		}
		p.kill9()
		killedAt := time.Now()
		// The killed worker was the only one: what is claimed now, once its
		// last statements have run, it held.
		settled(t, db.Pool)
		claims := claimedBy(t, db.Pool, 0)
		cancel()
		wg.Wait()
		restartAt := time.Now()
		p.start()
		if len(claims) > 0 {
			held = append(held, heldClaims{messageIDs: claims, killedAt: killedAt, from: restartAt})
		}
	}
	burst := time.Since(start)

	// Every request the partners were told was taken is in the database, once.
	mu.Lock()
	for _, o := range append(taken, unsure...) {
		var n int
		if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM account_requests WHERE submission_key = $1`, o.key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		acknowledged := containsOrder(taken, o)
		if n > 1 || (acknowledged && n != 1) {
			t.Errorf("%s (acknowledged %v): %d requests", o.name, acknowledged, n)
		}
	}
	mu.Unlock()
	checkInvariants(t, db.Pool)
	sentAt := waitAllSent(t, db.Pool, time.Minute)
	arrived := mail.all(t)
	d := checkDelivered(t, db.Pool, arrived)
	waits := claimWaits(t, held, arrived)
	if len(held) == 0 {
		t.Errorf("no kill caught the worker holding a claim: the test proved nothing of the claims")
	}
	if worst := waits.max(); worst > longestWait {
		t.Errorf("a killed worker's claims arrived %v after the restart, want within %v", worst.Round(10*time.Millisecond), longestWait)
	}

	var requests, approved, denied int
	if err := db.Pool.QueryRow(context.Background(), `
		SELECT count(*), count(*) FILTER (WHERE status = 'approved'), count(*) FILTER (WHERE status = 'denied')
		FROM account_requests`).Scan(&requests, &approved, &denied); err != nil {
		t.Fatal(err)
	}
	// Each life waited for an acknowledged submission or decision: fewer
	// committed than lives means the portal lost acknowledged work, or the
	// burst did not happen.
	if requests+approved+denied < kills || approved+denied == 0 {
		t.Errorf("only %d requests (%d approved, %d denied) over %d kills: the burst did not happen", requests, approved, denied, kills)
	}
	t.Logf("%d kills -9 in %v; submissions %v, decisions %v; committed: %d requests (%d approved, %d denied); "+
		"%d emails in the outbox, all delivered %v after the last restart: %d messages arrived, %d of them resends with their original's Message-ID; "+
		"%d kills caught the worker holding claims; from the restart to the delivery of the last of them: %v",
		kills, burst.Round(time.Second), &outcomes, &decisions, requests, approved, denied,
		d.emails, sentAt.Sub(start.Add(burst)).Round(100*time.Millisecond), d.messages, d.duplicates,
		len(held), waits)
}

func containsOrder(os []order, o order) bool {
	for _, x := range os {
		if x.key == o.key {
			return true
		}
	}
	return false
}

// TestFaultSMTPDownDelaysNothingElse takes the SMTP server away for 30 s while a
// partner submits requests: every submission is taken at once, and every
// email is delivered within 30 s of the server's return.
func TestFaultSMTPDownDelaysNothingElse(t *testing.T) {
	// Side by side with the package's other tests: its one bound on time
	// (delivered within the outage's length of the return) is loose, and
	// most of its time is the outage itself.
	t.Parallel()
	const outage = 30 * time.Second
	bin := buildCLC(t)
	db, catcher, direct := seededDB(t)
	// pgtest's proxy forwards any TCP: here it is the SMTP server's cable.
	cable, viaCable := pgtest.NewProxy(t, direct)
	p := newPortal(t, bin, db.URL, viaCable)
	p.start()
	b := newBrowser(p.base, true)
	if err := b.logIn(demo.PartnerEmail, demo.Password); err != nil {
		t.Fatal(err)
	}
	n, slowest := 0, time.Duration(0)
	submit := func() {
		t.Helper()
		n++
		o := newOrder(n)
		began := time.Now()
		if err := b.review(context.Background(), &o); err != nil {
			t.Fatalf("review %d: %v", n, err)
		}
		if code, err := b.submit(context.Background(), o); err != nil || code != http.StatusSeeOther {
			t.Fatalf("submission %d with SMTP down: %d %v", n, code, err)
		}
		slowest = max(slowest, time.Since(began))
	}
	for range 3 {
		submit()
	}
	waitAllSent(t, db.Pool, 20*time.Second)
	before := len(catcher.Messages())

	cable.Cut()
	cutAt := time.Now()
	during := n
	for time.Since(cutAt) < outage {
		submit()
		time.Sleep(300 * time.Millisecond)
	}
	during = n - during
	// An email being tried as the cable was cut is charged that attempt;
	// the tries that found no server charge nothing. Claimed rows are
	// counted with the attempt their claim took back on release.
	var waiting, charged, most int
	if err := db.Pool.QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE state <> 'sent'),
			count(*) FILTER (WHERE state <> 'sent' AND attempts - (state = 'sending')::int > 0),
			coalesce(max(attempts - (state = 'sending')::int) FILTER (WHERE state <> 'sent'), 0)
		FROM outbox`).Scan(&waiting, &charged, &most); err != nil {
		t.Fatal(err)
	}
	if len(catcher.Messages()) != before || waiting != 2*during {
		t.Fatalf("during the outage %d messages arrived and %d emails wait, want 0 and %d", len(catcher.Messages())-before, waiting, 2*during)
	}
	if most > 1 {
		t.Errorf("an email waiting for an unreachable server was charged %d attempts", most)
	}
	cable.Restore()
	backAt := time.Now()

	waitAllSent(t, db.Pool, outage)
	d := checkDelivered(t, db.Pool, newInbox(catcher).all(t))
	var last time.Time
	for _, m := range catcher.Messages() {
		if m.Received.After(last) {
			last = m.Received
		}
	}
	if lag := last.Sub(backAt); lag > outage {
		t.Errorf("the last email arrived %v after the SMTP server returned, want within %v", lag, outage)
	}
	t.Logf("SMTP down for %v: %d submissions meanwhile, all taken (slowest %v); %d emails waited (%d charged the one attempt the cut broke, none more); "+
		"all %d emails delivered, the last %v after the server returned",
		outage, during, slowest.Round(time.Millisecond), waiting, charged, d.emails, last.Sub(backAt).Round(100*time.Millisecond))
	if err := p.terminate(30 * time.Second); err != nil {
		t.Errorf("clc serve after SIGTERM: %v", err)
	}
}

// TestFaultPostgresRestartRecoversByItself stops and starts the portal's
// PostgreSQL under load. Meanwhile /readyz fails and every page that needs
// the database is the error page, promptly; afterwards the portal serves
// again without a restart, and no request was left half-written.
func TestFaultPostgresRestartRecoversByItself(t *testing.T) {
	// Side by side with the package's other tests: the cluster it stops
	// is its own, and its bounds on time (5 s is a hang) are loose.
	t.Parallel()
	const down = 5 * time.Second
	bin := buildCLC(t)
	cluster, dbURL := startCluster(t)
	mustRun(t, map[string]string{"DATABASE_URL": dbURL}, "", "migrate")
	mustRun(t, map[string]string{"DATABASE_URL": dbURL}, "", "seed", "demo")
	catcher := mailcatch.New(nil)
	smtpAddr, err := catcher.ListenSMTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catcher.Close() })
	p := newPortal(t, bin, dbURL, "smtp://"+smtpAddr.String())
	p.start()

	type seen struct {
		at, done time.Time
		what     string
		code     int
		page     string
		err      error
	}
	var (
		mu   sync.Mutex
		log  []seen
		n    atomic.Int64
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	record := func(what string, f func() (int, string, error)) {
		s := seen{at: time.Now(), what: what}
		s.code, s.page, s.err = f()
		s.done = time.Now()
		mu.Lock()
		log = append(log, s)
		mu.Unlock()
	}
	loop := func(every time.Duration, f func()) {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(every):
				}
				f()
			}
		})
	}
	anon := newBrowser(p.base, true)
	loop(100*time.Millisecond, func() {
		record("/readyz", func() (int, string, error) { return anon.do(context.Background(), http.MethodGet, "/readyz", nil) })
	})
	for range 2 {
		b := newBrowser(p.base, true)
		if err := b.logIn(demo.PartnerEmail, demo.Password); err != nil {
			t.Fatal(err)
		}
		loop(50*time.Millisecond, func() {
			record("directory", func() (int, string, error) {
				return b.do(context.Background(), http.MethodGet, "/clc/directory", nil)
			})
		})
		loop(50*time.Millisecond, func() {
			o := newOrder(int(n.Add(1)))
			record("review", func() (int, string, error) {
				f := o.form()
				f.Set("action", "review")
				code, page, err := b.do(context.Background(), http.MethodPost, "/clc/accounts/new", f)
				if m := submissionKey.FindStringSubmatch(page); m != nil {
					o.key = m[1]
				}
				return code, page, err
			})
			if o.key != "" {
				record("submit", func() (int, string, error) {
					f := o.form()
					f.Set("submission_key", o.key)
					return b.do(context.Background(), http.MethodPost, "/clc/accounts/new/submit", f)
				})
			}
		})
	}

	time.Sleep(2 * time.Second)
	stoppedAt := time.Now()
	cluster.stop()
	time.Sleep(down)
	startedAt := time.Now()
	cluster.start()
	// Load goes on until /readyz has said ready for two seconds.
	var readyAt time.Time
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		for i := len(log) - 1; i >= 0 && readyAt.IsZero(); i-- {
			if s := log[i]; s.what == "/readyz" && s.at.After(startedAt) && s.code == http.StatusOK {
				readyAt = s.done
			}
		}
		mu.Unlock()
		if !readyAt.IsZero() && time.Since(readyAt) > 2*time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not recover within 30 s of PostgreSQL's start")
		}
	}
	close(stop)
	wg.Wait()

	goText := []string{"dial tcp", "connection refused", "SQLSTATE", "pgx", "pgconn", "goroutine", "shutting down", "context deadline"}
	var slowest time.Duration
	var failedReady, pages, errPages, afterOK int
	for _, s := range log {
		took := s.done.Sub(s.at)
		slowest = max(slowest, took)
		if s.err != nil {
			t.Errorf("%s at %v: no answer: %v", s.what, s.at.Sub(stoppedAt).Round(time.Millisecond), s.err)
			continue
		}
		if took > 5*time.Second {
			t.Errorf("%s at %v took %v: a hang, not an error page", s.what, s.at.Sub(stoppedAt).Round(time.Millisecond), took)
		}
		if s.what == "/readyz" {
			if s.code != http.StatusOK {
				failedReady++
				if s.done.Before(stoppedAt) || s.at.After(readyAt) {
					t.Errorf("/readyz answered %d at %v, outside the outage", s.code, s.at.Sub(stoppedAt))
				}
			}
			continue
		}
		pages++
		if s.code < 400 {
			if s.at.After(readyAt) {
				afterOK++
			}
			continue
		}
		errPages++
		if s.code != http.StatusServiceUnavailable || !strings.Contains(s.page, "Cisco License Central is unavailable") || !strings.Contains(s.page, "Request id") {
			t.Errorf("%s at %v: %d, not the unavailable page:\n%.600s", s.what, s.at.Sub(stoppedAt).Round(time.Millisecond), s.code, s.page)
		}
		for _, g := range goText {
			if strings.Contains(s.page, g) {
				t.Errorf("%s at %v shows the internal text %q", s.what, s.at.Sub(stoppedAt).Round(time.Millisecond), g)
			}
		}
	}
	if failedReady == 0 || errPages == 0 {
		t.Fatalf("/readyz failed %d times and %d pages were error pages: the outage was not seen", failedReady, errPages)
	}
	if afterOK == 0 {
		t.Error("no page was served after the database came back")
	}

	pool, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	checkInvariants(t, pool)
	waitAllSent(t, pool, 30*time.Second)
	d := checkDelivered(t, pool, newInbox(catcher).all(t))
	var requests int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM account_requests`).Scan(&requests); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL stopped for %v under load: /readyz failed %d times and was ready again %v after PostgreSQL's start; "+
		"%d pages, %d of them the unavailable page (503), none slower than %v; %d requests committed, none half-written; %d emails, all delivered",
		down, failedReady, readyAt.Sub(startedAt).Round(100*time.Millisecond), pages, errPages, slowest.Round(time.Millisecond), requests, d.emails)
	if err := p.terminate(30 * time.Second); err != nil {
		t.Errorf("clc serve after SIGTERM: %v", err)
	}
}

// TestFaultSIGTERMDropsNothing stops `clc serve` with SIGTERM while partners sign
// in, submit and browse: /readyz turns 503 while it drains, every request it
// had accepted is answered, it exits
// cleanly, and its worker leaves no claim behind, so the next start delivers
// everything at once rather than after the claims' two-minute lease.
func TestFaultSIGTERMDropsNothing(t *testing.T) {
	const stops = 3
	bin := buildCLC(t)
	db, catcher, smtpURL := seededDB(t)
	// The default lease: a stranded claim would hold its email 2 min. A
	// drain of 1 s: the clients, like a load balancer, stop sending when
	// SIGTERM is sent, so none is still connecting when the listener closes.
	// This test is about the drain: a request beyond the bound on requests
	// in flight waits for a place instead of being shed at once (shedding
	// has its own test, TestOverloadIsShedAtOnce).
	p := newPortal(t, bin, db.URL, smtpURL, "CLC_SHUTDOWN_DRAIN=1s", "CLC_ADMISSION_WAIT=10s")
	var inFlight, answered, held, serial int64
	for round := range stops {
		p.start()
		var (
			signalled atomic.Bool
			sigAt     atomic.Int64 // unix nanoseconds
			wg        sync.WaitGroup
			mu        sync.Mutex
		)
		// step is one request; it counts as accepted when its connection was
		// made before the signal.
		step := func(b *browser, method, path string, form url.Values) (int, string, bool) {
			if signalled.Load() {
				return 0, "", false
			}
			var connAt atomic.Int64
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
				GotConn: func(httptrace.GotConnInfo) { connAt.Store(time.Now().UnixNano()) },
			})
			code, page, err := b.do(ctx, method, path, form)
			done := time.Now().UnixNano()
			sig := sigAt.Load()
			accepted := connAt.Load() != 0 && (sig == 0 || connAt.Load() < sig)
			if !accepted {
				return code, page, err == nil
			}
			mu.Lock()
			defer mu.Unlock()
			if sig != 0 && done > sig {
				inFlight++
			}
			if err != nil || code >= 500 {
				t.Errorf("round %d: %s %s accepted before SIGTERM was dropped: %d %v", round, method, path, code, err)
				return code, page, false
			}
			answered++
			return code, page, true
		}
		for c := range 6 {
			b := newBrowser(p.base, false)
			if err := b.logIn(demo.PartnerEmail, demo.Password); err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				for !signalled.Load() {
					switch c % 3 {
					case 0: // signing in is the slowest request: argon2id
						step(b, http.MethodPost, "/login", url.Values{"email": {demo.PartnerEmail}, "password": {demo.Password}})
					case 1:
						step(b, http.MethodGet, "/clc/directory", nil)
					case 2:
						mu.Lock()
						serial++
						o := newOrder(int(serial))
						mu.Unlock()
						f := o.form()
						f.Set("action", "review")
						_, page, ok := step(b, http.MethodPost, "/clc/accounts/new", f)
						if m := submissionKey.FindStringSubmatch(page); ok && m != nil {
							f = o.form()
							f.Set("submission_key", m[1])
							step(b, http.MethodPost, "/clc/accounts/new/submit", f)
						}
					}
				}
			})
		}
		time.Sleep(time.Second + time.Duration(rand.IntN(500))*time.Millisecond)
		sigAt.Store(time.Now().UnixNano())
		signalled.Store(true)
		exited := make(chan error, 1)
		go func() { exited <- p.terminate(30 * time.Second) }()
		var claims int64
		if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE state = 'sending'`).Scan(&claims); err != nil {
			t.Fatal(err)
		}
		held += claims
		// The signal reaches the process a moment after it is sent: within
		// the drain, /readyz must turn 503.
		for deadline := time.Now().Add(900 * time.Millisecond); ; time.Sleep(20 * time.Millisecond) {
			code, page, err := newBrowser(p.base, false).do(context.Background(), http.MethodGet, "/readyz", nil)
			if code == http.StatusServiceUnavailable {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("round %d: /readyz while draining: %d %q %v, want 503", round, code, page, err)
				break
			}
		}
		if err := <-exited; err != nil {
			t.Fatalf("round %d: clc serve after SIGTERM: %v", round, err)
		}
		wg.Wait()
		var left int
		if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE state = 'sending'`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Errorf("round %d: the stopped worker left %d emails claimed", round, left)
		}
	}
	if inFlight == 0 {
		t.Fatal("no request was in flight at any SIGTERM: the test proved nothing")
	}
	p.start()
	restart := time.Now()
	// Well inside the 30 s a retry would wait, and the lease's 2 min.
	sentAt := waitAllSent(t, db.Pool, 10*time.Second)
	d := checkDelivered(t, db.Pool, newInbox(catcher).all(t))
	checkInvariants(t, db.Pool)
	t.Logf("%d SIGTERMs under load: %d requests accepted, all answered, %d of them in flight at the signal; "+
		"%d emails claimed at the signals, none left claimed; after the restart all %d emails delivered within %v",
		stops, answered, inFlight, held, d.emails, sentAt.Sub(restart).Round(100*time.Millisecond))
	if err := p.terminate(30 * time.Second); err != nil {
		t.Error(err)
	}
}

// TestFaultKill9WorkerTakesOver runs two `clc worker` processes and kills
// one with SIGKILL while it holds claims, again and again: the other takes
// every one of them over within 2 s of the kill and delivers them within
// 3 s, under the default two-minute lease.
func TestFaultKill9WorkerTakesOver(t *testing.T) {
	rounds := max(5, faultKills(t)/5)
	bin := buildCLC(t)
	db, catcher, smtpURL := seededDB(t)
	taken, delivered := takeOverRounds(t, bin, db, catcher, strings.TrimPrefix(smtpURL, "smtp://"), rounds, "DATABASE_URL="+db.URL)
	t.Logf("%d kills -9 of a worker holding claims, another worker running; from the kill to the other's claim of all of them: %v; to their delivery: %v",
		rounds, taken, delivered)
}

// takeOverRounds runs two `clc worker` processes on db with env, one of
// them with a slow SMTP server so that it holds its claims a while, and
// rounds times kills that one while it holds claims (and starts another).
// It fails t unless the other worker claimed every email the dead one held
// within 2 s of the kill and delivered them within 3 s, and every email
// arrived; it returns those two distributions.
func takeOverRounds(t *testing.T, bin string, db pgtest.DB, catcher *mailcatch.Server, smtpAddr string, rounds int, env ...string) (taken, delivered waits) {
	t.Helper()
	const takeOverWithin, deliverWithin = 2 * time.Second, 3 * time.Second
	ctx := context.Background()
	startWorker(t, bin, append(env, "SMTP_URL=smtp://"+smtpAddr)...)
	slowSMTP := "SMTP_URL=smtp://" + slowCable(t, smtpAddr, 50*time.Millisecond)

	store := postgres.NewStore(db.Pool)
	svc := account.NewService(store, account.SystemClock{}, account.NewArgon2id())
	// The partner's hundreds of requests are the test's load, not abuse.
	svc.SetUserEmailsPerDay(1_000_000)
	partner, err := store.UserByEmail(ctx, demo.PartnerEmail)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	submit := func() {
		t.Helper()
		n++
		d := fmt.Sprintf("takeover%d-%s.example", n, randomWord())
		if _, err := svc.SubmitRequest(ctx, partner, account.AccountRequestInput{Name: "Takeover " + d, Domain: d,
			NoteToApprover: "Our customer", CustomerEmails: "buyer@" + d, SubmissionKey: account.NewSubmissionKey()}); err != nil {
			t.Fatal(err)
		}
	}
	stillHeld := func(claims []string, worker int64) int {
		t.Helper()
		var left int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE message_id = ANY($1) AND state = 'sending' AND claimed_by = $2`,
			claims, worker).Scan(&left); err != nil {
			t.Fatal(err)
		}
		return left
	}

	mail := newInbox(catcher)
	var held []heldClaims
	for round := range rounds {
		slow := startWorker(t, bin, append(env, slowSMTP)...)
		var claims []string
		for deadline := time.Now().Add(20 * time.Second); claims == nil; {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the worker with the slow SMTP server claimed nothing in 20 s", round)
			}
			submit()
			for until := time.Now().Add(300 * time.Millisecond); claims == nil && time.Now().Before(until); time.Sleep(10 * time.Millisecond) {
				if len(claimedBy(t, db.Pool, slow.id)) == 0 {
					continue
				}
				// Stopped, it keeps its lock and its claims while they are read.
				slow.signal(syscall.SIGSTOP)
				if claims = claimedBy(t, db.Pool, slow.id); len(claims) == 0 {
					claims = nil
					slow.signal(syscall.SIGCONT)
				}
			}
			mail.harvest()
		}
		slow.kill9()
		killedAt := time.Now()
		for stillHeld(claims, slow.id) > 0 {
			if time.Since(killedAt) > 10*time.Second {
				t.Fatalf("round %d: %d emails of the killed worker still claimed by it 10 s after the kill", round, stillHeld(claims, slow.id))
			}
			time.Sleep(5 * time.Millisecond)
		}
		taken.d = append(taken.d, time.Since(killedAt))
		taken.emails += len(claims)
		held = append(held, heldClaims{messageIDs: claims, killedAt: killedAt, from: killedAt})
	}
	waitAllSent(t, db.Pool, time.Minute)
	arrived := mail.all(t)
	checkDelivered(t, db.Pool, arrived)
	slices.Sort(taken.d)
	delivered = claimWaits(t, held, arrived)
	if taken.max() > takeOverWithin {
		t.Errorf("a killed worker's claims were taken over %v after the kill, want within %v (%v)", taken.max().Round(time.Millisecond), takeOverWithin, taken)
	}
	if delivered.max() > deliverWithin {
		t.Errorf("a killed worker's claims arrived %v after the kill, want within %v (%v)", delivered.max().Round(time.Millisecond), deliverWithin, delivered)
	}
	return taken, delivered
}
