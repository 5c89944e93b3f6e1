package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// TestDirectoryBatchFallsBackToThePrimary reads the directory's sections,
// one pgx.Batch, through a replica that went away after its last check:
// the primary answers them all, as it does for a single read, and the
// replica is left out from then on.
func TestDirectoryBatchFallsBackToThePrimary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	for _, sql := range []string{
		`INSERT INTO smart_accounts (name, domain, account_type, status, created_at, updated_at) VALUES
			('Globex', 'globex.example', 'customer', 'active', now(), now()),
			('Globex Labs', 'labs.globex.example', 'customer', 'active', now(), now())`,
		`INSERT INTO users (email, name) VALUES ('zoe@globex.example', 'Zoe')`,
		`INSERT INTO memberships (user_id, smart_account_id, role)
			SELECT u.id, sa.id, 'admin' FROM users u, smart_accounts sa WHERE sa.name = 'Globex'`,
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	var zoe int64
	if err := db.Pool.QueryRow(ctx, `SELECT id FROM users`).Scan(&zoe); err != nil {
		t.Fatal(err)
	}
	var qs []account.SectionQuery
	for _, sec := range account.Sections {
		qs = append(qs, account.SectionQuery{ViewerID: zoe, Domains: []string{"labs.globex.example", "globex.example"}, Section: sec, Limit: 10})
	}
	read := func(s *postgres.Store) string {
		t.Helper()
		secs, err := s.DirectorySections(ctx, qs)
		if err != nil {
			t.Fatal(err)
		}
		var out string
		for i, sec := range secs {
			out += fmt.Sprint(account.Sections[i], ":")
			for _, l := range sec {
				out += " " + l.Account.Name + fmt.Sprint(l.Admins)
			}
			out += "; "
		}
		return out
	}
	want := read(postgres.NewStore(db.Pool))
	if want != "access: Globex[{Zoe zoe@globex.example}]; requested:; created:; domain: Globex Labs[]; " {
		t.Fatalf("the primary's directory is %q", want)
	}

	dead, err := postgres.DeadReplica(db.Pool, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dead.Close)
	s := postgres.NewStore(db.Pool).WithReplica(dead)
	if !s.ReadsReplica(ctx) {
		t.Fatal("the replica, not yet found gone, does not answer")
	}
	if got := read(s); got != want {
		t.Errorf("through the dead replica the directory is %q, want %q", got, want)
	}
	if s.ReadsReplica(ctx) {
		t.Error("the replica still answers after a batch found it gone")
	}
}
