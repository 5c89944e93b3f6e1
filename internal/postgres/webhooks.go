package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

var _ account.WebhookStore = (*Store)(nil)

// webhookFanOut is the statement that offers the events of the CTE named
// ev (columns id, smart_account_id, at, actor, kind, params) to every
// endpoint that receives them: one delivery row each, with its webhook-id
// and body fixed now, in the transaction that records the event. A
// partner's endpoint receives the events of the requests its owner sent;
// an administrator's those of its account while its owner administers it.
func webhookFanOut(ev string) string {
	kinds, types := account.WebhookEventKinds()
	var pairs []string
	for i := range kinds {
		pairs = append(pairs, fmt.Sprintf("('%s', '%s')", kinds[i], types[i]))
	}
	return `
		INSERT INTO webhook_deliveries (webhook_id, endpoint_id, event_id, event_type, payload, next_attempt_at, give_up_at, created_at)
		SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), w.id, ev.id, t.type,
			jsonb_build_object(
				'type', t.type,
				'timestamp', to_char(ev.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
				'data', jsonb_build_object(
					'event_id', ev.id,
					'smart_account', jsonb_build_object(
						'id', 'SA-' || CASE WHEN length(sa.id::text) >= 6 THEN sa.id::text ELSE lpad(sa.id::text, 6, '0') END,
						'name', sa.name, 'domain', sa.domain, 'status', sa.status),
					'actor', ev.actor,
					'details', ev.params))::text,
			now(), now() + interval '` + fmt.Sprint(int(account.WebhookRetryFor/time.Second)) + ` seconds', ev.at
		FROM ` + ev + ` AS ev
		JOIN (VALUES ` + strings.Join(pairs, ", ") + `) AS t (kind, type) ON t.kind = ev.kind
		JOIN smart_accounts sa ON sa.id = ev.smart_account_id
		-- By the indexes on the owner and on the account: never a scan of
		-- every endpoint for an event.
		JOIN LATERAL (
			SELECT w.id FROM account_requests r
			JOIN webhook_endpoints w ON w.owner_user_id = r.requested_by AND w.smart_account_id IS NULL
			WHERE r.smart_account_id = ev.smart_account_id AND t.type = ANY (w.event_types)
			UNION ALL
			SELECT w.id FROM webhook_endpoints w
			WHERE w.smart_account_id = ev.smart_account_id AND sa.status = 'active' AND t.type = ANY (w.event_types)
				AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = w.owner_user_id AND m.smart_account_id = ev.smart_account_id
					AND m.virtual_account_id IS NULL AND m.role = 'admin')
		) w ON true
		ORDER BY ev.id, w.id`
}

const webhookEndpointColumns = `id, owner_user_id, coalesce(smart_account_id, 0), url, event_types, secret,
	coalesce(previous_secret, ''), previous_secret_until, created_at`

func scanWebhookEndpoint(row pgx.CollectableRow) (account.WebhookEndpoint, error) {
	var e account.WebhookEndpoint
	var types []string
	var until *time.Time
	err := row.Scan(&e.ID, &e.OwnerID, &e.Account, &e.URL, &types, &e.Secret, &e.PreviousSecret, &until, &e.CreatedAt)
	for _, t := range types {
		e.EventTypes = append(e.EventTypes, account.WebhookEventType(t))
	}
	if until != nil {
		e.PreviousUntil = *until
	}
	return e, err
}

// CreateWebhookEndpoint stores e unless its owner holds max endpoints. The
// owner's row is locked first, so two registrations at once count each
// other.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, e account.WebhookEndpoint, max int) (account.WebhookEndpoint, error) {
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `
			SELECT (SELECT count(*) FROM webhook_endpoints WHERE owner_user_id = u.id)
			FROM users u WHERE u.id = $1 FOR UPDATE`, e.OwnerID).Scan(&n); err != nil {
			return mapErr(err, "")
		}
		if n >= max {
			return account.ErrConflict
		}
		var accountID *int64
		if e.Account != 0 {
			id := int64(e.Account)
			accountID = &id
		}
		types := make([]string, len(e.EventTypes))
		for i, t := range e.EventTypes {
			types[i] = string(t)
		}
		if err := tx.QueryRow(ctx, `
			INSERT INTO webhook_endpoints (owner_user_id, smart_account_id, url, event_types, secret, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			e.OwnerID, accountID, e.URL, types, e.Secret, e.CreatedAt).Scan(&e.ID); err != nil {
			return err
		}
		return addUserEvent(ctx, tx, e.OwnerID, "webhook_created", e.CreatedAt, account.EventParams{URL: e.URL})
	})
	return e, err
}

// WebhookEndpoints lists a user's endpoints, newest first.
func (s *Store) WebhookEndpoints(ctx context.Context, ownerID int64) ([]account.WebhookEndpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints
		WHERE owner_user_id = $1 ORDER BY id DESC LIMIT 100`, ownerID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanWebhookEndpoint)
}

// WebhookEndpoint is one endpoint of the owner's.
func (s *Store) WebhookEndpoint(ctx context.Context, ownerID, id int64) (account.WebhookEndpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints
		WHERE owner_user_id = $1 AND id = $2`, ownerID, id)
	if err != nil {
		return account.WebhookEndpoint{}, err
	}
	e, err := pgx.CollectExactlyOneRow(rows, scanWebhookEndpoint)
	return e, mapErr(err, "")
}

// DeleteWebhookEndpoint removes an endpoint of the owner's, with its
// deliveries, and records it.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, ownerID, id int64, at time.Time) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var url string
		if err := tx.QueryRow(ctx, `DELETE FROM webhook_endpoints WHERE owner_user_id = $1 AND id = $2 RETURNING url`,
			ownerID, id).Scan(&url); err != nil {
			return mapErr(err, "")
		}
		return addUserEvent(ctx, tx, ownerID, "webhook_deleted", at, account.EventParams{URL: url})
	})
}

// RotateWebhookSecret makes secret the endpoint's, the current one its
// previous until until, and records it at now.
func (s *Store) RotateWebhookSecret(ctx context.Context, ownerID, id int64, secret string, now, until time.Time) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var url string
		if err := tx.QueryRow(ctx, `
			UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = $4, secret = $3
			WHERE owner_user_id = $1 AND id = $2 RETURNING url`, ownerID, id, secret, until).Scan(&url); err != nil {
			return mapErr(err, "")
		}
		return addUserEvent(ctx, tx, ownerID, "webhook_secret_rotated", now, account.EventParams{URL: url})
	})
}

const webhookDeliveryColumns = `d.id, d.webhook_id, d.endpoint_id, d.event_type, d.payload, d.state, d.attempts, d.failures,
	d.next_attempt_at, d.give_up_at, d.last_error, d.created_at, d.delivered_at`

func scanWebhookDelivery(row pgx.Row, extra ...any) (account.WebhookDelivery, error) {
	var d account.WebhookDelivery
	var delivered *time.Time
	err := row.Scan(append([]any{&d.ID, &d.WebhookID, &d.EndpointID, &d.EventType, &d.Payload, &d.State, &d.Attempts, &d.Failures,
		&d.NextAttemptAt, &d.GiveUpAt, &d.LastError, &d.CreatedAt, &delivered}, extra...)...)
	if delivered != nil {
		d.DeliveredAt = *delivered
	}
	return d, err
}

// WebhookDeliveries lists an endpoint's newest deliveries.
func (s *Store) WebhookDeliveries(ctx context.Context, endpointID int64, limit int) ([]account.WebhookDelivery, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries d
		WHERE d.endpoint_id = $1 ORDER BY d.id DESC LIMIT $2`, endpointID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.WebhookDelivery, error) { return scanWebhookDelivery(row) })
}

// WebhookAttempts is one delivery of the endpoint with its attempts.
func (s *Store) WebhookAttempts(ctx context.Context, endpointID, deliveryID int64, limit int) (account.WebhookDelivery, []account.WebhookAttempt, error) {
	d, err := scanWebhookDelivery(s.pool.QueryRow(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries d
		WHERE d.endpoint_id = $1 AND d.id = $2`, endpointID, deliveryID))
	if err != nil {
		return d, nil, mapErr(err, "")
	}
	rows, err := s.pool.Query(ctx, `SELECT attempt, at, status_code, error, response_body, duration_ms
		FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id LIMIT $2`, deliveryID, limit)
	if err != nil {
		return d, nil, err
	}
	as, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.WebhookAttempt, error) {
		var a account.WebhookAttempt
		var ms int
		err := row.Scan(&a.Attempt, &a.At, &a.StatusCode, &a.Error, &a.ResponseBody, &ms)
		a.Duration = time.Duration(ms) * time.Millisecond
		return a, err
	})
	return d, as, err
}

// RedeliverWebhook makes a finished delivery due again, and records it as
// the owner's.
func (s *Store) RedeliverWebhook(ctx context.Context, ownerID, endpointID, deliveryID int64, now, giveUp time.Time) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var url string
		err := tx.QueryRow(ctx, `
			UPDATE webhook_deliveries d SET state = 'pending', next_attempt_at = $3, give_up_at = $4
			FROM webhook_endpoints w
			WHERE w.id = d.endpoint_id AND d.endpoint_id = $1 AND d.id = $2 AND d.state IN ('delivered', 'failed')
			RETURNING w.url`, endpointID, deliveryID, now, giveUp).Scan(&url)
		if errors.Is(err, pgx.ErrNoRows) {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND id = $2`,
				endpointID, deliveryID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return account.ErrNotFound
			}
			return account.ErrConflict
		}
		if err != nil {
			return err
		}
		return addUserEvent(ctx, tx, ownerID, "webhook_redelivered", now, account.EventParams{URL: url})
	})
}

// ClaimWebhooks takes up to limit due deliveries for worker, as
// ClaimEmails takes emails: a delivery another worker claimed is due again
// once that worker's lock is free, or its lease ran out. Each comes with its
// endpoint's URL and the secrets that sign it at now.
func (s *Store) ClaimWebhooks(ctx context.Context, worker int64, now time.Time, limit int, lease time.Duration) ([]account.QueuedWebhook, error) {
	rows, err := s.pool.Query(ctx, claimDue("webhook_deliveries", "d")+`
		SELECT `+webhookDeliveryColumns+`, w.url, w.secret,
			CASE WHEN w.previous_secret_until > $1 THEN coalesce(w.previous_secret, '') ELSE '' END
		FROM claimed d JOIN webhook_endpoints w ON w.id = d.endpoint_id
		ORDER BY d.next_attempt_at, d.id`, now, limit, lease, worker)
	if err != nil {
		return nil, fmt.Errorf("claim webhooks: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.QueuedWebhook, error) {
		var q account.QueuedWebhook
		var secret, previous string
		d, err := scanWebhookDelivery(row, &q.URL, &secret, &previous)
		q.WebhookDelivery, q.Secrets = d, []string{secret}
		if previous != "" {
			q.Secrets = append(q.Secrets, previous)
		}
		return q, err
	})
}

// RecordWebhookAttempt records one attempt of a claimed delivery and its
// outcome in one transaction: delivered, due again at next, or failed when
// next is zero. It is fenced by the claim (account.ErrClaimLost): a worker
// that lost its delivery to another records nothing.
func (s *Store) RecordWebhookAttempt(ctx context.Context, c account.WebhookClaim, a account.WebhookAttempt, delivered bool, next time.Time) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var tag interface{ RowsAffected() int64 }
		var err error
		lastErr := a.Error
		if lastErr == "" && !delivered {
			lastErr = fmt.Sprintf("HTTP %d", a.StatusCode)
		}
		switch {
		case delivered:
			tag, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET state = 'delivered', delivered_at = $3, locked_until = NULL,
				claimed_by = NULL, last_error = '' WHERE id = $1 AND attempts = $2 AND state = 'sending'`, c.ID, c.Attempt, a.At)
		case next.IsZero():
			tag, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET state = 'failed', locked_until = NULL, claimed_by = NULL,
				failures = failures + 1, last_error = $3 WHERE id = $1 AND attempts = $2 AND state = 'sending'`, c.ID, c.Attempt, lastErr)
		default:
			tag, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $3, locked_until = NULL,
				claimed_by = NULL, failures = failures + 1, last_error = $4 WHERE id = $1 AND attempts = $2 AND state = 'sending'`, c.ID, c.Attempt, next, lastErr)
		}
		if err != nil {
			return fmt.Errorf("record webhook delivery %d: %w", c.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return account.ErrClaimLost
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, response_body, duration_ms)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			c.ID, c.Attempt, a.At, a.StatusCode, a.Error, a.ResponseBody, int(a.Duration/time.Millisecond))
		return err
	})
}

// ReleaseWebhooks hands back deliveries claimed and never tried (the worker
// is stopping), taking back the attempt each claim counted.
func (s *Store) ReleaseWebhooks(ctx context.Context, claims []account.WebhookClaim) error {
	ids, attempts := make([]int64, len(claims)), make([]int32, len(claims))
	for i, c := range claims {
		ids[i], attempts[i] = c.ID, int32(c.Attempt)
	}
	_, err := s.pool.Exec(ctx, `
		UPDATE webhook_deliveries d SET state = 'pending', attempts = d.attempts - 1, locked_until = NULL, claimed_by = NULL
		FROM unnest($1::bigint[], $2::int[]) AS c(id, attempt)
		WHERE d.id = c.id AND d.attempts = c.attempt AND d.state = 'sending'`, ids, attempts)
	return err
}

// PruneWebhookDeliveries deletes the settled deliveries made before before
// among the oldest limit (their attempts go with them: ON DELETE CASCADE).
// It reads the primary key's first limit entries and no more: deliveries
// settle within a day (or a day after a redelivery), so those past the
// retention are the oldest; one still pending is skipped and pruned later.
func (s *Store) PruneWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `
		DELETE FROM webhook_deliveries WHERE id IN (
			SELECT id FROM (SELECT id, state, created_at FROM webhook_deliveries ORDER BY id LIMIT $2) oldest
			WHERE state IN ('delivered', 'failed') AND created_at < $1)`, before, limit)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
