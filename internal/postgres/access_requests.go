package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

func (s *Store) CreateAccessRequest(ctx context.Context, r account.AccessRequest, actor string, emails []account.Email) (account.AccessRequest, error) {
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var vaID *int64
		if r.VirtualAccount != "" {
			// People type a Virtual Account's name as they remember it; an
			// exact spelling wins over one that differs only in case.
			var id int64
			err := tx.QueryRow(ctx, `
				SELECT id, name FROM virtual_accounts
				WHERE smart_account_id = $1 AND lower(name) = lower($2)
				ORDER BY name = $2 DESC
				LIMIT 1`, r.AccountID, r.VirtualAccount).Scan(&id, &r.VirtualAccount)
			if errors.Is(err, pgx.ErrNoRows) {
				return account.ErrNoSuchVirtualAccount
			}
			if err != nil {
				return err
			}
			vaID = &id
		}
		err := tx.QueryRow(ctx, `
			INSERT INTO access_requests (user_id, smart_account_id, virtual_account_id, role, reason, status, created_at)
			VALUES ($1, $2, $3, $4, $5, 'pending', $6)
			RETURNING id`, r.UserID, r.AccountID, vaID, r.Role, r.Reason, r.CreatedAt).Scan(&r.ID)
		if err != nil {
			return mapErr(err, "a pending access request")
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: r.AccountID, At: r.CreatedAt, ActorID: r.UserID, Actor: actor,
			Kind: "access_requested", Params: account.EventParams{Role: r.Role, VirtualAccount: r.VirtualAccount}}); err != nil {
			return err
		}
		for i := range emails {
			// The Virtual Account as the store found it, not as it was typed.
			emails[i].Data.VirtualAccount = r.VirtualAccount
		}
		return enqueue(ctx, tx, r.CreatedAt, emails)
	})
	if err != nil {
		return account.AccessRequest{}, err
	}
	r.Status = account.AccessPending
	return r, nil
}

func (s *Store) PendingAccessRequest(ctx context.Context, userID int64, id account.AccountID) (account.AccessRequest, error) {
	var r account.AccessRequest
	err := s.pool.QueryRow(ctx, `
		SELECT r.id, r.user_id, r.smart_account_id, coalesce(va.name, ''), r.role, r.reason, r.status, r.created_at
		FROM access_requests r
		LEFT JOIN virtual_accounts va ON va.id = r.virtual_account_id
		WHERE r.user_id = $1 AND r.smart_account_id = $2 AND r.status = 'pending'`, userID, id).
		Scan(&r.ID, &r.UserID, &r.AccountID, &r.VirtualAccount, &r.Role, &r.Reason, &r.Status, &r.CreatedAt)
	return r, mapErr(err, "")
}
