package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// TestLinkWithMessagesReadsThemOnlyForALiveLink: the Pending Request page's
// one round trip reads a link's conversation exactly when
// account.LinkStateAt says the link is live, in every state a link can be
// in, so none of it leaves the database for a link that can no longer act.
func TestLinkWithMessagesReadsThemOnlyForALiveLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	db.Exec(t, `INSERT INTO users (email, name) VALUES ('pat@partner.example', 'Pat')`)
	var requester int64
	if err := db.Pool.QueryRow(ctx, `SELECT id FROM users WHERE email = 'pat@partner.example'`).Scan(&requester); err != nil {
		t.Fatal(err)
	}
	s, trips := tracedStore(t, db)
	now := time.Now().UTC().Truncate(time.Second)
	r := account.AccountRequest{
		Account:     account.SmartAccount{Name: "Globex", Domain: "globex.example", Type: account.TypeCustomer},
		RequestedBy: requester, Requester: "pat@partner.example", PartnerName: "Partner", DomainAsTyped: "globex.example",
		CustomerEmails: []string{"cfo@globex.example"}, SubmissionKey: "form-0123456789abcdef", Status: account.RequestPending,
		CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour),
	}
	link := account.ApprovalLink{Email: "cfo@globex.example", TokenHash: account.HashToken("token-cfo"), ExpiresAt: r.ExpiresAt}
	created, err := s.CreateRequest(ctx, r, []account.ApprovalLink{link}, nil, account.EmailQuota{})
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, `INSERT INTO events (smart_account_id, at, actor, kind) VALUES ($1, now(), 'pat@partner.example', 'message'),
		($1, now(), 'cfo@globex.example', 'message'), ($1, now(), 'pat@partner.example', 'requested')`, created.Account.ID)

	for _, tc := range []struct {
		name, token string
		change      string // SQL run first, on the request $1
		later       time.Duration
		want        account.LinkState
	}{
		{name: "live", token: "token-cfo", want: account.LinkLive},
		{name: "live, an hour before it expires", token: "token-cfo", later: 30*24*time.Hour - time.Hour, want: account.LinkLive},
		{name: "expired by time", token: "token-cfo", later: 30 * 24 * time.Hour, want: account.LinkExpired},
		{name: "replaced by a reminder", token: "token-cfo", want: account.LinkReplaced,
			change: `UPDATE approval_links SET previous_token_hash = token_hash, token_hash = sha256('token-new') WHERE request_id = $1`},
		{name: "the reminder's token", token: "token-new", want: account.LinkLive},
		{name: "forwarded", token: "token-new", want: account.LinkForwarded,
			change: `UPDATE approval_links SET revoked_at = now(), forwarded_to = 'cto@globex.example' WHERE request_id = $1`},
		{name: "removed by the partner", token: "token-new", want: account.LinkRemoved,
			change: `UPDATE approval_links SET forwarded_to = '' WHERE request_id = $1`},
		{name: "live again (made so by hand)", token: "token-new", want: account.LinkLive,
			change: `UPDATE approval_links SET revoked_at = NULL WHERE request_id = $1`},
		{name: "withdrawn", token: "token-new", want: account.LinkWithdrawn,
			change: `UPDATE account_requests SET status = 'withdrawn' WHERE id = $1`},
		{name: "expired by the job", token: "token-new", want: account.LinkExpired,
			change: `UPDATE account_requests SET status = 'expired' WHERE id = $1`},
		{name: "approved", token: "token-new", want: account.LinkDecided,
			change: `UPDATE account_requests SET status = 'approved', decided_at = now(), decided_by = 'cfo@globex.example' WHERE id = $1`},
	} {
		if tc.change != "" {
			db.Exec(t, tc.change, created.ID)
		}
		at := now.Add(tc.later)
		trips.take()
		l, req, replaced, msgs, err := s.LinkWithMessages(ctx, account.HashToken(tc.token), at)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n := trips.take(); n != 1 {
			t.Errorf("%s: %d round trips, want 1", tc.name, n)
		}
		state := account.LinkStateAt(l, req, replaced, at)
		if state != tc.want {
			t.Errorf("%s: the link is %s, want %s", tc.name, state, tc.want)
		}
		wantMessages := 0
		if state == account.LinkLive {
			wantMessages = 2
		}
		if len(msgs) != wantMessages {
			t.Errorf("%s: %d messages read, want %d", tc.name, len(msgs), wantMessages)
		}
		for _, m := range msgs {
			if m.Kind != "message" {
				t.Errorf("%s: read a %q event as a message", tc.name, m.Kind)
			}
		}
	}

	if _, _, _, _, err := s.LinkWithMessages(ctx, account.HashToken("no such token"), now); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("a token no link has: %v, want ErrNotFound", err)
	}
}
