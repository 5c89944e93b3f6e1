package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

// enqueue writes emails into the outbox inside the caller's transaction, so
// they commit with the change that causes them and never without it.
func enqueue(ctx context.Context, tx pgx.Tx, now time.Time, emails []account.Email) error {
	for _, e := range emails {
		data, err := json.Marshal(e.Data)
		if err != nil {
			return fmt.Errorf("encode email data: %w", err)
		}
		var accountID *int64
		if e.AccountID != 0 {
			id := int64(e.AccountID)
			accountID = &id
		}
		var secret *string
		if e.Secret != "" {
			secret = &e.Secret
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO outbox (message_id, kind, to_address, language, data, secret, smart_account_id, next_attempt_at, created_at)
			VALUES ($1, $2, $3,
				coalesce(nullif($4, ''), (SELECT language FROM users WHERE email = $3), ''),
				$5, $6, $7, $8, $8)`,
			newMessageID(), e.Kind, e.To, e.Lang, data, secret, accountID, now); err != nil {
			return fmt.Errorf("queue %s email: %w", e.Kind, err)
		}
	}
	return nil
}

// newMessageID is the local part of the Message-ID, fixed when the email is
// queued so a resend after a crash carries the same id.
func newMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

const queuedColumns = `id, message_id, kind, to_address, language, data, coalesce(secret, ''),
	coalesce(smart_account_id, 0), state, attempts, next_attempt_at, last_error, created_at,
	sent_at`

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

// ClaimEmails takes up to limit due emails for this worker. SKIP LOCKED lets
// several workers share the outbox; the lease hands an email back if its
// worker dies mid-send.
func (s *Store) ClaimEmails(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]account.QueuedEmail, error) {
	rows, err := s.pool.Query(ctx, `
		WITH due AS (
			SELECT id FROM outbox
			WHERE state IN ('pending', 'sending') AND next_attempt_at <= $1
				AND (state = 'pending' OR locked_until < $1)
			ORDER BY next_attempt_at, id
			LIMIT $2
			FOR UPDATE SKIP LOCKED
		), claimed AS (
			UPDATE outbox o SET state = 'sending', attempts = o.attempts + 1, locked_until = $1::timestamptz + $3::interval
			FROM due WHERE o.id = due.id
			RETURNING o.*
		)
		SELECT `+queuedColumns+` FROM claimed ORDER BY next_attempt_at, id`, now, limit, lease)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.QueuedEmail, error) { return scanQueued(row) })
}

// MarkEmailSent records delivery, erases the email's secret and adds an
// "emailed" event to its account's history.
func (s *Store) MarkEmailSent(ctx context.Context, id int64, now time.Time) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var accountID *int64
		var kind, to string
		err := tx.QueryRow(ctx, `
			UPDATE outbox SET state = 'sent', sent_at = $2, secret = NULL, locked_until = NULL, last_error = ''
			WHERE id = $1 RETURNING smart_account_id, kind, to_address`, id, now).Scan(&accountID, &kind, &to)
		if err != nil {
			return mapErr(err, "")
		}
		if accountID == nil {
			return nil
		}
		return addEvent(ctx, tx, account.Event{AccountID: account.AccountID(*accountID), At: now, Kind: "emailed", Detail: kind + " to " + to})
	})
}

// RetryEmailLater puts an email back in the queue after a temporary failure.
func (s *Store) RetryEmailLater(ctx context.Context, id int64, next time.Time, lastErr string) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE outbox SET state = 'pending', next_attempt_at = $2, locked_until = NULL, last_error = $3
		WHERE id = $1`, id, next, lastErr)
	return err
}

// MarkEmailFailed gives up on an email; an operator can retry it.
func (s *Store) MarkEmailFailed(ctx context.Context, id int64, lastErr string) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE outbox SET state = 'failed', locked_until = NULL, last_error = $2 WHERE id = $1`, id, lastErr)
	return err
}

// RecentEmails lists the outbox newest first, for operators.
func (s *Store) RecentEmails(ctx context.Context, limit, offset int) ([]account.QueuedEmail, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+queuedColumns+` FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2`, limit, offset)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.QueuedEmail, error) { return scanQueued(row) })
}

// RequeueFailedEmail sends a failed email again now.
func (s *Store) RequeueFailedEmail(ctx context.Context, id int64, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE outbox SET state = 'pending', next_attempt_at = $2, last_error = last_error || ' (retried by an operator)'
		WHERE id = $1 AND state = 'failed'`, id, now)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return account.ErrNotFound
	}
	return nil
}
