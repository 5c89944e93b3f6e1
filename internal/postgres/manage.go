package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

// administeredQuery is the active accounts that the user whose id is the
// SQL expression user is a Smart Account Administrator of, each with its
// pending access requests counted (one probe of
// access_requests_account_pending_idx each).
func administeredQuery(user string) string {
	return `
	SELECT ` + accountColumns + `,
		(SELECT count(*) FROM access_requests r WHERE r.smart_account_id = sa.id AND r.status = 'pending') AS pending
	FROM memberships m
	JOIN smart_accounts sa ON sa.id = m.smart_account_id
	WHERE m.user_id = ` + user + ` AND m.virtual_account_id IS NULL AND m.role = 'admin' AND sa.status = 'active'`
}

func (s *Store) AdministeredAccounts(ctx context.Context, userID int64) ([]account.ManagedAccount, error) {
	rows, err := s.pool.Query(ctx, administeredQuery("$1")+` ORDER BY sa.name_folded, sa.id`, userID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.ManagedAccount, error) {
		var m account.ManagedAccount
		a, err := scanAccount(row, &m.Pending)
		m.Account = a
		return m, err
	})
}

func (s *Store) SetRole(ctx context.Context, c account.RoleChange) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		// One account's role changes wait for each other, so two
		// Administrators removing each other cannot both find the other
		// still there and leave the account with none.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM smart_accounts WHERE id = $1 FOR UPDATE`, c.AccountID); err != nil {
			return err
		}
		var va *int64
		if c.VirtualAccount != "" {
			ids, err := virtualAccountIDs(ctx, tx, c.AccountID, []string{c.VirtualAccount})
			if err != nil {
				return err
			}
			va = &ids[0]
		}
		var current string
		err := tx.QueryRow(ctx, `
			SELECT role FROM memberships
			WHERE user_id = $1 AND smart_account_id = $2 AND virtual_account_id IS NOT DISTINCT FROM $3`,
			c.UserID, c.AccountID, va).Scan(&current)
		switch {
		case errors.Is(err, pgx.ErrNoRows) && c.Role == "":
			return account.ErrNotFound
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return err
		case current == string(c.Role):
			return nil
		}
		if va == nil && current == string(account.RoleAdmin) {
			var others int
			if err := tx.QueryRow(ctx, `
				SELECT count(*) FROM memberships
				WHERE smart_account_id = $1 AND virtual_account_id IS NULL AND role = 'admin' AND user_id <> $2`,
				c.AccountID, c.UserID).Scan(&others); err != nil {
				return err
			}
			if others == 0 {
				return account.ErrLastAdmin
			}
		}
		var email string
		if err := tx.QueryRow(ctx, `SELECT email FROM users WHERE id = $1`, c.UserID).Scan(&email); err != nil {
			return mapErr(err, "")
		}
		kind, params := "access_changed", account.EventParams{User: email, Role: c.Role, VirtualAccount: c.VirtualAccount}
		if c.Role == "" {
			kind = "access_removed"
			_, err = tx.Exec(ctx, `
				DELETE FROM memberships
				WHERE user_id = $1 AND smart_account_id = $2 AND virtual_account_id IS NOT DISTINCT FROM $3`,
				c.UserID, c.AccountID, va)
		} else {
			_, err = tx.Exec(ctx, `
				INSERT INTO memberships (user_id, smart_account_id, virtual_account_id, role) VALUES ($1, $2, $3, $4)
				ON CONFLICT (user_id, smart_account_id, virtual_account_id) DO UPDATE SET role = excluded.role`,
				c.UserID, c.AccountID, va, c.Role)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		return addEvent(ctx, tx, account.Event{AccountID: c.AccountID, At: c.At, ActorID: c.ActorID, Actor: c.Actor, Kind: kind, Params: params})
	})
}

func (s *Store) AccessAutomation(ctx context.Context, id account.AccountID) (account.AutomationRules, error) {
	var r account.AutomationRules
	err := s.pool.QueryRow(ctx, `
		SELECT a.same_domain, a.same_domain_role, coalesce(va.name, ''), a.other_domain
		FROM access_automation a
		LEFT JOIN virtual_accounts va ON va.smart_account_id = a.smart_account_id AND va.id = a.same_domain_virtual_account_id
		WHERE a.smart_account_id = $1`, id).Scan(&r.SameDomain, &r.SameDomainRole, &r.SameDomainVA, &r.OtherDomain)
	if errors.Is(err, pgx.ErrNoRows) {
		return account.AutomationRules{}, nil
	}
	return r, err
}

func (s *Store) SaveAccessAutomation(ctx context.Context, id account.AccountID, r account.AutomationRules, actor string, actorID int64, at time.Time) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var va *int64
		if r.SameDomainVA != "" {
			ids, err := virtualAccountIDs(ctx, tx, id, []string{r.SameDomainVA})
			if err != nil {
				return err
			}
			va = &ids[0]
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO access_automation AS a (smart_account_id, same_domain, same_domain_role, same_domain_virtual_account_id, other_domain, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (smart_account_id) DO UPDATE SET same_domain = excluded.same_domain,
				same_domain_role = excluded.same_domain_role,
				same_domain_virtual_account_id = excluded.same_domain_virtual_account_id,
				other_domain = excluded.other_domain, updated_at = excluded.updated_at`,
			id, r.SameDomain, r.SameDomainRole, va, r.OtherDomain, at); err != nil {
			return fmt.Errorf("save rules: %w", err)
		}
		p := account.EventParams{SameDomain: r.SameDomain, OtherDomain: r.OtherDomain}
		if r.SameDomain == account.RuleApprove {
			p.Role, p.VirtualAccount = r.SameDomainRole, r.SameDomainVA
		}
		return addEvent(ctx, tx, account.Event{AccountID: id, At: at, ActorID: actorID, Actor: actor, Kind: "automation_changed", Params: p})
	})
}
