package server

import (
	"context"
	"net/http"
)

// ReadYourWrites lets a browser see its own writes when some reads go to a
// replica that may lag the primary (postgres.Replica implements it).
type ReadYourWrites interface {
	// Mark names everything committed so far.
	Mark(ctx context.Context) (string, error)
	// Since returns ctx whose reads see at least what mark names.
	Since(ctx context.Context, mark string) context.Context
}

// sessionWrote is the mark of a signed-in user's last write.
const sessionWrote = "wrote"

// readYourWrites makes the reads of a signed-in user's requests see their
// own last write: each POST of theirs leaves a mark in the session, and
// later requests read where that mark is visible. The directory right after
// submitting a request shows it, however far behind the replica is.
func (s *Server) readYourWrites(next http.Handler) http.Handler {
	if s.writes == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mark := s.sessions.GetString(r.Context(), sessionWrote); mark != "" {
			r = r.WithContext(s.writes.Since(r.Context(), mark))
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		mw := &markingWriter{ResponseWriter: w, mark: func() { s.markWrites(r) }}
		next.ServeHTTP(mw, r)
		mw.once()
	})
}

// markWrites records in the session where the primary is, after the
// handler's transaction committed and before the response (and with it the
// session) is written.
func (s *Server) markWrites(r *http.Request) {
	ctx := r.Context()
	if s.sessions.GetInt64(ctx, sessionUserID) == 0 {
		return // nobody signed in, or just signed out: no directory to read
	}
	mark, err := s.writes.Mark(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "mark writes", "err", err)
		return
	}
	s.sessions.Put(ctx, sessionWrote, mark)
}

// markingWriter calls mark once, before the first byte of the response: the
// session is saved then.
type markingWriter struct {
	http.ResponseWriter
	mark   func()
	marked bool
}

func (m *markingWriter) once() {
	if !m.marked {
		m.marked = true
		m.mark()
	}
}

func (m *markingWriter) WriteHeader(code int) {
	m.once()
	m.ResponseWriter.WriteHeader(code)
}

func (m *markingWriter) Write(b []byte) (int, error) {
	m.once()
	return m.ResponseWriter.Write(b)
}

func (m *markingWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }
