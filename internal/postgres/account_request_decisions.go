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

// Every change to a request locks its account_requests row before any of its
// approval_links rows, so a decision, a forward, a withdrawal and the jobs
// take turns on one request and never deadlock.
//
// A link needs no row of its own to be spent: it works only while its
// request is pending and unexpired and it was not forwarded, so a decision,
// a withdrawal or an expiry ends every link of the request at once.

const linkColumns = `l.id, l.request_id, l.email, l.token_hash, l.created_at, l.expires_at, l.revoked_at,
	l.forwarded_to, l.rotated_at, l.opened_at`

func scanLink(row pgx.Row, extra ...any) (account.ApprovalLink, error) {
	var l account.ApprovalLink
	var revokedAt, rotatedAt, openedAt *time.Time
	dest := append([]any{&l.ID, &l.RequestID, &l.Email, &l.TokenHash, &l.CreatedAt, &l.ExpiresAt, &revokedAt,
		&l.ForwardedTo, &rotatedAt, &openedAt}, extra...)
	err := row.Scan(dest...)
	l.RevokedAt, l.RotatedAt, l.OpenedAt = deref(revokedAt), deref(rotatedAt), deref(openedAt)
	return l, err
}

// linkByTokenHashSQL reads the link token hash $1 opens and its request in
// one statement, read by scanLinkByTokenHash: every Pending Request page and
// every decision starts here.
const linkByTokenHashSQL = `
	SELECT ` + linkColumns + `, coalesce(l.previous_token_hash = $1, false), ` + requestColumns + `, ` + accountColumns + requestFrom + `
	JOIN approval_links l ON l.request_id = r.id
	WHERE l.token_hash = $1 OR l.previous_token_hash = $1`

func (s *Store) LinkByTokenHash(ctx context.Context, hash []byte) (account.ApprovalLink, account.AccountRequest, bool, error) {
	return scanLinkByTokenHash(s.pool.QueryRow(ctx, linkByTokenHashSQL, hash))
}

func scanLinkByTokenHash(row pgx.Row) (account.ApprovalLink, account.AccountRequest, bool, error) {
	var replaced bool
	var r account.AccountRequest
	// scanLink reads the link's columns and replaced, scanRequest the rest.
	l, err := scanLink(rowFunc(func(linkDest ...any) error {
		var err error
		r, err = scanRequest(rowFunc(func(requestDest ...any) error {
			return row.Scan(append(linkDest, requestDest...)...)
		}))
		return err
	}), &replaced)
	if err != nil {
		return account.ApprovalLink{}, account.AccountRequest{}, false, mapErr(err, "")
	}
	return l, r, replaced, nil
}

// rowFunc is a pgx.Row whose Scan is a function, to read one row with
// several scan functions, each taking its part of the columns in turn.
type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }

func requestByID(ctx context.Context, q querier, id int64) (account.AccountRequest, error) {
	r, err := scanRequest(q.QueryRow(ctx, requestSelect+`WHERE r.id = $1`, id))
	return r, mapErr(err, "")
}

func (s *Store) RequestByAccount(ctx context.Context, id account.AccountID) (account.AccountRequest, error) {
	r, err := scanRequest(s.pool.QueryRow(ctx, requestSelect+`WHERE r.smart_account_id = $1`, id))
	return r, mapErr(err, "")
}

func (s *Store) LiveLinks(ctx context.Context, requestID int64) ([]account.ApprovalLink, error) {
	return links(ctx, s.pool, requestID, true)
}

// links lists a request's links, oldest first: only those not forwarded
// when live is set.
func links(ctx context.Context, q querier, requestID int64, live bool) ([]account.ApprovalLink, error) {
	rows, err := q.Query(ctx, `SELECT `+linkColumns+` FROM approval_links l
		WHERE l.request_id = $1 AND (NOT $2 OR l.revoked_at IS NULL) ORDER BY l.id`, requestID, live)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.ApprovalLink, error) { return scanLink(row) })
}

func (s *Store) PendingRequests(ctx context.Context, now time.Time) ([]account.PendingRequest, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+requestColumns+`, `+accountColumns+`,
			coalesce((SELECT array_agg(l.email ORDER BY l.id) FROM approval_links l
				WHERE l.request_id = r.id AND l.revoked_at IS NULL), '{}'),
			EXISTS (SELECT 1 FROM request_followups f WHERE f.request_id = r.id AND f.step = $2)`+requestFrom+`
		WHERE r.status = 'pending' AND r.expires_at > $1
		ORDER BY r.created_at, r.id`, now, account.StepNoResponse)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (account.PendingRequest, error) {
		var p account.PendingRequest
		r, err := scanRequest(row, &p.WaitingOn, &p.NoResponse)
		p.Request = r
		return p, err
	})
}

func (s *Store) AccountHistory(ctx context.Context, id account.AccountID) ([]account.Event, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+eventColumns+` FROM events WHERE smart_account_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanEvent)
}

func (s *Store) Decide(ctx context.Context, d account.Decision) (account.AccountRequest, error) {
	var out account.AccountRequest
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		// The one decision: whoever updates the pending row first wins, and
		// everyone after finds it no longer pending.
		var byUser *int64
		if d.ByUser != 0 {
			byUser = &d.ByUser
		}
		tag, err := tx.Exec(ctx, `
			UPDATE account_requests SET status = $2, decided_at = $3, decided_by = $4, decided_by_user = $5, decision_reason = $6,
				users_left_out = coalesce($7, '{}'::text[])
			WHERE id = $1 AND status = 'pending' AND expires_at > $3`,
			d.RequestID, d.Outcome, d.At, d.By, byUser, d.Reason, d.LeftOut)
		if err != nil {
			return fmt.Errorf("decide: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return account.ErrRequestClosed
		}
		if d.LinkID != 0 {
			// Read after the request's lock, so a forward of this link that
			// committed first is seen.
			var revoked *time.Time
			var current bool
			if err := tx.QueryRow(ctx, `SELECT revoked_at, $3::bytea IS NULL OR token_hash = $3 FROM approval_links
				WHERE id = $1 AND request_id = $2 FOR UPDATE`,
				d.LinkID, d.RequestID, d.TokenHash).Scan(&revoked, &current); err != nil {
				return fmt.Errorf("lock approval link: %w", mapErr(err, ""))
			}
			// A resend that replaced the token first wins over the old link.
			if revoked != nil || !current {
				return account.ErrLinkRevoked
			}
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: d.AccountID, At: d.At, ActorID: d.ByUser, Actor: d.By,
			Kind: string(d.Outcome), Params: account.EventParams{Reason: d.Reason, LeftOut: d.LeftOut}}); err != nil {
			return err
		}
		emails := d.Emails
		switch d.Outcome {
		case account.RequestApproved:
			welcomes, err := activate(ctx, tx, d)
			if err != nil {
				return err
			}
			emails = append(welcomes, emails...)
		case account.RequestDenied:
			if _, err := tx.Exec(ctx, `UPDATE smart_accounts SET status = 'denied', updated_at = $2 WHERE id = $1`, d.AccountID, d.At); err != nil {
				return fmt.Errorf("deny account: %w", err)
			}
		default:
			return fmt.Errorf("decide: %q is not a decision", d.Outcome)
		}
		if err := enqueue(ctx, tx, d.At, emails); err != nil {
			return err
		}
		out, err = requestByID(ctx, tx, d.RequestID)
		return err
	})
	return out, err
}

// activate makes an approved account active with its DEFAULT Virtual Account
// and members, and returns each member's welcome, with a set-password link
// for those who have no password yet.
func activate(ctx context.Context, tx pgx.Tx, d account.Decision) ([]account.Email, error) {
	if _, err := tx.Exec(ctx, `UPDATE smart_accounts SET status = 'active', updated_at = $2 WHERE id = $1`, d.AccountID, d.At); err != nil {
		return nil, fmt.Errorf("activate account: %w", err)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO virtual_accounts (smart_account_id, name, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (smart_account_id, name) DO NOTHING`, d.AccountID, account.DefaultVirtualAccount, d.At); err != nil {
		return nil, fmt.Errorf("default virtual account: %w", err)
	}
	var welcomes []account.Email
	for _, m := range d.Members {
		// DO NOTHING waits for a concurrent insert of the same address to
		// commit; the separate SELECT then sees it.
		if _, err := tx.Exec(ctx, `
			INSERT INTO users (email, name, language, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (email) DO NOTHING`, m.Email, m.Name, m.Language, d.At); err != nil {
			return nil, fmt.Errorf("create user %s: %w", m.Email, err)
		}
		var userID int64
		var passwordHash string
		if err := tx.QueryRow(ctx, `SELECT id, password_hash FROM users WHERE email = $1`, m.Email).Scan(&userID, &passwordHash); err != nil {
			return nil, fmt.Errorf("find user %s: %w", m.Email, err)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO memberships (user_id, smart_account_id, role, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id, smart_account_id, virtual_account_id) DO NOTHING`,
			userID, d.AccountID, m.Role, d.At); err != nil {
			return nil, fmt.Errorf("grant %s to %s: %w", m.Role, m.Email, err)
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: d.AccountID, At: d.At, ActorID: d.ByUser, Actor: d.By,
			Kind: "access_granted", Params: account.EventParams{User: m.Email, Role: m.Role}}); err != nil {
			return nil, err
		}
		welcome := m.Welcome
		if passwordHash == "" && m.PasswordToken != "" {
			if _, err := tx.Exec(ctx, `
				INSERT INTO set_password_links (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
				userID, account.HashToken(m.PasswordToken), d.At, m.PasswordExpires); err != nil {
				return nil, fmt.Errorf("set-password link for %s: %w", m.Email, err)
			}
			welcome.Secret = m.PasswordToken
		}
		welcomes = append(welcomes, welcome)
	}
	return welcomes, nil
}

func (s *Store) Forward(ctx context.Context, f account.Forwarding) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockPendingRequest(ctx, tx, f.RequestID, f.At); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			UPDATE approval_links SET revoked_at = $2, forwarded_to = $3
			WHERE id = $1 AND revoked_at IS NULL AND ($4::bytea IS NULL OR token_hash = $4)`, f.LinkID, f.At, f.Link.Email, f.TokenHash)
		if err != nil {
			return fmt.Errorf("revoke link: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return account.ErrLinkRevoked
		}
		if err := allowApprovalEmails(ctx, tx, f.AccountID, []string{f.Link.Email}, f.Allow); err != nil {
			return err
		}
		// Someone who forwarded their link earlier may be given one again,
		// and their old link then says it was replaced; an address holding a
		// live link may not get a second.
		tag, err = tx.Exec(ctx, `
			INSERT INTO approval_links AS l (request_id, email, token_hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (request_id, email) DO UPDATE SET token_hash = excluded.token_hash,
				previous_token_hash = l.token_hash, rotated_at = excluded.created_at,
				expires_at = excluded.expires_at, revoked_at = NULL, forwarded_to = ''
			WHERE l.revoked_at IS NOT NULL`,
			f.RequestID, f.Link.Email, f.Link.TokenHash, f.At, f.Link.ExpiresAt)
		if err != nil {
			return fmt.Errorf("add link: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return &account.ConflictError{What: "a live approval link for " + f.Link.Email}
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: f.AccountID, At: f.At, Actor: f.From,
			Kind: "forwarded", Params: account.EventParams{To: []string{f.Link.Email}}}); err != nil {
			return err
		}
		return enqueue(ctx, tx, f.At, []account.Email{f.Email})
	})
}

func (s *Store) Withdraw(ctx context.Context, w account.Withdrawal, emails func(live []account.ApprovalLink) []account.Email) (account.AccountRequest, error) {
	var out account.AccountRequest
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE account_requests SET status = 'withdrawn', decided_at = $2, decided_by = $3, decided_by_user = $4
			WHERE id = $1 AND status = 'pending' AND expires_at > $2`, w.RequestID, w.At, w.By, w.ByUser)
		if err != nil {
			return fmt.Errorf("withdraw: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return account.ErrRequestClosed
		}
		if _, err := tx.Exec(ctx, `UPDATE smart_accounts SET status = 'expired', updated_at = $2 WHERE id = $1`, w.AccountID, w.At); err != nil {
			return fmt.Errorf("close account: %w", err)
		}
		live, err := links(ctx, tx, w.RequestID, true)
		if err != nil {
			return fmt.Errorf("live links: %w", err)
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: w.AccountID, At: w.At, ActorID: w.ByUser, Actor: w.By, Kind: "withdrawn"}); err != nil {
			return err
		}
		if err := enqueue(ctx, tx, w.At, emails(live)); err != nil {
			return err
		}
		out, err = requestByID(ctx, tx, w.RequestID)
		return err
	})
	return out, err
}

// claimRequest locks one request matching where (with its arguments), the
// soonest to expire first; rows another process holds are skipped, so
// several workers share the jobs. ok is false when none matches.
func claimRequest(ctx context.Context, tx pgx.Tx, where string, args ...any) (account.AccountRequest, bool, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM account_requests WHERE `+where+`
		ORDER BY expires_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`, args...).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return account.AccountRequest{}, false, nil
	}
	if err != nil {
		return account.AccountRequest{}, false, err
	}
	r, err := requestByID(ctx, tx, id)
	return r, err == nil, err
}

func (s *Store) ExpireNext(ctx context.Context, now time.Time, expire func(account.AccountRequest, []account.ApprovalLink) []account.Email) (bool, error) {
	var found bool
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		r, ok, err := claimRequest(ctx, tx, `status = 'pending' AND expires_at <= $1`, now)
		if err != nil || !ok {
			return err
		}
		found = true
		if _, err := tx.Exec(ctx, `UPDATE account_requests SET status = 'expired' WHERE id = $1`, r.ID); err != nil {
			return fmt.Errorf("expire request: %w", err)
		}
		// Expired gives the domain back: the live-domain index covers only
		// pending and active accounts.
		if _, err := tx.Exec(ctx, `UPDATE smart_accounts SET status = 'expired', updated_at = $2 WHERE id = $1 AND status = 'pending'`,
			r.Account.ID, now); err != nil {
			return fmt.Errorf("expire account: %w", err)
		}
		all, err := links(ctx, tx, r.ID, false)
		if err != nil {
			return fmt.Errorf("links: %w", err)
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: r.Account.ID, At: now, Kind: "expired"}); err != nil {
			return err
		}
		r.Status = account.RequestExpired
		return enqueue(ctx, tx, now, expire(r, all))
	})
	return found, err
}

func (s *Store) RemindNext(ctx context.Context, now, dueBy time.Time, steps []string, remind func(account.AccountRequest, []account.ApprovalLink) account.Reminder) (bool, error) {
	var found bool
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		r, ok, err := claimRequest(ctx, tx, `status = 'pending' AND expires_at > $1 AND expires_at <= $2
			AND NOT EXISTS (SELECT 1 FROM request_followups f WHERE f.request_id = account_requests.id AND f.step = $3)`,
			now, dueBy, steps[0])
		if err != nil || !ok {
			return err
		}
		found = true
		if done, err := recordStep(ctx, tx, r.ID, steps[0], now); err != nil || !done {
			return err
		}
		// The later-due steps this one stands for are done too.
		if _, err := tx.Exec(ctx, `INSERT INTO request_followups (request_id, step, at) SELECT $1, unnest($2::text[]), $3
			ON CONFLICT DO NOTHING`, r.ID, steps[1:], now); err != nil {
			return fmt.Errorf("record reminders: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE account_requests SET reminded_at = $2 WHERE id = $1`, r.ID, now); err != nil {
			return fmt.Errorf("mark reminded: %w", err)
		}
		live, err := links(ctx, tx, r.ID, true)
		if err != nil {
			return fmt.Errorf("live links: %w", err)
		}
		rem := remind(r, live)
		if err := rotateTokens(ctx, tx, r.ID, rem.Tokens, now); err != nil {
			return err
		}
		var to []string
		for _, l := range live {
			to = append(to, l.Email)
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: r.Account.ID, At: now, Kind: "reminded", Params: account.EventParams{To: to}}); err != nil {
			return err
		}
		return enqueue(ctx, tx, now, rem.Emails)
	})
	return found, err
}

// recordStep records that request id went through a step of its
// follow-through; done is false when it already had (another worker got
// there first).
func recordStep(ctx context.Context, tx pgx.Tx, id int64, step string, at time.Time) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO request_followups (request_id, step, at) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, id, step, at)
	if err != nil {
		return false, fmt.Errorf("record %s: %w", step, err)
	}
	return tag.RowsAffected() == 1, nil
}

// rotateTokens gives links of request id new tokens, the old ones kept as
// the previous, so their links say they were replaced.
func rotateTokens(ctx context.Context, tx pgx.Tx, id int64, tokens []account.RotatedToken, at time.Time) error {
	for _, t := range tokens {
		if _, err := tx.Exec(ctx, `
			UPDATE approval_links SET previous_token_hash = token_hash, token_hash = $2, rotated_at = $3
			WHERE id = $1 AND request_id = $4`, t.LinkID, t.TokenHash, at, id); err != nil {
			return fmt.Errorf("new token for link %d: %w", t.LinkID, err)
		}
	}
	return nil
}

func (s *Store) NotOpenedNext(ctx context.Context, now, sentBy time.Time, step string, notify func(account.AccountRequest, []account.ApprovalLink) account.Email) (bool, error) {
	var found bool
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		r, ok, err := claimRequest(ctx, tx, `status = 'pending' AND expires_at > $1 AND created_at <= $2
			AND NOT EXISTS (SELECT 1 FROM request_followups f WHERE f.request_id = account_requests.id AND f.step = $3)
			AND EXISTS (SELECT 1 FROM approval_links l WHERE l.request_id = account_requests.id AND l.revoked_at IS NULL)
			AND NOT EXISTS (SELECT 1 FROM approval_links l WHERE l.request_id = account_requests.id AND l.opened_at IS NOT NULL)`,
			now, sentBy, step)
		if err != nil || !ok {
			return err
		}
		found = true
		if done, err := recordStep(ctx, tx, r.ID, step, now); err != nil || !done {
			return err
		}
		live, err := links(ctx, tx, r.ID, true)
		if err != nil {
			return fmt.Errorf("live links: %w", err)
		}
		var to []string
		for _, l := range live {
			to = append(to, l.Email)
		}
		if err := addEvent(ctx, tx, account.Event{AccountID: r.Account.ID, At: now, Kind: step, Params: account.EventParams{To: to}}); err != nil {
			return err
		}
		if notify == nil {
			return nil
		}
		return enqueue(ctx, tx, now, []account.Email{notify(r, live)})
	})
	return found, err
}

// prefixed qualifies each of a column list's names with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
