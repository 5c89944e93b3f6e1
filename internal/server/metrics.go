package server

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// instrument times each request by its route pattern and status, counts
// those in flight, and counts what a route's answer says happened: a
// decision made, a sign-in refused or throttled. The labels are patterns
// and codes of the route table, never a path.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done := s.metrics.InFlight()
		defer done()
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		route := ""
		if rc := chi.RouteContext(r.Context()); rc != nil {
			route = rc.RoutePattern()
		}
		s.metrics.Request(route, r.Method, status, time.Since(start))
		if r.Method != http.MethodPost {
			return
		}
		if kind, ok := decisionRoutes[route]; ok && status < 400 {
			s.metrics.Decision(kind)
		}
		if step, ok := signInRoutes[route]; ok {
			switch status {
			case http.StatusUnauthorized, http.StatusUnprocessableEntity:
				s.metrics.SignInFailed(step)
			case http.StatusTooManyRequests:
				s.metrics.SignInBlocked(step)
			}
		}
	})
}

// decisionRoutes are the routes whose success is a decision, and its kind
// (the kind of the event it records).
var decisionRoutes = map[string]string{
	"/pending/{token}/approve":                                    "approved",
	"/pending/{token}/deny":                                       "denied",
	"/ops/requests/{accountID}/approve":                           "approved",
	"/ops/requests/{accountID}/deny":                              "denied",
	"/clc/requests/{accountID}/withdraw":                          "withdrawn",
	"/api/v1/account-requests/{accountID}/withdraw":               "withdrawn",
	"/clc/accounts/{accountID}/access-requests/{request}/approve": "access_approved",
	"/clc/accounts/{accountID}/access-requests/{request}/decline": "access_declined",
	"/clc/accounts/{accountID}/access-requests/bulk":              "access_bulk",
}

// signInRoutes are the steps of signing in: a 401 or 422 is a wrong
// password or code, a 429 the throttle.
var signInRoutes = map[string]string{
	"/login":      "password",
	"/login/code": "code",
}
