package server

import (
	"context"
	"net/http"
	"net/url"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// accountPage shows a Smart Account, as much of it as the viewer may see.
func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) error {
	id, err := accountParam(r)
	if err != nil {
		return err
	}
	return s.renderAccountPage(w, r, id, http.StatusOK, nil)
}

// renderAccountPage renders the page; typed, when set, is a refused change
// of a Virtual Account to show again as typed.
func (s *Server) renderAccountPage(w http.ResponseWriter, r *http.Request, id account.AccountID, code int, typed *virtualAccountForm) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	q := r.URL.Query()
	d, err := s.listings.AccountPage(ctx, u, account.AccountPageQuery{
		ID: id, Query: q.Get("q"), HoldersPage: pageParam(q, "holders_page"), EventsPage: pageParam(q, "events_page"),
	})
	if err != nil {
		return err
	}
	sh := s.shell(r, layout.NavDirectory)
	a := d.Account
	v := pages.AccountView{
		Page:   layout.Page{Title: a.Name, Shell: sh, Flash: s.popFlash(r)},
		Name:   a.Name,
		ID:     a.ID.String(),
		Domain: account.DisplayDomain(a.Domain),
		Status: status(ctx, a.Status),
		Role:   roleWords(ctx, d.Relation),
		Admins: contacts(d.Admins),
	}
	if d.Sight.VirtualAccounts {
		v.Type = i18n.T(ctx, "type."+string(a.Type))
		v.VirtualAccounts, v.MoreVirtualAccounts = virtualAccounts(ctx, d.Listing)
	}
	if d.CanRequestAccess {
		v.RequestAccessHref = requestAccessHref(d.Listing, q.Get("q"))
	}
	v.ManageVirtualAccounts = s.virtualAccountsManager(r, a.ID, d.ManageVirtualAccounts, typed)
	// Pager links keep the query that opened the page and the other list's page.
	base := url.Values{}
	for _, k := range []string{"q", "holders_page", "events_page"} {
		if q.Get(k) != "" {
			base.Set(k, q.Get(k))
		}
	}
	path := paths.Account(a.ID)
	if d.Sight.RoleHolders {
		v.Holders = []pages.HolderRow{}
		for _, h := range d.Holders.Items {
			scope := i18n.T(ctx, "holder.scope_account")
			if h.VirtualAccount != "" {
				scope = h.VirtualAccount
			}
			v.Holders = append(v.Holders, pages.HolderRow{Name: h.Name, Email: h.Email, Role: i18n.T(ctx, "role."+string(h.Role)), Scope: scope})
		}
		v.HoldersPager = pager(i18n.T(ctx, "account.holders"), path, base, "holders_page", d.Holders.Number, d.Holders.HasNext, "holders")
	}
	if d.Sight.History {
		v.History = []pages.EventRow{}
		for _, e := range d.Events.Items {
			v.History = append(v.History, eventRow(ctx, e))
		}
		v.HistoryPager = pager(i18n.T(ctx, "account.history"), path, base, "events_page", d.Events.Number, d.Events.HasNext, "history")
		if u, _ := currentUser(ctx); account.MayReadAccountLog(u, d.Relation) {
			v.EventLog = paths.AccountEvents(a.ID)
		}
	}
	s.render(w, r, code, pages.Account(v))
	return nil
}

func eventRow(ctx context.Context, e account.Event) pages.EventRow {
	at := e.At.UTC()
	return pages.EventRow{
		At:       i18n.DateTime(ctx, at),
		Datetime: at.Format("2006-01-02T15:04:05Z"),
		Actor:    e.Actor,
		What:     i18n.T(ctx, "event."+e.Kind),
		Detail:   eventDetail(ctx, e),
	}
}
