package postgres_test

import (
	"context"
	"encoding/json"
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
// EXPLAIN, that each search query reads smart_accounts through its indexes
// and never scans it. The benchmark checks the same at a million accounts
// by counting sequential scans while it runs.
func TestSearchPlansUseIndexes(t *testing.T) {
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

	// A word of a name in the middle of the table, and one in many names.
	var name string
	if err := db.Pool.QueryRow(ctx, `SELECT name_folded FROM smart_accounts WHERE id = 15000`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	rare := strings.Fields(name)[0]
	common := "systems"
	if ok, err := s.CommonWord(ctx, db.Pool, common); err != nil || !ok {
		t.Fatalf("%q is not common by the statistics (%v)", common, err)
	}

	// Which index a plan takes may depend on the table's size; that it takes
	// one of these must not.
	for _, tc := range []struct {
		name, sql string
		args      []any
		indexes   []string
	}{
		{"names starting with a word", postgres.SearchStartsSQL,
			[]any{int64(1), rare, postgres.LastCodePoint, "", 26, 0}, []string{"smart_accounts_name_folded_idx"}},
		{"a rare word elsewhere", postgres.SearchRareSQL,
			[]any{int64(1), rare, rare + postgres.LastCodePoint, "", 26, 0, true, "_%" + postgres.LikeEscape(rare) + "%"}, []string{"smart_accounts_search_trgm_idx"}},
		{"a common word elsewhere", postgres.SearchCommonSQL,
			[]any{int64(1), common, common + postgres.LastCodePoint, "", 26, 0, true, "_%" + common + "%"}, []string{"smart_accounts_name_folded_idx", "smart_accounts_search_trgm_idx"}},
		{"a whole domain", postgres.SearchRareSQL,
			[]any{int64(1), "example-7.com", "example-7.com" + postgres.LastCodePoint, "example-7.com", 26, 0, true, "_%example%"}, []string{"smart_accounts_domain_idx", "smart_accounts_live_domain_key"}},
	} {
		plan := explain(t, db.Pool, tc.sql, tc.args...)
		scans := planScans(plan)
		for _, sc := range scans {
			if sc.relation == "smart_accounts" && sc.node == "Seq Scan" {
				t.Errorf("%s: sequential scan of smart_accounts:\n%s", tc.name, plan)
			}
		}
		if !slices.ContainsFunc(scans, func(sc scan) bool { return slices.Contains(tc.indexes, sc.index) }) {
			t.Errorf("%s: plan uses none of %s:\n%s", tc.name, tc.indexes, plan)
		}
	}

	// And the store answers through them.
	got, err := s.SearchAccounts(ctx, 1, account.SearchQuery{Text: rare, InDomains: true, Limit: 26})
	if err != nil || len(got) == 0 {
		t.Fatalf("search %q: %d results, %v", rare, len(got), err)
	}
	for _, l := range got {
		folded, err := s.Fold(ctx, l.Account.Name)
		if err != nil || !strings.Contains(folded+" "+l.Account.Domain, rare) {
			t.Errorf("search %q found %q at %s (%v)", rare, l.Account.Name, l.Account.Domain, err)
		}
	}
}

func explain(t *testing.T, pool interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, sql string, args ...any) string {
	t.Helper()
	var plan string
	// Exec mode, as the store runs the second tier: planned for these values.
	if err := pool.QueryRow(context.Background(), "EXPLAIN (FORMAT JSON) "+sql, append([]any{pgx.QueryExecModeExec}, args...)...).Scan(&plan); err != nil {
		t.Fatalf("explain: %v", err)
	}
	return plan
}

type scan struct{ node, relation, index string }

// planScans lists every node of a JSON plan that reads a relation.
func planScans(plan string) []scan {
	var root []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(plan), &root); err != nil || len(root) == 0 {
		return nil
	}
	var out []scan
	var walk func(n planNode)
	walk = func(n planNode) {
		if n.Relation != "" || n.Index != "" {
			out = append(out, scan{n.Type, n.Relation, n.Index})
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(root[0].Plan)
	return out
}

type planNode struct {
	Type     string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	Index    string     `json:"Index Name"`
	Plans    []planNode `json:"Plans"`
}

func TestTrigramWordPicksTheTellingWord(t *testing.T) {
	for q, want := range map[string]string{
		"elsentor capital france b.v.": "elsentor",
		"umgoka-430.example":           "umgoka",
		"ab cdef":                      "cdef",
		"ab cde":                       "cde",
		"abc defg":                     "defg",
		"zürich versicherung":          "zürich",
		"a b c":                        "",
		"s.p.a":                        "",
		"---":                          "",
	} {
		got, ok := postgres.TrigramWord(q)
		if got != want || ok != (want != "") {
			t.Errorf("TrigramWord(%q) = %q, %v; want %q", q, got, ok, want)
		}
	}
}
