package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

// The store's side of the customer's consent (account/consent.go): the
// approvers that wait for an operator, and the counts that bound the emails
// a user can cause. Each is checked in the transaction that would send, under
// the request's lock or the quota row's, so two requests at once cannot both
// find room for one more.

// emailQuotaSQL adds $3 emails to user $1's day $2 unless that takes it past
// $4; no row comes back when it would.
const emailQuotaSQL = `
	INSERT INTO email_quota AS q (user_id, day, sent) SELECT $1::bigint, $2::date, $3::integer WHERE $3::integer <= $4::integer
	ON CONFLICT (user_id, day) DO UPDATE SET sent = q.sent + excluded.sent WHERE q.sent + excluded.sent <= $4::integer
	RETURNING sent`

// queueEmailQuota queues the count of q's emails into b; the batch fails
// with an *account.EmailLimitError when the day is full. Nothing is counted
// for nobody (an approver, a job) or for no email.
func queueEmailQuota(b *pgx.Batch, q account.EmailQuota) {
	if q.UserID == 0 || q.Count == 0 {
		return
	}
	b.Queue(emailQuotaSQL, q.UserID, q.Day, q.Count, q.Limit).QueryRow(func(row pgx.Row) error {
		return quotaResult(row.Scan(new(int)), q)
	})
}

// countEmails counts q's emails within tx, as queueEmailQuota does.
func countEmails(ctx context.Context, tx pgx.Tx, q account.EmailQuota) error {
	if q.UserID == 0 || q.Count == 0 {
		return nil
	}
	return quotaResult(tx.QueryRow(ctx, emailQuotaSQL, q.UserID, q.Day, q.Count, q.Limit).Scan(new(int)), q)
}

func quotaResult(err error, q account.EmailQuota) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return &account.EmailLimitError{RetryAt: q.Day.Add(24 * time.Hour)}
	}
	if err != nil {
		return fmt.Errorf("count emails of user %d: %w", q.UserID, err)
	}
	return nil
}

// approvalEmailTimes is when every approval email for account id went to
// each of addrs (an address with none is present, empty): the outbox keeps
// every email, and its (account, address) index finds them. A message on
// the request counts as one: to an approver it carries a link like any
// other, and to the partner it is text an approver chose.
func approvalEmailTimes(ctx context.Context, tx pgx.Tx, id account.AccountID, addrs []string) (map[string][]time.Time, error) {
	sent := make(map[string][]time.Time, len(addrs))
	for _, a := range addrs {
		sent[a] = nil
	}
	if len(addrs) == 0 {
		return sent, nil
	}
	rows, err := tx.Query(ctx, `
		SELECT to_address, created_at FROM outbox
		WHERE smart_account_id = $1 AND to_address = ANY ($2) AND kind = ANY ($3)`, id, addrs,
		[]string{string(account.EmailApprovalRequest), string(account.EmailMessageToApprover), string(account.EmailMessageToPartner)})
	if err != nil {
		return nil, fmt.Errorf("approval emails sent: %w", err)
	}
	var to string
	var at time.Time
	_, err = pgx.ForEachRow(rows, []any{&to, &at}, func() error {
		sent[to] = append(sent[to], at)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("approval emails sent: %w", err)
	}
	return sent, nil
}

// allowApprovalEmails asks allow whether addrs may each be sent one more
// approval email for account id; a nil allow allows.
func allowApprovalEmails(ctx context.Context, tx pgx.Tx, id account.AccountID, addrs []string, allow func(map[string][]time.Time) error) error {
	if allow == nil || len(addrs) == 0 {
		return nil
	}
	sent, err := approvalEmailTimes(ctx, tx, id, addrs)
	if err != nil {
		return err
	}
	return allow(sent)
}

func (s *Store) AllowApprover(ctx context.Context, a account.Allowance) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockPendingRequest(ctx, tx, a.RequestID, a.At); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM held_approvers WHERE request_id = $1 AND email = $2`, a.RequestID, a.Link.Email)
		if err != nil {
			return fmt.Errorf("take %s out of review: %w", a.Link.Email, err)
		}
		if tag.RowsAffected() == 0 {
			return account.ErrNotFound // allowed meanwhile, or dropped by the partner
		}
		if err := upsertLink(ctx, tx, a.RequestID, a.Link, a.At); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: a.AccountID, At: a.At, ActorID: a.ByUser, Actor: a.By,
			Kind: "approver_allowed", Params: account.EventParams{To: []string{a.Link.Email}}}); err != nil {
			return err
		}
		return enqueue(ctx, tx, a.At, []account.Email{a.Email})
	})
}

// upsertLink gives l.Email a live link with l's token: an address removed or
// forwarded away earlier gets its link back, its old token then saying it
// was replaced.
func upsertLink(ctx context.Context, tx pgx.Tx, requestID int64, l account.ApprovalLink, at time.Time) error {
	if _, err := tx.Exec(ctx, `
		INSERT INTO approval_links AS l (request_id, email, token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (request_id, email) DO UPDATE SET token_hash = excluded.token_hash,
			previous_token_hash = l.token_hash, rotated_at = excluded.created_at,
			expires_at = excluded.expires_at, revoked_at = NULL, forwarded_to = ''`,
		requestID, l.Email, l.TokenHash, at, l.ExpiresAt); err != nil {
		return fmt.Errorf("add link for %s: %w", l.Email, err)
	}
	return nil
}
