package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
)

// clientAddr is the client's address, without port, for throttling. Behind
// trusted proxies it is the nearest address in X-Forwarded-For that is not
// one of them: each proxy appends the address it heard from, so what lies
// left of the first untrusted one may be the client's own invention.
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(addr) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbled: keep the last address known good
		}
		addr = hop.Unmap()
		if !s.trusted(addr) {
			break
		}
	}
	return addr.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedWarnEvery bounds the warning about an ignored X-Forwarded-For:
// behind a misconfigured proxy every request carries one.
const forwardedWarnEvery = time.Minute

// forwardedWarning is when the warning about an ignored X-Forwarded-For was
// last logged, so it is logged at most once per forwardedWarnEvery.
type forwardedWarning struct{ last atomic.Int64 } // unix nanoseconds

// due reports whether to warn now, and if so counts this warning: of the
// requests racing past the minute, one wins.
func (f *forwardedWarning) due(now time.Time) bool {
	last := f.last.Load()
	if last != 0 && now.Sub(time.Unix(0, last)) < forwardedWarnEvery {
		return false
	}
	return f.last.CompareAndSwap(last, now.UnixNano())
}

// warnUntrustedForwarding logs, at most once a minute, that X-Forwarded-For
// came from a peer that is not a trusted proxy. The header is ignored then,
// which is right for a client's own, but behind a proxy that no one listed
// in CLC_TRUSTED_PROXIES it means every visitor shares the proxy's address
// and so one sign-in throttle: silent until someone is blocked.
func (s *Server) warnUntrustedForwarding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Forwarded-For") != "" {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				host = r.RemoteAddr
			}
			addr, err := netip.ParseAddr(host)
			if (err != nil || !s.trusted(addr)) && s.forwarded.due(s.accounts.Clock().Now()) {
				s.log.WarnContext(r.Context(), "X-Forwarded-For from a peer that is not a trusted proxy was ignored; if this peer is your reverse proxy, CLC_TRUSTED_PROXIES may be missing it",
					"peer", host)
			}
		}
		next.ServeHTTP(w, r)
	})
}
