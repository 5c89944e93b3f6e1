package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

const apiTokenColumns = `id, user_id, name, created_at, last_used_at, revoked_at`

func scanAPIToken(row pgx.Row) (account.APIToken, error) {
	var t account.APIToken
	var used, revoked *time.Time
	err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.CreatedAt, &used, &revoked)
	t.LastUsedAt, t.RevokedAt = deref(used), deref(revoked)
	return t, err
}

func (s *Store) CreateAPIToken(ctx context.Context, t account.APIToken, hash []byte, q account.APITokenQuota) (account.APIToken, error) {
	var out account.APIToken
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		// The user's row serialises their token creations, so the cap holds
		// under a double click.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, t.UserID); err != nil {
			return fmt.Errorf("lock user: %w", err)
		}
		var live, made int
		if err := tx.QueryRow(ctx, `
			SELECT count(*) FILTER (WHERE revoked_at IS NULL), count(*) FILTER (WHERE created_at > $2)
			FROM api_tokens WHERE user_id = $1`, t.UserID, q.Since).Scan(&live, &made); err != nil {
			return fmt.Errorf("count tokens: %w", err)
		}
		if live >= q.Live {
			return &account.ConflictError{What: fmt.Sprintf("%d live API tokens", live)}
		}
		if made >= q.PerDay {
			return account.ErrAPITokenQuota
		}
		var err error
		out, err = scanAPIToken(tx.QueryRow(ctx, `
			INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)
			RETURNING `+apiTokenColumns, t.UserID, t.Name, hash, t.CreatedAt))
		if err != nil {
			return err
		}
		return addUserEvent(ctx, tx, t.UserID, "api_token_created", t.CreatedAt, account.EventParams{Name: t.Name})
	})
	return out, err
}

func (s *Store) APITokens(ctx context.Context, userID int64) ([]account.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE user_id = $1 ORDER BY id DESC`, userID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.APIToken, error) { return scanAPIToken(row) })
}

func (s *Store) RevokeAPIToken(ctx context.Context, userID, id int64, at time.Time) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var name string
		err := tx.QueryRow(ctx, `
			UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL
			RETURNING name`, id, userID, at).Scan(&name)
		if err != nil {
			return mapErr(err, "")
		}
		return addUserEvent(ctx, tx, userID, "api_token_revoked", at, account.EventParams{Name: name})
	})
}

func (s *Store) UseAPIToken(ctx context.Context, hash []byte, now, window time.Time) (account.User, int, error) {
	var u account.User
	var hits int
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL
			RETURNING user_id`, hash, now).Scan(&u.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return account.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("find token: %w", err)
		}
		// One row per user and window, counted by an upsert: every process
		// serving the API, and every token of the user, shares the count.
		if err := tx.QueryRow(ctx, `
			INSERT INTO api_user_rate_windows AS w (user_id, window_start, hits) VALUES ($1, $2, 1)
			ON CONFLICT (user_id, window_start) DO UPDATE SET hits = w.hits + 1
			RETURNING hits`, u.ID, window).Scan(&hits); err != nil {
			return fmt.Errorf("count call: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM api_user_rate_windows WHERE user_id = $1 AND window_start < $2`, u.ID, window); err != nil {
			return fmt.Errorf("forget old windows: %w", err)
		}
		u, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, u.ID))
		return err
	})
	return u, hits, err
}

func (s *Store) RequestsBy(ctx context.Context, userID int64, before account.AccountID, limit int) ([]account.AccountRequest, error) {
	rows, err := s.pool.Query(ctx, requestSelect+`
		WHERE r.requested_by = $1 AND ($2 = 0 OR r.smart_account_id < $2)
		ORDER BY r.smart_account_id DESC LIMIT $3`, userID, int64(before), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.AccountRequest, error) { return scanRequest(row) })
}
