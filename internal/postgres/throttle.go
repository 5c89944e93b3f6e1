package postgres

import (
	"context"
	"time"

	"github.com/clc-portal/clc/internal/account"
)

// Throttle state lives in the database so every process of the portal
// counts the same failures.

func (s *Store) ThrottledUntil(ctx context.Context, keys []string, now time.Time) (time.Time, error) {
	var until *time.Time
	err := s.pool.QueryRow(ctx, `SELECT max(blocked_until) FROM login_throttle WHERE key = ANY($1)`, keys).Scan(&until)
	if err != nil || until == nil {
		return time.Time{}, err
	}
	return *until, nil
}

func (s *Store) RecordLoginFailure(ctx context.Context, key string, now time.Time, p account.ThrottlePolicy) error {
	// A failure outside the window starts the count again.
	var failures int
	err := s.pool.QueryRow(ctx, `
		INSERT INTO login_throttle AS t (key, failures, last_failure, blocked_until)
		VALUES ($1, 1, $2, $2)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN t.last_failure < $2 - $3::interval THEN 1 ELSE t.failures + 1 END,
			last_failure = $2
		RETURNING failures`, key, now, p.Window).Scan(&failures)
	if err != nil {
		return err
	}
	if block := p.Block(failures); block > 0 {
		_, err = s.pool.Exec(ctx, `UPDATE login_throttle SET blocked_until = $2 WHERE key = $1`, key, now.Add(block))
	}
	return err
}

func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1`, key)
	return err
}
