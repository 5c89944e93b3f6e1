package server

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// The Pending Request page is what an approver's emailed link opens. The
// token is the credential, so nobody signs in, and the pages use the public
// frame even for a signed-in visitor: whoever holds the link acts as its
// approver, not as their own account. Opening a link changes nothing (mail
// scanners open links too: not even a pending flash message is taken); each
// action is a POST from the page. After an action the page answers 303 to
// the link, which then shows what happened.

// pendingPage shows the request and its four actions, or why the link can
// no longer act.
func (s *Server) pendingPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderPending(w, r, http.StatusOK, nil)
}

// renderPending renders the page; refused, when set, is a refused message
// to show again as typed.
func (s *Server) renderPending(w http.ResponseWriter, r *http.Request, status int, refused *messageForm) error {
	token := chi.URLParam(r, "token")
	p, msgs, err := s.requests.OpenLinkWithMessages(r.Context(), token)
	if err != nil {
		return s.linkFailure(w, r, err, false)
	}
	if p.State != account.LinkLive {
		s.renderLinkClosed(w, r, p, false)
		return nil
	}
	ctx := r.Context()
	field := messageField(r, "", nil)
	if refused != nil {
		field = messageField(r, refused.Text, refused.Errors)
	}
	s.render(w, r, status, pages.Pending(pages.PendingView{
		Page:        layout.Page{Title: i18n.T(ctx, "pending.title")},
		Intro:       i18n.T(ctx, "pending.intro", "Requester", requesterLine(p.Request)),
		Rows:        s.pendingRows(r, p),
		Approve:     paths.PendingAction(token, "approve"),
		Forward:     s.forwardForm(r, token, "", nil, false),
		ForwardPage: paths.PendingAction(token, "forward"),
		Deny:        s.denyForm(r, token, "", nil, false),
		DenyPage:    paths.PendingAction(token, "deny"),
		Users:       p.Request.UserEmails,
		Conversation: pages.ConversationView{
			Messages: messageRows(ctx, msgs), Action: paths.PendingAction(token, "messages"), Field: field,
		},
		Seen: paths.PendingAction(token, "seen"),
	}))
	return nil
}

func (s *Server) forwardForm(r *http.Request, token, value string, fe *components.FieldMessage, ownPage bool) pages.ActionForm {
	ctx := r.Context()
	f := pages.ActionForm{
		Action: paths.PendingAction(token, "forward"), Heading: i18n.T(ctx, "pending.forward"),
		Intro: i18n.T(ctx, "pending.forward_intro"),
		Field: components.Field{ID: "forward_to", Label: i18n.T(ctx, "pending.forward_to"), Value: value, Type: "email",
			Required: true, MaxLength: account.MaxEmailLength, Autocomplete: "email", Error: fe},
		Submit: i18n.T(ctx, "pending.forward"), EmptyMessage: i18n.T(ctx, "pending.error.forward_required"),
		Cancel: i18n.T(ctx, "pending.cancel"),
	}
	if ownPage {
		f.CancelHref = paths.Pending(token)
	}
	return f
}

func (s *Server) denyForm(r *http.Request, token, value string, fe *components.FieldMessage, ownPage bool) pages.ActionForm {
	ctx := r.Context()
	f := pages.ActionForm{
		Action: paths.PendingAction(token, "deny"), Heading: i18n.T(ctx, "pending.deny"),
		Field: components.Field{ID: "reason", Label: i18n.T(ctx, "pending.reason"), Value: value, Type: "textarea",
			Required: true, MaxLength: account.MaxReasonLength, Hint: i18n.T(ctx, "pending.reason_hint"), Error: fe},
		Submit: i18n.T(ctx, "pending.deny"), Danger: true, EmptyMessage: i18n.T(ctx, "pending.error.reason_required"),
		Cancel: i18n.T(ctx, "pending.cancel"),
	}
	if ownPage {
		f.CancelHref = paths.Pending(token)
	}
	return f
}

// forwardPage and denyPage are the dialogs on pages of their own, for
// browsers without script.
func (s *Server) forwardPage(w http.ResponseWriter, r *http.Request) error {
	return s.pendingActionPage(w, r, http.StatusOK, func(token string) pages.ActionForm {
		return s.forwardForm(r, token, "", nil, true)
	})
}

func (s *Server) denyPage(w http.ResponseWriter, r *http.Request) error {
	return s.pendingActionPage(w, r, http.StatusOK, func(token string) pages.ActionForm {
		return s.denyForm(r, token, "", nil, true)
	})
}

func (s *Server) pendingActionPage(w http.ResponseWriter, r *http.Request, status int, form func(token string) pages.ActionForm) error {
	token := chi.URLParam(r, "token")
	p, err := s.requests.OpenLink(r.Context(), token)
	if err != nil {
		return s.linkFailure(w, r, err, false)
	}
	if p.State != account.LinkLive {
		s.renderLinkClosed(w, r, p, false)
		return nil
	}
	f := form(token)
	s.render(w, r, status, pages.PendingAction(pages.PendingActionView{
		Page: layout.Page{Title: f.Heading},
		Rows: s.pendingRows(r, p),
		Form: f,
	}))
	return nil
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request) error {
	token := chi.URLParam(r, "token")
	if err := r.ParseForm(); err != nil {
		return &httpError{status: http.StatusBadRequest, heading: "error.badrequest.heading", message: "error.badrequest.message"}
	}
	// Only the users still ticked get access: a box left out of the form,
	// by the approver or by whoever crafted it, adds nobody.
	req, err := s.requests.Approve(r.Context(), token, r.PostForm["add_user"])
	if err != nil {
		return s.linkFailure(w, r, err, true)
	}
	s.log.InfoContext(r.Context(), "request approved", "account", req.Account.ID.String())
	return redirect(w, r, paths.Pending(token))
}

func (s *Server) deny(w http.ResponseWriter, r *http.Request) error {
	token := chi.URLParam(r, "token")
	reason := r.PostFormValue("reason")
	req, err := s.requests.Deny(r.Context(), token, reason)
	var fe account.FieldErrors
	if errors.As(err, &fe) {
		return s.pendingActionPage(w, r, http.StatusUnprocessableEntity, func(token string) pages.ActionForm {
			return s.denyForm(r, token, reason, fieldError(r, fe, "reason"), true)
		})
	}
	if err != nil {
		return s.linkFailure(w, r, err, true)
	}
	s.log.InfoContext(r.Context(), "request denied", "account", req.Account.ID.String())
	return redirect(w, r, paths.Pending(token))
}

func (s *Server) forward(w http.ResponseWriter, r *http.Request) error {
	token := chi.URLParam(r, "token")
	to := r.PostFormValue("forward_to")
	_, err := s.requests.Forward(r.Context(), token, to)
	var fe account.FieldErrors
	var limit *account.EmailLimitError
	if errors.As(err, &limit) {
		fe = s.emailLimited(r, limit, "forward_to")
		return s.pendingActionPage(w, r, http.StatusTooManyRequests, func(token string) pages.ActionForm {
			return s.forwardForm(r, token, to, fieldError(r, fe, "forward_to"), true)
		})
	}
	if errors.As(err, &fe) {
		return s.pendingActionPage(w, r, http.StatusUnprocessableEntity, func(token string) pages.ActionForm {
			return s.forwardForm(r, token, to, fieldError(r, fe, "forward_to"), true)
		})
	}
	if err != nil {
		return s.linkFailure(w, r, err, true)
	}
	s.log.InfoContext(r.Context(), "request forwarded")
	return redirect(w, r, paths.Pending(token))
}

// linkFailure answers a link that cannot act: the page saying why, or an
// error for the responder.
func (s *Server) linkFailure(w http.ResponseWriter, r *http.Request, err error, posted bool) error {
	var closed *account.LinkClosedError
	switch {
	case errors.As(err, &closed):
		s.renderLinkClosed(w, r, closed.Link, posted)
		return nil
	case errors.Is(err, account.ErrNotFound):
		return &httpError{status: http.StatusNotFound, heading: "pending.unknown.heading", message: "pending.unknown.message",
			nextHref: paths.Home, nextLabel: i18n.T(r.Context(), "pending.home")}
	}
	return err
}

// renderLinkClosed says why a link can no longer act and what to do next:
// 410 Gone, except that an action on a request someone already decided is
// a 409 Conflict that shows the decision.
func (s *Server) renderLinkClosed(w http.ResponseWriter, r *http.Request, p account.PendingLink, posted bool) {
	ctx := r.Context()
	req := p.Request
	status := http.StatusGone
	v := pages.LinkClosedView{
		Rows:      s.pendingRows(r, p),
		NextHref:  paths.Home,
		NextLabel: i18n.T(ctx, "pending.home"),
	}
	self := req.DecidedBy == p.Link.Email
	switch p.State {
	case account.LinkDecided:
		if posted {
			status = http.StatusConflict
		}
		kind := string(req.Status) // approved or denied
		v.Heading = i18n.T(ctx, "pending.closed."+kind+".heading")
		if self {
			v.Message = i18n.T(ctx, "pending.closed."+kind+".you", "At", i18n.DateTime(ctx, req.DecidedAt))
		} else {
			v.Message = i18n.T(ctx, "pending.closed."+kind+".by", "By", req.DecidedBy, "At", i18n.DateTime(ctx, req.DecidedAt))
		}
		if req.Status == account.RequestDenied {
			v.Rows = append(v.Rows, pages.ReviewRow{Label: i18n.T(ctx, "pending.reason"), Value: req.DecisionReason})
		} else {
			v.NextHref, v.NextLabel = paths.CLC, i18n.T(ctx, "error.home")
		}
	case account.LinkWithdrawn:
		v.Heading = i18n.T(ctx, "pending.closed.withdrawn.heading")
		v.Message = i18n.T(ctx, "pending.closed.withdrawn.message", "Requester", requesterLine(req), "At", i18n.DateTime(ctx, req.DecidedAt))
	case account.LinkExpired:
		v.Heading = i18n.T(ctx, "pending.closed.expired.heading")
		v.Message = i18n.T(ctx, "pending.closed.expired.message", "Requester", requesterLine(req), "At", i18n.DateTime(ctx, req.ExpiresAt))
	case account.LinkForwarded:
		v.Heading = i18n.T(ctx, "pending.closed.forwarded.heading")
		v.Message = i18n.T(ctx, "pending.closed.forwarded.message", "To", p.Link.ForwardedTo, "At", i18n.DateTime(ctx, p.Link.RevokedAt))
	case account.LinkRemoved:
		v.Heading = i18n.T(ctx, "pending.closed.removed.heading")
		v.Message = i18n.T(ctx, "pending.closed.removed.message", "Requester", requesterLine(req), "At", i18n.DateTime(ctx, p.Link.RevokedAt))
	case account.LinkReplaced:
		v.Heading = i18n.T(ctx, "pending.closed.replaced.heading")
		v.Message = i18n.T(ctx, "pending.closed.replaced.message", "At", i18n.DateTime(ctx, p.Link.RotatedAt))
	}
	st := req.StatusAt(s.accounts.Clock().Now())
	v.Status, v.StatusClass = i18n.T(ctx, "request.status."+string(st)), string(st)
	v.Page = layout.Page{Title: v.Heading}
	s.render(w, r, status, pages.LinkClosed(v))
}

// pendingRows is the request as its approver sees it.
func (s *Server) pendingRows(r *http.Request, p account.PendingLink) []pages.ReviewRow {
	ctx := r.Context()
	req := p.Request
	none := i18n.T(ctx, "request.none")
	orNone := func(s string) string {
		if s == "" {
			return none
		}
		return s
	}
	return []pages.ReviewRow{
		{Label: i18n.T(ctx, "request.name"), Value: req.Account.Name},
		{Label: i18n.T(ctx, "request.domain"), Value: req.DomainAsTyped},
		{Label: i18n.T(ctx, "email.detail.requested_by"), Value: requesterLine(req)},
		{Label: i18n.T(ctx, "pending.partner"), Value: orNone(req.PartnerName)},
		{Label: i18n.T(ctx, "request.note_to_customer"), Value: orNone(req.NoteToCustomer)},
		{Label: i18n.T(ctx, "pending.approver"), Value: p.Link.Email},
		{Label: i18n.T(ctx, "email.detail.expires"), Value: i18n.DateTime(ctx, req.ExpiresAt)},
	}
}

// requesterLine names who asked: "Ada Lovelace <ada@partner.example>".
func requesterLine(r account.AccountRequest) string {
	if r.RequesterName == "" {
		return r.Requester
	}
	return r.RequesterName + " <" + r.Requester + ">"
}
