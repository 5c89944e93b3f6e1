package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clc-portal/clc/internal/account"
)

// Store implements account.Store.
type Store struct {
	pool    *pgxpool.Pool
	replica *Replica // nil: every read goes to pool
}

var _ account.Store = (*Store)(nil)

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// WithReplica is s with search and directory reads sent to r when it may
// answer them.
func (s *Store) WithReplica(r *Replica) *Store {
	c := *s
	c.replica = r
	return &c
}

// reader is where a read that may lag the primary by a moment goes: search
// and the directory, the pages read most, which show other people's writes
// a moment late as readily as a moment early. A browser's own writes are
// never missed (see Replica.Since), and every other read, the session's and
// each decision's included, stays on the primary.
func (s *Store) reader(ctx context.Context) querier {
	if s.replica == nil {
		return s.pool
	}
	return s.replica.reader(ctx)
}

const userColumns = `id, email, name, password_hash, is_staff, language, created_at`

func scanUser(row pgx.Row) (account.User, error) {
	var u account.User
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.Staff, &u.Language, &u.CreatedAt)
	return u, err
}

func (s *Store) CreateUser(ctx context.Context, u account.User) (account.User, error) {
	row := s.pool.QueryRow(ctx, `
		INSERT INTO users (email, name, password_hash, is_staff)
		VALUES ($1, $2, $3, $4)
		RETURNING `+userColumns, u.Email, u.Name, u.PasswordHash, u.Staff)
	created, err := scanUser(row)
	if err != nil {
		return account.User{}, mapErr(err, "a user with email "+u.Email)
	}
	return created, nil
}

func (s *Store) UserByEmail(ctx context.Context, email string) (account.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, email))
	return u, mapErr(err, "")
}

func (s *Store) UserByID(ctx context.Context, id int64) (account.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	return u, mapErr(err, "")
}

func (s *Store) SetUserLanguage(ctx context.Context, id int64, lang string, at time.Time) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET language = $2 WHERE id = $1 AND language IS DISTINCT FROM $2`, id, lang)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return addUserEvent(ctx, tx, id, "language_changed", at, account.EventParams{Language: lang})
	})
}

const accountColumns = `sa.id, sa.name, sa.domain, sa.account_type, sa.restricted, sa.status,
	coalesce(sa.created_by, 0), sa.created_at, sa.updated_at`

// accountFields is how many destinations accountDest appends, one per
// column of accountColumns: the callers' capacity hint. Were it to drift, a
// scan would still be right, at one more allocation.
const accountFields = 9

// accountDest appends to dest where each of accountColumns goes in a. A
// field of a named type (account.AccountID, account.Status) goes in as a
// pointer to its underlying type: pgx scans that directly, where a named
// type costs a reflect conversion a value (4% of a directory section page's
// CPU, with scanListing's roles).
func accountDest(a *account.SmartAccount, dest []any) []any {
	return append(dest, (*int64)(&a.ID), &a.Name, &a.Domain, (*string)(&a.Type), &a.Restricted, (*string)(&a.Status),
		&a.CreatedBy, &a.CreatedAt, &a.UpdatedAt)
}

func scanAccount(row pgx.Row, extra ...any) (account.SmartAccount, error) {
	var a account.SmartAccount
	err := row.Scan(append(accountDest(&a, make([]any, 0, accountFields+len(extra))), extra...)...)
	return a, err
}

func (s *Store) CreateActiveAccount(ctx context.Context, a account.SmartAccount, admins []int64, actor string) (account.SmartAccount, error) {
	var created account.SmartAccount
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		created, err = scanAccount(tx.QueryRow(ctx, `
			INSERT INTO smart_accounts AS sa (name, domain, account_type, restricted, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 'active', $5, $5)
			RETURNING `+accountColumns, a.Name, a.Domain, a.Type, a.Restricted, a.CreatedAt))
		if err != nil {
			return mapErr(err, "a Smart Account with domain "+a.Domain)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO virtual_accounts (smart_account_id, name) VALUES ($1, $2)`,
			created.ID, account.DefaultVirtualAccount); err != nil {
			return fmt.Errorf("default virtual account: %w", err)
		}
		for _, uid := range admins {
			if _, err := tx.Exec(ctx, `
				INSERT INTO memberships (user_id, smart_account_id, role) VALUES ($1, $2, 'admin')
				ON CONFLICT (user_id, smart_account_id, virtual_account_id) DO UPDATE SET role = 'admin'`,
				uid, created.ID); err != nil {
				return fmt.Errorf("administrator %d: %w", uid, err)
			}
		}
		return addEvent(ctx, tx, account.Event{AccountID: created.ID, At: created.CreatedAt, Actor: actor, Kind: "created"})
	})
	return created, err
}

func (s *Store) AccountByID(ctx context.Context, id account.AccountID) (account.SmartAccount, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM smart_accounts sa WHERE sa.id = $1`, id))
	return a, mapErr(err, "")
}

func (s *Store) Grant(ctx context.Context, m account.Membership, actor string, at time.Time) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		var vaID *int64
		if m.VirtualAccount != "" {
			var id int64
			err := tx.QueryRow(ctx, `SELECT id FROM virtual_accounts WHERE smart_account_id = $1 AND name = $2`,
				m.AccountID, m.VirtualAccount).Scan(&id)
			if err != nil {
				return fmt.Errorf("virtual account %q: %w", m.VirtualAccount, mapErr(err, ""))
			}
			vaID = &id
		}
		// Granting the role a user already holds changes nothing and records nothing.
		tag, err := tx.Exec(ctx, `
			INSERT INTO memberships AS m (user_id, smart_account_id, virtual_account_id, role) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id, smart_account_id, virtual_account_id) DO UPDATE SET role = excluded.role
			WHERE m.role <> excluded.role`,
			m.UserID, m.AccountID, vaID, m.Role)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		var email string
		if err := tx.QueryRow(ctx, `SELECT email FROM users WHERE id = $1`, m.UserID).Scan(&email); err != nil {
			return fmt.Errorf("user %d: %w", m.UserID, mapErr(err, ""))
		}
		return addEvent(ctx, tx, account.Event{AccountID: m.AccountID, At: at, Actor: actor, Kind: "access_granted",
			Params: account.EventParams{User: email, Role: m.Role, VirtualAccount: m.VirtualAccount}})
	})
}

const eventColumns = `id, coalesce(smart_account_id, 0), at, coalesce(actor_user_id, 0), actor, kind, params, client_addr`

// liveAccountByDomainSQL finds the live (pending or active) account holding
// domain $1: at most one, by smart_accounts_live_domain_key.
const liveAccountByDomainSQL = `SELECT ` + accountColumns + ` FROM smart_accounts sa
	WHERE sa.domain = $1 AND sa.status IN ('pending', 'active')`

func (s *Store) AccountByDomain(ctx context.Context, domain string) (account.SmartAccount, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, liveAccountByDomainSQL, domain))
	return a, mapErr(err, "")
}

func (s *Store) CreateVirtualAccount(ctx context.Context, id account.AccountID, name, actor string, at time.Time) error {
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO virtual_accounts (smart_account_id, name)
			SELECT id, $2 FROM smart_accounts WHERE id = $1 AND status = 'active'`, id, name)
		if err != nil {
			return mapErr(err, "a Virtual Account named "+name)
		}
		if tag.RowsAffected() == 0 {
			return account.ErrNotFound
		}
		return addEvent(ctx, tx, account.Event{AccountID: id, At: at, Actor: actor, Kind: "virtual_account_created",
			Params: account.EventParams{VirtualAccount: name}})
	})
}
