package server

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) error {
	if _, ok := currentUser(r.Context()); ok {
		return redirect(w, r, localPath(r.URL.Query().Get("next")))
	}
	s.renderLogin(w, r, http.StatusOK, pages.LoginView{Next: r.URL.Query().Get("next")})
	return nil
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, v pages.LoginView) {
	v.Page = layout.Page{Title: i18n.T(r.Context(), "login.title"), Flash: s.popFlash(r)}
	if s.sso != nil {
		v.SSOName = s.sso.Name()
		// The button's POST is answered with a redirect to the provider.
		w.Header().Set("Content-Security-Policy", strings.Replace(contentSecurityPolicy, "form-action 'self'", "form-action 'self' "+s.sso.Origin(), 1))
	}
	s.render(w, r, status, pages.Login(v))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	email := strings.TrimSpace(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	v := pages.LoginView{Email: email, Next: r.PostFormValue("next")}
	if email == "" || password == "" {
		v.Error = i18n.T(ctx, "login.missing")
		s.renderLogin(w, r, http.StatusUnprocessableEntity, v)
		return nil
	}
	client := s.clientAddr(r)
	u, err := s.logins.LogIn(ctx, account.LoginAttempt{Email: email, Password: password, Client: client, DeviceToken: s.deviceToken(r)})
	var throttled *account.ThrottledError
	switch {
	case errors.As(err, &throttled):
		secs := retryAfter(w, throttled)
		s.log.WarnContext(ctx, "login throttled", "remote", client, "retry_after_s", secs)
		v.Error = i18n.T(ctx, "login.throttled", "Seconds", secs)
		s.renderLogin(w, r, http.StatusTooManyRequests, v)
		return nil
	case errors.Is(err, account.ErrSSORequired):
		s.log.InfoContext(ctx, "login refused: the domain requires single sign-on", "remote", client)
		v.Error = i18n.T(ctx, "sso.required", "Provider", s.ssoName())
		s.renderLogin(w, r, http.StatusForbidden, v)
		return nil
	case errors.Is(err, account.ErrInvalidCredentials):
		s.log.InfoContext(ctx, "login failed", "remote", client)
		v.Error = i18n.T(ctx, "login.invalid")
		s.renderLogin(w, r, http.StatusUnauthorized, v)
		return nil
	case err != nil:
		return err
	}
	return s.afterPassword(w, r, u, v.Next)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if u, ok := currentUser(ctx); ok {
		s.log.InfoContext(ctx, "logout")
		if err := s.logins.SignedOut(ctx, u); err != nil {
			return err
		}
	}
	viaSSO := s.sessions.GetInt(ctx, sessionViaSSO) == 1
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.sessions.Remove(ctx, sessionUserID)
	s.sessions.Remove(ctx, sessionViaSSO)
	s.flash(r, i18n.T(ctx, "logout.done"))
	if viaSSO && s.sso != nil {
		// The provider's own sign-in is still open: offer to end it too.
		return redirect(w, r, paths.LoggedOutSSO)
	}
	return redirect(w, r, paths.Home)
}

// retryAfter tells a throttled client, in Retry-After, how many whole
// seconds to wait, and returns them for the page's message. Sign-in and
// the second factor share it.
func retryAfter(w http.ResponseWriter, t *account.ThrottledError) int {
	secs := int(math.Ceil(t.RetryAfter.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return secs
}
