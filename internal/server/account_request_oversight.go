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

// The operator's queue: every pending request, with the Note to Cisco
// Approver, which a Cisco operator may approve or deny themselves.

// opsInput is what one request's form carried, to keep on a re-render.
type opsInput struct {
	id     account.AccountID
	admin  string
	reason string
	fe     account.FieldErrors
}

func (s *Server) opsRequests(w http.ResponseWriter, r *http.Request) error {
	return s.renderOpsRequests(w, r, http.StatusOK, opsInput{})
}

func (s *Server) renderOpsRequests(w http.ResponseWriter, r *http.Request, status int, in opsInput) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	queue, err := s.requests.PendingQueue(ctx, u)
	if err != nil {
		return err
	}
	sh := s.shell(r, layout.NavOperator)
	v := pages.OpsRequestsView{Page: layout.Page{Title: i18n.T(ctx, "ops.requests.title"), Shell: sh, Flash: s.popFlash(r)}}
	none := i18n.T(ctx, "request.none")
	orNone := func(s string) string {
		if s == "" {
			return none
		}
		return s
	}
	for _, p := range queue {
		req := p.Request
		id := req.Account.ID.String()
		q := pages.OpsRequest{
			ID:      id,
			Heading: i18n.T(ctx, "requests.heading", "Account", req.Account.Name, "ID", id),
			Rows: []pages.ReviewRow{
				{Label: i18n.T(ctx, "request.domain"), Value: req.DomainAsTyped},
				{Label: i18n.T(ctx, "email.detail.requested_by"), Value: requesterLine(req)},
				{Label: i18n.T(ctx, "pending.partner"), Value: orNone(req.PartnerName)},
				{Label: i18n.T(ctx, "requests.requested_at"), Value: i18n.DateTime(ctx, req.CreatedAt)},
				{Label: i18n.T(ctx, "email.detail.expires"), Value: i18n.DateTime(ctx, req.ExpiresAt)},
				{Label: i18n.T(ctx, "request.note_to_approver"), Value: orNone(req.NoteToApprover)},
				{Label: i18n.T(ctx, "requests.waiting_on"), Value: strings.Join(p.WaitingOn, "\n")},
				{Label: i18n.T(ctx, "request.note_to_customer"), Value: orNone(req.NoteToCustomer)},
				{Label: i18n.T(ctx, "request.user_emails"), Value: orNone(strings.Join(req.UserEmails, "\n"))},
			},
			Approve: paths.OpsRequestAction(req.Account.ID, "approve"),
			Deny:    paths.OpsRequestAction(req.Account.ID, "deny"),
			AdminID: "admin-" + id,
			Admins:  p.WaitingOn,
			Outside: p.Outside,
			Held:    req.Held,
			Allow:   paths.OpsRequestAction(req.Account.ID, "allow"),
			Users:   req.UserEmails,
			Page:    paths.RequestConversation(req.Account.ID),
			Reason: components.Field{ID: "reason-" + id, Name: "reason", Label: i18n.T(ctx, "pending.reason"), Type: "textarea",
				Required: true, MaxLength: account.MaxReasonLength, Hint: i18n.T(ctx, "pending.reason_hint")},
		}
		if p.NoResponse {
			q.NoResponse = i18n.T(ctx, "ops.requests.no_response_hint", "Days", int(account.NoResponseAfter.Hours()/24))
		}
		if d := p.DomainAdmins; d != nil {
			q.Assign = paths.OpsRequestAction(req.Account.ID, "assign")
			q.AssignTo = i18n.T(ctx, "ops.requests.assign_to", "Account", d.Account.Name, "ID", d.Account.ID.String(),
				"Emails", strings.Join(d.Admins, ", "))
		}
		if in.id == req.Account.ID {
			q.AdminPick, q.Reason.Value = in.admin, in.reason
			q.Reason.Error = fieldError(r, in.fe, "reason")
			if e := fieldError(r, in.fe, "admin"); e != nil {
				q.Error = e.Text
			}
		}
		v.Requests = append(v.Requests, q)
	}
	s.render(w, r, status, pages.OpsRequests(v))
	return nil
}

func (s *Server) opsApprove(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	admin := r.PostFormValue("admin")
	req, err := s.requests.OperatorApprove(ctx, u, id, admin, r.PostForm["add_user"])
	if err != nil {
		return s.opsRefused(w, r, err, opsInput{id: id, admin: admin})
	}
	s.log.InfoContext(ctx, "request approved by operator", "account", id.String())
	s.flash(r, i18n.T(ctx, "ops.requests.approved", "Account", req.Account.Name))
	return redirect(w, r, paths.OpsRequests)
}

// opsAllow lets an approver address that awaits review have its link.
func (s *Server) opsAllow(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	addr := r.PostFormValue("approver")
	if err := s.requests.AllowApprover(ctx, u, id, addr); err != nil {
		var fe account.FieldErrors
		if errors.As(err, &fe) {
			// The one field is a hidden one: its message goes with the request.
			err = account.FieldErrors{"admin": fe["approver"]}
		}
		return s.opsRefused(w, r, err, opsInput{id: id})
	}
	s.log.WarnContext(ctx, "approver outside the account's domain allowed by operator", "account", id.String(), "approver", addr)
	s.flash(r, i18n.T(ctx, "ops.requests.allowed", "Email", addr))
	return redirect(w, r, paths.OpsRequests)
}

// opsAssign gives a request nobody answered the administrators of the
// account its domain falls under as approvers.
func (s *Server) opsAssign(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	to, err := s.requests.AssignDomainAdmins(ctx, u, id)
	var limit *account.EmailLimitError
	if errors.As(err, &limit) {
		err = s.emailLimited(r, limit, "admin")
	}
	if err != nil {
		return s.opsRefused(w, r, err, opsInput{id: id})
	}
	s.log.WarnContext(ctx, "request assigned to its domain's administrators by operator", "account", id.String(), "approvers", to)
	s.flash(r, i18n.T(ctx, "ops.requests.assigned", "Emails", strings.Join(to, ", ")))
	return redirect(w, r, paths.OpsRequests)
}

func (s *Server) opsDeny(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	reason := r.PostFormValue("reason")
	req, err := s.requests.OperatorDeny(ctx, u, id, reason)
	if err != nil {
		return s.opsRefused(w, r, err, opsInput{id: id, reason: reason})
	}
	s.log.InfoContext(ctx, "request denied by operator", "account", id.String())
	s.flash(r, i18n.T(ctx, "ops.requests.denied", "Account", req.Account.Name))
	return redirect(w, r, paths.OpsRequests)
}

// opsRefused answers an operator's decision that did not happen: the queue
// again with the message beside the request (422), or, when the request is
// no longer pending, a 409 saying what ended it.
func (s *Server) opsRefused(w http.ResponseWriter, r *http.Request, err error, in opsInput) error {
	ctx := r.Context()
	var fe account.FieldErrors
	var closed *account.RequestClosedError
	switch {
	case errors.As(err, &fe):
		in.fe = fe
		return s.renderOpsRequests(w, r, http.StatusUnprocessableEntity, in)
	case errors.As(err, &closed):
		req := closed.Request
		st := i18n.T(ctx, "request.status."+string(req.StatusAt(s.accounts.Clock().Now())))
		he := &httpError{status: http.StatusConflict, heading: "ops.requests.closed.heading", message: "ops.requests.closed.message",
			args: []any{"Account", req.Account.Name, "Status", st}, nextHref: paths.OpsRequests, nextLabel: i18n.T(ctx, "ops.requests.title")}
		if req.DecidedBy != "" {
			he.message = "ops.requests.closed.by"
			he.args = append(he.args, "By", req.DecidedBy, "At", i18n.DateTime(ctx, req.DecidedAt))
		}
		return he
	}
	return err
}
