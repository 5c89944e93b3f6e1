package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clc-portal/clc/internal/account"
)

func (s *Store) UserImportFacts(ctx context.Context, id account.AccountID, emails []string) (account.ImportFacts, error) {
	return userImportFacts(ctx, s.pool, id, emails)
}

// userImportFacts reads, in one round trip, the users emails name, the
// account's Virtual Accounts, the roles those users hold on it and its
// Administrators.
func userImportFacts(ctx context.Context, q querier, id account.AccountID, emails []string) (account.ImportFacts, error) {
	f := account.ImportFacts{Users: map[string]int64{}, Roles: map[account.ImportHolding]account.Role{}}
	b := &pgx.Batch{}
	b.Queue(`SELECT email, id FROM users WHERE email = ANY($1)`, emails).Query(func(rows pgx.Rows) error {
		var email string
		var uid int64
		_, err := pgx.ForEachRow(rows, []any{&email, &uid}, func() error { f.Users[email] = uid; return nil })
		return err
	})
	b.Queue(`SELECT name FROM virtual_accounts WHERE smart_account_id = $1 ORDER BY name`, id).Query(func(rows pgx.Rows) error {
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		f.VirtualAccounts = names
		return err
	})
	b.Queue(`
		SELECT m.user_id, coalesce(va.name, ''), m.role
		FROM memberships m
		JOIN users u ON u.id = m.user_id
		LEFT JOIN virtual_accounts va ON va.id = m.virtual_account_id
		WHERE m.smart_account_id = $1 AND u.email = ANY($2)`, id, emails).Query(func(rows pgx.Rows) error {
		var h account.ImportHolding
		var role account.Role
		_, err := pgx.ForEachRow(rows, []any{&h.UserID, &h.VirtualAccount, &role}, func() error { f.Roles[h] = role; return nil })
		return err
	})
	b.Queue(`SELECT user_id FROM memberships WHERE smart_account_id = $1 AND virtual_account_id IS NULL AND role = 'admin'`, id).
		Query(func(rows pgx.Rows) error {
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			f.Admins = ids
			return err
		})
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return account.ImportFacts{}, err
	}
	return f, nil
}

func (s *Store) SaveUsersImport(ctx context.Context, im account.UsersImport) error {
	lines, err := json.Marshal(im.Lines)
	if err != nil {
		return err
	}
	return withTx(ctx, s.pool, func(tx pgx.Tx) error {
		// Previews are kept no longer than they can be applied, and each
		// user has one live preview per account: a new upload replaces the
		// last, so uploads cannot pile up.
		if _, err := tx.Exec(ctx, `
			DELETE FROM user_imports
			WHERE expires_at < $1 OR (user_id = $2 AND smart_account_id = $3 AND applied_at IS NULL)`,
			im.CreatedAt, im.UserID, im.AccountID); err != nil {
			return fmt.Errorf("drop old previews: %w", err)
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO user_imports (id, smart_account_id, user_id, file_name, lines, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			im.ID, im.AccountID, im.UserID, im.FileName, lines, im.CreatedAt, im.ExpiresAt)
		return err
	})
}

func (s *Store) UsersImport(ctx context.Context, id account.AccountID, userID int64, importID string, now time.Time) (account.UsersImport, error) {
	return usersImport(ctx, s.pool, id, userID, importID, now, "")
}

// usersImport reads one preview; lock is "" or " FOR UPDATE".
func usersImport(ctx context.Context, q querier, id account.AccountID, userID int64, importID string, now time.Time, lock string) (account.UsersImport, error) {
	im := account.UsersImport{ID: importID, AccountID: id, UserID: userID}
	var lines []byte
	var applied *time.Time
	err := q.QueryRow(ctx, `
		SELECT file_name, lines, created_at, expires_at, applied_at FROM user_imports
		WHERE id = $1 AND smart_account_id = $2 AND user_id = $3 AND expires_at > $4`+lock,
		importID, id, userID, now).Scan(&im.FileName, &lines, &im.CreatedAt, &im.ExpiresAt, &applied)
	if err != nil {
		return account.UsersImport{}, mapErr(err, "")
	}
	if applied != nil {
		im.AppliedAt = *applied
	}
	if err := json.Unmarshal(lines, &im.Lines); err != nil {
		return account.UsersImport{}, fmt.Errorf("users import %s lines: %w", importID, err)
	}
	return im, nil
}

func (s *Store) ApplyUsersImport(ctx context.Context, a account.ImportApply) (account.UsersImport, error) {
	var out account.UsersImport
	var changed *account.ImportChangedError
	err := withTx(ctx, s.pool, func(tx pgx.Tx) error {
		// The account's role changes wait for each other (as SetRole's do),
		// so what the rows are judged against holds until they are applied.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM smart_accounts WHERE id = $1 FOR UPDATE`, a.AccountID); err != nil {
			return err
		}
		im, err := usersImport(ctx, tx, a.AccountID, a.UserID, a.ImportID, a.At, " FOR UPDATE")
		if err != nil {
			return err
		}
		if !im.AppliedAt.IsZero() {
			return account.ErrImportApplied
		}
		rows := make([]account.ImportRow, len(im.Lines))
		for i, l := range im.Lines {
			rows[i] = l.ImportRow
		}
		facts, err := userImportFacts(ctx, tx, a.AccountID, account.ImportEmails(rows))
		if err != nil {
			return fmt.Errorf("facts: %w", err)
		}
		now := a.Plan(rows, facts)
		if !account.SameOutcomes(im.Lines, now) {
			im.Lines = now
			lines, err := json.Marshal(now)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE user_imports SET lines = $2 WHERE id = $1`, im.ID, lines); err != nil {
				return fmt.Errorf("store the new preview: %w", err)
			}
			changed = &account.ImportChangedError{Import: im}
			return nil
		}
		if err := applyImportLines(ctx, tx, a, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE user_imports SET applied_at = $2 WHERE id = $1`, im.ID, a.At); err != nil {
			return fmt.Errorf("mark applied: %w", err)
		}
		im.AppliedAt = a.At
		out = im
		return nil
	})
	switch {
	case err != nil:
		return account.UsersImport{}, err
	case changed != nil:
		return changed.Import, changed
	}
	return out, nil
}

// applyImportLines gives every line that applies its role in one
// statement, and records each as the single add does (access_changed), in
// one round trip.
func applyImportLines(ctx context.Context, tx pgx.Tx, a account.ImportApply, lines []account.ImportLine) error {
	vaRows, err := tx.Query(ctx, `SELECT name, id FROM virtual_accounts WHERE smart_account_id = $1`, a.AccountID)
	if err != nil {
		return err
	}
	vaIDs := map[string]int64{}
	var name string
	var vaID int64
	if _, err := pgx.ForEachRow(vaRows, []any{&name, &vaID}, func() error { vaIDs[name] = vaID; return nil }); err != nil {
		return err
	}
	var users []int64
	var vas []*int64
	var roles []string
	b := &pgx.Batch{}
	for _, l := range lines {
		if !l.Applies() {
			continue
		}
		var va *int64
		if l.Scope != "" {
			id, ok := vaIDs[l.Scope]
			if !ok {
				return account.ErrNoSuchVirtualAccount
			}
			va = &id
		}
		users, vas, roles = append(users, l.UserID), append(vas, va), append(roles, string(l.Role))
		sql, args, err := eventInsert(ctx, account.Event{AccountID: a.AccountID, At: a.At, ActorID: a.UserID, Actor: a.Actor,
			Kind: "access_changed", Params: account.EventParams{User: l.Address, Role: l.Role, VirtualAccount: l.Scope}})
		if err != nil {
			return err
		}
		b.Queue(sql, args...)
	}
	if len(users) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO memberships (user_id, smart_account_id, virtual_account_id, role)
		SELECT u, $1, v, r FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS t(u, v, r)
		ON CONFLICT (user_id, smart_account_id, virtual_account_id) DO UPDATE SET role = excluded.role`,
		a.AccountID, users, vas, roles); err != nil {
		return fmt.Errorf("grant roles: %w", err)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record events: %w", err)
	}
	return nil
}

var _ account.UsersImportStore = (*Store)(nil)
