package server

import (
	"bytes"
	"errors"
	"image/png"
	"net/http"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/logctx"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// A sign-in whose password was right but which still owes a second factor
// keeps the user's id under sessionPendingUser: no page treats it as
// signed in. It lapses after pendingSignInFor.
const (
	sessionPendingUser = "pending_user_id"
	sessionPendingStep = "pending_step"
	sessionPendingNext = "pending_next"
	sessionPendingAt   = "pending_at"
	// sessionEnrollURL is the authenticator being set up (its otpauth URL),
	// until its first code confirms it.
	sessionEnrollURL = "enroll_url"
	// sessionRecovery holds new recovery codes until the page that shows
	// them once.
	sessionRecovery = "recovery_codes"

	pendingSignInFor = 10 * time.Minute
)

// afterPassword goes on from a right password: signed in, or on to the
// second factor the domain asks for.
func (s *Server) afterPassword(w http.ResponseWriter, r *http.Request, u account.User, next string) error {
	ctx := r.Context()
	step, err := s.logins.NextSignInStep(ctx, u)
	if err != nil {
		return err
	}
	return s.continueSignIn(w, r, u, step, next)
}

// continueSignIn signs u in, or keeps the sign-in pending until the second
// factor step asks for; a password and the OpenID provider share it.
func (s *Server) continueSignIn(w http.ResponseWriter, r *http.Request, u account.User, step account.SignInStep, next string) error {
	ctx := r.Context()
	if step == account.SignInDone {
		if err := s.signIn(r, u); err != nil {
			return err
		}
		s.rememberDevice(w, u)
		s.log.InfoContext(ctx, "login")
		return redirect(w, r, localPath(next))
	}
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.sessions.Put(ctx, sessionPendingUser, u.ID)
	s.sessions.Put(ctx, sessionPendingStep, int(step))
	s.sessions.Put(ctx, sessionPendingNext, next)
	s.sessions.Put(ctx, sessionPendingAt, s.accounts.Clock().Now().Unix())
	if step == account.SignInEnroll {
		return redirect(w, r, paths.TwoFactorSetup)
	}
	return redirect(w, r, paths.LoginCode)
}

// pendingSignIn is the sign-in waiting for its second factor, if any and
// still fresh.
func (s *Server) pendingSignIn(r *http.Request) (int64, account.SignInStep, bool) {
	ctx := r.Context()
	id := s.sessions.GetInt64(ctx, sessionPendingUser)
	at := time.Unix(s.sessions.GetInt64(ctx, sessionPendingAt), 0)
	if id == 0 || s.accounts.Clock().Now().Sub(at) > pendingSignInFor {
		return 0, 0, false
	}
	return id, account.SignInStep(s.sessions.GetInt(ctx, sessionPendingStep)), true
}

// completeSignIn signs in the pending user once their second factor holds.
func (s *Server) completeSignIn(w http.ResponseWriter, r *http.Request, u account.User, then string) error {
	ctx := r.Context()
	next := s.sessions.GetString(ctx, sessionPendingNext)
	for _, k := range []string{sessionPendingUser, sessionPendingStep, sessionPendingNext, sessionPendingAt} {
		s.sessions.Remove(ctx, k)
	}
	if err := s.signIn(r, u); err != nil {
		return err
	}
	s.rememberDevice(w, u)
	s.log.InfoContext(ctx, "login", "second_factor", true)
	if then != "" {
		return redirect(w, r, then)
	}
	return redirect(w, r, localPath(next))
}

func (s *Server) secondFactorForm(w http.ResponseWriter, r *http.Request) error {
	if _, step, ok := s.pendingSignIn(r); !ok || step != account.SignInCode {
		return redirect(w, r, paths.Login)
	}
	s.renderSecondFactor(w, r, http.StatusOK, "")
	return nil
}

func (s *Server) renderSecondFactor(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	s.render(w, r, status, pages.SecondFactor(pages.SecondFactorView{
		Page:  layout.Page{Title: i18n.T(r.Context(), "twofactor.code.heading")},
		Error: errMsg,
	}))
}

func (s *Server) secondFactor(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, step, ok := s.pendingSignIn(r)
	if !ok || step != account.SignInCode {
		s.flash(r, i18n.T(ctx, "twofactor.error.expired"))
		return redirect(w, r, paths.Login)
	}
	u, err := s.logins.CheckSecondFactor(ctx, id, r.PostFormValue("code"))
	var throttled *account.ThrottledError
	switch {
	case errors.As(err, &throttled):
		secs := retryAfter(w, throttled)
		s.renderSecondFactor(w, r, http.StatusTooManyRequests, i18n.T(ctx, "login.throttled", "Seconds", secs))
		return nil
	case errors.Is(err, account.ErrInvalidCode):
		logctx.SetUser(ctx, id) // half signed in: the line is about them all the same
		s.log.InfoContext(ctx, "second factor refused")
		s.renderSecondFactor(w, r, http.StatusUnprocessableEntity, i18n.T(ctx, "twofactor.error.code"))
		return nil
	case err != nil:
		return err
	}
	return s.completeSignIn(w, r, u, "")
}

// enrollingUser is who is setting up an authenticator: the signed-in user,
// or staff whose sign-in waits for it.
func (s *Server) enrollingUser(r *http.Request) (u account.User, pending bool, err error) {
	if u, ok := currentUser(r.Context()); ok {
		return u, false, nil
	}
	id, step, ok := s.pendingSignIn(r)
	if !ok || step != account.SignInEnroll {
		return account.User{}, false, account.ErrNotFound
	}
	u, err = s.accounts.User(r.Context(), id)
	return u, true, err
}

// enrollment is the authenticator being set up in this session, made on
// first use so that the QR code and the confirming code agree.
func (s *Server) enrollment(r *http.Request, u account.User) (*otp.Key, error) {
	ctx := r.Context()
	if raw := s.sessions.GetString(ctx, sessionEnrollURL); raw != "" {
		if key, err := otp.NewKeyFromURL(raw); err == nil && key.AccountName() == u.Email {
			return key, nil
		}
	}
	e, err := s.logins.NewTOTPEnrollment(u)
	if err != nil {
		return nil, err
	}
	s.sessions.Put(ctx, sessionEnrollURL, e.URL)
	return otp.NewKeyFromURL(e.URL)
}

func (s *Server) twoFactorSetupForm(w http.ResponseWriter, r *http.Request) error {
	u, pending, err := s.enrollingUser(r)
	if errors.Is(err, account.ErrNotFound) {
		return redirect(w, r, paths.Login)
	}
	if err != nil {
		return err
	}
	if !pending {
		if st, err := s.logins.TwoFactorOf(r.Context(), u); err != nil {
			return err
		} else if st.Enabled {
			return redirect(w, r, paths.TwoFactorSettings)
		}
	}
	return s.renderTwoFactorSetup(w, r, http.StatusOK, u, pending, "")
}

func (s *Server) renderTwoFactorSetup(w http.ResponseWriter, r *http.Request, status int, u account.User, pending bool, errMsg string) error {
	key, err := s.enrollment(r, u)
	if err != nil {
		return err
	}
	var shell *layout.Shell
	if !pending {
		shell = s.shell(r, "")
	}
	s.render(w, r, status, pages.TwoFactorSetup(pages.TwoFactorSetupView{
		Page:     layout.Page{Title: i18n.T(r.Context(), "twofactor.setup.heading"), Shell: shell},
		Required: pending,
		Secret:   groupsOf(key.Secret(), 4),
		QR:       paths.TwoFactorQR,
		Error:    errMsg,
	}))
	return nil
}

func (s *Server) twoFactorSetup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, pending, err := s.enrollingUser(r)
	if errors.Is(err, account.ErrNotFound) {
		s.flash(r, i18n.T(ctx, "twofactor.error.expired"))
		return redirect(w, r, paths.Login)
	}
	if err != nil {
		return err
	}
	key, err := s.enrollment(r, u)
	if err != nil {
		return err
	}
	codes, err := s.logins.EnrollTOTP(ctx, u.ID, key.Secret(), r.PostFormValue("code"))
	var fe account.FieldErrors
	switch {
	case errors.As(err, &fe):
		return s.renderTwoFactorSetup(w, r, http.StatusUnprocessableEntity, u, pending, i18n.T(ctx, "twofactor.error.setup_code"))
	case errors.Is(err, account.ErrConflict):
		// Set up in another tab meanwhile: this secret is not the one kept.
		s.sessions.Remove(ctx, sessionEnrollURL)
		s.flash(r, i18n.T(ctx, "twofactor.error.already_on"))
		return redirect(w, r, paths.TwoFactorSettings)
	case err != nil:
		return err
	}
	s.sessions.Remove(ctx, sessionEnrollURL)
	s.sessions.Put(ctx, sessionRecovery, strings.Join(codes, " "))
	s.log.InfoContext(ctx, "two-factor enabled")
	if pending {
		return s.completeSignIn(w, r, u, paths.RecoveryCodes)
	}
	return redirect(w, r, paths.RecoveryCodes)
}

// twoFactorQR draws the authenticator being set up as a QR code. It is
// served from the session so the secret never appears in a URL or a log.
func (s *Server) twoFactorQR(w http.ResponseWriter, r *http.Request) error {
	u, _, err := s.enrollingUser(r)
	if errors.Is(err, account.ErrNotFound) {
		return s.notFound(w, r)
	}
	if err != nil {
		return err
	}
	key, err := s.enrollment(r, u)
	if err != nil {
		return err
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
	return nil
}

// recoveryCodes shows the codes just made, once; a reload shows the
// settings instead.
func (s *Server) recoveryCodes(w http.ResponseWriter, r *http.Request) error {
	if _, ok := currentUser(r.Context()); !ok {
		return redirect(w, r, paths.Login)
	}
	codes := strings.Fields(s.sessions.PopString(r.Context(), sessionRecovery))
	if len(codes) == 0 {
		return redirect(w, r, paths.TwoFactorSettings)
	}
	s.render(w, r, http.StatusOK, pages.RecoveryCodes(pages.RecoveryCodesView{
		Page:  layout.Page{Title: i18n.T(r.Context(), "twofactor.recovery.heading"), Shell: s.shell(r, "")},
		Codes: codes,
	}))
	return nil
}

func (s *Server) twoFactorSettings(w http.ResponseWriter, r *http.Request) error {
	return s.renderTwoFactorSettings(w, r, http.StatusOK, "")
}

func (s *Server) renderTwoFactorSettings(w http.ResponseWriter, r *http.Request, status int, errMsg string) error {
	u, _ := currentUser(r.Context())
	st, err := s.logins.TwoFactorOf(r.Context(), u)
	if err != nil {
		return err
	}
	s.render(w, r, status, pages.TwoFactorSettings(pages.TwoFactorSettingsView{
		Page:          layout.Page{Title: i18n.T(r.Context(), "twofactor.settings.heading"), Shell: s.shell(r, ""), Flash: s.popFlash(r)},
		Enabled:       st.Enabled,
		Required:      st.Required,
		RecoveryCodes: st.RecoveryCodes,
		Error:         errMsg,
	}))
	return nil
}

func (s *Server) disableTwoFactor(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	err := s.logins.DisableTOTP(ctx, u, r.PostFormValue("code"))
	var throttled *account.ThrottledError
	switch {
	case errors.As(err, &throttled):
		secs := retryAfter(w, throttled)
		return s.renderTwoFactorSettings(w, r, http.StatusTooManyRequests, i18n.T(ctx, "login.throttled", "Seconds", secs))
	case errors.Is(err, account.ErrInvalidCode):
		return s.renderTwoFactorSettings(w, r, http.StatusUnprocessableEntity, i18n.T(ctx, "twofactor.error.code"))
	case errors.Is(err, account.ErrForbidden):
		return s.renderTwoFactorSettings(w, r, http.StatusForbidden, i18n.T(ctx, "twofactor.settings.required"))
	case errors.Is(err, account.ErrNotFound): // already off
		return redirect(w, r, paths.TwoFactorSettings)
	case err != nil:
		return err
	}
	s.log.InfoContext(ctx, "two-factor disabled")
	s.flash(r, i18n.T(ctx, "twofactor.settings.disabled"))
	return redirect(w, r, paths.TwoFactorSettings)
}

// groupsOf splits s into groups of n, for reading a secret aloud or typing it.
func groupsOf(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}
