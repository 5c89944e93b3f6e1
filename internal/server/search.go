package server

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// search finds Smart Accounts by part of their name or domain.
func (s *Server) search(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	query := r.URL.Query().Get("q")
	sh := s.shell(r, layout.NavSearch)
	v := pages.SearchView{
		Page:  layout.Page{Title: i18n.T(ctx, "search.title"), Shell: sh, Flash: s.popFlash(r)},
		Query: query,
	}
	// An empty query is the page arriving from the menu: nothing to say yet.
	if strings.TrimSpace(query) != "" {
		res, err := s.listings.Search(ctx, u, query, pageParam(r.URL.Query(), "page"))
		switch {
		case errors.Is(err, account.ErrQueryTooShort):
			v.Message = i18n.T(ctx, "search.too_short", "Min", account.MinQueryLength)
		case errors.Is(err, account.ErrQueryTooLong):
			v.Message = i18n.T(ctx, "search.too_long", "Max", account.MaxFilterLength)
		case err != nil:
			return err
		default:
			v.Searched, v.Capped = true, res.Capped
			v.Rows = make([]components.AccountRow, 0, len(res.Items))
			for _, l := range res.Items {
				v.Rows = append(v.Rows, accountRow(ctx, l, query))
			}
			v.Pager = pager(i18n.T(ctx, "search.results"), paths.Search, url.Values{"q": {query}}, "page", res.Number, res.HasNext, "")
		}
	}
	s.render(w, r, http.StatusOK, pages.Search(v))
	return nil
}
