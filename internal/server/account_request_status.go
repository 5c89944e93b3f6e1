package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// The partner's view of a request: where it stands, when it expires, whom it
// waits on and its history, with "Withdraw request" while nobody has decided.
// Its own page, so the directory and the account page can link to it.

// accountParam is the {accountID} of a route, the one name every route
// gives an account's id, in the one form pages and emails write it
// (SA-000123): any other spelling, a bare number included, names nothing
// and is a page (or an API answer) that does not exist.
func accountParam(r *http.Request) (account.AccountID, error) {
	id, err := account.ParseShownAccountID(chi.URLParam(r, "accountID"))
	if err != nil {
		return 0, account.ErrNotFound
	}
	return id, nil
}

// idParam is a route's numeric id called name (an API token, an email, an
// access request, a Virtual Account, a webhook endpoint or delivery):
// anything but a positive number names nothing.
func idParam(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, name), 10, 64)
	if err != nil || id <= 0 {
		return 0, account.ErrNotFound
	}
	return id, nil
}

func (s *Server) requestStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	return s.renderRequestStatus(w, r, id, http.StatusOK, nil)
}

// renderRequestStatus renders the page; change, when set, is a refused
// "Change approvers" to show again as typed.
func (s *Server) renderRequestStatus(w http.ResponseWriter, r *http.Request, id account.AccountID, status int, change *approversForm) error {
	return s.renderRequestStatusWith(w, r, id, status, change, nil)
}

// renderRequestStatusWith renders the page with a refused change of
// approvers or a refused message, either shown again as typed.
func (s *Server) renderRequestStatusWith(w http.ResponseWriter, r *http.Request, id account.AccountID, status int, change *approversForm, message *messageForm) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	st, err := s.requests.RequestState(ctx, u, id)
	if err != nil {
		return err
	}
	sh := s.shell(r, layout.NavDirectory)
	req := st.Request
	none := i18n.T(ctx, "request.none")
	orNone := func(s string) string {
		if s == "" {
			return none
		}
		return s
	}
	v := pages.RequestStatusView{
		Page:        layout.Page{Title: i18n.T(ctx, "requests.title"), Shell: sh, Flash: s.popFlash(r)},
		Heading:     i18n.T(ctx, "requests.heading", "Account", req.Account.Name, "ID", req.Account.ID.String()),
		Status:      i18n.T(ctx, "request.status."+string(st.Status)),
		StatusClass: string(st.Status),
		WaitingOn:   st.WaitingOn,
		Rows: []pages.ReviewRow{
			{Label: i18n.T(ctx, "request.name"), Value: req.Account.Name},
			{Label: i18n.T(ctx, "email.detail.account_id"), Value: req.Account.ID.String()},
			{Label: i18n.T(ctx, "request.domain"), Value: req.DomainAsTyped},
			{Label: i18n.T(ctx, "email.detail.requested_by"), Value: requesterLine(req)},
			{Label: i18n.T(ctx, "requests.requested_at"), Value: i18n.DateTime(ctx, req.CreatedAt)},
			{Label: i18n.T(ctx, "request.customer_emails"), Value: strings.Join(req.CustomerEmails, "\n")},
			{Label: i18n.T(ctx, "request.customer_language"), Value: languageName(ctx, req.CustomerLanguage)},
			{Label: i18n.T(ctx, "request.note_to_customer"), Value: orNone(req.NoteToCustomer)},
			{Label: i18n.T(ctx, "request.user_emails"), Value: orNone(strings.Join(req.UserEmails, "\n"))},
		},
	}
	if len(req.Held) > 0 && st.Status == account.RequestPending {
		// Outside the account's domain: no link goes until an operator
		// allows it. With nobody else to wait on, that is the status.
		v.Rows = append(v.Rows, pages.ReviewRow{Label: i18n.T(ctx, "request.status.review"), Value: strings.Join(req.Held, "\n")})
		if len(st.WaitingOn) == 0 {
			v.Status, v.StatusClass = i18n.T(ctx, "request.status.review"), "review"
		}
	}
	if len(req.UsersLeftOut) > 0 {
		v.Rows = append(v.Rows, pages.ReviewRow{Label: i18n.T(ctx, "requests.users_left_out"), Value: strings.Join(req.UsersLeftOut, "\n")})
	}
	switch st.Status {
	case account.RequestPending:
		v.Rows = append(v.Rows, pages.ReviewRow{Label: i18n.T(ctx, "email.detail.expires"), Value: i18n.DateTime(ctx, req.ExpiresAt)})
	case account.RequestExpired:
		v.Rows = append(v.Rows, pages.ReviewRow{Label: i18n.T(ctx, "requests.expired_at"), Value: i18n.DateTime(ctx, req.ExpiresAt)})
	default: // approved, denied or withdrawn: someone ended it
		v.Rows = append(v.Rows,
			pages.ReviewRow{Label: i18n.T(ctx, "requests."+string(st.Status)+"_by"), Value: req.DecidedBy},
			pages.ReviewRow{Label: i18n.T(ctx, "requests."+string(st.Status)+"_at"), Value: i18n.DateTime(ctx, req.DecidedAt)})
	}
	if req.DecisionReason != "" {
		v.Rows = append(v.Rows, pages.ReviewRow{Label: i18n.T(ctx, "pending.reason"), Value: req.DecisionReason})
	}
	if st.CanWithdraw {
		v.Withdraw = paths.RequestAction(id, "withdraw")
		if v.FollowUp, err = s.followUpView(r, id, change); err != nil {
			return err
		}
	}
	if st.CanRenew {
		v.RequestAgain = paths.RequestAction(id, "renew")
	}
	if v.Conversation, err = s.requestConversationView(r, st, message); err != nil {
		return err
	}
	v.EventLog = paths.RequestEvents(id)
	for _, e := range st.History {
		v.History = append(v.History, pages.HistoryRow{
			At: i18n.DateTime(ctx, e.At), Actor: e.Actor, What: i18n.T(ctx, "event."+e.Kind), Detail: eventDetail(ctx, e),
			Link: renewalLink(e),
		})
	}
	s.render(w, r, status, pages.RequestStatus(v))
	return nil
}

// withdrawRequest is "Withdraw request". One that lost to a decision, the
// expiry or a second click lands on the page showing what ended it.
func (s *Server) withdrawRequest(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	_, err = s.requests.Withdraw(ctx, u, id)
	var closed *account.RequestClosedError
	switch {
	case errors.As(err, &closed):
		s.flashNotPending(r, closed)
	case err != nil:
		return err
	default:
		s.log.InfoContext(ctx, "request withdrawn", "account", id.String())
		s.flash(r, i18n.T(ctx, "requests.withdrawn"))
	}
	return redirect(w, r, paths.RequestStatus(id))
}

// flashNotPending says why a partner's action on a request did nothing: it
// had already ended, as closed says.
func (s *Server) flashNotPending(r *http.Request, closed *account.RequestClosedError) {
	ctx := r.Context()
	st := closed.Request.StatusAt(s.accounts.Clock().Now())
	s.flash(r, i18n.T(ctx, "requests.not_pending", "Status", i18n.T(ctx, "request.status."+string(st))))
}
