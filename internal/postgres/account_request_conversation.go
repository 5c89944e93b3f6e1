package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

func (s *Store) PostMessage(ctx context.Context, p account.MessagePost) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		// A decided, withdrawn or expired request's conversation is closed:
		// the request's lock is what every decision takes first.
		if err := lockPendingRequest(ctx, tx, p.RequestID, p.At); err != nil {
			return err
		}
		if p.LinkID != 0 {
			// The approver writes with the link they opened: one forwarded,
			// removed or replaced meanwhile writes nothing.
			tag, err := tx.Exec(ctx, `UPDATE approval_links SET opened_at = coalesce(opened_at, $3)
				WHERE id = $1 AND revoked_at IS NULL AND token_hash = $2`, p.LinkID, p.TokenHash, p.At)
			if err != nil {
				return fmt.Errorf("approver's link: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return account.ErrLinkRevoked
			}
		}
		live, err := links(ctx, tx, p.RequestID, true)
		if err != nil {
			return fmt.Errorf("live links: %w", err)
		}
		out := p.Compose(live)
		var to []string
		for _, e := range out.Emails {
			to = append(to, e.To)
		}
		if err := allowApprovalEmails(ctx, tx, p.AccountID, to, p.AllowEmails); err != nil {
			return err
		}
		q := p.Quota
		q.Count = len(out.Emails)
		if err := countEmails(ctx, tx, q); err != nil {
			return err
		}
		if err := rotateTokens(ctx, tx, p.RequestID, out.Tokens, p.At); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: p.AccountID, At: p.At, ActorID: p.ByUser, Actor: p.By,
			Kind: "message", Params: account.EventParams{Message: p.Text, Side: p.Side, To: to}}); err != nil {
			return err
		}
		return enqueue(ctx, tx, p.At, out.Emails)
	})
}

func (s *Store) Messages(ctx context.Context, id account.AccountID) ([]account.Event, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+eventColumns+` FROM events WHERE smart_account_id = $1 AND kind = 'message' ORDER BY at, id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanEvent)
}

func (s *Store) MarkOpened(ctx context.Context, linkID int64, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE approval_links SET opened_at = $2 WHERE id = $1 AND opened_at IS NULL`, linkID, at); err != nil {
		return fmt.Errorf("mark link %d opened: %w", linkID, err)
	}
	return nil
}
