package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// runLoad runs the command on a URL file of lines and decodes its result.
func runLoad(t *testing.T, lines []string, args ...string) Result {
	t.Helper()
	path := filepath.Join(t.TempDir(), "urls.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(append([]string{"-urls", path, "-warmup", "0s"}, args...), &out); err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	return r
}

// TestLoadCountsWhatTheServerAnswered: 200 for a GET and 303 for a POST are
// results, a 503 with Retry-After is shed, anything else (a redirect on a GET
// included: it is not followed) is an error; a POST carries its form, its
// Origin and the cookie; -once sends each line once.
func TestLoadCountsWhatTheServerAnswered(t *testing.T) {
	var mu sync.Mutex
	posted := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("Cookie") != "s=1" {
				http.Error(w, "no cookie", http.StatusUnauthorized)
				return
			}
			_, _ = w.Write([]byte("page"))
		case "/busy":
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusSeeOther)
		case "/submit":
			if r.Method != http.MethodPost || r.Header.Get("Origin") != "http://"+r.Host ||
				r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				http.Error(w, "not a browser's form", http.StatusBadRequest)
				return
			}
			mu.Lock()
			posted[r.PostFormValue("key")]++
			mu.Unlock()
			http.Redirect(w, r, "/ok", http.StatusSeeOther)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	r := runLoad(t, []string{srv.URL + "/ok"}, "-cookie", "s=1", "-clients", "2", "-duration", "200ms")
	if r.Requests == 0 || r.Errors != 0 || r.Shed != 0 || r.P99 <= 0 {
		t.Errorf("GET 200: %+v", r)
	}
	r = runLoad(t, []string{srv.URL + "/busy"}, "-clients", "2", "-duration", "200ms")
	if r.Shed == 0 || r.Requests != 0 || r.Errors != 0 {
		t.Errorf("503 with Retry-After: %+v", r)
	}
	r = runLoad(t, []string{srv.URL + "/moved"}, "-clients", "1", "-duration", "100ms")
	if r.Errors == 0 || r.Requests != 0 || !strings.Contains(r.FirstError, "status 303") {
		t.Errorf("a GET that redirects: %+v", r)
	}

	var subs []string
	for _, k := range []string{"a", "b", "c"} {
		subs = append(subs, "POST "+srv.URL+"/submit key="+k)
	}
	r = runLoad(t, subs, "-once", "-clients", "2", "-duration", "5s")
	if r.Requests != 3 || r.Errors != 0 || !r.Exhausted {
		t.Errorf("POST -once: %+v (first error %q)", r, r.FirstError)
	}
	if len(posted) != 3 || posted["a"] != 1 || posted["b"] != 1 || posted["c"] != 1 {
		t.Errorf("each form posted once: %v", posted)
	}

	r = runLoad(t, []string{srv.URL + "/ok"}, "-cookie", "s=1", "-rate", "200", "-duration", "250ms", "-after", "100ms")
	if r.Requests < 40 || r.Errors != 0 || r.After == nil || r.After.Requests == 0 {
		t.Errorf("open loop then one client: %+v %+v", r, r.After)
	}
}
