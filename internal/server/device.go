package server

import (
	"net/http"
	"time"

	"github.com/clc-portal/clc/internal/account"
)

// deviceFor is how long a browser is remembered as one its user signed in
// on: long enough that the user's usual browsers keep their exemption from
// blocks others cause, between sign-ins.
const deviceFor = 180 * 24 * time.Hour

// deviceCookie names the cookie that carries the device token (see
// account.DeviceKey); over HTTPS it is __Host-, like the session's.
func (s *Server) deviceCookie() string {
	if s.baseURL.Scheme == "https" {
		return "__Host-clc_device"
	}
	return "clc_device"
}

// deviceToken is the device token the browser carried, or "".
func (s *Server) deviceToken(r *http.Request) string {
	c, err := r.Cookie(s.deviceCookie())
	if err != nil {
		return ""
	}
	return c.Value
}

// rememberDevice gives the browser a new device token for u once u
// completed a sign-in on it. It replaces any earlier one, another user's
// included: the browser answers for the last person who signed in on it.
func (s *Server) rememberDevice(w http.ResponseWriter, u account.User) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.deviceCookie(),
		Value:    s.logins.IssueDevice(u),
		Path:     "/",
		MaxAge:   int(deviceFor.Seconds()),
		HttpOnly: true,
		Secure:   s.baseURL.Scheme == "https",
		SameSite: http.SameSiteLaxMode,
	})
}
