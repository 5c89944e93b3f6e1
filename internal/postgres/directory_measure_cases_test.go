package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

type measureCase struct {
	label string
	q     account.SectionQuery
}

// measureCases are the pages measured of one section: the first, the
// second, the last, and the first of a filter that matches many, of one
// that matches a few and of one that matches none.
func measureCases(t *testing.T, ctx context.Context, db pgtest.DB, viewer int64, domains []string, sec account.Section) []measureCase {
	var total int
	var rare string
	ids := map[account.Section]string{
		account.SectionAccess:    `SELECT smart_account_id FROM accessible_accounts WHERE user_id = $1`,
		account.SectionRequested: `SELECT smart_account_id FROM access_requests WHERE user_id = $1 AND status IN ('pending', 'declined')`,
		account.SectionCreated:   `SELECT id FROM smart_accounts WHERE created_by = $1`,
		account.SectionDomain:    `SELECT id FROM smart_accounts WHERE domain = ANY($2) AND $1 > 0`,
	}[sec]
	// rare: the coined word of the section's middle account, in a few names.
	if err := db.Pool.QueryRow(ctx, `WITH s AS (`+ids+`)
		SELECT (SELECT count(*) FROM s) + 0 * cardinality($2::text[]), (SELECT split_part(name_folded, ' ', 1) FROM smart_accounts
			WHERE id = (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY smart_account_id) FROM s s (smart_account_id)))`,
		viewer, domains).Scan(&total, &rare); err != nil {
		t.Fatal(err)
	}
	base := account.SectionQuery{ViewerID: viewer, Domains: domains, Section: sec, Limit: 26}
	with := func(f func(*account.SectionQuery)) account.SectionQuery { q := base; f(&q); return q }
	last := max(1, (total-1)/25*25)
	keys := map[account.Section]string{
		account.SectionAccess:    `SELECT name_folded::text, NULL::timestamptz, smart_account_id FROM accessible_accounts WHERE user_id = $1 AND $2::text[] IS NOT NULL ORDER BY name_folded, smart_account_id`,
		account.SectionRequested: `SELECT '', created_at, id FROM access_requests WHERE user_id = $1 AND status IN ('pending', 'declined') AND $2::text[] IS NOT NULL ORDER BY created_at DESC, id DESC`,
		account.SectionCreated:   `SELECT '', created_at, id FROM smart_accounts WHERE created_by = $1 AND $2::text[] IS NOT NULL ORDER BY created_at DESC, id DESC`,
		account.SectionDomain:    `SELECT name_folded::text, NULL::timestamptz, id FROM smart_accounts WHERE domain = ANY($2) AND $1 > 0 ORDER BY name_folded, id`,
	}[sec]
	// key is the key of the row at offset n-1: a page after it is the
	// page at offset n.
	key := func(n int) account.SectionKey {
		var k account.SectionKey
		var at *time.Time
		if err := db.Pool.QueryRow(ctx, keys+` OFFSET $3 LIMIT 1`, viewer, domains, max(0, min(n, total)-1)).Scan(&k.Name, &at, &k.ID); err != nil {
			t.Fatalf("the key at %d: %v", n, err)
		}
		if at != nil {
			k.At = *at
		}
		return k
	}
	return []measureCase{
		{"page 1", base},
		{"page 2", with(func(q *account.SectionQuery) { q.After = key(25) })},
		{"last page", with(func(q *account.SectionQuery) { q.After = key(last) })},
		{"back from the last page", with(func(q *account.SectionQuery) { q.Before = key(last + 1) })},
		{"filter gmbh (many)", with(func(q *account.SectionQuery) { q.Filter = "gmbh" })},
		{"filter " + rare + " (few)", with(func(q *account.SectionQuery) { q.Filter = rare })},
		{"filter none", with(func(q *account.SectionQuery) { q.Filter = "no such account" })},
	}
}
