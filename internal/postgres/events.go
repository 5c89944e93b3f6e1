package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

// The append-only history of each account, and of each user's own changes
// (sign-ins, two-factor, API tokens), which belong to no account.

func scanEvent(row pgx.CollectableRow) (account.Event, error) {
	var e account.Event
	var params []byte
	if err := row.Scan(&e.ID, (*int64)(&e.AccountID), &e.At, &e.ActorID, &e.Actor, &e.Kind, &params, &e.Client); err != nil {
		return e, err
	}
	if err := json.Unmarshal(params, &e.Params); err != nil {
		return e, fmt.Errorf("event %d parameters: %w", e.ID, err)
	}
	return e, nil
}

func addEvent(ctx context.Context, q querier, e account.Event) error {
	sql, args, err := eventInsert(ctx, e)
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("record event %s: %w", e.Kind, err)
	}
	return nil
}

// eventInsert is the statement that records e, for addEvent or for a batch
// that records it in the same round trip as other writes. The client's
// address comes with ctx, from the request that made the change.
func eventInsert(ctx context.Context, e account.Event) (string, []any, error) {
	var actorID *int64
	if e.ActorID != 0 {
		actorID = &e.ActorID
	}
	var accountID *account.AccountID
	if e.AccountID != 0 {
		accountID = &e.AccountID
	}
	if e.At.IsZero() {
		// Every change is dated by the domain's clock, which tests move.
		return "", nil, fmt.Errorf("record event %s: no time given", e.Kind)
	}
	params, err := json.Marshal(e.Params)
	if err != nil {
		return "", nil, fmt.Errorf("record event %s: %w", e.Kind, err)
	}
	client := e.Client
	if client == "" {
		client = account.ClientOf(ctx)
	}
	return eventInsertSQL, []any{accountID, e.At, actorID, e.Actor, e.Kind, params, client}, nil
}

// addUserEvent records a change to user id's own sign-in, by that user,
// named by their address as it is now.
func addUserEvent(ctx context.Context, q querier, userID int64, kind string, at time.Time, p account.EventParams) error {
	var email string
	if err := q.QueryRow(ctx, `SELECT email FROM users WHERE id = $1`, userID).Scan(&email); err != nil {
		return mapErr(err, fmt.Sprintf("user %d", userID))
	}
	return addEvent(ctx, q, account.Event{At: at, ActorID: userID, Actor: email, Kind: kind, Params: p})
}

// RecordEvent records e on its own: for what changes no other row (a
// sign-in, a refused one, a Log Out).
func (s *Store) RecordEvent(ctx context.Context, e account.Event) error {
	return addEvent(ctx, s.pool, e)
}

// eventQuery is q as SQL: each filter adds a condition, and the order
// (at, id) newest first matches an index for each view (see migration
// 028), so a page is a bounded index range scan however long the log.
func eventQuery(q account.EventQuery) (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.Account != 0 {
		where = append(where, "smart_account_id = "+arg(q.Account))
	}
	if len(q.Kinds) > 0 {
		where = append(where, "kind = ANY("+arg(q.Kinds)+")")
	}
	f := q.Filter
	if f.Kind != "" {
		where = append(where, "kind = "+arg(f.Kind))
	}
	if f.Actor != "" {
		where = append(where, "actor = "+arg(f.Actor))
	}
	if !f.From.IsZero() {
		where = append(where, "at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "at < "+arg(f.To.AddDate(0, 0, 1)))
	}
	if q.After.ID != 0 {
		where = append(where, "(at, id) < ("+arg(q.After.At)+", "+arg(q.After.ID)+")")
	}
	sql := "SELECT " + eventColumns + " FROM events"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY at DESC, id DESC"
	if q.Limit > 0 {
		sql += " LIMIT " + arg(q.Limit)
	}
	return sql, args
}

// Events reads one page of the log q describes.
func (s *Store) Events(ctx context.Context, q account.EventQuery) ([]account.Event, error) {
	sql, args := eventQuery(q)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("read event log: %w", err)
	}
	return pgx.CollectRows(rows, scanEvent)
}

// eventInsertSQL records one event and, in the same statement, offers it
// to the webhook endpoints that receive it.
var eventInsertSQL = `
		WITH ev AS (
			INSERT INTO events (smart_account_id, at, actor_user_id, actor, kind, params, client_addr)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			RETURNING id, smart_account_id, at, actor, kind, params
		)` + webhookFanOut("ev")
