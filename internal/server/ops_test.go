package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/clc-portal/clc/internal/server"
)

// TestNoProfilesOnThePortal reaches /debug/pprof/ on the portal's listener
// from loopback (as every visitor does behind a reverse proxy on the same
// host), as nobody and as signed-in staff: it is not there for anyone.
func TestNoProfilesOnThePortal(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ops@clc.example", "Ops", true)
	paths := []string{"/metrics", "/debug/pprof/", "/debug/pprof/goroutine?debug=2", "/debug/pprof/heap?debug=1", "/debug/pprof/cmdline", "/debug/pprof/profile?seconds=1"}
	for _, p := range paths {
		wantStatus(t, a.browser().get(p), http.StatusNotFound)
	}
	staff := a.browser()
	wantStatus(t, staff.login("ops@clc.example", "correct horse"), http.StatusSeeOther)
	for _, p := range paths {
		wantStatus(t, staff.get(p), http.StatusNotFound)
	}
}

// TestOpsServesProfiles: the operators' handler serves net/http/pprof and
// nothing else.
func TestOpsServesProfiles(t *testing.T) {
	t.Parallel()
	ops := httptest.NewServer(server.Ops(slog.New(slog.NewTextHandler(io.Discard, nil)), nil))
	t.Cleanup(ops.Close)
	for path, want := range map[string]int{"/debug/pprof/": 200, "/debug/pprof/heap?debug=1": 200, "/": 404, "/login": 404} {
		resp, err := http.Get(ops.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
