package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// requestForm is what the request form and its review carry between steps.
type requestForm struct {
	account.AccountRequestInput
	DomainEditable bool
	// Renews is the shown id of the ended request this form sends again
	// ("Request again"), or ""; Renewal is what the form says of it.
	Renews  string
	Renewal *pages.RenewalNote
}

func parseRequestForm(r *http.Request) requestForm {
	return requestForm{
		AccountRequestInput: account.AccountRequestInput{
			Name:             r.PostFormValue("name"),
			Domain:           r.PostFormValue("domain"),
			NoteToApprover:   r.PostFormValue("note_to_approver"),
			CustomerEmails:   r.PostFormValue("customer_emails"),
			CustomerLanguage: r.PostFormValue("customer_language"),
			NoteToCustomer:   r.PostFormValue("note_to_customer"),
			UserEmails:       r.PostFormValue("user_emails"),
			NoteToUsers:      r.PostFormValue("note_to_users"),
			SubmissionKey:    r.PostFormValue("submission_key"),
		},
		DomainEditable: r.PostFormValue("domain_editable") == "1",
		Renews:         r.PostFormValue("renews"),
	}
}

// hidden is the form as hidden fields, for the review step.
func (f requestForm) hidden() []pages.HiddenField {
	editable := ""
	if f.DomainEditable {
		editable = "1"
	}
	return []pages.HiddenField{
		{Name: "name", Value: f.Name}, {Name: "domain", Value: f.Domain}, {Name: "domain_editable", Value: editable},
		{Name: "note_to_approver", Value: f.NoteToApprover}, {Name: "customer_emails", Value: f.CustomerEmails},
		{Name: "customer_language", Value: f.CustomerLanguage},
		{Name: "note_to_customer", Value: f.NoteToCustomer}, {Name: "user_emails", Value: f.UserEmails},
		{Name: "note_to_users", Value: f.NoteToUsers}, {Name: "submission_key", Value: f.SubmissionKey},
		{Name: "renews", Value: f.Renews},
	}
}

// requireAccessShell is the shell for pages only users with a role may use;
// others get the article's prerequisite.
func (s *Server) requireAccessShell(w http.ResponseWriter, r *http.Request, current string) (*layout.Shell, bool) {
	sh := s.shell(r, current)
	if sh.AccountName == "" {
		s.render(w, r, http.StatusForbidden, pages.NoAccess(pages.NoAccessView{
			Page: layout.Page{Title: i18n.T(r.Context(), "noaccess.title"), Shell: sh},
		}))
		return nil, false
	}
	return sh, true
}

// newRequest shows the empty form, the domain filled with the user's own.
func (s *Server) newRequest(w http.ResponseWriter, r *http.Request) error {
	sh, ok := s.requireAccessShell(w, r, layout.NavDirectory)
	if !ok {
		return nil
	}
	u, _ := currentUser(r.Context())
	// The customer's language starts as the one the partner reads.
	f := requestForm{AccountRequestInput: account.AccountRequestInput{Domain: account.DisplayDomain(account.EmailDomain(u.Email)),
		CustomerLanguage: i18n.Lang(r.Context())}}
	s.renderRequestForm(w, r, sh, http.StatusOK, f, nil)
	return nil
}

// requestStep handles the form's buttons: Edit (unlock the domain), Send
// Request (check, then review) and the review's Back.
func (s *Server) requestStep(w http.ResponseWriter, r *http.Request) error {
	sh, ok := s.requireAccessShell(w, r, layout.NavDirectory)
	if !ok {
		return nil
	}
	f := parseRequestForm(r)
	if _, err := s.loadRenewal(r, &f); err != nil {
		return err
	}
	switch r.PostFormValue("action") {
	case "edit":
		f.DomainEditable = true
		s.renderRequestForm(w, r, sh, http.StatusOK, f, nil)
		return nil
	case "back":
		s.renderRequestForm(w, r, sh, http.StatusOK, f, nil)
		return nil
	}
	return s.reviewRequest(w, r, sh, f)
}

// reviewRequest checks the form and shows "Review request", or the form
// again with a message beside each wrong field.
func (s *Server) reviewRequest(w http.ResponseWriter, r *http.Request, sh *layout.Shell, f requestForm) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	checked, err := s.requests.CheckRequest(ctx, u, f.AccountRequestInput)
	var fe account.FieldErrors
	if errors.As(err, &fe) {
		s.renderRequestForm(w, r, sh, http.StatusUnprocessableEntity, f, fe)
		return nil
	}
	if err != nil {
		return err
	}
	// A fresh key per review: submitting this review twice makes one request.
	f.SubmissionKey = account.NewSubmissionKey()
	none := i18n.T(ctx, "request.none")
	orNone := func(s string) string {
		if s == "" {
			return none
		}
		return s
	}
	rows := []pages.ReviewRow{
		{Label: i18n.T(ctx, "request.name"), Value: checked.Name},
		{Label: i18n.T(ctx, "request.domain"), Value: checked.DomainAsTyped},
		{Label: i18n.T(ctx, "request.note_to_approver"), Value: orNone(checked.NoteToApprover)},
		{Label: i18n.T(ctx, "request.customer_emails"), Value: strings.Join(checked.CustomerEmails, "\n")},
		{Label: i18n.T(ctx, "request.customer_language"), Value: languageName(ctx, checked.CustomerLanguage)},
		{Label: i18n.T(ctx, "request.note_to_customer"), Value: orNone(checked.NoteToCustomer)},
		{Label: i18n.T(ctx, "request.user_emails"), Value: orNone(strings.Join(checked.UserEmails, "\n"))},
		{Label: i18n.T(ctx, "request.note_to_users"), Value: orNone(checked.NoteToUsers)},
	}
	s.render(w, r, http.StatusOK, pages.RequestReview(pages.RequestReviewView{
		Page:    layout.Page{Title: i18n.T(ctx, "request.review_title"), Shell: sh},
		Rows:    rows,
		Hidden:  f.hidden(),
		Renewal: f.Renewal,
	}))
	return nil
}

// submitRequest is the review's Submit Request.
func (s *Server) submitRequest(w http.ResponseWriter, r *http.Request) error {
	sh, ok := s.requireAccessShell(w, r, layout.NavDirectory)
	if !ok {
		return nil
	}
	ctx := r.Context()
	u, _ := currentUser(ctx)
	f := parseRequestForm(r)
	renews, err := s.loadRenewal(r, &f)
	if err != nil {
		return err
	}
	var req account.AccountRequest
	if renews != 0 {
		req, err = s.requests.SubmitRenewal(ctx, u, renews, f.AccountRequestInput)
	} else {
		req, err = s.requests.SubmitRequest(ctx, u, f.AccountRequestInput)
	}
	var fe account.FieldErrors
	var limit *account.EmailLimitError
	if errors.As(err, &limit) {
		s.renderRequestForm(w, r, sh, http.StatusTooManyRequests, f, s.emailLimited(r, limit, "form"))
		return nil
	}
	if errors.As(err, &fe) {
		s.renderRequestForm(w, r, sh, http.StatusUnprocessableEntity, f, fe)
		return nil
	}
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "account requested", "account", req.Account.ID.String())
	s.flash(r, i18n.T(ctx, "request.complete"))
	return redirect(w, r, paths.Directory)
}

func (s *Server) renderRequestForm(w http.ResponseWriter, r *http.Request, sh *layout.Shell, status int, f requestForm, fe account.FieldErrors) {
	ctx := r.Context()
	fieldErr := func(name string) *components.FieldMessage { return fieldError(r, fe, name) }
	// A refused domain stays editable so the person can change it.
	editable := f.DomainEditable || fe["domain"].Msg != ""
	v := pages.RequestFormView{
		Page:    layout.Page{Title: i18n.T(ctx, "request.title"), Shell: sh},
		Renewal: f.Renewal,
		Renews:  f.Renews,
		Name: components.Field{ID: "name", Label: i18n.T(ctx, "request.name"), Value: f.Name, Type: "text",
			Required: true, MaxLength: account.MaxNameLength, Error: fieldErr("name")},
		Domain: components.Field{ID: "domain", Label: i18n.T(ctx, "request.domain"), Value: f.Domain, Type: "text",
			Required: true, ReadOnly: !editable, Hint: i18n.T(ctx, "request.domain_hint"), Error: fieldErr("domain")},
		DomainEditable: editable,
		NoteToApprover: components.Field{ID: "note_to_approver", Label: i18n.T(ctx, "request.note_to_approver"), Value: f.NoteToApprover,
			Type: "textarea", MaxLength: account.MaxNoteLength, Hint: i18n.T(ctx, "request.note_to_approver_hint"), Error: fieldErr("note_to_approver")},
		CustomerEmails: components.Field{ID: "customer_emails", Label: i18n.T(ctx, "request.customer_emails"), Value: f.CustomerEmails,
			Type: "textarea", Required: true, Hint: i18n.T(ctx, "request.customer_emails_hint"), Error: fieldErr("customer_emails")},
		CustomerLanguage: components.Field{ID: "customer_language", Label: i18n.T(ctx, "request.customer_language"),
			Value: f.CustomerLanguage, Type: "select", Options: languageChoices(ctx), Hint: i18n.T(ctx, "request.customer_language_hint"),
			Error: fieldErr("customer_language")},
		NoteToCustomer: components.Field{ID: "note_to_customer", Label: i18n.T(ctx, "request.note_to_customer"), Value: f.NoteToCustomer,
			Type: "textarea", MaxLength: account.MaxNoteLength, Error: fieldErr("note_to_customer")},
		UserEmails: components.Field{ID: "user_emails", Label: i18n.T(ctx, "request.user_emails"), Value: f.UserEmails,
			Type: "textarea", Hint: i18n.T(ctx, "request.user_emails_hint"), Error: fieldErr("user_emails")},
		NoteToUsers: components.Field{ID: "note_to_users", Label: i18n.T(ctx, "request.note_to_users"), Value: f.NoteToUsers,
			Type: "textarea", MaxLength: account.MaxNoteLength, Error: fieldErr("note_to_users")},
	}
	if len(fe) > 0 {
		v.FormError = i18n.T(ctx, "request.fix_errors")
		if e, ok := fe["form"]; ok {
			v.FormError = i18n.T(ctx, e.Msg, e.Args...)
		}
	}
	s.render(w, r, status, pages.RequestForm(v))
}
