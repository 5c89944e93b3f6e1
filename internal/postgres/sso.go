package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

var _ account.SSOStore = (*Store)(nil)

func addSignInEvent(ctx context.Context, q querier, ev account.SignInEvent) error {
	var userID *int64
	if ev.UserID != 0 {
		userID = &ev.UserID
	}
	if _, err := q.Exec(ctx, `
		INSERT INTO sign_in_events (at, user_id, email, kind, detail) VALUES ($1, $2, $3, $4, $5)`,
		ev.At, userID, ev.Email, ev.Kind, ev.Detail); err != nil {
		return fmt.Errorf("record sign-in event %s: %w", ev.Kind, err)
	}
	return nil
}

// addSSODomainEvents records an operator's change to a domain's sign-in
// both in the sign-in history and in the Event Log, where it belongs to no
// account.
func addSSODomainEvents(ctx context.Context, q querier, ev account.SignInEvent) error {
	if err := addSignInEvent(ctx, q, ev); err != nil {
		return err
	}
	return addEvent(ctx, q, account.Event{At: ev.At, ActorID: ev.UserID, Actor: ev.Email, Kind: ev.Kind,
		Params: account.EventParams{Domain: ev.Detail}})
}

func (s *Store) SSOUser(ctx context.Context, email, name string, ev account.SignInEvent) (account.User, bool, error) {
	var u account.User
	var created bool
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		// Two first sign-ins at once make one user: the second waits on the
		// unique index and then finds the first's row.
		var err error
		u, err = scanUser(tx.QueryRow(ctx, `
			INSERT INTO users (email, name, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (email) DO NOTHING
			RETURNING `+userColumns, email, name, ev.At))
		switch {
		case err == nil:
			created = true
		case errors.Is(err, pgx.ErrNoRows):
			if u, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, email)); err != nil {
				return err
			}
		default:
			return err
		}
		if created {
			if err := addSignInEvent(ctx, tx, account.SignInEvent{At: ev.At, UserID: u.ID, Email: email, Kind: "sso_user_created"}); err != nil {
				return err
			}
		}
		ev.UserID = u.ID
		return addSignInEvent(ctx, tx, ev)
	})
	return u, created, err
}

func (s *Store) SSORequired(ctx context.Context, domains []string) (bool, error) {
	var req bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sso_domains WHERE domain = ANY($1))`, domains).Scan(&req)
	return req, err
}

func (s *Store) SSODomains(ctx context.Context) ([]account.SSODomain, error) {
	rows, _ := s.pool.Query(ctx, `
		SELECT d.domain, coalesce(u.email, ''), d.required_at
		FROM sso_domains d LEFT JOIN users u ON u.id = d.required_by
		ORDER BY d.domain`)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.SSODomain, error) {
		var d account.SSODomain
		err := row.Scan(&d.Domain, &d.RequiredBy, &d.RequiredAt)
		return d, err
	})
}

func (s *Store) RequireSSO(ctx context.Context, domain string, ev account.SignInEvent) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sso_domains (domain, required_by, required_at) VALUES ($1, $2, $3)`,
			domain, ev.UserID, ev.At); err != nil {
			return mapErr(err, "this domain")
		}
		return addSSODomainEvents(ctx, tx, ev)
	})
}

func (s *Store) ReleaseSSO(ctx context.Context, domain string, ev account.SignInEvent) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sso_domains WHERE domain = $1`, domain)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return account.ErrNotFound
		}
		return addSSODomainEvents(ctx, tx, ev)
	})
}

func (s *Store) RecordSignInEvent(ctx context.Context, ev account.SignInEvent) error {
	return addSignInEvent(ctx, s.pool, ev)
}

func (s *Store) SignInEvents(ctx context.Context, limit int) ([]account.SignInEvent, error) {
	rows, _ := s.pool.Query(ctx, `
		SELECT at, coalesce(user_id, 0), email, kind, detail FROM sign_in_events
		ORDER BY at DESC, id DESC LIMIT $1`, limit)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.SignInEvent, error) {
		var ev account.SignInEvent
		err := row.Scan(&ev.At, &ev.UserID, &ev.Email, &ev.Kind, &ev.Detail)
		return ev, err
	})
}
