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

// searchNames lists the names a search answers with, in order.
func searchNames(b *browser, query string) []string {
	b.t.Helper()
	p := b.get("/clc/search?q=" + url.QueryEscape(query))
	wantStatus(b.t, p, http.StatusOK)
	return texts(p, "main table tbody th[scope=row]")
}

func TestSearchFindsPartsOfNamesAndDomainsFoldingCaseAndAccents(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	a.user("admin@zurich.example", "Zora Admin", false)
	a.account("Zürich Versicherung", "zuerich-versicherung.example", "admin@zurich.example")
	a.account("Société Générale", "societe-generale.example")
	a.account("Globex Corporation", "globex.example")
	a.account("Bücherei Müller", "xn--bcher-kva.example")
	b := a.signedIn("ada@partner.example")

	for query, want := range map[string][]string{
		"zurich":                {"Zürich Versicherung"},
		"ZÜRICH":                {"Zürich Versicherung"},
		"  Versich  ":           {"Zürich Versicherung"},
		"uerich-vers":           {"Zürich Versicherung"}, // part of the domain
		"societe gen":           {"Société Générale"},
		"SOCIÉTÉ":               {"Société Générale"},
		"globex.example":        {"Globex Corporation"},
		"corp":                  {"Globex Corporation"},
		"muller":                {"Bücherei Müller"},
		"bücher.example":        {"Bücherei Müller"}, // an IDN domain, typed as people write it
		"nothing like this":     nil,
		"glob%":                 nil, // a wildcard is a literal character
		"zurich versicherung x": nil,
	} {
		if got := searchNames(b, query); !slices.Equal(got, want) {
			t.Errorf("search %q finds %q, want %q", query, got, want)
		}
	}

	p := b.get("/clc/search?q=zurich")
	if id, _ := p.Doc.Find(`label:contains("Search Smart Accounts")`).Attr("for"); p.Doc.Find("input#"+id).Length() != 1 {
		t.Error("no field labelled Search Smart Accounts")
	}
	if p.Doc.Find(`button:contains("Search")`).Length() != 1 {
		t.Error("no Search button")
	}
	if v, _ := p.Doc.Find("input#search-q").Attr("value"); v != "zurich" {
		t.Errorf("query not kept: %q", v)
	}
	row := text(p, "main tbody tr")
	for _, want := range []string{"Zürich Versicherung", "SA-", "zuerich-versicherung.example", "Active", "Zora Admin", "admin@zurich.example"} {
		if !strings.Contains(row, want) {
			t.Errorf("result lacks %q: %s", want, row)
		}
	}
	// Results show the listing only: no Virtual Accounts, whatever the role.
	if strings.Contains(row, "DEFAULT") {
		t.Errorf("result shows Virtual Accounts: %s", row)
	}
	if got := text(p, "main tbody td .status"); got != "Active" {
		t.Errorf("status %q", got)
	}
}

func TestSearchFindsRestrictedAccountsOnlyByTheirEntireNameOrDomain(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	a.user("alice@umbrella.example", "Alice Abernathy", false)
	umbrella := a.restricted("Umbrella Corporation", "umbrella.example", "alice@umbrella.example")
	a.virtualAccount(umbrella, "Research")
	a.account("Umbrella Insurance", "umbrella-insurance.example")
	b := a.signedIn("ada@partner.example")

	for query, want := range map[string][]string{
		"Umbrella Corporation": {"Umbrella Corporation"},
		"umbrella corporation": {"Umbrella Corporation"},
		"UMBRELLA.EXAMPLE":     {"Umbrella Corporation"},
		"Umbrélla Corporation": {"Umbrella Corporation"},
		"Umbrella":             {"Umbrella Insurance"},
		"umbrella corp":        nil,
		"Corporation":          nil,
		"umbrella.exam":        nil,
		"brella.example":       nil,
	} {
		if got := searchNames(b, query); !slices.Equal(got, want) {
			t.Errorf("search %q finds %q, want %q", query, got, want)
		}
	}

	// Found by its entire name, it shows no more than any other result, and
	// its links carry the query that found it.
	p := b.get("/clc/search?q=" + url.QueryEscape("umbrella corporation"))
	row := p.Doc.Find("main tbody tr")
	if strings.Contains(row.Text(), "Research") || strings.Contains(row.Text(), "DEFAULT") {
		t.Errorf("restricted result shows more than a listing: %s", row.Text())
	}
	href, _ := row.Find("th a").Attr("href")
	account := b.get(href)
	wantStatus(t, account, http.StatusOK)
	if text(account, "h1") != "Umbrella Corporation" || account.Doc.Find("#virtual-accounts").Length() != 0 {
		t.Errorf("account page from search: %s", text(account, "main"))
	}
	request, _ := row.Find(`a:contains("Request Access")`).Attr("href")
	wantStatus(t, b.get(request), http.StatusOK)
}

func TestSearchNeedsThreeCharacters(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("ada@partner.example", "Ada", false)
	a.account("AB Logistics", "ab-logistics.example")
	b := a.signedIn("ada@partner.example")

	for _, q := range []string{"ab", "  ab  ", "é"} {
		p := b.get("/clc/search?q=" + url.QueryEscape(q))
		wantStatus(t, p, http.StatusOK)
		if got := text(p, "#search-hint"); got != "Enter at least 3 characters to search." {
			t.Errorf("query %q: message %q", q, got)
		}
		if p.Doc.Find("main table").Length() != 0 {
			t.Errorf("query %q searched anyway", q)
		}
	}
	if got := searchNames(b, "ab "); got != nil {
		t.Errorf("a two-letter query with a space searched: %q", got)
	}
	if got := searchNames(b, "ab l"); !slices.Equal(got, []string{"AB Logistics"}) {
		t.Errorf("three characters find %q", got)
	}
	// A query with no word of three letters is found where a name starts
	// with it, or as a whole domain, not inside names: that would read them all.
	a.account("Crab Logistics", "crab-logistics.example")
	a.restricted("XY Holdings", "xy.co")
	if got := searchNames(b, "ab l"); !slices.Equal(got, []string{"AB Logistics"}) {
		t.Errorf("a query of short words finds %q", got)
	}
	if got := searchNames(b, "XY.co"); !slices.Equal(got, []string{"XY Holdings"}) {
		t.Errorf("a short whole domain finds %q", got)
	}
	if got := searchNames(b, "rab l"); !slices.Equal(got, []string{"Crab Logistics"}) {
		t.Errorf("a word of three letters inside a name finds %q", got)
	}
	p := b.get("/clc/search")
	if p.Doc.Find("p.error").Length() != 0 || p.Doc.Find("main table").Length() != 0 {
		t.Error("the empty search page complains or lists")
	}
	p = b.get("/clc/search?q=" + strings.Repeat("x", 101))
	if !strings.Contains(text(p, "#search-hint"), "at most 100") {
		t.Errorf("a long query: %q", text(p, "#search-hint"))
	}
}

func TestSearchPagesNamesStartingWithTheQueryFirst(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ada := a.user("ada@partner.example", "Ada", false)
	var want []string
	mine := a.account("Widget Works 00", "widgets00.example", ada.Email)
	want = append(want, "Widget Works 00")
	for i := 1; i <= 9; i++ {
		a.account(fmt.Sprintf("Widget Works %02d", i), fmt.Sprintf("widgets%02d.example", i))
		want = append(want, fmt.Sprintf("Widget Works %02d", i))
	}
	// Then those with "widget" elsewhere in the name or in the domain.
	for i := 1; i <= 40; i++ {
		a.account(fmt.Sprintf("Acme Widget %02d", i), fmt.Sprintf("acme%02d.example", i))
		want = append(want, fmt.Sprintf("Acme Widget %02d", i))
	}
	a.account("Zebra Tools", "zebra-widget.example")
	want = append(want, "Zebra Tools")
	a.account("Unrelated", "unrelated.example")
	b := a.signedIn(ada.Email)

	var got []string
	next := "/clc/search?q=widget"
	for pages := 0; next != ""; pages++ {
		if pages == 3 {
			t.Fatal("more than three pages")
		}
		p := b.get(next)
		names := texts(p, "main tbody th[scope=row]")
		if len(names) != 25 && (len(names) != 1 || pages != 2) {
			t.Fatalf("page %d lists %d: %q", pages+1, len(names), names)
		}
		got = append(got, names...)
		next, _ = p.Doc.Find(`nav.pager a[rel=next]`).Attr("href")
		if pages == 0 {
			// Request Access where the user has no role; not on their own account.
			if p.Doc.Find(`main tbody tr:contains("Widget Works 00") a:contains("Request Access")`).Length() != 0 {
				t.Error("offers Request Access on an account the user administers")
			}
			if href, _ := p.Doc.Find(`main tbody tr:contains("Widget Works 00") th a`).Attr("href"); href != "/clc/accounts/"+mine.ID.String() {
				t.Errorf("own account links to %q", href)
			}
			if p.Doc.Find(`main tbody tr:contains("Widget Works 01") a:contains("Request Access")`).Length() != 1 {
				t.Error("no Request Access on an account the user holds no role on")
			}
		}
		if pages == 2 {
			if prev, _ := p.Doc.Find(`nav.pager a[rel=prev]`).Attr("href"); prev != "/clc/search?page=2&q=widget" {
				t.Errorf("previous page link %q", prev)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages list\n%q\nwant\n%q", got, want)
	}
	// A page past the end is empty, not an error.
	p := b.get("/clc/search?q=widget&page=9")
	wantStatus(t, p, http.StatusOK)
	if p.Doc.Find("main tbody tr").Length() != 0 || text(p, "#search-none") == "" {
		t.Errorf("page 9: %s", text(p, "main"))
	}
}

func TestSearchLeavesOutAccountsThatNeverCameToBe(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ada := a.user("ada@partner.example", "Ada", false)
	a.createdBy(ada, "Denied Dynamics", "denied-dynamics.example", account.StatusDenied)
	a.createdBy(ada, "Expired Dynamics", "expired-dynamics.example", account.StatusExpired)
	a.createdBy(ada, "Pending Dynamics", "pending-dynamics.example", account.StatusPending)
	a.account("Active Dynamics", "active-dynamics.example")
	b := a.signedIn(ada.Email)
	if got := searchNames(b, "dynamics"); !slices.Equal(got, []string{"Active Dynamics", "Pending Dynamics"}) {
		t.Errorf("search finds %q", got)
	}
}
