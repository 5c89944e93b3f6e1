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

// TestAdmitterServesTheNewestWaiterFirst: a place that comes free goes to
// the request that has waited least, so that the moment an overload stops a
// new request is served at once, not behind the overload's queue.
func TestAdmitterServesTheNewestWaiterFirst(t *testing.T) {
	ad := newAdmitter(Admission{InFlight: 1, Wait: time.Minute})
	req := httptest.NewRequest("GET", "/", nil)
	if !ad.acquire(req) {
		t.Fatal("the first request found no place")
	}
	older, newer := make(chan bool, 1), make(chan bool, 1)
	go func() { older <- ad.acquire(req) }()
	waitForWaiters(t, ad, 1)
	go func() { newer <- ad.acquire(req) }()
	waitForWaiters(t, ad, 2)

	ad.release()
	select {
	case ok := <-newer:
		if !ok {
			t.Fatal("the newer waiter was refused")
		}
	case <-older:
		t.Fatal("the place went to the older waiter")
	case <-time.After(5 * time.Second):
		t.Fatal("the place went to nobody")
	}
	waitForWaiters(t, ad, 1)
	ad.release()
	if ok := <-older; !ok {
		t.Fatal("the older waiter was refused")
	}
	ad.release()
	if ad.free != 1 || len(ad.waiters) != 0 {
		t.Errorf("after every release: %d free, %d waiting; want 1 and 0", ad.free, len(ad.waiters))
	}
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
