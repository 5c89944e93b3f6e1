package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

func (s *Store) ApproverEmails(ctx context.Context, requestID int64) ([]account.ApproverEmail, error) {
	// The latest approval email to each live address: a resend's or a
	// reminder's replaces the first one's news.
	rows, err := s.pool.Query(ctx, `
		SELECT l.email, coalesce(o.state, ''), coalesce(o.attempts, 0), coalesce(o.last_error, ''),
			coalesce(o.sent_at, o.created_at, l.created_at)
		FROM approval_links l
		JOIN account_requests r ON r.id = l.request_id
		LEFT JOIN LATERAL (
			SELECT o.state, o.attempts, o.last_error, o.sent_at, o.created_at FROM outbox o
			WHERE o.smart_account_id = r.smart_account_id AND o.to_address = l.email
				AND o.kind IN ('approval_request', 'approval_reminder', 'message_to_approver')
			ORDER BY o.id DESC LIMIT 1) o ON true
		WHERE l.request_id = $1 AND l.revoked_at IS NULL
		ORDER BY l.id`, requestID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.ApproverEmail, error) {
		var e account.ApproverEmail
		err := row.Scan(&e.Email, &e.State, &e.Attempts, &e.LastError, &e.At)
		return e, err
	})
}

// lockPendingRequest locks a request that is pending and unexpired at at,
// so a decision, a withdrawal or another follow-up waits for this one, or
// returns ErrRequestClosed.
func lockPendingRequest(ctx context.Context, tx pgx.Tx, id int64, at time.Time) error {
	err := tx.QueryRow(ctx, `
		SELECT id FROM account_requests WHERE id = $1 AND status = 'pending' AND expires_at > $2
		FOR UPDATE`, id, at).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return account.ErrRequestClosed
	}
	if err != nil {
		return fmt.Errorf("lock request: %w", err)
	}
	return nil
}

func (s *Store) Resend(ctx context.Context, r account.Resending) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockPendingRequest(ctx, tx, r.RequestID, r.At); err != nil {
			return err
		}
		// Counted under the request's lock, so concurrent resends cannot
		// both see room for one more.
		rows, err := tx.Query(ctx, `SELECT at FROM events WHERE smart_account_id = $1 AND kind = 'resent' AND at > $2`,
			r.AccountID, r.Since)
		if err != nil {
			return fmt.Errorf("recent resends: %w", err)
		}
		recent, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
		if err != nil {
			return fmt.Errorf("recent resends: %w", err)
		}
		if err := r.Allow(recent); err != nil {
			return err
		}
		if err := allowApprovalEmails(ctx, tx, r.AccountID, []string{r.Email}, r.AllowEmails); err != nil {
			return err
		}
		if err := countEmails(ctx, tx, r.Quota); err != nil {
			return err
		}
		// The old token is kept as the previous one, so its link says it
		// was replaced.
		tag, err := tx.Exec(ctx, `
			UPDATE approval_links SET previous_token_hash = token_hash, token_hash = $3, rotated_at = $4
			WHERE request_id = $1 AND email = $2 AND revoked_at IS NULL`, r.RequestID, r.Email, r.TokenHash, r.At)
		if err != nil {
			return fmt.Errorf("new token for %s: %w", r.Email, err)
		}
		if tag.RowsAffected() == 0 {
			return account.ErrNotFound
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: r.AccountID, At: r.At, ActorID: r.ByUser, Actor: r.By,
			Kind: "resent", Params: account.EventParams{To: []string{r.Email}}}); err != nil {
			return err
		}
		return enqueue(ctx, tx, r.At, []account.Email{r.Mail})
	})
}

func (s *Store) ChangeApprovers(ctx context.Context, c account.ApproverChange) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockPendingRequest(ctx, tx, c.RequestID, c.At); err != nil {
			return err
		}
		live, err := links(ctx, tx, c.RequestID, true)
		if err != nil {
			return fmt.Errorf("live links: %w", err)
		}
		var now []string
		for _, l := range live {
			now = append(now, l.Email)
		}
		var held []string
		if err := tx.QueryRow(ctx, `SELECT `+heldColumn+` FROM account_requests r WHERE r.id = $1`, c.RequestID).Scan(&held); err != nil {
			return fmt.Errorf("held approvers: %w", err)
		}
		if !slices.Equal(now, c.Seen) || !slices.Equal(held, c.SeenHeld) {
			return account.ErrApproversChanged
		}
		var adding []string
		for _, l := range c.Add {
			adding = append(adding, l.Email)
		}
		if err := allowApprovalEmails(ctx, tx, c.AccountID, adding, c.AllowEmails); err != nil {
			return err
		}
		if err := countEmails(ctx, tx, c.Quota); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM held_approvers WHERE request_id = $1 AND email = ANY ($2)`, c.RequestID, c.Unhold); err != nil {
			return fmt.Errorf("drop held approvers: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO held_approvers (request_id, email, held_at) SELECT $1, unnest($2::text[]), $3
			ON CONFLICT DO NOTHING`, c.RequestID, c.Hold, c.At); err != nil {
			return fmt.Errorf("hold approvers: %w", err)
		}
		// A removed link is revoked with nobody to forward to: its page says
		// the partner changed the approvers.
		if _, err := tx.Exec(ctx, `
			UPDATE approval_links SET revoked_at = $3, forwarded_to = ''
			WHERE request_id = $1 AND email = ANY ($2) AND revoked_at IS NULL`, c.RequestID, c.Remove, c.At); err != nil {
			return fmt.Errorf("revoke links: %w", err)
		}
		for _, l := range c.Add {
			if err := upsertLink(ctx, tx, c.RequestID, l, c.At); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE account_requests SET customer_emails = $2 WHERE id = $1`, c.RequestID, c.Approvers); err != nil {
			return fmt.Errorf("record approvers: %w", err)
		}
		var added []string
		for _, l := range c.Add {
			added = append(added, l.Email)
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: c.AccountID, At: c.At, ActorID: c.ByUser, Actor: c.By,
			Kind: "approvers_changed", Params: account.EventParams{Added: added, Removed: append(c.Remove, c.Unhold...), Held: c.Hold}}); err != nil {
			return err
		}
		return enqueue(ctx, tx, c.At, c.Emails)
	})
}
