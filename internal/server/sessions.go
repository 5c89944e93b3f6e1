package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/v2"
)

// NewSessions configures sign-in sessions over store: an HttpOnly, Lax
// cookie, Secure when the portal is served over https, with idle and
// absolute timeouts.
func NewSessions(store scs.Store, base *url.URL, idle, lifetime time.Duration) *scs.SessionManager {
	sm := scs.New()
	sm.Store = store
	sm.IdleTimeout = idle
	sm.Lifetime = lifetime
	sm.Cookie.Name = "clc_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = base.Scheme == "https"
	return sm
}
