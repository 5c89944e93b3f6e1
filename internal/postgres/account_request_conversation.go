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
		// Counted under the request's lock: two writers cannot both take
		// the last place.
		var held int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM events WHERE smart_account_id = $1 AND kind = 'message'`,
			p.AccountID).Scan(&held); err != nil {
			return fmt.Errorf("count messages: %w", err)
		}
		if held >= account.MaxMessages {
			return account.ErrTooManyMessages
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

// messagesOf is the conversation of the account whose id is the SQL
// expression id, oldest first, at most limit (SQL too).
func messagesOf(id, limit string) string {
	return `SELECT ` + eventColumns + ` FROM events WHERE smart_account_id = ` + id + ` AND kind = 'message'
		ORDER BY at, id LIMIT ` + limit
}

func (s *Store) Messages(ctx context.Context, id account.AccountID) ([]account.Event, error) {
	rows, err := s.pool.Query(ctx, messagesOf("$1", "$2"), id, account.MaxMessages)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanEvent)
}

// liveLinkMessagesSQL is Messages of the account whose request the link
// token hash $1 opens, only while that link is live at $2 as
// account.LinkStateAt says: opened by its current token (not one a reminder
// replaced), neither revoked nor forwarded, its request pending and not yet
// expired. TestLinkWithMessagesReadsThemOnlyForALiveLink holds the two to
// the same answer in every state a link can be in.
var liveLinkMessagesSQL = messagesOf(`(
	SELECT r.smart_account_id FROM approval_links l
	JOIN account_requests r ON r.id = l.request_id
	WHERE l.token_hash = $1 AND l.revoked_at IS NULL AND r.status = 'pending' AND r.expires_at > $2)`, "$3")

// LinkWithMessages reads what the Pending Request page shows in one round
// trip: the link and its request, and the conversation if the link is live.
func (s *Store) LinkWithMessages(ctx context.Context, hash []byte, now time.Time) (l account.ApprovalLink, r account.AccountRequest, replaced bool, msgs []account.Event, err error) {
	b := &pgx.Batch{}
	b.Queue(linkByTokenHashSQL, hash).QueryRow(func(row pgx.Row) error {
		var err error
		l, r, replaced, err = scanLinkByTokenHash(row)
		return err
	})
	b.Queue(liveLinkMessagesSQL, hash, now, account.MaxMessages).Query(func(rows pgx.Rows) error {
		var err error
		msgs, err = pgx.CollectRows(rows, scanEvent)
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return account.ApprovalLink{}, account.AccountRequest{}, false, nil, err
	}
	return l, r, replaced, msgs, nil
}

func (s *Store) MarkOpened(ctx context.Context, linkID int64, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE approval_links SET opened_at = $2 WHERE id = $1 AND opened_at IS NULL`, linkID, at); err != nil {
		return fmt.Errorf("mark link %d opened: %w", linkID, err)
	}
	return nil
}

func (s *Store) ParentAccounts(ctx context.Context, domain string) ([]account.AccountAdmins, error) {
	var out []account.AccountAdmins
	b := &pgx.Batch{}
	queueParentAccounts(b, domain, &out)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("accounts above %s: %w", domain, err)
	}
	return out, nil
}

func (s *Store) AssignApprovers(ctx context.Context, a account.Assignment) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockPendingRequest(ctx, tx, a.RequestID, a.At); err != nil {
			return err
		}
		var flagged bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM request_followups WHERE request_id = $1 AND step = $2)`,
			a.RequestID, account.StepNoResponse).Scan(&flagged); err != nil {
			return fmt.Errorf("no-response flag: %w", err)
		}
		if !flagged {
			return account.ErrNotFlagged
		}
		var to []string
		for _, l := range a.Links {
			to = append(to, l.Email)
		}
		if err := allowApprovalEmails(ctx, tx, a.AccountID, to, a.AllowEmails); err != nil {
			return err
		}
		for _, l := range a.Links {
			if err := upsertLink(ctx, tx, a.RequestID, l, a.At); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM held_approvers WHERE request_id = $1 AND email = ANY ($2)`, a.RequestID, to); err != nil {
			return fmt.Errorf("take assigned approvers out of review: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE account_requests SET customer_emails = customer_emails ||
				array(SELECT e FROM unnest($2::text[]) e WHERE NOT e = ANY (customer_emails))
			WHERE id = $1`, a.RequestID, to); err != nil {
			return fmt.Errorf("record approvers: %w", err)
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: a.AccountID, At: a.At, ActorID: a.ByUser, Actor: a.By,
			Kind: "approvers_assigned", Params: account.EventParams{To: to}}); err != nil {
			return err
		}
		return enqueue(ctx, tx, a.At, a.Emails)
	})
}
