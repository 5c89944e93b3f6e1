package mailcatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"
)

const (
	confirmLink = "https://portal.example/confirm?token=abc&x=1"
	textBody    = "Hallo Jürgen,\n\nbitte bestätige deine Adresse: " + confirmLink + "\n\n" +
		"Diese Zeile ist absichtlich sehr lang, damit quoted-printable sie mit einem weichen Zeilenumbruch teilen muss.\n"
	htmlBody = `<p>Hallo Jürgen,</p><p><a href="https://portal.example/confirm?token=abc&amp;x=1">Bestätigen</a></p>`
)

// start runs a catcher on a free port for the duration of the test.
func start(t *testing.T) (*Server, int) {
	t.Helper()
	s := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	addr, err := s.ListenSMTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, addr.(*net.TCPAddr).Port
}

// send delivers m over a fresh connection. It does not fail the test
// itself, so it may run on any goroutine.
func send(port int, m *gomail.Msg, opts ...gomail.Option) error {
	opts = append([]gomail.Option{
		gomail.WithPort(port),
		gomail.WithTLSPolicy(gomail.NoTLS),
		gomail.WithTimeout(10 * time.Second),
	}, opts...)
	c, err := gomail.NewClient("127.0.0.1", opts...)
	if err != nil {
		return err
	}
	return c.DialAndSend(m)
}

func newMsg(t *testing.T, subject string, opts ...gomail.MsgOption) *gomail.Msg {
	t.Helper()
	m := gomail.NewMsg(opts...)
	if err := m.From("CLC Portal <portal@example.org>"); err != nil {
		t.Fatal(err)
	}
	if err := m.To("alice@example.com", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	m.Subject(subject)
	m.SetBodyString(gomail.TypeTextPlain, textBody)
	m.AddAlternativeString(gomail.TypeTextHTML, htmlBody)
	return m
}

func TestMultipartMessageArrives(t *testing.T) {
	for _, tc := range []struct {
		name     string
		encoding gomail.Encoding
		opts     []gomail.Option
	}{
		{"quoted-printable", gomail.EncodingQP, nil},
		{"base64", gomail.EncodingB64, nil},
		{"with AUTH PLAIN", gomail.EncodingQP, []gomail.Option{
			gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername("anyone"), gomail.WithPassword("anything"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, port := start(t)
			subject := "Grüße aus dem Portal"
			if err := send(port, newMsg(t, subject, gomail.WithEncoding(tc.encoding)), tc.opts...); err != nil {
				t.Fatalf("send: %v", err)
			}
			msgs := s.Messages()
			if len(msgs) != 1 {
				t.Fatalf("got %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.ID != 1 {
				t.Errorf("ID = %d, want 1", m.ID)
			}
			if m.Subject != subject {
				t.Errorf("Subject = %q, want %q", m.Subject, subject)
			}
			if bytes.Contains(m.Raw, []byte("Grüße")) {
				t.Errorf("raw subject was not RFC 2047 encoded, test proves nothing:\n%s", m.Raw)
			}
			if !bytes.Contains(m.Raw, []byte("Content-Transfer-Encoding: "+string(tc.encoding))) {
				t.Errorf("raw message lacks %s transfer encoding:\n%s", tc.encoding, m.Raw)
			}
			if m.From != "portal@example.org" {
				t.Errorf("From = %q", m.From)
			}
			if want := []string{"alice@example.com", "bob@example.com"}; !slices.Equal(m.To, want) {
				t.Errorf("To = %q, want %q", m.To, want)
			}
			if got := strings.TrimRight(m.Text, "\n"); got != strings.TrimRight(textBody, "\n") {
				t.Errorf("Text = %q, want %q", m.Text, textBody)
			}
			if m.HTML != htmlBody {
				t.Errorf("HTML = %q, want %q", m.HTML, htmlBody)
			}
			if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
				t.Errorf("Content-Type = %q", ct)
			}
			if got := m.Links(); !slices.Equal(got, []string{confirmLink}) {
				t.Errorf("Links = %q, want [%q]", got, confirmLink)
			}
			if time.Since(m.Received) > time.Minute {
				t.Errorf("Received = %v", m.Received)
			}
		})
	}
}

func sendErr(t *testing.T, err error) *gomail.SendError {
	t.Helper()
	var se *gomail.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *gomail.SendError", err, err)
	}
	return se
}

func TestFailNextTemporary(t *testing.T) {
	s, port := start(t)
	s.FailNext(1, 451, "try again later")

	err := send(port, newMsg(t, "first"))
	if err == nil {
		t.Fatal("send succeeded, want a 451")
	}
	se := sendErr(t, err)
	if se.ErrorCode() != 451 || !se.IsTemp() {
		t.Errorf("ErrorCode = %d, IsTemp = %v, want 451, true (%v)", se.ErrorCode(), se.IsTemp(), err)
	}
	if !strings.Contains(err.Error(), "try again later") {
		t.Errorf("error %q lacks the injected message", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("refused message was kept: %d messages", n)
	}
	if s.Refused() != 1 {
		t.Errorf("Refused = %d, want 1", s.Refused())
	}

	if err := send(port, newMsg(t, "second")); err != nil {
		t.Fatalf("second send: %v", err)
	}
	msgs := s.Messages()
	if len(msgs) != 1 || msgs[0].Subject != "second" {
		t.Fatalf("messages = %+v, want just the second", msgs)
	}
}

func TestFailNextPermanent(t *testing.T) {
	s, port := start(t)
	s.FailNext(1, 550, "no such user")
	err := send(port, newMsg(t, "x"))
	if err == nil {
		t.Fatal("send succeeded, want a 550")
	}
	se := sendErr(t, err)
	if se.ErrorCode() != 550 || se.IsTemp() {
		t.Errorf("ErrorCode = %d, IsTemp = %v, want 550, false (%v)", se.ErrorCode(), se.IsTemp(), err)
	}
	if err := send(port, newMsg(t, "y")); err != nil {
		t.Fatalf("next send: %v", err)
	}
}

func TestFailNextQueueAndUntilCleared(t *testing.T) {
	s, port := start(t)
	s.FailNext(1, 451, "busy")
	s.FailNext(2, 554, "rejected")
	s.FailNext(-1, 452, "full")
	for i, want := range []int{451, 554, 554, 452, 452, 452} {
		se := sendErr(t, send(port, newMsg(t, "x")))
		if se.ErrorCode() != want {
			t.Errorf("attempt %d: code %d, want %d", i+1, se.ErrorCode(), want)
		}
	}
	s.ClearFaults()
	if err := send(port, newMsg(t, "x")); err != nil {
		t.Fatalf("after ClearFaults: %v", err)
	}
	if s.Refused() != 6 {
		t.Errorf("Refused = %d, want 6", s.Refused())
	}

	s.FailNext(-1, 451, "busy")
	s.Reset()
	if err := send(port, newMsg(t, "after reset")); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
	if msgs := s.Messages(); len(msgs) != 1 || msgs[0].ID != 1 || s.Refused() != 0 {
		t.Errorf("after Reset: %d messages, first ID %d, refused %d; want 1, 1, 0", len(msgs), msgs[0].ID, s.Refused())
	}
}

func TestFailNextPanicsOnSuccessCode(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("FailNext(1, 250, …) did not panic")
		}
	}()
	New(nil).FailNext(1, 250, "ok")
}

func TestWaitFor(t *testing.T) {
	s, port := start(t)
	sent := make(chan error, 1)
	one, two := newMsg(t, "one"), newMsg(t, "two")
	go func() {
		time.Sleep(50 * time.Millisecond)
		for _, m := range []*gomail.Msg{one, two} {
			if err := send(port, m); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	msgs, err := s.WaitFor(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Subject != "one" || msgs[1].Subject != "two" {
		t.Fatalf("got %+v", msgs)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}

	short, cancel2 := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel2()
	msgs, err = s.WaitFor(short, 3)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if len(msgs) != 2 {
		t.Errorf("got %d messages with the error, want the 2 so far", len(msgs))
	}
}

func TestMessagesIsACopy(t *testing.T) {
	s, port := start(t)
	if err := send(port, newMsg(t, "x")); err != nil {
		t.Fatal(err)
	}
	m := s.Messages()[0]
	m.To[0] = "mallory@example.com"
	m.Raw[0] = 'X'
	m.Header["Subject"][0] = "changed"
	again := s.Messages()[0]
	if again.To[0] != "alice@example.com" || again.Raw[0] == 'X' || again.Header.Get("Subject") == "changed" {
		t.Error("changing a returned message changed the store")
	}
}

func TestStoreDropsOldest(t *testing.T) {
	s := New(nil)
	for range maxMessages + 5 {
		s.store(Message{})
	}
	msgs := s.Messages()
	if len(msgs) != maxMessages || msgs[0].ID != 6 || msgs[len(msgs)-1].ID != maxMessages+5 {
		t.Errorf("got %d messages, IDs %d..%d", len(msgs), msgs[0].ID, msgs[len(msgs)-1].ID)
	}
}

func TestCloseTwice(t *testing.T) {
	s := New(nil)
	if _, err := s.ListenSMTP("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("first Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.ListenSMTP("127.0.0.1:0"); err == nil {
		t.Error("ListenSMTP after Close succeeded")
	}
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestHandler(t *testing.T) {
	s, port := start(t)
	m := newMsg(t, `<script>alert("subject")</script> Grüße`)
	m.SetGenHeader("X-Evil", `<img src=x onerror=alert(1)>`)
	m.SetBodyString(gomail.TypeTextPlain, "Text <b>not bold</b>\nhttps://portal.example/text-only\n")
	m.AddAlternativeString(gomail.TypeTextHTML, htmlBody+`<script>alert("html")</script>`)
	if err := send(port, m); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	resp, body := get(t, ts.URL+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %s", resp.Status)
	}
	for _, want := range []string{`href="/messages/1"`, "&lt;script&gt;alert(&#34;subject&#34;)&lt;/script&gt; Grüße", "alice@example.com, bob@example.com", "portal@example.org"} {
		if !strings.Contains(body, want) {
			t.Errorf("list lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Errorf("list contains an unescaped script:\n%s", body)
	}

	resp, body = get(t, ts.URL+"/messages/1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /messages/1: %s", resp.Status)
	}
	for _, want := range []string{
		// Every link, clickable.
		`<a href="https://portal.example/text-only"`,
		`<a href="https://portal.example/confirm?token=abc&amp;x=1"`,
		// Headers escaped.
		"&lt;img src=x onerror=alert(1)&gt;",
		"<title>&lt;script&gt;",
		// The text part, escaped.
		"<pre>Text &lt;b&gt;not bold&lt;/b&gt;",
		// The HTML part only inside the sandboxed frame.
		`sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"`,
		`srcdoc="&lt;base target=&#34;_blank&#34;&gt;&lt;p&gt;Hallo Jürgen,&lt;/p&gt;`,
		`&lt;script&gt;alert(&#34;html&#34;)&lt;/script&gt;"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("message page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "<img") {
		t.Errorf("message page contains unescaped markup from the mail:\n%s", body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}

	resp, body = get(t, ts.URL+"/messages/1/raw")
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("raw Content-Type = %q", ct)
	}
	if body != string(s.Messages()[0].Raw) {
		t.Error("raw body differs from the message as received")
	}

	_, body = get(t, ts.URL+"/api/messages")
	var list []struct {
		ID      int
		Subject string
		To      []string
		Links   []string
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("GET /api/messages: %v\n%s", err, body)
	}
	if len(list) != 1 || list[0].ID != 1 || !strings.HasSuffix(list[0].Subject, "Grüße") || len(list[0].To) != 2 || len(list[0].Links) != 2 {
		t.Errorf("GET /api/messages = %+v", list)
	}

	for _, path := range []string{"/messages/2", "/messages/x", "/messages/2/raw", "/api/messages/7"} {
		if resp, _ := get(t, ts.URL+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", path, resp.Status)
		}
	}

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Post(ts.URL+"/clear", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(s.Messages()) != 0 {
		t.Errorf("POST /clear: %s, %d messages left", resp.Status, len(s.Messages()))
	}
	if resp, _ := get(t, ts.URL+"/"); resp.StatusCode != http.StatusOK {
		t.Errorf("empty list: %s", resp.Status)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name                string
		raw                 string
		subject, text, html string
	}{
		{
			name:    "plain, no MIME",
			raw:     "From: a@example.com\r\nSubject: hi\r\n\r\nline one\r\nline two\r\n",
			subject: "hi", text: "line one\nline two\n",
		},
		{
			name: "latin-1 quoted-printable",
			raw: "Subject: =?ISO-8859-1?Q?Gr=FC=DFe?=\r\nMIME-Version: 1.0\r\n" +
				"Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
				"Gr=FC=DFe, a long line that =\r\ncontinues\r\n",
			subject: "Grüße", text: "Grüße, a long line that continues\n",
		},
		{
			name: "base64 html only",
			raw: "Subject: =?UTF-8?B?w4RwZmVs?=\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
				"PHA+w4RwZmVs\r\nPC9wPg==\r\n",
			subject: "Äpfel", html: "<p>Äpfel</p>",
		},
		{
			name: "mixed with alternative and attachment",
			raw: "Subject: report\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n" +
				"--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n" +
				"--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody text\r\n" +
				"--inner\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p class=3D\"x\">body</p>\r\n" +
				"--inner--\r\n" +
				"--outer\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nattached\r\n" +
				"--outer--\r\n",
			subject: "report", text: "body text", html: `<p class="x">body</p>`,
		},
		{
			name: "garbage",
			raw:  "not a message",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := parse([]byte(tc.raw))
			if m.Subject != tc.subject || m.Text != tc.text || m.HTML != tc.html {
				t.Errorf("got subject %q text %q html %q\nwant subject %q text %q html %q",
					m.Subject, m.Text, m.HTML, tc.subject, tc.text, tc.html)
			}
		})
	}
}

func TestLinks(t *testing.T) {
	m := Message{
		Text: "See https://a.example/x. Or (https://b.example/y), or https://en.wikipedia.org/wiki/Go_(language)!\n" +
			"Again: https://a.example/x",
		HTML: `<a href="http://c.example/?a=1&amp;b=2">c</a> <a href="mailto:x@example.com">mail</a>`,
	}
	want := []string{"https://a.example/x", "https://b.example/y", "https://en.wikipedia.org/wiki/Go_(language)", "http://c.example/?a=1&b=2"}
	if got := m.Links(); !slices.Equal(got, want) {
		t.Errorf("Links = %q\nwant %q", got, want)
	}
}

// syncBuffer lets the test read what Run logs from another goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRun(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, "127.0.0.1:0", "127.0.0.1:0", logger) }()

	started := regexp.MustCompile(`mail catcher: SMTP on 127\.0\.0\.1:(\d+), read mail at (http://127\.0\.0\.1:\d+)`)
	var match []string
	for deadline := time.Now().Add(10 * time.Second); match == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Run did not report its addresses; log:\n%s", logs.String())
		}
		match = started.FindStringSubmatch(logs.String())
	}
	var port int
	if _, err := fmt.Sscan(match[1], &port); err != nil {
		t.Fatal(err)
	}
	if err := send(port, newMsg(t, "via Run")); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, match[2]+"/api/messages")
	if !strings.Contains(body, `"subject": "via Run"`) {
		t.Errorf("GET /api/messages:\n%s", body)
	}
	if !strings.Contains(logs.String(), "subject=\"via Run\"") {
		t.Errorf("arrival not logged:\n%s", logs.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestWaitForTo finds a message that arrived before the call (the race
// that made waiting for "one more" wait for nothing), waits for one that
// comes after, and says who it waited for when none comes.
func TestWaitForTo(t *testing.T) {
	s, port := start(t)
	early := newMsg(t, "early")
	if err := send(port, early); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if m, err := s.WaitForTo(ctx, "bob@example.com"); err != nil || m.Subject != "early" {
		t.Fatalf("the message already there: %+v, %v", m, err)
	}

	late := newMsg(t, "late")
	if err := late.To("carol@example.com"); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = send(port, late)
	}()
	if m, err := s.WaitForTo(ctx, "carol@example.com"); err != nil || m.Subject != "late" {
		t.Fatalf("the message that came later: %+v, %v", m, err)
	}

	short, cancel2 := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel2()
	if _, err := s.WaitForTo(short, "dave@example.com"); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "dave@example.com") {
		t.Errorf("err = %v, want deadline exceeded naming the address", err)
	}
}
