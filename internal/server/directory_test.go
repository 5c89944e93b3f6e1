package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/account"
)

// sectionNames lists the account names a directory section shows, in order.
func sectionNames(p page, section string) []string {
	return texts(p, "#section-"+section+" tbody th[scope=row]")
}

func TestDirectoryListsTheFourSectionsInOrder(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ada := a.user("ada@emea.northwind.example", "Ada Lovelace", false)
	a.user("bob@northwind.example", "Bob Builder", false)
	a.user("hank@globex.example", "Hank Scorpio", false)
	a.user("peter@initech.example", "Peter Gibbons", false)
	a.user("gavin@hooli.example", "Gavin Belson", false)

	globex := a.account("Globex Corporation", "globex.example", "hank@globex.example")
	a.virtualAccount(globex, "Engineering")
	a.grant(ada.Email, globex, "", account.RoleUser)
	initech := a.account("Initech", "initech.example", "peter@initech.example")
	a.virtualAccount(initech, "Lab")
	a.grant(ada.Email, initech, "Lab", account.RoleViewer)
	// Ada's own email domain, but she holds a role on it: first section only.
	emea := a.account("Northwind EMEA", "emea.northwind.example", "bob@northwind.example")
	a.grant(ada.Email, emea, "", account.RoleViewer)
	hooli := a.account("Hooli", "hooli.example", "gavin@hooli.example")
	a.createdBy(ada, "Acme Widgets", "acme.example", account.StatusPending)
	a.createdBy(ada, "Contoso", "contoso.example", account.StatusDenied)
	a.createdBy(ada, "Fabrikam", "fabrikam.example", account.StatusExpired)
	// The domain above Ada's; restricted, yet hers to see: it is her company's.
	northwind := a.restricted("Northwind Partners", "northwind.example", "bob@northwind.example")
	a.account("Unrelated", "unrelated.example", "bob@northwind.example")

	b := a.signedIn(ada.Email)
	p := b.post("/clc/accounts/"+hooli.ID.String()+"/request-access", url.Values{"role": {"viewer"}, "reason": {"I support Hooli's licences."}})
	wantRedirect(t, p, "/clc/directory#section-requested")

	p = b.get("/clc/directory")
	wantStatus(t, p, http.StatusOK)
	if got := text(p, "h1"); got != "Your Smart and Virtual Account access" {
		t.Errorf("heading %q", got)
	}
	if got := texts(p, "section h2"); !slices.Equal(got, []string{
		"Accounts you can access", "Accounts you asked access to", "Accounts you asked to have created", "Accounts matching your email domain",
	}) {
		t.Errorf("sections in order %q", got)
	}
	for section, want := range map[string][]string{
		"access":    {"Globex Corporation", "Initech", "Northwind EMEA"},
		"requested": {"Hooli"},
		"created":   {"Fabrikam", "Contoso", "Acme Widgets"}, // newest first
		"domain":    {"Northwind Partners"},
	} {
		if got := sectionNames(p, section); !slices.Equal(got, want) {
			t.Errorf("section %s lists %q, want %q", section, got, want)
		}
	}

	// Each section says how many it holds and links to all of them.
	for section, want := range map[string]string{
		"access": "3 of 3 Smart Accounts", "requested": "1 of 1 Smart Account", "created": "3 of 3 Smart Accounts", "domain": "1 of 1 Smart Account",
	} {
		if got := text(p, "#section-"+section+"-total"); got != want {
			t.Errorf("section %s total %q, want %q", section, got, want)
		}
		if href, _ := p.Doc.Find("#section-" + section + ` a:contains("Show all")`).Attr("href"); href != "/clc/directory/"+section {
			t.Errorf("section %s Show all links to %q", section, href)
		}
	}

	globexRow := p.Doc.Find(`#section-access tbody tr:contains("Globex Corporation")`)
	for _, want := range []string{globex.ID.String(), "globex.example", "Active", "User", "DEFAULT", "Engineering", "Hank Scorpio"} {
		if !strings.Contains(globexRow.Text(), want) {
			t.Errorf("Globex row lacks %q: %s", want, strings.Join(strings.Fields(globexRow.Text()), " "))
		}
	}
	if href, _ := globexRow.Find(`a[href^="mailto:"]`).Attr("href"); href != "mailto:hank@globex.example" {
		t.Errorf("Globex admin contact links to %q", href)
	}
	initechRow := p.Doc.Find(`#section-access tbody tr:contains("Initech")`)
	if !strings.Contains(initechRow.Text(), "Virtual Account Viewer") || !strings.Contains(initechRow.Text(), "Lab (Viewer)") {
		t.Errorf("Initech row does not show Ada's Virtual Account role: %s", strings.Join(strings.Fields(initechRow.Text()), " "))
	}
	if got := text(p, "#section-requested tbody tr"); !strings.Contains(got, "Viewer: Pending") {
		t.Errorf("requested row %q does not say what was asked and how it stands", got)
	}
	if got := texts(p, "#section-created tbody .status"); !slices.Equal(got, []string{"Expired", "Denied", "Pending"}) {
		t.Errorf("created statuses %q", got)
	}
	// Someone without a role sees no Virtual Accounts, even under their domain.
	domainRow := p.Doc.Find("#section-domain tbody tr")
	if strings.Contains(domainRow.Text(), "DEFAULT") || !strings.Contains(domainRow.Text(), "Bob Builder") {
		t.Errorf("domain row: %s", strings.Join(strings.Fields(domainRow.Text()), " "))
	}
	// Its link opens the restricted account's page.
	href, _ := domainRow.Find("th a").Attr("href")
	wantStatus(t, b.get(href), http.StatusOK)
	wantStatus(t, b.get("/clc/accounts/"+northwind.ID.String()), http.StatusNotFound)

	create := p.Doc.Find(`details summary:contains("Create Smart Account")`).Parent()
	if href, _ := create.Find(`a:contains("Request for a customer")`).Attr("href"); href != "/clc/accounts/new" {
		t.Errorf("Create Smart Account > Request for a customer links to %q", href)
	}
}

func TestDirectoryOverviewShowsTenOfEachSection(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ada := a.user("ada@partner.example", "Ada", false)
	for i := 1; i <= 30; i++ {
		a.account(fmt.Sprintf("Customer %02d", i), fmt.Sprintf("customer%02d.example", i), ada.Email)
	}
	for i := 1; i <= 12; i++ {
		a.createdBy(ada, fmt.Sprintf("Pending %02d", i), fmt.Sprintf("pending%02d.example", i), account.StatusPending)
	}
	b := a.signedIn(ada.Email)

	p := b.get("/clc/directory")
	wantStatus(t, p, http.StatusOK)
	if names := sectionNames(p, "access"); len(names) != 10 || names[0] != "Customer 01" || names[9] != "Customer 10" {
		t.Errorf("overview lists %d of the first section: %q", len(names), names)
	}
	if got := text(p, "#section-access-total"); got != "10 of 30 Smart Accounts" {
		t.Errorf("first section's total %q", got)
	}
	if got := text(p, "#section-created-total"); got != "10 of 12 Smart Accounts" {
		t.Errorf("created section's total %q", got)
	}
	if p.Doc.Find("nav.pager").Length() != 0 {
		t.Error("the overview pages its sections")
	}
	// A section with nothing in it says so and has nothing to show all of.
	if p.Doc.Find(`#section-requested a:contains("Show all")`).Length() != 0 || text(p, "#section-requested .hint") == "" {
		t.Error("an empty section offers Show all, or does not say it is empty")
	}
	// The totals follow the accounts in the same transaction.
	a.createdBy(ada, "Pending 13", "pending13.example", account.StatusPending)
	if got := text(b.get("/clc/directory"), "#section-created-total"); got != "10 of 13 Smart Accounts" {
		t.Errorf("after one more request the created section's total is %q", got)
	}

	// In another language, with its plural.
	heidi := a.user("heidi@partner.example", "Heidi", false)
	a.createdBy(heidi, "Eins", "eins.example", account.StatusPending)
	de := a.signedIn(heidi.Email)
	wantStatus(t, de.post("/language", url.Values{"lang": {"de"}}), http.StatusSeeOther)
	p = de.get("/clc/directory")
	if got := text(p, "#section-created-total"); got != "1 von 1 Smart Account" {
		t.Errorf("German total %q", got)
	}
	if got := text(p, `#section-created a[href="/clc/directory/created"]`); got != "Alle anzeigen" {
		t.Errorf("German Show all %q", got)
	}
}

func TestDirectorySectionPagesAndFilters(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ada := a.user("ada@partner.example", "Ada", false)
	var ids []account.AccountID
	for i := 1; i <= 30; i++ {
		sa := a.account(fmt.Sprintf("Customer %02d", i), fmt.Sprintf("customer%02d.example", i), ada.Email)
		ids = append(ids, sa.ID)
	}
	a.createdBy(ada, "Pending One", "pending-one.example", account.StatusPending)
	b := a.signedIn(ada.Email)

	p := b.get("/clc/directory/access")
	wantStatus(t, p, http.StatusOK)
	if got := text(p, "h1"); got != "Accounts you can access" {
		t.Errorf("section page heading %q", got)
	}
	names := sectionNames(p, "access")
	if len(names) != 25 || names[0] != "Customer 01" || names[24] != "Customer 25" {
		t.Fatalf("first page lists %d: %q", len(names), names)
	}
	globexRow := p.Doc.Find(`#section-access tbody tr:contains("Customer 01")`)
	for _, want := range []string{ids[0].String(), "customer01.example", "Active", "Administrator", "DEFAULT", "Ada"} {
		if !strings.Contains(globexRow.Text(), want) {
			t.Errorf("row lacks %q: %s", want, strings.Join(strings.Fields(globexRow.Text()), " "))
		}
	}
	// The next page starts after the last row's key: its folded name and id.
	next, ok := p.Doc.Find(`#section-access nav.pager a[rel=next]`).Attr("href")
	if want := fmt.Sprintf("/clc/directory/access?after=%d.customer+25&page=2", int64(ids[24])); !ok || next != want {
		t.Fatalf("next page link %q, want %q", next, want)
	}
	if p := b.get("/clc/directory/created"); p.Doc.Find(`nav.pager`).Length() != 0 || !slices.Equal(sectionNames(p, "created"), []string{"Pending One"}) {
		t.Errorf("created section: %q, pager %d", sectionNames(p, "created"), p.Doc.Find(`nav.pager`).Length())
	}

	p = b.get(next)
	if got := sectionNames(p, "access"); !slices.Equal(got, []string{"Customer 26", "Customer 27", "Customer 28", "Customer 29", "Customer 30"}) {
		t.Errorf("second page lists %q", got)
	}
	if p.Doc.Find(`#section-access nav.pager a[rel=next]`).Length() != 0 {
		t.Error("last page offers a next page")
	}
	prev, _ := p.Doc.Find(`#section-access nav.pager a[rel=prev]`).Attr("href")
	if want := fmt.Sprintf("/clc/directory/access?before=%d.customer+26&page=1", int64(ids[25])); prev != want {
		t.Errorf("previous page link %q, want %q", prev, want)
	}
	if got := sectionNames(b.get(prev), "access"); len(got) != 25 || got[0] != "Customer 01" {
		t.Errorf("the previous page lists %q", got)
	}

	for filter, want := range map[string][]string{
		"customer 1":             {"Customer 10", "Customer 11", "Customer 12", "Customer 13", "Customer 14", "Customer 15", "Customer 16", "Customer 17", "Customer 18", "Customer 19"},
		"CUSTOMER07.example":     {"Customer 07"},
		ids[22].String():         {"Customer 23"},
		"nothing matches this":   nil,
		"  Customer 30  ":        {"Customer 30"},
		"pending-one":            nil, // the filter keeps to its section
		"%":                      nil, // LIKE's wildcards are literal characters
		"SA-" + "00000" + "9999": nil,
	} {
		p := b.get("/clc/directory/access?q=" + url.QueryEscape(filter))
		wantStatus(t, p, http.StatusOK)
		if got := sectionNames(p, "access"); !slices.Equal(got, want) {
			t.Errorf("filter %q lists %q, want %q", filter, got, want)
		}
		if v, _ := p.Doc.Find("input#directory-filter").Attr("value"); v != strings.TrimSpace(filter) && v != filter {
			t.Errorf("filter %q not kept in the box: %q", filter, v)
		}
	}
	p = b.get("/clc/directory/created?q=pending")
	if got := sectionNames(p, "created"); !slices.Equal(got, []string{"Pending One"}) {
		t.Errorf("filter on the created section lists %q", got)
	}

	// Paging keeps the filter.
	p = b.get("/clc/directory/access?q=customer")
	next, _ = p.Doc.Find(`#section-access nav.pager a[rel=next]`).Attr("href")
	u, _ := url.Parse(next)
	if u.Path != "/clc/directory/access" || u.Query().Get("q") != "customer" || u.Query().Get("page") != "2" || u.Query().Get("after") == "" {
		t.Errorf("next page link %q does not keep the filter", next)
	}

	// A page number without a key is the first page; nonsense is the first
	// page; a section that does not exist is not found.
	if got := sectionNames(b.get("/clc/directory/access?page=99"), "access"); len(got) != 25 || got[0] != "Customer 01" {
		t.Errorf("page 99 lists %q", got)
	}
	if got := sectionNames(b.get("/clc/directory/access?page=-3"), "access"); len(got) != 25 {
		t.Errorf("page -3 lists %d", len(got))
	}
	wantStatus(t, b.get("/clc/directory/everything"), http.StatusNotFound)
	wantRedirect(t, a.browser().get("/clc/directory/access"), "/login?next=%2Fclc%2Fdirectory%2Faccess")
}

func TestDirectoryNeedsSignIn(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	wantRedirect(t, a.browser().get("/clc/directory"), "/login?next=%2Fclc%2Fdirectory")
}
