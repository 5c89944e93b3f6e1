package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

// accessMessagesWhere selects request $1's messages, by the index of
// migration 030.
const accessMessagesWhere = `kind = 'access_message' AND (params->>'access_request')::bigint = $1`

func (s *Store) PostAccessMessage(ctx context.Context, p account.AccessMessagePost) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		// A decision updates the same row: a message waits for it, then
		// finds the request decided.
		var status account.AccessRequestStatus
		err := tx.QueryRow(ctx, `SELECT status FROM access_requests WHERE id = $1 AND smart_account_id = $2 FOR UPDATE`,
			p.RequestID, p.AccountID).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return account.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("lock access request: %w", err)
		}
		if status != account.AccessPending {
			return account.ErrAccessRequestDecided
		}
		// Counted under the request's lock: two writers cannot both take
		// the last place.
		var held int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM events WHERE `+accessMessagesWhere, p.RequestID).Scan(&held); err != nil {
			return fmt.Errorf("count messages: %w", err)
		}
		if held >= account.MaxMessages {
			return account.ErrTooManyMessages
		}
		q := p.Quota
		q.Count = len(p.Emails)
		if err := countEmails(ctx, tx, q); err != nil {
			return err
		}
		to := make([]string, len(p.Emails))
		for i, e := range p.Emails {
			to[i] = e.To
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: p.AccountID, At: p.At, ActorID: p.ByUser, Actor: p.By,
			Kind: "access_message", Params: account.EventParams{Message: p.Text, Side: p.Side, To: to, AccessRequest: p.RequestID}}); err != nil {
			return err
		}
		return enqueue(ctx, tx, p.At, p.Emails)
	})
}

func (s *Store) AccessMessages(ctx context.Context, requestID int64) ([]account.Event, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+eventColumns+` FROM events WHERE `+accessMessagesWhere+` ORDER BY at, id LIMIT $2`,
		requestID, account.MaxMessages)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanEvent)
}
