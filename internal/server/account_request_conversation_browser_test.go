package server_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/text/language"

	"github.com/clc-portal/clc/internal/jobs"
)

// TestBrowserConversation has the customer's approver ask the partner a
// question on the Pending Request page, the partner answer it from the
// email the real SMTP server caught, and the approver, back through the new
// link in the answer's email, approve: by keyboard, in a real Chromium, in
// English and the catalog's next language, each email in its reader's
// language, axe-core checking every page on the way.
func TestBrowserConversation(t *testing.T) {
	t.Parallel()
	for _, lang := range suiteLanguages(t) {
		t.Run(lang.String(), func(t *testing.T) { t.Parallel(); conversation(t, lang) })
	}
}

func conversation(t *testing.T, lang language.Tag) {
	a, partner := requester(t)
	form := validForm()
	form.Set("customer_language", lang.String())
	id := submit(t, a, partner, form)
	ada, err := a.svc.UserByEmail(context.Background(), "ada@partner.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.svc.SetLanguage(context.Background(), ada.ID, lang.String()); err != nil {
		t.Fatal(err)
	}
	mb := a.mailbox(t)
	approver := openTab(t, a, lang)
	subject := approver.T("email.approval.subject", "Account", "Globex Corporation")
	link := linkTo(t, mb.find("hank@globex.example", subject), "/pending/")

	// The approver asks, without deciding.
	question := approver.T("conversation.heading") + "? Is the account for EMEA only? https://globex.example/emea"
	approver.visit(link)
	approver.waitFor("#message")
	approver.axe("pending request with its conversation")
	// The page's script told the server a person saw it (a scanner that
	// only fetches the link does not).
	for i := 0; a.count(t, `SELECT count(*) FROM approval_links WHERE opened_at IS NOT NULL`) != 1; i++ {
		if i == 50 {
			t.Fatal("the page did not record that the approver saw it")
		}
		time.Sleep(100 * time.Millisecond)
	}
	approver.tabTo("#message", 40)
	approver.key(question)
	approver.tabTo(`#message-form button[type=submit]`, 3)
	approver.key("\r")
	approver.waitFor("#messages")
	if got := approver.text("#messages .message-text"); got != question {
		t.Fatalf("the approver's page shows %q", got)
	}
	if approver.is(`document.querySelector('#conversation a[href*="globex.example/emea"]') !== null`) {
		t.Error("a link in a message became an anchor")
	}
	approver.axe("pending request after a question")
	if n := a.count(t, `SELECT count(*) FROM account_requests WHERE status = 'pending'`); n != 1 {
		t.Fatal("the question decided the request")
	}

	// The partner is emailed in their language, opens the request from the
	// email and answers.
	p := openTab(t, a, lang)
	msg := mb.find("ada@partner.example", p.T("email.message.subject", "Account", "Globex Corporation"))
	if !strings.Contains(msg.Text, question) {
		t.Errorf("the partner's email lacks the question:\n%s", msg.Text)
	}
	page := linkTo(t, msg, "/clc/requests/")
	if page != "/clc/requests/"+id.String() {
		t.Fatalf("the partner's email links to %s", page)
	}
	p.signIn("ada@partner.example", "correct horse")
	p.visit(page + "#conversation")
	p.waitFor("#messages")
	if got := p.text("#messages .message-text"); got != question {
		t.Errorf("the partner's page shows %q", got)
	}
	p.axe("request page with its conversation")
	answer := "Yes: EMEA only."
	p.do(chromedp.Focus(chromedp.CSS("#message")))
	p.key(answer)
	p.tabTo(`#message-form button[type=submit]`, 3)
	p.key("\r")
	p.waitFor(".flash")
	if got := p.text(".flash"); got != p.T("conversation.sent") {
		t.Errorf("after answering: %q", got)
	}
	p.axe("request page after answering")

	// The approver's email carries the answer and a new link, in the
	// customer's language; the old link now says it was replaced.
	msg = mb.find("hank@globex.example", approver.T("email.message.subject", "Account", "Globex Corporation"))
	if !strings.Contains(msg.Text, answer) {
		t.Errorf("the approver's email lacks the answer:\n%s", msg.Text)
	}
	fresh := linkTo(t, msg, "/pending/")
	if fresh == link {
		t.Fatal("the answer's email carries the old link")
	}
	approver.visit(link)
	if got := approver.text("h1"); got != approver.T("pending.closed.replaced.heading") {
		t.Errorf("the old link says %q", got)
	}
	approver.visit(fresh)
	approver.waitFor("#messages")
	if got := approver.text("#messages"); !strings.Contains(got, question) || !strings.Contains(got, answer) {
		t.Errorf("the conversation shows %q", got)
	}
	approver.axe("pending request with the answer")
	approver.tabTo(`#approve-form button[type=submit]`, 60)
	approver.key("\r")
	approver.waitFor("#request-status")
	if got := a.str(t, `SELECT status FROM account_requests WHERE smart_account_id = $1`, id); got != "approved" {
		t.Fatalf("request is %s after Approve", got)
	}
	approver.axe("approved")

	// Decided, the conversation is read-only for the partner.
	p.visit(page)
	p.waitFor("#conversation-closed")
	if p.is(`document.querySelector('#message-form') !== null`) {
		t.Error("a decided request still offers the message form")
	}
	p.axe("request page, conversation closed")
}

// TestConversationPagesAreAccessible runs axe-core, in every language of
// the catalog, on what the conversation and the follow-through add: the
// Pending Request page's conversation (refused, and with a message), the
// request page's (refused, and closed once decided), and the operators'
// queue with a request flagged "no approver response". The whole tour
// (TestEveryPageIsAccessible) shows the rest of each page.
func TestConversationPagesAreAccessible(t *testing.T) {
	t.Parallel()
	for _, lang := range languageTags(t) {
		t.Run(lang.String(), func(t *testing.T) { t.Parallel(); conversationPages(t, lang) })
	}
}

func conversationPages(t *testing.T, lang language.Tag) {
	r := newRequested(t)
	r.user("ops@clc.example", "Olga Operator", true)
	hank := r.link(t, "hank@globex.example")
	initrode := submit(t, r.app, r.partner, formFor("Initrode", "initrode.example", "bill@initrode.example"))
	wantRedirect(t, r.browser().post(r.link(t, "bill@initrode.example")+"/approve", nil), r.link(t, "bill@initrode.example"))
	umbrella := submit(t, r.app, r.partner, formFor("Umbrella", "umbrella.example", "alice@umbrella.example")).String()
	b := openTab(t, r.app, lang)
	send := func(value, wait, where string) {
		t.Helper()
		b.do(chromedp.Evaluate[chromedp.Void](`(() => { const f = document.getElementById("message"); f.value = ` + jsString(value) + `; f.form.requestSubmit(); })()`))
		b.waitFor(wait)
		b.axe(where)
	}

	b.visit(hank)
	send(" ", "#message-error", "pending request, message refused")
	send("Is this for EMEA only? https://globex.example/emea", "#messages", "pending request with a message")

	b.signIn("ada@partner.example", "correct horse")
	b.visit("/clc/requests/" + r.id.String())
	b.axe("request page with its conversation")
	send("", "#message-error", "request page, message refused")
	b.visit("/clc/requests/" + initrode.String())
	b.waitFor("#conversation-closed")
	b.axe("request page, conversation closed")
	b.do(chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)))

	// Two weeks on, nobody opened Umbrella's: the operators see it flagged.
	r.clock.Advance(15 * 24 * time.Hour)
	if err := (&jobs.Runner{Jobs: jobs.Requests(r.svc), Log: slog.New(slog.DiscardHandler)}).RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.signIn("ops@clc.example", "correct horse")
	b.visit("/ops/requests")
	if !b.is(`document.querySelector("section[id='` + umbrella + `'] .no-response") !== null`) {
		t.Error("the operators' queue does not flag the request nobody opened")
	}
	b.axe("operators' queue with a request flagged")
	b.visit("/clc/requests/" + umbrella)
	b.waitFor("#message-form")
	b.axe("request page as an operator")
}
