package server

import (
	"net/http"

	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Path != "/" {
		return s.notFound(w, r)
	}
	sh := s.shell(r, layout.NavHome)
	s.render(w, r, http.StatusOK, pages.Home(pages.HomeView{
		Page:     layout.Page{Title: i18n.T(r.Context(), "home.title"), Shell: sh, Flash: s.popFlash(r)},
		SignedIn: sh != nil,
	}))
	return nil
}
