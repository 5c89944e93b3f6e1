package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/clc-portal/clc/internal/account"
)

// enqueue writes emails into the outbox inside the caller's transaction, so
// they commit with the change that causes them and never without it. One
// statement writes them all, whatever their number: a submission queues
// three or more, and each statement is a round trip of the transaction.
// The rows keep the order of emails (WITH ORDINALITY), and so do their ids,
// which is the order the worker sends them in when they are due together.
func enqueue(ctx context.Context, tx pgx.Tx, now time.Time, emails []account.Email) error {
	if len(emails) == 0 {
		return nil
	}
	sql, args, err := outboxInsert(now, emails)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("queue %d emails (%s first): %w", len(emails), emails[0].Kind, err)
	}
	return nil
}

// outboxInsert is enqueue's statement, for a batch that queues the emails in
// the same round trip as the writes that cause them.
func outboxInsert(now time.Time, emails []account.Email) (string, []any, error) {
	n := len(emails)
	messageIDs, kinds, to, langs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	data := make([][]byte, n)
	secrets := make([]*string, n)
	linkHashes := make([][]byte, n)
	accountIDs := make([]*int64, n)
	for i, e := range emails {
		d, err := json.Marshal(e.Data)
		if err != nil {
			return "", nil, fmt.Errorf("encode %s email data: %w", e.Kind, err)
		}
		messageIDs[i], kinds[i], to[i], langs[i], data[i] = newMessageID(), string(e.Kind), e.To, e.Lang, d
		if e.AccountID != 0 {
			id := int64(e.AccountID)
			accountIDs[i] = &id
		}
		if e.Secret != "" {
			secret := e.Secret
			secrets[i], linkHashes[i] = &secret, account.HashToken(e.Secret)
		}
	}
	// An email without a language takes its recipient's, if they are a user,
	// else the portal's default.
	return `
		INSERT INTO outbox (message_id, kind, to_address, language, data, secret, link_hash, smart_account_id, next_attempt_at, created_at)
		SELECT e.message_id, e.kind, e.to_address,
			coalesce(nullif(e.language, ''), (SELECT nullif(u.language, '') FROM users u WHERE u.email = e.to_address), $10),
			e.data, e.secret, e.link_hash, e.smart_account_id, $9, $9
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::bytea[], $8::bigint[])
			WITH ORDINALITY AS e (message_id, kind, to_address, language, data, secret, link_hash, smart_account_id, n)
		ORDER BY e.n`,
		[]any{messageIDs, kinds, to, langs, data, secrets, linkHashes, accountIDs, now, account.DefaultLanguage}, nil
}

// newMessageID is the local part of the Message-ID, fixed when the email is
// queued so a resend after a crash carries the same id.
func newMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// queuedColumns are what scanQueued reads, with secret for the email's
// secret: the worker needs it, the operators' list must not load it.
func queuedColumns(secret string) string {
	return `id, message_id, kind, to_address, language, data, ` + secret + `,
	coalesce(smart_account_id, 0), state, attempts, next_attempt_at, last_error, created_at, sent_at`
}

func scanQueued(row pgx.Row) (account.QueuedEmail, error) {
	var q account.QueuedEmail
	var data []byte
	var sentAt *time.Time
	err := row.Scan(&q.ID, &q.MessageID, &q.Email.Kind, &q.Email.To, &q.Email.Lang, &data, &q.Email.Secret,
		&q.Email.AccountID, &q.State, &q.Attempts, &q.NextAttemptAt, &q.LastError, &q.CreatedAt, &sentAt)
	if err != nil {
		return q, err
	}
	if sentAt != nil {
		q.SentAt = *sentAt
	}
	return q, json.Unmarshal(data, &q.Email.Data)
}

// ClaimEmails takes up to limit due emails for worker, the id of its
// WorkerLock (0 for none). SKIP LOCKED lets several workers share the
// outbox. An email another worker claimed is due again once that worker's
// lock is free (it died, or its lock's connection dropped), at once, or
// once the lease ran out (it lives but is stuck, or took no lock). A worker
// whose own lock is gone claims nothing: its claims would look abandoned to
// every other worker the moment they were made.
//
// The due emails are taken in the order of the index on next_attempt_at
// alone: with id in that ORDER BY too, every email due at the same moment
// was sorted before any was taken (a request's emails share one; a backlog
// made due at once, as in bench/search, shares one), 50 ms a claim with
// 15,000 of them. The batch still comes back in (next_attempt_at, id) order.
//
// pg_locks is read once a claim (live, materialized), not once a row; only
// rows of the partial due index are tested against it.
func (s *Store) ClaimEmails(ctx context.Context, worker int64, now time.Time, limit int, lease time.Duration) ([]account.QueuedEmail, error) {
	rows, err := s.pool.Query(ctx, claimEmailsSQL, now, limit, lease, worker)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.QueuedEmail, error) { return scanQueued(row) })
}

// claimEmailsSQL is ClaimEmails' statement: $1 now, $2 limit, $3 lease,
// $4 worker.
var claimEmailsSQL = claimDue("outbox", "o") + `
		SELECT ` + queuedColumns("coalesce(secret, '')") + ` FROM claimed ORDER BY next_attempt_at, id`

// The worker's updates are fenced by its claim: attempts counts claims, so
// a worker that overran its lease, or lost its lock, and lost its email to
// another records nothing over that worker's outcome (ErrClaimLost). Until
// another worker claims the email, the first may still record what it did:
// the email went out, or failed, and saying so spares a resend. Each
// outcome leaves 'sending', and so clears claimed_by: no claim, no claimer.
const claimed = `id = $1 AND attempts = $2 AND state = 'sending'`

// MarkEmailsSent records the delivery of a batch in one statement: each
// email its claim still holds is marked sent, its secret erased and an
// "emailed" event added to its account's history (and offered to the
// webhooks that receive it). lost[i] is
// account.ErrClaimLost when claims[i] was overtaken by another worker's (that
// email is left for the other worker to record) and nil when recorded; err
// means nothing was recorded.
func (s *Store) MarkEmailsSent(ctx context.Context, claims []account.EmailClaim, now time.Time) (lost []error, err error) {
	ids, attempts := claimArrays(claims)
	rows, err := s.pool.Query(ctx, `
		WITH sent AS (
			UPDATE outbox o SET state = 'sent', sent_at = $3, secret = NULL, locked_until = NULL, claimed_by = NULL, last_error = ''
			FROM unnest($1::bigint[], $2::int[]) AS c(id, attempt)
			WHERE o.id = c.id AND o.attempts = c.attempt AND o.state = 'sending'
			RETURNING o.id, o.smart_account_id, o.kind, o.to_address
		), emailed AS (
			INSERT INTO events (smart_account_id, at, kind, params)
			SELECT smart_account_id, $3, 'emailed', jsonb_build_object('email', kind, 'to', jsonb_build_array(to_address))
			FROM sent WHERE smart_account_id IS NOT NULL ORDER BY id
			RETURNING id, smart_account_id, at, actor, kind, params
		), hooks AS (`+webhookFanOut("emailed")+`
		)
		SELECT id FROM sent`, ids, attempts, now)
	if err != nil {
		return nil, fmt.Errorf("mark emails sent: %w", err)
	}
	return claimsLost(rows, claims)
}

// claimArrays are claims as the two arrays a statement unnests.
func claimArrays(claims []account.EmailClaim) (ids []int64, attempts []int32) {
	ids, attempts = make([]int64, len(claims)), make([]int32, len(claims))
	for i, c := range claims {
		ids[i], attempts[i] = c.ID, int32(c.Attempt)
	}
	return ids, attempts
}

// claimsLost reads the ids a fenced statement updated and reports
// account.ErrClaimLost for each claim it did not.
func claimsLost(rows pgx.Rows, claims []account.EmailClaim) ([]error, error) {
	done, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	updated := make(map[int64]bool, len(done))
	for _, id := range done {
		updated[id] = true
	}
	lost := make([]error, len(claims))
	for i, c := range claims {
		if !updated[c.ID] {
			lost[i] = account.ErrClaimLost
		}
	}
	return lost, nil
}

// RetryEmailLater puts an email back in the queue after a temporary failure.
func (s *Store) RetryEmailLater(ctx context.Context, id int64, attempt int, next time.Time, lastErr string) error {
	return fenced(s.pool.Exec(ctx, `
		UPDATE outbox SET state = 'pending', next_attempt_at = $3, locked_until = NULL, claimed_by = NULL, last_error = $4
		WHERE `+claimed, id, attempt, next, lastErr))
}

// MarkEmailFailed gives up on an email; an operator can retry it. The token
// it carried is erased, and its link's hash replaced by random bytes that
// are no token's hash: a failed email leaves no working link behind.
func (s *Store) MarkEmailFailed(ctx context.Context, id int64, attempt int, lastErr string) error {
	dead := make([]byte, 32)
	_, _ = rand.Read(dead)
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var old []byte
		err := tx.QueryRow(ctx, `SELECT link_hash FROM outbox WHERE `+claimed+` FOR UPDATE`, id, attempt).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			return account.ErrClaimLost
		}
		if err != nil {
			return err
		}
		if old == nil {
			dead = nil
		} else if _, err := relink(ctx, tx, old, dead); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			UPDATE outbox SET state = 'failed', locked_until = NULL, claimed_by = NULL, last_error = $2, secret = NULL, link_hash = $3
			WHERE id = $1`, id, lastErr, dead)
		return err
	})
}

// relink moves whichever link has hash from to hash to, reporting whether
// one had it.
func relink(ctx context.Context, tx pgx.Tx, from, to []byte) (bool, error) {
	a, err := tx.Exec(ctx, `UPDATE approval_links SET token_hash = $2 WHERE token_hash = $1`, from, to)
	if err != nil {
		return false, fmt.Errorf("relink approval link: %w", err)
	}
	p, err := tx.Exec(ctx, `UPDATE set_password_links SET token_hash = $2 WHERE token_hash = $1`, from, to)
	if err != nil {
		return false, fmt.Errorf("relink set-password link: %w", err)
	}
	return a.RowsAffected()+p.RowsAffected() > 0, nil
}

func fenced(tag pgconn.CommandTag, err error) error {
	if err == nil && tag.RowsAffected() == 0 {
		return account.ErrClaimLost
	}
	return err
}

// ReleaseEmails hands back emails their worker claimed but never tried (the
// SMTP server was unreachable, or the worker is shutting down), in one
// statement: the attempt each claim counted is taken back and the email is
// due again at once. lost is as for MarkEmailsSent.
func (s *Store) ReleaseEmails(ctx context.Context, claims []account.EmailClaim, lastErr string) (lost []error, err error) {
	ids, attempts := claimArrays(claims)
	rows, err := s.pool.Query(ctx, `
		UPDATE outbox o SET state = 'pending', attempts = o.attempts - 1, locked_until = NULL, claimed_by = NULL,
			last_error = coalesce(nullif($3, ''), o.last_error)
		FROM unnest($1::bigint[], $2::int[]) AS c(id, attempt)
		WHERE o.id = c.id AND o.attempts = c.attempt AND o.state = 'sending'
		RETURNING o.id`, ids, attempts, lastErr)
	if err != nil {
		return nil, fmt.Errorf("release emails: %w", err)
	}
	return claimsLost(rows, claims)
}

// RecentEmails lists the outbox newest first, for operators, without the
// secrets they never see.
func (s *Store) RecentEmails(ctx context.Context, limit, offset int) ([]account.QueuedEmail, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+queuedColumns("''")+` FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2`, limit, offset)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.QueuedEmail, error) { return scanQueued(row) })
}

// RequeueFailedEmail sends a failed email again now. An email that carried
// a link carries token, a new one, for the same link; when that link is gone
// (a reminder or a forward replaced it, or it was spent) the email goes
// without one and its renderer refuses it.
func (s *Store) RequeueFailedEmail(ctx context.Context, id int64, now time.Time, token string, by account.User) error {
	fresh := account.HashToken(token)
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var old []byte
		var accountID *account.AccountID
		var kind account.EmailKind
		var to string
		err := tx.QueryRow(ctx, `
			SELECT link_hash, smart_account_id, kind, to_address FROM outbox WHERE id = $1 AND state = 'failed' FOR UPDATE`,
			id).Scan(&old, &accountID, &kind, &to)
		if err != nil {
			return mapErr(err, "")
		}
		var secret *string
		if old != nil {
			ok, err := relink(ctx, tx, old, fresh)
			if err != nil {
				return err
			}
			if ok {
				secret = &token
			}
		}
		if secret == nil {
			fresh = nil
		}
		_, err = tx.Exec(ctx, `
			UPDATE outbox SET state = 'pending', next_attempt_at = $2, secret = $3, link_hash = $4,
				last_error = last_error || ' (retried by an operator)'
			WHERE id = $1`, id, now, secret, fresh)
		if err != nil {
			return err
		}
		e := account.Event{At: now, ActorID: by.ID, Actor: by.Email, Kind: "email_retried",
			Params: account.EventParams{Email: kind, To: []string{to}}}
		if accountID != nil {
			e.AccountID = *accountID
		}
		return addEvent(ctx, tx, e)
	})
}

// OutboxDepth is the outbox's waiting emails by kind, and how long the
// oldest due one of each has waited past its time, for metrics: it reads
// outbox_due_idx's rows, the emails not yet sent or failed, however many
// were sent before.
func (s *Store) OutboxDepth(ctx context.Context, now time.Time) ([]account.OutboxDepth, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT kind, count(*), coalesce(extract(epoch FROM $1 - min(next_attempt_at) FILTER (WHERE next_attempt_at <= $1)), 0)
		FROM outbox WHERE state IN ('pending', 'sending')
		GROUP BY kind ORDER BY kind`, now)
	if err != nil {
		return nil, fmt.Errorf("outbox depth: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.OutboxDepth, error) {
		var d account.OutboxDepth
		var secs float64
		err := row.Scan(&d.Kind, &d.Waiting, &secs)
		d.OldestDue = time.Duration(secs * float64(time.Second))
		return d, err
	})
}
