package server

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// The set-password page is what the emailed link of someone an approval
// added opens, when they had no password: like an approval link, the token
// is the credential and opening it changes nothing.

func (s *Server) setPasswordForm(w http.ResponseWriter, r *http.Request) error {
	token := chi.URLParam(r, "token")
	u, err := s.logins.OpenSetPassword(r.Context(), token)
	if err != nil {
		return s.setPasswordFailure(r, err)
	}
	s.renderSetPassword(w, r, http.StatusOK, token, u, nil)
	return nil
}

func (s *Server) setPassword(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	token := chi.URLParam(r, "token")
	u, err := s.logins.SetPassword(ctx, token, r.PostFormValue("password"), r.PostFormValue("confirm"))
	var fe account.FieldErrors
	if errors.As(err, &fe) {
		who, oerr := s.logins.OpenSetPassword(ctx, token)
		if oerr != nil {
			return s.setPasswordFailure(r, oerr)
		}
		s.renderSetPassword(w, r, http.StatusUnprocessableEntity, token, who, fe)
		return nil
	}
	if err != nil {
		return s.setPasswordFailure(r, err)
	}
	// Signed in at once: the link proved the address, as Log In would.
	if err := s.signIn(r, u); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "password set")
	s.flash(r, i18n.T(ctx, "setpassword.done"))
	return redirect(w, r, paths.CLC)
}

func (s *Server) setPasswordFailure(r *http.Request, err error) error {
	logIn := i18n.T(r.Context(), "login.title")
	switch {
	case errors.Is(err, account.ErrNotFound):
		return &httpError{status: http.StatusNotFound, heading: "setpassword.unknown.heading", message: "setpassword.unknown.message",
			nextHref: paths.Login, nextLabel: logIn}
	case errors.Is(err, account.ErrTokenUsed):
		return &httpError{status: http.StatusGone, heading: "setpassword.used.heading", message: "setpassword.used.message",
			nextHref: paths.Login, nextLabel: logIn}
	case errors.Is(err, account.ErrTokenExpired):
		return &httpError{status: http.StatusGone, heading: "setpassword.expired.heading", message: "setpassword.expired.message",
			nextHref: paths.Login, nextLabel: logIn}
	case errors.Is(err, account.ErrSSORequired):
		return &httpError{status: http.StatusForbidden, heading: "sso.required.heading", message: "sso.required",
			args: []any{"Provider", s.ssoName()}, nextHref: paths.Login, nextLabel: logIn}
	}
	return err
}

func (s *Server) renderSetPassword(w http.ResponseWriter, r *http.Request, status int, token string, u account.User, fe account.FieldErrors) {
	ctx := r.Context()
	v := pages.SetPasswordView{
		Page:   layout.Page{Title: i18n.T(ctx, "setpassword.title")},
		Action: paths.SetPassword(token),
		Email:  u.Email,
		Password: components.Field{ID: "password", Label: i18n.T(ctx, "login.password"), Type: "password", Required: true,
			MaxLength: account.MaxPasswordLength, Autocomplete: "new-password",
			Hint: i18n.T(ctx, "setpassword.hint", "Min", account.MinPasswordLength), Error: fieldError(r, fe, "password")},
		Confirm: components.Field{ID: "confirm", Label: i18n.T(ctx, "setpassword.confirm"), Type: "password", Required: true,
			MaxLength: account.MaxPasswordLength, Autocomplete: "new-password", Error: fieldError(r, fe, "confirm")},
	}
	if len(fe) > 0 {
		v.FormError = i18n.T(ctx, "request.fix_errors")
	}
	s.render(w, r, status, pages.SetPassword(v))
}
