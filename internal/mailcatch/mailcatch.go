// Package mailcatch is a small SMTP server that keeps every message it
// receives in memory instead of delivering it. Developers read the caught
// mail in a browser (see Handler and Run); tests use it as the real SMTP
// server the portal talks to, including refused deliveries (see FailNext).
package mailcatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const (
	// maxMessages bounds memory for a catcher left running for days.
	maxMessages     = 1000
	maxMessageBytes = 10 << 20
	maxRecipients   = 100
	// ioTimeout is generous enough for a 10 MiB message on a slow link, yet
	// frees connections a crashed client left open.
	ioTimeout = time.Minute
)

// Message is one caught email.
type Message struct {
	ID       int // 1-based, in arrival order
	From     string
	To       []string
	Raw      []byte // the full RFC 5322 data as received
	Received time.Time

	Subject string // decoded (RFC 2047) subject
	Header  mail.Header
	Text    string // decoded text/plain part ("" if none)
	HTML    string // decoded text/html part ("" if none)
}

// fault is an injected SMTP reply for the next remaining transactions;
// remaining < 0 never runs out.
type fault struct {
	remaining int
	code      int
	msg       string
}

// Server catches mail over SMTP. The zero value is not usable; call New.
type Server struct {
	logger *slog.Logger
	smtp   *smtp.Server

	mu      sync.Mutex
	msgs    []Message // oldest first
	lastID  int
	arrived chan struct{} // closed and replaced whenever a message arrives
	faults  []fault       // consumed front to back
	refused int
	closed  bool
	// listeners are closed by Close too, because go-smtp only knows a
	// listener once its Serve goroutine has started.
	listeners []net.Listener
	serving   sync.WaitGroup
}

// New returns a Server that logs to logger (nil discards logs). Call
// ListenSMTP to start receiving mail.
func New(logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{logger: logger, arrived: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{srv: s}, nil
	}))
	srv.Domain = "mailcatch.localhost"
	srv.MaxMessageBytes = maxMessageBytes
	srv.MaxRecipients = maxRecipients
	srv.ReadTimeout = ioTimeout
	srv.WriteTimeout = ioTimeout
	// Clients configured with credentials must be able to log in without
	// TLS; the credentials are never checked.
	srv.AllowInsecureAuth = true
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = smtpLogger{logger}
	s.smtp = srv
	return s
}

// ListenSMTP starts the SMTP server on addr ("127.0.0.1:0" picks a free
// port) in the background and returns the bound address. It may be called
// more than once to listen on several addresses.
func (s *Server) ListenSMTP(addr string) (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("mailcatch: server closed")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mailcatch: listen SMTP: %w", err)
	}
	s.listeners = append(s.listeners, l)
	s.serving.Go(func() {
		if err := s.smtp.Serve(batchingListener{l}); err != nil {
			s.logger.Error("mail catcher: SMTP server stopped", "addr", l.Addr().String(), "err", err)
		}
	})
	return l.Addr(), nil
}

// batchingListener hands go-smtp connections that hold its replies back
// until it next waits for the client (see batchingConn).
type batchingListener struct{ net.Listener }

func (l batchingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &batchingConn{Conn: c}, nil
}

// batchingConn keeps what go-smtp writes, a reply line at a time, until it
// reads: a pipelining client's MAIL, RCPT and DATA are then answered in one
// write, as a pipelining server should, instead of one write (and one
// wake-up of the client) per line. A server only waits for the client after
// it has answered, so nothing is held back that the client waits for.
type batchingConn struct {
	net.Conn
	mu  sync.Mutex
	out []byte
}

func (c *batchingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out = append(c.out, p...)
	return len(p), nil
}

func (c *batchingConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.out) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.out)
	c.out = c.out[:0]
	return err
}

// Read sends the held replies first; a failed write fails the read, as
// go-smtp does not look at what its writes return.
func (c *batchingConn) Read(p []byte) (int, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *batchingConn) Close() error {
	_ = c.flush() // a parting reply, such as to QUIT; closing is what matters
	return c.Conn.Close()
}

// Close stops the SMTP server and drops open connections. Caught messages
// stay readable. Close is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	listeners := s.listeners
	s.mu.Unlock()
	// go-smtp must see itself closed before its listeners fail, or Serve
	// reports the failure as an error.
	err := s.smtp.Close()
	for _, l := range listeners {
		l.Close()
	}
	s.serving.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Messages returns a copy of the caught messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneAll(s.msgs)
}

// Message returns a copy of the message with the given ID.
func (s *Server) Message(id int) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookup(id)
	if !ok {
		return Message{}, false
	}
	return m.clone(), true
}

// WaitFor blocks until at least n messages are held (counting since the
// last Reset or Clear) and returns them, oldest first. When ctx ends first
// it returns the messages held so far together with the context's error.
func (s *Server) WaitFor(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		if len(s.msgs) >= n {
			msgs := cloneAll(s.msgs)
			s.mu.Unlock()
			return msgs, nil
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			msgs := s.Messages()
			return msgs, fmt.Errorf("mailcatch: waiting for %d messages, got %d: %w", n, len(msgs), ctx.Err())
		}
	}
}

// WaitForTo waits until a message to addr has arrived and returns the
// latest such message. It looks at what has arrived before it waits, so a
// message that came before the call is found, not waited for.
func (s *Server) WaitForTo(ctx context.Context, addr string) (Message, error) {
	for seen := 0; ; {
		msgs, err := s.WaitFor(ctx, seen)
		for i := len(msgs) - 1; i >= 0; i-- {
			if slices.Contains(msgs[i].To, addr) {
				return msgs[i], nil
			}
		}
		if err != nil {
			return Message{}, fmt.Errorf("no message to %s among %d: %w", addr, len(msgs), err)
		}
		seen = len(msgs) + 1
	}
}

// Clear drops all messages but keeps counting IDs, so a page still open in
// a browser never shows a different message under an old ID.
func (s *Server) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
}

// Reset drops all messages and faults and numbers the next message 1 again,
// giving each test a clean slate.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
	s.lastID = 0
	s.faults = nil
	s.refused = 0
}

// FailNext makes the next count SMTP transactions fail with the reply
// code and msg, for example 451 (temporary) or 550 (permanent); count < 0
// fails every transaction until ClearFaults or Reset, count == 0 does
// nothing. The reply is given at the DATA stage, after the client has sent
// the whole message: MAIL and RCPT succeed, as they do for a real server
// that refuses a message on content or load. A refused message is not
// kept. Calls queue up: FailNext(1, 451, …) then FailNext(1, 550, …) refuses
// one transaction with 451, then the next with 550.
//
// FailNext panics unless code is a 4xx or 5xx reply, since anything else
// would not be a failure to the client.
func (s *Server) FailNext(count int, code int, msg string) {
	if code < 400 || code > 599 {
		panic(fmt.Sprintf("mailcatch: FailNext code %d is not a 4xx or 5xx SMTP reply", code))
	}
	if count == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{remaining: count, code: code, msg: msg})
}

// ClearFaults cancels every pending FailNext.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Refused reports how many transactions FailNext has refused since the
// last Reset, so tests can count delivery attempts.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// takeFault consumes one transaction's worth of the first pending fault.
func (s *Server) takeFault() (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return fault{}, false
	}
	f := &s.faults[0]
	if f.remaining > 0 {
		f.remaining--
	}
	taken := *f
	if f.remaining == 0 {
		s.faults = s.faults[1:]
	}
	s.refused++
	return taken, true
}

func (s *Server) store(m Message) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastID++
	m.ID = s.lastID
	if len(s.msgs) >= maxMessages {
		// Drop the oldest by reslicing, cleared first so that it can be
		// freed: copying the other 999 at every message took a seventh of
		// the catcher's time at a thousand messages a second. Append copies
		// the kept ones into a new array only when the old one runs out.
		s.msgs[0] = Message{}
		s.msgs = s.msgs[1:]
	}
	s.msgs = append(s.msgs, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
	return m
}

// lookup finds a message by ID; s.mu must be held.
func (s *Server) lookup(id int) (Message, bool) {
	for _, m := range s.msgs {
		if m.ID == id {
			return m, true
		}
	}
	return Message{}, false
}

// newestFirst returns the messages newest first without copying their
// contents, which are never modified after store; s.mu must not be held.
func (s *Server) newestFirst() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	for i, m := range s.msgs {
		out[len(out)-1-i] = m
	}
	return out
}

func (m Message) clone() Message {
	m.To = append([]string(nil), m.To...)
	m.Raw = append([]byte(nil), m.Raw...)
	if m.Header != nil {
		h := make(mail.Header, len(m.Header))
		for k, v := range m.Header {
			h[k] = append([]string(nil), v...)
		}
		m.Header = h
	}
	return m
}

func cloneAll(msgs []Message) []Message {
	out := make([]Message, len(msgs))
	for i, m := range msgs {
		out[i] = m.clone()
	}
	return out
}

// session is one SMTP connection's state.
type session struct {
	srv  *Server
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

// Auth accepts any credentials: the catcher must work with whatever the
// portal is configured to send.
func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(string, string, string) error { return nil }), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	ss.to = nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err // smtp.ErrDataTooLarge is already a proper reply
	}
	m := parse(raw)
	m.From = ss.from
	m.To = ss.to
	m.Received = time.Now()
	log := ss.srv.logger
	if f, ok := ss.srv.takeFault(); ok {
		log.Info("mail catcher: refused message (injected fault)",
			"code", f.code, "from", m.From, "to", strings.Join(m.To, ", "), "subject", m.Subject)
		return &smtp.SMTPError{Code: f.code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: f.msg}
	}
	m = ss.srv.store(m)
	log.Info("mail catcher: caught message",
		"id", m.ID, "from", m.From, "to", strings.Join(m.To, ", "), "subject", m.Subject)
	return nil
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *session) Logout() error { return nil }

// smtpLogger routes go-smtp's own diagnostics to slog.
type smtpLogger struct{ l *slog.Logger }

func (l smtpLogger) Printf(format string, v ...any) {
	l.l.Warn("mail catcher: " + strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (l smtpLogger) Println(v ...any) {
	l.l.Warn("mail catcher: " + strings.TrimSpace(fmt.Sprintln(v...)))
}

// Run catches mail on smtpAddr and serves it for reading on httpAddr until
// ctx is done, then shuts both down.
func Run(ctx context.Context, smtpAddr, httpAddr string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := New(logger)
	defer s.Close()
	smtpBound, err := s.ListenSMTP(smtpAddr)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", httpAddr)
	if err != nil {
		return fmt.Errorf("mailcatch: listen HTTP: %w", err)
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(l) }()
	logger.Info(fmt.Sprintf("mail catcher: SMTP on %s, read mail at http://%s", smtpBound, browsable(l.Addr())))

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("mailcatch: HTTP server: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		hs.Close()
	}
	if err := s.Close(); err != nil {
		return fmt.Errorf("mailcatch: close SMTP: %w", err)
	}
	return nil
}

// browsable turns a wildcard listen address into one a browser can open.
func browsable(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("localhost", fmt.Sprint(tcp.Port))
}
