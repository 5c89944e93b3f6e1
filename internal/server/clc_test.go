package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// TestCLCLandingListsTheFirstTen: Cisco License Central's landing page lists
// the first ten accounts the user can access in the directory's order, says
// how many there are, and links to them all; with ten or fewer it lists them
// all and offers nothing more; with none it is the article's prerequisite.
func TestCLCLandingListsTheFirstTen(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ada := a.user("ada@partner.example", "Ada", false)
	for i := 12; i >= 1; i-- { // made in reverse: the page's order is the names'
		a.account(fmt.Sprintf("Customer %02d", i), fmt.Sprintf("customer%02d.example", i), ada.Email)
	}
	p := a.signedIn(ada.Email).get("/clc")
	wantStatus(t, p, http.StatusOK)
	if got := text(p, "#clc-summary"); got != "You have access to 12 Smart Accounts." {
		t.Errorf("summary %q", got)
	}
	var names []string
	p.Doc.Find("#clc-access tbody tr td:first-child").Each(func(_ int, s *goquery.Selection) { names = append(names, s.Text()) })
	if len(names) != 10 || names[0] != "Customer 01" || names[9] != "Customer 10" {
		t.Errorf("lists %q", names)
	}
	if got := text(p, "#clc-shown"); got != "10 of 12 Smart Accounts Show all" {
		t.Errorf("shown %q", got)
	}
	if href, _ := p.Doc.Find("#clc-shown a").Attr("href"); href != "/clc/directory/access" {
		t.Errorf("Show all links to %q", href)
	}

	bo := a.user("bo@partner.example", "Bo", false)
	a.account("Globex", "globex.example", bo.Email)
	de := a.signedIn(bo.Email)
	wantStatus(t, de.post("/language", url.Values{"lang": {"de"}}), http.StatusSeeOther)
	p = de.get("/clc")
	wantStatus(t, p, http.StatusOK)
	if got := text(p, "#clc-summary"); got != "Sie haben Zugriff auf 1 Smart Account." {
		t.Errorf("German summary %q", got)
	}
	if n := p.Doc.Find("#clc-access tbody tr").Length(); n != 1 || p.Doc.Find("#clc-shown").Length() != 0 {
		t.Errorf("one account: %d rows, Show all offered: %v", n, p.Doc.Find("#clc-shown").Length() != 0)
	}

	cy := a.user("cy@partner.example", "Cy", false)
	p = a.signedIn(cy.Email).get("/clc")
	wantStatus(t, p, http.StatusForbidden)
	if p.Doc.Find("#clc-access").Length() != 0 || text(p, "h1") != "You do not have access to Cisco License Central yet" {
		t.Errorf("no role: %q", text(p, "h1"))
	}
}
