// Package server is the portal's HTTP face: the route table, middleware, one
// file per page's handlers, and the responder that turns errors into pages.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/logctx"
	"github.com/clc-portal/clc/internal/metrics"
	"github.com/clc-portal/clc/internal/sso"
)

// Deps is what the server needs, wired by main.
type Deps struct {
	Log *slog.Logger
	// The portal's use cases, each over the narrow store it needs (see
	// account.NewService, which wires them).
	Requests *account.AccountRequests
	Listings *account.Listings
	Access   *account.AccessManagement
	SignIn   *account.SignIn
	Tokens   *account.Tokens
	Webhooks *account.Webhooks
	Events   *account.EventLog
	// Accounts is what is not split out yet: users, sessions' frames and
	// the outbox's page for operators.
	Accounts *account.Service
	Sessions *scs.SessionManager
	Catalog  *i18n.Catalog
	BaseURL  *url.URL
	// SessionIdle signs a user out after this long without a request.
	SessionIdle time.Duration
	// Ready reports whether the database answers, for /readyz.
	Ready func(ctx context.Context) error
	// TrustedProxies may name the client in X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// ReadYourWrites is set when some reads may lag the writes (a replica).
	ReadYourWrites ReadYourWrites
	// SSO is the OpenID provider users may sign in through; nil offers
	// password sign-in only.
	SSO *sso.Provider
	// Admission bounds the pages and API requests served at once.
	Admission Admission
	// Metrics records requests and their outcomes; nil records nothing.
	Metrics *metrics.Metrics
}

// Server serves the portal.
type Server struct {
	log      *slog.Logger
	requests *account.AccountRequests
	listings *account.Listings
	access   *account.AccessManagement
	logins   *account.SignIn
	tokens   *account.Tokens
	webhooks *account.Webhooks
	events   *account.EventLog
	accounts *account.Service
	sessions *scs.SessionManager
	catalog  *i18n.Catalog
	baseURL  *url.URL
	idle     time.Duration
	ready    func(ctx context.Context) error
	proxies  []netip.Prefix
	writes   ReadYourWrites
	sso      *sso.Provider
	// admission is nil when nothing bounds the requests in flight.
	admission *admitter
	metrics   *metrics.Metrics
	handler   http.Handler
	// forwarded rate-limits the warning about an ignored X-Forwarded-For.
	forwarded forwardedWarning
	// pageBuffers hold pages while they render (see render).
	pageBuffers sync.Pool
}

// New builds the server and its route table.
func New(d Deps) *Server {
	s := &Server{
		// Every line says which request and user it is about, from the
		// context: no call writes them.
		log:       slog.New(logctx.NewHandler(d.Log.Handler())),
		requests:  d.Requests,
		listings:  d.Listings,
		access:    d.Access,
		logins:    d.SignIn,
		tokens:    d.Tokens,
		webhooks:  d.Webhooks,
		accounts:  d.Accounts,
		sessions:  d.Sessions,
		catalog:   d.Catalog,
		baseURL:   d.BaseURL,
		idle:      d.SessionIdle,
		ready:     d.Ready,
		proxies:   d.TrustedProxies,
		writes:    d.ReadYourWrites,
		admission: newAdmitter(d.Admission),
		sso:       d.SSO,
		events:    d.Events,
		metrics:   d.Metrics,
	}
	// A session store that cannot be reached is an error page, not scs's
	// plain-text 500.
	s.sessions.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		s.respondError(w, r, err)
	}
	s.handler = s.routes()
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
