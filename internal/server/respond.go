package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	"github.com/a-h/templ"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// handler is an http.HandlerFunc that returns its failure instead of writing it.
type handler func(w http.ResponseWriter, r *http.Request) error

// h adapts a handler, sending any error to the one responder.
func (s *Server) h(fn handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.respondError(w, r, err)
		}
	}
}

// httpError is a failure with a status and words chosen for the person.
type httpError struct {
	status    int
	heading   string // message id
	message   string // message id
	args      []any  // the message's template data, as key/value pairs
	nextHref  string
	nextLabel string
}

func (e *httpError) Error() string { return http.StatusText(e.status) + ": " + e.message }

// respondError maps an error to a status and a page. A 500 is logged once
// and shows no internal text.
func (s *Server) respondError(w http.ResponseWriter, r *http.Request, err error) {
	if i18n.From(r.Context()) == nil {
		// Refused before the language middleware ran.
		tag := s.catalog.Match("", r.Header.Get("Accept-Language"))
		r = r.WithContext(i18n.With(r.Context(), s.catalog.Translator(tag)))
	}
	ctx := r.Context()
	v := pages.ErrorView{NextHref: paths.CLC, NextLabel: i18n.T(ctx, "error.home")}
	status := http.StatusInternalServerError
	var (
		he       *httpError
		limit    *account.EmailLimitError
		badText  *badTextError
		tooLarge *tooLargeError
		badBody  *unsupportedBodyError
		overload *overloadedError
	)
	switch {
	case errors.As(err, &overload):
		status = http.StatusServiceUnavailable
		v.Heading = i18n.T(ctx, "error.unavailable.heading")
		v.Message = i18n.T(ctx, "error.unavailable.message", "RequestID", requestIDFrom(ctx))
		w.Header().Set("Retry-After", retryAfterOverload)
	case errors.As(err, &limit):
		status = http.StatusTooManyRequests
		v.Heading, v.Message = i18n.T(ctx, "error.email_limit.heading"), s.emailLimitText(r, limit)
	case errors.As(err, &badText):
		// Nothing was stored: the page says which field and what to take out.
		status = http.StatusUnprocessableEntity
		field := badText.name
		if id := fieldLabel(field); id != "" {
			field = i18n.T(ctx, id)
		}
		v.Heading = i18n.T(ctx, "input.error.text.heading")
		v.Message = i18n.T(ctx, textProblemMessage(badText.problem), "Field", field)
	case errors.As(err, &tooLarge):
		status = tooLarge.status()
		v.Heading = i18n.T(ctx, "input.error.too_large.heading")
		v.Message = i18n.T(ctx, tooLarge.messageID("input.error.too_large.message", "input.error.query_too_long.message"), "KB", tooLarge.limit>>10)
	case errors.As(err, &badBody):
		status = http.StatusUnsupportedMediaType
		v.Heading, v.Message = i18n.T(ctx, "error.badrequest.heading"), i18n.T(ctx, "error.badrequest.message")
	case errors.As(err, &he):
		status = he.status
		v.Heading, v.Message = i18n.T(ctx, he.heading), i18n.T(ctx, he.message, he.args...)
		if he.nextHref != "" {
			v.NextHref, v.NextLabel = he.nextHref, he.nextLabel
		}
	case errors.Is(err, account.ErrForbidden):
		status = http.StatusForbidden
		v.Heading, v.Message = i18n.T(ctx, "error.forbidden.heading"), i18n.T(ctx, "error.forbidden.message")
	case errors.Is(err, account.ErrNotFound):
		status = http.StatusNotFound
		v.Heading, v.Message = i18n.T(ctx, "error.notfound.heading"), i18n.T(ctx, "error.notfound.message")
	case databaseUnavailable(err):
		status = http.StatusServiceUnavailable
		s.log.ErrorContext(ctx, "database unavailable", "err", err)
		v.Heading = i18n.T(ctx, "error.unavailable.heading")
		v.Message = i18n.T(ctx, "error.unavailable.message", "RequestID", requestIDFrom(ctx))
		w.Header().Set("Retry-After", "30")
	case errors.Is(err, context.Canceled):
		// The client went away; there is nobody to answer.
		return
	default:
		s.log.ErrorContext(ctx, "internal error", "err", err, "method", r.Method, "path", logPath(r))
		v.Heading = i18n.T(ctx, "error.internal.heading")
		v.Message = i18n.T(ctx, "error.internal.message", "RequestID", requestIDFrom(ctx))
	}
	if status == http.StatusForbidden {
		// A refused authorization is a security event (ASVS 16.3.2); the
		// 404 for someone else's record is in the access log with the rest.
		s.log.WarnContext(ctx, "access refused", "method", r.Method, "path", logPath(r))
	}
	v.Page = layout.Page{Title: v.Heading, Shell: s.shell(r, "")}
	s.render(w, r, status, pages.Error(v))
}

// databaseUnavailable reports whether err comes from a database that cannot
// be reached, as opposed to a query that failed.
func databaseUnavailable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	// A server that is shutting down, starting up or restarting answers
	// before it goes: class 57 "operator intervention" (57P01 terminating
	// connection, 57P03 cannot connect now) and class 08, connection
	// exceptions. A statement that never reached the server (a closed
	// connection) is safe to retry. The driver's errors are recognised by
	// their methods, so the server need not import it.
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		code := pg.SQLState()
		return strings.HasPrefix(code, "57P") || strings.HasPrefix(code, "08")
	}
	var unsent interface{ SafeToRetry() bool }
	return errors.As(err, &unsent) && unsent.SafeToRetry()
}

// render writes c with status, rendering into a buffer first so a template
// failure never follows a written status. The whole page then goes out with
// its Content-Length in one write, rather than as chunks of net/http's 4 KiB
// buffer. The buffers are reused: grown afresh for each page, a 25 KiB
// directory page copied itself five times on the way.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	buf, _ := s.pageBuffers.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		// A rare huge page (a long history, an export) is not kept for
		// every later page to hold.
		if buf.Cap() <= maxPooledPage {
			buf.Reset()
			s.pageBuffers.Put(buf)
		}
	}()
	if err := c.Render(r.Context(), buf); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// maxPooledPage is the largest page buffer render keeps for reuse.
const maxPooledPage = 256 << 10

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) error {
	return account.ErrNotFound
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) error {
	return &httpError{status: http.StatusMethodNotAllowed, heading: "error.method.heading", message: "error.method.message"}
}

// redirect answers a POST with 303 so a reload never resends it.
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// emailLimited is the message for an email limit that refused an action,
// as the field error of field; the refusal is logged as a security event,
// since whoever reaches a limit is either very busy or using the portal to
// send mail.
func (s *Server) emailLimited(r *http.Request, limit *account.EmailLimitError, field string) account.FieldErrors {
	ctx := r.Context()
	s.log.WarnContext(ctx, "email limit reached", "to", limit.To, "path", logPath(r))
	at := i18n.DateTime(ctx, limit.RetryAt)
	if limit.To == "" {
		return account.FieldErrors{field: {Msg: "error.email_limit.user", Args: []any{"At", at}}}
	}
	return account.FieldErrors{field: {Msg: "error.email_limit.address", Args: []any{"Email", limit.To, "Max", account.MaxApprovalEmailsPerDay, "At", at}}}
}

// emailLimitText is emailLimited's message as text, for a page, a flash or
// a problem document that has no field to put it on.
func (s *Server) emailLimitText(r *http.Request, limit *account.EmailLimitError) string {
	e := s.emailLimited(r, limit, "form")["form"]
	return i18n.T(r.Context(), e.Msg, e.Args...)
}
