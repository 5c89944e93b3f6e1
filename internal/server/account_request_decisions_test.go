package server_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/jobs"
)

func TestConcurrentDecisionsMakeOne(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	hank, cfo := r.link(t, "hank@globex.example"), r.link(t, "cfo@globex.example")
	emailsBefore := len(r.outbox(t))

	// Two approvers, double clicks and replays, all at once.
	const n = 100
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := r.browser()
			link := []string{hank, cfo}[i%2]
			<-start
			if i%3 == 0 {
				statuses[i] = b.post(link+"/deny", url.Values{"reason": {"no thanks"}}).StatusCode
			} else {
				statuses[i] = b.post(link+"/approve", url.Values{"add_user": {"it@globex.example", "ops@globex.example"}}).StatusCode
			}
		}()
	}
	close(start)
	wg.Wait()

	wantOneDecision(t, statuses)
	status := r.str(t, `SELECT status FROM account_requests WHERE smart_account_id = $1`, r.id)
	if n := r.count(t, `SELECT count(*) FROM events WHERE kind IN ('approved', 'denied')`); n != 1 {
		t.Errorf("%d decision events", n)
	}
	var want []string
	switch status {
	case "approved":
		want = []string{"account_created_admin", "added_user_welcome", "added_user_welcome", "request_approved"}
		if n := r.count(t, `SELECT count(*) FROM memberships WHERE smart_account_id = $1`, r.id); n != 3 {
			t.Errorf("%d memberships, want 3", n)
		}
		if n := r.count(t, `SELECT count(*) FROM set_password_links`); n != 3 {
			t.Errorf("%d set-password links, want 3", n)
		}
	case "denied":
		want = []string{"request_denied"}
	default:
		t.Fatalf("request is %s", status)
	}
	var got []string
	for _, q := range r.outbox(t)[emailsBefore:] {
		got = append(got, q.Kind)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("emails queued %v, want exactly %v", got, want)
	}
}

// soon moves the clock so that the request expires in left.
func (r *requested) soon(t *testing.T, left time.Duration) {
	t.Helper()
	var expires time.Time
	if err := r.db.Pool.QueryRow(context.Background(), `SELECT expires_at FROM account_requests WHERE smart_account_id = $1`, r.id).Scan(&expires); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(expires.Sub(r.clock.Now()) - left)
}

func TestReminderOnceAWeekBeforeExpiryWithNewLinks(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	hank, cfo := r.link(t, "hank@globex.example"), r.link(t, "cfo@globex.example")
	// cfo@ passed theirs on: the reminder goes to whom the request waits on.
	wantRedirect(t, r.browser().post(cfo+"/forward", url.Values{"forward_to": {"boss@globex.example"}}), cfo)
	ctx := context.Background()
	// One reminder a week before expiry: the staged reminders are
	// TestARequestLeftAloneIsFollowedThrough's.
	r.svc.SetReminderDays([]int{7})
	const week = 7 * 24 * time.Hour
	runner := &jobs.Runner{Jobs: jobs.Requests(r.svc), Log: slog.New(slog.DiscardHandler)}

	r.soon(t, week+time.Minute)
	if err := runner.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.emailsOf(t, "approval_reminder"); len(got) != 0 {
		t.Fatalf("reminded too early: %v", got)
	}
	r.clock.Advance(2 * time.Minute)
	for range 3 {
		if err := runner.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := r.emailsOf(t, "approval_reminder")
	if strings.Join(got, "; ") != "approval_reminder hank@globex.example; approval_reminder boss@globex.example" {
		t.Fatalf("reminders %v", got)
	}
	if n := r.count(t, `SELECT count(*) FROM events WHERE kind = 'reminded'`); n != 1 {
		t.Errorf("%d reminded events", n)
	}
	if n := r.count(t, `SELECT count(*) FROM account_requests WHERE reminded_at IS NOT NULL`); n != 1 {
		t.Error("reminded_at not set")
	}

	// The reminder's link works; the first email's link says it was replaced.
	msg := r.mailbox(t).find("hank@globex.example", "Reminder")
	if !strings.Contains(msg.Text, "replaces the one in the earlier email") {
		t.Errorf("the reminder says:\n%s", msg.Text)
	}
	fresh := linkTo(t, msg, "/pending/")
	if fresh == hank {
		t.Fatal("the reminder carries the old token")
	}
	wantStatus(t, r.browser().get(fresh), http.StatusOK)
	wantClosed(t, r.browser().get(hank), http.StatusGone, "This link was replaced", "newer link")
	wantClosed(t, r.browser().post(hank+"/approve", nil), http.StatusGone, "This link was replaced", "newer link")
	if s := r.str(t, `SELECT status FROM account_requests`); s != "pending" {
		t.Errorf("a replaced link decided: %s", s)
	}
	wantRedirect(t, r.browser().post(fresh+"/approve", nil), fresh)
}

func TestExpiryOnceWithEmailsAndTheDomainFreed(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	hank := r.link(t, "hank@globex.example")
	wantRedirect(t, r.browser().post(r.link(t, "cfo@globex.example")+"/forward", url.Values{"forward_to": {"boss@globex.example"}}), r.link(t, "cfo@globex.example"))
	// Two more requests, one expiring later than the clock will reach.
	second := submit(t, r.app, r.partner, formFor("Initrode", "initrode.example", "bill@initrode.example"))
	ctx := context.Background()

	r.soon(t, -time.Second)
	// Months later the partner's sign-in has long been idle: they sign in again.
	wantRedirect(t, r.partner.login("ada@partner.example", "correct horse"), "/clc")
	late := submit(t, r.app, r.partner, formFor("Late Corp", "late.example", "lee@late.example"))

	// Several workers at once: each request expires once.
	var wg sync.WaitGroup
	counts := make([]int, 5)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := r.svc.ExpireRequests(ctx)
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 2 {
		t.Fatalf("%d requests expired, want 2 (%v)", total, counts)
	}
	if n, _ := r.svc.ExpireRequests(ctx); n != 0 {
		t.Errorf("a second run expired %d", n)
	}
	for id, want := range map[account.AccountID]string{r.id: "expired expired", second: "expired expired", late: "pending pending"} {
		if s := r.str(t, `SELECT sa.status || ' ' || r.status FROM smart_accounts sa JOIN account_requests r ON r.smart_account_id = sa.id WHERE sa.id = $1`, id); s != want {
			t.Errorf("%s: %s, want %s", id, s, want)
		}
	}
	got := r.emailsOf(t, "request_expired")
	want := []string{"request_expired hank@globex.example", "request_expired cfo@globex.example", "request_expired boss@globex.example",
		"request_expired ada@partner.example", "request_expired bill@initrode.example", "request_expired ada@partner.example"}
	if len(got) != len(want) {
		t.Fatalf("expiry emails %v, want %v", got, want)
	}
	for _, w := range want[:4] {
		if !slices.Contains(got, w) {
			t.Errorf("no %q in %v", w, got)
		}
	}
	if n := r.count(t, `SELECT count(*) FROM events WHERE kind = 'expired'`); n != 2 {
		t.Errorf("%d expired events", n)
	}
	wantClosed(t, r.browser().get(hank), http.StatusGone, "This request has expired", "expired")
	msg := r.mailbox(t).find("ada@partner.example", "expired")
	if !strings.Contains(msg.Text, "domain is free again") {
		t.Errorf("the expiry email says:\n%s", msg.Text)
	}
	// The domain is free for a new request.
	submit(t, r.app, r.partner, validForm())
}

// formFor is the request form for another customer.
func formFor(name, domain, customer string) url.Values {
	f := validForm()
	f.Set("name", name)
	f.Set("domain", domain)
	f.Set("customer_emails", customer)
	f.Set("user_emails", "")
	return f
}

func TestSetPasswordOnceWithinAWeek(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	hank := r.link(t, "hank@globex.example")
	wantRedirect(t, approveAsShown(t, r.browser(), hank), hank)
	mb := r.mailbox(t)
	link := linkTo(t, mb.find("hank@globex.example", "Administrator"), "/set-password/")
	opsLink := linkTo(t, mb.find("ops@globex.example", "You have access"), "/set-password/")
	if n := r.count(t, `SELECT count(*) FROM outbox WHERE secret IS NOT NULL`); n != 0 {
		t.Errorf("%d sent emails kept their secret", n)
	}

	b := r.browser()
	before := r.snapshot(t)
	for range 2 {
		wantStatus(t, b.get(link), http.StatusOK)
		wantStatus(t, b.head(link), http.StatusOK)
	}
	wantUnchanged(t, before, r.snapshot(t), "opening a set-password link")
	p := b.get(link)
	if text(p, "h1") != "Set your password" || !strings.Contains(text(p, "main"), "hank@globex.example") {
		t.Fatalf("set-password page: %s", text(p, "main"))
	}
	for _, label := range []string{"Password", "Confirm password"} {
		id, _ := p.Doc.Find(`label:contains("` + label + `")`).First().Attr("for")
		if p.Doc.Find("input#"+id+"[type=password]").Length() != 1 {
			t.Errorf("no password field labelled %q", label)
		}
	}
	if p.Header.Get("X-Robots-Tag") == "" {
		t.Error("set-password page may be indexed")
	}

	for _, c := range []struct{ pw, confirm, field, want string }{
		{"short", "short", "password", "at least 8"},
		{"long enough", "long enougH", "confirm", "differ"},
	} {
		p := b.post(link, url.Values{"password": {c.pw}, "confirm": {c.confirm}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if got := text(p, "#"+c.field+"-error"); !strings.Contains(got, c.want) {
			t.Errorf("%s error %q, want %q", c.field, got, c.want)
		}
	}
	wantUnchanged(t, before, r.snapshot(t), "a refused password")

	wantRedirect(t, b.post(link, url.Values{"password": {"hank's new password"}, "confirm": {"hank's new password"}}), "/clc")
	home := b.get("/clc")
	wantStatus(t, home, http.StatusOK)
	if !strings.Contains(text(home, "main"), "Globex Corporation") {
		t.Errorf("signed in hank does not see the account: %s", text(home, "main"))
	}
	// Once only.
	wantClosed(t, r.browser().get(link), http.StatusGone, "This link was already used", "works only once")
	wantClosed(t, r.browser().post(link, url.Values{"password": {"another password"}, "confirm": {"another password"}}), http.StatusGone, "This link was already used", "Log in")
	wantRedirect(t, r.browser().login("hank@globex.example", "hank's new password"), "/clc")

	// A week later the other link no longer works.
	r.clock.Advance(account.SetPasswordLifetime + time.Minute)
	wantClosed(t, r.browser().get(opsLink), http.StatusGone, "This link has expired", "7 days")
	wantClosed(t, r.browser().post(opsLink, url.Values{"password": {"ops password"}, "confirm": {"ops password"}}), http.StatusGone, "This link has expired", "7 days")
	if s := r.str(t, `SELECT password_hash FROM users WHERE email = 'ops@globex.example'`); s != "" {
		t.Error("an expired link set a password")
	}
	wantClosed(t, r.browser().get("/set-password/"+strings.Repeat("x", 43)), http.StatusNotFound, "This link is not valid", "whole link")
}

func TestPartnerFollowsAndWithdraws(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	hank := r.link(t, "hank@globex.example")
	page := "/clc/requests/" + r.id.String()

	p := r.partner.get(page)
	wantStatus(t, p, http.StatusOK)
	if got := text(p, "#request-status"); got != "Pending" {
		t.Errorf("status %q", got)
	}
	if got := strings.Join(p.Doc.Find("#waiting-on li").Map(func(_ int, s *goquerySelection) string { return s.Text() }), " "); got != "hank@globex.example cfo@globex.example" {
		t.Errorf("waiting on %q", got)
	}
	if !strings.Contains(text(p, "#history"), "Smart Account requested") || !strings.Contains(text(p, "main"), r.clock.Now().Add(account.RequestLifetime).UTC().Format("2 January 2006")) {
		t.Errorf("no history or expiry: %s", text(p, "main"))
	}
	withdraw := p.Doc.Find(`form button:contains("Withdraw request")`).Closest("form")
	if action, _ := withdraw.Attr("action"); action != page+"/withdraw" {
		t.Fatalf("Withdraw request posts to %q", action)
	}

	// Someone else's request is not theirs to see, nor to withdraw, nor
	// even to know of: it answers as one that does not exist.
	r.user("eve@partner.example", "Eve", false)
	r.account("Eve's Shop", "eve-shop.example", "eve@partner.example")
	eve := r.browser()
	wantRedirect(t, eve.login("eve@partner.example", "correct horse"), "/clc")
	wantStatus(t, eve.get(page), http.StatusNotFound)
	wantStatus(t, eve.post(page+"/withdraw", nil), http.StatusNotFound)
	wantStatus(t, r.partner.get("/clc/requests/SA-999999"), http.StatusNotFound)
	wantStatus(t, r.partner.get("/clc/requests/nonsense"), http.StatusNotFound)
	// Operators see it, but only the partner withdraws.
	r.user("olga@clc.example", "Olga", true)
	ops := r.browser()
	wantRedirect(t, ops.login("olga@clc.example", "correct horse"), "/clc")
	if p := ops.get(page); p.StatusCode != http.StatusOK || p.Doc.Find(`button:contains("Withdraw request")`).Length() != 0 {
		t.Errorf("operator's view: %d", p.StatusCode)
	}
	wantStatus(t, ops.post(page+"/withdraw", nil), http.StatusForbidden)
	if s := r.str(t, `SELECT status FROM account_requests`); s != "pending" {
		t.Fatalf("request %s after refused withdrawals", s)
	}

	wantRedirect(t, r.partner.post(page+"/withdraw", nil), page)
	p = r.partner.get(page)
	if got := text(p, "#request-status"); got != "Withdrawn" {
		t.Errorf("status after withdrawal %q", got)
	}
	if !strings.Contains(text(p, ".flash"), "withdrawn") || p.Doc.Find("#waiting-on").Length() != 0 || p.Doc.Find(`button:contains("Withdraw request")`).Length() != 0 {
		t.Errorf("after withdrawal: %s", text(p, "main"))
	}
	if !strings.Contains(text(p, "#history"), "Withdrawn") {
		t.Error("history lacks the withdrawal")
	}
	if got := text(p, `tr:has(th:contains("Withdrawn by")) td`); got != "ada@partner.example" {
		t.Errorf("Withdrawn by %q", got)
	}
	if s := r.str(t, `SELECT sa.status || ' ' || r.status || ' ' || r.decided_by FROM smart_accounts sa JOIN account_requests r ON r.smart_account_id = sa.id`); s != "expired withdrawn ada@partner.example" {
		t.Errorf("after withdrawal: %s", s)
	}
	if got := r.emailsOf(t, "request_withdrawn"); strings.Join(got, "; ") != "request_withdrawn hank@globex.example; request_withdrawn cfo@globex.example" {
		t.Errorf("withdrawal emails %v", got)
	}
	if msg := r.mailbox(t).find("cfo@globex.example", "withdrawn"); !strings.Contains(msg.Text, "Ada Lovelace <ada@partner.example>, Northwind Partners withdrew the request") {
		t.Errorf("the withdrawal email says:\n%s", msg.Text)
	}
	wantClosed(t, r.browser().get(hank), http.StatusGone, "This request was withdrawn", "withdrew this request")
	wantClosed(t, r.browser().post(hank+"/approve", nil), http.StatusGone, "This request was withdrawn", "withdrew")
	// Withdrawing twice changes nothing more.
	before := r.snapshot(t)
	wantRedirect(t, r.partner.post(page+"/withdraw", nil), page)
	delete(before, "sessions") // the flash
	wantUnchanged(t, before, r.snapshot(t), "a second withdrawal")
	if !strings.Contains(text(r.partner.get(page), ".flash"), "no longer pending") {
		t.Error("a second withdrawal does not say why nothing happened")
	}
	// The domain is free again.
	submit(t, r.app, r.partner, validForm())
}

func TestAdministratorSeesTheRequest(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	hank := r.link(t, "hank@globex.example")
	wantRedirect(t, r.browser().post(hank+"/approve", nil), hank)
	u, err := r.svc.UserByEmail(context.Background(), "hank@globex.example")
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.svc.RequestState(context.Background(), u, r.id)
	if err != nil || st.Status != account.RequestApproved || len(st.WaitingOn) != 0 || st.CanWithdraw {
		t.Fatalf("administrator's view: %+v %v", st, err)
	}
	member, _ := r.svc.UserByEmail(context.Background(), "ops@globex.example")
	if _, err := r.svc.RequestState(context.Background(), member, r.id); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("a User of the account sees the request: %v", err)
	}
}

func TestOperatorQueue(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	second := submit(t, r.app, r.partner, formFor("Initrode", "initrode.example", "bill@initrode.example, bob@initrode.example"))
	r.user("olga@clc.example", "Olga Operator", true)
	ops := r.browser()
	wantRedirect(t, ops.login("olga@clc.example", "correct horse"), "/clc")
	wantStatus(t, r.partner.get("/ops/requests"), http.StatusForbidden)
	wantStatus(t, r.partner.post("/ops/requests/"+r.id.String()+"/deny", url.Values{"reason": {"x"}}), http.StatusForbidden)

	p := ops.get("/ops/requests")
	wantStatus(t, p, http.StatusOK)
	if text(p, "h1") != "Pending requests" || p.Doc.Find("section.card").Length() != 2 {
		t.Fatalf("queue: %s", text(p, "main"))
	}
	first := p.Doc.Find("section#" + r.id.String())
	if !strings.Contains(text(p, "section#"+r.id.String()), "Globex is our customer since 2019.") {
		t.Errorf("the queue lacks the Note to Cisco Approver: %s", first.Text())
	}
	if id, _ := first.Find(`label:contains("Administrator")`).Attr("for"); first.Find("select#"+id+" option").Length() != 2 {
		t.Error("no choice of Administrator among the approvers")
	}
	if _, current := p.Doc.Find(`a[href="/ops/requests"]`).Attr("aria-current"); !current {
		t.Error("the menu does not mark the operator's queue")
	}

	before := r.snapshot(t)
	p = ops.post("/ops/requests/"+r.id.String()+"/deny", url.Values{"reason": {"  "}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if got := text(p, "#reason-"+r.id.String()+"-error"); !strings.Contains(got, "Enter the reason") {
		t.Errorf("deny error %q", got)
	}
	p = ops.post("/ops/requests/"+second.String()+"/approve", url.Values{"admin": {"eve@evil.example"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(text(p, "section#"+second.String()+" .error"), "Choose one of the addresses") {
		t.Errorf("bad administrator: %s", text(p, "section#"+second.String()))
	}
	// A signed-in request refreshes its session's idle timeout, and changes nothing else.
	delete(before, "sessions")
	wantUnchanged(t, before, r.snapshot(t), "refused operator decisions")

	wantRedirect(t, ops.post("/ops/requests/"+r.id.String()+"/deny", url.Values{"reason": {"Domain belongs to someone else."}}), "/ops/requests")
	if s := r.str(t, `SELECT r.status || ' ' || r.decided_by || ' ' || u.email || ' ' || r.decision_reason FROM account_requests r
		JOIN users u ON u.id = r.decided_by_user WHERE r.smart_account_id = $1`, r.id); s != "denied olga@clc.example olga@clc.example Domain belongs to someone else." {
		t.Errorf("operator's denial: %s", s)
	}
	if got := r.emailsOf(t, "request_denied"); len(got) != 1 || got[0] != "request_denied ada@partner.example" {
		t.Errorf("denial emails %v", got)
	}
	wantClosed(t, r.browser().get(r.link(t, "hank@globex.example")), http.StatusGone, "This request was denied", "olga@clc.example denied")

	wantRedirect(t, ops.post("/ops/requests/"+second.String()+"/approve", url.Values{"admin": {"bob@initrode.example"}}), "/ops/requests")
	if s := r.str(t, `SELECT string_agg(u.email || ' ' || m.role, ', ') FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.smart_account_id = $1`, second); s != "bob@initrode.example admin" {
		t.Errorf("members after the operator's approval: %s", s)
	}
	if s := r.str(t, `SELECT sa.status || ' ' || r.decided_by FROM smart_accounts sa JOIN account_requests r ON r.smart_account_id = sa.id WHERE sa.id = $1`, second); s != "active olga@clc.example" {
		t.Errorf("after the operator's approval: %s", s)
	}
	if p := ops.get("/ops/requests"); p.Doc.Find("section.card").Length() != 0 || !strings.Contains(text(p, ".flash"), "approved") {
		t.Errorf("queue after deciding both: %s", text(p, "main"))
	}
	p = ops.post("/ops/requests/"+second.String()+"/deny", url.Values{"reason": {"late"}})
	wantStatus(t, p, http.StatusConflict)
	if !strings.Contains(text(p, "main"), "Approved by olga@clc.example") {
		t.Errorf("a late decision: %s", text(p, "main"))
	}
}

// TestEveryStateHasWords checks the messages whose ids are built at run time
// from a status, a link state or an event kind.
func TestEveryStateHasWords(t *testing.T) {
	t.Parallel()
	ids, err := i18n.IDs()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, id := range ids {
		have[id] = true
	}
	want := []string{}
	for _, st := range []account.RequestStatus{account.RequestPending, account.RequestApproved, account.RequestDenied, account.RequestExpired, account.RequestWithdrawn} {
		want = append(want, "request.status."+string(st))
	}
	for _, st := range []string{"approved", "denied", "withdrawn"} {
		want = append(want, "requests."+st+"_by", "requests."+st+"_at")
	}
	for _, d := range []string{"approved", "denied"} {
		want = append(want, "pending.closed."+d+".heading", "pending.closed."+d+".you", "pending.closed."+d+".by")
	}
	for _, k := range []string{"requested", "emailed", "forwarded", "reminded", "approved", "denied", "expired", "withdrawn",
		"access_granted", "created", "virtual_account_created"} {
		want = append(want, "event."+k)
	}
	for _, r := range []account.Role{account.RoleAdmin, account.RoleUser, account.RoleViewer, account.RoleApprover} {
		want = append(want, "role."+string(r))
	}
	for _, id := range want {
		if !have[id] {
			t.Errorf("en.toml lacks %q", id)
		}
	}
}

// wantOneDecision checks the answers to decisions raced on one request: one
// was made (303), every other refused as already decided (409).
func wantOneDecision(t *testing.T, statuses []int) {
	t.Helper()
	won, lost := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusSeeOther:
			won++
		case http.StatusConflict:
			lost++
		default:
			t.Errorf("a concurrent decision answered %d", s)
		}
	}
	if won != 1 || lost != len(statuses)-1 {
		t.Fatalf("%d decisions made, %d refused; want 1 and %d", won, lost, len(statuses)-1)
	}
}
