package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/v2"
)

// NewSessions configures sign-in sessions over store: an HttpOnly, Lax
// cookie, Secure and __Host- when the portal is served over https, ending lifetime after
// sign-in at the latest. The idle timeout is the server's (see touchSession):
// scs's own rewrites the session row on every request.
func NewSessions(store scs.Store, base *url.URL, lifetime time.Duration) *scs.SessionManager {
	sm := scs.New()
	sm.Store = store
	sm.Lifetime = lifetime
	sm.Cookie.Name = "clc_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Path = "/"
	if base.Scheme == "https" {
		// __Host-: the browser takes it only Secure, for this host alone
		// and for every path (ASVS 3.3.1, 3.3.3); plain http cannot.
		sm.Cookie.Name = "__Host-clc_session"
		sm.Cookie.Secure = true
	}
	return sm
}
