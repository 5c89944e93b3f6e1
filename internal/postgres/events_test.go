package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// eventLogRows is how many events TestEventLogPagesReadAnIndexRange loads:
// CLC_EVENT_LOG_ROWS=10000000 measures the ten million.
func eventLogRows(t *testing.T) int {
	if v := os.Getenv("CLC_EVENT_LOG_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return 100_000
}

// TestEventLogPagesReadAnIndexRange loads a long log and checks, with
// EXPLAIN ANALYZE of the generic plans the store runs, that every view's
// page (first and deep, with each filter) is an index range scan under a
// Limit: no sort, and a page's worth of rows read from events, however
// many there are.
func TestEventLogPagesReadAnIndexRange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	n := eventLogRows(t)
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	kinds := account.EventKinds
	began := time.Now()
	// 200 accounts; events spread over two years; 1,000 actors; every kind.
	db.Exec(t, `INSERT INTO smart_accounts (name, domain, account_type, status, created_at, updated_at)
		SELECT 'Account ' || i, 'a' || i || '.example', 'customer', 'active', $1, $1 FROM generate_series(1, 200) AS i`, start)
	db.Exec(t, `
		INSERT INTO events (smart_account_id, at, actor, kind, params, client_addr)
		SELECT CASE WHEN i % 10 = 0 THEN NULL ELSE (SELECT min(id) FROM smart_accounts) + i % 200 END,
			$1::timestamptz + (i::float8 / $2 * 730) * interval '1 day',
			'user' || (i % 1000) || '@partner.example', ($3::text[])[1 + i % $4], '{}', '192.0.2.' || (i % 250)
		FROM generate_series(1, $2) AS i`, start, n, kinds, len(kinds))
	db.Exec(t, `VACUUM ANALYZE events`)
	t.Logf("loaded %d events in %v", n, time.Since(began).Round(time.Millisecond))

	var someAccount account.AccountID
	if err := db.Pool.QueryRow(ctx, `SELECT min(id) + 7 FROM smart_accounts`).Scan(&someAccount); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// A deep cursor: a third of the way back.
	deep := account.EventCursor{At: start.Add(time.Duration(float64(730*24*time.Hour) * 2 / 3)), ID: int64(n) * 2 / 3}
	day := func(d int) time.Time { return start.AddDate(0, 0, d) }
	requestKinds := []string{"requested", "emailed", "forwarded", "resent", "reminded", "approvers_changed", "approver_allowed",
		"approved", "denied", "expired", "withdrawn"}
	for _, c := range []struct {
		name string
		q    account.EventQuery
	}{
		{"portal", account.EventQuery{}},
		{"portal, deep", account.EventQuery{After: deep}},
		{"portal, kind", account.EventQuery{Filter: account.EventFilter{Kind: "approved"}}},
		{"portal, kind, deep", account.EventQuery{Filter: account.EventFilter{Kind: "approved"}, After: deep}},
		{"portal, actor", account.EventQuery{Filter: account.EventFilter{Actor: "user17@partner.example"}}},
		{"portal, dates", account.EventQuery{Filter: account.EventFilter{From: day(100), To: day(130)}}},
		{"portal, kind and dates", account.EventQuery{Filter: account.EventFilter{Kind: "signed_in", From: day(300), To: day(301)}}},
		{"account", account.EventQuery{Account: someAccount}},
		{"account, deep", account.EventQuery{Account: someAccount, After: deep}},
		{"account, dates", account.EventQuery{Account: someAccount, Filter: account.EventFilter{From: day(500), To: day(520)}}},
		{"request, for its partner", account.EventQuery{Account: someAccount, Kinds: requestKinds}},
	} {
		c.q.Limit = account.EventLogPageSize + 1
		sql, args := postgres.EventSQL(c.q)
		if _, err := conn.Exec(ctx, "DEALLOCATE ALL"); err != nil {
			t.Fatal(err)
		}
		// The store's statements are prepared once and run with a generic
		// plan; force it, so the plan checked is one that serves any values.
		if _, err := conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "PREPARE page AS "+sql); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var values []string
		for _, a := range args {
			values = append(values, eventLiteral(a))
		}
		var plan string
		if err := conn.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE page ("+strings.Join(values, ", ")+")").Scan(&plan); err != nil {
			t.Fatalf("explain %s: %v", c.name, err)
		}
		nodes := planNodes(plan)
		read, index := 0.0, ""
		for _, node := range nodes {
			if node.Type == "Sort" || node.Type == "Seq Scan" || node.Type == "Bitmap Heap Scan" {
				t.Errorf("%s: a %s: the page is not an index range", c.name, node.Type)
			}
			if node.Relation == "events" {
				read += node.Rows * node.Loops
				index = node.Index
			}
		}
		if len(nodes) == 0 || nodes[0].Type != "Limit" {
			t.Errorf("%s: the plan does not stop at a page", c.name)
		}
		// The rows the scan kept; those it filtered out are bounded by
		// how the filter's kinds spread, a few times a page here.
		if read > account.EventLogPageSize+1 {
			t.Errorf("%s: %v rows read for a page", c.name, read)
		}
		var took float64
		if _, err := fmt.Sscanf(strings.SplitN(strings.SplitN(plan, `"Execution Time": `, 2)[1], "\n", 2)[0], "%g", &took); err != nil {
			t.Fatalf("%s: no execution time in the plan: %v", c.name, err)
		}
		t.Logf("%-26s %-18s %3.0f rows, %.3f ms", c.name, index, read, took)
	}
}

// eventLiteral writes an argument of the log's statement as SQL.
func eventLiteral(v any) string {
	switch v := v.(type) {
	case time.Time:
		return "'" + v.UTC().Format(time.RFC3339Nano) + "'::timestamptz"
	case account.AccountID:
		return strconv.FormatInt(int64(v), 10)
	}
	return literal(v)
}

// TestEventLogExportHoldsNoConnectionWhileWriting exports a log of two and
// a half pages: every event comes once, newest first, and while the writer
// holds one (a slow download's client is reading) no connection of the
// pool is taken.
func TestEventLogExportHoldsNoConnectionWhileWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	const n = 2500
	// Events come in pairs that share a time, so the key's id orders them.
	db.Exec(t, `INSERT INTO events (at, actor, kind, params)
		SELECT $1::timestamptz + (i / 2) * interval '1 second', 'ops@clc.example', 'user_created', '{}'
		FROM generate_series(1, $2) AS i`, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), n)
	log := account.NewEventLog(postgres.NewStore(db.Pool))
	sc, err := log.Scope(ctx, account.User{ID: 1, Staff: true}, account.PortalEventLog, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen, held := map[int64]bool{}, 0
	var last account.Event
	err = log.Export(ctx, sc, account.EventFilter{}, func(e account.Event) error {
		if db.Pool.Stat().AcquiredConns() > 0 {
			held++
		}
		if seen[e.ID] || (len(seen) > 0 && (e.At.After(last.At) || (e.At.Equal(last.At) && e.ID > last.ID))) {
			t.Fatalf("event %d at %v after %d at %v: repeated or out of order", e.ID, e.At, last.ID, last.At)
		}
		seen[e.ID], last = true, e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != n || held != 0 {
		t.Errorf("exported %d of %d events; a connection was held while writing %d of them", len(seen), n, held)
	}
}
