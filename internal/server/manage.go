package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// manageMenu is the menu's "Account Management": nil unless the viewer
// administers an account.
func manageMenu(m account.ManagementMenu) *layout.Manage {
	if m.Accounts == 0 {
		return nil
	}
	return &layout.Manage{Pending: m.Pending}
}

// postedToAccount is how every form posted about one account starts: who
// posts it, to which account, with the form parsed.
func postedToAccount(r *http.Request) (account.User, account.AccountID, error) {
	u, _ := currentUser(r.Context())
	id, err := accountParam(r)
	if err != nil {
		return account.User{}, 0, err
	}
	if err := r.ParseForm(); err != nil {
		return account.User{}, 0, &httpError{status: http.StatusBadRequest, heading: "error.badrequest.heading", message: "error.badrequest.message"}
	}
	return u, id, nil
}

// postedToAccessRequest is postedToAccount for a form posted to one access
// request of the account, with the request's id.
func postedToAccessRequest(r *http.Request) (account.User, account.AccountID, int64, error) {
	u, id, err := postedToAccount(r)
	if err != nil {
		return account.User{}, 0, 0, err
	}
	rid, err := idParam(r, "request")
	if err != nil {
		return account.User{}, 0, 0, err
	}
	return u, id, rid, nil
}

// manage is "Account Management": the accounts the viewer administers.
func (s *Server) manage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	ms, err := s.access.ManagedAccounts(ctx, u)
	if err != nil {
		return err
	}
	v := pages.ManageView{Page: layout.Page{Title: i18n.T(ctx, "manage.heading"), Shell: s.shell(r, layout.NavManage), Flash: s.popFlash(r)}}
	for _, m := range ms {
		v.Accounts = append(v.Accounts, pages.ManagedRow{
			Name: m.Account.Name, ID: m.Account.ID.String(), Domain: account.DisplayDomain(m.Account.Domain), Pending: m.Pending,
			RequestsHref:   paths.AccountPart(m.Account.ID, "access-requests"),
			UsersHref:      paths.AccountPart(m.Account.ID, "users"),
			AutomationHref: paths.AccountPart(m.Account.ID, "automation"),
		})
	}
	s.render(w, r, http.StatusOK, pages.Manage(v))
	return nil
}

// allAccessRequests is "Pending Access Requests" of every account the
// viewer administers.
func (s *Server) allAccessRequests(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	rows, err := s.access.AllAccessRequests(ctx, u)
	if err != nil {
		return err
	}
	v := pages.AccessRequestsView{Capped: len(rows) == account.MaxListedAccessRequests}
	for _, p := range rows {
		v.Rows = append(v.Rows, accessRequestRow(r, p))
	}
	v.Page = layout.Page{Title: i18n.T(ctx, "nav.pending_access"), Shell: s.shell(r, layout.NavPending), Flash: s.popFlash(r)}
	s.render(w, r, http.StatusOK, pages.AccessRequests(v))
	return nil
}

// accountAccessRequests is one account's "Pending Access Requests", with
// the bulk form.
func (s *Server) accountAccessRequests(w http.ResponseWriter, r *http.Request) error {
	return s.renderAccountRequests(w, r, http.StatusOK, nil)
}

func (s *Server) renderAccountRequests(w http.ResponseWriter, r *http.Request, status int, errs map[string]string) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	a, rows, err := s.access.AccountAccessRequests(ctx, u, id)
	if err != nil {
		return err
	}
	_, _, vas, err := s.access.Automation(ctx, u, id)
	if err != nil {
		return err
	}
	v := pages.AccessRequestsView{
		Account: a.Name + " (" + a.ID.String() + ")",
		Capped:  len(rows) == account.MaxListedAccessRequests,
		Bulk:    &pages.BulkForm{Action: paths.AccountPart(id, "access-requests/bulk"), Roles: roleOptions(r), Available: options(vas), Errors: errs},
	}
	for _, p := range rows {
		v.Rows = append(v.Rows, accessRequestRow(r, p))
	}
	v.Page = layout.Page{Title: i18n.T(ctx, "nav.pending_access"), Shell: s.shell(r, layout.NavPending), Flash: s.popFlash(r)}
	s.render(w, r, status, pages.AccessRequests(v))
	return nil
}

func options(values []string) []pages.Option {
	out := make([]pages.Option, len(values))
	for i, v := range values {
		out[i] = pages.Option{Value: v, Label: v}
	}
	return out
}

func accessRequestRow(r *http.Request, p account.PendingAccess) pages.AccessRequestRow {
	ctx := r.Context()
	req := p.Request
	return pages.AccessRequestRow{
		ID:              strconv.FormatInt(req.ID, 10),
		Href:            paths.AccessRequest(p.Account.ID, req.ID),
		Requester:       req.RequesterName,
		RequesterEmail:  req.RequesterEmail,
		RequesterDomain: account.DisplayDomain(account.EmailDomain(req.RequesterEmail)),
		AccountDomain:   account.DisplayDomain(p.Account.Domain),
		DomainMismatch:  !p.DomainMatches,
		Account:         p.Account.Name + " (" + p.Account.ID.String() + ")",
		Asked:           scopeSummary(r, string(req.Role), string(req.Scope()), req.VirtualAccounts),
		Reason:          req.Reason,
		When:            i18n.DateTime(ctx, req.CreatedAt),
		Status:          i18n.T(ctx, "access.status."+string(req.Status)),
	}
}

// accessRequestPage opens one request, for an administrator of its account
// ("Decline" or "Next"; ?step=approve is the next step, "Scope of Access",
// "User Role" and "Approve") or for the user who asked; both see its
// conversation.
func (s *Server) accessRequestPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	rid, err := idParam(r, "request")
	if err != nil {
		return err
	}
	d, err := s.access.OpenAccessRequest(ctx, u, id, rid)
	if err != nil {
		return err
	}
	req := d.Request
	v := pages.AccessRequestView{
		Approving: r.URL.Query().Get("step") == "approve",
		Scope:     string(req.Scope()), Chosen: req.VirtualAccounts, Role: string(req.Role),
	}
	return s.renderAccessRequest(w, r, http.StatusOK, d, v, nil)
}

func (s *Server) renderAccessRequest(w http.ResponseWriter, r *http.Request, status int, d account.OpenedAccessRequest, v pages.AccessRequestView, refused *messageForm) error {
	ctx := r.Context()
	base := paths.AccessRequest(d.Account.ID, d.Request.ID)
	v.Row = accessRequestRow(r, d.PendingAccess)
	v.Requester = d.Side == account.SideRequester
	v.NextHref, v.BackHref = base+"?step=approve", base
	v.Approve, v.Decline = base+"/approve", base+"/decline"
	v.Roles, v.Available = roleOptions(r), options(d.VirtualAccounts)
	if d.Request.Status != account.AccessPending {
		v.Decided = decidedWords(r, d.Request)
	}
	v.Conversation = conversationView(r, d.Conversation, d.Request.Status == account.AccessPending,
		paths.AccessRequestAction(d.Account.ID, d.Request.ID, "messages"), refused)
	nav := layout.NavPending
	if v.Requester {
		nav = layout.NavDirectory
	}
	v.Page = layout.Page{Title: i18n.T(ctx, "manage.request.heading"), Shell: s.shell(r, nav), Flash: s.popFlash(r)}
	s.render(w, r, status, pages.AccessRequest(v))
	return nil
}

// decidedWords says how a request was decided, by whom and when.
func decidedWords(r *http.Request, req account.AccessRequest) string {
	ctx := r.Context()
	by := req.DecidedBy
	if req.Rule != "" {
		by = i18n.T(ctx, "manage.by_rule")
	}
	if req.Status == account.AccessApproved {
		return i18n.T(ctx, "manage.decided.approved", "By", by, "At", i18n.DateTime(ctx, req.DecidedAt),
			"What", scopeSummary(r, string(req.GrantedRole), scopeOf(req.GrantedVAs), req.GrantedVAs))
	}
	return i18n.T(ctx, "manage.decided.declined", "By", by, "At", i18n.DateTime(ctx, req.DecidedAt))
}

func scopeOf(vas []string) string {
	if len(vas) > 0 {
		return string(account.ScopeVirtual)
	}
	return string(account.ScopeAccount)
}

// decideAccess is "Approve" and "Decline" on one request.
func (s *Server) decideAccess(approve bool) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		u, id, rid, err := postedToAccessRequest(r)
		if err != nil {
			return err
		}
		in := account.AccessDecisionInput{
			Scope: r.PostForm.Get("scope"), VirtualAccounts: r.PostForm["va"],
			Role: r.PostForm.Get("role"), Reason: r.PostForm.Get("reason"),
		}
		decided, err := s.access.DecideAccess(ctx, u, id, rid, approve, in)
		if err == nil {
			s.flash(r, decidedWords(r, decided))
			return redirect(w, r, paths.AccountPart(id, "access-requests"))
		}
		// Refused: the page again, with the input and why, or with how
		// the request was decided meanwhile.
		var fe account.FieldErrors
		v, status := pages.AccessRequestView{}, http.StatusConflict
		switch {
		case errors.As(err, &fe):
			v = pages.AccessRequestView{Approving: approve, Scope: in.Scope, Chosen: in.VirtualAccounts, Role: in.Role,
				Reason: in.Reason, Errors: fieldMessages(r, fe)}
			status = http.StatusUnprocessableEntity
		case !errors.Is(err, account.ErrAccessRequestDecided):
			return err
		}
		d, err := s.access.OpenAccessRequest(ctx, u, id, rid)
		if err != nil {
			return err
		}
		return s.renderAccessRequest(w, r, status, d, v, nil)
	}
}

// bulkDecide approves (with one scope and role) or declines the selected
// requests.
func (s *Server) bulkDecide(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, id, err := postedToAccount(r)
	if err != nil {
		return err
	}
	var ids []int64
	for _, v := range r.PostForm["request"] {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return s.renderAccountRequests(w, r, http.StatusUnprocessableEntity, map[string]string{"requests": i18n.T(ctx, "manage.bulk.error.none")})
		}
		ids = append(ids, n)
	}
	in := account.AccessDecisionInput{
		Scope: r.PostForm.Get("scope"), VirtualAccounts: r.PostForm["va"],
		Role: r.PostForm.Get("role"), Reason: r.PostForm.Get("reason"),
	}
	decision := r.PostForm.Get("decision")
	if decision != "approve" && decision != "decline" {
		return &httpError{status: http.StatusBadRequest, heading: "error.badrequest.heading", message: "error.badrequest.message"}
	}
	res, err := s.access.DecideAccessBulk(ctx, u, id, ids, decision == "approve", in)
	var fe account.FieldErrors
	switch {
	case errors.As(err, &fe):
		return s.renderAccountRequests(w, r, http.StatusUnprocessableEntity, fieldMessages(r, fe))
	case err != nil:
		return err
	}
	s.flash(r, i18n.T(ctx, "manage.bulk.done", "Decided", res.Decided, "Already", res.AlreadyDecided))
	return redirect(w, r, paths.AccountPart(id, "access-requests"))
}
