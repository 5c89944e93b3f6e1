package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

var _ account.TwoFactorStore = (*Store)(nil)

func (s *Store) HasTOTP(ctx context.Context, userID int64) (bool, error) {
	var has bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM user_totp WHERE user_id = $1)`, userID).Scan(&has)
	return has, err
}

func (s *Store) EnableTOTP(ctx context.Context, userID int64, secret string, step int64, at time.Time, recoveryHashes [][]byte) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO user_totp (user_id, secret, enabled_at, last_step) VALUES ($1, $2, $3, $4)`,
			userID, secret, at, step); err != nil {
			return mapErr(err, "an authenticator for this user")
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO user_recovery_codes (user_id, code_hash) SELECT $1, h FROM unnest($2::bytea[]) AS h`,
			userID, recoveryHashes)
		if err != nil {
			return err
		}
		return addUserEvent(ctx, tx, userID, "two_factor_enabled", at, account.EventParams{})
	})
}

func (s *Store) DisableTOTP(ctx context.Context, userID int64, at time.Time) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM user_recovery_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM user_totp WHERE user_id = $1`, userID); err != nil {
			return err
		}
		return addUserEvent(ctx, tx, userID, "two_factor_disabled", at, account.EventParams{})
	})
}

func (s *Store) BeginSecondFactor(ctx context.Context, userID int64, now time.Time, p account.ThrottlePolicy) (account.TOTP, time.Time, bool, error) {
	// The attempt is counted before its code is checked, and only when no
	// block stands, in one statement: parallel guesses queue on the row and
	// each sees the count the one before it left. The block of the n-th
	// attempt is p.Block(n), computed here so that it is part of the update.
	var t account.TOTP
	err := s.pool.QueryRow(ctx, `
		UPDATE user_totp SET
			failures = failures + 1,
			blocked_until = CASE WHEN failures + 1 > $3
				THEN $2 + least($5::float8, $4::float8 * power(2, failures + 1 - $3 - 1)) * interval '1 second'
				END
		WHERE user_id = $1 AND (blocked_until IS NULL OR blocked_until <= $2)
		RETURNING secret, last_step`,
		userID, now, p.Free, p.Base.Seconds(), p.Max.Seconds()).Scan(&t.Secret, &t.LastStep)
	if err == nil {
		return t, time.Time{}, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return account.TOTP{}, time.Time{}, false, err
	}
	var until *time.Time
	err = s.pool.QueryRow(ctx, `SELECT blocked_until FROM user_totp WHERE user_id = $1`, userID).Scan(&until)
	if err != nil {
		return account.TOTP{}, time.Time{}, false, mapErr(err, "")
	}
	if until == nil { // unblocked in between: let the caller try again later
		return account.TOTP{}, now, false, nil
	}
	return account.TOTP{}, *until, false, nil
}

func (s *Store) AcceptTOTPStep(ctx context.Context, userID int64, step int64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
		UPDATE user_totp SET last_step = $2, failures = 0, blocked_until = NULL
		WHERE user_id = $1 AND last_step < $2`, userID, step)
	return tag.RowsAffected() == 1, err
}

func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, hash []byte, now time.Time) (bool, error) {
	var used bool
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE user_recovery_codes SET used_at = $3
			WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`, userID, hash, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		used = true
		if _, err = tx.Exec(ctx, `UPDATE user_totp SET failures = 0, blocked_until = NULL WHERE user_id = $1`, userID); err != nil {
			return err
		}
		return addUserEvent(ctx, tx, userID, "recovery_code_used", now, account.EventParams{})
	})
	return used, err
}

func (s *Store) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM user_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	return n, err
}
