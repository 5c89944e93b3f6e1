package server_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestProfilesOnlyForStaffOrLocal reaches /debug/pprof/ from this machine
// and, through a listener that makes every connection come from elsewhere,
// as nobody, as a partner and as staff: only the first and the last see it.
func TestProfilesOnlyForStaffOrLocal(t *testing.T) {
	a := newApp(t)
	a.user("ops@clc.example", "Ops", true)
	a.user("ada@northwind.example", "Ada", false)

	wantStatus(t, a.browser().get("/debug/pprof/"), http.StatusOK)

	handler := a.srv.Config.Handler
	far := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = "192.0.2.10:40000"
		r.Header.Set("X-Forwarded-For", "127.0.0.1") // trusted by nothing
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(far.Close)
	// From here on every browser of a reaches the portal from elsewhere.
	a.srv = far
	a.base, _ = url.Parse(far.URL)

	wantStatus(t, a.browser().get("/debug/pprof/"), http.StatusNotFound)
	partner := a.browser()
	wantStatus(t, partner.login("ada@northwind.example", "correct horse"), http.StatusSeeOther)
	wantStatus(t, partner.get("/debug/pprof/"), http.StatusNotFound)
	wantStatus(t, partner.get("/debug/pprof/heap?debug=1"), http.StatusNotFound)
	staff := a.browser()
	wantStatus(t, staff.login("ops@clc.example", "correct horse"), http.StatusSeeOther)
	p := staff.get("/debug/pprof/heap?debug=1")
	wantStatus(t, p, http.StatusOK)
	if p.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("heap profile served as %q", p.Header.Get("Content-Type"))
	}
}
