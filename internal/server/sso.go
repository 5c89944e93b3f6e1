package server

import (
	"errors"
	"net/http"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/internal/sso"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// Single sign-on through the company's OpenID provider. The sign-in's
// secrets (state, nonce, PKCE verifier) wait in the session between the
// button and the callback, which spends them whatever it finds: each is
// good for one return from the provider, within ssoPendingFor.
const (
	sessionSSOState    = "sso_state"
	sessionSSONonce    = "sso_nonce"
	sessionSSOVerifier = "sso_verifier"
	sessionSSONext     = "sso_next"
	sessionSSOAt       = "sso_at"
	// sessionViaSSO marks a sign-in made through the provider, so that Log
	// Out can offer to end the provider's session too.
	sessionViaSSO = "via_sso"

	ssoPendingFor = pendingSignInFor
	// maxSSOParam bounds what the callback reads from its query: codes and
	// states are far shorter.
	maxSSOParam = 2048
)

// ssoName is the provider as the pages name it.
func (s *Server) ssoName() string {
	if s.sso == nil {
		return ""
	}
	return s.sso.Name()
}

// ssoFailed is the page for a sign-in through the provider that did not
// complete, pointing to the password form, which still works.
func (s *Server) ssoFailed(r *http.Request, status int, message string) error {
	return &httpError{status: status, heading: "sso.failed.heading", message: message,
		args: []any{"Provider", s.ssoName()}, nextHref: paths.Login, nextLabel: i18n.T(r.Context(), "sso.failed.password")}
}

func (s *Server) ssoBegin(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if s.sso == nil {
		return account.ErrNotFound
	}
	st, err := s.sso.Begin(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "single sign-on unavailable", "err", err)
		return s.ssoFailed(r, http.StatusServiceUnavailable, "sso.unavailable")
	}
	s.sessions.Put(ctx, sessionSSOState, st.State)
	s.sessions.Put(ctx, sessionSSONonce, st.Nonce)
	s.sessions.Put(ctx, sessionSSOVerifier, st.Verifier)
	s.sessions.Put(ctx, sessionSSONext, r.PostFormValue("next"))
	s.sessions.Put(ctx, sessionSSOAt, s.accounts.Clock().Now().Unix())
	http.Redirect(w, r, st.URL, http.StatusSeeOther)
	return nil
}

func (s *Server) ssoCallback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if s.sso == nil {
		return account.ErrNotFound
	}
	// Spent before anything is checked: a second return with the same
	// state, a replay, finds none.
	state := s.sessions.PopString(ctx, sessionSSOState)
	nonce := s.sessions.PopString(ctx, sessionSSONonce)
	verifier := s.sessions.PopString(ctx, sessionSSOVerifier)
	next := s.sessions.PopString(ctx, sessionSSONext)
	at := s.sessions.GetInt64(ctx, sessionSSOAt)
	s.sessions.Remove(ctx, sessionSSOAt)
	client := s.clientAddr(r)
	err := s.logins.SSOAttempt(ctx, client)
	var throttled *account.ThrottledError
	if errors.As(err, &throttled) {
		secs := retryAfter(w, throttled)
		s.log.WarnContext(ctx, "single sign-on throttled", "remote", client, "retry_after_s", secs)
		return &httpError{status: http.StatusTooManyRequests, heading: "sso.failed.heading", message: "login.throttled", args: []any{"Seconds", secs}}
	}
	if err != nil {
		return err
	}
	q := r.URL.Query()
	code, got := q.Get("code"), q.Get("state")
	switch {
	case len(code) > maxSSOParam || len(got) > maxSSOParam:
		s.log.WarnContext(ctx, "single sign-on refused: overlong callback", "remote", client)
		return s.ssoFailed(r, http.StatusBadRequest, "sso.failed.message")
	case !sso.SameState(state, got) || s.accounts.Clock().Now().Unix()-at > int64(ssoPendingFor.Seconds()):
		s.log.WarnContext(ctx, "single sign-on refused: state is not this session's", "remote", client)
		return s.ssoFailed(r, http.StatusBadRequest, "sso.failed.message")
	case q.Get("error") != "" || code == "":
		// The provider's own refusal, or the person cancelled there.
		s.log.InfoContext(ctx, "single sign-on refused by the provider", "remote", client, "error", account.BoundText(q.Get("error"), 64))
		return s.ssoFailed(r, http.StatusUnauthorized, "sso.failed.message")
	}
	id, err := s.sso.Finish(ctx, code, verifier, nonce)
	switch {
	case errors.Is(err, sso.ErrUnavailable):
		s.log.WarnContext(ctx, "single sign-on unavailable", "err", err)
		return s.ssoFailed(r, http.StatusServiceUnavailable, "sso.unavailable")
	case err != nil:
		s.log.WarnContext(ctx, "single sign-on refused", "remote", client, "err", err)
		return s.ssoFailed(r, http.StatusUnauthorized, "sso.failed.message")
	}
	u, step, err := s.logins.SSOSignIn(ctx, id)
	if errors.Is(err, account.ErrEmailNotVerified) {
		s.log.WarnContext(ctx, "single sign-on refused: email not verified", "remote", client)
		return s.ssoFailed(r, http.StatusForbidden, "sso.unverified")
	}
	if err != nil {
		return err
	}
	if err := s.logins.SSOSucceeded(ctx, client); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "single sign-on", "user", u.ID, "multi_factor", account.MultiFactor(id.AMR))
	// Before the answer is written, which saves the session.
	s.sessions.Put(ctx, sessionViaSSO, 1)
	return s.continueSignIn(w, r, u, step, next)
}

// ssoLoggedOut follows Log Out of a sign-in made through the provider: the
// portal's session is over; the provider's may be ended on its own page.
func (s *Server) ssoLoggedOut(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if s.sso == nil {
		return redirect(w, r, paths.Home)
	}
	end := s.sso.EndSessionURL(ctx)
	if end == "" {
		return redirect(w, r, paths.Home)
	}
	s.render(w, r, http.StatusOK, pages.SSOLoggedOut(pages.SSOLoggedOutView{
		Page:          layout.Page{Title: i18n.T(ctx, "sso.logged_out.heading"), Flash: s.popFlash(r)},
		Provider:      s.sso.Name(),
		EndSessionURL: end,
	}))
	return nil
}

// ssoDomains is the operators' page of the email domains that must sign in
// through the provider, with the sign-in history.
func (s *Server) ssoDomains(w http.ResponseWriter, r *http.Request) error {
	return s.renderSSODomains(w, r, http.StatusOK, "", nil)
}

func (s *Server) renderSSODomains(w http.ResponseWriter, r *http.Request, status int, domain string, fe account.FieldErrors) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	ds, evs, err := s.logins.SSODomains(ctx, u)
	if err != nil {
		return err
	}
	v := pages.SSODomainsView{
		Page:       layout.Page{Title: i18n.T(ctx, "sso.ops.title"), Shell: s.shell(r, layout.NavSSO), Flash: s.popFlash(r)},
		Configured: s.sso != nil,
		Provider:   s.ssoName(),
		Domain: components.Field{ID: "domain", Label: i18n.T(ctx, "sso.ops.domain"), Value: domain, Type: "text",
			Required: true, MaxLength: 253, Hint: i18n.T(ctx, "sso.ops.domain_hint")},
	}
	v.Domain.Error = fieldError(r, fe, "domain")
	for _, d := range ds {
		v.Domains = append(v.Domains, pages.SSODomainRow{Domain: account.DisplayDomain(d.Domain), Value: d.Domain, By: d.RequiredBy, At: i18n.DateTime(ctx, d.RequiredAt)})
	}
	for _, e := range evs {
		v.Events = append(v.Events, pages.SignInEventRow{At: i18n.DateTime(ctx, e.At), Email: e.Email, What: i18n.T(ctx, "sso.event."+e.Kind), Detail: e.Detail})
	}
	s.render(w, r, status, pages.SSODomains(v))
	return nil
}

func (s *Server) requireSSO(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	domain := r.PostFormValue("domain")
	d, err := s.logins.RequireSSO(ctx, u, domain)
	var fe account.FieldErrors
	if errors.As(err, &fe) {
		return s.renderSSODomains(w, r, http.StatusUnprocessableEntity, domain, fe)
	}
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "single sign-on required", "domain", d)
	s.flash(r, i18n.T(ctx, "sso.ops.required", "Domain", account.DisplayDomain(d)))
	return redirect(w, r, paths.OpsSSO)
}

func (s *Server) releaseSSO(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	domain := r.PostFormValue("domain")
	if err := s.logins.ReleaseSSO(ctx, u, domain); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "single sign-on released", "domain", domain)
	s.flash(r, i18n.T(ctx, "sso.ops.released", "Domain", account.DisplayDomain(domain)))
	return redirect(w, r, paths.OpsSSO)
}
