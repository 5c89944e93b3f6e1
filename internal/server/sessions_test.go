package server_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/clc-portal/clc/internal/server"
)

func TestSessionCookieSecureOnlyOverHTTPS(t *testing.T) {
	for base, secure := range map[string]bool{"https://clc.example.com": true, "http://127.0.0.1:8080": false} {
		u, _ := url.Parse(base)
		sm := server.NewSessions(memstore.New(), u, 12*time.Hour)
		if name := map[bool]string{true: "__Host-clc_session", false: "clc_session"}[secure]; sm.Cookie.Name != name {
			t.Errorf("%s: cookie named %q, want %q", base, sm.Cookie.Name, name)
		}
		if sm.Cookie.Secure != secure || !sm.Cookie.HttpOnly || sm.Lifetime != 12*time.Hour {
			t.Errorf("%s: cookie %+v, lifetime %v", base, sm.Cookie, sm.Lifetime)
		}
	}
}
