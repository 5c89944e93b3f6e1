package server_test

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A page number too large for an int, or for an offset, is the last page
// allowed; a negative one the first. The old /ops/emails multiplied it into
// a negative OFFSET and answered 500.
func TestHugePageNumbersStayInRange(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("olga@cisco.example", "Olga", true)
	a.user("ada@partner.example", "Ada", false)
	a.account("Northwind Partners", "partner.example", "ada@partner.example")
	ops := a.signedIn("olga@cisco.example")
	for _, page := range []string{"99999999999999999999", "9223372036854775807", "-9223372036854775808", "-1", "x"} {
		p := ops.get("/ops/emails?page=" + page)
		wantStatus(t, p, http.StatusOK)
	}
	ada := a.signedIn("ada@partner.example")
	for _, path := range []string{"/clc/search?q=northwind&page=99999999999999999999", "/clc/directory/access?q=north&page=99999999999999999999",
		"/clc/manage/access-requests?page=-99999999999999999999"} {
		wantStatus(t, ada.get(path), http.StatusOK)
	}
	if strings.Contains(a.logs.String(), `"level":"ERROR"`) {
		t.Errorf("an error was logged:\n%s", a.logs.String())
	}
}

// An email longer than any address is a wrong email or password: the old
// code counted it in the sign-in throttle, whose index refused the row
// (SQLSTATE 54000), and answered 500 with an ERROR line.
func TestOverlongSignInEmailIsAWrongPassword(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	// Random letters: PostgreSQL compresses a repeated one into an index
	// entry that fits.
	local := make([]byte, 3211-len("@partner.example"))
	for i := range local {
		local[i] = byte('a' + rand.IntN(26))
	}
	email := string(local) + "@partner.example"
	p := a.browser().post("/login", url.Values{"email": {email}, "password": {"correct horse"}})
	wantStatus(t, p, http.StatusUnauthorized)
	if msg := text(p, "main"); !strings.Contains(msg, "The email or password is not correct.") {
		t.Errorf("page: %s", msg)
	}
	p = a.browser().post("/login", url.Values{"email": {"ada@partner.example"}, "password": {strings.Repeat("x", 60<<10)}})
	wantStatus(t, p, http.StatusUnauthorized)
	if strings.Contains(a.logs.String(), `"level":"ERROR"`) {
		t.Errorf("an error was logged:\n%s", a.logs.String())
	}
}
