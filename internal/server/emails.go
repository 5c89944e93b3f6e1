package server

import (
	"net/http"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

const emailsPerPage = 50

// emails lists the outbox for operators: each email's state, attempts and
// last error.
func (s *Server) emails(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	// A page past the cap, or a number too large for an int, is the last
	// page the cap allows: (page-1)*emailsPerPage must never overflow.
	page := pageParam(r.URL.Query(), "page")
	// One more than a page tells whether an older page exists, without a count.
	list, err := s.accounts.RecentEmails(ctx, u, emailsPerPage+1, (page-1)*emailsPerPage)
	if err != nil {
		return err
	}
	sh := s.shell(r, layout.NavEmails)
	v := pages.EmailsView{Page: layout.Page{Title: i18n.T(ctx, "ops.emails.title"), Shell: sh, Flash: s.popFlash(r)}}
	if len(list) > emailsPerPage {
		list = list[:emailsPerPage]
		v.Older = paths.OpsEmailsPage(page + 1)
	}
	if page > 1 {
		v.Newer = paths.OpsEmailsPage(page - 1)
	}
	for _, e := range list {
		v.Rows = append(v.Rows, pages.EmailRow{
			ID: e.ID, Created: i18n.DateTime(ctx, e.CreatedAt), To: e.Email.To,
			Kind: i18n.T(ctx, "email.kind."+string(e.Email.Kind)), Language: languageName(ctx, e.Email.Lang), State: string(e.State), StateWord: i18n.T(ctx, "email.state."+string(e.State)),
			Attempts: e.Attempts, LastError: e.LastError, CanRetry: e.State == account.EmailFailed,
		})
	}
	s.render(w, r, http.StatusOK, pages.Emails(v))
	return nil
}

func (s *Server) retryEmail(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	if err := s.accounts.RetryEmail(ctx, u, id); err != nil {
		return err
	}
	s.flash(r, i18n.T(ctx, "ops.emails.retried"))
	return redirect(w, r, paths.OpsEmails)
}
