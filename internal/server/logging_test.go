package server_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// Every line a request logs names the request and, once known, its user,
// from the context: the access log line of a signed-in page too, though it
// wraps the middleware that finds the user; and no line names either twice.
func TestLogLinesNameTheirRequestAndUser(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ada := a.user("ada@partner.example", "Ada", false)
	a.account("Partner", "partner.example", "ada@partner.example")
	b := a.signedIn("ada@partner.example")
	p := b.get("/ops/requests") // a refused page: an access line and a security event
	id := p.Header.Get("X-Request-Id")
	var lines int
	for _, line := range strings.Split(a.logs.String(), "\n") {
		if !strings.Contains(line, id) || id == "" {
			continue
		}
		lines++
		if strings.Count(line, `"request_id"`) != 1 || strings.Count(line, `"user_id"`) != 1 {
			t.Errorf("a line names its request or user other than once: %s", line)
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["request_id"] != id || rec["user_id"] != float64(ada.ID) {
			t.Errorf("line %v, want request %s of user %d", rec, id, ada.ID)
		}
	}
	if lines < 2 {
		t.Errorf("%d lines for request %s, want the access line and the refusal:\n%s", lines, id, a.logs.String())
	}
}

// An account's id is read from one route parameter by one parser, in the
// one form pages and emails write it: a second spelling names nothing.
func TestPagesTakeAccountIdsOnlyAsShown(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	id := r.id.String() // SA-00000n
	bare := strings.TrimLeft(strings.TrimPrefix(id, "SA-"), "0")
	for _, path := range []string{"/clc/requests/" + bare, "/clc/requests/" + strings.ToLower(id), "/clc/accounts/" + bare,
		"/clc/accounts/SA-0" + strings.TrimPrefix(id, "SA-")} {
		wantStatus(t, r.partner.get(path), 404)
	}
	wantStatus(t, r.partner.get("/clc/requests/"+id), 200)
}
