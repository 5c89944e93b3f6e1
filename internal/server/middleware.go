package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/logctx"
	"github.com/clc-portal/clc/internal/paths"
)

// requestID gives every request an id, returned in X-Request-Id and logged,
// so a person quoting it on an error page can be found in the log.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id := hex.EncodeToString(b)
		w.Header().Set("X-Request-Id", id)
		// Where the request came from goes with every event its changes record.
		ctx := account.WithClient(logctx.WithRequest(r.Context(), id), s.clientAddr(r))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func requestIDFrom(ctx context.Context) string { return logctx.RequestID(ctx) }

func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		s.log.LogAttrs(r.Context(), accessLevel(ww.Status()), "request",
			slog.String("method", r.Method),
			slog.String("path", logPath(r)),
			slog.Int("status", ww.Status()),
			slog.Int("bytes", ww.BytesWritten()),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		)
	})
}

// logPath is the request's path as logs may keep it: a path that carries a
// token (an emailed link's credential) is logged as its route pattern.
func logPath(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); strings.Contains(p, "{token}") {
			return p
		}
	}
	if strings.HasPrefix(r.URL.Path, paths.Pending("")) || strings.HasPrefix(r.URL.Path, paths.SetPassword("")) {
		// Unrouted (a 405, say): no pattern to show, so no path either.
		return "/[token link]"
	}
	return r.URL.Path
}

// noIndex keeps pages that an emailed token opens out of search engines; the
// responder already forbids caching every page.
func noIndex(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Robots-Tag", "noindex, nofollow")
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into the 500 page; http.ErrAbortHandler keeps its
// meaning.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "value", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.respondError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy allows no inline script and no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// strictTransportSecurity keeps browsers on https for a year, subdomains
// included (ASVS 3.4.1); sent only when the portal is served over https,
// since a plain-http origin cannot set it.
const strictTransportSecurity = "max-age=31536000; includeSubDomains"

func securityHeaders(https bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			if https {
				h.Set("Strict-Transport-Security", strictTransportSecurity)
			}
			h.Set("Content-Security-Policy", contentSecurityPolicy)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "same-origin")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			next.ServeHTTP(w, r)
		})
	}
}

// crossOriginProtection refuses unsafe requests from other origins, using
// the browser's Sec-Fetch-Site and Origin headers.
func (s *Server) crossOriginProtection(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	// The API takes no cookies, only a bearer token, which a forged
	// cross-site request cannot carry (see api.go).
	cop.AddInsecureBypassPattern(paths.API)
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.respondError(w, r, &httpError{status: http.StatusForbidden, heading: "error.forbidden.heading",
			message: "error.crossorigin.message"})
	}))
	return cop.Handler(next)
}

// staticFiles serves the embedded assets, files only: a folder answers the
// portal's 404 instead of a listing (ASVS 13.4.3).
func (s *Server) staticFiles(static fs.FS) http.HandlerFunc {
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	return func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if info, err := fs.Stat(static, path.Clean(name)); err != nil || info.IsDir() || strings.HasSuffix(name, "/") {
			s.respondError(w, r, account.ErrNotFound)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}
}
