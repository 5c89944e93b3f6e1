package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

// Throttle state lives in the database so every process of the portal
// counts the same failures.

// noBlock is the blocked_until of a key that blocks nothing. It must be
// long past, not "now": the requests racing on a key each read the clock a
// little apart, and a "now" one of them wrote would be a block of a few
// milliseconds to another whose clock read earlier (found by the SIGTERM
// fault test: a correct sign-in answered 429 "Try again in 1 seconds").
const noBlock = `'epoch'::timestamptz`

// CountLoginAttempt checks and counts in one transaction that holds the
// keys' rows: parallel guesses take turns, each seeing the count of those
// before it, so none passes a block another's count set.
func (s *Store) CountLoginAttempt(ctx context.Context, keys []account.ThrottleKey, now time.Time) (time.Time, error) {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Key
	}
	var until time.Time
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO login_throttle (key, failures, last_failure, blocked_until)
			SELECT k, 0, $2, `+noBlock+` FROM unnest($1::text[]) k ORDER BY k
			ON CONFLICT (key) DO NOTHING`, names, now); err != nil {
			return err
		}
		// In key order, so two attempts never wait on each other's rows.
		rows, err := tx.Query(ctx, `
			SELECT key, failures, last_failure, blocked_until FROM login_throttle
			WHERE key = ANY($1) ORDER BY key FOR UPDATE`, names)
		if err != nil {
			return err
		}
		type row struct {
			failures      int
			last, blocked time.Time
		}
		seen := map[string]row{}
		for rows.Next() {
			var k string
			var r row
			if err := rows.Scan(&k, &r.failures, &r.last, &r.blocked); err != nil {
				return err
			}
			seen[k] = r
			if r.blocked.After(until) {
				until = r.blocked
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if until.After(now) {
			return nil // refused, and not counted
		}
		for _, k := range keys {
			r := seen[k.Key]
			// A failure outside the window starts the count again.
			n := r.failures + 1
			if r.last.Before(now.Add(-k.Policy.Window)) {
				n = 1
			}
			blocked := r.blocked
			if b := k.Policy.Block(n); b > 0 {
				blocked = now.Add(b)
			}
			if _, err := tx.Exec(ctx, `
				UPDATE login_throttle SET failures = $2, last_failure = $3, blocked_until = $4 WHERE key = $1`,
				k.Key, n, now, blocked); err != nil {
				return err
			}
		}
		return nil
	})
	return until, err
}

// RefundLoginAttempt takes back one counted attempt that succeeded, and the
// block it set unless earlier failures call for one anyway.
func (s *Store) RefundLoginAttempt(ctx context.Context, k account.ThrottleKey) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE login_throttle SET failures = greatest(failures - 1, 0),
			blocked_until = CASE WHEN failures - 1 <= $2 THEN `+noBlock+` ELSE blocked_until END
		WHERE key = $1`, k.Key, k.Policy.Free)
	return err
}

func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1`, key)
	return err
}

// PruneLoginThrottle forgets the keys whose failures are older than before
// and which block nothing any more.
func (s *Store) PruneLoginThrottle(ctx context.Context, before, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM login_throttle WHERE last_failure < $1 AND blocked_until < $2`, before, now)
	return int(tag.RowsAffected()), err
}
