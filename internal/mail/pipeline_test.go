package mail_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
	gomail "github.com/wneessen/go-mail"

	"github.com/clc-portal/clc/internal/config"
	"github.com/clc-portal/clc/internal/mail"
)

// picky is an SMTP server (go-smtp, as the mail catcher) that refuses the
// recipient refuse, drops the connection in the middle of the dropAt-th
// message (counted from 1 over its life), and with plain offers no
// PIPELINING.
type picky struct {
	refuse string
	dropAt int
	plain  bool

	mu   sync.Mutex
	n    int      // messages begun
	got  []string // the recipients of the messages taken, in order
	raw  [][]byte // and their content
	addr net.Addr
}

func newPicky(t *testing.T, p *picky) *picky {
	t.Helper()
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &pickySession{p: p, conn: c}, nil
	}))
	srv.Domain = "picky.localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = l.Addr()
	go func() {
		if p.plain {
			_ = srv.Serve(plainListener{l})
		} else {
			_ = srv.Serve(l)
		}
	}()
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *picky) sender() *mail.SMTPSender {
	host, port, _ := net.SplitHostPort(p.addr.String())
	n, _ := strconv.Atoi(port)
	return mail.NewSMTPSender(config.SMTP{Host: host, Port: n})
}

func (p *picky) received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

type pickySession struct {
	p    *picky
	conn *smtp.Conn
	to   string
}

func (s *pickySession) Reset()        { s.to = "" }
func (s *pickySession) Logout() error { return nil }
func (s *pickySession) Mail(string, *smtp.MailOptions) error {
	return nil
}

func (s *pickySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == s.p.refuse {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.to = to
	return nil
}

func (s *pickySession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.p.n++
	if s.p.n == s.p.dropAt {
		// The socket, not the session: go-smtp would then take the
		// pipelined commands already read to a session it has closed.
		s.conn.Conn().Close()
		return errors.New("dropped")
	}
	s.p.got = append(s.p.got, s.to)
	s.p.raw = append(s.p.raw, raw)
	return nil
}

// plainListener hides PIPELINING from the EHLO reply, which go-smtp writes
// a line at a time.
type plainListener struct{ net.Listener }

func (l plainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return plainConn{c}, err
}

type plainConn struct{ net.Conn }

func (c plainConn) Write(p []byte) (int, error) {
	if string(p) == "250-PIPELINING\r\n" {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func messages(t *testing.T, to ...string) []*gomail.Msg {
	t.Helper()
	var out []*gomail.Msg
	for _, addr := range to {
		m := gomail.NewMsg()
		if err := m.From("no-reply@clc.example.com"); err != nil {
			t.Fatal(err)
		}
		if err := m.To(addr); err != nil {
			t.Fatal(err)
		}
		m.Subject("Hello " + addr)
		// A line with a leading dot must arrive whole (dot-stuffing).
		m.SetBodyString(gomail.TypeTextPlain, "Hello.\n.\n.. and a dot line\n")
		out = append(out, m)
	}
	return out
}

var recipients = []string{"a@globex.example", "b@globex.example", "c@globex.example", "d@globex.example"}

// A recipient the server refuses fails its own message only, for good
// (5xx), with or without pipelining; the messages after it go through.
func TestRefusedRecipientFailsOnlyItsMessage(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain=%v", plain), func(t *testing.T) {
			p := newPicky(t, &picky{refuse: "b@globex.example", plain: plain})
			s := p.sender()
			defer s.Close()
			res := s.Send(context.Background(), messages(t, recipients...))
			for i, err := range res {
				if (err != nil) != (i == 1) {
					t.Errorf("message %d: %v", i, err)
				}
			}
			if !mail.Permanent(res[1]) {
				t.Errorf("the refused recipient's failure %v is not final", res[1])
			}
			if got := p.received(); fmt.Sprint(got) != "[a@globex.example c@globex.example d@globex.example]" {
				t.Errorf("the server took %v", got)
			}
			p.mu.Lock()
			raw := p.raw[2]
			p.mu.Unlock()
			if !bytes.Contains(raw, []byte("Hello.\r\n.\r\n.. and a dot line\r\n")) {
				t.Errorf("the lines with leading dots did not arrive as written:\n%s", raw)
			}
			// The connection stays usable.
			if res := s.Send(context.Background(), messages(t, "e@globex.example")); res[0] != nil {
				t.Errorf("the next batch: %v", res[0])
			}
		})
	}
}

// A connection that breaks in the middle of a message fails that one
// (worth retrying: it may or may not have arrived) and leaves the messages
// after it untried, as when the server is unreachable; the next batch dials
// again.
func TestBrokenConnectionLeavesTheRestUntried(t *testing.T) {
	p := newPicky(t, &picky{dropAt: 2})
	s := p.sender()
	defer s.Close()
	res := s.Send(context.Background(), messages(t, recipients...))
	if res[0] != nil {
		t.Errorf("the first message: %v", res[0])
	}
	if res[1] == nil || errors.Is(res[1], mail.ErrUnreachable) || mail.Permanent(res[1]) {
		t.Errorf("the message the connection broke in: %v, want a failure worth retrying", res[1])
	}
	for i := 2; i < len(res); i++ {
		if !errors.Is(res[i], mail.ErrUnreachable) {
			t.Errorf("message %d after the break: %v, want it untried (%v)", i, res[i], mail.ErrUnreachable)
		}
	}
	if got := p.received(); fmt.Sprint(got) != "[a@globex.example]" {
		t.Errorf("the server took %v", got)
	}
	res = s.Send(context.Background(), messages(t, recipients[2:]...))
	if res[0] != nil || res[1] != nil {
		t.Errorf("after dialling again: %v", res)
	}
}

// In the worker, a connection that breaks mid-batch charges only the email
// it broke in; the emails never begun are handed back uncharged.
func TestBrokenConnectionChargesOnlyItsEmail(t *testing.T) {
	r := newRig(t)
	r.request("globex")
	p := newPicky(t, &picky{dropAt: 2})
	r.smtp = p.addr
	w := r.worker()
	runOnce(t, w)
	rows, err := r.db.Pool.Query(context.Background(), `SELECT state || ' ' || attempts FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	// The batch went in id order.
	if fmt.Sprint(got) != "[sent 1 pending 1 pending 0]" {
		t.Errorf("outbox %v, want one sent, one untried and uncharged, one charged its attempt", got)
	}
}
