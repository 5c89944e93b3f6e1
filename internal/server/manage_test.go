package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
)

// managed is a Globex account with one person in each relation to it, and
// a pending access request from a partner.
type managed struct {
	*app
	globex  account.SmartAccount
	request int64
}

func newManaged(t *testing.T) *managed {
	t.Helper()
	a := newApp(t)
	a.user("hank@globex.example", "Hank Scorpio", false)
	a.user("vera@globex.example", "Vera Viewer", false)
	a.user("uma@globex.example", "Uma User", false)
	a.user("vaadmin@globex.example", "Victor VA-Admin", false)
	a.user("ops@clc.example", "Operator", true)
	a.user("stranger@elsewhere.example", "Stranger", false)
	a.user("ada@partner.example", "Ada Partner", false)
	globex := a.account("Globex Corporation", "globex.example", "hank@globex.example")
	a.virtualAccount(globex, "Engineering")
	a.virtualAccount(globex, "Sales")
	a.grant("vera@globex.example", globex, "", account.RoleViewer)
	a.grant("uma@globex.example", globex, "", account.RoleUser)
	a.grant("vaadmin@globex.example", globex, "Engineering", account.RoleAdmin)
	a.clock.Advance(time.Second)
	ada := a.signedIn("ada@partner.example")
	p := ada.post("/clc/accounts/"+globex.ID.String()+"/request-access", url.Values{
		"step": {"submit"}, "scope": {"account"}, "role": {"admin"}, "reason": {"I renew Globex's licences."},
	})
	wantRedirect(t, p, "/clc/directory#section-requested")
	id, err := strconv.ParseInt(a.str(t, `SELECT id::text FROM access_requests`), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return &managed{app: a, globex: globex, request: id}
}

func (m *managed) path(suffix string) string {
	return "/clc/accounts/" + m.globex.ID.String() + "/" + suffix
}

func (m *managed) requestPath(suffix string) string {
	return m.path("access-requests/" + strconv.FormatInt(m.request, 10) + suffix)
}

// A Virtual Account Administrator is shown and treated as what they are,
// never as the Smart Account's Administrator.
func TestVirtualAccountAdministratorIsNotSmartAccountAdministrator(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	victor, err := m.svc.UserByEmail(context.Background(), "vaadmin@globex.example")
	if err != nil {
		t.Fatal(err)
	}
	b := m.signedIn("vaadmin@globex.example")
	home := b.get("/clc")
	if got := text(home, "main table tbody tr"); !strings.Contains(got, "Virtual Account Administrator") {
		t.Errorf("home shows the role as %q", got)
	}
	if b.get("/clc/directory").Doc.Find("#menu-pending-access").Length() != 0 {
		t.Error("a Virtual Account Administrator is offered Account Management")
	}
	// The request's status page is for the Smart Account's administrators.
	// Every management page and action answers as if it did not exist.
	for _, get := range []string{"access-requests", "users", "automation", "access-requests/" + strconv.FormatInt(m.request, 10)} {
		wantStatus(t, b.get(m.path(get)), http.StatusNotFound)
	}
	wantStatus(t, b.post(m.requestPath("/approve"), url.Values{"scope": {"account"}, "role": {"admin"}}), http.StatusNotFound)
	victorID := strconv.FormatInt(victor.ID, 10)
	wantStatus(t, b.post(m.path("users"), url.Values{"email": {"vaadmin@globex.example"}, "role": {"admin"}}), http.StatusNotFound)
	wantStatus(t, b.post(m.path("users/role"), url.Values{"user": {victorID}, "va": {"Engineering"}, "role": {"admin"}}), http.StatusNotFound)
	if got := m.str(t, `SELECT status FROM access_requests`); got != "pending" {
		t.Errorf("request is %s", got)
	}
	if n := m.count(t, `SELECT count(*) FROM memberships WHERE user_id = $1 AND virtual_account_id IS NULL`, victor.ID); n != 0 {
		t.Errorf("the Virtual Account Administrator made themselves a Smart Account role")
	}
}

// Each relation to the account, through the real router: only the Smart
// Account's Administrator reaches Account Management.
func TestAccountManagementPermissions(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	uma, _ := m.svc.UserByEmail(context.Background(), "uma@globex.example")
	for _, who := range []string{"vera@globex.example", "uma@globex.example", "vaadmin@globex.example", "ops@clc.example", "stranger@elsewhere.example", "ada@partner.example"} {
		b := m.signedIn(who)
		for _, get := range []string{"access-requests", "users", "automation", "access-requests/" + strconv.FormatInt(m.request, 10)} {
			p := b.get(m.path(get))
			// The user who asked follows their own request on its page, and
			// is offered no decision there.
			if who == "ada@partner.example" && strings.HasPrefix(get, "access-requests/") {
				wantStatus(t, p, http.StatusOK)
				if p.Doc.Find("#decline-form, #approve-form").Length() != 0 {
					t.Errorf("the requester is offered a decision: %s", text(p, "main"))
				}
				continue
			}
			if p.StatusCode != http.StatusNotFound {
				t.Errorf("%s GET %s: %d", who, get, p.StatusCode)
			}
		}
		for _, post := range []struct {
			path string
			form url.Values
		}{
			{m.requestPath("/approve"), url.Values{"scope": {"account"}, "role": {"admin"}}},
			{m.requestPath("/decline"), url.Values{}},
			{m.path("access-requests/bulk"), url.Values{"request": {strconv.FormatInt(m.request, 10)}, "decision": {"approve"}, "role": {"admin"}}},
			{m.path("users"), url.Values{"email": {who}, "role": {"admin"}}},
			{m.path("users/role"), url.Values{"user": {strconv.FormatInt(uma.ID, 10)}, "role": {"admin"}}},
			{m.path("users/remove"), url.Values{"user": {strconv.FormatInt(uma.ID, 10)}}},
			{m.path("automation"), url.Values{"same_domain": {"approve"}, "same_domain_role": {"admin"}, "other_domain": {"manual"}}},
		} {
			if p := b.post(post.path, post.form); p.StatusCode != http.StatusNotFound {
				t.Errorf("%s POST %s: %d", who, post.path, p.StatusCode)
			}
		}
		if got := text(b.get("/clc/manage/access-requests"), "#requests-none"); got == "" {
			t.Errorf("%s sees pending requests of accounts they do not administer", who)
		}
	}
	if n := m.count(t, `SELECT count(*) FROM access_requests WHERE status = 'pending'`); n != 1 {
		t.Errorf("request decided by a non-administrator")
	}
	if n := m.count(t, `SELECT count(*) FROM memberships WHERE smart_account_id = $1`, m.globex.ID); n != 4 {
		t.Errorf("%d memberships, want the 4 the test made", n)
	}
	if n := m.count(t, `SELECT count(*) FROM access_automation`); n != 0 {
		t.Errorf("rules saved by a non-administrator")
	}
	// The administrator reaches all of it.
	hank := m.signedIn("hank@globex.example")
	for _, get := range []string{"access-requests", "users", "automation", "access-requests/" + strconv.FormatInt(m.request, 10)} {
		wantStatus(t, hank.get(m.path(get)), http.StatusOK)
	}
}

// The "Done when" path: the partner asks from the directory, the
// administrator sees the request under Account Management, narrows it to a
// User on one Virtual Account and approves; the partner is emailed and sees
// the access in their directory.
func TestAdministratorApprovesNarrowerAccess(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	box := m.mailbox(t)
	hank := m.signedIn("hank@globex.example")

	dir := hank.get("/clc/directory")
	if got := text(dir, "#menu-pending-count"); got != "1" {
		t.Errorf("menu badge %q", got)
	}
	list := hank.get("/clc/manage/access-requests")
	wantStatus(t, list, http.StatusOK)
	row := text(list, "#access-requests tbody tr")
	for _, want := range []string{"Ada Partner", "ada@partner.example", "partner.example / globex.example", "Different domain",
		"Administrator on the entire Smart Account", "I renew Globex's licences.", "Pending", "Globex Corporation"} {
		if !strings.Contains(row, want) {
			t.Errorf("row %q lacks %q", row, want)
		}
	}
	open := hank.get(m.requestPath(""))
	if open.Doc.Find(`#decline-form button:contains("Decline")`).Length() != 1 || open.Doc.Find(`a:contains("Next")`).Length() != 1 {
		t.Fatalf("request page offers: %s", text(open, "main"))
	}
	next := hank.get(m.requestPath("?step=approve"))
	if got := text(next, "#approve-scope > legend"); got != "Scope of Access" {
		t.Errorf("approve step: %q", got)
	}
	if next.Doc.Find(`#approve-form label:contains("User Role")`).Length() != 1 {
		t.Errorf("approve step has no User Role")
	}
	m.clock.Advance(time.Minute)
	p := hank.post(m.requestPath("/approve"), url.Values{"scope": {"virtual"}, "va": {"Engineering"}, "role": {"user"}})
	wantRedirect(t, p, m.path("access-requests"))
	after := hank.get(m.path("access-requests"))
	if got := text(after, ".flash"); !strings.Contains(got, "Approved by hank@globex.example") || !strings.Contains(got, "User on Engineering") {
		t.Errorf("flash %q", got)
	}
	if got := text(after, "#menu-pending-count"); got != "0" {
		t.Errorf("menu badge after approval %q", got)
	}

	msg := box.find("ada@partner.example", "was approved")
	if !strings.Contains(msg.Text, "User on Engineering") {
		t.Errorf("approval email: %s", msg.Text)
	}
	ada := m.signedIn("ada@partner.example")
	access := text(ada.get("/clc/directory"), "#section-access tbody tr")
	if !strings.Contains(access, "Globex Corporation") || !strings.Contains(access, "Virtual Account User") {
		t.Errorf("Ada's access: %q", access)
	}
	if n := m.count(t, `SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE u.email = 'ada@partner.example' AND m.virtual_account_id IS NULL`); n != 0 {
		t.Errorf("approval gave a Smart Account role")
	}
	history := rows(hank.get("/clc/accounts/"+m.globex.ID.String()), "#history tbody tr")
	if len(history) == 0 || !strings.Contains(strings.Join(history, "\n"), "Access request approved hank@globex.example ada@partner.example: User on Engineering") {
		t.Errorf("history %q", history)
	}
	// Opened again, the request says how it was decided and offers nothing.
	again := hank.get(m.requestPath(""))
	if !strings.Contains(text(again, "#access-decided"), "Approved by hank@globex.example") || again.Doc.Find("main form").Length() != 0 {
		t.Errorf("decided request: %s", text(again, "main"))
	}
	wantStatus(t, hank.post(m.requestPath("/decline"), url.Values{}), http.StatusConflict)
}

func TestAdministratorDeclinesWithReason(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	hank := m.signedIn("hank@globex.example")
	p := hank.post(m.requestPath("/decline"), url.Values{"reason": {strings.Repeat("x", 1001)}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(text(p, "#reason-error"), "at most 1000") || len(p.Doc.Find("textarea#reason").Text()) != 1001 {
		t.Errorf("long reason: %s", text(p, "main"))
	}
	p = hank.post(m.requestPath("/decline"), url.Values{"reason": {"We do not work with this partner."}})
	wantRedirect(t, p, m.path("access-requests"))
	if got := m.emailsOf(t, "access_declined", "access_approved"); strings.Join(got, ",") != "access_declined ada@partner.example" {
		t.Errorf("emails %q", got)
	}
	msg := m.mailbox(t).find("ada@partner.example", "was declined")
	if !strings.Contains(msg.Text, "We do not work with this partner.") || !strings.Contains(msg.Text, "Administrator access") {
		t.Errorf("decline email: %s", msg.Text)
	}
	ada := m.signedIn("ada@partner.example")
	if got := text(ada.get("/clc/directory"), "#section-requested tbody tr"); !strings.Contains(got, "Declined") {
		t.Errorf("Ada's directory shows %q", got)
	}
	// Declined, she may ask again.
	p = ada.post(m.path("request-access"), url.Values{"step": {"submit"}, "role": {"viewer"}, "reason": {"Please reconsider."}})
	wantRedirect(t, p, "/clc/directory#section-requested")
}

// Twenty approvals and declines of one request at once: one decision, one
// email, one event.
func TestConcurrentAccessDecisionsMakeOne(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	m.user("hank2@globex.example", "Second Admin", false)
	m.grant("hank2@globex.example", m.globex, "", account.RoleAdmin)
	admins := []*browser{m.signedIn("hank@globex.example"), m.signedIn("hank2@globex.example")}
	before := len(m.outbox(t))

	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := admins[i%2]
			<-start
			if i%3 == 0 {
				statuses[i] = b.post(m.requestPath("/decline"), url.Values{"reason": {"no"}}).StatusCode
			} else {
				statuses[i] = b.post(m.requestPath("/approve"), url.Values{"scope": {"account"}, "role": {"viewer"}}).StatusCode
			}
		}()
	}
	close(start)
	wg.Wait()
	wantOneDecision(t, statuses)
	if emails := m.outbox(t)[before:]; len(emails) != 1 || emails[0].To != "ada@partner.example" {
		t.Errorf("emails after the race: %+v", emails)
	}
	if n := m.count(t, `SELECT count(*) FROM events WHERE kind IN ('access_approved', 'access_declined')`); n != 1 {
		t.Errorf("%d decision events", n)
	}
}

func TestBulkDecisions(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	for _, who := range []string{"bo@partner.example", "cy@partner.example"} {
		m.user(who, who, false)
		p := m.signedIn(who).post(m.path("request-access"), url.Values{"step": {"submit"}, "role": {"admin"}, "reason": {"Need it"}})
		wantRedirect(t, p, "/clc/directory#section-requested")
	}
	ids := strings.Split(m.str(t, `SELECT string_agg(id::text, ',' ORDER BY id) FROM access_requests`), ",")
	hank := m.signedIn("hank@globex.example")
	page := hank.get(m.path("access-requests"))
	if got := page.Doc.Find(`#access-requests input[type=checkbox][name=request]`).Length(); got != 3 {
		t.Fatalf("%d selectable requests", got)
	}
	p := hank.post(m.path("access-requests/bulk"), url.Values{"decision": {"approve"}, "scope": {"virtual"}, "role": {"viewer"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(text(p, "#requests-error"), "Select at least one") {
		t.Errorf("no selection: %s", text(p, "main"))
	}
	// Another account's request among the selected changes nothing.
	m.user("zed@other.example", "Zed", false)
	other := m.account("Other", "other.example", "zed@other.example")
	m.user("q@partner.example", "Q", false)
	wantRedirect(t, m.signedIn("q@partner.example").post("/clc/accounts/"+other.ID.String()+"/request-access",
		url.Values{"role": {"viewer"}, "reason": {"x"}}), "/clc/directory#section-requested")
	foreign := m.str(t, `SELECT id::text FROM access_requests WHERE smart_account_id = $1`, other.ID)
	p = hank.post(m.path("access-requests/bulk"), url.Values{"decision": {"decline"}, "request": {ids[0], foreign}})
	wantStatus(t, p, http.StatusNotFound)
	if n := m.count(t, `SELECT count(*) FROM access_requests WHERE status = 'pending'`); n != 4 {
		t.Fatalf("a crafted bulk decided %d requests", 4-n)
	}

	p = hank.post(m.path("access-requests/bulk"), url.Values{"decision": {"approve"}, "request": {ids[0], ids[1]},
		"scope": {"virtual"}, "va": {"Sales"}, "role": {"viewer"}})
	wantRedirect(t, p, m.path("access-requests"))
	// Deciding one of them again in bulk counts it as decided already.
	p = hank.post(m.path("access-requests/bulk"), url.Values{"decision": {"decline"}, "request": {ids[1], ids[2]}})
	wantRedirect(t, p, m.path("access-requests"))
	if got := text(hank.get(m.path("access-requests")), ".flash"); got != "1 requests decided. 1 had already been decided by someone else." {
		t.Errorf("flash %q", got)
	}
	if got := m.str(t, `SELECT string_agg(status || ':' || coalesce(granted_role, '') || ':' || array_to_string(granted_virtual_accounts, ','), ' ' ORDER BY id)
		FROM access_requests WHERE smart_account_id = $1`, m.globex.ID); got != "approved:viewer:Sales approved:viewer:Sales declined::" {
		t.Errorf("decisions %q", got)
	}
	if got := m.emailsOf(t, "access_approved", "access_declined"); strings.Join(got, ",") !=
		"access_approved ada@partner.example,access_approved bo@partner.example,access_declined cy@partner.example" {
		t.Errorf("emails %q", got)
	}
}

// A same-domain rule approves with no one acting; an other-domain rule
// declines; changing the rules is in the history.
func TestAutomationRules(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	hank := m.signedIn("hank@globex.example")
	p := hank.post(m.path("automation"), url.Values{"same_domain": {"approve"}, "same_domain_role": {"user"}, "same_domain_va": {"Nope"}, "other_domain": {"decline"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(text(p, "#same_domain_va-error"), "no Virtual Account") {
		t.Errorf("unknown Virtual Account: %s", text(p, "main"))
	}
	p = hank.post(m.path("automation"), url.Values{"same_domain": {"approve"}, "same_domain_role": {"user"}, "same_domain_va": {"Engineering"}, "other_domain": {"decline"}})
	wantRedirect(t, p, m.path("automation"))
	form := hank.get(m.path("automation"))
	if v, _ := form.Doc.Find(`#same_domain_va option[selected]`).Attr("value"); v != "Engineering" {
		t.Errorf("saved scope shows as %q", v)
	}
	history := strings.Join(rows(hank.get("/clc/accounts/"+m.globex.ID.String()), "#history tbody tr"), "\n")
	if !strings.Contains(history, "Automation settings changed hank@globex.example Same domain: approve as User on Engineering; other domains: decline") {
		t.Errorf("history %q", history)
	}

	// From the account's own domain (a subdomain counts): approved at once,
	// never more than asked (viewer, under the rule's user).
	m.user("new@emea.globex.example", "Newcomer", false)
	newcomer := m.signedIn("new@emea.globex.example")
	p = newcomer.post(m.path("request-access"), url.Values{"step": {"submit"}, "role": {"viewer"}, "reason": {"I joined EMEA."}})
	wantRedirect(t, p, "/clc/directory#section-requested")
	if got := m.str(t, `SELECT status || ' ' || decided_by_rule || ' ' || granted_role FROM access_requests r JOIN users u ON u.id = r.user_id WHERE u.email = 'new@emea.globex.example'`); got != "approved same_domain viewer" {
		t.Errorf("same-domain request: %q", got)
	}
	access := text(newcomer.get("/clc/directory"), "#section-access tbody tr")
	if !strings.Contains(access, "Virtual Account Viewer") {
		t.Errorf("newcomer's access %q", access)
	}
	// From elsewhere: declined at once. Nobody is asked either way.
	m.user("eve@elsewhere.example", "Eve", false)
	p = m.signedIn("eve@elsewhere.example").post(m.path("request-access"), url.Values{"step": {"submit"}, "role": {"admin"}, "reason": {"Let me in."}})
	wantRedirect(t, p, "/clc/directory#section-requested")
	if got := m.emailsOf(t, "access_requested", "access_approved", "access_declined"); strings.Join(got, ",") !=
		"access_requested hank@globex.example,access_approved new@emea.globex.example,access_declined eve@elsewhere.example" {
		t.Errorf("emails %q", got)
	}
	if got := text(hank.get("/clc/directory"), "#menu-pending-count"); got != "1" {
		t.Errorf("badge %q: only Ada's request waits", got)
	}
}

func TestAccountUsers(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	hank := m.signedIn("hank@globex.example")
	users := hank.get(m.path("users"))
	wantStatus(t, users, http.StatusOK)
	got := rows(users, "#users tbody tr")
	if len(got) != 4 {
		t.Fatalf("users %q", got)
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{"Hank Scorpio hank@globex.example The Smart Account Administrator", "Victor VA-Admin vaadmin@globex.example Engineering Administrator"} {
		if !strings.Contains(all, want) {
			t.Errorf("users lack %q: %q", want, got)
		}
	}
	hankUser, _ := m.svc.UserByEmail(context.Background(), "hank@globex.example")
	vera, _ := m.svc.UserByEmail(context.Background(), "vera@globex.example")

	// The last Administrator can be neither removed nor demoted.
	for _, p := range []page{
		hank.post(m.path("users/remove"), url.Values{"user": {strconv.FormatInt(hankUser.ID, 10)}}),
		hank.post(m.path("users/role"), url.Values{"user": {strconv.FormatInt(hankUser.ID, 10)}, "role": {"user"}}),
	} {
		wantStatus(t, p, http.StatusConflict)
		if !strings.Contains(text(p, "#users-error"), "last Administrator") {
			t.Errorf("last admin: %s", text(p, "main"))
		}
	}
	// Add an existing user; an unknown email is refused beside the field.
	p := hank.post(m.path("users"), url.Values{"email": {"nobody@globex.example"}, "va": {""}, "role": {"user"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(text(p, "#email-error"), "No user has this email") {
		t.Errorf("unknown email: %s", text(p, "main"))
	}
	if v, _ := p.Doc.Find("input#email").Attr("value"); v != "nobody@globex.example" {
		t.Errorf("email not kept: %q", v)
	}
	wantRedirect(t, hank.post(m.path("users"), url.Values{"email": {"ada@partner.example"}, "va": {"Sales"}, "role": {"viewer"}}), m.path("users"))
	// Vera becomes Administrator; then Hank may step down.
	wantRedirect(t, hank.post(m.path("users/role"), url.Values{"user": {strconv.FormatInt(vera.ID, 10)}, "role": {"admin"}}), m.path("users"))
	wantRedirect(t, hank.post(m.path("users/remove"), url.Values{"user": {strconv.FormatInt(hankUser.ID, 10)}}), m.path("users"))
	wantStatus(t, hank.get(m.path("users")), http.StatusNotFound)
	if got := m.str(t, `SELECT string_agg(u.email || ':' || coalesce(va.name, '') || ':' || m.role, ' ' ORDER BY u.email, va.name NULLS FIRST)
		FROM memberships m JOIN users u ON u.id = m.user_id LEFT JOIN virtual_accounts va ON va.id = m.virtual_account_id
		WHERE m.smart_account_id = $1`, m.globex.ID); got !=
		"ada@partner.example:Sales:viewer uma@globex.example::user vaadmin@globex.example:Engineering:admin vera@globex.example::admin" {
		t.Errorf("memberships %q", got)
	}
	history := strings.Join(rows(m.signedIn("vera@globex.example").get("/clc/accounts/"+m.globex.ID.String()), "#history tbody tr"), "\n")
	for _, want := range []string{"Role removed hank@globex.example hank@globex.example", "Role changed hank@globex.example vera@globex.example: Administrator", "ada@partner.example: Viewer on Sales"} {
		if !strings.Contains(history, want) {
			t.Errorf("history lacks %q: %s", want, history)
		}
	}
	// The history keeps codes and parameters: in German it reads in German.
	if err := m.svc.SetLanguage(context.Background(), vera.ID, "de"); err != nil {
		t.Fatal(err)
	}
	history = strings.Join(rows(m.signedIn("vera@globex.example").get("/clc/accounts/"+m.globex.ID.String()), "#history tbody tr"), "\n")
	for _, want := range []string{"Rolle entfernt hank@globex.example hank@globex.example", "Rolle geändert hank@globex.example vera@globex.example: Administrator", "ada@partner.example: Betrachter für Sales"} {
		if !strings.Contains(history, want) {
			t.Errorf("German history lacks %q: %s", want, history)
		}
	}
}

// The directory has "Search Smart Accounts" and a "Your access" column that
// offers "Request access" where the viewer holds no role.
func TestDirectorySearchAndYourAccess(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	m.user("kim@globex.example", "Kim", false)
	kim := m.signedIn("kim@globex.example")
	dir := kim.get("/clc/directory")
	form := dir.Doc.Find("form#directory-search")
	if action, _ := form.Attr("action"); action != "/clc/search" {
		t.Errorf("search form posts to %q", action)
	}
	if form.Find(`label:contains("Search Smart Accounts")`).Length() != 1 || form.Find(`button:contains("Search")`).Length() != 1 {
		t.Errorf("search form: %s", form.Text())
	}
	if got := texts(dir, "#section-domain thead th"); !strings.Contains(strings.Join(got, ","), "Your access") {
		t.Errorf("domain section columns %q", got)
	}
	link := dir.Doc.Find(`#section-domain tbody a:contains("Request Access")`)
	if href, _ := link.Attr("href"); href != m.path("request-access") {
		t.Errorf("Request Access link %q", href)
	}
	// Someone who holds the access is told so.
	vera := m.signedIn("vera@globex.example")
	p := vera.post(m.path("request-access"), url.Values{"step": {"submit"}, "role": {"viewer"}, "reason": {"x"}})
	wantStatus(t, p, http.StatusConflict)
	if !strings.Contains(text(p, "#request-pending"), "already hold") {
		t.Errorf("held access: %s", text(p, "main"))
	}
	// A Virtual Account Administrator holds that Virtual Account, not the account.
	victor := m.signedIn("vaadmin@globex.example")
	p = victor.post(m.path("request-access"), url.Values{"step": {"submit"}, "scope": {"virtual"}, "va": {"Engineering"}, "role": {"admin"}, "reason": {"x"}})
	wantStatus(t, p, http.StatusConflict)
	p = victor.post(m.path("request-access"), url.Values{"step": {"submit"}, "role": {"viewer"}, "reason": {"x"}})
	wantRedirect(t, p, "/clc/directory#section-requested")
}

// Two Administrators removing each other at once, round after round: one
// removal stands each time, and the account keeps an Administrator.
func TestAdministratorsRemovingEachOtherKeepOne(t *testing.T) {
	t.Parallel()
	m := newManaged(t)
	ctx := context.Background()
	m.user("hank2@globex.example", "Second Admin", false)
	hank, _ := m.svc.UserByEmail(ctx, "hank@globex.example")
	hank2, _ := m.svc.UserByEmail(ctx, "hank2@globex.example")
	admins := []account.User{hank, hank2}
	for round := range 20 {
		m.grant("hank@globex.example", m.globex, "", account.RoleAdmin)
		m.grant("hank2@globex.example", m.globex, "", account.RoleAdmin)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = m.svc.RemoveUserRole(ctx, admins[i], m.globex.ID, admins[1-i].ID, "")
			}()
		}
		close(start)
		wg.Wait()
		// The loser lost its own role first (not found) or found itself the last.
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: %v", round, errs)
		}
		if n := m.count(t, `SELECT count(*) FROM memberships WHERE smart_account_id = $1 AND virtual_account_id IS NULL AND role = 'admin'`, m.globex.ID); n != 1 {
			t.Fatalf("round %d: %d administrators left", round, n)
		}
	}
}
