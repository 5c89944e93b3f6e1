// Package postgres keeps every piece of the portal's state in PostgreSQL: the
// pool, transactions, migrations and the stores that implement the domain's
// interfaces.
package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/migrations"
)

// versionTable records which migrations have run.
const versionTable = "schema_version"

// Settings are the session settings the portal's statements are written
// for. Migration 010 makes them the database's defaults rather than each
// connection asking for them, so they hold through a pooler (see there).
//
// plan_cache_mode: every statement is prepared once per connection and
// planned once, for any values: the portal's statements find rows by keys
// and ranges, where the right plan does not depend on the values, and
// planning them anew on every execution cost more than executing them (0.3
// to 2 ms against 0.05 to 0.5 ms at a million accounts).
//
// jit: JIT compiles a plan the planner thinks costly, which takes hundreds
// of milliseconds. A generic plan is costed without the values, so one that
// reads a few index pages can look costly enough to be compiled on every
// execution.
var Settings = map[string]string{"plan_cache_mode": "force_generic_plan", "jit": "off"}

// CheckSettings says which of Settings a connection of pool does not have,
// naming the statements that set them; nil when all hold.
func CheckSettings(ctx context.Context, pool *pgxpool.Pool) error {
	var db string
	var wrong []string
	for _, name := range []string{"plan_cache_mode", "jit"} {
		var got string
		if err := pool.QueryRow(ctx, `SELECT current_setting($1), current_database()`, name).Scan(&got, &db); err != nil {
			return fmt.Errorf("read setting %s: %w", name, err)
		}
		if got != Settings[name] {
			wrong = append(wrong, fmt.Sprintf("ALTER DATABASE %s SET %s = %s (now %s)",
				pgx.Identifier{db}.Sanitize(), name, Settings[name], got))
		}
	}
	if len(wrong) > 0 {
		return fmt.Errorf("the database's settings are not the portal's: as its owner, run %s", strings.Join(wrong, "; "))
	}
	return nil
}

// Open connects a pool and checks the database answers. The URL may choose
// how statements are sent (default_query_exec_mode=cache_describe behind
// PgBouncer's transaction pooling, for one) and the pool's size
// (pool_max_conns), as pgx reads them.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return pool, nil
}

// Migrate applies every pending migration. tern holds an advisory lock, so
// several processes migrating at once is safe.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (from, to int32, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	m, err := newMigrator(ctx, conn.Conn())
	if err != nil {
		return 0, 0, err
	}
	if from, err = m.GetCurrentVersion(ctx); err != nil {
		return 0, 0, fmt.Errorf("migrate: read version: %w", err)
	}
	// Migrating on top of files that were changed after they were applied
	// would build on a schema nobody wrote.
	if _, err := checkFiles(ctx, conn.Conn(), m, from); err != nil {
		return from, 0, err
	}
	if err := m.Migrate(ctx); err != nil {
		return from, 0, fmt.Errorf("migrate: %w", err)
	}
	if to, err = m.GetCurrentVersion(ctx); err != nil {
		return from, 0, fmt.Errorf("migrate: read version: %w", err)
	}
	// Recorded after tern's transactions: a crash in between leaves files
	// unrecorded, which serve refuses and the next migrate records.
	for _, mg := range m.Migrations[:to] {
		sum, err := fileSum(mg)
		if err != nil {
			return from, to, err
		}
		if _, err := conn.Exec(ctx, `
			INSERT INTO schema_files (version, name, sha256) VALUES ($1, $2, $3)
			ON CONFLICT (version) DO NOTHING`, mg.Sequence, mg.Name, sum); err != nil {
			return from, to, fmt.Errorf("migrate: record %s: %w", mg.Name, err)
		}
	}
	return from, to, nil
}

// fileSum is the SHA-256 of a migration's file as embedded.
func fileSum(mg *migrate.Migration) ([]byte, error) {
	b, err := fs.ReadFile(migrations.FS, mg.Name)
	if err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", mg.Name, err)
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}

// checkFiles compares the files recorded as applied, up to version, with
// this binary's, and reports whether every one of them is recorded.
func checkFiles(ctx context.Context, conn *pgx.Conn, m *migrate.Migrator, version int32) (complete bool, err error) {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('schema_files') IS NOT NULL`).Scan(&exists); err != nil {
		return false, fmt.Errorf("check schema files: %w", err)
	}
	if !exists {
		return version == 0, nil
	}
	rows, err := conn.Query(ctx, `SELECT version, name, sha256 FROM schema_files WHERE version <= $1 ORDER BY version`, version)
	if err != nil {
		return false, fmt.Errorf("check schema files: %w", err)
	}
	defer rows.Close()
	recorded := 0
	for rows.Next() {
		var v int32
		var name string
		var sum []byte
		if err := rows.Scan(&v, &name, &sum); err != nil {
			return false, fmt.Errorf("check schema files: %w", err)
		}
		if v < 1 || int(v) > len(m.Migrations) {
			return false, fmt.Errorf("database applied migration %s, which this binary does not have", name)
		}
		mg := m.Migrations[v-1]
		want, err := fileSum(mg)
		if err != nil {
			return false, err
		}
		switch {
		case mg.Name != name:
			return false, fmt.Errorf("migration %d is %s here but the database applied %s: rebuild the database or use its binary", v, mg.Name, name)
		case !bytes.Equal(sum, want):
			return false, fmt.Errorf("migration file %s differs from the one this database applied: a landed migration is never edited; restore it", mg.Name)
		}
		recorded++
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("check schema files: %w", err)
	}
	return recorded == int(version), nil
}

// ErrSchemaBehind means the database needs `clc migrate`.
var ErrSchemaBehind = errors.New("database schema is behind this binary: run `clc migrate` first")

// CheckSchema returns ErrSchemaBehind unless every migration has run.
func CheckSchema(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("check schema: %w", err)
	}
	defer conn.Release()
	// tern takes and releases a session's advisory lock in two statements.
	// Behind PgBouncer's transaction pooling each statement outside a
	// transaction may run on another server connection, which would leave
	// the lock held on one of them and block the next start that lands
	// there; inside one transaction they share one server connection.
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("check schema: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	m, err := newMigrator(ctx, conn.Conn())
	if err != nil {
		return err
	}
	v, err := m.GetCurrentVersion(ctx)
	if err != nil {
		return fmt.Errorf("check schema: %w", err)
	}
	if want := int32(len(m.Migrations)); v < want {
		return fmt.Errorf("%w (at version %d of %d)", ErrSchemaBehind, v, want)
	}
	complete, err := checkFiles(ctx, conn.Conn(), m, v)
	if err != nil {
		return err
	}
	if !complete {
		return errors.New("database schema does not record the files it applied: run `clc migrate` first")
	}
	return nil
}

func newMigrator(ctx context.Context, conn *pgx.Conn) (*migrate.Migrator, error) {
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if err := m.LoadMigrations(migrations.FS); err != nil {
		return nil, fmt.Errorf("migrate: load: %w", err)
	}
	return m, nil
}

// querier is what both a pool and a transaction offer, so a helper can run
// inside or outside a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// withTx runs fn in a transaction, committing when it returns nil.
func withTx(ctx context.Context, pool *pgxpool.Pool, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, pool, fn)
}

// mapErr turns driver errors into the domain's.
func mapErr(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return account.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return &account.ConflictError{What: what}
	}
	return err
}
