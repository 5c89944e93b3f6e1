package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/pages"
)

// The partner follows a pending request up on its page: each approver's
// email and how it fared, "Resend email", and "Change approvers".

// approversForm is "Change approvers": the whole list of customer
// addresses, as the request form's field takes them.
type approversForm struct {
	CustomerEmails string
	Errors         account.FieldErrors
}

func (s *Server) followUpView(r *http.Request, id account.AccountID, change *approversForm) (*pages.FollowUpView, error) {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	approvers, err := s.requests.Approvers(ctx, u, id)
	if err != nil {
		return nil, err
	}
	v := &pages.FollowUpView{
		ResendAction: paths.RequestAction(id, "resend"),
		ChangeAction: paths.RequestAction(id, "approvers"),
	}
	var current []string
	for _, a := range approvers {
		row := pages.ApproverRow{Email: a.Email, Delivery: i18n.T(ctx, "followup.delivery."+string(a.Delivery)), DeliveryClass: string(a.Delivery)}
		switch {
		case a.Delivery == account.DeliverySent:
			row.Detail = i18n.T(ctx, "followup.sent_at", "At", i18n.DateTime(ctx, a.At))
		case a.Failure != account.FailureNone:
			row.Detail = i18n.T(ctx, "followup.failure."+string(a.Failure))
		}
		v.Approvers = append(v.Approvers, row)
		current = append(current, a.Email)
	}
	v.Change = components.Field{ID: "customer_emails", Label: i18n.T(ctx, "request.customer_emails"),
		Value: strings.Join(current, "\n"), Type: "textarea", Required: true, Hint: i18n.T(ctx, "followup.change_hint")}
	if change != nil {
		v.Change.Value = change.CustomerEmails
		v.Change.Error = fieldError(r, change.Errors, "customer_emails")
	}
	return v, nil
}

// resendApproval is "Resend email": the approver gets a new link and the old
// one stops working. A refusal (the hourly limit, a request no longer
// pending) is said on the page it lands on.
func (s *Server) resendApproval(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	to := r.PostFormValue("approver")
	err = s.requests.Resend(ctx, u, id, to)
	var limit *account.ResendLimitError
	var emailLimit *account.EmailLimitError
	var closed *account.RequestClosedError
	var fe account.FieldErrors
	switch {
	case errors.As(err, &emailLimit):
		s.flash(r, s.emailLimitText(r, emailLimit))
	case errors.As(err, &limit):
		s.flash(r, i18n.T(ctx, "followup.resend_limit", "Max", account.MaxResendsPerWindow, "At", i18n.DateTime(ctx, limit.RetryAt)))
	case errors.As(err, &closed):
		s.flashNotPending(r, closed)
	case errors.As(err, &fe):
		s.flash(r, i18n.T(ctx, fe["approver"].Msg, "Email", to))
	case err != nil:
		return err
	default:
		s.log.InfoContext(ctx, "approval email resent", "account", id.String())
		s.flash(r, i18n.T(ctx, "followup.resent", "Email", strings.ToLower(strings.TrimSpace(to))))
	}
	return redirect(w, r, paths.RequestStatus(id))
}

// changeApprovers is "Change approvers"; a refused list re-renders the page
// with what was typed and why.
func (s *Server) changeApprovers(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	f := approversForm{CustomerEmails: r.PostFormValue("customer_emails")}
	changed, err := s.requests.ChangeApprovers(ctx, u, id, f.CustomerEmails)
	var closed *account.RequestClosedError
	var limit *account.EmailLimitError
	if errors.As(err, &limit) {
		f.Errors = s.emailLimited(r, limit, "customer_emails")
		return s.renderRequestStatus(w, r, id, http.StatusTooManyRequests, &f)
	}
	switch {
	case errors.As(err, &f.Errors):
		return s.renderRequestStatus(w, r, id, http.StatusUnprocessableEntity, &f)
	case errors.As(err, &closed):
		s.flashNotPending(r, closed)
	case err != nil:
		return err
	case len(changed.Added) == 0 && len(changed.Removed) == 0 && len(changed.Held) == 0:
		s.flash(r, i18n.T(ctx, "followup.unchanged"))
	case len(changed.Held) > 0:
		s.log.InfoContext(ctx, "approvers changed", "account", id.String(),
			"added", len(changed.Added), "removed", len(changed.Removed), "held", len(changed.Held))
		s.flash(r, i18n.T(ctx, "followup.changed_held", "Added", orDash(strings.Join(changed.Added, ", ")),
			"Removed", orDash(strings.Join(changed.Removed, ", ")), "Held", strings.Join(changed.Held, ", ")))
	default:
		s.log.InfoContext(ctx, "approvers changed", "account", id.String(),
			"added", len(changed.Added), "removed", len(changed.Removed))
		s.flash(r, i18n.T(ctx, "followup.changed", "Added", orDash(strings.Join(changed.Added, ", ")),
			"Removed", orDash(strings.Join(changed.Removed, ", "))))
	}
	return redirect(w, r, paths.RequestStatus(id))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
