package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// requestAccessForm shows "Request Access" for an account the viewer may
// see, or says that their earlier request still waits.
func (s *Server) requestAccessForm(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	query := r.URL.Query().Get("q")
	l, vas, err := s.access.RequestAccessChoices(ctx, u, id, query)
	if err != nil {
		return err
	}
	v := pages.RequestAccessView{Form: pages.RequestAccessForm{Scope: string(account.ScopeAccount), Role: string(account.RoleUser)}}
	pending, err := s.access.PendingAccessRequest(ctx, u.ID, id)
	switch {
	case err == nil:
		v.Pending = i18n.T(ctx, "access.already", "Date", i18n.Date(ctx, pending.CreatedAt))
		v.PendingHref = paths.AccessRequest(id, pending.ID)
	case !errors.Is(err, account.ErrNotFound):
		return err
	}
	return s.renderRequestAccess(w, r, http.StatusOK, l, vas, query, v)
}

// requestAccess moves through the form's steps: "Next" checks the first
// and shows the second, "Back" returns to the first with the input kept,
// "Submit" records the request and goes back to the directory, where it
// now shows under the accounts the user asked access to.
func (s *Server) requestAccess(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, id, err := postedToAccount(r)
	if err != nil {
		return err
	}
	query := r.PostForm.Get("q")
	l, vas, err := s.access.RequestAccessChoices(ctx, u, id, query)
	if err != nil {
		return err
	}
	form := pages.RequestAccessForm{
		Scope:           r.PostForm.Get("scope"),
		VirtualAccounts: r.PostForm["va"],
		Role:            r.PostForm.Get("role"),
		Reason:          r.PostForm.Get("reason"),
	}
	in := account.AccessRequestInput{Scope: form.Scope, VirtualAccounts: form.VirtualAccounts, Role: form.Role, Reason: form.Reason}
	v := pages.RequestAccessView{Form: form}
	switch r.PostForm.Get("step") {
	case "back":
		return s.renderRequestAccess(w, r, http.StatusOK, l, vas, query, v)
	case "next":
		if fe := in.ValidateChoice(); len(fe) > 0 {
			v.Errors = fieldMessages(r, fe)
			return s.renderRequestAccess(w, r, http.StatusUnprocessableEntity, l, vas, query, v)
		}
		v.Second = true
		return s.renderRequestAccess(w, r, http.StatusOK, l, vas, query, v)
	}
	_, err = s.access.RequestAccess(ctx, u, id, query, in)
	var status int
	var fe account.FieldErrors
	var limit *account.EmailLimitError
	switch {
	case errors.As(err, &limit):
		status = http.StatusTooManyRequests
		v.Error = s.emailLimitText(r, limit)
	case err == nil:
		s.flash(r, i18n.T(ctx, "access.requested", "Account", l.Account.Name))
		return redirect(w, r, paths.DirectorySection(string(account.SectionRequested)))
	case errors.As(err, &fe):
		status = http.StatusUnprocessableEntity
		v.Errors = fieldMessages(r, fe)
		// A wrong choice of Virtual Accounts is corrected where it was made.
		_, vaWrong := fe["virtual_accounts"]
		v.Second = vaWrong && len(fe) == 1
	case errors.Is(err, account.ErrAccessAlreadyRequested):
		status = http.StatusConflict
		v.Pending = i18n.T(ctx, "access.already_sent")
	case errors.Is(err, account.ErrAccessAlreadyHeld):
		status = http.StatusConflict
		v.Pending = i18n.T(ctx, "access.already_held")
	case errors.Is(err, account.ErrAccountNotActive):
		status = http.StatusConflict
		v.Error = i18n.T(ctx, "access.not_active")
	default:
		return err
	}
	return s.renderRequestAccess(w, r, status, l, vas, query, v)
}

// scopeSummary says a role and scope: "User on the entire Smart Account",
// "Viewer on Engineering, Sales".
func scopeSummary(r *http.Request, role, scope string, vas []string) string {
	ctx := r.Context()
	words := i18n.T(ctx, "role."+role)
	if scope == string(account.ScopeVirtual) {
		return i18n.T(ctx, "access.role_on_va", "Role", words, "VirtualAccount", strings.Join(vas, ", "))
	}
	return i18n.T(ctx, "access.role_on_account", "Role", words)
}

func (s *Server) renderRequestAccess(w http.ResponseWriter, r *http.Request, status int, l account.Listing, vas []string, query string, v pages.RequestAccessView) error {
	ctx := r.Context()
	sh := s.shell(r, layout.NavSearch)
	v.Page = layout.Page{Title: i18n.T(ctx, "access.title", "Account", l.Account.Name), Shell: sh, Flash: s.popFlash(r)}
	v.Account = accountRow(ctx, l, query)
	v.Query = query
	v.Action = paths.AccountPart(l.Account.ID, "request-access")
	v.Roles = roleOptions(r)
	for _, va := range vas {
		v.Available = append(v.Available, pages.Option{Value: va, Label: va})
	}
	if v.Second {
		key := "access.summary_account"
		if v.Form.Scope == string(account.ScopeVirtual) {
			key = "access.summary_virtual"
		}
		v.Summary = i18n.T(ctx, key, "Role", i18n.T(ctx, "role."+v.Form.Role))
	}
	s.render(w, r, status, pages.RequestAccess(v))
	return nil
}

// roleOptions are the roles one may ask for or grant, strongest first.
func roleOptions(r *http.Request) []pages.Option {
	var out []pages.Option
	for _, role := range account.RequestableRoles {
		out = append(out, pages.Option{Value: string(role), Label: i18n.T(r.Context(), "role."+string(role))})
	}
	return out
}
