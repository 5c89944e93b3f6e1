package server

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// usersImportRoute is the one route whose form uploads a file: formInput
// lets its multipart body through, bounded, for the handler to read.
const usersImportRoute = "/clc/accounts/{accountID}/users/import"

// usersImportTemplate is the file to fill in, for the account's
// Administrator only.
func (s *Server) usersImportTemplate(w http.ResponseWriter, r *http.Request) error {
	u, _ := currentUser(r.Context())
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	body, err := s.access.UsersImportTemplate(r.Context(), u, id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="users.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
	return nil
}

// importUsers reads the uploaded file and shows its preview; nothing but
// the preview is stored.
func (s *Server) importUsers(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	// Someone who may not manage the account's users learns nothing, and
	// their body is not read.
	if err := s.access.MayManageUsers(ctx, u, id); err != nil {
		return err
	}
	name, data, fe := readUpload(w, r)
	status := http.StatusUnprocessableEntity
	if fe == nil {
		var im account.UsersImport
		im, err = s.access.PreviewUsersImport(ctx, u, id, name, data)
		if err == nil {
			return redirect(w, r, paths.UsersImportPreview(id, im.ID))
		}
		if !errors.As(err, &fe) {
			return err
		}
	} else if _, ok := fe["file"]; ok && fe["file"].Msg == "users.import.error.too_large" {
		status = http.StatusRequestEntityTooLarge
	}
	return s.renderUsers(w, r, status, pages.UsersView{Add: pages.AddUserForm{Role: string(account.RoleUser)}, Errors: fieldMessages(r, fe)})
}

// readUpload is the name and bytes of the form's file, read through a
// limit of account.MaxImportBytes for the whole body: a body declared
// larger is refused before any of it is read, and one that turns out
// larger as it streams is refused at the limit.
func readUpload(w http.ResponseWriter, r *http.Request) (string, []byte, account.FieldErrors) {
	tooLarge := account.FieldErrors{"file": {Msg: "users.import.error.too_large", Args: []any{"KB", account.MaxImportBytes >> 10}}}
	none := account.FieldErrors{"file": {Msg: "users.import.error.none"}}
	if r.ContentLength > account.MaxImportBytes {
		return "", nil, tooLarge
	}
	if mediaType(r) != "multipart/form-data" {
		return "", nil, none
	}
	r.Body = http.MaxBytesReader(w, r.Body, account.MaxImportBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return "", nil, none
	}
	var (
		name string
		data []byte
	)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", nil, bodyError(err, tooLarge, none)
		}
		if part.FormName() != "file" || data != nil {
			if _, err := io.Copy(io.Discard, part); err != nil {
				return "", nil, bodyError(err, tooLarge, none)
			}
			continue
		}
		name = part.FileName()
		if data, err = io.ReadAll(part); err != nil {
			return "", nil, bodyError(err, tooLarge, none)
		}
		if name == "" && len(data) == 0 {
			data = nil // the form was sent with no file chosen
		}
	}
	if data == nil {
		return "", nil, none
	}
	return name, data, nil
}

// bodyError is tooLarge when err is the body's limit, else none.
func bodyError(err error, tooLarge, none account.FieldErrors) account.FieldErrors {
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return tooLarge
	}
	return none
}

// usersImportPreview shows what each row of an uploaded file would do.
func (s *Server) usersImportPreview(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	a, im, err := s.access.UsersImport(ctx, u, id, chi.URLParam(r, "import"))
	if err != nil {
		return err
	}
	return s.renderUsersImport(w, r, http.StatusOK, a, im, false)
}

// applyUsersImport applies a preview as it was shown, or shows it anew
// when the account changed since.
func (s *Server) applyUsersImport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, id, err := postedToAccount(r)
	if err != nil {
		return err
	}
	a, im, err := s.access.ApplyUsersImport(ctx, u, id, chi.URLParam(r, "import"))
	var changed *account.ImportChangedError
	switch {
	case err == nil:
		c := im.Counts()
		s.flash(r, i18n.T(ctx, "users.import.applied", "Added", c[account.ImportAdd], "Changed", c[account.ImportChange]))
		return redirect(w, r, paths.AccountPart(id, "users"))
	case errors.As(err, &changed):
		return s.renderUsersImport(w, r, http.StatusConflict, a, changed.Import, true)
	case errors.Is(err, account.ErrImportApplied):
		return &httpError{status: http.StatusConflict, heading: "users.import.error.applied.heading", message: "users.import.error.applied.message",
			nextHref: paths.AccountPart(id, "users"), nextLabel: i18n.T(ctx, "users.import.back")}
	}
	return err
}

func (s *Server) renderUsersImport(w http.ResponseWriter, r *http.Request, status int, a account.SmartAccount, im account.UsersImport, changed bool) error {
	ctx := r.Context()
	c := im.Counts()
	v := pages.UsersImportView{
		Account: a.Name + " (" + a.ID.String() + ")", FileName: im.FileName, Changed: changed, Applied: !im.AppliedAt.IsZero(),
		Added: c[account.ImportAdd], Changes: c[account.ImportChange], Has: c[account.ImportHas], Refused: c[account.ImportRefused],
		ApplyAction: paths.UsersImportApply(a.ID, im.ID), UsersHref: paths.AccountPart(a.ID, "users"),
	}
	for _, l := range im.Lines {
		row := pages.ImportLineRow{Line: strconv.Itoa(l.Line), Email: l.Email, Scope: l.Scope, Outcome: string(l.Outcome),
			OutcomeLabel: i18n.T(ctx, "users.import.outcome."+string(l.Outcome))}
		if row.Scope == "" {
			row.Scope = l.VirtualAccount
		}
		if row.Scope == "" {
			row.Scope = i18n.T(ctx, "holder.scope_account")
		}
		row.Role = l.ImportRow.Role
		if role, ok := account.ParseImportRole(l.ImportRow.Role); ok {
			row.Role = i18n.T(ctx, "role."+string(role))
		}
		switch l.Outcome {
		case account.ImportRefused:
			row.Detail = i18n.T(ctx, l.Reason, "Line", l.ReasonLine, "Max", account.MaxImportRows)
		case account.ImportChange:
			row.Detail = i18n.T(ctx, "users.import.from", "Role", i18n.T(ctx, "role."+string(l.From)))
		}
		v.Rows = append(v.Rows, row)
	}
	v.Page = layout.Page{Title: i18n.T(ctx, "users.import.preview.heading"), Shell: s.shell(r, layout.NavManage), Flash: s.popFlash(r)}
	s.render(w, r, status, pages.UsersImport(v))
	return nil
}
