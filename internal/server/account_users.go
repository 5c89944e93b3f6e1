package server

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// accountUsers is "Account Management" > "Users" of one Smart Account.
func (s *Server) accountUsers(w http.ResponseWriter, r *http.Request) error {
	return s.renderUsers(w, r, http.StatusOK, pages.UsersView{Add: pages.AddUserForm{Role: string(account.RoleUser)}})
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, status int, v pages.UsersView) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	au, err := s.access.Users(ctx, u, id, pageParam(r.URL.Query(), "page"))
	if err != nil {
		return err
	}
	v.Account = au.Account.Name + " (" + au.Account.ID.String() + ")"
	v.Action = paths.AccountPart(id, "users")
	v.Roles = append(roleOptions(r), pages.Option{Value: string(account.RoleApprover), Label: i18n.T(ctx, "role.approver")})
	v.Scopes = scopeOptions(r, au.VirtualAccounts)
	for _, h := range au.Holders.Items {
		scope := i18n.T(ctx, "holder.scope_account")
		if h.VirtualAccount != "" {
			scope = h.VirtualAccount
		}
		v.Rows = append(v.Rows, pages.UserRoleRow{
			UserID: strconv.FormatInt(h.UserID, 10), Name: h.Name, Email: h.Email, Scope: scope, VA: h.VirtualAccount,
			Role: string(h.Role), RoleLabel: i18n.T(ctx, "role."+string(h.Role)),
		})
	}
	v.ImportAction, v.TemplateHref = paths.UsersImport(id), paths.UsersImportTemplate(id)
	v.Import = components.Field{ID: "file", Label: i18n.T(ctx, "users.import.file"), Type: "file", Hint: i18n.T(ctx, "users.import.hint")}
	if msg := v.Errors["file"]; msg != "" {
		v.Import.Error = &components.FieldMessage{Text: msg}
	}
	v.Pager = pager(i18n.T(ctx, "users.heading"), v.Action, url.Values{}, "page", au.Holders.Number, au.Holders.HasNext, "")
	v.Page = layout.Page{Title: i18n.T(ctx, "users.heading"), Shell: s.shell(r, layout.NavManage), Flash: s.popFlash(r)}
	s.render(w, r, status, pages.Users(v))
	return nil
}

// scopeOptions are the Smart Account itself ("") and each Virtual Account.
func scopeOptions(r *http.Request, vas []string) []pages.Option {
	out := []pages.Option{{Value: "", Label: i18n.T(r.Context(), "holder.scope_account")}}
	return append(out, options(vas)...)
}

// addAccountUser gives an existing user a role.
func (s *Server) addAccountUser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, id, err := postedToAccount(r)
	if err != nil {
		return err
	}
	form := pages.AddUserForm{Email: r.PostForm.Get("email"), Scope: r.PostForm.Get("va"), Role: r.PostForm.Get("role")}
	err = s.access.SetUserRole(ctx, u, id, account.UserRoleInput{Email: form.Email, VirtualAccount: form.Scope, Role: form.Role})
	return s.afterRoleChange(w, r, err, pages.UsersView{Add: form}, "users.added")
}

// changeUserRole changes the role someone holds on one scope.
func (s *Server) changeUserRole(w http.ResponseWriter, r *http.Request) error {
	return s.roleRowAction(w, r, false)
}

// removeUserRole takes a role away.
func (s *Server) removeUserRole(w http.ResponseWriter, r *http.Request) error {
	return s.roleRowAction(w, r, true)
}

func (s *Server) roleRowAction(w http.ResponseWriter, r *http.Request, remove bool) error {
	ctx := r.Context()
	u, id, err := postedToAccount(r)
	if err != nil {
		return err
	}
	userID, perr := strconv.ParseInt(r.PostForm.Get("user"), 10, 64)
	if perr != nil || userID <= 0 {
		return &httpError{status: http.StatusBadRequest, heading: "error.badrequest.heading", message: "error.badrequest.message"}
	}
	va := r.PostForm.Get("va")
	msg := "users.changed"
	if remove {
		msg = "users.removed"
		err = s.access.RemoveUserRole(ctx, u, id, userID, va)
	} else {
		err = s.access.SetUserRole(ctx, u, id, account.UserRoleInput{UserID: userID, VirtualAccount: va, Role: r.PostForm.Get("role")})
	}
	return s.afterRoleChange(w, r, err, pages.UsersView{Add: pages.AddUserForm{Role: string(account.RoleUser)}}, msg)
}

// afterRoleChange redirects with a notice, or shows the page again saying
// what was refused.
func (s *Server) afterRoleChange(w http.ResponseWriter, r *http.Request, err error, v pages.UsersView, done string) error {
	ctx := r.Context()
	var fe account.FieldErrors
	switch {
	case err == nil:
		s.flash(r, i18n.T(ctx, done))
		id, _ := accountParam(r)
		return redirect(w, r, paths.AccountPart(id, "users"))
	case errors.As(err, &fe):
		v.Errors = fieldMessages(r, fe)
		if msg, ok := v.Errors["role"]; ok && v.Add.Email == "" {
			v.Error = msg
		}
		return s.renderUsers(w, r, http.StatusUnprocessableEntity, v)
	case errors.Is(err, account.ErrLastAdmin):
		v.Error = i18n.T(ctx, "users.error.last_admin")
		return s.renderUsers(w, r, http.StatusConflict, v)
	}
	return err
}

// automation is "Access request Automation settings".
func (s *Server) automation(w http.ResponseWriter, r *http.Request) error {
	return s.renderAutomation(w, r, http.StatusOK, nil, nil)
}

func (s *Server) renderAutomation(w http.ResponseWriter, r *http.Request, status int, in *account.AutomationInput, errs map[string]string) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	a, rules, vas, err := s.access.Automation(ctx, u, id)
	if err != nil {
		return err
	}
	v := pages.AutomationView{
		Account: a.Name + " (" + a.ID.String() + ")", Action: paths.AccountPart(id, "automation"), Domain: account.DisplayDomain(a.Domain),
		SameDomain: rules.SameDomain, Role: string(rules.SameDomainRole), VA: rules.SameDomainVA, OtherDomain: rules.OtherDomain,
		Roles: roleOptions(r), Scopes: scopeOptions(r, vas), Errors: errs,
	}
	if v.Role == "" {
		v.Role = string(account.RoleViewer)
	}
	if in != nil {
		v.SameDomain, v.Role, v.VA, v.OtherDomain = in.SameDomain, in.SameDomainRole, in.SameDomainVA, in.OtherDomain
	}
	v.Page = layout.Page{Title: i18n.T(ctx, "automation.heading"), Shell: s.shell(r, layout.NavManage), Flash: s.popFlash(r)}
	s.render(w, r, status, pages.Automation(v))
	return nil
}

// saveAutomation replaces the account's rules.
func (s *Server) saveAutomation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, id, err := postedToAccount(r)
	if err != nil {
		return err
	}
	in := account.AutomationInput{
		SameDomain: r.PostForm.Get("same_domain"), SameDomainRole: r.PostForm.Get("same_domain_role"),
		SameDomainVA: r.PostForm.Get("same_domain_va"), OtherDomain: r.PostForm.Get("other_domain"),
	}
	err = s.access.SaveAutomation(ctx, u, id, in)
	var fe account.FieldErrors
	switch {
	case err == nil:
		s.flash(r, i18n.T(ctx, "automation.saved"))
		return redirect(w, r, paths.AccountPart(id, "automation"))
	case errors.As(err, &fe):
		return s.renderAutomation(w, r, http.StatusUnprocessableEntity, &in, fieldMessages(r, fe))
	}
	return err
}
