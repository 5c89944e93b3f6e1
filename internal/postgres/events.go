package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

// The append-only history of each account.

func scanEvent(row pgx.CollectableRow) (account.Event, error) {
	var e account.Event
	var params []byte
	if err := row.Scan(&e.ID, &e.AccountID, &e.At, &e.ActorID, &e.Actor, &e.Kind, &params); err != nil {
		return e, err
	}
	if err := json.Unmarshal(params, &e.Params); err != nil {
		return e, fmt.Errorf("event %d parameters: %w", e.ID, err)
	}
	return e, nil
}

func addEvent(ctx context.Context, q querier, e account.Event) error {
	sql, args, err := eventInsert(e)
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("record event %s: %w", e.Kind, err)
	}
	return nil
}

// eventInsert is the statement that records e, for addEvent or for a batch
// that records it in the same round trip as other writes.
func eventInsert(e account.Event) (string, []any, error) {
	var actorID *int64
	if e.ActorID != 0 {
		actorID = &e.ActorID
	}
	if e.At.IsZero() {
		// Every change is dated by the domain's clock, which tests move.
		return "", nil, fmt.Errorf("record event %s: no time given", e.Kind)
	}
	params, err := json.Marshal(e.Params)
	if err != nil {
		return "", nil, fmt.Errorf("record event %s: %w", e.Kind, err)
	}
	return eventInsertSQL, []any{e.AccountID, e.At, actorID, e.Actor, e.Kind, params}, nil
}

// eventInsertSQL records one event and, in the same statement, offers it
// to the webhook endpoints that receive it.
var eventInsertSQL = `
		WITH ev AS (
			INSERT INTO events (smart_account_id, at, actor_user_id, actor, kind, params)
			VALUES ($1, $2, $3, $4, $5, $6)
			RETURNING id, smart_account_id, at, actor, kind, params
		)` + webhookFanOut("ev")
