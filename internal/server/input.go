package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/clc-portal/clc/internal/account"
)

// Input is bounded and checked once, at the edge, before any handler reads
// it: a body past its limit is never read whole, and text PostgreSQL cannot
// store (a NUL, SQLSTATE 22021) or a person cannot read never reaches a
// rule, a query or an email.

// maxFormBody bounds a form post. The longest form (a request for a
// customer: three notes of 2,000 characters, 60 addresses) fits several
// times over, even with every character percent-encoded as four bytes.
const maxFormBody = 64 << 10

// maxAPIBody bounds an API request body, for the same reason.
const maxAPIBody = 64 << 10

// maxQuery bounds a request's query string, pages' and the API's alike:
// the longest the portal reads (the identity provider's return, its code
// and state at most 2,048 characters each) fits twice over. Refused at the
// edge, a longer one never reaches a page that would show it back.
const maxQuery = 8 << 10

// tooLargeError is a body, or with query a query string, past its limit.
type tooLargeError struct {
	limit int64
	query bool
}

func (e *tooLargeError) Error() string {
	what := "request body"
	if e.query {
		what = "query string"
	}
	return what + " over " + strconv.FormatInt(e.limit, 10) + " bytes"
}

// status is 414 for a query string, 413 for a body.
func (e *tooLargeError) status() int {
	if e.query {
		return http.StatusRequestURITooLong
	}
	return http.StatusRequestEntityTooLarge
}

// messageID is body's message for a body, query's for a query string.
func (e *tooLargeError) messageID(body, query string) string {
	if e.query {
		return query
	}
	return body
}

// checkQuery refuses a query string past maxQuery, or with unusable text.
func checkQuery(r *http.Request) error {
	if len(r.URL.RawQuery) > maxQuery {
		return &tooLargeError{limit: maxQuery, query: true}
	}
	return checkValues(r.URL.Query(), "query")
}

// badTextError names an input whose text cannot be taken. In says where the
// client put it (body, query); Pointer is a JSON body member's JSON Pointer.
type badTextError struct {
	name, in, pointer string
	problem           account.TextProblem
}

func (e *badTextError) Error() string { return "unusable text in " + e.in + " " + e.name }

// unsupportedBodyError is a body in a media type no route reads.
type unsupportedBodyError struct{ mediaType string }

func (e *unsupportedBodyError) Error() string { return "unsupported body type " + e.mediaType }

// formInput parses every page request's form once, bounded, and refuses it
// whole if any name or value is unusable text. r.PostFormValue swallows a
// parse error (a body past its limit would read as an empty form), so the
// limit is enforced here, where the form is parsed, not in each handler.
func (s *Server) formInput(next http.Handler) http.Handler {
	return s.h(func(w http.ResponseWriter, r *http.Request) error {
		if r.Body != nil && r.Body != http.NoBody {
			if mt := mediaType(r); strings.HasPrefix(mt, "multipart/") {
				// One form uploads a file; its handler reads the body itself,
				// through a limit of its own (readUpload). Nothing else
				// reads a multipart body.
				if rc := chi.RouteContext(r.Context()); mt != "multipart/form-data" || rc == nil || rc.RoutePattern() != usersImportRoute {
					return &unsupportedBodyError{mediaType: mt}
				}
				if err := checkQuery(r); err != nil {
					return err
				}
				next.ServeHTTP(w, r)
				return nil
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		}
		if err := r.ParseForm(); err != nil {
			if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
				return &tooLargeError{limit: mbe.Limit}
			}
			return &httpError{status: http.StatusBadRequest, heading: "error.badrequest.heading", message: "error.badrequest.message"}
		}
		if err := checkValues(r.PostForm, "body"); err != nil {
			return err
		}
		if err := checkQuery(r); err != nil {
			return err
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

// apiInput reads an API request's body once, bounded, and refuses it if a
// query parameter, or any string or member name anywhere in a JSON body,
// is unusable text. The handler then reads the same bytes again.
func (s *Server) apiInput(next http.Handler) http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		if err := checkQuery(r); err != nil {
			return err
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return nil
		}
		if mt := mediaType(r); strings.HasPrefix(mt, "multipart/") || mt == "application/x-www-form-urlencoded" {
			return &unsupportedBodyError{mediaType: mt}
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return &tooLargeError{limit: mbe.Limit}
		}
		if err != nil {
			return err
		}
		if err := checkJSON(body); err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
		return nil
	})
}

func mediaType(r *http.Request) string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt
}

// checkValues refuses the first unusable name or value, in name order so the
// answer does not depend on map order.
func checkValues(vs url.Values, in string) error {
	names := make([]string, 0, len(vs))
	for k := range vs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if p := account.CheckText(k); p != account.TextOK {
			return &badTextError{name: strings.ToValidUTF8(k, "\ufffd"), in: in, problem: p}
		}
		for _, v := range vs[k] {
			if p := account.CheckText(v); p != account.TextOK {
				return &badTextError{name: k, in: in, problem: p}
			}
		}
	}
	return nil
}

// checkJSON walks a JSON body's tokens and refuses the first string or
// member name that is unusable text, naming it by its JSON Pointer. A body
// that is no JSON at all is left to the handler's decoder to refuse.
// Decoding replaces invalid UTF-8 with U+FFFD, so invalid bytes are found in
// the raw body and matched to the token that spans them.
func checkJSON(body []byte) error {
	badByte := -1
	if !utf8.Valid(body) {
		badByte = invalidUTF8At(body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	w := jsonWalk{dec: dec, badByte: badByte}
	// Any other error (invalid UTF-8 outside a string is one) means the body
	// is not JSON: the handler's decoder says so.
	var bad *badTextError
	if err := w.value(""); errors.As(err, &bad) {
		return bad
	}
	return nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

type jsonWalk struct {
	dec     *json.Decoder
	badByte int
}

// value reads one JSON value at pointer p.
func (w *jsonWalk) value(p string) error {
	start := w.dec.InputOffset()
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case string:
		return w.check(p, t, start)
	case json.Delim:
		switch t {
		case '{':
			for w.dec.More() {
				start := w.dec.InputOffset()
				key, err := w.dec.Token()
				if err != nil {
					return err
				}
				k, _ := key.(string)
				member := p + "/" + escapePointer(k)
				if err := w.check(member, k, start); err != nil {
					return err
				}
				if err := w.value(member); err != nil {
					return err
				}
			}
		case '[':
			for i := 0; w.dec.More(); i++ {
				if err := w.value(p + "/" + strconv.Itoa(i)); err != nil {
					return err
				}
			}
		}
		_, err := w.dec.Token() // the closing delimiter
		return err
	}
	return nil
}

// check refuses s, read from the body between start and the decoder's
// offset now, if it is unusable text or spans the body's invalid byte.
func (w *jsonWalk) check(pointer, s string, start int64) error {
	p := account.CheckText(s)
	if w.badByte >= 0 && int64(w.badByte) >= start && int64(w.badByte) < w.dec.InputOffset() {
		p = account.TextInvalidUTF8
	}
	if p == account.TextOK {
		return nil
	}
	name := strings.TrimPrefix(pointer, "/")
	return &badTextError{name: strings.ToValidUTF8(name, "\ufffd"), in: "body", pointer: strings.ToValidUTF8(pointer, "\ufffd"), problem: p}
}

// escapePointer escapes a member name for a JSON Pointer (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// fieldLabel is the message id of a form field's label, where a page
// shows one; other fields are named as the form sends them.
func fieldLabel(name string) string {
	switch name {
	case "name", "domain", "note_to_approver", "customer_emails", "note_to_customer", "user_emails", "note_to_users", "customer_language":
		return "request." + name
	case "email":
		return "login.email"
	case "password":
		return "login.password"
	case "q":
		return "search.field"
	case "reason":
		return "access.reason"
	case "role":
		return "access.role"
	case "scope":
		return "access.scope"
	}
	return ""
}

// textProblemMessage is the message saying what to remove from a field.
func textProblemMessage(p account.TextProblem) string {
	if p == account.TextInvalidUTF8 {
		return "input.error.invalid_utf8"
	}
	return "input.error.control"
}
