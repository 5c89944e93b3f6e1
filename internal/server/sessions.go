package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/v2"
)

// NewSessions configures sign-in sessions over store: an HttpOnly, Lax
// cookie, Secure when the portal is served over https, ending lifetime after
// sign-in at the latest. The idle timeout is the server's (see touchSession):
// scs's own rewrites the session row on every request.
func NewSessions(store scs.Store, base *url.URL, lifetime time.Duration) *scs.SessionManager {
	sm := scs.New()
	sm.Store = store
	sm.Lifetime = lifetime
	sm.Cookie.Name = "clc_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = base.Scheme == "https"
	return sm
}
