package server

import (
	"log/slog"
	"net/http"
	"net/http/pprof"

	"github.com/go-chi/chi/v5"
)

// Ops is the route table of the operators' listener (CLC_OPS_ADDR): the
// process's internals: its Prometheus metrics, and net/http/pprof. It
// has no sign-in and no session: who reaches it is decided by where it
// listens, loopback unless the operator says otherwise, never by the
// portal's own listener, which a reverse proxy on the same host makes look
// local to every visitor.
func Ops(log *slog.Logger, metrics http.Handler) http.Handler {
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.InfoContext(r.Context(), "ops request", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			next.ServeHTTP(w, r)
		})
	})
	if metrics != nil {
		r.Get("/metrics", metrics.ServeHTTP)
	}
	r.Get("/debug/pprof/", pprof.Index)
	r.Get("/debug/pprof/cmdline", pprof.Cmdline)
	r.Get("/debug/pprof/profile", pprof.Profile)
	r.Get("/debug/pprof/symbol", pprof.Symbol)
	r.Post("/debug/pprof/symbol", pprof.Symbol)
	r.Get("/debug/pprof/trace", pprof.Trace)
	r.Get("/debug/pprof/{profile}", pprof.Index)
	return r
}
