package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
	"github.com/clc-portal/clc/web/layout"
	"github.com/clc-portal/clc/web/pages"
)

// directory is the overview of "Your Smart and Virtual Account access":
// the first rows of each section, its total and a link to all of it.
func (s *Server) directory(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	sections, err := s.listings.Directory(ctx, u)
	if err != nil {
		return err
	}
	v := pages.DirectoryView{
		Page: layout.Page{Title: i18n.T(ctx, "directory.title"), Shell: s.shell(r, layout.NavDirectory), Flash: s.popFlash(r)},
	}
	for _, sec := range sections {
		ds := directorySection(ctx, sec)
		ds.Total = i18n.N(ctx, "directory.total", sec.Total, "Shown", len(sec.Items))
		if sec.Total > 0 {
			ds.ShowAll = paths.DirectorySectionPage(string(sec.Section))
		}
		v.Sections = append(v.Sections, ds)
	}
	s.render(w, r, http.StatusOK, pages.Directory(v))
	return nil
}

// directorySectionPage is one section of the directory, all of it, 25 to a
// page, with the filter.
func (s *Server) directorySectionPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, _ := currentUser(ctx)
	sec, err := account.ParseSection(chi.URLParam(r, "section"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	dq := account.DirectorySectionQuery{Section: sec, Filter: q.Get("q"), After: q.Get("after"), Before: q.Get("before"),
		Page: pageParam(q, "page")}
	page, err := s.listings.DirectorySection(ctx, u, dq)
	if err != nil {
		return err
	}
	path := paths.DirectorySectionPage(string(sec))
	ds := directorySection(ctx, page)
	// Pager links keep the filter.
	base := url.Values{}
	if dq.Filter != "" {
		base.Set("q", dq.Filter)
		ds.Empty = i18n.T(ctx, "directory.filter_none")
	}
	ds.Pager = sectionPager(ds.Heading, path, base, page)
	flash := s.popFlash(r)
	if page.BadKey {
		flash = strings.TrimSpace(flash + " " + i18n.T(ctx, "directory.bad_page_link"))
	}
	heading := ds.Heading
	s.render(w, r, http.StatusOK, pages.DirectorySectionPage(pages.DirectorySectionView{
		Page:    layout.Page{Title: heading, Shell: s.shell(r, layout.NavDirectory), Flash: flash},
		Path:    path,
		Filter:  dq.Filter,
		Section: ds,
	}))
	return nil
}

// sectionPager links to the pages before and after a section's page: each
// names the key of the row it starts from (after the page's last row, or
// before its first) and the number it will show, and keeps the filter, so
// that a link can be bookmarked and works without script.
func sectionPager(label, path string, base url.Values, page account.DirectorySection) components.Pager {
	href := func(set func(url.Values)) string { return withQuery(path, base, set) }
	p := components.Pager{Label: label, Number: page.Number}
	switch {
	case page.HasPrev && page.First.IsZero():
		// A page with no rows left after its key: back to the first.
		p.PrevHref = href(func(url.Values) {})
	case page.HasPrev:
		p.PrevHref = href(func(q url.Values) {
			q.Set("before", page.First.String(page.Section))
			q.Set("page", strconv.Itoa(page.Number-1))
		})
	}
	if page.HasNext {
		p.NextHref = href(func(q url.Values) {
			q.Set("after", page.Last.String(page.Section))
			q.Set("page", strconv.Itoa(page.Number+1))
		})
	}
	return p
}

// directorySection is a section's heading, empty text and rows, as the
// overview and the section's own page show them.
func directorySection(ctx context.Context, sec account.DirectorySection) pages.DirectorySection {
	ds := pages.DirectorySection{
		ID:          "section-" + string(sec.Section),
		Heading:     i18n.T(ctx, "directory."+string(sec.Section)+".heading"),
		RoleHeading: i18n.T(ctx, "directory."+string(sec.Section)+".role"),
		Empty:       i18n.T(ctx, "directory."+string(sec.Section)+".empty"),
	}
	ds.Rows = make([]components.AccountRow, 0, len(sec.Items))
	for _, l := range sec.Items {
		ds.Rows = append(ds.Rows, directoryRow(ctx, sec.Section, l))
	}
	return ds
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
	// An account the viewer asked access to opens on that request: how it
	// stands and its conversation with the account's administrators.
	if sec == account.SectionRequested && l.Request != nil {
		row.Href = paths.AccessRequest(l.Account.ID, l.Request.ID)
	}
	return row
}

// requestWords says what an access request asked for and how it stands:
// "Administrator on EMEA: Pending (asked 2 January 2026)".
func requestWords(ctx context.Context, req account.AccessRequest) string {
	return i18n.T(ctx, "access.summary", "Role", roleOn(ctx, req.Role, req.VirtualAccounts...),
		"Status", i18n.T(ctx, "access.status."+string(req.Status)), "Date", i18n.Date(ctx, req.CreatedAt))
}
