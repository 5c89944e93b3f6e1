package server

import (
	"errors"
	"net/http"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/pages"
)

// accessRequestMessage is a message on an access request, from the user who
// asked or an administrator of its account; a refused one shows the page
// again with what was typed, and a request decided meanwhile says how.
func (s *Server) accessRequestMessage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, id, rid, err := postedToAccessRequest(r)
	if err != nil {
		return err
	}
	text := r.PostForm.Get("message")
	err = s.access.PostAccessMessage(ctx, u, id, rid, text)
	var decided *account.AccessRequestDecidedError
	switch {
	case err == nil:
		s.log.InfoContext(ctx, "access request message", "account", id.String(), "request", rid)
		s.flash(r, i18n.T(ctx, "conversation.sent"))
		return redirect(w, r, paths.AccessRequestConversation(id, rid))
	case errors.As(err, &decided):
		s.flash(r, decidedWords(r, decided.Request))
		return redirect(w, r, paths.AccessRequestConversation(id, rid))
	}
	fe, status, err := s.messageRefusal(r, err)
	if err != nil {
		return err
	}
	d, err := s.access.OpenAccessRequest(ctx, u, id, rid)
	if err != nil {
		return err
	}
	req := d.Request
	v := pages.AccessRequestView{Scope: string(req.Scope()), Chosen: req.VirtualAccounts, Role: string(req.Role)}
	return s.renderAccessRequest(w, r, status, d, v, &messageForm{Text: text, Errors: fe})
}
