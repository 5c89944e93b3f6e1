package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

const requestColumns = `r.id, r.requested_by, u.email, u.name, r.partner_name, r.domain_as_typed, r.note_to_approver,
	r.customer_emails, r.note_to_customer, r.user_emails, r.note_to_users, r.submission_key, r.status,
	r.created_at, r.expires_at, r.reminded_at, r.decided_at, r.decided_by, coalesce(r.decided_by_user, 0),
	r.decision_reason, r.customer_language, r.input_hash, ` + heldColumn + `, r.users_left_out`

// heldColumn is a request r's approvers awaiting review, in the order they
// were held.
const heldColumn = `ARRAY(SELECT h.email FROM held_approvers h WHERE h.request_id = r.id ORDER BY h.held_at, h.email)`

// requestSelect reads a request with its account and requester; scanRequest
// reads its rows, then any extra columns.
const requestSelect = `SELECT ` + requestColumns + `, ` + accountColumns + requestFrom

const requestFrom = `
	FROM account_requests r
	JOIN smart_accounts sa ON sa.id = r.smart_account_id
	JOIN users u ON u.id = r.requested_by `

func scanRequest(row pgx.Row, extra ...any) (account.AccountRequest, error) {
	var r account.AccountRequest
	var remindedAt, decidedAt *time.Time
	// The status as its underlying string, and the account by accountDest:
	// pgx plans a named type's scan the long way on every QueryRow.
	dest := append(make([]any, 0, 24+accountFields+len(extra)), &r.ID, &r.RequestedBy, &r.Requester, &r.RequesterName, &r.PartnerName, &r.DomainAsTyped, &r.NoteToApprover,
		&r.CustomerEmails, &r.NoteToCustomer, &r.UserEmails, &r.NoteToUsers, &r.SubmissionKey, (*string)(&r.Status),
		&r.CreatedAt, &r.ExpiresAt, &remindedAt, &decidedAt, &r.DecidedBy, &r.DecidedByUser, &r.DecisionReason, &r.CustomerLanguage, &r.InputHash, &r.Held, &r.UsersLeftOut)
	dest = append(accountDest(&r.Account, dest), extra...)
	err := row.Scan(dest...)
	r.RemindedAt = deref(remindedAt)
	r.DecidedAt = deref(decidedAt)
	return r, err
}

// deref is a nullable timestamp as the domain holds it: zero for NULL.
func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// requestByKeySQL finds the request a submission key $1 made.
const requestByKeySQL = requestSelect + `WHERE r.submission_key = $1`

func requestByKey(ctx context.Context, q querier, key string) (account.AccountRequest, error) {
	r, err := scanRequest(q.QueryRow(ctx, requestByKeySQL, key))
	return r, mapErr(err, "")
}

func (s *Store) RequestBySubmissionKey(ctx context.Context, key string) (account.AccountRequest, error) {
	return requestByKey(ctx, s.pool, key)
}

// CreateRequest writes a submission in one transaction of five round trips,
// however many approvers and emails it has: a submission's cost on both
// sides was its round trips (a third of the portal's CPU was the write of
// each), not the work of its statements.
func (s *Store) CreateRequest(ctx context.Context, r account.AccountRequest, links []account.ApprovalLink, emails []account.Email, quota account.EmailQuota) (account.AccountRequest, error) {
	var out account.AccountRequest
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		// Serialise submissions of one form, so a double click waits for the
		// first and then finds it rather than racing it for the domain. The
		// lookup's snapshot is taken after the lock is held: the server binds
		// a batch's second statement only once its first has run.
		var prev account.AccountRequest
		var prevErr error
		first := &pgx.Batch{}
		first.Queue(`SELECT pg_advisory_xact_lock(hashtextextended($1, 1))`, r.SubmissionKey)
		first.Queue(requestByKeySQL, r.SubmissionKey).QueryRow(func(row pgx.Row) error {
			prev, prevErr = scanRequest(row)
			prevErr = mapErr(prevErr, "")
			return nil
		})
		if err := tx.SendBatch(ctx, first).Close(); err != nil {
			return err
		}
		if prevErr == nil {
			out = prev
			return account.ErrDuplicateSubmission
		}
		if !errors.Is(prevErr, account.ErrNotFound) {
			return prevErr
		}

		// ON CONFLICT waits for a concurrent holder of the domain to commit,
		// so the holder can then be named.
		a, err := scanAccount(tx.QueryRow(ctx, `
			INSERT INTO smart_accounts AS sa (name, domain, account_type, restricted, status, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, false, 'pending', $4, $5, $5)
			ON CONFLICT (domain) WHERE status IN ('pending', 'active') DO NOTHING
			RETURNING `+accountColumns, r.Account.Name, r.Account.Domain, r.Account.Type, r.RequestedBy, r.CreatedAt))
		if errors.Is(err, pgx.ErrNoRows) {
			held, err := scanAccount(tx.QueryRow(ctx, liveAccountByDomainSQL, r.Account.Domain))
			if err != nil {
				return fmt.Errorf("find holder of %s: %w", r.Account.Domain, err)
			}
			return &account.DomainTakenError{Account: held}
		}
		if err != nil {
			return fmt.Errorf("insert account: %w", err)
		}
		r.Account = a

		// The rest needs only the account's id: one batch writes the request
		// with its approval links, its history and its emails.
		rest := &pgx.Batch{}
		linkEmails, linkHashes, linkExpiries := make([]string, len(links)), make([][]byte, len(links)), make([]time.Time, len(links))
		for i, l := range links {
			linkEmails[i], linkHashes[i], linkExpiries[i] = l.Email, l.TokenHash, l.ExpiresAt
		}
		rest.Queue(`
			WITH req AS (
				INSERT INTO account_requests (smart_account_id, requested_by, partner_name, domain_as_typed,
					note_to_approver, customer_emails, note_to_customer, user_emails, note_to_users,
					submission_key, status, created_at, expires_at, customer_language, input_hash)
				VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, '{}'::text[]), $9, $10, 'pending', $11, $12, $13, $17)
				RETURNING id
			), link AS (
				INSERT INTO approval_links (request_id, email, token_hash, created_at, expires_at)
				SELECT req.id, l.email, l.token_hash, $11, l.expires_at
				FROM req, unnest($14::text[], $15::bytea[], $16::timestamptz[]) WITH ORDINALITY AS l (email, token_hash, expires_at, n)
				ORDER BY l.n
			), held AS (
				INSERT INTO held_approvers (request_id, email, held_at)
				SELECT req.id, h.email, $11 FROM req, unnest($18::text[]) AS h (email)
			)
			SELECT id FROM req`,
			a.ID, r.RequestedBy, r.PartnerName, r.DomainAsTyped, r.NoteToApprover, r.CustomerEmails,
			r.NoteToCustomer, r.UserEmails, r.NoteToUsers, r.SubmissionKey, r.CreatedAt, r.ExpiresAt, r.CustomerLanguage,
			linkEmails, linkHashes, linkExpiries, r.InputHash, r.Held).QueryRow(func(row pgx.Row) error {
			if err := row.Scan(&r.ID); err != nil {
				return fmt.Errorf("insert request: %w", err)
			}
			return nil
		})
		requested := account.EventParams{Approvers: r.CustomerEmails, Held: r.Held}
		if r.Renews != 0 {
			requested.Renews = r.Renews.String()
		}
		sql, args, err := eventInsert(ctx, account.Event{AccountID: a.ID, At: r.CreatedAt, ActorID: r.RequestedBy,
			Actor: r.Requester, Kind: "requested", Params: requested})
		if err != nil {
			return err
		}
		rest.Queue(sql, args...)
		if r.Renews != 0 {
			// The old request's history names the one that sent it again.
			sql, args, err := eventInsert(ctx, account.Event{AccountID: r.Renews, At: r.CreatedAt, ActorID: r.RequestedBy,
				Actor: r.Requester, Kind: "renewed", Params: account.EventParams{RenewedAs: a.ID.String()}})
			if err != nil {
				return err
			}
			rest.Queue(sql, args...)
		}
		for i := range emails {
			if emails[i].Data.AccountID == "" {
				emails[i].Data.AccountID = a.ID.String()
			}
			if emails[i].AccountID == 0 {
				emails[i].AccountID = a.ID
			}
		}
		if len(emails) > 0 {
			sql, args, err := outboxInsert(r.CreatedAt, emails)
			if err != nil {
				return err
			}
			rest.Queue(sql, args...)
		}
		// Last, so the requester's quota row is locked for the shortest time.
		queueEmailQuota(rest, quota)
		if err := tx.SendBatch(ctx, rest).Close(); err != nil {
			return fmt.Errorf("write request for %s: %w", a.Domain, err)
		}
		out = r
		return nil
	})
	return out, err
}

// SubmissionFacts reads what a submission is checked against in one round
// trip: the requester's partner account, an earlier submission of the same
// form, the live holder of the domain and the active accounts above it. Each
// statement sees what had committed when it ran, as four round trips did;
// CreateRequest decides again, under its lock, what could race.
func (s *Store) SubmissionFacts(ctx context.Context, userID int64, key, domain string) (account.SubmissionFacts, error) {
	var f account.SubmissionFacts
	b := &pgx.Batch{}
	queueOptional(b, &f.Partner, scanAccount, menuAccountSQL, userID)
	queueOptional(b, &f.Earlier, scanRequest, requestByKeySQL, key)
	if domain != "" {
		queueOptional(b, &f.Holder, scanAccount, liveAccountByDomainSQL, domain)
		queueParentAccounts(b, domain, &f.Parents)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return account.SubmissionFacts{}, fmt.Errorf("read submission facts: %w", err)
	}
	return f, nil
}

// queueOptional queues a statement of at most one row, which scan reads
// into *out; no row leaves *out nil.
func queueOptional[T any](b *pgx.Batch, out **T, scan func(pgx.Row, ...any) (T, error), sql string, args ...any) {
	b.Queue(sql, args...).QueryRow(func(row pgx.Row) error {
		v, err := scan(row)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		*out = &v
		return nil
	})
}

// queueParentAccounts looks the domains above domain up in the domain
// index, one probe each: a pattern comparing domain with every account's
// read them all.
func queueParentAccounts(b *pgx.Batch, domain string, out *[]account.AccountAdmins) {
	var above []string // emea.globex.example: globex.example, example
	for d := domain; strings.Contains(d, "."); {
		d = d[strings.IndexByte(d, '.')+1:]
		above = append(above, d)
	}
	b.Queue(`
		SELECT `+accountColumns+`,
			coalesce((SELECT array_agg(u.email ORDER BY u.email) FROM memberships m JOIN users u ON u.id = m.user_id
				WHERE m.smart_account_id = sa.id AND m.virtual_account_id IS NULL AND m.role = 'admin'), '{}')
		FROM smart_accounts sa
		WHERE sa.status = 'active' AND sa.domain = ANY ($1)
		ORDER BY length(sa.domain) DESC`, above).Query(func(rows pgx.Rows) error {
		var err error
		*out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.AccountAdmins, error) {
			var aa account.AccountAdmins
			a, err := scanAccount(row, &aa.Admins)
			aa.Account = a
			return aa, err
		})
		return err
	})
}
