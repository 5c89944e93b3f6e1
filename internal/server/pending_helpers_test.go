package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/config"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/mail"
	"github.com/clc-portal/clc/internal/mailcatch"
	"github.com/clc-portal/clc/internal/postgres"
)

// requested is a pending request for Globex Corporation (globex.example) by
// Ada of Northwind Partners, waiting on hank@ and cfo@globex.example, adding
// it@ and ops@globex.example as users.
type requested struct {
	*app
	partner *browser
	id      account.AccountID
}

func newRequested(t *testing.T) *requested {
	t.Helper()
	a, b := requester(t)
	return &requested{app: a, partner: b, id: submit(t, a, b, validForm())}
}

// submit sends a request through the form and returns its account's id.
func submit(t *testing.T, a *app, b *browser, form url.Values) account.AccountID {
	t.Helper()
	wantRedirect(t, b.post("/clc/accounts/new/submit", review(t, b, form)), "/clc/directory")
	var id int64
	if err := a.db.Pool.QueryRow(context.Background(),
		`SELECT smart_account_id FROM account_requests ORDER BY id DESC LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return account.AccountID(id)
}

// queued is an outbox row as a test reads it.
type queued struct {
	Kind, To, Secret string
	Data             account.EmailData
}

// outbox lists the queued emails, oldest first.
func (a *app) outbox(t *testing.T) []queued {
	t.Helper()
	rows, err := a.db.Pool.Query(context.Background(), `SELECT kind, to_address, coalesce(secret, ''), data FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []queued
	for rows.Next() {
		var q queued
		var data []byte
		if err := rows.Scan(&q.Kind, &q.To, &q.Secret, &data); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &q.Data); err != nil {
			t.Fatal(err)
		}
		out = append(out, q)
	}
	return out
}

// emailsOf lists the outbox rows of one kind, as "kind to" lines kept in
// order, so tests compare exactly what was queued.
func (a *app) emailsOf(t *testing.T, kinds ...string) []string {
	t.Helper()
	var out []string
	for _, q := range a.outbox(t) {
		for _, k := range kinds {
			if q.Kind == k {
				out = append(out, q.Kind+" "+q.To)
			}
		}
	}
	return out
}

// secret is the token of the newest email of kind to an address.
func (a *app) secret(t *testing.T, kind, to string) string {
	t.Helper()
	s := ""
	for _, q := range a.outbox(t) {
		if q.Kind == kind && q.To == to {
			s = q.Secret
		}
	}
	if s == "" {
		t.Fatalf("no %s email with a secret to %s; outbox: %v", kind, to, a.outbox(t))
	}
	return s
}

// link is the approval token emailed to an address.
func (a *app) link(t *testing.T, to string) string {
	t.Helper()
	return "/pending/" + a.secret(t, "approval_request", to)
}

// snapshot is every table's content, to show a request changed nothing.
func (a *app) snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range []string{"users", "smart_accounts", "virtual_accounts", "memberships", "events",
		"account_requests", "approval_links", "outbox", "set_password_links", "sessions", "login_throttle"} {
		var s string
		if err := a.db.Pool.QueryRow(context.Background(),
			`SELECT coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '') FROM `+table+` x`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		out[table] = s
	}
	return out
}

func wantUnchanged(t *testing.T, before, after map[string]string, what string) {
	t.Helper()
	for table, b := range before {
		if after[table] != b {
			t.Errorf("%s changed %s:\nbefore: %s\nafter:  %s", what, table, b, after[table])
		}
	}
}

// str reads one value.
func (a *app) str(t *testing.T, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := a.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// head sends a HEAD request.
func (b *browser) head(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodHead, b.app.srv.URL+path, nil)
	return b.do(req)
}

// wantClosed checks a link's page: its status, its heading, and a phrase.
func wantClosed(t *testing.T, p page, status int, heading, phrase string) {
	t.Helper()
	wantStatus(t, p, status)
	if got := text(p, "h1"); got != heading {
		t.Errorf("heading %q, want %q", got, heading)
	}
	if !strings.Contains(text(p, "main"), phrase) {
		t.Errorf("page lacks %q:\n%s", phrase, text(p, "main"))
	}
}

// mailbox delivers the app's outbox with the real worker to a real SMTP
// server, and keeps what arrived.
type mailbox struct {
	t       *testing.T
	catcher *mailcatch.Server
	worker  *mail.Worker
}

func (a *app) mailbox(t *testing.T) *mailbox {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	catcher := mailcatch.New(log)
	addr, err := catcher.ListenSMTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catcher.Close() })
	catalog, err := i18n.Load(log)
	if err != nil {
		t.Fatal(err)
	}
	// The links in the emails point at the app under test.
	renderer, err := mail.NewRenderer(a.base, "Cisco License Central <no-reply@clc.example.com>", catalog)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(addr.String())
	p, _ := strconv.Atoi(port)
	return &mailbox{t: t, catcher: catcher, worker: &mail.Worker{
		Queue: postgres.NewStore(a.db.Pool), Sender: mail.NewSMTPSender(config.SMTP{Host: host, Port: p}), Renderer: renderer,
		Clock: a.clock, Log: log, Backoff: mail.DefaultBackoff, Batch: 50, Lease: time.Minute,
	}}
}

// deliver sends everything queued and returns every message caught so far.
func (m *mailbox) deliver() []mailcatch.Message {
	m.t.Helper()
	for {
		n, err := m.worker.RunOnce(context.Background())
		if err != nil {
			m.t.Fatal(err)
		}
		if n == 0 {
			return m.catcher.Messages()
		}
	}
}

// find is the newest delivered message to an address whose subject has a phrase.
func (m *mailbox) find(to, subject string) mailcatch.Message {
	m.t.Helper()
	msgs := m.deliver()
	for i := len(msgs) - 1; i >= 0; i-- {
		if slices.Contains(msgs[i].To, to) && strings.Contains(msgs[i].Subject, subject) {
			return msgs[i]
		}
	}
	var got []string
	for _, msg := range msgs {
		got = append(got, strings.Join(msg.To, ",")+": "+msg.Subject)
	}
	m.t.Fatalf("no email to %s about %q; delivered: %q", to, subject, got)
	return mailcatch.Message{}
}

// linkTo is the path of the message's link that starts with prefix.
func linkTo(t *testing.T, msg mailcatch.Message, prefix string) string {
	t.Helper()
	for _, l := range msg.Links() {
		u, err := url.Parse(l)
		if err == nil && strings.HasPrefix(u.Path, prefix) {
			return u.Path
		}
	}
	t.Fatalf("email %q has no link to %s: %v", msg.Subject, prefix, msg.Links())
	return ""
}

// approveAsShown presses "Approve and Create the Account" as a person does:
// it opens the link and posts the Approve form with the boxes the page
// shows ticked, less those in untick.
func approveAsShown(t *testing.T, b *browser, link string, untick ...string) page {
	t.Helper()
	p := b.get(link)
	wantStatus(t, p, http.StatusOK)
	form := url.Values{}
	p.Doc.Find(`input[type="checkbox"][name="add_user"][form="approve-form"]`).Each(func(_ int, s *goquery.Selection) {
		v, _ := s.Attr("value")
		if _, ticked := s.Attr("checked"); ticked && !slices.Contains(untick, v) {
			form.Add("add_user", v)
		}
	})
	action, ok := p.Doc.Find("form#approve-form").Attr("action")
	if !ok {
		t.Fatalf("no Approve form on %s", link)
	}
	return b.post(action, form)
}
