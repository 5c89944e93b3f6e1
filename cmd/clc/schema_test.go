package main

import (
	"context"
	"strings"
	"testing"

	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// serve refuses, in one line naming the file, a database that applied a
// migration file other than this binary's.
func TestServeRefusesAChangedMigration(t *testing.T) {
	t.Parallel()
	db := pgtest.NewUnmigrated(t)
	env := map[string]string{"DATABASE_URL": db.URL, "SMTP_URL": "smtp://127.0.0.1:1", "CLC_ADDR": "127.0.0.1:0"}
	mustRun(t, env, "", "migrate")
	if _, err := db.Pool.Exec(context.Background(), `UPDATE schema_files SET sha256 = sha256('edited'::bytea) WHERE version = 2`); err != nil {
		t.Fatal(err)
	}
	_, _, err := clcRun(t, env, "", "serve")
	if err == nil || !strings.Contains(err.Error(), "002_requests_outbox.sql") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("serve on a database whose 002 differs: %v", err)
	}
}
