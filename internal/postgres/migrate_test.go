package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// Each applied migration's file is recorded by its SHA-256; a database
// whose applied files differ from this binary's is refused by name, by both
// serve's check and migrate.
func TestAppliedMigrationsAreChecked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewUnmigrated(t)
	if _, _, err := postgres.Migrate(ctx, db.Pool); err != nil {
		t.Fatal(err)
	}
	if err := postgres.CheckSchema(ctx, db.Pool); err != nil {
		t.Fatalf("a freshly migrated database: %v", err)
	}
	var recorded int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM schema_files WHERE length(sha256) = 32`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	var version int
	if err := db.Pool.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if recorded != version || version < 6 {
		t.Fatalf("%d files recorded at version %d", recorded, version)
	}

	// What the database applied as 003 was not this binary's 003.
	if _, err := db.Pool.Exec(ctx, `UPDATE schema_files SET sha256 = sha256('edited'::bytea) WHERE version = 3`); err != nil {
		t.Fatal(err)
	}
	for name, check := range map[string]func() error{
		"serve":   func() error { return postgres.CheckSchema(ctx, db.Pool) },
		"migrate": func() error { _, _, err := postgres.Migrate(ctx, db.Pool); return err },
	} {
		err := check()
		if err == nil || !strings.Contains(err.Error(), "003_decisions.sql") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s on a database whose 003 differs: %v; want one line naming 003_decisions.sql", name, err)
		}
	}

	// A database migrated before files were recorded has them recorded by
	// the next migrate, and until then is sent there.
	if _, err := db.Pool.Exec(ctx, `DELETE FROM schema_files`); err != nil {
		t.Fatal(err)
	}
	if err := postgres.CheckSchema(ctx, db.Pool); err == nil || !strings.Contains(err.Error(), "clc migrate") {
		t.Errorf("unrecorded files: %v, want a refusal naming clc migrate", err)
	}
	if _, _, err := postgres.Migrate(ctx, db.Pool); err != nil {
		t.Fatal(err)
	}
	if err := postgres.CheckSchema(ctx, db.Pool); err != nil {
		t.Errorf("after migrate recorded the files: %v", err)
	}
}

// Search no longer uses trigrams (005 replaced them), so the extension is
// dropped.
func TestNoTrigramExtension(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("pg_trgm installed: %d %v", n, err)
	}
}
