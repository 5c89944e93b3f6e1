package main

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/demo"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/webhook"
)

// hookCounter is a partner's webhook endpoint that verifies every delivery
// with the Standard Webhooks library and counts, per webhook-id, the posts
// it took (2xx) and those it answered 500 to make the portal retry.
type hookCounter struct {
	wh *standardwebhooks.Webhook

	mu         sync.Mutex
	taken      map[string]int // webhook-id → posts answered 2xx
	refused    int            // posts answered 500
	unverified int
}

func (h *hookCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	// A little latency, so that kills land mid-post too. (An endpoint's
	// deliveries are posted one after another: its latency bounds how
	// fast the deliveries drain.)
	time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.wh.Verify(body, r.Header) != nil {
		h.unverified++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if rand.IntN(10) == 0 {
		h.refused++
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	h.taken[r.Header.Get("webhook-id")]++
	w.WriteHeader(http.StatusNoContent)
}

// TestFaultKill9LosesNoWebhook kills `clc serve` with SIGKILL at random
// moments while a partner submits requests and approvers decide on them,
// and the partner's endpoint (which refuses one post in ten with a 500)
// receives every event of those requests' lives. Afterwards every event
// has its delivery, every delivery arrived verified, and a delivery posted
// twice (taken, and the server killed before it recorded so) carries the
// same webhook-id. It prints deliveries, retries, duplicates and lost.
func TestFaultKill9LosesNoWebhook(t *testing.T) {
	// Side by side with the package's other tests: it asserts what arrived,
	// never how fast, and most of its time is spent waiting for restarts.
	t.Parallel()
	kills := faultKills(t)
	bin := buildCLC(t)
	db, catcher, smtpURL := seededDB(t)
	ctx := context.Background()

	// The partner's endpoint, registered as the page and the API do.
	store := postgres.NewStore(db.Pool)
	svc := account.NewService(store, account.SystemClock{}, account.NewArgon2id())
	svc.SetWebhookTargets(webhook.Targets{AllowPrivate: true}, true)
	partner, err := store.UserByEmail(ctx, demo.PartnerEmail)
	if err != nil {
		t.Fatal(err)
	}
	counter := &hookCounter{taken: map[string]int{}}
	receiver := httptest.NewServer(counter)
	t.Cleanup(receiver.Close)
	var types []string
	for _, ty := range account.WebhookTypesFor(0) {
		types = append(types, string(ty))
	}
	endpoint, err := svc.CreateWebhook(ctx, partner, account.WebhookInput{URL: receiver.URL + "/clc", EventTypes: types})
	if err != nil {
		t.Fatal(err)
	}
	if counter.wh, err = standardwebhooks.NewWebhook(endpoint.Secret); err != nil {
		t.Fatal(err)
	}
	var before int64 // the last event before the endpoint
	if err := db.Pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&before); err != nil {
		t.Fatal(err)
	}

	p := newPortal(t, bin, db.URL, smtpURL, "CLC_USER_EMAILS_PER_DAY=1000000",
		"CLC_WEBHOOK_ALLOW_PRIVATE=1", "CLC_WEBHOOK_RETRY_BASE=200ms")
	p.start()
	b := newBrowser(p.base, true)
	if err := b.logIn(demo.PartnerEmail, demo.Password); err != nil {
		t.Fatal(err)
	}
	approver := newBrowser(p.base, true)
	decided := map[string]bool{}
	var outcomes tally
	serial := 0
	// committed carries one token per action the portal acknowledged (a
	// submission or a decision): its events and their deliveries are in.
	committed := make(chan struct{}, 1024)
	start := time.Now()
	for life := range kills {
		for len(committed) > 0 {
			<-committed
		}
		lifeCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for lifeCtx.Err() == nil {
				// Paced, so that the work (and the deliveries to drain after it)
				// is about the same on a fast machine and a slow one: unpaced,
				// an idle machine made 3,000 deliveries in the burst, more than
				// the one endpoint drains in the two minutes allowed.
				select {
				case <-lifeCtx.Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
				if rand.IntN(2) == 0 {
					for _, l := range approvalLinks(catcher) {
						if decided[l] {
							continue
						}
						decided[l] = true
						path, form := "/pending/"+l+"/approve", url.Values{}
						if rand.IntN(3) == 0 {
							path, form = "/pending/"+l+"/deny", url.Values{"reason": {"Not our company"}}
						}
						if _, _, err := approver.do(lifeCtx, http.MethodPost, path, form); err != nil {
							outcomes.add("decision lost")
						} else {
							outcomes.add("decided")
							committed <- struct{}{}
						}
						break
					}
					continue
				}
				serial++
				o := newOrder(serial)
				if err := b.review(lifeCtx, &o); err != nil {
					outcomes.add("review lost")
					continue
				}
				if code, err := b.submit(lifeCtx, o); err != nil || code != http.StatusSeeOther {
					outcomes.add("submit lost")
				} else {
					outcomes.add("submitted")
					committed <- struct{}{}
				}
			}
		}()
		// Killed at a random moment after the life's first acknowledged
		// action, so that every life adds events however slow the machine
		// is (a fixed 200–800 ms life under make test's load once committed
		// 14 actions in 50 lives): mid-request, mid-commit or mid-post of
		// what earlier lives queued.
		began := time.Now()
		select {
		case <-committed:
		case <-time.After(30 * time.Second):
			cancel()
			<-done
			t.Fatalf("life %d: the portal acknowledged nothing in 30s", life)
		}
		time.Sleep(rand.N(max(time.Since(began), 100*time.Millisecond)) + time.Duration(rand.IntN(300))*time.Millisecond)
		p.kill9()
		cancel()
		<-done
		p.start()
	}
	burst := time.Since(start)

	// Every delivery is delivered: none open, none failed.
	drainStart, drained := time.Now(), time.Duration(0)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var open, failed int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state IN ('pending', 'sending')),
			count(*) FILTER (WHERE state = 'failed') FROM webhook_deliveries`).Scan(&open, &failed); err != nil {
			t.Fatal(err)
		}
		if failed > 0 {
			t.Fatalf("%d deliveries failed", failed)
		}
		// Emails still to send would add "emailed" events.
		var emails int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')`).Scan(&emails); err != nil {
			t.Fatal(err)
		}
		if open == 0 && emails == 0 {
			drained = time.Since(drainStart)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries still open 2 minutes after the last restart", open)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Every event of the partner's requests that webhooks carry has its one
	// delivery (the fan-out is in the event's transaction: no event without
	// it, no delivery without its event).
	kinds, _ := account.WebhookEventKinds()
	var events, missing int
	if err := db.Pool.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (
			SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.endpoint_id = $2))
		FROM events e JOIN account_requests r ON r.smart_account_id = e.smart_account_id
		WHERE r.requested_by = $1 AND e.kind = ANY ($3) AND e.id > $4`,
		partner.ID, endpoint.ID, kinds, before).Scan(&events, &missing); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Pool.Query(ctx, `SELECT webhook_id, attempts FROM webhook_deliveries WHERE endpoint_id = $1`, endpoint.ID)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	attempts := 0
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		ids[id] = n
		attempts += n
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	counter.mu.Lock()
	defer counter.mu.Unlock()
	lost, duplicates, posts := missing, 0, counter.refused+counter.unverified
	for id := range ids {
		n := counter.taken[id]
		if n == 0 {
			lost++
		}
		duplicates += max(n-1, 0)
		posts += n
	}
	for id := range counter.taken {
		if _, ok := ids[id]; !ok {
			t.Errorf("the receiver took webhook-id %s, which no delivery has", id)
		}
	}
	if lost > 0 || counter.unverified > 0 {
		t.Errorf("%d deliveries lost (%d events without one), %d posts unverified", lost, missing, counter.unverified)
	}
	if len(ids) < kills || events != len(ids) {
		t.Errorf("%d events, %d deliveries over %d kills", events, len(ids), kills)
	}
	t.Logf("%d kills -9 in %v (%v), all delivered %v later: %d events, %d deliveries (each a webhook-id), %d posts; "+
		"retries: %d (the receiver's 500s), duplicates by webhook-id: %d (taken, then posted again after a kill), lost: %d, unverified: %d; %d attempts recorded",
		kills, burst.Round(time.Second), &outcomes, drained.Round(100*time.Millisecond), events, len(ids), posts, counter.refused, duplicates, lost, counter.unverified, attempts)
}
