// Package logctx carries who and what a log line is about in the context,
// and a slog.Handler that writes them on every record logged with that
// context: request_id and user_id are never written by hand, so no line
// forgets them and none writes them twice.
package logctx

import (
	"context"
	"log/slog"
	"sync/atomic"
)

type key struct{}

// fields are a request's: its id is known when it arrives, its user only
// once the session is read, deeper in; a pointer lets the access log, which
// wraps everything, see the user found inside.
type fields struct {
	requestID string
	userID    atomic.Int64
}

// WithRequest starts a request's fields in ctx.
func WithRequest(ctx context.Context, requestID string) context.Context {
	return context.WithValue(ctx, key{}, &fields{requestID: requestID})
}

// SetUser records who the request is from, for every line logged with ctx
// or any context of the same request, before or after this call.
func SetUser(ctx context.Context, userID int64) {
	if f, ok := ctx.Value(key{}).(*fields); ok {
		f.userID.Store(userID)
	}
}

// RequestID is the id of ctx's request, or "".
func RequestID(ctx context.Context) string {
	if f, ok := ctx.Value(key{}).(*fields); ok {
		return f.requestID
	}
	return ""
}

// Handler adds request_id and user_id from the context to each record.
type Handler struct{ next slog.Handler }

// NewHandler wraps next; a Handler already is one, and is returned as is.
func NewHandler(next slog.Handler) slog.Handler {
	if h, ok := next.(Handler); ok {
		return h
	}
	return Handler{next: next}
}

func (h Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	if f, ok := ctx.Value(key{}).(*fields); ok {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", f.requestID))
		if id := f.userID.Load(); id != 0 {
			r.AddAttrs(slog.Int64("user_id", id))
		}
	}
	return h.next.Handle(ctx, r)
}

func (h Handler) WithAttrs(as []slog.Attr) slog.Handler { return Handler{next: h.next.WithAttrs(as)} }
func (h Handler) WithGroup(name string) slog.Handler    { return Handler{next: h.next.WithGroup(name)} }
