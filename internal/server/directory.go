package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// directoryPageParam is the query parameter that pages one section, so each
// section pages on its own: ?access_page=2&created_page=3.
func directoryPageParam(sec account.Section) string { return string(sec) + "_page" }

// directory is "Your Smart and Virtual Account access".
func (s *Server) directory(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	q := r.URL.Query()
	dq := account.DirectoryQuery{Filter: q.Get("q"), Pages: map[account.Section]int{}}
	for _, sec := range account.Sections {
		dq.Pages[sec] = pageParam(q, directoryPageParam(sec))
	}
	sections, err := s.listings.Directory(ctx, u, dq)
	if err != nil {
		return err
	}
	sh := s.shell(r, layout.NavDirectory)
	v := pages.DirectoryView{
		Page:   layout.Page{Title: i18n.T(ctx, "directory.title"), Shell: sh, Flash: s.popFlash(r)},
		Filter: dq.Filter,
	}
	// Pager links keep the filter and the other sections' pages.
	base := url.Values{}
	if dq.Filter != "" {
		base.Set("q", dq.Filter)
	}
	for _, sec := range sections {
		if sec.Number > 1 {
			base.Set(directoryPageParam(sec.Section), strconv.Itoa(sec.Number))
		}
	}
	for _, sec := range sections {
		id := "section-" + string(sec.Section)
		heading := i18n.T(ctx, "directory."+string(sec.Section)+".heading")
		ds := pages.DirectorySection{
			ID:          id,
			Heading:     heading,
			RoleHeading: i18n.T(ctx, "directory."+string(sec.Section)+".role"),
			Empty:       i18n.T(ctx, "directory."+string(sec.Section)+".empty"),
			Pager:       pager(heading, paths.Directory, base, directoryPageParam(sec.Section), sec.Number, sec.HasNext, id),
		}
		if dq.Filter != "" {
			ds.Empty = i18n.T(ctx, "directory.filter_none")
		}
		for _, l := range sec.Items {
			ds.Rows = append(ds.Rows, directoryRow(ctx, sec.Section, l))
		}
		v.Sections = append(v.Sections, ds)
	}
	s.render(w, r, http.StatusOK, pages.Directory(v))
	return nil
}

func directoryRow(ctx context.Context, sec account.Section, l account.Listing) components.AccountRow {
	// An account listed under the viewer's own email domain counts as found
	// by its entire domain, which is what lets its page open when restricted.
	query := ""
	if sec == account.SectionDomain {
		query = l.Account.Domain
	}
	row := accountRow(ctx, l, query)
	if req := l.Request; req != nil {
		row.Role = requestWords(ctx, *req)
	}
	// An account the viewer asked to have created opens on its request:
	// where it stands, whom it waits on and what happened, until it is active.
	if sec == account.SectionCreated && l.Account.Status != account.StatusActive {
		row.Href = paths.RequestStatus(l.Account.ID)
	}
	return row
}

// requestWords says what an access request asked for and how it stands:
// "Administrator on EMEA: Pending (asked 2 January 2026)".
func requestWords(ctx context.Context, req account.AccessRequest) string {
	return i18n.T(ctx, "access.summary", "Role", roleOn(ctx, req.Role, req.VirtualAccounts...),
		"Status", i18n.T(ctx, "access.status."+string(req.Status)), "Date", i18n.Date(ctx, req.CreatedAt))
}
