package server

import (
	"net/http"
	"slices"
	"sync"
	"time"
)

// Admission bounds the work the server takes on: at most InFlight page and
// API requests are served at once, and a request that finds no place within
// Wait is refused at once (503 with Retry-After) rather than queued. Under a
// load beyond what the database serves, the requests admitted keep their
// speed and the rest learn it straight away, instead of every request
// waiting behind all the others and the process's memory growing with the
// queue. Only admission refuses: a request admitted runs to its end, so a
// write that was accepted is never dropped halfway.
type Admission struct {
	// InFlight is how many requests are served at once; 0 bounds nothing.
	// main sizes it from the database pool: a request beyond the pool's
	// connections would only wait for one.
	InFlight int
	// Wait is how long a request may wait for a place before it is refused.
	Wait time.Duration
}

// retryAfterOverload is what a refused request is told to wait, in seconds:
// an overload passes in moments or needs more than a client's retry.
const retryAfterOverload = "1"

// errOverloaded refuses a request that found no place: the responders
// answer 503 with Retry-After.
var errOverloaded = &overloadedError{}

type overloadedError struct{}

func (*overloadedError) Error() string { return "overloaded: no place for the request" }

// admitter hands out the places of an Admission. A place that comes free
// goes to the oldest waiter while the queue drains within the wait budget,
// and to the newest once it does not (adaptive LIFO, as in Facebook's "Fail
// at Scale"). In order, a queue too long to drain in time refuses every
// request that joins it: under an overload each place went to a request
// whose client got its answer late, and a request arriving just as the load
// stopped waited behind the whole queue and was refused. Newest first
// spends the place on a request with budget left, and the oldest, which
// would be refused anyway, are refused when their wait is up.
type admitter struct {
	wait time.Duration

	mu      sync.Mutex
	free    int
	waiters []chan struct{} // oldest first; a place is handed by a send
	// interval is the recent time between places coming free (a moving
	// average), and lastRelease when the last one did: the queue drains
	// in time while len(waiters) × interval fits in the wait budget.
	interval    time.Duration
	lastRelease time.Time
}

func newAdmitter(a Admission) *admitter {
	if a.InFlight <= 0 {
		return nil
	}
	return &admitter{free: a.InFlight, wait: a.Wait}
}

// acquire takes a place, waiting at most the wait budget; it reports
// whether it got one. A place taken is given back by release.
func (ad *admitter) acquire(r *http.Request) bool {
	ad.mu.Lock()
	if ad.free > 0 {
		ad.free--
		ad.mu.Unlock()
		return true
	}
	if ad.wait <= 0 {
		ad.mu.Unlock()
		return false
	}
	handed := make(chan struct{}, 1)
	ad.waiters = append(ad.waiters, handed)
	ad.mu.Unlock()

	t := time.NewTimer(ad.wait)
	defer t.Stop()
	select {
	case <-handed:
		return true
	case <-t.C:
	case <-r.Context().Done():
	}
	ad.mu.Lock()
	defer ad.mu.Unlock()
	if i := slices.Index(ad.waiters, handed); i >= 0 {
		ad.waiters = slices.Delete(ad.waiters, i, i+1)
		return false
	}
	// release handed this waiter a place as it gave up: the place is its
	// own now, and is given back by release like any other.
	<-handed
	return true
}

// release gives a place back: to a waiter, the oldest or the newest (see
// admitter), or to the free ones.
func (ad *admitter) release() {
	ad.mu.Lock()
	defer ad.mu.Unlock()
	now := time.Now()
	n := len(ad.waiters)
	if n == 0 {
		ad.free++
		ad.lastRelease = now
		return
	}
	i := 0
	if time.Duration(n)*ad.interval > ad.wait {
		i = n - 1
	}
	// Only the intervals of a queue count: they are the pace at which it
	// drains; an idle gap says nothing about it.
	if !ad.lastRelease.IsZero() {
		ad.interval += (now.Sub(ad.lastRelease) - ad.interval) / 8
	}
	ad.lastRelease = now
	w := ad.waiters[i]
	ad.waiters = slices.Delete(ad.waiters, i, i+1)
	w <- struct{}{}
}

// admit serves next only with a place; without one, refuse answers
// errOverloaded, the page's or the API's way. It runs before the session
// is read, so a refusal costs no database work, and speaks the language
// the browser asks for.
func (s *Server) admit(refuse func(w http.ResponseWriter, r *http.Request, err error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if s.admission == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !s.admission.acquire(r) {
				refuse(w, r, errOverloaded)
				return
			}
			defer s.admission.release()
			next.ServeHTTP(w, r)
		})
	}
}
