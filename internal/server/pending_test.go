package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
)

func TestPendingPageShowsRequestAndOpeningChangesNothing(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	link := r.link(t, "hank@globex.example")
	approver := r.browser()

	before := r.snapshot(t)
	// What mail scanners do: open the link, again and again, GET and HEAD,
	// and follow what it links to.
	for range 3 {
		wantStatus(t, approver.get(link), http.StatusOK)
		wantStatus(t, approver.head(link), http.StatusOK)
		wantStatus(t, r.browser().get(link), http.StatusOK)
		wantStatus(t, approver.get(link+"/deny"), http.StatusOK)
		wantStatus(t, approver.get(link+"/forward"), http.StatusOK)
	}
	wantUnchanged(t, before, r.snapshot(t), "opening the link")

	p := approver.get(link)
	if got := text(p, "h1"); got != "Pending Request" {
		t.Fatalf("heading %q", got)
	}
	main := text(p, "main")
	for _, want := range []string{"Globex Corporation", "globex.example", "Ada Lovelace <ada@partner.example>",
		"Northwind Partners", "Please approve.", "hank@globex.example", r.clock.Now().Add(account.RequestLifetime).UTC().Format("2 January 2006")} {
		if !strings.Contains(main, want) {
			t.Errorf("page lacks %q:\n%s", want, main)
		}
	}
	if strings.Contains(main, "Globex is our customer since 2019.") {
		t.Error("the approver sees the Note to Cisco Approver")
	}
	// The four actions, each a control with the article's name.
	if href, _ := p.Doc.Find(`.actions a:contains("Cancel")`).Attr("href"); href != "/" {
		t.Errorf("Cancel leads to %q", href)
	}
	// Forward and Deny Request are buttons; without script each GETs its
	// form's own page.
	for name, page := range map[string]string{"Forward": link + "/forward", "Deny Request": link + "/deny"} {
		form := p.Doc.Find(`.actions form[method=get] button[type=submit]:contains("` + name + `")`).Closest("form")
		if action, _ := form.Attr("action"); action != page {
			t.Errorf("%s leads to %q, want %q", name, action, page)
		}
	}
	approve := p.Doc.Find(`form[method=post] button:contains("Approve and Create the Account")`).Closest("form")
	if action, _ := approve.Attr("action"); action != link+"/approve" {
		t.Errorf("Approve posts to %q", action)
	}
	deny := p.Doc.Find("dialog#deny-dialog")
	if id, _ := deny.Find(`label:contains("Deny Reason")`).Attr("for"); deny.Find("textarea#"+id).Length() != 1 {
		t.Error("the deny dialog has no field labelled Deny Reason")
	}
	if deny.Find(`button[type=submit]:contains("Deny Request")`).Length() != 1 {
		t.Error("the deny dialog has no Deny Request button")
	}
	if id, _ := p.Doc.Find(`dialog#forward-dialog label:contains("Forward to")`).Attr("for"); p.Doc.Find("input#"+id).Length() != 1 {
		t.Error("the forward dialog has no field labelled Forward to")
	}
	if p.Doc.Find("script:not([src])").Length() != 0 {
		t.Error("inline script")
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "same-origin"} {
		if !strings.Contains(p.Header.Get(h), want) {
			t.Errorf("%s: %q, want %q", h, p.Header.Get(h), want)
		}
	}
	if head := approver.head(link); head.Body != "" || head.Header.Get("X-Robots-Tag") == "" {
		t.Errorf("HEAD answered a body or no headers: %q", head.Body)
	}
	if strings.Contains(r.logs.String(), strings.TrimPrefix(link, "/pending/")) {
		t.Error("the access log holds an approval token")
	}
}

func TestApproveCreatesTheAccount(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	// it@ already signs in: it gets access but no link to set a password.
	r.user("it@globex.example", "IT Desk", false)
	hank, cfo := r.link(t, "hank@globex.example"), r.link(t, "cfo@globex.example")
	approver := r.browser()

	wantRedirect(t, approveAsShown(t, approver, hank), hank)
	outbox := r.outbox(t) // before delivery erases the tokens
	p := approver.get(hank)
	wantClosed(t, p, http.StatusGone, "This request was approved", "You approved this request")
	if got := text(p, "#request-status"); got != "Approved" {
		t.Errorf("status %q", got)
	}

	ctx := context.Background()
	if s := r.str(t, `SELECT status FROM smart_accounts WHERE id = $1`, r.id); s != "active" {
		t.Fatalf("account is %s", s)
	}
	if s := r.str(t, `SELECT status || ' ' || decided_by FROM account_requests WHERE smart_account_id = $1`, r.id); s != "approved hank@globex.example" {
		t.Errorf("request: %s", s)
	}
	if n := r.count(t, `SELECT count(*) FROM virtual_accounts WHERE smart_account_id = $1 AND name = 'DEFAULT'`, r.id); n != 1 {
		t.Errorf("%d DEFAULT virtual accounts", n)
	}
	members := r.str(t, `SELECT string_agg(u.email || ' ' || m.role, ', ' ORDER BY u.email) FROM memberships m
		JOIN users u ON u.id = m.user_id WHERE m.smart_account_id = $1 AND m.virtual_account_id IS NULL`, r.id)
	if members != "hank@globex.example admin, it@globex.example user, ops@globex.example user" {
		t.Errorf("members: %s", members)
	}
	if s := r.str(t, `SELECT name || '|' || password_hash FROM users WHERE email = 'hank@globex.example'`); s != "hank|" {
		t.Errorf("new user hank: %q, want named after the address, no password", s)
	}
	// One single-use link per member without a password, valid a week.
	links := r.str(t, `SELECT string_agg(u.email, ', ' ORDER BY u.email) FROM set_password_links p JOIN users u ON u.id = p.user_id
		WHERE p.used_at IS NULL AND p.expires_at = p.created_at + interval '7 days'`)
	if links != "hank@globex.example, ops@globex.example" {
		t.Errorf("set-password links for %s", links)
	}
	got := r.emailsOf(t, "request_approved", "account_created_admin", "added_user_welcome")
	want := []string{"account_created_admin hank@globex.example", "added_user_welcome it@globex.example",
		"added_user_welcome ops@globex.example", "request_approved ada@partner.example"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("emails %v, want %v", got, want)
	}
	for _, q := range outbox {
		switch {
		case q.Kind == "added_user_welcome" && q.To == "it@globex.example" && q.Secret != "":
			t.Error("a user with a password got a set-password link")
		case q.Kind == "added_user_welcome" && q.To == "ops@globex.example" && (q.Secret == "" || q.Data.Note != "Welcome."):
			t.Errorf("ops@ welcome: secret %q note %q", q.Secret, q.Data.Note)
		case q.Kind == "account_created_admin" && q.Secret == "":
			t.Error("the new administrator got no set-password link")
		}
	}
	mb := r.mailbox(t)
	if msg := mb.find("ada@partner.example", `Smart Account approved: "Globex Corporation"`); !strings.Contains(msg.Text, "its Administrator is hank@globex.example") {
		t.Errorf("the partner's email:\n%s", msg.Text)
	}
	if msg := mb.find("ops@globex.example", "You have access"); !strings.Contains(msg.Text, "Welcome.") || !strings.Contains(msg.Text, "/set-password/") {
		t.Errorf("the added user's email:\n%s", msg.Text)
	}
	if msg := mb.find("it@globex.example", "You have access"); strings.Contains(msg.Text, "/set-password/") || !strings.Contains(msg.Text, "/clc") {
		t.Errorf("the email of an added user who signs in already:\n%s", msg.Text)
	}
	events := r.str(t, `SELECT string_agg(kind, ' ' ORDER BY id) FROM events WHERE smart_account_id = $1 AND kind <> 'emailed'`, r.id)
	if events != "requested approved access_granted access_granted access_granted" {
		t.Errorf("events: %s", events)
	}

	// The other approver's link now says who decided, and deciding again
	// changes nothing.
	other := r.browser()
	wantClosed(t, other.get(cfo), http.StatusGone, "This request was approved", "hank@globex.example approved this request")
	before := r.snapshot(t)
	wantClosed(t, other.post(cfo+"/approve", nil), http.StatusConflict, "This request was approved", "hank@globex.example approved")
	wantClosed(t, other.post(cfo+"/deny", url.Values{"reason": {"late"}}), http.StatusConflict, "This request was approved", "hank@globex.example")
	wantClosed(t, approver.post(hank+"/approve", nil), http.StatusConflict, "This request was approved", "You approved")
	wantClosed(t, other.post(cfo+"/forward", url.Values{"forward_to": {"x@globex.example"}}), http.StatusConflict, "This request was approved", "approved")
	wantUnchanged(t, before, r.snapshot(t), "acting on a decided request")
	_ = ctx
}

func TestDenyNeedsAReasonAndTellsThePartner(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	hank, cfo := r.link(t, "hank@globex.example"), r.link(t, "cfo@globex.example")
	b := r.browser()

	before := r.snapshot(t)
	for _, c := range []struct{ reason, want string }{
		{"", "Enter the reason for denying the request."},
		{" \n\t ", "Enter the reason for denying the request."},
		{strings.Repeat("r", account.MaxReasonLength+1), "at most 1000"},
	} {
		p := b.post(hank+"/deny", url.Values{"reason": {c.reason}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if got := text(p, "#reason-error"); !strings.Contains(got, c.want) {
			t.Errorf("reason %q: error %q, want %q", c.reason, got, c.want)
		}
		if got := p.Doc.Find("textarea#reason").Text(); got != c.reason {
			t.Errorf("the reason typed was not kept: %q", got)
		}
		if inv, _ := p.Doc.Find("textarea#reason").Attr("aria-invalid"); inv != "true" {
			t.Error("reason not marked invalid")
		}
		if text(p, "h1") != "Deny Request" {
			t.Errorf("422 page heading %q", text(p, "h1"))
		}
	}
	wantUnchanged(t, before, r.snapshot(t), "a refused denial")

	wantRedirect(t, b.post(hank+"/deny", url.Values{"reason": {"  We already have an account.  "}}), hank)
	p := b.get(hank)
	wantClosed(t, p, http.StatusGone, "This request was denied", "You denied this request")
	if got := text(p, "#request-status"); got != "Denied" {
		t.Errorf("status %q", got)
	}
	if !strings.Contains(text(p, "main"), "We already have an account.") {
		t.Error("the page does not show the reason")
	}
	if s := r.str(t, `SELECT sa.status || '|' || r.status || '|' || r.decision_reason FROM account_requests r
		JOIN smart_accounts sa ON sa.id = r.smart_account_id WHERE sa.id = $1`, r.id); s != "denied|denied|We already have an account." {
		t.Errorf("after deny: %s", s)
	}
	if got := r.emailsOf(t, "request_denied"); len(got) != 1 || got[0] != "request_denied ada@partner.example" {
		t.Fatalf("denial emails %v", got)
	}
	msg := r.mailbox(t).find("ada@partner.example", "Smart Account request denied")
	if !strings.Contains(msg.Text, "We already have an account.") || !strings.Contains(msg.Text, "hank@globex.example denied") {
		t.Errorf("the partner's email:\n%s", msg.Text)
	}
	if n := r.count(t, `SELECT count(*) FROM memberships WHERE smart_account_id = $1`, r.id); n != 0 {
		t.Errorf("a denied account has %d members", n)
	}
	// The domain is free again.
	if _, err := r.svc.AccountByDomain(context.Background(), "globex.example"); err == nil {
		t.Error("a denied account still holds its domain")
	}
	wantClosed(t, r.browser().get(cfo), http.StatusGone, "This request was denied", "hank@globex.example denied")
}

func TestForward(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	hank := r.link(t, "hank@globex.example")
	b := r.browser()

	before := r.snapshot(t)
	for _, c := range []struct{ to, want string }{
		{"", "Enter the email address"},
		{"boss@", `"boss@" is not a valid email address`},
		{"Boss <boss@globex.example>", "not a valid email address"},
		{"HANK@globex.example", "already yours"},
		{"cfo@globex.example", "cfo@globex.example already has a link"},
	} {
		p := b.post(hank+"/forward", url.Values{"forward_to": {c.to}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if got := text(p, "#forward_to-error"); !strings.Contains(got, c.want) {
			t.Errorf("forward to %q: error %q, want %q", c.to, got, c.want)
		}
		if v, _ := p.Doc.Find("input#forward_to").Attr("value"); v != c.to {
			t.Errorf("the address typed was not kept: %q", v)
		}
	}
	wantUnchanged(t, before, r.snapshot(t), "a refused forward")

	wantRedirect(t, b.post(hank+"/forward", url.Values{"forward_to": {" Boss@Globex.example "}}), hank)
	wantClosed(t, b.get(hank), http.StatusGone, "This link was forwarded", "forwarded to boss@globex.example")
	wantClosed(t, b.post(hank+"/approve", nil), http.StatusGone, "This link was forwarded", "boss@globex.example")
	if s := r.str(t, `SELECT forwarded_to FROM approval_links WHERE email = 'hank@globex.example' AND revoked_at IS NOT NULL`); s != "boss@globex.example" {
		t.Errorf("forwarded_to %q", s)
	}
	if s := r.str(t, `SELECT actor || ' ' || (params->'to'->>0) FROM events WHERE kind = 'forwarded'`); s != "hank@globex.example boss@globex.example" {
		t.Errorf("forward event %q", s)
	}
	var forwarded queued
	for _, q := range r.outbox(t) {
		if q.To == "boss@globex.example" {
			forwarded = q
		}
	}
	if forwarded.Kind != "approval_request" || forwarded.Data.Actor != "hank@globex.example" || forwarded.Data.Note != "Please approve." {
		t.Fatalf("the forwarded email: %+v", forwarded)
	}
	msg := r.mailbox(t).find("boss@globex.example", "Action required")
	if !strings.Contains(msg.Text, "hank@globex.example forwarded this request to you") {
		t.Errorf("the forwarded email says:\n%s", msg.Text)
	}

	// The new approver's link is theirs, and they can pass it back.
	boss := linkTo(t, msg, "/pending/")
	if boss != "/pending/"+forwarded.Secret {
		t.Errorf("the email links to %s, not the token queued", boss)
	}
	p := r.browser().get(boss)
	wantStatus(t, p, http.StatusOK)
	if !strings.Contains(text(p, "main"), "boss@globex.example") {
		t.Error("the forwarded link does not show its approver")
	}
	wantRedirect(t, r.browser().post(boss+"/forward", url.Values{"forward_to": {"hank@globex.example"}}), boss)
	wantStatus(t, r.browser().get(linkTo(t, r.mailbox(t).find("hank@globex.example", "Action required"), "/pending/")), http.StatusOK)
	wantClosed(t, r.browser().get(hank), http.StatusGone, "This link was replaced", "newer link")
	if n := r.count(t, `SELECT count(*) FROM approval_links WHERE revoked_at IS NULL`); n != 2 {
		t.Errorf("%d live links, want hank's and cfo's", n)
	}
}

func TestLinksThatCannotAct(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	hank := r.link(t, "hank@globex.example")
	b := r.browser()

	// Unknown, too short, not base64url, a NUL, bytes that are not UTF-8,
	// 100 KiB: each is a link that is not valid (all but the first refused
	// by wellFormedToken before the database).
	for _, path := range []string{"/pending/" + strings.Repeat("A", 43), "/pending/short", "/pending/" + strings.Repeat("!", 43),
		"/pending/%00" + strings.Repeat("A", 42), "/pending/%FF%FE" + strings.Repeat("A", 41), "/pending/" + strings.Repeat("A", 100<<10)} {
		p := b.get(path)
		wantClosed(t, p, http.StatusNotFound, "This link is not valid", "copy the whole link")
		wantStatus(t, b.post(path+"/approve", nil), http.StatusNotFound)
		wantStatus(t, b.head(path), http.StatusNotFound)
	}

	// Past its expiry a request is expired even before the job records it,
	// and nothing can be done with its links.
	r.clock.Advance(account.RequestLifetime + time.Second)
	before := r.snapshot(t)
	wantClosed(t, b.get(hank), http.StatusGone, "This request has expired", "ask Ada Lovelace <ada@partner.example> to send a new request")
	wantClosed(t, b.post(hank+"/approve", nil), http.StatusGone, "This request has expired", "expired")
	wantClosed(t, b.post(hank+"/deny", url.Values{"reason": {"no"}}), http.StatusGone, "This request has expired", "expired")
	wantClosed(t, b.post(hank+"/forward", url.Values{"forward_to": {"boss@globex.example"}}), http.StatusGone, "This request has expired", "expired")
	wantUnchanged(t, before, r.snapshot(t), "acting on an expired link")
	if !strings.Contains(text(b.get(hank), "#request-status"), "Expired") {
		t.Error("no Expired status")
	}
}

func TestTheEmailedLinkOpensThePendingRequest(t *testing.T) {
	t.Parallel()
	r := newRequested(t)
	msg := r.mailbox(t).find("cfo@globex.example", `Action required: approve the Smart Account "Globex Corporation"`)
	link := linkTo(t, msg, "/pending/")
	if !strings.HasPrefix(msg.Text, "Hello,") || !strings.Contains(msg.Text, "Please approve.") {
		t.Errorf("the approval email says:\n%s", msg.Text)
	}
	p := r.browser().get(link)
	wantStatus(t, p, http.StatusOK)
	if !strings.Contains(text(p, "main"), "cfo@globex.example") {
		t.Errorf("the link opened someone else's page: %s", text(p, "main"))
	}
	if n := r.count(t, `SELECT count(*) FROM outbox WHERE secret IS NOT NULL`); n != 0 {
		t.Errorf("%d delivered emails kept their token", n)
	}
}
