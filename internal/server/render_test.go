package server_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/clc-portal/clc/internal/account"
)

// TestPagesGoOutWholeAndAlone: render reuses its buffers, so two people's
// pages rendered side by side must never share a byte. Each page says how
// long it is (Content-Length, not chunks) and is complete; a page of one
// viewer never carries what another's showed, whichever buffer it was
// rendered in, and a long page followed by a short one leaves no tail.
func TestPagesGoOutWholeAndAlone(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ada := a.user("ada@northwind.example", "Ada Lovelace", false)
	a.user("hank@globex.example", "Hank Scorpio", false)
	a.user("bob@initech.example", "Bob Porter", false)
	// Ada's directory is long and carries the marker; Bob's is short and
	// does not.
	const marker = "Zanzibar Marker Holdings"
	for i := range 30 {
		sa := a.account(marker+" "+strconv.Itoa(i), "zanzibar"+strconv.Itoa(i)+".example", "hank@globex.example")
		a.grant(ada.Email, sa, "", account.RoleViewer)
	}
	adaB, bobB := a.signedIn(ada.Email), a.signedIn("bob@initech.example")

	check := func(who string, p page) {
		t.Helper()
		if p.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", who, p.StatusCode)
			return
		}
		if p.ContentLength != int64(len(p.Body)) || len(p.TransferEncoding) > 0 {
			t.Errorf("%s: Content-Length %d, transfer encoding %v, for a body of %d bytes", who, p.ContentLength, p.TransferEncoding, len(p.Body))
		}
		if !strings.HasSuffix(strings.TrimSpace(p.Body), "</html>") || strings.Count(p.Body, "</html>") != 1 {
			t.Errorf("%s: the page does not end once with </html>: …%q", who, p.Body[max(len(p.Body)-80, 0):])
		}
	}
	first := adaB.get("/clc/directory")
	check("Ada", first)
	if n := strings.Count(first.Body, marker); n < 10 {
		t.Fatalf("Ada's directory shows the marker %d times", n)
	}

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 15 {
				check("Ada", adaB.get("/clc/directory"))
				p := bobB.get("/clc/directory")
				check("Bob", p)
				if strings.Contains(p.Body, marker) || strings.Contains(p.Body, "zanzibar") {
					t.Errorf("Bob's directory carries Ada's accounts")
				}
				if p := bobB.get("/clc/no-such-page"); p.StatusCode != http.StatusNotFound || strings.Contains(p.Body, marker) {
					t.Errorf("the not-found page: status %d, marker %v", p.StatusCode, strings.Contains(p.Body, marker))
				}
			}
		})
	}
	wg.Wait()
}
