package mail

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/clc-portal/clc/internal/config"
)

// SMTPSender sends over one SMTP connection, kept open while there is work
// and dialled again after a failure.
type SMTPSender struct {
	cfg config.SMTP
	mu  sync.Mutex
	c   *gomail.Client
}

// NewSMTPSender sends through the server cfg names.
func NewSMTPSender(cfg config.SMTP) *SMTPSender { return &SMTPSender{cfg: cfg} }

func (s *SMTPSender) client(ctx context.Context) (*gomail.Client, error) {
	if s.c != nil {
		return s.c, nil
	}
	// STARTTLS when the server offers it; but credentials never go in
	// clear, so with them a server that offers no STARTTLS (or an attacker
	// who strips it) is refused.
	policy := gomail.TLSOpportunistic
	if s.cfg.Username != "" {
		policy = gomail.TLSMandatory
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(30 * time.Second),
		gomail.WithTLSPolicy(policy),
	}
	if s.cfg.ImplicitTLS {
		opts = append(opts, gomail.WithSSL())
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.DialWithContext(ctx); err != nil {
		return nil, fmt.Errorf("%w: connect to %s:%d: %w", ErrUnreachable, s.cfg.Host, s.cfg.Port, err)
	}
	s.c = c
	return c, nil
}

// Send delivers msgs and returns one result per message: nil, or an error
// that Permanent can classify.
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
	sendErr := c.Send(msgs...)
	broken := false
	for i, m := range msgs {
		if m.HasSendError() {
			results[i] = m.SendError()
			if !Permanent(results[i]) {
				broken = true
			}
		} else if sendErr != nil && isConnCheck(sendErr) {
			results[i] = sendErr
			broken = true
		}
	}
	if broken {
		// A lost connection or a temporary refusal: start clean next time.
		_ = s.closeLocked() // the connection is dropped either way
	}
	return results
}

func isConnCheck(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.Reason == gomail.ErrConnCheck
}

// Close ends the connection, as when the outbox is empty.
func (s *SMTPSender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

func (s *SMTPSender) closeLocked() error {
	if s.c == nil {
		return nil
	}
	err := s.c.Close()
	s.c = nil
	return err
}

// ErrUnreachable marks a send that reached no SMTP server: the connection
// could not be made or the server would not greet. No message was tried.
var ErrUnreachable = errors.New("SMTP server unreachable")

// Refused reports whether the server answered an email with a reply code,
// as opposed to the connection failing under it.
func Refused(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.ErrorCode() >= 400
}

// Permanent reports whether an SMTP failure is final: a 5xx reply. A 4xx
// reply, a refused or lost connection and anything unknown are worth
// retrying.
func Permanent(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		return code >= 500 && code < 600
	}
	return false
}
