package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/pages"
)

// Virtual Accounts are created, renamed and deleted on their Smart
// Account's page; the rules, and who may, are account's.

// virtualAccountForm is a refused create (ID 0) or rename, as typed.
type virtualAccountForm struct {
	ID     int64
	Name   string
	Errors account.FieldErrors
}

// virtualAccountsManager is the account page's part for whoever may change
// its Virtual Accounts: choices, as internal/account decided them with the
// page; nil for anyone else.
func (s *Server) virtualAccountsManager(r *http.Request, id account.AccountID, choices account.VirtualAccountChoices, typed *virtualAccountForm) *pages.VirtualAccountsManager {
	ctx := r.Context()
	if !choices.CanCreate && len(choices.Items) == 0 {
		return nil
	}
	field := func(vaID int64, value string) components.Field {
		f := components.Field{ID: "va-name-" + strconv.FormatInt(vaID, 10), Name: "name", Label: i18n.T(ctx, "va.name"),
			Value: value, Type: "text", Required: true, MaxLength: account.MaxNameLength}
		if vaID == 0 {
			f.ID = "va-name-new"
		}
		if typed != nil && typed.ID == vaID {
			f.Value, f.Error = typed.Name, fieldError(r, typed.Errors, "name")
		}
		return f
	}
	m := &pages.VirtualAccountsManager{}
	if choices.CanCreate {
		f := field(0, "")
		m.Create, m.CreateAction = &f, paths.AccountPart(id, "virtual-accounts")
	}
	for _, va := range choices.Items {
		row := pages.VirtualAccountRow{Name: va.Name}
		if va.CanRename {
			f := field(va.ID, va.Name)
			f.Label = i18n.T(ctx, "va.new_name", "Name", va.Name)
			row.Rename, row.RenameAction = &f, paths.VirtualAccountAction(id, va.ID, "rename")
		}
		switch {
		case va.CanDelete:
			row.DeleteAction = paths.VirtualAccountAction(id, va.ID, "delete")
			row.DeleteLabel = i18n.T(ctx, "va.delete_named", "Name", va.Name)
		case va.IsDefault():
			row.Note = i18n.T(ctx, "va.default_stays")
		case choices.CanCreate:
			row.Note = i18n.T(ctx, "va.in_use", "Holders", va.Holders, "Requests", va.PendingRequests)
			if va.InRule {
				row.Note += " " + i18n.T(ctx, "va.in_rule")
			}
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}

// createVirtualAccount is "Create Virtual Account".
func (s *Server) createVirtualAccount(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, id, err := postedToAccount(r)
	if err != nil {
		return err
	}
	name := r.PostForm.Get("name")
	va, err := s.access.CreateVirtualAccount(ctx, u, id, name)
	return s.afterVirtualAccountChange(w, r, id, err, &virtualAccountForm{Name: name}, i18n.T(ctx, "va.created", "Name", va.Name))
}

// renameVirtualAccount is a Virtual Account's "Rename".
func (s *Server) renameVirtualAccount(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, id, err := postedToAccount(r)
	if err != nil {
		return err
	}
	vaID, err := idParam(r, "vaID")
	if err != nil {
		return err
	}
	name := r.PostForm.Get("name")
	err = s.access.RenameVirtualAccount(ctx, u, id, vaID, name)
	return s.afterVirtualAccountChange(w, r, id, err, &virtualAccountForm{ID: vaID, Name: name}, i18n.T(ctx, "va.renamed"))
}

// deleteVirtualAccount is a Virtual Account's "Delete".
func (s *Server) deleteVirtualAccount(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, id, err := postedToAccount(r)
	if err != nil {
		return err
	}
	vaID, err := idParam(r, "vaID")
	if err != nil {
		return err
	}
	va, err := s.access.DeleteVirtualAccount(ctx, u, id, vaID)
	return s.afterVirtualAccountChange(w, r, id, err, nil, i18n.T(ctx, "va.deleted", "Name", va.Name))
}

// afterVirtualAccountChange redirects to the account's page with a notice,
// or shows it again saying what was refused.
func (s *Server) afterVirtualAccountChange(w http.ResponseWriter, r *http.Request, id account.AccountID, err error, typed *virtualAccountForm, done string) error {
	var fe account.FieldErrors
	switch {
	case err == nil:
		s.log.InfoContext(r.Context(), "virtual accounts changed", "account", id.String())
		s.flash(r, done)
		return redirect(w, r, paths.Account(id)+"#virtual-accounts")
	case errors.As(err, &fe) && typed != nil:
		typed.Errors = fe
		return s.renderAccountPage(w, r, id, http.StatusUnprocessableEntity, typed)
	case errors.Is(err, account.ErrVirtualAccountInUse):
		return &httpError{status: http.StatusConflict, heading: "va.error.in_use.heading", message: "va.error.in_use.message",
			nextHref: paths.Account(id), nextLabel: i18n.T(r.Context(), "va.back")}
	case errors.Is(err, account.ErrDefaultVirtualAccount):
		return &httpError{status: http.StatusConflict, heading: "va.error.default.heading", message: "va.error.default",
			nextHref: paths.Account(id), nextLabel: i18n.T(r.Context(), "va.back")}
	}
	return err
}
