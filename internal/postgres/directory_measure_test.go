package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// TestMeasureDirectorySections prints EXPLAIN (ANALYZE, BUFFERS) figures of
// each section's statement for a partner with CLC_MEASURE_SECTIONS accounts
// in each section (e.g. 30000): not a check, a measurement, run by hand.
func TestMeasureDirectorySections(t *testing.T) {
	t.Parallel()
	var per int
	if _, err := fmt.Sscan(os.Getenv("CLC_MEASURE_SECTIONS"), &per); err != nil || per < 1 {
		t.Skip("set CLC_MEASURE_SECTIONS to the accounts per section to measure")
	}
	ctx := context.Background()
	// CLC_MEASURE_URL names a database to load once and measure again (clc
	// migrate it first); without it the test's own fresh one is loaded.
	var db pgtest.DB
	if u := os.Getenv("CLC_MEASURE_URL"); u != "" {
		pool, err := pgxpool.New(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		db = pgtest.DB{Pool: pool, URL: u}
	} else {
		db = pgtest.New(t)
	}
	var loaded bool
	if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM users WHERE email = 'big@bigpartner.example')`).Scan(&loaded); err != nil {
		t.Fatal(err)
	}
	if !loaded {
		measureLoad(t, ctx, db, per)
	}
	for _, viewer := range []string{"small@smallpartner.example", "big@bigpartner.example"} {
		measureSections(t, ctx, db, viewer)
	}
}

// measureLoad adds, beside other accounts, two partners: big@ with per
// accounts in each section that can hold many, small@ with 300; and one
// account under each one's domain. Names are a coined word (six hex
// digits, in a name or two each) and a legal form (GmbH in one in eight).
func measureLoad(t *testing.T, ctx context.Context, db pgtest.DB, per int) {
	start := time.Now()
	db.Exec(t, `INSERT INTO users (email, name) VALUES ('big@bigpartner.example', 'Big Partner'), ('small@smallpartner.example', 'Small Partner')`)
	db.Exec(t, `INSERT INTO smart_accounts (name, domain, account_type, status) VALUES
		('Bigpartner AG', 'bigpartner.example', 'customer', 'active'), ('Smallpartner AG', 'smallpartner.example', 'customer', 'active')`)
	db.Exec(t, `INSERT INTO smart_accounts (name, domain, account_type, status, created_at)
		SELECT initcap(substr(md5(i::text), 1, 6)) || ' ' || (ARRAY['GmbH', 'AG', 'Ltd', 'SA', 'Inc.', 'Bank', 'Versicherung', 'Logistik'])[1 + i % 8],
			substr(md5(i::text), 1, 6) || '-' || i || '.example', 'customer',
			(ARRAY['active', 'active', 'active', 'pending', 'denied', 'expired'])[1 + i % 6],
			now() - make_interval(secs => i)
		FROM generate_series(1, $1::int) i`, 3*per+3*300+10000)
	t.Logf("accounts: %v", time.Since(start))
	for _, p := range []struct {
		email string
		n     int
		from  int
	}{{"big@bigpartner.example", per, 3}, {"small@smallpartner.example", 300, 3*per + 3}} {
		db.Exec(t, `INSERT INTO memberships (user_id, smart_account_id, role)
			SELECT (SELECT id FROM users WHERE email = $1), id, 'viewer' FROM smart_accounts WHERE id BETWEEN $2::int AND $2::int + $3::int - 1`, p.email, p.from, p.n)
		t.Logf("roles: %v", time.Since(start))
		db.Exec(t, `UPDATE smart_accounts SET created_by = (SELECT id FROM users WHERE email = $1)
			WHERE id BETWEEN $2::int + $3::int AND $2::int + 2 * $3::int - 1`, p.email, p.from, p.n)
		db.Exec(t, `INSERT INTO access_requests (user_id, smart_account_id, role, reason, status, created_at, decided_at)
			SELECT (SELECT id FROM users WHERE email = $1), id, 'user', 'r',
				CASE WHEN id % 3 = 0 THEN 'declined' ELSE 'pending' END, now() - make_interval(secs => id),
				CASE WHEN id % 3 = 0 THEN now() END
			FROM smart_accounts WHERE id BETWEEN $2::int + 2 * $3::int AND $2::int + 3 * $3::int - 1`, p.email, p.from, p.n)
		t.Logf("%s: %v", p.email, time.Since(start))
	}
	db.Exec(t, `VACUUM ANALYZE`)
}

func measureSections(t *testing.T, ctx context.Context, db pgtest.DB, email string) {
	var viewer int64
	if err := db.Pool.QueryRow(ctx, `SELECT id FROM users WHERE email = $1`, email).Scan(&viewer); err != nil {
		t.Fatal(err)
	}
	domains := account.DomainAndParents(account.EmailDomain(email))
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Its statements are deallocated below: no other query may have it.
	defer func() { conn.Hijack().Close(ctx) }()
	measure := func(label string, q account.SectionQuery) {
		sql, args := postgres.SectionSQL(q)
		var values []string
		for _, a := range args {
			values = append(values, literal(a))
		}
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			if _, err := conn.Exec(ctx, "DEALLOCATE ALL; SET plan_cache_mode = "+mode, pgx.QueryExecModeSimpleProtocol); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, "PREPARE m AS "+sql, pgx.QueryExecModeSimpleProtocol); err != nil {
				t.Fatal(err)
			}
			var ms, bufs float64
			for range 3 { // the best of three, warm
				var plan string
				if err := conn.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE m ("+strings.Join(values, ", ")+")", pgx.QueryExecModeSimpleProtocol).Scan(&plan); err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				var root []struct {
					Plan struct {
						Hit  float64 `json:"Shared Hit Blocks"`
						Read float64 `json:"Shared Read Blocks"`
					}
					Execution float64 `json:"Execution Time"`
				}
				if err := json.Unmarshal([]byte(plan), &root); err != nil {
					t.Fatal(err)
				}
				if ms == 0 || root[0].Execution < ms {
					ms, bufs = root[0].Execution, root[0].Plan.Hit+root[0].Plan.Read
				}
			}
			t.Logf("%-6s %-10s %-34s %-6s %8.2f ms %7.0f buffers", email[:strings.IndexByte(email, '@')], q.Section, label, mode[6:12], ms, bufs)
		}
	}
	for _, sec := range account.Sections {
		for _, c := range measureCases(t, ctx, db, viewer, domains, sec) {
			measure(c.label, c.q)
		}
	}
}
