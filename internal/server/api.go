package server

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/logctx"
)

// The JSON API under /api/v1, for partners who script their requests. It
// calls the same account.Service methods as the pages, so a request made
// here meets the same rules, transaction and emails as the form.
//
// It authenticates by a bearer token only. It sits outside the session
// group, so a session cookie never reaches it, and that is the one reason it
// may be exempt from cross-origin protection: a browser attaches cookies to a
// forged cross-site request, never an Authorization header.

// openAPIDocument describes every route and answer below; a test holds the
// router and the answers to it.
//
//go:embed openapi.json
var openAPIDocument []byte

type apiUserKey struct{}

func apiUser(ctx context.Context) account.User {
	u, _ := ctx.Value(apiUserKey{}).(account.User)
	return u
}

// apiHandler is a handler of the API: its error becomes a problem document.
type apiHandler func(w http.ResponseWriter, r *http.Request) error

func (s *Server) api(fn apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.problem(w, r, err)
		}
	}
}

// apiLanguage gives problem details the client's language, from
// Accept-Language alone: the API has no session to remember a choice in.
func (s *Server) apiLanguage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tag := s.catalog.Match("", r.Header.Get("Accept-Language"))
		w.Header().Set("Content-Language", tag.String())
		w.Header().Add("Vary", "Accept-Language")
		next.ServeHTTP(w, r.WithContext(i18n.With(r.Context(), s.catalog.Translator(tag))))
	})
}

// apiAuth finds the token's user and counts the call against its limit.
func (s *Server) apiAuth(next http.Handler) http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return account.ErrUnauthorized
		}
		u, err := s.tokens.AuthenticateAPI(r.Context(), strings.TrimSpace(token))
		if err != nil {
			return err
		}
		logctx.SetUser(r.Context(), u.ID)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), apiUserKey{}, u)))
		return nil
	})
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPIDocument)
}

// writeJSON encodes first, so a failure never follows a written status.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	return nil
}

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Errors names each invalid input, as RFC 9457's example extension does.
	Errors    []ProblemField `json:"errors,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
}

// ProblemField is what is wrong with one input: a body member (Pointer is
// its JSON Pointer), a query parameter or a header.
type ProblemField struct {
	Name    string `json:"name"`
	In      string `json:"in"` // body, query or header
	Pointer string `json:"pointer,omitempty"`
	Detail  string `json:"detail"`
}

// Problem types beyond about:blank, relative to the API's address.
const (
	problemInvalidInput = "/api/v1/problems/invalid-input"
	problemRateLimited  = "/api/v1/problems/rate-limited"
	problemKeyReused    = "/api/v1/problems/idempotency-key-reused"
	problemNotPending   = "/api/v1/problems/request-not-pending"
)

// errBadJSON: a body that is no JSON object of the documented members.
type badJSONError struct{ err error }

func (e *badJSONError) Error() string { return "malformed JSON body: " + e.err.Error() }

// problem maps an error to a status and a problem document; it is to the
// API what respondError is to the pages. A 500 is logged once and says
// nothing internal.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	if i18n.From(ctx) == nil {
		tag := s.catalog.Match("", r.Header.Get("Accept-Language"))
		ctx = i18n.With(ctx, s.catalog.Translator(tag))
	}
	p := Problem{Type: "about:blank", Instance: r.URL.Path, RequestID: requestIDFrom(ctx)}
	var (
		fe       account.FieldErrors
		limited  *account.RateLimitedError
		emails   *account.EmailLimitError
		reused   *account.IdempotencyMismatchError
		closed   *account.RequestClosedError
		badJSON  *badJSONError
		badText  *badTextError
		tooLarge *tooLargeError
		badBody  *unsupportedBodyError
		overload *overloadedError
	)
	switch {
	case errors.As(err, &overload):
		p.Status, p.Detail = http.StatusServiceUnavailable, i18n.T(ctx, "api.error.unavailable")
		w.Header().Set("Retry-After", retryAfterOverload)
	case errors.As(err, &badText):
		p.Status, p.Type, p.Detail = http.StatusUnprocessableEntity, problemInvalidInput, i18n.T(ctx, "api.error.invalid")
		p.Errors = []ProblemField{{Name: badText.name, In: badText.in, Pointer: badText.pointer,
			Detail: i18n.T(ctx, apiTextProblemMessage(badText.problem))}}
	case errors.As(err, &tooLarge):
		p.Status, p.Detail = tooLarge.status(), i18n.T(ctx, tooLarge.messageID("api.error.too_large", "api.error.query_too_long"), "KB", tooLarge.limit>>10)
	case errors.As(err, &badBody):
		p.Status, p.Detail = http.StatusUnsupportedMediaType, i18n.T(ctx, "api.error.media_type")
	case errors.Is(err, account.ErrUnauthorized):
		p.Status, p.Detail = http.StatusUnauthorized, i18n.T(ctx, "api.error.unauthorized")
		w.Header().Set("WWW-Authenticate", `Bearer realm="clc"`)
	case errors.As(err, &limited):
		p.Status, p.Type = http.StatusTooManyRequests, problemRateLimited
		secs := int(limited.RetryAfter.Round(time.Second) / time.Second)
		p.Detail = i18n.T(ctx, "api.error.rate_limited", "Seconds", secs)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	case errors.As(err, &emails):
		p.Status, p.Type = http.StatusTooManyRequests, problemRateLimited
		p.Detail = s.emailLimitText(r.WithContext(ctx), emails)
		w.Header().Set("Retry-After", strconv.Itoa(max(int(time.Until(emails.RetryAt)/time.Second), 1)))
	case errors.As(err, &badJSON):
		p.Status, p.Detail = http.StatusBadRequest, i18n.T(ctx, "api.error.bad_json")
	case errors.As(err, &fe):
		p.Status, p.Type, p.Detail = http.StatusUnprocessableEntity, problemInvalidInput, i18n.T(ctx, "api.error.invalid")
		p.Errors = problemFields(ctx, fe)
	case errors.As(err, &reused):
		// The IETF Idempotency-Key draft: a key reused with another body is
		// 422, not a retry.
		p.Status, p.Type = http.StatusUnprocessableEntity, problemKeyReused
		p.Detail = i18n.T(ctx, "api.error.key_reused", "ID", reused.Request.Account.ID.String())
	case errors.As(err, &closed):
		p.Status, p.Type = http.StatusConflict, problemNotPending
		st := closed.Request.StatusAt(s.accounts.Clock().Now())
		p.Detail = i18n.T(ctx, "requests.not_pending", "Status", i18n.T(ctx, "request.status."+string(st)))
	// What a token may not see does not exist for it, as on the pages.
	case errors.Is(err, account.ErrNotFound):
		p.Status, p.Detail = http.StatusNotFound, i18n.T(ctx, "api.error.not_found")
	case errors.Is(err, account.ErrForbidden):
		p.Status, p.Detail = http.StatusForbidden, i18n.T(ctx, "api.error.forbidden")
	case errors.Is(err, account.ErrConflict):
		p.Status, p.Detail = http.StatusConflict, i18n.T(ctx, "api.error.conflict")
	case databaseUnavailable(err):
		s.log.ErrorContext(ctx, "database unavailable", "err", err)
		p.Status, p.Detail = http.StatusServiceUnavailable, i18n.T(ctx, "api.error.unavailable")
		w.Header().Set("Retry-After", "30")
	case errors.Is(err, context.Canceled):
		return
	default:
		s.log.ErrorContext(ctx, "internal error", "err", err, "method", r.Method, "path", r.URL.Path)
		p.Status, p.Detail = http.StatusInternalServerError, i18n.T(ctx, "api.error.internal", "RequestID", p.RequestID)
	}
	p.Title = http.StatusText(p.Status)
	body, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

// problemFields names each invalid input where the client sent it.
func problemFields(ctx context.Context, fe account.FieldErrors) []ProblemField {
	var out []ProblemField
	for name, e := range fe {
		f := ProblemField{Name: name, In: "body", Pointer: "/" + name, Detail: i18n.T(ctx, e.Msg, e.Args...)}
		switch name {
		case "q", "limit", "before", "page":
			f.In, f.Pointer = "query", ""
		case "Idempotency-Key":
			f.In, f.Pointer = "header", ""
		case "form":
			// The whole request; no one member is to blame.
			f.Pointer = ""
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// apiTextProblemMessage says what to take out of one input.
func apiTextProblemMessage(p account.TextProblem) string {
	if p == account.TextInvalidUTF8 {
		return "api.error.invalid_utf8"
	}
	return "api.error.control"
}

func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) error {
	return account.ErrNotFound
}

func (s *Server) apiMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := Problem{Type: "about:blank", Title: http.StatusText(http.StatusMethodNotAllowed), Status: http.StatusMethodNotAllowed,
		Detail: i18n.T(ctx, "error.method.message"), Instance: r.URL.Path, RequestID: requestIDFrom(ctx)}
	body, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusMethodNotAllowed)
	_, _ = w.Write(append(body, '\n'))
}
