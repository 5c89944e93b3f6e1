package server

import (
	"net/http"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// clcHome is Cisco License Central's landing page. A user with no role on
// any account gets the article's prerequisite instead.
func (s *Server) clcHome(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	access, err := s.accounts.AccessOf(ctx, u.ID)
	if err != nil {
		return err
	}
	sh := s.shell(r, layout.NavHome)
	if len(access) == 0 {
		s.render(w, r, http.StatusForbidden, pages.NoAccess(pages.NoAccessView{
			Page: layout.Page{Title: i18n.T(ctx, "noaccess.title"), Shell: sh, Flash: s.popFlash(r)},
		}))
		return nil
	}
	v := pages.CLCView{Page: layout.Page{Title: i18n.T(ctx, "clc.title"), Shell: sh, Flash: s.popFlash(r)}}
	for _, a := range access {
		v.Accounts = append(v.Accounts, pages.AccessRow{
			ID:     a.Account.ID.String(),
			Name:   a.Account.Name,
			Domain: account.DisplayDomain(a.Account.Domain),
			Role:   roleWords(ctx, account.Relation{Role: a.Role, VARole: a.VARole}),
			Status: i18n.T(ctx, "status."+string(a.Account.Status)),
		})
	}
	s.render(w, r, http.StatusOK, pages.CLC(v))
	return nil
}
