package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

// Set-password links: what an approval leaves for the people it added who
// have no password yet.

func (s *Store) SetPasswordLinkByHash(ctx context.Context, hash []byte) (account.SetPasswordLink, account.User, error) {
	var l account.SetPasswordLink
	var usedAt *time.Time
	row := s.pool.QueryRow(ctx, `
		SELECT p.id, p.user_id, p.created_at, p.expires_at, p.used_at, `+prefixed("u", userColumns)+`
		FROM set_password_links p JOIN users u ON u.id = p.user_id WHERE p.token_hash = $1`, hash)
	var u account.User
	err := row.Scan(&l.ID, &l.UserID, &l.CreatedAt, &l.ExpiresAt, &usedAt,
		&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.Staff, &u.Language, &u.CreatedAt)
	l.UsedAt = deref(usedAt)
	return l, u, mapErr(err, "")
}

func (s *Store) UseSetPasswordLink(ctx context.Context, hash []byte, now time.Time, passwordHash string) (account.User, error) {
	var u account.User
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var userID int64
		err := tx.QueryRow(ctx, `
			UPDATE set_password_links SET used_at = $2
			WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
			RETURNING user_id`, hash, now).Scan(&userID)
		if errors.Is(err, pgx.ErrNoRows) {
			return account.ErrTokenUsed
		}
		if err != nil {
			return err
		}
		// Every other link of this user existed only to set this first
		// password: none may set it again.
		if _, err := tx.Exec(ctx, `UPDATE set_password_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL`, userID, now); err != nil {
			return err
		}
		u, err = scanUser(tx.QueryRow(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING `+userColumns, userID, passwordHash))
		if err != nil {
			return err
		}
		return addUserEvent(ctx, tx, userID, "password_set", now, account.EventParams{})
	})
	return u, err
}
