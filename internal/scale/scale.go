// Package scale loads a large synthetic directory for benchmarks: company-like
// Smart Accounts with their Virtual Accounts, users, roles, access requests
// and history. Rows are generated inside PostgreSQL with generate_series, so
// a million accounts load in minutes instead of crossing the wire one by one.
package scale

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Password is every synthetic user's password.
const Password = "scale-password"

// Options says how much to load.
type Options struct {
	Accounts int
	// Partners are the heavy partners to add, each as the number of
	// accounts they hold a role on (spread evenly over the accounts this
	// load adds); each also asked for a third as many to be created, and
	// asked access to a tenth as many. A partner who would hold more
	// accounts than the load adds is left out. None: one of 300.
	Partners []int
	// PasswordHash is the stored hash of Password, given to every user:
	// hashing it once keeps a million users cheap.
	PasswordHash string
	// Progress, when set, hears of each step as it completes.
	Progress func(step string, rows int64, took time.Duration)
}

// Summary is what was loaded.
type Summary struct {
	Accounts, VirtualAccounts, Users, Memberships, AccessRequests, Events int64
	// Partner signs in as the first of Partners: by default a partner with
	// roles on a few hundred accounts, who also asked for some to be created
	// and asked access to others: the directory's heavy user.
	Partner         string
	PartnerAccounts int
	// Partners are every heavy partner added, in the order of
	// Options.Partners.
	Partners []LoadedPartner
}

// LoadedPartner is a heavy partner and the accounts they hold a role on.
type LoadedPartner struct {
	Email    string
	Accounts int
}

// DefaultPartner is how many accounts the heavy partner holds a role on
// when Options.Partners says nothing.
const DefaultPartner = 300

// partner is a heavy partner of this load: user userBase+1+i for the i-th,
// with roles on accounts accountBase+1, +1+step, +1+2*step, …
type partner struct {
	roles, created, requests int
}

// Load adds opts.Accounts Smart Accounts and everything around them to the
// database, after whatever it already holds. About 96% of the accounts are
// active, 1% restricted; each active one has one to four Virtual Accounts,
// two or three administrators and one more role holder. There is one user
// for every two accounts, at the domain of an account.
func Load(ctx context.Context, pool *pgxpool.Pool, opts Options) (Summary, error) {
	n := opts.Accounts
	if n < 1 {
		return Summary{}, fmt.Errorf("load: give at least one account")
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("load: %w", err)
	}
	defer conn.Release()
	l := loader{conn: conn.Conn(), opts: opts, n: n, users: max(1, n/2)}
	sizes := opts.Partners
	if len(sizes) == 0 {
		sizes = []int{DefaultPartner}
	}
	for _, k := range sizes {
		if k < 1 {
			return Summary{}, fmt.Errorf("load: a partner holds at least one account, not %d", k)
		}
		if k <= n && len(l.partners) < l.users {
			l.partners = append(l.partners, partner{roles: k, created: max(1, k/3), requests: max(1, k/10)})
		}
	}
	return l.run(ctx)
}

type loader struct {
	conn  *pgx.Conn
	opts  Options
	n     int // accounts to add
	users int // users to add
	// partners are the heavy partners this load adds, the first users.
	partners []partner
	// Ids already taken: what is added is numbered after them, so the rows
	// can refer to each other without reading back.
	accountBase, vaBase, userBase int64
	sum                           Summary
}

// vaSlots is how many Virtual Account ids each account reserves.
const vaSlots = 4

func (l *loader) run(ctx context.Context) (Summary, error) {
	// pick(i, seed, n) is a deterministic, well-spread choice in [0, n): the
	// dice every generated column rolls. A temporary function lives on this
	// connection only (replaced when a pool lends the same connection to a
	// second load), and SQL-language inlines into each statement.
	// Commits wait for their WAL, whatever the server's setting: vacuum
	// marks a page all-visible, which index-only scans need, only once the
	// commits of its rows are flushed, and finish vacuums right after the
	// last one.
	setup := `
		CREATE OR REPLACE FUNCTION pg_temp.pick(i bigint, seed bigint, n bigint) RETURNS bigint
			LANGUAGE sql IMMUTABLE PARALLEL SAFE
			RETURN (hashint8extended(i, seed) & 9223372036854775807) % n;
		SET work_mem = '256MB';
		SET maintenance_work_mem = '512MB';
		SET synchronous_commit = on`
	if _, err := l.conn.Exec(ctx, setup); err != nil {
		return Summary{}, fmt.Errorf("load: set up: %w", err)
	}
	err := l.conn.QueryRow(ctx, `
		SELECT (SELECT coalesce(max(id), 0) FROM smart_accounts),
			(SELECT coalesce(max(id), 0) FROM virtual_accounts),
			(SELECT coalesce(max(id), 0) FROM users)`).Scan(&l.accountBase, &l.vaBase, &l.userBase)
	if err != nil {
		return Summary{}, fmt.Errorf("load: read ids: %w", err)
	}
	steps := []struct {
		name string
		fn   func(context.Context) (int64, error)
		into *int64
	}{
		{"smart accounts", l.withoutKey("search_suffixes", l.accounts), &l.sum.Accounts},
		{"virtual accounts", l.virtualAccounts, &l.sum.VirtualAccounts},
		{"users", l.addUsers, &l.sum.Users},
		{"creators", l.creators, nil},
		{"roles", l.withoutKey("accessible_accounts", l.rolesAndAccess), &l.sum.Memberships},
		{"access requests", l.accessRequests, &l.sum.AccessRequests},
		{"history", l.events, &l.sum.Events},
		{"indexes and statistics", l.finish, nil},
	}
	for _, s := range steps {
		start := time.Now()
		rows, err := s.fn(ctx)
		if err != nil {
			return Summary{}, fmt.Errorf("load %s: %w", s.name, err)
		}
		if s.into != nil {
			*s.into = rows
		}
		if l.opts.Progress != nil {
			l.opts.Progress(s.name, rows, time.Since(start))
		}
	}
	for i := range l.partners {
		var p LoadedPartner
		err = l.conn.QueryRow(ctx, `
			SELECT u.email, (SELECT count(DISTINCT smart_account_id) FROM memberships WHERE user_id = u.id)
			FROM users u WHERE u.id = $1`, l.userBase+1+int64(i)).Scan(&p.Email, &p.Accounts)
		if err != nil {
			return Summary{}, fmt.Errorf("load: read partner: %w", err)
		}
		l.sum.Partners = append(l.sum.Partners, p)
	}
	if len(l.sum.Partners) > 0 {
		l.sum.Partner, l.sum.PartnerAccounts = l.sum.Partners[0].Email, l.sum.Partners[0].Accounts
	}
	return l.sum, nil
}

func (l *loader) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := l.conn.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

// withoutKey runs load with table's primary key dropped, then adds the key
// again as it was. Adding accounts adds their search suffixes (a trigger of
// migration 005), a dozen rows each; a key built once over all of them is
// sorted: a million accounts load in 1 m 9 s instead of 2 m 46 s. The same
// holds for accessible_accounts (migration 017), a row for each user and
// account they hold a role on.
func (l *loader) withoutKey(table string, load func(context.Context) (int64, error)) func(context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		// One transaction, so that a failed load leaves the key in place.
		tx, err := l.conn.Begin(ctx)
		if err != nil {
			return 0, err
		}
		defer tx.Rollback(ctx)
		var name, def string
		err = tx.QueryRow(ctx, `
			SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
			WHERE conrelid = $1::regclass AND contype = 'p'`, table).Scan(&name, &def)
		if err != nil {
			return 0, fmt.Errorf("read the key of %s: %w", table, err)
		}
		t, c := pgx.Identifier{table}.Sanitize(), pgx.Identifier{name}.Sanitize()
		if _, err := tx.Exec(ctx, `ALTER TABLE `+t+` DROP CONSTRAINT `+c); err != nil {
			return 0, err
		}
		n, err := load(ctx) // on the same connection, so inside tx
		if err != nil {
			return n, err
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE `+t+` ADD CONSTRAINT `+c+` `+def); err != nil {
			return n, err
		}
		return n, tx.Commit(ctx)
	}
}

// accounts adds the Smart Accounts. A name is a coined word with an
// industry ("Kavéron Logistik GmbH"), a place ("Zürich Kavéron AG"), a
// partner's surname ("Kavéron & Müller KG"), a branch ("Kavéron Systems
// Schweiz Ltd") or nothing more ("Kavéron AG"); its domain is the coined
// word, made unique with the account's number (kaveron-1234.ch).
func (l *loader) accounts(ctx context.Context) (int64, error) {
	return l.exec(ctx, `
		WITH w AS (
			SELECT $2::text[] AS syllables, $3::text[] AS places, $4::text[] AS industries, $5::text[] AS qualifiers,
				$6::text[] AS suffixes, $7::text[] AS tlds, $8::text[] AS surnames
		)
		INSERT INTO smart_accounts (id, name, domain, account_type, restricted, status, created_at, updated_at)
		OVERRIDING SYSTEM VALUE
		SELECT $1 + g.i,
			concat_ws(' ', CASE
				WHEN p.pattern < 40 THEN p.coined || ' ' || p.industry
				WHEN p.pattern < 60 THEN p.place || ' ' || p.coined
				WHEN p.pattern < 72 THEN p.coined || ' & ' || p.surname
				WHEN p.pattern < 90 THEN concat_ws(' ', p.coined, p.industry, nullif(p.qualifier, ''))
				ELSE p.coined END,
				nullif(p.suffix, '')),
			regexp_replace(clc_fold(p.coined), '[^a-z0-9]+', '-', 'g') || '-' || ($1 + g.i) || '.' || p.tld,
			CASE WHEN p.kind < 3 THEN 'partner_holding' WHEN p.kind < 5 THEN 'limited_use' ELSE 'customer' END,
			pg_temp.pick(g.i, 6, 100) = 0,
			CASE WHEN p.status < 960 THEN 'active' WHEN p.status < 980 THEN 'pending' WHEN p.status < 990 THEN 'denied' ELSE 'expired' END,
			p.created, p.created
		FROM w, generate_series(1, $9::bigint) g (i)
		CROSS JOIN LATERAL (SELECT
			initcap(w.syllables[1 + pg_temp.pick(g.i, 1, cardinality(w.syllables))]
				|| w.syllables[1 + pg_temp.pick(g.i, 2, cardinality(w.syllables))]
				|| CASE WHEN pg_temp.pick(g.i, 3, 5) < 3
					THEN w.syllables[1 + pg_temp.pick(g.i, 4, cardinality(w.syllables))] ELSE '' END) AS coined,
			w.places[1 + pg_temp.pick(g.i, 10, cardinality(w.places))] AS place,
			w.industries[1 + pg_temp.pick(g.i, 11, cardinality(w.industries))] AS industry,
			w.qualifiers[1 + pg_temp.pick(g.i, 12, cardinality(w.qualifiers))] AS qualifier,
			w.suffixes[1 + pg_temp.pick(g.i, 13, cardinality(w.suffixes))] AS suffix,
			w.surnames[1 + pg_temp.pick(g.i, 14, cardinality(w.surnames))] AS surname,
			w.tlds[1 + pg_temp.pick(g.i, 15, cardinality(w.tlds))] AS tld,
			pg_temp.pick(g.i, 16, 100) AS pattern,
			pg_temp.pick(g.i, 7, 100) AS kind,
			pg_temp.pick(g.i, 8, 1000) AS status,
			now() - make_interval(secs => pg_temp.pick(g.i, 9, 5 * 365 * 86400)) AS created
		) p`,
		l.accountBase, syllables, places, industries, qualifiers, suffixes, tlds, lastNames, l.n)
}

// virtualAccounts gives each active account DEFAULT and up to three more.
func (l *loader) virtualAccounts(ctx context.Context) (int64, error) {
	return l.exec(ctx, `
		INSERT INTO virtual_accounts (id, smart_account_id, name, created_at)
		OVERRIDING SYSTEM VALUE
		SELECT $2 + (sa.id - $1 - 1) * $4 + k, sa.id,
			CASE WHEN k = 1 THEN 'DEFAULT'
				ELSE ($3::text[])[1 + (pg_temp.pick(sa.id, 10, cardinality($3::text[])) + k) % cardinality($3::text[])] END,
			sa.created_at
		FROM smart_accounts sa
		CROSS JOIN LATERAL generate_series(1, 1 + pg_temp.pick(sa.id, 11, $4)) k
		WHERE sa.id > $1 AND sa.status = 'active'`,
		l.accountBase, l.vaBase, virtualAccounts, vaSlots)
}

// addUsers adds one user for every two accounts, each at the domain of an
// account (every other one), so the directory's domain section has work.
func (l *loader) addUsers(ctx context.Context) (int64, error) {
	return l.exec(ctx, `
		WITH w AS (SELECT $4::text[] AS firsts, $5::text[] AS lasts)
		INSERT INTO users (id, email, name, password_hash)
		OVERRIDING SYSTEM VALUE
		SELECT $1 + j,
			regexp_replace(clc_fold(f.first || '.' || f.last), '[^a-z0-9.]+', '-', 'g') || '.' || ($1 + j) || '@' || sa.domain,
			f.first || ' ' || f.last,
			$6
		FROM w, generate_series(1, $3::bigint) j
		CROSS JOIN LATERAL (SELECT
			w.firsts[1 + pg_temp.pick(j, 20, cardinality(w.firsts))] AS first,
			w.lasts[1 + pg_temp.pick(j, 21, cardinality(w.lasts))] AS last
		) f
		JOIN smart_accounts sa ON sa.id = $2 + 1 + ((j - 1) * 2) % $7`,
		l.userBase, l.accountBase, l.users, firstNames, lastNames, l.opts.PasswordHash, l.n)
}

// creators records who asked for accounts to be created: every account not
// yet or no longer active, one in ten active ones, and a third as many as
// they hold a role on for each heavy partner (a hundred for the default
// one). An account a partner before them took is not taken again.
func (l *loader) creators(ctx context.Context) (int64, error) {
	n, err := l.exec(ctx, `
		UPDATE smart_accounts sa SET created_by = $2 + 1 + pg_temp.pick(sa.id, 22, $3)
		WHERE sa.id > $1 AND (sa.status <> 'active' OR pg_temp.pick(sa.id, 23, 10) = 0)`,
		l.accountBase, l.userBase, l.users)
	if err != nil {
		return n, err
	}
	for i, p := range l.partners {
		step := max(1, l.n/p.created)
		m, err := l.exec(ctx, `
			UPDATE smart_accounts sa SET created_by = $2 + 1 + $5
			WHERE sa.id > $1 AND (sa.id - $1) % $3 = (2 + $5) % $3 AND (sa.id - $1) / $3 < $4
				AND (sa.created_by IS NULL OR sa.created_by NOT BETWEEN $2 + 1 AND $2 + $5)`,
			l.accountBase, l.userBase, step, p.created, i)
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// memberships gives each active account two or three administrators (the
// first its own employee where it has one) and one more role: a User of the
// account or a Viewer of its DEFAULT Virtual Account. Each heavy partner gets
// roles on as many accounts as they were given, spread evenly.
func (l *loader) memberships(ctx context.Context) (int64, error) {
	var steps, counts []int64
	for _, p := range l.partners {
		steps, counts = append(steps, int64(max(1, l.n/p.roles))), append(counts, int64(p.roles))
	}
	return l.exec(ctx, `
		INSERT INTO memberships (user_id, smart_account_id, virtual_account_id, role)
		SELECT m.user_id, m.smart_account_id, m.va, m.role FROM (
			SELECT CASE WHEN r = 1 AND (sa.id - $1) % 2 = 1 AND ((sa.id - $1) + 1) / 2 <= $4
					THEN $3 + ((sa.id - $1) + 1) / 2
					ELSE $3 + 1 + pg_temp.pick(sa.id * 3 + r, 24, $4) END AS user_id,
				sa.id AS smart_account_id, NULL::bigint AS va, 'admin' AS role
			FROM smart_accounts sa
			CROSS JOIN LATERAL generate_series(1, 2 + (pg_temp.pick(sa.id, 25, 3) = 0)::int) r
			WHERE sa.id > $1 AND sa.status = 'active'
			UNION ALL
			SELECT $3 + 1 + pg_temp.pick(sa.id, 26, $4), sa.id,
				CASE WHEN sa.id % 2 = 0 THEN $2 + (sa.id - $1 - 1) * $5 + 1 END,
				CASE WHEN sa.id % 2 = 0 THEN 'viewer' ELSE 'user' END
			FROM smart_accounts sa
			WHERE sa.id > $1 AND sa.status = 'active'
			UNION ALL
			SELECT $3 + p.i, sa.id, NULL, (ARRAY['admin', 'user', 'viewer'])[1 + k % 3]
			FROM unnest($6::bigint[], $7::bigint[]) WITH ORDINALITY p (step, roles, i)
			CROSS JOIN LATERAL generate_series(0, p.roles - 1) k
			JOIN smart_accounts sa ON sa.id = $1 + 1 + k * p.step AND sa.status = 'active'
		) m
		ON CONFLICT DO NOTHING`,
		l.accountBase, l.vaBase, l.userBase, l.users, vaSlots, steps, counts)
}

// rolesAndAccess adds the roles, then the rows of accessible_accounts for
// them in one statement, with the trigger that adds those rows off: its
// statements are planned generic (migration 010), for a handful of roles,
// and cost 8 s more for the 320,000 roles of 100,000 accounts. Every role
// added is on an account added by this load, so no row is there already.
// Inside withoutKey's transaction, so a failed load leaves the trigger on.
func (l *loader) rolesAndAccess(ctx context.Context) (int64, error) {
	if _, err := l.conn.Exec(ctx, `ALTER TABLE memberships DISABLE TRIGGER accessible_accounts_insert`); err != nil {
		return 0, err
	}
	n, err := l.memberships(ctx)
	if err != nil {
		return n, err
	}
	_, err = l.conn.Exec(ctx, `
		INSERT INTO accessible_accounts (user_id, name_folded, smart_account_id, domain)
		SELECT DISTINCT m.user_id, sa.name_folded, sa.id, sa.domain
		FROM memberships m JOIN smart_accounts sa ON sa.id = m.smart_account_id
		WHERE sa.id > $1`, l.accountBase)
	if err != nil {
		return n, err
	}
	_, err = l.conn.Exec(ctx, `ALTER TABLE memberships ENABLE TRIGGER accessible_accounts_insert`)
	return n, err
}

// accessRequests has one user in a hundred, and each heavy partner for a
// tenth as many accounts as they hold a role on (thirty for the default
// one), asking for access; a quarter of the requests were declined.
func (l *loader) accessRequests(ctx context.Context) (int64, error) {
	var steps, counts []int64
	for _, p := range l.partners {
		steps, counts = append(steps, int64(max(1, l.n/p.requests))), append(counts, int64(p.requests))
	}
	return l.exec(ctx, `
		INSERT INTO access_requests (user_id, smart_account_id, role, reason, status, created_at, decided_at)
		SELECT r.user_id, r.smart_account_id, (ARRAY['admin', 'user', 'viewer'])[1 + pg_temp.pick(r.seed, 27, 3)],
			'Our team looks after this customer''s licences.',
			CASE WHEN pg_temp.pick(r.seed, 28, 4) = 0 THEN 'declined' ELSE 'pending' END,
			now() - make_interval(days => pg_temp.pick(r.seed, 29, 60)::int),
			CASE WHEN pg_temp.pick(r.seed, 28, 4) = 0 THEN now() END
		FROM (
			SELECT $2 + j AS user_id, $1 + 1 + pg_temp.pick(j, 30, $3) AS smart_account_id, j AS seed
			FROM generate_series(100, $4::bigint, 100) j
			UNION ALL
			SELECT $2 + p.i, $1 + 3 + k * p.step, -((p.i - 1) * $3 + k)
			FROM unnest($5::bigint[], $6::bigint[]) WITH ORDINALITY p (step, requests, i)
			CROSS JOIN LATERAL generate_series(0, p.requests - 1) k
			WHERE 3 + k * p.step <= $3
		) r
		ON CONFLICT DO NOTHING`,
		l.accountBase, l.userBase, l.n, l.users, steps, counts)
}

// events starts each account's history.
func (l *loader) events(ctx context.Context) (int64, error) {
	return l.exec(ctx, `
		INSERT INTO events (smart_account_id, at, actor, kind)
		SELECT id, created_at, 'clc seed scale', CASE status WHEN 'active' THEN 'created' ELSE 'requested' END
		FROM smart_accounts WHERE id > $1`, l.accountBase)
}

// finish moves the id sequences past the ids given explicitly and vacuums,
// which gathers the planner's statistics and marks pages visible so that
// index-only scans (search reads search_suffixes and the name index so) skip
// the table.
func (l *loader) finish(ctx context.Context) (int64, error) {
	_, err := l.conn.Exec(ctx, `
		SELECT setval(pg_get_serial_sequence('smart_accounts', 'id'), (SELECT max(id) FROM smart_accounts));
		SELECT setval(pg_get_serial_sequence('virtual_accounts', 'id'), (SELECT max(id) FROM virtual_accounts));
		SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))`)
	if err != nil {
		return 0, err
	}
	_, err = l.conn.Exec(ctx, `VACUUM (ANALYZE) smart_accounts, search_suffixes, virtual_accounts, users, memberships, accessible_accounts, access_requests, events`)
	return 0, err
}
