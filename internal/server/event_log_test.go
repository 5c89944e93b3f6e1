package server_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
)

// csvOf parses an export, which must be RFC 4180 CSV with a header row.
func csvOf(t *testing.T, p page) [][]string {
	t.Helper()
	wantStatus(t, p, http.StatusOK)
	if ct := p.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("export served as %q", ct)
	}
	recs, err := csv.NewReader(strings.NewReader(p.Body)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, p.Body)
	}
	if len(recs) == 0 {
		t.Fatal("export has no header row")
	}
	return recs
}

// column is the values of the column headed name.
func column(t *testing.T, recs [][]string, name string) []string {
	t.Helper()
	i := slices.Index(recs[0], name)
	if i < 0 {
		t.Fatalf("no column %q in %v", name, recs[0])
	}
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[i])
	}
	return out
}

// An approval's whole trail, from the request to the access it granted,
// is in the exported CSV of the request's log, for the partner who sent it
// and for the customer who now administers the account; operators see the
// same with where each change came from; nobody else sees it at all.
func TestEventLogExportShowsApprovalTrail(t *testing.T) {
	a, ada := requester(t)
	a.user("olga@cisco.example", "Olga", true)
	a.user("eve@partner.example", "Eve", false)
	id := submit(t, a, ada, validForm())
	hank := a.secret(t, "approval_request", "hank@globex.example")
	wantStatus(t, a.browser().post("/pending/"+hank+"/approve", nil), http.StatusSeeOther)

	recs := csvOf(t, ada.get("/clc/requests/"+id.String()+"/events.csv"))
	if want := []string{"When", "Smart Account", "Event code", "What happened", "By", "Detail"}; !slices.Equal(recs[0], want) {
		t.Errorf("header %v, want %v (no client address for a partner)", recs[0], want)
	}
	kinds := column(t, recs, "Event code")
	// Newest first: the decision, then the emails it queued, back to the request.
	// (The emails' own events come as the worker delivers them.)
	if !slices.Equal(kinds, []string{"approved", "requested"}) {
		t.Errorf("the partner's trail: %v", kinds)
	}
	if slices.Contains(kinds, "access_granted") {
		t.Errorf("the partner sees who the customer gave access: %v", kinds)
	}
	for i, at := range column(t, recs, "When") {
		if _, err := time.Parse(time.RFC3339, at); err != nil || !strings.HasSuffix(at, "Z") {
			t.Errorf("row %d dated %q, want ISO 8601 UTC", i, at)
		}
	}
	if by := column(t, recs, "By"); by[slices.Index(kinds, "approved")] != "hank@globex.example" ||
		by[len(by)-1] != "ada@partner.example" {
		t.Errorf("actors %v", by)
	}
	if what := column(t, recs, "What happened"); what[slices.Index(kinds, "approved")] != "Request approved" {
		t.Errorf("what happened %v", what)
	}

	// The customer's administrator reads it all, in German if they like.
	hankB := a.browser()
	hankB.post("/set-password/"+a.secret(t, "account_created_admin", "hank@globex.example"),
		url.Values{"password": {"correct horse"}, "confirm": {"correct horse"}})
	hankB = a.signedIn("hank@globex.example")
	hankB.post("/language", url.Values{"lang": {"de"}})
	de := csvOf(t, hankB.get("/clc/accounts/"+id.String()+"/events.csv"))
	if de[0][0] != "Wann" {
		t.Errorf("the German header %v", de[0])
	}
	all := column(t, de, "Ereigniscode")
	for _, k := range []string{"requested", "approved", "access_granted"} {
		if !slices.Contains(all, k) {
			t.Errorf("the administrator's export lacks %s: %v", k, all)
		}
	}

	// Staff: every event, with its client address.
	olga := a.signedIn("olga@cisco.example")
	ops := csvOf(t, olga.get("/ops/events.csv?kind=approved"))
	if got := column(t, ops, "Client address"); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("the approval came from %v, want [127.0.0.1]", got)
	}
	if got := column(t, ops, "Smart Account"); got[0] != id.String() {
		t.Errorf("the approval is on %v", got)
	}
	page := olga.get("/ops/events?actor=hank@globex.example")
	wantStatus(t, page, http.StatusOK)
	if got := texts(page, "#event-log td.client"); len(got) == 0 || got[0] != "127.0.0.1" {
		t.Errorf("operators' page shows clients %v", got)
	}
	if got := texts(hankB.get("/clc/accounts/"+id.String()+"/events"), "#event-log td.client"); len(got) != 0 {
		t.Errorf("an administrator sees client addresses %v", got)
	}

	// Anyone else: the request, its account and the operators' log are not there.
	eve := a.signedIn("eve@partner.example")
	for _, path := range []string{"/clc/requests/" + id.String() + "/events", "/clc/requests/" + id.String() + "/events.csv",
		"/clc/accounts/" + id.String() + "/events", "/clc/accounts/" + id.String() + "/events.csv"} {
		wantStatus(t, eve.get(path), http.StatusNotFound)
	}
	// The partner follows the request, not the account it became.
	wantStatus(t, ada.get("/clc/accounts/"+id.String()+"/events.csv"), http.StatusNotFound)
	wantStatus(t, eve.get("/ops/events.csv"), http.StatusForbidden)
	wantStatus(t, eve.get("/ops/events"), http.StatusForbidden)
	wantStatus(t, a.browser().get("/ops/events.csv"), http.StatusSeeOther)
}

// The filter's input is bounded and checked before any row is read.
func TestEventLogFilterRefusesBadInput(t *testing.T) {
	a, _ := requester(t)
	a.user("olga@cisco.example", "Olga", true)
	olga := a.signedIn("olga@cisco.example")
	for _, q := range []string{"from=yesterday", "to=2026-13-01", "from=2026-05-02&to=2026-05-01", "kind=dropped_table",
		"actor=" + strings.Repeat("a", account.MaxEventActorLength+1), "cursor=1.x", "cursor=12"} {
		p := olga.get("/ops/events?" + q)
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if len(texts(p, ".field-error")) == 0 {
			t.Errorf("%s: no message beside the field", q)
		}
		if olga.get("/ops/events.csv?"+q).StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: the export accepted it", q)
		}
	}
}

// 50 a page, newest first, and the cursor continues exactly where the page
// ended: no event twice, none left out, also when several share a time.
func TestEventLogKeysetPaging(t *testing.T) {
	a, ada := requester(t)
	a.user("olga@cisco.example", "Olga", true)
	id := submit(t, a, ada, validForm())
	at := a.clock.Now()
	if _, err := a.db.Pool.Exec(context.Background(), `
		INSERT INTO events (smart_account_id, at, actor, kind, params)
		SELECT $1, $2::timestamptz + (i / 3) * interval '1 second', 'bulk@partner.example', 'reminded', '{}'
		FROM generate_series(1, 120) AS i`, id, at); err != nil {
		t.Fatal(err)
	}
	olga := a.signedIn("olga@cisco.example")
	seen := 0
	path, pages := "/clc/requests/"+id.String()+"/events?kind=reminded", 0
	for path != "" {
		p := olga.get(path)
		wantStatus(t, p, http.StatusOK)
		pages++
		rows := p.Doc.Find("#event-log tbody tr")
		if next, _ := p.Doc.Find("#event-next").Attr("href"); next != "" && rows.Length() != 50 {
			t.Errorf("page %d has %d rows", pages, rows.Length())
		}
		seen += rows.Length()
		path, _ = p.Doc.Find("#event-next").Attr("href")
	}
	if pages != 3 || seen != 120 {
		t.Errorf("%d pages, %d events; want 3 and 120", pages, seen)
	}
	// The API pages the same log with the same cursor.
	api := a.api(t, a.openAPI(t), ada.newToken("log"))
	n, next := 0, "/api/v1/account-requests/"+id.String()+"/events?kind=reminded"
	ids := map[int64]bool{}
	for next != "" {
		ans := api.do(http.MethodGet, next, nil)
		if ans.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", next, ans.Status, ans.Body)
		}
		var page struct {
			Items []struct {
				ID     int64  `json:"id"`
				Client string `json:"client_address"`
			} `json:"items"`
			Next *string `json:"next"`
		}
		if err := json.Unmarshal(ans.Body, &page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			ids[e.ID] = true
			if e.Client != "" {
				t.Errorf("the API shows a partner a client address")
			}
		}
		n++
		next = ""
		if page.Next != nil {
			next = *page.Next
		}
	}
	if n != 3 || len(ids) != 120 {
		t.Errorf("the API: %d pages, %d events", n, len(ids))
	}
	if ans := api.do(http.MethodGet, "/api/v1/events", nil); ans.Status != http.StatusForbidden {
		t.Errorf("a partner's token reads the operators' log: %d", ans.Status)
	}
}

// A cell a spreadsheet would run as a formula is written as text.
func TestEventLogExportGuardsFormulas(t *testing.T) {
	a, ada := requester(t)
	id := submit(t, a, ada, validForm())
	hank := a.secret(t, "approval_request", "hank@globex.example")
	wantStatus(t, a.browser().post("/pending/"+hank+"/deny", url.Values{"reason": {`=HYPERLINK("http://evil.example","x")`}}), http.StatusSeeOther)
	recs := csvOf(t, ada.get("/clc/requests/"+id.String()+"/events.csv?kind=denied"))
	if got := column(t, recs, "Detail"); len(got) != 1 || got[0] != `'=HYPERLINK("http://evil.example","x")` {
		t.Errorf("the reason exported as %q", got)
	}
}

// Sign-ins, refused ones, two-factor and API tokens are each an event of
// the user's own, with the client they came from.
func TestEventLogRecordsSignInsAndTokens(t *testing.T) {
	a, ada := requester(t)
	a.browser().login("ada@partner.example", "wrong horse")
	ada.newToken("ci")
	ada.post("/logout", nil)
	got := map[string]int{}
	rows, err := a.db.Pool.Query(context.Background(), `
		SELECT kind, count(*) FROM events WHERE actor = 'ada@partner.example' AND smart_account_id IS NULL AND client_addr = '127.0.0.1'
		GROUP BY kind`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		got[k] = n
	}
	for k, n := range map[string]int{"signed_in": 1, "sign_in_failed": 1, "api_token_created": 1, "signed_out": 1} {
		if got[k] != n {
			t.Errorf("%s recorded %d times, want %d (all: %v)", k, got[k], n, got)
		}
	}
}
