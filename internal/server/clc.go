package server

import (
	"net/http"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// clcHome is Cisco License Central's landing page: the first of the
// accounts the user can access, how many there are, and the way to all of
// them. A user with no role on any account gets the article's prerequisite
// instead.
func (s *Server) clcHome(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	access, err := s.listings.Landing(ctx, u)
	if err != nil {
		return err
	}
	sh := s.shell(r, layout.NavHome)
	if access.Total == 0 && len(access.Items) == 0 {
		s.render(w, r, http.StatusForbidden, pages.NoAccess(pages.NoAccessView{
			Page: layout.Page{Title: i18n.T(ctx, "noaccess.title"), Shell: sh, Flash: s.popFlash(r)},
		}))
		return nil
	}
	total := max(access.Total, len(access.Items))
	v := pages.CLCView{
		Page:  layout.Page{Title: i18n.T(ctx, "clc.title"), Shell: sh, Flash: s.popFlash(r)},
		Total: total,
	}
	if total > len(access.Items) {
		v.Shown = i18n.N(ctx, "directory.total", total, "Shown", len(access.Items))
		v.ShowAll = paths.DirectorySectionPage(string(account.SectionAccess))
	}
	for _, l := range access.Items {
		v.Accounts = append(v.Accounts, pages.AccessRow{
			ID:     l.Account.ID.String(),
			Name:   l.Account.Name,
			Domain: account.DisplayDomain(l.Account.Domain),
			Role:   roleWords(ctx, l.Relation),
			Status: i18n.T(ctx, "status."+string(l.Account.Status)),
		})
	}
	s.render(w, r, http.StatusOK, pages.CLC(v))
	return nil
}
