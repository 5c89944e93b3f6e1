package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

// TestDirectorySectionPagesForwardAndBack follows a section's next links
// to its end and its previous links back to its beginning, in the
// name-ordered section and in the newest-first one (where accounts share a
// creation time), adding accounts between the page loads: every account
// there was at the start is listed exactly once each way, in the section's
// order; those added after the page being read are listed on the way
// forward, those added before it on the way back.
func TestDirectorySectionPagesForwardAndBack(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ada := a.user("ada@partner.example", "Ada", false)
	eve := a.user("eve@other.example", "Eve", false)
	ctx := context.Background()
	// 110 accounts in each section, more than four pages: even numbers,
	// so that odd ones can come between them later.
	a.db.Exec(t, `
		WITH made AS (
			INSERT INTO smart_accounts (name, domain, account_type, status)
			SELECT format('Acct %s', lpad((2 * i)::text, 3, '0')), format('acct%s.example', 2 * i), 'customer', 'active'
			FROM generate_series(0, 109) i ORDER BY i
			RETURNING id)
		INSERT INTO memberships (user_id, smart_account_id, role) SELECT $1, id, 'viewer' FROM made`, ada.ID)
	a.db.Exec(t, `
		INSERT INTO smart_accounts (name, domain, account_type, status, created_by, created_at)
		SELECT format('Made %s', lpad((2 * i)::text, 3, '0')), format('made%s.example', 2 * i), 'customer', 'pending', $1,
			timestamptz '2026-01-01 00:00:00+00' - (i / 2) * interval '1 hour'
		FROM generate_series(0, 109) i ORDER BY i`, ada.ID)
	// Eve's accounts, between Ada's, which Ada never sees.
	a.db.Exec(t, `
		WITH made AS (
			INSERT INTO smart_accounts (name, domain, account_type, status, created_by, created_at)
			SELECT format('Acct %s eve', lpad((2 * i)::text, 3, '0')), format('eve%s.example', i), 'customer', 'active', $1,
				timestamptz '2026-01-01 00:00:00+00' - (i / 2) * interval '1 hour'
			FROM generate_series(0, 109) i
			RETURNING id)
		INSERT INTO memberships (user_id, smart_account_id, role) SELECT $1, id, 'admin' FROM made`, eve.ID)
	b := a.signedIn(ada.Email)

	// order is the section as reading it plainly gives it, by name.
	order := func(sec account.Section) []string {
		t.Helper()
		sql := map[account.Section]string{
			account.SectionAccess: `SELECT sa.name FROM smart_accounts sa
				WHERE EXISTS (SELECT FROM memberships m WHERE m.user_id = $1 AND m.smart_account_id = sa.id)
				ORDER BY clc_fold(sa.name), sa.id`,
			account.SectionCreated: `SELECT name FROM smart_accounts WHERE created_by = $1 ORDER BY created_at DESC, id DESC`,
		}[sec]
		rows, err := a.db.Pool.Query(ctx, sql, ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	// add gives Ada an account in sec named name; in the newest-first
	// section, made a second before or after (by) the account named like.
	add := func(sec account.Section, name, like, by string) {
		t.Helper()
		if sec == account.SectionAccess {
			a.db.Exec(t, `WITH made AS (INSERT INTO smart_accounts (name, domain, account_type, status)
				VALUES ($2, md5(random()::text) || '.example', 'customer', 'active') RETURNING id)
				INSERT INTO memberships (user_id, smart_account_id, role) SELECT $1, id, 'user' FROM made`, ada.ID, name)
			return
		}
		a.db.Exec(t, `INSERT INTO smart_accounts (name, domain, account_type, status, created_by, created_at)
			SELECT $2, md5(random()::text) || '.example', 'customer', 'pending', $1, created_at + $4::interval
			FROM smart_accounts WHERE name = $3 ORDER BY id LIMIT 1`, ada.ID, name, like, by)
	}
	link := func(p page, sec account.Section, rel string) string {
		href, _ := p.Doc.Find(`#section-` + string(sec) + ` nav.pager a[rel=` + rel + `]`).Attr("href")
		return href
	}

	for _, tc := range []struct {
		sec account.Section
		// accounts to add after each page load: one that sorts right
		// after the page's last row, one right before its first
		after, before func(row string) (name, like, by string)
	}{
		{account.SectionAccess,
			func(last string) (string, string, string) { return last + "a", "", "" },
			func(first string) (string, string, string) { return first[:len(first)-1] + "!", "", "" }},
		{account.SectionCreated,
			func(last string) (string, string, string) { return last + " later", last, "-1 second" },
			func(first string) (string, string, string) { return first + " newer", first, "1 second" }},
	} {
		t.Run(string(tc.sec), func(t *testing.T) {
			start := order(tc.sec)
			if len(start) != 110 {
				t.Fatalf("Ada's %s section holds %d", tc.sec, len(start))
			}
			// Forward, adding one account after the page and one before
			// it at each load.
			var forward []string
			var addedAfter []string
			p := b.get("/clc/directory/" + string(tc.sec))
			for loads := 1; ; loads++ {
				wantStatus(t, p, http.StatusOK)
				names := sectionNames(p, string(tc.sec))
				if len(names) == 0 || len(names) > 25 {
					t.Fatalf("page %d lists %d", loads, len(names))
				}
				forward = append(forward, names...)
				next := link(p, tc.sec, "next")
				if next == "" {
					break
				}
				if loads > 10 {
					t.Fatal("more pages than rows")
				}
				if got := text(p, "nav.pager span"); got != fmt.Sprintf("Page %d", loads) {
					t.Errorf("page %d says %q", loads, got)
				}
				name, like, by := tc.after(names[len(names)-1])
				add(tc.sec, name, like, by)
				addedAfter = append(addedAfter, name)
				name, like, by = tc.before(names[0])
				add(tc.sec, name, like, by)
				p = b.get(next)
			}
			now := order(tc.sec)
			for _, n := range start {
				if c := count(forward, n); c != 1 {
					t.Errorf("forward, %q listed %d times", n, c)
				}
			}
			for _, n := range forward {
				if c := count(forward, n); c != 1 {
					t.Errorf("forward, %q listed %d times", n, c)
				}
				if strings.Contains(n, "eve") {
					t.Errorf("forward, Eve's %q listed", n)
				}
			}
			if !isSubsequence(forward, now) {
				t.Errorf("forward, not in the section's order: %q", forward)
			}
			for _, n := range addedAfter {
				if !slices.Contains(forward, n) {
					t.Errorf("forward, %q, added after the page read, was not listed", n)
				}
			}

			// Back from the last page, adding an account before the page
			// at each load.
			var pages [][]string
			for loads := 1; ; loads++ {
				wantStatus(t, p, http.StatusOK)
				names := sectionNames(p, string(tc.sec))
				pages = append(pages, names)
				prev := link(p, tc.sec, "prev")
				if prev == "" {
					if got := text(p, "nav.pager span"); got != "Page 1" {
						t.Errorf("the first page says %q", got)
					}
					break
				}
				if loads > 20 {
					t.Fatal("more pages than rows")
				}
				if next := link(p, tc.sec, "next"); next == "" && loads > 1 {
					t.Errorf("a page reached going back offers no next page")
				}
				name, like, by := tc.before(names[0])
				add(tc.sec, name, like, by)
				p = b.get(prev)
			}
			var back []string
			for i := len(pages) - 1; i >= 0; i-- {
				back = append(back, pages[i]...)
			}
			if now := order(tc.sec); !slices.Equal(back, now) {
				t.Errorf("back, listed %d %q\nwant %d %q", len(back), back, len(now), now)
			}
		})
	}
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// isSubsequence says whether sub's items come in all in all's order.
func isSubsequence(sub, all []string) bool {
	i := 0
	for _, x := range all {
		if i < len(sub) && sub[i] == x {
			i++
		}
	}
	return i == len(sub)
}

// TestDirectorySectionRefusesATamperedPageLink sends page links whose key
// was altered: each is the first page, with a message saying so, never an
// error; a well-formed key of an account the viewer may not see only says
// where to start among their own.
func TestDirectorySectionRefusesATamperedPageLink(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ada := a.user("ada@partner.example", "Ada", false)
	a.user("eve@other.example", "Eve", false)
	for i := 1; i <= 30; i++ {
		a.account(fmt.Sprintf("Customer %02d", i), fmt.Sprintf("customer%02d.example", i), ada.Email)
		a.createdBy(ada, fmt.Sprintf("Made %02d", i), fmt.Sprintf("made%02d.example", i), account.StatusPending)
	}
	secret := a.account("Customer 10 Secret", "secret.example", "eve@other.example")
	b := a.signedIn(ada.Email)
	const message = "That page link does not point into this list; here is its first page."
	for _, tc := range []struct{ sec, query string }{
		{"access", "after=x"},
		{"access", "after=0.customer+10"},
		{"access", "after=-4.customer+10"},
		{"access", "after=007.customer+10"},
		{"access", "after=99999999999999999999.customer"},
		{"access", "after=12"},
		{"access", "after=12." + strings.Repeat("x", 401)},
		{"access", "after=12&page=99999999999999999999"},
		{"created", "after=12.customer+10"},
		{"created", "after=12.-1"},
		{"created", "before=12.253402300800000000"},
		{"created", "before=12.1e9"},
		{"requested", "after=1.1."},
		{"domain", "before=.x"},
	} {
		path := "/clc/directory/" + tc.sec + "?" + tc.query
		p := b.get(path)
		wantStatus(t, p, http.StatusOK)
		if got := text(p, ".flash"); got != message {
			t.Errorf("%s: message %q", path, got)
		}
		if tc.sec == "access" {
			if got := sectionNames(p, "access"); len(got) != 25 || got[0] != "Customer 01" {
				t.Errorf("%s lists %q", path, got)
			}
		}
		if p.Doc.Find(`nav.pager a[rel=prev]`).Length() != 0 || text(p, "nav.pager span") != "Page 1" && p.Doc.Find("nav.pager").Length() != 0 {
			t.Errorf("%s: not shown as the first page: %q", path, text(p, "nav.pager"))
		}
	}

	// A NUL byte or bytes that are not UTF-8 are refused as in any other
	// parameter.
	wantStatus(t, b.get("/clc/directory/access?before=12.%00"), http.StatusUnprocessableEntity)
	wantStatus(t, b.get("/clc/directory/access?before=12.%FF"), http.StatusUnprocessableEntity)

	// The key of Eve's account places the page among Ada's accounts, and
	// lists none of Eve's.
	p := b.get(fmt.Sprintf("/clc/directory/access?after=%d.customer+10+secret&page=2", int64(secret.ID)))
	wantStatus(t, p, http.StatusOK)
	if got := sectionNames(p, "access"); len(got) != 20 || got[0] != "Customer 11" || slices.Contains(got, secret.Name) {
		t.Errorf("after Eve's account, Ada's page lists %q", got)
	}
	if got := text(p, ".flash"); got != "" {
		t.Errorf("a well-formed key says %q", got)
	}
	// A filter keeps to it too.
	p = b.get("/clc/directory/access?q=secret&after=1.a")
	if got := sectionNames(p, "access"); len(got) != 0 {
		t.Errorf("the filter lists %q", got)
	}
}
