package mail

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/clc-portal/clc/internal/config"
)

// smtpTimeout bounds each batch on the connection, and the dial.
const smtpTimeout = 30 * time.Second

// SMTPSender sends over one SMTP connection, kept open while there is work
// and dialled again after a failure.
type SMTPSender struct {
	cfg config.SMTP
	mu  sync.Mutex
	// gc knows how to connect (TLS policy, credentials); c is the open
	// connection, nil when there is none.
	gc *gomail.Client
	c  *smtp.Client
}

// NewSMTPSender sends through the server cfg names.
func NewSMTPSender(cfg config.SMTP) *SMTPSender { return &SMTPSender{cfg: cfg} }

func (s *SMTPSender) client(ctx context.Context) (*smtp.Client, error) {
	if s.c != nil {
		// A kept connection may have been closed at the other end since the
		// last batch: a NOOP finds out before any message is tried on it.
		if s.c.UpdateDeadline(smtpTimeout) == nil && s.c.Noop() == nil {
			return s.c, nil
		}
		s.drop()
	}
	if s.gc == nil {
		gc, err := s.newClient()
		if err != nil {
			return nil, err
		}
		s.gc = gc
	}
	c, err := s.gc.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: connect to %s:%d: %w", ErrUnreachable, s.cfg.Host, s.cfg.Port, err)
	}
	s.c = c
	return c, nil
}

func (s *SMTPSender) newClient() (*gomail.Client, error) {
	// STARTTLS when the server offers it; but credentials never go in
	// clear, so with them a server that offers no STARTTLS (or an attacker
	// who strips it) is refused.
	policy := gomail.TLSOpportunistic
	if s.cfg.Username != "" {
		policy = gomail.TLSMandatory
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(smtpTimeout),
		gomail.WithTLSPolicy(policy),
	}
	if s.cfg.ImplicitTLS {
		opts = append(opts, gomail.WithSSL())
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

// Send delivers msgs and returns one result per message: nil, or an error
// that Permanent can classify; a message never tried on a connection that
// broke before it gets ErrUnreachable.
func (s *SMTPSender) Send(ctx context.Context, msgs []*gomail.Msg) []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	results := make([]error, len(msgs))
	c, err := s.client(ctx)
	if err != nil {
		for i := range results {
			results[i] = err
		}
		return results
	}
	var broken bool
	if ok, _ := c.Extension("PIPELINING"); ok {
		broken = pipeline(c, msgs, results)
	} else {
		broken = s.sendInTurn(c, msgs, results)
	}
	if broken {
		// The connection failed: QUIT could only wait for its timeout.
		s.drop()
		return results
	}
	for _, err := range results {
		if err != nil && !Permanent(err) {
			// A temporary refusal: start clean next time.
			_ = s.closeLocked() // the connection is dropped either way
			break
		}
	}
	return results
}

// sendInTurn sends to a server that does not pipeline, with go-mail: five
// round trips a message.
func (s *SMTPSender) sendInTurn(c *smtp.Client, msgs []*gomail.Msg, results []error) (broken bool) {
	sendErr := s.gc.SendWithSMTPClient(c, msgs...)
	for i, m := range msgs {
		if m.HasSendError() {
			results[i] = m.SendError()
		} else if sendErr != nil && isConnCheck(sendErr) {
			results[i] = sendErr
			broken = true
		}
	}
	return broken
}

func isConnCheck(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.Reason == gomail.ErrConnCheck
}

// envelope is one message ready for the wire.
type envelope struct {
	cmds []byte // MAIL, RCPT…, DATA
	data []byte // the content, dot-stuffed, ending with the lone dot
}

func newEnvelope(m *gomail.Msg, mailParams string) (envelope, error) {
	from, err := m.GetSender(false)
	if err != nil {
		return envelope{}, err
	}
	rcpts, err := m.GetRecipients()
	if err != nil {
		return envelope{}, err
	}
	var cmds strings.Builder
	fmt.Fprintf(&cmds, "MAIL FROM:%s%s\r\n", from, mailParams)
	for _, r := range rcpts {
		fmt.Fprintf(&cmds, "RCPT TO:%s\r\n", r)
	}
	cmds.WriteString("DATA\r\n")
	if strings.Count(cmds.String(), "\n") != len(rcpts)+2 {
		return envelope{}, errors.New("an address spans lines")
	}
	var data bytes.Buffer
	bw := bufio.NewWriter(&data)
	dw := textproto.NewWriter(bw).DotWriter()
	if _, err := m.WriteTo(dw); err != nil {
		return envelope{}, err
	}
	if err := dw.Close(); err != nil {
		return envelope{}, err
	}
	return envelope{cmds: []byte(cmds.String()), data: data.Bytes()}, nil
}

// pipeline sends msgs as RFC 2920 allows a server that offers PIPELINING:
// each message's MAIL, RCPT and DATA go in one write, and its content goes
// with the next message's commands, so a message costs one round trip
// instead of go-mail's five (MAIL, RCPT, DATA, the content, RSET). Every
// reply is still read and checked, in order. It reports whether the
// connection is unusable after; the messages it never began then get
// ErrUnreachable.
func pipeline(c *smtp.Client, msgs []*gomail.Msg, results []error) (broken bool) {
	var params string
	if ok, _ := c.Extension("8BITMIME"); ok {
		params += " BODY=8BITMIME"
	}
	if ok, _ := c.Extension("SMTPUTF8"); ok {
		params += " SMTPUTF8"
	}
	envs := make([]envelope, len(msgs))
	var todo []int // the messages that can go, in order
	for i, m := range msgs {
		env, err := newEnvelope(m, params)
		if err != nil {
			results[i] = fmt.Errorf("%w: %w", errUnsendable, err)
			continue
		}
		envs[i] = env
		todo = append(todo, i)
	}
	w := c.Text.W
	untried := func(from int, err error) bool {
		for _, j := range todo[from:] {
			results[j] = fmt.Errorf("%w: the connection broke before this message: %w", ErrUnreachable, err)
		}
		return true
	}
	if len(todo) == 0 {
		return false
	}
	_, _ = w.Write(envs[todo[0]].cmds)
	if err := w.Flush(); err != nil {
		return untried(0, err)
	}
	for k, i := range todo {
		// The replies to MAIL, each RCPT and DATA.
		var refused error
		for n := range bytes.Count(envs[i].cmds, []byte("\n")) - 1 {
			if _, _, err := c.Text.ReadResponse(25); err != nil {
				if !isReply(err) {
					return untried(k, err)
				}
				if refused == nil {
					refused = fmt.Errorf("%s: %w", command(envs[i].cmds, n), err)
				}
			}
		}
		_, _, dataErr := c.Text.ReadResponse(354)
		if dataErr != nil && !isReply(dataErr) {
			return untried(k, dataErr)
		}
		if dataErr == nil && refused != nil {
			// A recipient was refused, yet the server takes the content:
			// only dropping the connection keeps the message from the
			// others.
			results[i] = refused
			return untried(k+1, refused)
		}
		if dataErr == nil {
			_, _ = w.Write(envs[i].data)
		} else {
			results[i] = refused
			if refused == nil {
				results[i] = fmt.Errorf("DATA: %w", dataErr)
			}
			// The server may still hold the envelope.
			_, _ = w.WriteString("RSET\r\n")
		}
		if k+1 < len(todo) {
			_, _ = w.Write(envs[todo[k+1]].cmds)
		}
		if err := w.Flush(); err != nil {
			if dataErr == nil {
				results[i] = fmt.Errorf("send message: %w", err) // it may or may not have arrived
			}
			return untried(k+1, err)
		}
		if _, _, err := c.Text.ReadResponse(250); err != nil {
			if dataErr != nil || !isReply(err) {
				// A lost connection, or a server that would not reset.
				if dataErr == nil {
					results[i] = fmt.Errorf("end of message: %w", err)
				}
				return untried(k+1, err)
			}
			results[i] = fmt.Errorf("end of message: %w", err)
		}
	}
	return false
}

// command names the nth command of cmds, for an error.
func command(cmds []byte, n int) string {
	line := bytes.Split(cmds, []byte("\r\n"))[n]
	name, _, _ := bytes.Cut(line, []byte(":"))
	return string(name)
}

func isReply(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te)
}

// Close ends the connection, as when the outbox is empty.
func (s *SMTPSender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

// closeLocked says QUIT and closes.
func (s *SMTPSender) closeLocked() error {
	if s.c == nil {
		return nil
	}
	err := s.gc.CloseWithSMTPClient(s.c)
	if err != nil {
		_ = s.c.Close() // QUIT failed: the connection may still be open
	}
	s.c = nil
	return err
}

// drop closes a connection that failed, without a word.
func (s *SMTPSender) drop() {
	if s.c != nil {
		_ = s.c.Close()
		s.c = nil
	}
}

// ErrUnreachable marks a send that reached no SMTP server: the connection
// could not be made, the server would not greet, or the connection broke
// before this message was begun. The message was not tried.
var ErrUnreachable = errors.New("SMTP server unreachable")

// errUnsendable marks a message that could not be put on the wire at all.
var errUnsendable = errors.New("cannot send this message")

// Refused reports whether the server answered an email with a reply code,
// as opposed to the connection failing under it.
func Refused(err error) bool {
	return replyCode(err) >= 400
}

// Permanent reports whether an SMTP failure is final: a 5xx reply, or a
// message that cannot be sent at all. A 4xx reply, a refused or lost
// connection and anything unknown are worth retrying.
func Permanent(err error) bool {
	code := replyCode(err)
	return code >= 500 && code < 600 || errors.Is(err, errUnsendable)
}

// replyCode is the SMTP reply code err carries, 0 when none.
func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		return se.ErrorCode()
	}
	return 0
}
