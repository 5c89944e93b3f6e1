package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clc-portal/clc/internal/account"
)

// frameColumns read the frame (account.Frame) of user u: the user, the
// name of the account the menu names for them, and Account Management's
// counts, kept per user in management_menus (migration 016). Each is a
// join on u.id, so a frame costs one statement wherever u comes from.
// Scanned by scanFrame.
const frameColumns = `u.id, u.email, u.name, u.password_hash, u.is_staff, u.language, u.created_at,
	coalesce(menu.name, ''), coalesce(mm.accounts, 0), coalesce(mm.pending, 0)`

// frameJoins are what frameColumns read, after a FROM that names the user u:
// the menu's account and Account Management's counts, each from its read
// model (migrations 034 and 016), a probe each.
const frameJoins = `
	LEFT JOIN menu_accounts ma ON ma.user_id = u.id
	LEFT JOIN smart_accounts menu ON menu.id = ma.smart_account_id
	LEFT JOIN management_menus mm ON mm.user_id = u.id`

func scanFrame(row pgx.Row, extra ...any) (account.Frame, error) {
	var f account.Frame
	u := &f.User
	err := row.Scan(append([]any{&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.Staff, &u.Language, &u.CreatedAt,
		&f.MenuAccount, &f.Manage.Accounts, &f.Manage.Pending}, extra...)...)
	return f, err
}

func (s *Store) SignedIn(ctx context.Context, id int64) (account.Frame, error) {
	f, err := scanFrame(s.pool.QueryRow(ctx, `SELECT `+frameColumns+` FROM users u `+frameJoins+` WHERE u.id = $1`, id))
	return f, mapErr(err, "")
}

// openSessionSQL finds an unexpired session and, through the user_id its
// store keeps beside the data, its user's frame: a signed-in page's one
// round trip before its own. The frame's columns are NULL when the
// session has no user.
const openSessionSQL = `
	SELECT s.data, u.id IS NOT NULL, ` + frameColumns + `
	FROM sessions s
	LEFT JOIN users u ON u.id = s.user_id
	` + frameJoins + `
	WHERE s.token = $1 AND now() < s.expiry`

func (s *Store) OpenSession(ctx context.Context, token string) (account.Session, bool, error) {
	var sess account.Session
	var signedIn bool
	var f nullableFrame
	err := s.pool.QueryRow(ctx, openSessionSQL, token).Scan(&sess.Data, &signedIn,
		&f.id, &f.email, &f.name, &f.hash, &f.staff, &f.language, &f.createdAt, &f.menu, &f.accounts, &f.pending)
	if errors.Is(err, pgx.ErrNoRows) {
		return account.Session{}, false, nil
	}
	if err != nil {
		return account.Session{}, false, err
	}
	if signedIn {
		sess.Frame = &account.Frame{
			User: account.User{ID: *f.id, Email: *f.email, Name: *f.name, PasswordHash: *f.hash,
				Staff: *f.staff, Language: *f.language, CreatedAt: *f.createdAt},
			MenuAccount: *f.menu,
			Manage:      account.ManagementMenu{Accounts: int(*f.accounts), Pending: int(*f.pending)},
		}
	}
	return sess, true, nil
}

// nullableFrame is frameColumns as a session with no user reads them.
type nullableFrame struct {
	id, accounts, pending *int64
	email, name, hash     *string
	language, menu        *string
	staff                 *bool
	createdAt             *time.Time
}

// SessionStore keeps scs's sign-in sessions in the sessions table, as
// scs's pgxstore does, and also the id of the session's signed-in user in a
// column of its own, which Store.OpenSession joins on. owner reads that id
// out of a session's encoded data (0 for none); the session codec is the
// server's, so the server says how.
type SessionStore struct {
	pool  *pgxpool.Pool
	owner func(data []byte) int64
}

// NewSessionStore keeps sessions in pool's database.
func NewSessionStore(pool *pgxpool.Pool, owner func(data []byte) int64) *SessionStore {
	return &SessionStore{pool: pool, owner: owner}
}

func (s *SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM sessions WHERE token = $1 AND now() < expiry`, token).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return b, err == nil, err
}

func (s *SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	var user *int64
	if id := s.owner(b); id != 0 {
		user = &id
	}
	// A session whose user was removed meanwhile is kept without one: the
	// foreign key would refuse it, and it signs nobody in either way.
	_, err := s.pool.Exec(ctx, `
		INSERT INTO sessions (token, data, expiry, user_id)
		VALUES ($1, $2, $3, (SELECT id FROM users WHERE id = $4))
		ON CONFLICT (token) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry, user_id = EXCLUDED.user_id`,
		token, b, expiry, user)
	return err
}

func (s *SessionStore) DeleteCtx(ctx context.Context, token string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE token = $1`, token)
	return err
}

// Find, Commit and Delete are scs.Store's; scs calls the Ctx forms.
func (s *SessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s *SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s *SessionStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expiry < $1`, now)
	return int(tag.RowsAffected()), err
}
