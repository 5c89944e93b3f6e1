package server

import (
	"context"
	"errors"
	"net/url"
	"strconv"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/web/components"
)

// accountHref links to an account's page. query is the search that found
// it, needed only where the page would otherwise not show: a restricted
// account the viewer holds no role on.
func accountHref(l account.Listing, query string) string {
	href := paths.Account(l.Account.ID)
	if l.Account.Restricted && !l.Relation.HasRole() && query != "" {
		href += "?" + url.Values{"q": {query}}.Encode()
	}
	return href
}

// requestAccessHref links to "Request Access", carrying the query the same way.
func requestAccessHref(l account.Listing, query string) string {
	href := paths.AccountPart(l.Account.ID, "request-access")
	if l.Account.Restricted && query != "" {
		href += "?" + url.Values{"q": {query}}.Encode()
	}
	return href
}

// accountRow shows a listing; query is the search that found it.
func accountRow(ctx context.Context, l account.Listing, query string) components.AccountRow {
	row := components.AccountRow{
		Href:                accountHref(l, query),
		Name:                l.Account.Name,
		ID:                  l.Account.ID.String(),
		Domain:              account.DisplayDomain(l.Account.Domain),
		Status:              status(ctx, l.Account.Status),
		Role:                roleWords(ctx, l.Relation),
		ShowVirtualAccounts: l.Sight.VirtualAccounts,
		Admins:              contacts(l.Admins),
	}
	row.VirtualAccounts, row.MoreVirtualAccounts = virtualAccounts(ctx, l)
	if account.CanRequestAccess(l.Account, l.Relation, l.Sight) {
		row.RequestAccessHref = requestAccessHref(l, query)
	}
	return row
}

// virtualAccounts shows a listing's Virtual Accounts with the viewer's role
// on each, and how many more there are ("" when all are shown). The slice is
// never nil: the account page tells "none" from "not yours to see" by nil.
func virtualAccounts(ctx context.Context, l account.Listing) ([]components.VirtualAccount, string) {
	out := make([]components.VirtualAccount, 0, len(l.VirtualAccounts))
	for _, va := range l.VirtualAccounts {
		v := components.VirtualAccount{Name: va.Name}
		if va.Role != "" {
			v.Role = i18n.T(ctx, "role."+string(va.Role))
		}
		out = append(out, v)
	}
	more := ""
	if l.MoreVirtualAccounts > 0 {
		more = i18n.N(ctx, "account.more_vas", l.MoreVirtualAccounts)
	}
	return out, more
}

func status(ctx context.Context, s account.Status) components.Status {
	return components.Status{Word: i18n.T(ctx, "status."+string(s)), Kind: string(s)}
}

// roleWords names the viewer's role: the Smart Account role when they hold
// one, else their strongest Virtual Account role, said as the article does
// ("Virtual Account Administrator").
func roleWords(ctx context.Context, rel account.Relation) string {
	switch {
	case rel.Role != "":
		return i18n.T(ctx, "role."+string(rel.Role))
	case rel.VARole != "":
		return i18n.T(ctx, "role.va."+string(rel.VARole))
	}
	return ""
}

func contacts(cs []account.Contact) []components.Contact {
	out := make([]components.Contact, len(cs))
	for i, c := range cs {
		out[i] = components.Contact{Name: c.Name, Email: c.Email}
	}
	return out
}

// pageParam reads a page number, capped to [1, account.MaxPage]: a number
// too large even for an int is the last page allowed, anything else
// unreadable is the first.
func pageParam(q url.Values, name string) int {
	n, err := strconv.Atoi(q.Get(name))
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 1
	}
	// On ErrRange, n is the largest or smallest int, which the clamp takes.
	return account.ClampPage(n)
}

// pager links to the pages around p.Number by changing param in base and
// keeping every other parameter.
func pager(label, path string, base url.Values, param string, number int, hasNext bool, fragment string) components.Pager {
	href := func(n int) string {
		h := withQuery(path, base, func(q url.Values) {
			if n == 1 {
				q.Del(param)
			} else {
				q.Set(param, strconv.Itoa(n))
			}
		})
		if fragment != "" {
			h += "#" + fragment
		}
		return h
	}
	p := components.Pager{Label: label, Number: number}
	if number > 1 {
		p.PrevHref = href(number - 1)
	}
	if hasNext {
		p.NextHref = href(number + 1)
	}
	return p
}

// withQuery is path with base's parameters as set changes them (base
// itself is left as it is), as a page's links carry them.
func withQuery(path string, base url.Values, set func(url.Values)) string {
	q := make(url.Values, len(base))
	for k, v := range base {
		q[k] = v
	}
	set(q)
	if enc := q.Encode(); enc != "" {
		return path + "?" + enc
	}
	return path
}
