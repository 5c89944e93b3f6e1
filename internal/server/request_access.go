package server

import (
	"errors"
	"net/http"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// requestAccessForm shows "Request Access" for an account the viewer may
// see, or says that their earlier request still waits.
func (s *Server) requestAccessForm(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountID(r)
	if err != nil {
		return err
	}
	query := r.URL.Query().Get("q")
	l, err := s.accounts.AccountListing(ctx, u, id, query)
	if err != nil {
		return err
	}
	v := pages.RequestAccessView{Form: pages.RequestAccessForm{Role: string(account.RoleUser)}}
	pending, err := s.accounts.PendingAccessRequest(ctx, u.ID, id)
	switch {
	case err == nil:
		v.Pending = i18n.T(ctx, "access.already", "Date", i18n.Date(ctx, pending.CreatedAt))
	case !errors.Is(err, account.ErrNotFound):
		return err
	}
	return s.renderRequestAccess(w, r, http.StatusOK, l, query, v)
}

// requestAccess records the request and goes back to the directory, where
// it now shows under the accounts the user asked access to.
func (s *Server) requestAccess(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return &httpError{status: http.StatusBadRequest, heading: "error.badrequest.heading", message: "error.badrequest.message"}
	}
	query := r.PostForm.Get("q")
	l, err := s.accounts.AccountListing(ctx, u, id, query)
	if err != nil {
		return err
	}
	form := pages.RequestAccessForm{
		VirtualAccount: r.PostForm.Get("virtual_account"),
		Role:           r.PostForm.Get("role"),
		Reason:         r.PostForm.Get("reason"),
	}
	_, err = s.accounts.RequestAccess(ctx, u, id, query, account.AccessRequestInput{
		VirtualAccount: form.VirtualAccount, Role: form.Role, Reason: form.Reason,
	})
	v := pages.RequestAccessView{Form: form}
	status := http.StatusOK
	var fe account.FieldErrors
	switch {
	case err == nil:
		s.flash(r, i18n.T(ctx, "access.requested", "Account", l.Account.Name))
		return redirect(w, r, "/clc/directory#section-"+string(account.SectionRequested))
	case errors.As(err, &fe):
		status = http.StatusUnprocessableEntity
		v.Errors = map[string]string{}
		for field, e := range fe {
			v.Errors[field] = i18n.T(ctx, e.Msg, e.Args...)
		}
	case errors.Is(err, account.ErrAccessAlreadyRequested):
		status = http.StatusConflict
		v.Pending = i18n.T(ctx, "access.already_sent")
	case errors.Is(err, account.ErrAccountNotActive):
		status = http.StatusConflict
		v.Error = i18n.T(ctx, "access.not_active")
	default:
		return err
	}
	return s.renderRequestAccess(w, r, status, l, query, v)
}

func (s *Server) renderRequestAccess(w http.ResponseWriter, r *http.Request, status int, l account.Listing, query string, v pages.RequestAccessView) error {
	ctx := r.Context()
	sh := s.shell(r, layout.NavSearch)
	v.Page = layout.Page{Title: i18n.T(ctx, "access.title", "Account", l.Account.Name), Shell: sh, Flash: s.popFlash(r)}
	v.Account = accountRow(ctx, l, query)
	v.Query = query
	v.Action = "/clc/accounts/" + l.Account.ID.String() + "/request-access"
	for _, role := range account.RequestableRoles {
		v.Roles = append(v.Roles, pages.Option{Value: string(role), Label: i18n.T(ctx, "role."+string(role))})
	}
	s.render(w, r, status, pages.RequestAccess(v))
	return nil
}
