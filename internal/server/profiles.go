package server

import (
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/go-chi/chi/v5"
)

// profiles serves net/http/pprof: where the server spends its time and
// memory, which is how its hot spots are found under load. A profile shows
// the code and the load, not the data, but it is still no one else's
// business: only staff, or a client on this machine, reach it; anyone else
// finds nothing there.
func (s *Server) profiles(r chi.Router) {
	r.Use(s.staffOrLocal)
	r.Get("/debug/pprof/", pprof.Index)
	r.Get("/debug/pprof/cmdline", pprof.Cmdline)
	r.Get("/debug/pprof/profile", pprof.Profile)
	r.Get("/debug/pprof/symbol", pprof.Symbol)
	r.Post("/debug/pprof/symbol", pprof.Symbol)
	r.Get("/debug/pprof/trace", pprof.Trace)
	r.Get("/debug/pprof/{profile}", pprof.Index)
}

// staffOrLocal lets through staff and connections from a loopback address.
// The address is the connection's own: the portal trusts no forwarding
// header, so a client cannot claim to be local.
func (s *Server) staffOrLocal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, ok := currentUser(r.Context()); (ok && u.Staff) || loopback(r.RemoteAddr) {
			next.ServeHTTP(w, r)
			return
		}
		s.h(s.notFound)(w, r)
	})
}

func loopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
