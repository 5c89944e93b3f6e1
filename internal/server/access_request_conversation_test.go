package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/account"
)

// accessAsked is an access request to Initech, whose Administrators are
// peter@ (German) and pia@ (Dutch), from ada@ (French), who asked it.
type accessAsked struct {
	*app
	sa    account.SmartAccount
	id    int64
	path  string // the request's page, for both sides
	ada   *browser
	peter *browser
}

func newAccessAsked(t *testing.T) accessAsked {
	t.Helper()
	a := newApp(t)
	ada := a.user("ada@partner.example", "Ada Partner", false)
	a.user("peter@initech.example", "Peter Gibbons", false)
	a.user("pia@initech.example", "Pia Admin", false)
	initech := a.account("Initech", "initech.example", "peter@initech.example", "pia@initech.example")
	a.db.Exec(t, `UPDATE users SET language = CASE email WHEN 'ada@partner.example' THEN 'fr' WHEN 'peter@initech.example' THEN 'de' ELSE 'nl' END`)
	ar, err := a.svc.RequestAccess(context.Background(), ada, initech.ID, "",
		account.AccessRequestInput{Scope: string(account.ScopeAccount), Role: string(account.RoleUser), Reason: "Licences for the EMEA rollout."})
	if err != nil {
		t.Fatal(err)
	}
	return accessAsked{app: a, sa: initech, id: ar.ID,
		path: "/clc/accounts/" + initech.ID.String() + "/access-requests/" + strconv.FormatInt(ar.ID, 10),
		ada:  a.signedIn("ada@partner.example"), peter: a.signedIn("peter@initech.example")}
}

func (r accessAsked) write(b *browser, msg string) page {
	return b.post(r.path+"/messages", url.Values{"message": {msg}})
}

func TestConversationOnAnAccessRequest(t *testing.T) {
	t.Parallel()
	r := newAccessAsked(t)
	conversation := r.path + "#conversation"

	// The requester finds the request from the directory and from Request
	// Access, and asks a question.
	if href, _ := r.ada.get("/clc/directory").Doc.Find(`#section-requested a[href*="/access-requests/"]`).Attr("href"); href != r.path {
		t.Errorf("the directory's requested section leads to %q, want the request", href)
	}
	if href, _ := r.ada.get("/clc/accounts/" + r.sa.ID.String() + "/request-access").Doc.Find("a#open-access-request").Attr("href"); href != r.path {
		t.Errorf("Request Access leads to %q, want the request", href)
	}
	p := r.ada.get(r.path)
	wantStatus(t, p, http.StatusOK)
	if p.Doc.Find("#message-form textarea#message").Length() != 1 || p.Doc.Find("#decline-form, #approve-form").Length() != 0 {
		t.Fatalf("the requester's page: %s", text(p, "main"))
	}
	// peter's webhook endpoint for Initech's access requests takes comments.
	r.db.Exec(t, `INSERT INTO webhook_endpoints (owner_user_id, smart_account_id, url, event_types, secret, created_at)
		SELECT id, $1, 'https://hooks.initech.example/clc', '{access_request.comment_added}', 'whsec_dGVzdA==', now()
		FROM users WHERE email = 'peter@initech.example'`, r.sa.ID)
	question := "Which Virtual Account should I ask for? See https://evil.example/phish"
	wantRedirect(t, r.write(r.ada, question), conversation)
	if got := r.str(t, `SELECT string_agg(event_type || ' ' || (payload::jsonb->'data'->'details'->>'access_request') || ' ' ||
		(payload::jsonb->'data'->'details'->>'message'), '; ') FROM webhook_deliveries`); got != "access_request.comment_added "+strconv.FormatInt(r.id, 10)+" "+question {
		t.Errorf("webhook deliveries: %q", got)
	}
	if got := r.emailsOf(t, "access_message"); strings.Join(got, "; ") != "access_message peter@initech.example; access_message pia@initech.example" {
		t.Fatalf("the requester's message emailed %v", got)
	}
	box := r.mailbox(t)
	msg := box.find("peter@initech.example", "Neue Nachricht zur Zugriffsanfrage")
	if !strings.Contains(msg.Text, question) || linkTo(t, msg, r.path) != r.path {
		t.Errorf("the German administrator's email:\n%s", msg.Text)
	}
	if msg := box.find("pia@initech.example", "Nieuw bericht over de toegangsaanvraag"); !strings.Contains(msg.Text, question) {
		t.Errorf("the Dutch administrator's email:\n%s", msg.Text)
	}

	// The administrator reads it beside the decision and answers; the
	// requester is emailed in French.
	p = r.peter.get(r.path)
	wantStatus(t, p, http.StatusOK)
	if !strings.Contains(text(p, "#messages"), question) || p.Doc.Find(`#conversation a[href*="evil.example"]`).Length() != 0 ||
		p.Doc.Find("#decline-form").Length() != 1 || p.Doc.Find("#message-form").Length() != 1 {
		t.Fatalf("the administrator's page: %s", text(p, "main"))
	}
	wantRedirect(t, r.write(r.peter, "Engineering, please."), conversation)
	if got := r.emailsOf(t, "access_message"); len(got) != 3 || got[2] != "access_message ada@partner.example" {
		t.Fatalf("the administrator's answer emailed %v", got)
	}
	msg = box.find("ada@partner.example", "Nouveau message sur la demande d'accès")
	if !strings.Contains(msg.Text, "Engineering, please.") || linkTo(t, msg, r.path) != r.path {
		t.Errorf("the requester's email:\n%s", msg.Text)
	}
	p = r.ada.get(r.path)
	if got := texts(p, "#messages .message-meta strong"); strings.Join(got, ",") != "ada@partner.example,peter@initech.example" {
		t.Errorf("the requester's conversation: %v", got)
	}
	if n := r.count(t, `SELECT count(*) FROM events WHERE kind = 'access_message' AND smart_account_id = $1 AND (params->>'access_request')::bigint = $2`,
		r.sa.ID, r.id); n != 2 {
		t.Errorf("%d access_message events, want 2", n)
	}
	if !strings.Contains(text(r.peter.get("/clc/accounts/"+r.sa.ID.String()+"/events"), "main"), "Engineering, please.") {
		t.Errorf("the account's event log lacks the message")
	}

	// Refused text keeps what was typed and changes nothing.
	before := r.snapshot(t)
	for _, bad := range []string{"   ", strings.Repeat("x", account.MaxMessageLength+1), "bell\a"} {
		p = r.write(r.ada, bad)
		wantStatus(t, p, http.StatusUnprocessableEntity)
		// Control characters are refused at the edge, before any form.
		if !strings.Contains(bad, "\a") && p.Doc.Find("#message[aria-invalid=true]").Length() != 1 {
			t.Errorf("refused %.20q without a field error: %s", bad, text(p, "#conversation"))
		}
	}
	wantUnchanged(t, before, r.snapshot(t), "refused messages")

	// Anyone else finds no such request: another user, another account's
	// administrator, staff; on the page and on a crafted POST alike.
	r.user("eve@partner.example", "Eve", false)
	r.user("gina@globex.example", "Gina", false)
	r.account("Globex", "globex.example", "gina@globex.example")
	r.user("olga@clc.example", "Olga Operator", true)
	ops := r.browser()
	wantRedirect(t, ops.login("olga@clc.example", "correct horse"), "/clc")
	strangers := map[string]*browser{"another user": r.signedIn("eve@partner.example"),
		"another account's administrator": r.signedIn("gina@globex.example"), "staff": ops}
	before = r.snapshot(t)
	for who, b := range strangers {
		if p := b.get(r.path); p.StatusCode != http.StatusNotFound {
			t.Errorf("%s opened the request: %d", who, p.StatusCode)
		}
		if p := r.write(b, "Let me in."); p.StatusCode != http.StatusNotFound {
			t.Errorf("%s wrote on the request: %d", who, p.StatusCode)
		}
	}
	wantStatus(t, r.ada.get("/clc/accounts/"+r.sa.ID.String()+"/access-requests/999999"), http.StatusNotFound)
	delete(before, "sessions")
	after := r.snapshot(t)
	delete(after, "sessions")
	wantUnchanged(t, before, after, "messages nobody may write")

	// Decided, the conversation is read-only: the form is gone, a crafted
	// POST is refused and says how it was decided.
	wantRedirect(t, r.peter.post(r.path+"/approve", url.Values{"scope": {"account"}, "role": {"user"}}),
		"/clc/accounts/"+r.sa.ID.String()+"/access-requests")
	r.peter.get(r.path) // shows the flash
	before = r.snapshot(t)
	for _, b := range []*browser{r.ada, r.peter} {
		wantRedirect(t, r.write(b, "One more thing."), conversation)
		p = b.get(r.path)
		if p.Doc.Find("#message-form").Length() != 0 || text(p, "#conversation-closed") == "" || !strings.Contains(text(p, "#messages"), question) {
			t.Errorf("a decided request's conversation: %s", text(p, "#conversation"))
		}
		if !strings.Contains(text(p, ".flash"), "peter@initech.example") {
			t.Errorf("the refusal does not say who decided: %q", text(p, ".flash"))
		}
	}
	delete(before, "sessions")
	after = r.snapshot(t)
	delete(after, "sessions")
	wantUnchanged(t, before, after, "messages on a decided request")
}

// TestAccessRequestConversationIsBounded: an access request keeps at most
// account.MaxMessages messages, counted per request; and every message
// counts its emails against the writer's day, as every action that emails.
func TestAccessRequestConversationIsBounded(t *testing.T) {
	t.Parallel()
	r := newAccessAsked(t)
	r.db.Exec(t, `INSERT INTO events (smart_account_id, at, actor, kind, params)
		SELECT $1, now(), 'ada@partner.example', 'access_message', jsonb_build_object('message', 'Earlier.', 'side', 'requester', 'access_request', $2::bigint)
		FROM generate_series(1, $3)`, r.sa.ID, r.id, account.MaxMessages-1)
	wantRedirect(t, r.write(r.peter, "The last one."), r.path+"#conversation")
	r.peter.get(r.path) // shows the flash
	before := r.snapshot(t)
	for _, b := range []*browser{r.ada, r.peter} {
		p := r.write(b, "One too many.")
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if !strings.Contains(text(p, "#message-error"), strconv.Itoa(account.MaxMessages)) || p.Doc.Find("textarea#message").Text() != "One too many." {
			t.Errorf("the refusal: %q", text(p, "#conversation"))
		}
	}
	wantUnchanged(t, before, r.snapshot(t), "a message past the conversation's limit")
	if n := len(r.ada.get(r.path).Doc.Find("#messages .message").Nodes); n != account.MaxMessages {
		t.Errorf("the page shows %d messages, want %d", n, account.MaxMessages)
	}

	// A second request's conversation is its own.
	other := newAccessAsked(t)
	wantRedirect(t, other.write(other.ada, "Mine is empty."), other.path+"#conversation")

	// The writer's daily email limit: full, the message is refused with the
	// limit and sends nothing.
	r.db.Exec(t, `DELETE FROM events WHERE kind = 'access_message'`)
	r.db.Exec(t, `INSERT INTO email_quota (user_id, day, sent)
		SELECT id, $2::date, $3 FROM users WHERE email = $1
		ON CONFLICT (user_id, day) DO UPDATE SET sent = excluded.sent`, "ada@partner.example", r.clock.Now().UTC(), account.DefaultUserEmailsPerDay-1)
	before = r.snapshot(t)
	p := r.write(r.ada, "Two administrators make two emails.")
	wantStatus(t, p, http.StatusTooManyRequests)
	if text(p, "#message-error") == "" || p.Doc.Find("textarea#message").Text() != "Two administrators make two emails." {
		t.Errorf("the limit's refusal: %q", text(p, "#conversation"))
	}
	wantUnchanged(t, before, r.snapshot(t), "a message over the writer's email limit")
}
