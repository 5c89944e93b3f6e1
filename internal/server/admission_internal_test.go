package server

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"
)

// waitForWaiters polls until n requests wait for a place.
func waitForWaiters(t *testing.T, ad *admitter, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ad.mu.Lock()
		got := len(ad.waiters)
		ad.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitTwo fills the admitter's one place and queues two requests behind
// it, older first; it returns what each of them got.
func waitTwo(t *testing.T, ad *admitter) (older, newer chan bool) {
	t.Helper()
	req := httptest.NewRequest("GET", "/", nil)
	if !ad.acquire(req) {
		t.Fatal("the first request found no place")
	}
	older, newer = make(chan bool, 1), make(chan bool, 1)
	go func() { older <- ad.acquire(req) }()
	waitForWaiters(t, ad, 1)
	go func() { newer <- ad.acquire(req) }()
	waitForWaiters(t, ad, 2)
	return older, newer
}

// wantPlace checks that the place released went to first, not to second,
// then releases again for second, and checks that all places are free.
func wantPlace(t *testing.T, ad *admitter, first, second chan bool, order string) {
	t.Helper()
	ad.release()
	select {
	case ok := <-first:
		if !ok {
			t.Fatalf("%s: the waiter meant to get the place was refused", order)
		}
	case <-second:
		t.Fatalf("%s: the place went to the other waiter", order)
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: the place went to nobody", order)
	}
	waitForWaiters(t, ad, 1)
	ad.release()
	if ok := <-second; !ok {
		t.Fatalf("%s: the second waiter was refused", order)
	}
	ad.release()
	if ad.free != 1 || len(ad.waiters) != 0 {
		t.Errorf("%s: after every release %d free, %d waiting; want 1 and 0", order, ad.free, len(ad.waiters))
	}
}

// TestAdmitterServesInOrderWhileTheQueueDrains: while the queue drains
// within the wait budget, a freed place goes to the request that waited
// longest.
func TestAdmitterServesInOrderWhileTheQueueDrains(t *testing.T) {
	ad := newAdmitter(Admission{InFlight: 1, Wait: time.Minute})
	older, newer := waitTwo(t, ad)
	wantPlace(t, ad, older, newer, "oldest first")
}

// TestAdmitterServesTheNewestFirstUnderOverload: once places come free
// too slowly for the queue to drain within the wait budget, a freed place
// goes to the newest waiter, so that the moment an overload stops a new
// request is served at once, not refused behind the overload's queue.
func TestAdmitterServesTheNewestFirstUnderOverload(t *testing.T) {
	ad := newAdmitter(Admission{InFlight: 1, Wait: time.Minute})
	older, newer := waitTwo(t, ad)
	ad.mu.Lock()
	ad.interval = ad.wait // two waiters take two minutes to drain
	ad.mu.Unlock()
	wantPlace(t, ad, newer, older, "newest first")
}

// TestAdmitterRefusesAfterTheWait: a request that finds no place within
// the wait budget, or whose client went away, is refused and leaves no
// waiter behind to be handed a place nobody takes.
func TestAdmitterRefusesAfterTheWait(t *testing.T) {
	const wait = 20 * time.Millisecond
	ad := newAdmitter(Admission{InFlight: 1, Wait: wait})
	req := httptest.NewRequest("GET", "/", nil)
	if !ad.acquire(req) {
		t.Fatal("the first request found no place")
	}
	start := time.Now()
	if ad.acquire(req) {
		t.Fatal("a second request got the one place")
	}
	if took := time.Since(start); took < wait {
		t.Errorf("refused after %v, before the wait budget %v", took, wait)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ad.acquire(req.WithContext(ctx)) {
		t.Fatal("a request whose client went away got a place")
	}
	ad.release()
	if ad.free != 1 || len(ad.waiters) != 0 {
		t.Errorf("after the refusals and the release: %d free, %d waiting; want 1 and 0", ad.free, len(ad.waiters))
	}
	if !ad.acquire(req) {
		t.Error("the place given back is not taken again")
	}
}
