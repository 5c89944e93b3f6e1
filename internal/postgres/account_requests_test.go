package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// roundTrips counts what a pool sends: each statement on its own is a round
// trip, and so is each batch, however many statements it carries.
type roundTrips struct {
	mu sync.Mutex
	n  int
}

func (r *roundTrips) add() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
}

func (r *roundTrips) take() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.n
	r.n = 0
	return n
}

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.add()
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.add()
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// tracedStore is a Store over a pool of its own on db, whose round trips
// trips counts.
func tracedStore(t *testing.T, db pgtest.DB) (*postgres.Store, *roundTrips) {
	trips := &roundTrips{}
	return postgres.NewStore(db.TracedPool(t, trips)), trips
}

// A submission with several approvers writes its account, request, every
// approval link, its history and every email, in the order given and with
// each recipient's language, in five round trips however many approvers and
// emails it has; a second submission of the form finds the first, and a
// domain held by another request names that request's account.
func TestCreateRequestWritesItAllInFiveRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO users (email, name, language) VALUES ('pat@partner.example', 'Pat', 'it'), ('cfo@globex.example', 'Cfo', 'de')`); err != nil {
		t.Fatal(err)
	}
	var requester int64
	if err := db.Pool.QueryRow(ctx, `SELECT id FROM users WHERE email = 'pat@partner.example'`).Scan(&requester); err != nil {
		t.Fatal(err)
	}
	s, trips := tracedStore(t, db)

	now := time.Now().UTC().Truncate(time.Second)
	approvers := []string{"cfo@globex.example", "it@globex.example", "ceo@globex.example"}
	r := account.AccountRequest{
		Account:     account.SmartAccount{Name: "Globex", Domain: "globex.example", Type: account.TypeCustomer},
		RequestedBy: requester, Requester: "pat@partner.example", PartnerName: "Partner", DomainAsTyped: "globex.example",
		CustomerEmails: approvers, SubmissionKey: "form-0123456789abcdef", Status: account.RequestPending,
		CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour),
	}
	var links []account.ApprovalLink
	var emails []account.Email
	for _, to := range approvers {
		links = append(links, account.ApprovalLink{Email: to, TokenHash: account.HashToken("token-" + to), ExpiresAt: r.ExpiresAt})
		emails = append(emails, account.Email{Kind: account.EmailApprovalRequest, To: to, Secret: "token-" + to})
	}
	emails[2].Lang = "nl" // chosen on the form for this approver
	emails = append(emails, account.Email{Kind: account.EmailRequestConfirmation, To: "pat@partner.example"})

	trips.take() // the pool's connecting
	created, err := s.CreateRequest(ctx, r, links, emails, account.EmailQuota{})
	if err != nil {
		t.Fatal(err)
	}
	if n := trips.take(); n != 5 {
		t.Errorf("a submission of three approvers and four emails took %d round trips, want 5", n)
	}
	if created.ID == 0 || created.Account.ID == 0 || created.Account.Status != account.StatusPending {
		t.Fatalf("created %+v", created)
	}

	str := func(sql string, args ...any) string {
		t.Helper()
		var s string
		if err := db.Pool.QueryRow(ctx, sql, args...).Scan(&s); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return s
	}
	if got := str(`SELECT string_agg(email || ' ' || (token_hash = sha256(convert_to('token-' || email, 'UTF8')))::text, ', ' ORDER BY id)
		FROM approval_links WHERE request_id = $1`, created.ID); got != "cfo@globex.example true, it@globex.example true, ceo@globex.example true" {
		t.Errorf("approval links: %s", got)
	}
	if got := str(`SELECT string_agg(kind || ' ' || to_address || ' ' || language || ' ' || (smart_account_id = $1)::text
			|| ' ' || coalesce((link_hash = sha256(convert_to(secret, 'UTF8')))::text, 'none') || ' ' || (data->>'account_id' IS NOT NULL)::text, ', ' ORDER BY id)
		FROM outbox`, created.Account.ID); got != strings.Join([]string{
		"approval_request cfo@globex.example de true true true", // the recipient's own language
		"approval_request it@globex.example en true true true",  // no user: the portal's default
		"approval_request ceo@globex.example nl true true true", // as the form chose
		"request_confirmation pat@partner.example it true none true",
	}, ", ") {
		t.Errorf("outbox: %s", got)
	}
	if got := str(`SELECT string_agg(kind || ' ' || actor, ', ') FROM events WHERE smart_account_id = $1`, created.Account.ID); got != "requested pat@partner.example" {
		t.Errorf("history: %s", got)
	}

	// The same form again: the first request, and nothing written.
	prev, err := s.CreateRequest(ctx, r, links, emails, account.EmailQuota{})
	if !errors.Is(err, account.ErrDuplicateSubmission) || prev.ID != created.ID {
		t.Errorf("the same form again: %+v, %v", prev.ID, err)
	}
	// Another form for the same domain: refused, naming its holder.
	r.SubmissionKey = "form-fedcba9876543210"
	_, err = s.CreateRequest(ctx, r, nil, nil, account.EmailQuota{})
	var taken *account.DomainTakenError
	if !errors.As(err, &taken) || taken.Account.ID != created.Account.ID {
		t.Errorf("a second request for the domain: %v", err)
	}
	if got := str(`SELECT (SELECT count(*) FROM account_requests) || ' ' || (SELECT count(*) FROM outbox) || ' ' || (SELECT count(*) FROM approval_links)`); got != "1 4 3" {
		t.Errorf("after the refusals, requests, emails and links: %s", got)
	}
}

// What a submission is checked against comes in one round trip: the
// requester's partner account, the request an earlier submission of the form
// made, the domain's live holder and the active accounts above it with their
// administrators; a user with no role has no partner, and an invalid domain
// ("") reads no domain facts.
func TestSubmissionFactsComeInOneRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO users (email, name) VALUES ('pat@partner.example', 'Pat'), ('ann@globex.example', 'Ann'),
			('bob@globex.example', 'Bob'), ('nobody@else.example', 'Nobody');
		INSERT INTO smart_accounts (name, domain, account_type, status) VALUES
			('Partner Holding', 'partner.example', 'partner_holding', 'active'),
			('Globex', 'globex.example', 'customer', 'active'),
			('Old Globex EMEA', 'emea.globex.example', 'customer', 'denied'),
			('Globex Labs', 'labs.globex.example', 'customer', 'pending');
		INSERT INTO memberships (user_id, smart_account_id, role)
			SELECT u.id, sa.id, 'admin' FROM users u, smart_accounts sa
			WHERE (u.email = 'pat@partner.example' AND sa.domain = 'partner.example')
				OR (u.email IN ('ann@globex.example', 'bob@globex.example') AND sa.domain = 'globex.example');`); err != nil {
		t.Fatal(err)
	}
	id := func(email string) int64 {
		t.Helper()
		var id int64
		if err := db.Pool.QueryRow(ctx, `SELECT id FROM users WHERE email = $1`, email).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	pat := id("pat@partner.example")
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO account_requests (smart_account_id, requested_by, partner_name, domain_as_typed, customer_emails,
			submission_key, status, created_at, expires_at, customer_language)
		SELECT id, $1, 'Partner Holding', domain, '{cto@labs.globex.example}', 'form-earlier-0123456789', 'pending', now(), now() + interval '30 days', 'en'
		FROM smart_accounts WHERE domain = 'labs.globex.example'`, pat); err != nil {
		t.Fatal(err)
	}
	s, trips := tracedStore(t, db)

	facts := func(user int64, key, domain string) account.SubmissionFacts {
		t.Helper()
		trips.take()
		f, err := s.SubmissionFacts(ctx, user, key, domain)
		if err != nil {
			t.Fatal(err)
		}
		if n := trips.take(); n != 1 {
			t.Errorf("facts for %q took %d round trips, want 1", domain, n)
		}
		return f
	}

	// A new form for a subdomain whose earlier account was denied.
	f := facts(pat, "form-new-0123456789abc", "emea.globex.example")
	if f.Partner == nil || f.Partner.Name != "Partner Holding" || f.Earlier != nil || f.Holder != nil {
		t.Errorf("a new form: partner %v, earlier %v, holder %v", f.Partner, f.Earlier, f.Holder)
	}
	if len(f.Parents) != 1 || f.Parents[0].Account.Domain != "globex.example" ||
		strings.Join(f.Parents[0].Admins, " ") != "ann@globex.example bob@globex.example" {
		t.Errorf("parents of emea.globex.example: %+v", f.Parents)
	}

	// The earlier form again, for the domain its request now holds.
	f = facts(pat, "form-earlier-0123456789", "labs.globex.example")
	if f.Earlier == nil || f.Earlier.RequestedBy != pat || f.Earlier.Account.Domain != "labs.globex.example" {
		t.Errorf("the earlier form: %+v", f.Earlier)
	}
	if f.Holder == nil || f.Holder.Name != "Globex Labs" || f.Holder.Status != account.StatusPending {
		t.Errorf("holder of labs.globex.example: %+v", f.Holder)
	}

	// No role anywhere, and a domain that did not parse.
	f = facts(id("nobody@else.example"), "form-other-0123456789", "")
	if f.Partner != nil || f.Earlier != nil || f.Holder != nil || f.Parents != nil {
		t.Errorf("a user with no role and no domain: %+v", f)
	}
}
