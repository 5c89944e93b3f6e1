// Package pgtest gives each test a fresh, migrated PostgreSQL database on the
// throwaway cluster that `make test` starts (TEST_DATABASE_URL).
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/migrations"
)

// DB is one test's database.
type DB struct {
	Pool *pgxpool.Pool
	URL  string
}

// New creates a database for t from a migrated template and drops it when t
// ends. Copying a template is far faster than migrating each time.
func New(t testing.TB) DB {
	t.Helper()
	return create(t, os.Getenv("TEST_DATABASE_URL"), true)
}

// NewReplicated is New on the cluster the streaming replica follows
// (TEST_REPLICATED_DATABASE_URL), for a test that reads its database on the
// replica (ReplicaURL). The replica follows a cluster of its own so that it
// replays these few tests' writes, not every test's: replaying them all
// took 49 s of a make test's CPU.
func NewReplicated(t testing.TB) DB {
	t.Helper()
	return create(t, need(t, "TEST_REPLICATED_DATABASE_URL"), true)
}

// Exec runs sql on the test's database, failing t if it fails: the set-up
// and the changes a test makes.
func (db DB) Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TracedPool is a pool of its own on db whose connections report every
// statement and batch to tracer, for tests that count what a path sends.
func (db DB) TracedPool(t testing.TB, tracer pgx.QueryTracer) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewUnmigrated creates an empty database, for tests of migrating.
func NewUnmigrated(t testing.TB) DB {
	t.Helper()
	return create(t, os.Getenv("TEST_DATABASE_URL"), false)
}

func create(t testing.TB, admin string, migrated bool) DB {
	t.Helper()
	if admin == "" {
		t.Fatal("TEST_DATABASE_URL is not set: run the tests with `make test`, which starts PostgreSQL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to test cluster: %v", err)
	}
	defer conn.Close(ctx)

	tmpl := "template0"
	if migrated {
		if tmpl, err = ensureTemplate(ctx, conn, admin); err != nil {
			t.Fatalf("template database: %v", err)
		}
	}
	name := "t_" + randomHex(8)
	// FILE_COPY copies the template's files; PostgreSQL 15's default,
	// WAL_LOG, writes each of its 9 MB to the WAL, which the replica then
	// replays: 20 databases four at a time took 3.9 s and 2.9 s of
	// PostgreSQL's CPU that way, 1.9 s and 0.8 s this way.
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY`, name, tmpl)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	if err := copySettings(ctx, conn, tmpl, name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	dbURL := withDatabase(admin, name)
	pool, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return DB{Pool: pool, URL: dbURL}
}

// ensureTemplate makes the template for the current migrations once for all
// test processes; an advisory lock serialises the packages `go test` runs in
// parallel.
func ensureTemplate(ctx context.Context, conn *pgx.Conn, admin string) (string, error) {
	name := "tmpl_" + migrationsHash()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(727274)`); err != nil {
		return "", err
	}
	// The lock goes with the connection, which the caller closes, if this fails.
	defer func() { _, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock(727274)`) }()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, building)); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s`, building)); err != nil {
		return "", err
	}
	pool, err := postgres.Open(ctx, withDatabase(admin, building))
	if err != nil {
		return "", err
	}
	_, _, err = postgres.Migrate(ctx, pool)
	pool.Close()
	if err != nil {
		return "", err
	}
	// Renamed only once complete, so a killed run never leaves a half-built template.
	if _, err := conn.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, building, name)); err != nil {
		return "", err
	}
	return name, nil
}

// copySettings gives database to the defaults (ALTER DATABASE ... SET) of
// template, which CREATE DATABASE does not copy, so a test's database is
// what the migrations make.
func copySettings(ctx context.Context, conn *pgx.Conn, template, database string) error {
	var settings []string
	err := conn.QueryRow(ctx, `
		SELECT coalesce((SELECT s.setconfig FROM pg_db_role_setting s
			JOIN pg_database d ON d.oid = s.setdatabase
			WHERE d.datname = $1 AND s.setrole = 0), '{}')`, template).Scan(&settings)
	if err != nil {
		return fmt.Errorf("read settings of %s: %w", template, err)
	}
	for _, kv := range settings {
		k, v, _ := strings.Cut(kv, "=")
		sql := fmt.Sprintf(`ALTER DATABASE %s SET %s = '%s'`, database, pgx.Identifier{k}.Sanitize(), strings.ReplaceAll(v, "'", "''"))
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("copy setting %s: %w", kv, err)
		}
	}
	return nil
}

func migrationsHash() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func withDatabase(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(fmt.Sprintf("TEST_DATABASE_URL: %v", err))
	}
	u.Path = "/" + db
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
