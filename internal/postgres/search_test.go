package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
	"github.com/clc-portal/clc/internal/scale"
)

// TestSearchPlansUseIndexes loads a synthetic directory and checks, with
// EXPLAIN ANALYZE of its generic plan, that a search reads smart_accounts and search_suffixes
// through their indexes and never scans them, whichever way it finds the
// query. The benchmark checks the same at a million accounts by counting
// sequential scans while it runs.
func TestSearchPlansUseIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	sum, err := scale.Load(ctx, db.Pool, scale.Options{Accounts: 30000, PasswordHash: "not a real hash"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Accounts != 30000 || sum.Users != 15000 || sum.VirtualAccounts < 28000 || sum.Memberships < 60000 || sum.PartnerAccounts < 250 {
		t.Fatalf("loaded %+v", sum)
	}
	s := postgres.NewStore(db.Pool)

	// A word of a name in the middle of the table; the whole word that begins
	// the most suffixes and the three letters that begin the most different
	// ones, of those that start too few names to fill a page (search looks
	// further only then).
	var name, word, fragment string
	if err := db.Pool.QueryRow(ctx, `SELECT name_folded FROM smart_accounts WHERE id = 15000`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		part, rank string // SQL over search_suffixes: a word or a fragment, and what makes it common
		into       *string
	}{
		{`suffix`, `count(*)`, &word},
		{`left(suffix, 3)`, `count(DISTINCT suffix)`, &fragment},
	} {
		err := db.Pool.QueryRow(ctx, `
			SELECT x.w FROM (
				SELECT `+c.part+`, `+c.rank+` FROM search_suffixes WHERE `+c.part+` ~ '^[a-z]{3,}$'
				GROUP BY 1 HAVING count(*) >= $1 ORDER BY 2 DESC LIMIT 100) x (w, n)
			WHERE (SELECT count(*) FROM (SELECT FROM smart_accounts
				WHERE name_folded >= x.w AND name_folded < x.w || chr(1114111) LIMIT 26) y) < 26
			ORDER BY x.n DESC LIMIT 1`, postgres.CommonSuffixes).Scan(c.into)
		if err != nil {
			t.Fatal(err)
		}
		var n, variants int
		err = db.Pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT suffix) FROM search_suffixes
			WHERE suffix >= $1 AND suffix < $1 || chr(1114111)`, *c.into).Scan(&n, &variants)
		if err != nil {
			t.Fatal(err)
		}
		if n < postgres.CommonSuffixes {
			t.Fatalf("%q is not common in this directory: it begins %d suffixes", *c.into, n)
		}
		if (c.into == &fragment) != (variants > postgres.CommonVariants) {
			t.Fatalf("%q begins %d different suffixes", *c.into, variants)
		}
	}
	rare := strings.Fields(name)[0]
	// Two words, each common: the end of that name (a word and a legal
	// form, say), which many names hold whole.
	words := strings.Fields(name)
	tail := strings.Join(words[max(1, len(words)-2):], " ")
	if strings.Count(tail, " ") != 1 {
		t.Fatalf("the name %q has too few words", name)
	}

	// Each way of finding the query shows in the plan as a scan of its own.
	rareWay := func(sc scan) bool { return sc.relation == "search_suffixes" && strings.Contains(sc.filter, "strpos") }
	// The plans the store runs: prepared, on a connection of the pool, so
	// planned once for any values.
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "PREPARE search AS "+postgres.SearchSQL); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, query, domain string
		way                 func(scan) bool
	}{
		{"a rare word", rare, "", rareWay},
		{"a common word, each of its suffixes in name order", word, "", func(sc scan) bool {
			return sc.index == "search_suffixes_pkey" && strings.Contains(sc.cond, "(suffix = ")
		}},
		{"a common fragment, walking the names", fragment, "", func(sc scan) bool {
			return sc.index == "smart_accounts_name_folded_idx" && sc.cond == "" && strings.Contains(sc.filter, "strpos")
		}},
		{"two words", rare + " " + word, "", rareWay},
		// Several words whose rarest is common: each suffix that begins it,
		// in name order, up to a page of accounts that hold them all; and
		// when it begins too many different suffixes, all of them, as for a
		// rare word (walking the names could find none in a million).
		{"two common words, each suffix of the rarer in name order", word + " " + word, "", func(sc scan) bool {
			return sc.index == "search_suffixes_pkey" && strings.Contains(sc.cond, "(suffix = ") && strings.Contains(sc.filter, "strpos")
		}},
		{"a common word and a part too short to count", word + "-ab", "", func(sc scan) bool {
			return sc.index == "search_suffixes_pkey" && strings.Contains(sc.cond, "(suffix = ") && strings.Contains(sc.filter, "strpos")
		}},
		{"a common fragment and a common word", fragment + " " + word, "", rareWay},
		{"a whole domain", "example-7.com", "example-7.com", func(sc scan) bool {
			return sc.index == "smart_accounts_domain_idx" || sc.index == "smart_accounts_live_domain_key"
		}},
	} {
		var plan string
		// EXPLAIN takes no parameters: the values are written out.
		literal := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
		err := conn.QueryRow(ctx, fmt.Sprintf("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE search (1, %s, %s, 26, 0, %t)",
			literal(tc.query), literal(tc.domain), !strings.Contains(tc.query, " "))).Scan(&plan)
		if err != nil {
			t.Fatalf("%s: explain: %v", tc.name, err)
		}
		scans := planScans(plan)
		for _, sc := range scans {
			if sc.node == "Seq Scan" && (sc.relation == "smart_accounts" || sc.relation == "search_suffixes") {
				t.Errorf("%s: sequential scan of %s:\n%s", tc.name, sc.relation, plan)
			}
		}
		if !slices.ContainsFunc(scans, tc.way) {
			t.Errorf("%s (%q): not found that way: %+v", tc.name, tc.query, scans)
		}
	}

	// And the store answers as reading every account would, page by page.
	var domain, restricted string
	err = db.Pool.QueryRow(ctx, `SELECT (SELECT domain FROM smart_accounts WHERE id = 15000),
		(SELECT name FROM smart_accounts WHERE restricted AND status = 'active' ORDER BY id LIMIT 1)`).Scan(&domain, &restricted)
	if err != nil {
		t.Fatal(err)
	}
	queries := []string{rare, word, fragment, rare + " " + word, tail, word + " " + word, word + "-ab", fragment + " " + word,
		fragment + " " + fragment, domain, domain[:strings.IndexByte(domain, '.')], restricted,
		strings.ToUpper(restricted), restricted[:len(restricted)-2], "qzx no such account"}
	for _, q := range queries {
		for page := range 3 {
			sq := account.SearchQuery{Text: q, ExactDomain: domainOf(q), InDomains: !strings.Contains(q, " "),
				Limit: 26, Offset: page * 25}
			got, err := s.SearchAccounts(ctx, 1, sq)
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			want := searchByScan(t, db, sq)
			var ids []int64
			for _, l := range got {
				ids = append(ids, int64(l.Account.ID))
			}
			if !slices.Equal(ids, want) {
				t.Errorf("search %q, page %d: ids %v, want %v", q, page+1, ids, want)
			}
			if page == 0 && q == word && len(got) < 26 {
				t.Errorf("search %q found only %d accounts", q, len(got))
			}
		}
	}
}

// domainOf is what account.Search makes of a query that is a domain.
func domainOf(q string) string {
	if strings.ContainsAny(q, " ") || !strings.Contains(q, ".") {
		return ""
	}
	return strings.ToLower(q)
}

// searchByScan is search's contract read plainly, by reading every account:
// live names that start with the query first (restricted ones only by their
// entire name or domain), then live unrestricted ones that hold it elsewhere
// in the name or, for a query without a space, in the domain, and the one
// whose domain is the query; each in name order. As search, it looks
// elsewhere only for a query with a word of three characters.
func searchByScan(t *testing.T, db pgtest.DB, q account.SearchQuery) []int64 {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `
		WITH q AS (SELECT clc_fold($1) AS f,
			EXISTS (SELECT FROM regexp_split_to_table(clc_fold($1), '[[:space:][:punct:]]+') w WHERE length(w) >= 3) AS searchable)
		SELECT m.id FROM smart_accounts m, q
		WHERE m.status IN ('active', 'pending') AND (
			(starts_with(m.name_folded, q.f) AND (NOT m.restricted OR m.name_folded = q.f OR m.domain = $2))
			OR (NOT starts_with(m.name_folded, q.f) AND (
				(q.searchable AND NOT m.restricted AND (strpos(m.name_folded, q.f) > 1 OR ($3 AND strpos(m.domain, q.f) > 0)))
				OR m.domain = $2)))
		ORDER BY starts_with(m.name_folded, q.f) DESC, m.name_folded, m.id
		LIMIT $4 OFFSET $5`, q.Text, q.ExactDomain, q.InDomains, q.Limit, q.Offset)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// scan is a plan node that read a relation: its index, its index condition
// and its filter, as EXPLAIN prints them.
type scan struct{ node, relation, index, cond, filter string }

// planScans lists every node of an analyzed JSON plan that read a relation.
func planScans(plan string) []scan {
	var root []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(plan), &root); err != nil || len(root) == 0 {
		return nil
	}
	var out []scan
	var walk func(n planNode)
	walk = func(n planNode) {
		if n.Loops == 0 {
			return // never executed: its children were not either
		}
		if n.Relation != "" || n.Index != "" {
			out = append(out, scan{n.Type, n.Relation, n.Index, n.Cond, n.Filter})
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(root[0].Plan)
	return out
}

type planNode struct {
	Type     string  `json:"Node Type"`
	Relation string  `json:"Relation Name"`
	Index    string  `json:"Index Name"`
	Cond     string  `json:"Index Cond"`
	Filter   string  `json:"Filter"`
	Loops    float64 `json:"Actual Loops"`
	// Rows is the rows a loop gave, on average.
	Rows        float64    `json:"Actual Rows"`
	HeapFetches float64    `json:"Heap Fetches"`
	Plans       []planNode `json:"Plans"`
}

// TestSearchSuffixesFollowTheAccounts changes accounts every way that
// matters to search and checks, after each change, that search_suffixes
// holds exactly the suffixes of the live, unrestricted accounts, and that
// search finds by a part of a word what it should.
func TestSearchSuffixesFollowTheAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	s := postgres.NewStore(db.Pool)
	check := func(step, query string, want ...string) {
		t.Helper()
		var missing, extra int
		err := db.Pool.QueryRow(ctx, `
			WITH want AS (
				SELECT s AS suffix, a.name_folded, a.id, a.domain FROM smart_accounts a, clc_suffixes(a.name_folded, a.domain) s
				WHERE a.status IN ('active', 'pending') AND NOT a.restricted
			), have AS (SELECT suffix, name_folded, smart_account_id, domain FROM search_suffixes)
			SELECT (SELECT count(*) FROM (SELECT * FROM want EXCEPT SELECT * FROM have) x),
				(SELECT count(*) FROM (SELECT * FROM have EXCEPT SELECT * FROM want) x)`).Scan(&missing, &extra)
		if err != nil {
			t.Fatal(err)
		}
		if missing != 0 || extra != 0 {
			t.Errorf("%s: search_suffixes lacks %d rows and has %d too many", step, missing, extra)
		}
		got, err := s.SearchAccounts(ctx, 0, account.SearchQuery{Text: query, InDomains: true, Limit: 26})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range got {
			names = append(names, l.Account.Name)
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s: search %q finds %q, want %q", step, query, names, want)
		}
	}
	db.Exec(t, `INSERT INTO smart_accounts (name, domain, account_type, status, created_at, updated_at) VALUES
		('Zürich Versicherung', 'zuerich-versicherung.example', 'customer', 'active', now(), now()),
		('Bergbahnen Zermatt', 'zermatt.example', 'customer', 'pending', now(), now()),
		('Alte Versicherung', 'alte.example', 'customer', 'denied', now(), now())`)
	check("created", "sicher", "Zürich Versicherung")
	db.Exec(t, `UPDATE smart_accounts SET name = 'Zürich Assekuranz' WHERE domain = 'zuerich-versicherung.example'`)
	check("renamed", "sicher", "Zürich Assekuranz") // still in its domain
	check("renamed", "kuranz", "Zürich Assekuranz")
	db.Exec(t, `UPDATE smart_accounts SET domain = 'zuerich.example' WHERE domain = 'zuerich-versicherung.example'`)
	check("domain changed", "sicher")
	db.Exec(t, `UPDATE smart_accounts SET status = 'active', updated_at = now() WHERE domain = 'zermatt.example'`)
	check("approved", "ermatt", "Bergbahnen Zermatt")
	db.Exec(t, `UPDATE smart_accounts SET restricted = true WHERE domain = 'zermatt.example'`)
	check("restricted", "ermatt")
	db.Exec(t, `UPDATE smart_accounts SET restricted = false WHERE domain = 'zermatt.example'`)
	check("unrestricted", "ermatt", "Bergbahnen Zermatt")
	db.Exec(t, `UPDATE smart_accounts SET status = 'expired' WHERE domain = 'zermatt.example'`)
	check("expired", "ermatt")
	db.Exec(t, `UPDATE smart_accounts SET status = 'active' WHERE domain = 'alte.example'`)
	check("revived", "ersicherung", "Alte Versicherung")
	db.Exec(t, `DELETE FROM smart_accounts WHERE domain = 'alte.example'`)
	check("deleted", "ersicherung")
	// One statement changing several accounts, some of them searchable.
	db.Exec(t, `UPDATE smart_accounts SET name = name || ' Holding', status = CASE WHEN domain = 'zermatt.example' THEN 'active' ELSE status END`)
	check("renamed together", "olding", "Bergbahnen Zermatt Holding", "Zürich Assekuranz Holding")
}
