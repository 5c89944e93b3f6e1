package server

import (
	"net/http"
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

// admitter hands out the places of an Admission.
type admitter struct {
	places chan struct{}
	wait   time.Duration
}

func newAdmitter(a Admission) *admitter {
	if a.InFlight <= 0 {
		return nil
	}
	return &admitter{places: make(chan struct{}, a.InFlight), wait: a.Wait}
}

// acquire takes a place, waiting at most the wait budget; it reports
// whether it got one. A place taken is given back by release.
func (ad *admitter) acquire(r *http.Request) bool {
	select {
	case ad.places <- struct{}{}:
		return true
	default:
	}
	if ad.wait <= 0 {
		return false
	}
	t := time.NewTimer(ad.wait)
	defer t.Stop()
	select {
	case ad.places <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-r.Context().Done():
		return false
	}
}

func (ad *admitter) release() { <-ad.places }

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
