package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
)

// sees says which parts of an account's page are shown.
type sees struct {
	virtualAccounts, holders, history, requestAccess bool
}

func seen(p page) sees {
	return sees{
		virtualAccounts: p.Doc.Find("#virtual-accounts").Length() == 1,
		holders:         p.Doc.Find("#holders").Length() == 1,
		history:         p.Doc.Find("#history").Length() == 1,
		requestAccess:   p.Doc.Find(`main a:contains("Request Access")`).Length() == 1,
	}
}

func TestAccountPageShowsWhatEachRoleMaySee(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("hank@globex.example", "Hank Scorpio", false)
	for _, u := range []string{"vera", "uma", "vic", "nora"} {
		a.user(u+"@partner.example", strings.ToUpper(u[:1])+u[1:], false)
	}
	a.user("sam@clc.example", "Sam Staff", true)
	globex := a.account("Globex Corporation", "globex.example", "hank@globex.example")
	a.virtualAccount(globex, "Engineering")
	a.virtualAccount(globex, "Sales")
	a.grant("vera@partner.example", globex, "", account.RoleViewer)
	a.grant("uma@partner.example", globex, "", account.RoleUser)
	a.grant("vic@partner.example", globex, "Sales", account.RoleUser)
	path := "/clc/accounts/" + globex.ID.String()

	for _, tc := range []struct {
		who  string
		want sees
	}{
		{"vera@partner.example", sees{virtualAccounts: true}},
		{"uma@partner.example", sees{virtualAccounts: true, holders: true, history: true}},
		{"vic@partner.example", sees{virtualAccounts: true, holders: true, history: true}},
		{"hank@globex.example", sees{virtualAccounts: true, holders: true, history: true}},
		{"nora@partner.example", sees{requestAccess: true}},
		// Staff see everything, and may ask for a role like anyone else.
		{"sam@clc.example", sees{virtualAccounts: true, holders: true, history: true, requestAccess: true}},
	} {
		p := a.signedIn(tc.who).get(path)
		wantStatus(t, p, http.StatusOK)
		if got := seen(p); got != tc.want {
			t.Errorf("%s sees %+v, want %+v", tc.who, got, tc.want)
		}
		// Everyone sees what search shows.
		if text(p, "h1") != "Globex Corporation" || text(p, "#account-id") != globex.ID.String() ||
			text(p, "#account-domain") != "globex.example" || text(p, "#account-status") != "Active" {
			t.Errorf("%s: facts %q %q %q", tc.who, text(p, "#account-id"), text(p, "#account-domain"), text(p, "#account-status"))
		}
		if href, _ := p.Doc.Find(`#admins a[href^="mailto:"]`).Attr("href"); href != "mailto:hank@globex.example" {
			t.Errorf("%s: admin contact %q", tc.who, href)
		}
	}

	p := a.signedIn("uma@partner.example").get(path)
	if got := texts(p, "#virtual-accounts li li"); !slices.Equal(got, []string{"DEFAULT", "Engineering", "Sales"}) {
		t.Errorf("hierarchy %q", got)
	}
	if got := rows(p, "#holders tbody tr"); !slices.Equal(got, []string{
		"Hank Scorpio hank@globex.example Administrator The Smart Account",
		"Uma uma@partner.example User The Smart Account",
		"Vera vera@partner.example Viewer The Smart Account",
		"Vic vic@partner.example User Sales",
	}) {
		t.Errorf("role holders %q", got)
	}
	if got := text(p, "#account-role"); got != "User" {
		t.Errorf("Uma's role %q", got)
	}
	history := texts(p, "#history tbody td:nth-child(2)")
	if len(history) == 0 || history[len(history)-1] != "Smart Account created" || history[0] != "Access granted" {
		t.Errorf("history, newest first: %q", history)
	}
	if got := text(a.signedIn("vic@partner.example").get(path), "#account-role"); got != "Virtual Account User" {
		t.Errorf("Vic's role %q", got)
	}
}

func TestRestrictedAccountPageIsNotFoundUnlessFound(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("alice@umbrella.example", "Alice", false)
	a.user("nora@partner.example", "Nora", false)
	a.user("vera@partner.example", "Vera", false)
	a.user("sam@clc.example", "Sam Staff", true)
	umbrella := a.restricted("Umbrella Corporation", "umbrella.example", "alice@umbrella.example")
	a.grant("vera@partner.example", umbrella, "", account.RoleViewer)
	path := "/clc/accounts/" + umbrella.ID.String()
	nora := a.signedIn("nora@partner.example")

	notFound := nora.get("/clc/accounts/SA-999999")
	wantStatus(t, notFound, http.StatusNotFound)
	for _, q := range []string{"", "Umbrella", "umbrella corp", "umbrella.exam", "Globex Corporation"} {
		p := nora.get(path + "?q=" + url.QueryEscape(q))
		wantStatus(t, p, http.StatusNotFound)
		// The same page as for an account that does not exist.
		if text(p, "main") != text(notFound, "main") {
			t.Errorf("q=%q: 404 differs from a missing account's: %s", q, text(p, "main"))
		}
	}
	for _, q := range []string{"Umbrella Corporation", "UMBRELLA CORPORATION", "umbrella.example"} {
		p := nora.get(path + "?q=" + url.QueryEscape(q))
		wantStatus(t, p, http.StatusOK)
		if got := seen(p); got != (sees{requestAccess: true}) {
			t.Errorf("q=%q: sees %+v", q, got)
		}
	}
	wantStatus(t, a.signedIn("vera@partner.example").get(path), http.StatusOK)
	wantStatus(t, a.signedIn("sam@clc.example").get(path), http.StatusOK)
	for _, bad := range []string{"/clc/accounts/nonsense", "/clc/accounts/SA-0", "/clc/accounts/-1"} {
		wantStatus(t, nora.get(bad), http.StatusNotFound)
	}
}

func TestAccountPageForItsCreatorAndForAccountsThatNeverCameToBe(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ada := a.user("ada@partner.example", "Ada", false)
	a.user("nora@partner.example", "Nora", false)
	pending := a.createdBy(ada, "Acme Widgets", "acme.example", account.StatusPending)
	denied := a.createdBy(ada, "Contoso", "contoso.example", account.StatusDenied)

	for _, sa := range []account.SmartAccount{pending, denied} {
		p := a.signedIn(ada.Email).get("/clc/accounts/" + sa.ID.String())
		wantStatus(t, p, http.StatusOK)
		if got := seen(p); got != (sees{virtualAccounts: true, history: true}) {
			t.Errorf("creator of a %s account sees %+v", sa.Status, got)
		}
	}
	// Others see a pending account as search does, without Request Access
	// (it has no administrators yet), and a denied one not at all.
	p := a.signedIn("nora@partner.example").get("/clc/accounts/" + pending.ID.String())
	wantStatus(t, p, http.StatusOK)
	if got := seen(p); got != (sees{}) {
		t.Errorf("someone else sees %+v of a pending account", got)
	}
	wantStatus(t, a.signedIn("nora@partner.example").get("/clc/accounts/"+denied.ID.String()), http.StatusNotFound)
}

func TestAccountHistoryPagesNewestFirst(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.user("hank@globex.example", "Hank", false)
	globex := a.account("Globex Corporation", "globex.example", "hank@globex.example")
	base := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	for i := 1; i <= 30; i++ {
		_, err := a.db.Pool.Exec(context.Background(), `
			INSERT INTO events (smart_account_id, at, actor, kind, params) VALUES ($1, $2, 'test', 'emailed', jsonb_build_object('text', $3::text))`,
			globex.ID, base.Add(time.Duration(i)*time.Hour), fmt.Sprintf("mail %02d", i))
		if err != nil {
			t.Fatal(err)
		}
	}
	b := a.signedIn("hank@globex.example")
	p := b.get("/clc/accounts/" + globex.ID.String())
	details := texts(p, "#history tbody td:nth-child(4)")
	// The account was created now, after every one of these.
	if len(details) != 25 || details[1] != "mail 30" || details[24] != "mail 07" {
		t.Fatalf("first page of history: %q", details)
	}
	if got := text(p, "#history tbody tr:nth-child(2) time"); got != "2 January 2026, 15:00 UTC" {
		t.Errorf("time shown as %q", got)
	}
	next, _ := p.Doc.Find(`#history nav.pager a[rel=next]`).Attr("href")
	p = b.get(next)
	if got := texts(p, "#history tbody td:nth-child(4)"); !slices.Equal(got, []string{"mail 06", "mail 05", "mail 04", "mail 03", "mail 02", "mail 01"}) {
		t.Errorf("second page of history: %q", got)
	}
}
