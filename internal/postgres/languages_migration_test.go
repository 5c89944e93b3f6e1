package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// Migration 011 reads the English details the history held before into
// event parameters, so old events read in every language, and keeps as
// text whatever it cannot read.
func TestMigrationReadsOldEventDetails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewUnmigrated(t)
	if err := postgres.MigrateTo(ctx, db.Pool, 5); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO users (email, name) VALUES ('ada@partner.example', 'Ada');
		INSERT INTO smart_accounts (name, domain, account_type, status) VALUES ('Globex', 'globex.example', 'customer', 'active');
		INSERT INTO outbox (message_id, kind, to_address, data, next_attempt_at, created_at)
			VALUES ('m1', 'approval_request', 'hank@globex.example', '{}', now(), now());`); err != nil {
		t.Fatal(err)
	}
	old := []struct{ kind, detail string }{
		{"requested", "approvers: hank@globex.example, cfo@globex.example"},
		{"emailed", "approval_request to hank@globex.example"},
		{"forwarded", "to boss@globex.example"},
		{"reminded", "hank@globex.example, cfo@globex.example"},
		{"denied", "We have an account: see SA-000007."},
		{"approved", ""},
		{"access_granted", "hank@globex.example: admin"},
		{"access_granted", "user #1: viewer on Lab One"},
		{"access_requested", "user on Lab One"},
		{"access_requested", "admin"},
		{"virtual_account_created", "Lab One"},
		{"created", ""},
		{"something_else", "free words"},
	}
	for i, e := range old {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO events (smart_account_id, at, actor, kind, detail) VALUES (1, $1, 'x', $2, $3)`,
			at.Add(time.Duration(i)*time.Minute), e.kind, e.detail); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := postgres.Migrate(ctx, db.Pool); err != nil {
		t.Fatal(err)
	}
	got, err := postgres.NewStore(db.Pool).AccountHistory(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []account.EventParams{
		{Approvers: []string{"hank@globex.example", "cfo@globex.example"}},
		{Email: account.EmailApprovalRequest, To: []string{"hank@globex.example"}},
		{To: []string{"boss@globex.example"}},
		{To: []string{"hank@globex.example", "cfo@globex.example"}},
		{Reason: "We have an account: see SA-000007."},
		{},
		{User: "hank@globex.example", Role: account.RoleAdmin},
		{User: "ada@partner.example", Role: account.RoleViewer, VirtualAccount: "Lab One"},
		{Role: account.RoleUser, VirtualAccount: "Lab One"},
		{Role: account.RoleAdmin},
		{VirtualAccount: "Lab One"},
		{},
		{Text: "free words"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d events after migrating, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i].Params, want[i]
		if !slices.Equal(g.Approvers, w.Approvers) || !slices.Equal(g.To, w.To) || g.Email != w.Email || g.User != w.User ||
			g.Role != w.Role || g.VirtualAccount != w.VirtualAccount || g.Reason != w.Reason || g.Text != w.Text {
			t.Errorf("%s %q became %+v, want %+v", old[i].kind, old[i].detail, g, w)
		}
	}
	var lang string
	if err := db.Pool.QueryRow(ctx, `SELECT language FROM outbox`).Scan(&lang); err != nil || lang != "en" {
		t.Errorf("an old email records language %q (%v), want en", lang, err)
	}
}
