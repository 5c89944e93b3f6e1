package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/text/language"
)

// TestBrowserAccessRequestConversation has the user who asked for access
// ask the account's administrator a question on the request's page, the
// administrator open the request from the email the real SMTP server
// caught, answer, and then approve; by keyboard where a person types, in a
// real Chromium, axe-core checking each page on the way.
func TestBrowserAccessRequestConversation(t *testing.T) {
	t.Parallel()
	r := newAccessAsked(t)
	r.db.Exec(t, `UPDATE users SET language = 'en'`)
	mb := r.mailbox(t)

	// The requester asks; an empty message is refused first.
	ada := openTab(t, r.app, language.English)
	ada.signIn("ada@partner.example", "correct horse")
	ada.visit("/clc/directory")
	ada.do(chromedp.Click(chromedp.CSS(`#section-requested a[href*="/access-requests/"]`)))
	ada.waitFor("#message-form")
	ada.axe("access request, the requester's page")
	ada.tabTo(`#message-form button[type=submit]`, 40)
	ada.key("\r")
	ada.waitFor("#message-error")
	ada.axe("access request, the requester's message refused")
	question := "Should I ask for Engineering only? https://initech.example/teams"
	ada.do(chromedp.Focus(chromedp.CSS("#message")))
	ada.key(question)
	ada.tabTo(`#message-form button[type=submit]`, 3)
	ada.key("\r")
	ada.waitFor(".flash")
	if got := ada.text("#messages .message-text"); got != question {
		t.Fatalf("the requester's page shows %q", got)
	}
	if ada.is(`document.querySelector('#conversation a[href*="initech.example/teams"]') !== null`) {
		t.Error("a link in a message became an anchor")
	}

	// The administrator opens the request from the email and answers.
	msg := mb.find("peter@initech.example", "New message about the access request")
	link := linkTo(t, msg, r.path)
	peter := openTab(t, r.app, language.English)
	peter.signIn("peter@initech.example", "correct horse")
	peter.visit(link + "#conversation")
	peter.waitFor("#messages")
	if got := peter.text("#messages .message-text"); got != question {
		t.Fatalf("the administrator's page shows %q", got)
	}
	peter.axe("access request with its conversation, the administrator's page")
	answer := "Engineering only, yes."
	peter.do(chromedp.Focus(chromedp.CSS("#message")))
	peter.key(answer)
	peter.tabTo(`#message-form button[type=submit]`, 3)
	peter.key("\r")
	peter.waitFor(".flash")
	if got := peter.text(".flash"); got != peter.T("conversation.sent") {
		t.Errorf("after answering: %q", got)
	}
	if msg := mb.find("ada@partner.example", "New message about the access request"); !strings.Contains(msg.Text, answer) {
		t.Errorf("the requester's email lacks the answer:\n%s", msg.Text)
	}

	// Then approves: "Next", the scope and role as asked, "Approve".
	peter.tabTo(`#decline-form a.button`, 60)
	peter.key("\r")
	peter.waitFor("#approve-form")
	peter.tabTo(`#approve-form button[type=submit]`, 40)
	peter.key("\r")
	peter.waitFor(".flash")
	if got := r.str(t, `SELECT status FROM access_requests WHERE id = $1`, r.id); got != "approved" {
		t.Fatalf("the access request is %s after Approve", got)
	}

	// Decided, the conversation is read-only for the requester.
	ada.visit(r.path)
	ada.waitFor("#conversation-closed")
	if ada.is(`document.querySelector('#message-form') !== null`) {
		t.Error("a decided request still offers the message form")
	}
	if got := ada.text("#messages"); !strings.Contains(got, question) || !strings.Contains(got, answer) {
		t.Errorf("the decided request's conversation shows %q", got)
	}
	ada.axe("access request decided, conversation closed")
}
