package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/webhook"
)

// hookReceiver verifies every delivery with the Standard Webhooks library.
type hookReceiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	ids      []string
	verified int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.ids = append(h.ids, r.Header.Get("webhook-id"))
		if wh, err := standardwebhooks.NewWebhook(h.secret); err == nil && wh.Verify(body, r.Header) == nil {
			h.verified++
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// deliverAll runs a webhook worker over the app's database until nothing is due.
func deliverAll(t *testing.T, a *app) {
	t.Helper()
	w := &webhook.Worker{Queue: postgres.NewStore(a.db.Pool), Poster: webhook.NewSender(true, webhook.Timeout),
		Clock: account.SystemClock{}, Log: slog.New(slog.DiscardHandler), Backoff: webhook.DefaultBackoff,
		Lease: time.Minute, Batch: 20}
	for range 10 {
		n, err := w.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// TestWebhooksPage: a partner registers an endpoint, sees its secret once,
// receives a verified delivery, sees its attempts and redelivers it; a
// stranger meets 404 at every one of its pages and actions.
func TestWebhooksPage(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	rc := newHookReceiver(t)
	p := b.get("/clc/webhooks")
	wantStatus(t, p, http.StatusOK)
	if text(p, "h1") != "Webhooks" || !strings.Contains(text(p, "main"), "You have no webhook endpoints") {
		t.Errorf("empty page: %s", text(p, "main"))
	}
	// No event type: refused, the URL kept.
	p = b.post("/clc/webhooks", url.Values{"url": {rc.srv.URL}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if v, _ := p.Doc.Find("#url").Attr("value"); v != rc.srv.URL || !strings.Contains(text(p, "#event_types-error"), "at least one") {
		t.Errorf("refusal kept %q, said %q", v, text(p, "#event_types-error"))
	}
	// An account ada does not administer is refused as if it did not exist.
	a.user("hank@globex.example", "Hank", false)
	globex := a.account("Globex", "globex.example", "hank@globex.example")
	p = b.post("/clc/webhooks", url.Values{"url": {rc.srv.URL}, "account": {globex.ID.String()},
		"event_types": {string(account.WebhookAccessRequested)}})
	wantStatus(t, p, http.StatusUnprocessableEntity)

	p = b.post("/clc/webhooks", url.Values{"url": {rc.srv.URL + "/clc"}, "event_types": {string(account.WebhookRequestSubmitted),
		string(account.WebhookRequestWithdrawn)}})
	wantStatus(t, p, http.StatusCreated)
	secret, _ := p.Doc.Find("#new-webhook-secret").Attr("value")
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q", secret)
	}
	rc.secret = secret
	p = b.get("/clc/webhooks")
	if strings.Contains(p.Body, secret) {
		t.Error("the secret is shown again")
	}
	id, _ := p.Doc.Find("#webhooks tr[data-webhook-id]").Attr("data-webhook-id")

	ada, _ := a.svc.UserByEmail(context.Background(), "ada@partner.example")
	r, err := a.svc.SubmitRequest(context.Background(), ada, account.AccountRequestInput{Name: "Hooked", Domain: "hooked.example",
		NoteToApprover: "Our customer.", CustomerEmails: "buyer@hooked.example", SubmissionKey: account.NewSubmissionKey()})
	if err != nil {
		t.Fatal(err)
	}
	deliverAll(t, a)
	if rc.verified != 1 {
		t.Fatalf("%d verified deliveries, want 1 (%v)", rc.verified, rc.ids)
	}
	p = b.get("/clc/webhooks/" + id)
	wantStatus(t, p, http.StatusOK)
	if got := text(p, "#deliveries td.state"); got != "Delivered" {
		t.Errorf("delivery state %q", got)
	}
	delivery, _ := p.Doc.Find("#deliveries tr[data-delivery-id]").Attr("data-delivery-id")
	dpath := "/clc/webhooks/" + id + "/deliveries/" + delivery
	p = b.get(dpath)
	wantStatus(t, p, http.StatusOK)
	if got := text(p, "#attempts td.status"); got != "204" || !strings.Contains(text(p, "pre.payload"), r.Account.ID.String()) {
		t.Errorf("attempts %q, payload %q", got, text(p, "pre.payload"))
	}
	wantRedirect(t, b.post(dpath+"/redeliver", nil), dpath)
	deliverAll(t, a)
	if rc.verified != 2 || rc.ids[0] != rc.ids[1] {
		t.Errorf("redelivery: %d verified, ids %v, want one id twice", rc.verified, rc.ids)
	}

	// A stranger: every page and action of ada's endpoint is 404, and
	// changes nothing.
	a.user("eve@elsewhere.example", "Eve", false)
	eve := a.signedIn("eve@elsewhere.example")
	wantStatus(t, eve.get("/clc/webhooks/"+id), http.StatusNotFound)
	wantStatus(t, eve.get(dpath), http.StatusNotFound)
	for _, action := range []string{"/rotate", "/delete", "/deliveries/" + delivery + "/redeliver"} {
		wantStatus(t, eve.post("/clc/webhooks/"+id+action, nil), http.StatusNotFound)
	}
	wantStatus(t, b.get("/clc/webhooks/"+id+"/deliveries/"+strconv.Itoa(1_000_000)), http.StatusNotFound)
	if n := a.count(t, `SELECT count(*) FROM webhook_endpoints WHERE previous_secret IS NULL`); n != 1 {
		t.Errorf("the stranger changed the endpoint")
	}

	// Rotation shows the new secret once; delete removes it.
	p = b.post("/clc/webhooks/"+id+"/rotate", nil)
	wantStatus(t, p, http.StatusOK)
	if fresh, _ := p.Doc.Find("#new-webhook-secret").Attr("value"); !strings.HasPrefix(fresh, "whsec_") || fresh == secret {
		t.Errorf("rotated secret %q", fresh)
	}
	wantRedirect(t, b.post("/clc/webhooks/"+id+"/delete", nil), "/clc/webhooks")
	wantStatus(t, b.get("/clc/webhooks/"+id), http.StatusNotFound)
}

// TestWebhooksAPI: the API registers, lists, rotates, shows deliveries and
// redelivers as the page does, every answer held to openapi.json; another
// user's token meets 404.
func TestWebhooksAPI(t *testing.T) {
	t.Parallel()
	a, b := requester(t)
	spec := a.openAPI(t)
	rc := newHookReceiver(t)
	api := a.api(t, spec, b.newToken("crm"))

	ans := api.do("POST", "/api/v1/webhooks", map[string]any{"url": "ftp://x.example/", "event_types": []string{"account_request.submitted"}})
	if ans.Status != http.StatusUnprocessableEntity || ans.problem(t).Errors[0].Name != "url" {
		t.Errorf("an ftp URL: %d %s", ans.Status, ans.Body)
	}
	ans = api.do("POST", "/api/v1/webhooks", map[string]any{"url": rc.srv.URL, "event_types": []string{"access_request.requested"}})
	if ans.Status != http.StatusUnprocessableEntity {
		t.Errorf("an access type on a partner's endpoint: %d %s", ans.Status, ans.Body)
	}
	ans = api.do("POST", "/api/v1/webhooks", map[string]any{"url": rc.srv.URL, "event_types": []string{"account_request.submitted"}})
	if ans.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", ans.Status, ans.Body)
	}
	var e struct {
		ID     int64
		Secret string
		Links  struct{ Self string }
	}
	ans.decode(t, &e)
	rc.secret = e.Secret
	self := e.Links.Self
	if ans := api.do("GET", self, nil); ans.Status != http.StatusOK || strings.Contains(string(ans.Body), e.Secret) {
		t.Errorf("get: %d, secret shown again: %v", ans.Status, strings.Contains(string(ans.Body), e.Secret))
	}
	if ans := api.do("GET", "/api/v1/webhooks", nil); ans.Status != http.StatusOK || !strings.Contains(string(ans.Body), rc.srv.URL) {
		t.Errorf("list: %d %s", ans.Status, ans.Body)
	}

	ada, _ := a.svc.UserByEmail(context.Background(), "ada@partner.example")
	if _, err := a.svc.SubmitRequest(context.Background(), ada, account.AccountRequestInput{Name: "API Hooked", Domain: "api-hooked.example",
		NoteToApprover: "Ours.", CustomerEmails: "buyer@api-hooked.example", SubmissionKey: account.NewSubmissionKey()}); err != nil {
		t.Fatal(err)
	}
	deliverAll(t, a)
	var list struct{ Items []struct{ ID int64 } }
	api.do("GET", self+"/deliveries", nil).decode(t, &list)
	if len(list.Items) != 1 || rc.verified != 1 {
		t.Fatalf("%d deliveries, %d verified", len(list.Items), rc.verified)
	}
	d := self + "/deliveries/" + strconv.FormatInt(list.Items[0].ID, 10)
	var one struct {
		State          string
		AttemptHistory []struct {
			StatusCode int `json:"status_code"`
		} `json:"attempt_history"`
	}
	api.do("GET", d, nil).decode(t, &one)
	if one.State != "delivered" || len(one.AttemptHistory) != 1 || one.AttemptHistory[0].StatusCode != 204 {
		t.Errorf("delivery %+v", one)
	}
	if ans := api.do("POST", d+"/redeliver", nil); ans.Status != http.StatusAccepted {
		t.Errorf("redeliver: %d %s", ans.Status, ans.Body)
	}
	if ans := api.do("POST", d+"/redeliver", nil); ans.Status != http.StatusConflict {
		t.Errorf("redeliver while due: %d %s", ans.Status, ans.Body)
	}
	if ans := api.do("POST", self+"/rotate-secret", nil); ans.Status != http.StatusOK || !strings.Contains(string(ans.Body), "previous_secret_valid_until") {
		t.Errorf("rotate: %d %s", ans.Status, ans.Body)
	}

	a.user("eve@elsewhere.example", "Eve", false)
	eve := a.api(t, spec, a.signedIn("eve@elsewhere.example").newToken("eve"))
	for _, c := range []struct{ method, path string }{{"GET", self}, {"DELETE", self}, {"POST", self + "/rotate-secret"},
		{"GET", self + "/deliveries"}, {"GET", d}, {"POST", d + "/redeliver"}, {"GET", "/api/v1/webhooks/abc"}} {
		if ans := eve.do(c.method, c.path, nil); ans.Status != http.StatusNotFound {
			t.Errorf("another user's %s %s: %d", c.method, c.path, ans.Status)
		}
	}
	if ans := api.do("DELETE", self, nil); ans.Status != http.StatusNoContent {
		t.Errorf("delete: %d", ans.Status)
	}
	if ans := api.do("GET", self, nil); ans.Status != http.StatusNotFound {
		t.Errorf("after delete: %d", ans.Status)
	}
}
