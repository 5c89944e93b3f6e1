package server

import (
	"errors"
	"net/http"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// "Request again": a denied, expired or withdrawn request opens its review
// filled with what it carried, one click from Submit Request and one Back
// from the form; it goes through every check as a new request.

// renewRequest is "Request again" on the page of the request for {accountID}.
func (s *Server) renewRequest(w http.ResponseWriter, r *http.Request) error {
	sh, ok := s.requireAccessShell(w, r, layout.NavDirectory)
	if !ok {
		return nil
	}
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	old, in, err := s.requests.Renewal(ctx, u, id)
	if err != nil {
		return notRenewable(r, id, err)
	}
	f := requestForm{AccountRequestInput: in, Renews: id.String(), Renewal: s.renewalNote(r, old)}
	// A domain other than the partner's own was typed with Edit.
	f.DomainEditable = in.Domain != account.DisplayDomain(account.EmailDomain(u.Email))
	return s.reviewRequest(w, r, sh, f)
}

// loadRenewal fills f.Renewal when f sends an ended request again, and
// returns that request's account; 0 for a first request. Each step checks
// again that the viewer may renew it: a crafted id finds nothing.
func (s *Server) loadRenewal(r *http.Request, f *requestForm) (account.AccountID, error) {
	if f.Renews == "" {
		return 0, nil
	}
	id, err := account.ParseShownAccountID(f.Renews)
	if err != nil {
		return 0, account.ErrNotFound
	}
	u, _ := currentUser(r.Context())
	old, _, err := s.requests.Renewal(r.Context(), u, id)
	if err != nil {
		return 0, notRenewable(r, id, err)
	}
	f.Renewal = s.renewalNote(r, old)
	return id, nil
}

// renewalNote is what the form and its review say of the request they send
// again: which, how it ended and, when denied, the approver's reason.
func (s *Server) renewalNote(r *http.Request, old account.AccountRequest) *pages.RenewalNote {
	ctx := r.Context()
	st := old.StatusAt(s.accounts.Clock().Now())
	return &pages.RenewalNote{
		Text: i18n.T(ctx, "renewal.note", "ID", old.Account.ID.String(), "Status", i18n.T(ctx, "request.status."+string(st))),
		Link: paths.RequestStatus(old.Account.ID), LinkText: i18n.T(ctx, "renewal.old_request"),
		Reason: old.DecisionReason,
	}
}

// notRenewable is the page for a request still pending or approved: a
// conflict that points to the request's own page.
func notRenewable(r *http.Request, id account.AccountID, err error) error {
	if errors.Is(err, account.ErrNotRenewable) {
		return &httpError{status: http.StatusConflict, heading: "renewal.not_renewable.heading", message: "renewal.not_renewable.message",
			nextHref: paths.RequestStatus(id), nextLabel: i18n.T(r.Context(), "renewal.old_request")}
	}
	return err
}
