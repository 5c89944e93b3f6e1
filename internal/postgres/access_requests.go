package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

// accessRequestColumns read a request r with its requester u and the
// administrator d who decided it; scanAccessRequest reads them.
const accessRequestColumns = `r.id, r.user_id, r.smart_account_id,
	coalesce((SELECT array_agg(va.name ORDER BY va.name) FROM access_request_virtual_accounts x
		JOIN virtual_accounts va ON va.smart_account_id = x.smart_account_id AND va.id = x.virtual_account_id
		WHERE x.request_id = r.id), '{}'),
	r.role, r.reason, r.status, r.created_at, u.name, u.email,
	r.decided_at, coalesce(d.email, ''), r.decision_reason, r.decided_by_rule,
	coalesce(r.granted_role, ''), r.granted_virtual_accounts`

const accessRequestFrom = `
	FROM access_requests r
	JOIN users u ON u.id = r.user_id
	LEFT JOIN users d ON d.id = r.decided_by `

func scanAccessRequest(row pgx.Row) (account.AccessRequest, error) {
	var d accessRequestDest
	err := row.Scan(d.dest()...)
	return d.request(), err
}

// accessRequestDest reads accessRequestColumns into an AccessRequest; the
// decision's time may be NULL.
type accessRequestDest struct {
	r         account.AccessRequest
	decidedAt *time.Time
}

func (d *accessRequestDest) dest() []any {
	r := &d.r
	// Named types as their underlying ones, as accountDest does.
	return []any{&r.ID, &r.UserID, (*int64)(&r.AccountID), &r.VirtualAccounts, (*string)(&r.Role), &r.Reason, (*string)(&r.Status), &r.CreatedAt,
		&r.RequesterName, &r.RequesterEmail, &d.decidedAt, &r.DecidedBy, &r.DecisionReason, (*string)(&r.Rule),
		(*string)(&r.GrantedRole), &r.GrantedVAs}
}

func (d *accessRequestDest) request() account.AccessRequest {
	r := d.r
	r.DecidedAt = deref(d.decidedAt)
	return r
}

// virtualAccountIDs finds the named Virtual Accounts of account id, every
// one of them or ErrNoSuchVirtualAccount.
func virtualAccountIDs(ctx context.Context, q querier, id account.AccountID, names []string) ([]int64, error) {
	if len(names) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT id FROM virtual_accounts WHERE smart_account_id = $1 AND name = ANY($2)`, id, names)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	if len(ids) != len(names) {
		return nil, account.ErrNoSuchVirtualAccount
	}
	return ids, nil
}

func (s *Store) CreateAccessRequest(ctx context.Context, r account.AccessRequest, actor string, emails []account.Email, auto *account.AccessDecision, quota account.EmailQuota) (account.AccessRequest, error) {
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := countEmails(ctx, tx, quota); err != nil {
			return err
		}
		vaIDs, err := virtualAccountIDs(ctx, tx, r.AccountID, r.VirtualAccounts)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO access_requests (user_id, smart_account_id, role, reason, status, created_at)
			VALUES ($1, $2, $3, $4, 'pending', $5)
			RETURNING id`, r.UserID, r.AccountID, r.Role, r.Reason, r.CreatedAt).Scan(&r.ID)
		if err != nil {
			return mapErr(err, "a pending access request")
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO access_request_virtual_accounts (request_id, smart_account_id, virtual_account_id)
			SELECT $1, $2, unnest($3::bigint[])`, r.ID, r.AccountID, vaIDs); err != nil {
			return fmt.Errorf("record requested virtual accounts: %w", err)
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: r.AccountID, At: r.CreatedAt, ActorID: r.UserID, Actor: actor,
			Kind: "access_requested", Params: account.EventParams{Role: r.Role, VirtualAccounts: r.VirtualAccounts}}); err != nil {
			return err
		}
		if auto != nil {
			d := *auto
			d.RequestID = r.ID
			decided, err := decideAccess(ctx, tx, d, emails)
			r = decided
			return err
		}
		return enqueue(ctx, tx, r.CreatedAt, emails)
	})
	if err != nil {
		return account.AccessRequest{}, err
	}
	return r, nil
}

func (s *Store) PendingAccessRequest(ctx context.Context, userID int64, id account.AccountID) (account.AccessRequest, error) {
	r, err := scanAccessRequest(s.pool.QueryRow(ctx, `SELECT `+accessRequestColumns+accessRequestFrom+`
		WHERE r.user_id = $1 AND r.smart_account_id = $2 AND r.status = 'pending'`, userID, id))
	return r, mapErr(err, "")
}

func (s *Store) AccessRequests(ctx context.Context, ids []account.AccountID, status account.AccessRequestStatus, limit int) ([]account.AccessRequest, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+accessRequestColumns+accessRequestFrom+`
		WHERE r.smart_account_id = ANY($1) AND r.status = $2
		ORDER BY r.created_at, r.id
		LIMIT $3`, ids, status, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.AccessRequest, error) { return scanAccessRequest(row) })
}

// PendingAccessRequestsOf reads the admin_pending_access read model
// (migration 031): a range of userID's rows in the order the requests were
// made, each joined to its request and account.
func (s *Store) PendingAccessRequestsOf(ctx context.Context, userID int64, limit int) ([]account.PendingAccess, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+accountColumns+`, `+accessRequestColumns+accessRequestFrom+`
		JOIN admin_pending_access p ON p.request_id = r.id
		JOIN smart_accounts sa ON sa.id = r.smart_account_id
		WHERE p.user_id = $1
		ORDER BY p.created_at, p.request_id
		LIMIT $2`, userID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.PendingAccess, error) {
		var d accessRequestDest
		a, err := scanAccount(row, d.dest()...)
		return account.PendingAccess{Account: a, Request: d.request()}, err
	})
}

func (s *Store) AccessRequestByID(ctx context.Context, id account.AccountID, requestID int64) (account.AccessRequest, error) {
	r, err := scanAccessRequest(s.pool.QueryRow(ctx, `SELECT `+accessRequestColumns+accessRequestFrom+`
		WHERE r.id = $1 AND r.smart_account_id = $2`, requestID, id))
	return r, mapErr(err, "")
}

func (s *Store) DecideAccessRequest(ctx context.Context, d account.AccessDecision, emails []account.Email) (account.AccessRequest, error) {
	var out account.AccessRequest
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = decideAccess(ctx, tx, d, emails)
		return err
	})
	return out, err
}

// roleRank is account.Role.Rank for a role in SQL.
func roleRank(role string) string {
	return `CASE ` + role + ` WHEN 'admin' THEN 4 WHEN 'approver' THEN 3 WHEN 'user' THEN 2 ELSE 1 END`
}

// decideAccess is the one decision of a request: an update conditional on
// it still pending, so of two decisions racing one updates and the other
// finds nothing to update, then everything the decision causes.
func decideAccess(ctx context.Context, tx pgx.Tx, d account.AccessDecision, emails []account.Email) (account.AccessRequest, error) {
	status, granted := account.AccessDeclined, (*string)(nil)
	if d.Approve {
		status = account.AccessApproved
		role := string(d.Role)
		granted = &role
	}
	var decidedBy *int64
	if d.ByUser != 0 {
		decidedBy = &d.ByUser
	}
	vas := d.VirtualAccounts
	if vas == nil {
		vas = []string{}
	}
	var userID int64
	err := tx.QueryRow(ctx, `
		UPDATE access_requests SET status = $3, decided_at = $4, decided_by = $5, decision_reason = $6,
			decided_by_rule = $7, granted_role = $8, granted_virtual_accounts = $9
		WHERE id = $1 AND smart_account_id = $2 AND status = 'pending'
		RETURNING user_id`, d.RequestID, d.AccountID, status, d.At, decidedBy, d.Reason, d.Rule, granted, vas).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return account.AccessRequest{}, account.ErrAccessRequestDecided
	}
	if err != nil {
		return account.AccessRequest{}, fmt.Errorf("decide access request %d: %w", d.RequestID, err)
	}
	var requester string
	if err := tx.QueryRow(ctx, `SELECT email FROM users WHERE id = $1`, userID).Scan(&requester); err != nil {
		return account.AccessRequest{}, err
	}
	actor, kind, params := d.By, "access_declined", account.EventParams{User: requester, Reason: d.Reason}
	if d.Rule != "" {
		actor = "rule: " + string(d.Rule)
	}
	if d.Approve {
		kind, params = "access_approved", account.EventParams{User: requester, Role: d.Role, VirtualAccounts: d.VirtualAccounts}
		if err := grantAtLeast(ctx, tx, d.AccountID, userID, d.Role, d.VirtualAccounts); err != nil {
			return account.AccessRequest{}, err
		}
	}
	if err := addEvent(ctx, tx, account.Event{AccountID: d.AccountID, At: d.At, ActorID: d.ByUser, Actor: actor,
		Kind: kind, Params: params}); err != nil {
		return account.AccessRequest{}, err
	}
	if err := enqueue(ctx, tx, d.At, emails); err != nil {
		return account.AccessRequest{}, err
	}
	return scanAccessRequest(tx.QueryRow(ctx, `SELECT `+accessRequestColumns+accessRequestFrom+`WHERE r.id = $1`, d.RequestID))
}

// grantAtLeast gives userID role on the Smart Account, or on each named
// Virtual Account, keeping a stronger role they already hold there: an
// approval adds access, never takes any away.
func grantAtLeast(ctx context.Context, tx pgx.Tx, id account.AccountID, userID int64, role account.Role, vas []string) error {
	targets := []*int64{nil}
	if len(vas) > 0 {
		ids, err := virtualAccountIDs(ctx, tx, id, vas)
		if err != nil {
			return err
		}
		targets = targets[:0]
		for i := range ids {
			targets = append(targets, &ids[i])
		}
	}
	for _, va := range targets {
		if _, err := tx.Exec(ctx, `
			INSERT INTO memberships AS m (user_id, smart_account_id, virtual_account_id, role) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id, smart_account_id, virtual_account_id) DO UPDATE SET role = excluded.role
			WHERE `+roleRank("m.role")+` < `+roleRank("excluded.role"),
			userID, id, va, role); err != nil {
			return fmt.Errorf("grant %s: %w", role, err)
		}
	}
	return nil
}
