package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/clc-portal/clc/internal/account"
)

// virtualAccountSelect reads Virtual Accounts va with what keeps each from
// being deleted and the role of the viewer $1 on it.
const virtualAccountSelect = `
	SELECT va.id, va.smart_account_id, va.name,
		(SELECT count(*) FROM memberships m WHERE m.smart_account_id = va.smart_account_id AND m.virtual_account_id = va.id),
		(SELECT count(*) FROM access_request_virtual_accounts arv JOIN access_requests ar ON ar.id = arv.request_id
			WHERE arv.smart_account_id = va.smart_account_id AND arv.virtual_account_id = va.id AND ar.status = 'pending'),
		EXISTS (SELECT FROM access_automation aa WHERE aa.smart_account_id = va.smart_account_id AND aa.same_domain_virtual_account_id = va.id),
		coalesce((SELECT m.role FROM memberships m WHERE m.user_id = $1 AND m.smart_account_id = va.smart_account_id AND m.virtual_account_id = va.id), '')
	FROM virtual_accounts va `

func scanVirtualAccount(row pgx.Row) (account.ManagedVirtualAccount, error) {
	var va account.ManagedVirtualAccount
	err := row.Scan(&va.ID, (*int64)(&va.AccountID), &va.Name, &va.Holders, &va.PendingRequests, &va.InRule, (*string)(&va.ViewerRole))
	return va, err
}

// managedVirtualAccountsSQL lists account $2's Virtual Accounts as their
// manager $1 sees them (virtualAccountSelect), DEFAULT ($3) first and then
// by name, at most $4: the account page's batch reads it.
const managedVirtualAccountsSQL = virtualAccountSelect + `
	WHERE va.smart_account_id = $2
	ORDER BY va.name <> $3, lower(va.name), va.id
	LIMIT $4`

func (s *Store) ManagedVirtualAccount(ctx context.Context, viewerID int64, id account.AccountID, vaID int64) (account.ManagedVirtualAccount, error) {
	va, err := scanVirtualAccount(s.pool.QueryRow(ctx, virtualAccountSelect+`WHERE va.smart_account_id = $2 AND va.id = $3`, viewerID, id, vaID))
	return va, mapErr(err, "")
}

// nameTaken maps the unique index on a Smart Account's names.
func nameTaken(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return account.ErrVirtualAccountNameTaken
	}
	return err
}

func (s *Store) AddVirtualAccount(ctx context.Context, c account.VirtualAccountChange) (int64, error) {
	var id int64
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		// The account's row, locked, orders its creations, so the count
		// below holds until this one commits.
		var held int
		err := tx.QueryRow(ctx, `
			SELECT (SELECT count(*) FROM virtual_accounts v WHERE v.smart_account_id = a.id)
			FROM smart_accounts a WHERE a.id = $1 AND a.status = 'active' FOR UPDATE`, c.AccountID).Scan(&held)
		if err != nil {
			return mapErr(err, "")
		}
		if held >= account.MaxVirtualAccounts {
			return account.ErrTooManyVirtualAccounts
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO virtual_accounts (smart_account_id, name, created_at)
			SELECT id, $2, $3 FROM smart_accounts WHERE id = $1 AND status = 'active'
			RETURNING id`, c.AccountID, c.Name, c.At).Scan(&id)
		if err != nil {
			return mapErr(nameTaken(err), "")
		}
		return addEvent(ctx, tx, account.Event{AccountID: c.AccountID, At: c.At, ActorID: c.ActorID, Actor: c.Actor,
			Kind: "virtual_account_created", Params: account.EventParams{VirtualAccount: c.Name}})
	})
	return id, err
}

func (s *Store) RenameVirtualAccount(ctx context.Context, c account.VirtualAccountChange) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var old string
		err := tx.QueryRow(ctx, `
			UPDATE virtual_accounts va SET name = $3
			FROM virtual_accounts was
			WHERE va.id = $2 AND va.smart_account_id = $1 AND was.id = va.id
			RETURNING was.name`, c.AccountID, c.ID, c.Name).Scan(&old)
		if err != nil {
			return mapErr(nameTaken(err), "")
		}
		if old == account.DefaultVirtualAccount {
			// Renamed meanwhile to DEFAULT's name is impossible (the index), so
			// this is DEFAULT itself: undo by rolling back.
			return account.ErrDefaultVirtualAccount
		}
		return addEvent(ctx, tx, account.Event{AccountID: c.AccountID, At: c.At, ActorID: c.ActorID, Actor: c.Actor,
			Kind: "virtual_account_renamed", Params: account.EventParams{VirtualAccount: c.Name, OldName: old}})
	})
}

// DeleteVirtualAccount locks the Virtual Account before it looks at what
// uses it: a role or an access request that names it takes a key-share
// lock on its row, so one committed meanwhile is seen by the checks, and
// one that comes after waits and then finds it gone, rather than being
// deleted with it by the cascade.
func (s *Store) DeleteVirtualAccount(ctx context.Context, c account.VirtualAccountChange) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var name string
		err := tx.QueryRow(ctx, `SELECT name FROM virtual_accounts WHERE id = $2 AND smart_account_id = $1 FOR UPDATE`,
			c.AccountID, c.ID).Scan(&name)
		if err != nil {
			return mapErr(err, "")
		}
		if name == account.DefaultVirtualAccount {
			return account.ErrDefaultVirtualAccount
		}
		va, err := scanVirtualAccount(tx.QueryRow(ctx, virtualAccountSelect+`WHERE va.smart_account_id = $2 AND va.id = $3`, 0, c.AccountID, c.ID))
		if err != nil {
			return fmt.Errorf("read virtual account %d: %w", c.ID, err)
		}
		if !va.Empty() {
			return account.ErrVirtualAccountInUse
		}
		if _, err := tx.Exec(ctx, `DELETE FROM virtual_accounts WHERE id = $1`, c.ID); err != nil {
			return err
		}
		return addEvent(ctx, tx, account.Event{AccountID: c.AccountID, At: c.At, ActorID: c.ActorID, Actor: c.Actor,
			Kind: "virtual_account_deleted", Params: account.EventParams{VirtualAccount: name}})
	})
}
