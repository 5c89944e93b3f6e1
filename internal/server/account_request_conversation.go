package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/pages"
)

// The conversation on a request: the approver writes from the Pending
// Request page, the partner and operators from the request's page. A
// message is text: the pages show it as text and never make a link of it.

// messageRows are a conversation's messages in the viewer's language.
func messageRows(ctx context.Context, events []account.Event) []pages.MessageRow {
	rows := make([]pages.MessageRow, 0, len(events))
	for _, e := range events {
		rows = append(rows, pages.MessageRow{
			At: i18n.DateTime(ctx, e.At), Who: e.Actor, Side: i18n.T(ctx, "conversation.side."+e.Params.Side), Text: e.Params.Message,
		})
	}
	return rows
}

// messageField is the form's one field, holding what was typed when the
// message was refused.
func messageField(r *http.Request, value string, fe account.FieldErrors) components.Field {
	ctx := r.Context()
	return components.Field{ID: "message", Label: i18n.T(ctx, "conversation.message"), Value: value, Type: "textarea",
		Required: true, MaxLength: account.MaxMessageLength, Hint: i18n.T(ctx, "conversation.hint", "Max", account.MaxMessageLength),
		Error: fieldError(r, fe, "message")}
}

// messageRefusal sorts a refused message into the field's error (with the
// status to answer), or returns the error for the responder.
func (s *Server) messageRefusal(r *http.Request, err error) (account.FieldErrors, int, error) {
	var fe account.FieldErrors
	var limit *account.EmailLimitError
	switch {
	case errors.As(err, &limit):
		return s.emailLimited(r, limit, "message"), http.StatusTooManyRequests, nil
	case errors.As(err, &fe):
		return fe, http.StatusUnprocessableEntity, nil
	}
	return nil, 0, err
}

// approverMessage is an approver's message from the Pending Request page; a
// refused one shows the page again with what was typed.
func (s *Server) approverMessage(w http.ResponseWriter, r *http.Request) error {
	token := chi.URLParam(r, "token")
	text := r.PostFormValue("message")
	err := s.requests.PostApproverMessage(r.Context(), token, text)
	if err == nil {
		s.log.InfoContext(r.Context(), "request message", "side", account.SideApprover)
		return redirect(w, r, paths.Pending(token)+"#conversation")
	}
	fe, status, err := s.messageRefusal(r, err)
	if err != nil {
		return s.linkFailure(w, r, err, true)
	}
	return s.renderPending(w, r, status, &messageForm{Text: text, Errors: fe})
}

// pendingSeen is the page's script saying a person saw it.
func (s *Server) pendingSeen(w http.ResponseWriter, r *http.Request) error {
	if err := s.requests.Seen(r.Context(), chi.URLParam(r, "token")); err != nil {
		var closed *account.LinkClosedError
		if errors.As(err, &closed) || errors.Is(err, account.ErrNotFound) {
			w.WriteHeader(http.StatusNoContent) // nothing to record, nothing to say
			return nil
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// messageForm is a refused message, to show again as typed.
type messageForm struct {
	Text   string
	Errors account.FieldErrors
}

// requestMessage is the partner's or an operator's message from the
// request's page.
func (s *Server) requestMessage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	text := r.PostFormValue("message")
	err = s.requests.PostMessage(ctx, u, id, text)
	var closed *account.RequestClosedError
	switch {
	case err == nil:
		s.log.InfoContext(ctx, "request message", "account", id.String())
		s.flash(r, i18n.T(ctx, "conversation.sent"))
		return redirect(w, r, paths.RequestConversation(id))
	case errors.As(err, &closed):
		s.flashNotPending(r, closed)
		return redirect(w, r, paths.RequestConversation(id))
	}
	fe, status, err := s.messageRefusal(r, err)
	if err != nil {
		return err
	}
	return s.renderRequestStatusWith(w, r, id, status, nil, &messageForm{Text: text, Errors: fe})
}

// requestConversationView is the conversation on the request's page.
func (s *Server) requestConversationView(r *http.Request, st account.AccountRequestState, refused *messageForm) (pages.ConversationView, error) {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	c, err := s.requests.RequestConversation(ctx, u, st)
	if err != nil {
		return pages.ConversationView{}, err
	}
	return conversationView(r, c, st.Status == account.RequestPending, paths.RequestAction(st.Request.Account.ID, "messages"), refused), nil
}

// conversationView is a conversation as a request's page shows it, an
// account request's or an access request's: its messages, and the form
// posting to action while the viewer may write, or why nobody writes any
// more once the request no longer waits (open false).
func conversationView(r *http.Request, c account.Conversation, open bool, action string, refused *messageForm) pages.ConversationView {
	ctx := r.Context()
	v := pages.ConversationView{Messages: messageRows(ctx, c.Messages)}
	switch {
	case c.CanWrite:
		v.Action = action
		v.Field = messageField(r, "", nil)
		if refused != nil {
			v.Field = messageField(r, refused.Text, refused.Errors)
		}
	case !open:
		v.Closed = i18n.T(ctx, "conversation.closed")
	}
	return v
}
