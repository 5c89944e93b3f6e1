package postgres_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/clc-portal/clc/internal/account"
	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
	"github.com/clc-portal/clc/internal/scale"
)

// ownerInData is a session codec for the test: the data is the user's id.
func ownerInData(b []byte) int64 {
	if len(b) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

func sessionOf(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

// manageCountsPlain is Account Management's menu counted the plain way.
const manageCountsPlain = `
	SELECT count(DISTINCT sa.id),
		(SELECT count(*) FROM access_requests r
		WHERE r.status = 'pending' AND r.smart_account_id IN (
			SELECT m2.smart_account_id FROM memberships m2 JOIN smart_accounts a2 ON a2.id = m2.smart_account_id
			WHERE m2.user_id = $1 AND m2.virtual_account_id IS NULL AND m2.role = 'admin' AND a2.status = 'active'))
	FROM memberships m JOIN smart_accounts sa ON sa.id = m.smart_account_id
	WHERE m.user_id = $1 AND m.virtual_account_id IS NULL AND m.role = 'admin' AND sa.status = 'active'`

// TestOpenSessionReadsItsUsersFrame checks that the one statement that
// reads a session also reads the frame of the user it names: the user, the
// menu's account as MenuAccount picks it and Account Management's counts as
// plainly counted, for every user of a synthetic directory; and that a
// session of nobody, an expired one and a removed user's read as they must.
func TestOpenSessionReadsItsUsersFrame(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	if _, err := scale.Load(ctx, db.Pool, scale.Options{Accounts: 2000, PasswordHash: "not a real hash"}); err != nil {
		t.Fatal(err)
	}
	s := postgres.NewStore(db.Pool)
	sessions := postgres.NewSessionStore(db.Pool, ownerInData)
	ids := userIDs(t, db)
	expiry := time.Now().Add(time.Hour)
	administrators, waiting := 0, 0
	for _, id := range ids {
		token := fmt.Sprintf("user-%d", id)
		if err := sessions.CommitCtx(ctx, token, sessionOf(id), expiry); err != nil {
			t.Fatal(err)
		}
		sess, found, err := s.OpenSession(ctx, token)
		if err != nil || !found || sess.Frame == nil {
			t.Fatalf("user %d: found %v, frame %v, %v", id, found, sess.Frame, err)
		}
		if ownerInData(sess.Data) != id {
			t.Fatalf("user %d: session data %x", id, sess.Data)
		}
		f := *sess.Frame
		want, err := s.UserByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if f.User != want {
			t.Errorf("user %d: frame's user %+v, want %+v", id, f.User, want)
		}
		menu, err := s.MenuAccount(ctx, id)
		if err != nil && !errors.Is(err, account.ErrNotFound) {
			t.Fatal(err)
		}
		if f.MenuAccount != menu.Name {
			t.Errorf("user %d: menu names %q, want %q", id, f.MenuAccount, menu.Name)
		}
		var accounts, pending int
		if err := db.Pool.QueryRow(ctx, manageCountsPlain, id).Scan(&accounts, &pending); err != nil {
			t.Fatal(err)
		}
		if f.Manage != (account.ManagementMenu{Accounts: accounts, Pending: pending}) {
			t.Errorf("user %d: manage menu %+v, want %d accounts, %d pending", id, f.Manage, accounts, pending)
		}
		signedIn, err := s.SignedIn(ctx, id)
		if err != nil || signedIn != f {
			t.Errorf("user %d: SignedIn %+v, %v; the session's frame %+v", id, signedIn, err, f)
		}
		if accounts > 0 {
			administrators++
		}
		if pending > 0 {
			waiting++
		}
	}
	if administrators < 50 || waiting < 5 {
		t.Fatalf("%d administrators, %d with requests waiting: the directory tells too little", administrators, waiting)
	}

	// A session of nobody (signed out, or half way through a sign-in).
	if err := sessions.CommitCtx(ctx, "nobody", []byte("not a user"), expiry); err != nil {
		t.Fatal(err)
	}
	if sess, found, err := s.OpenSession(ctx, "nobody"); err != nil || !found || sess.Frame != nil || string(sess.Data) != "not a user" {
		t.Errorf("nobody's session: %+v, found %v, %v", sess, found, err)
	}
	// Expired, and unknown.
	if err := sessions.CommitCtx(ctx, "expired", sessionOf(ids[0]), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{"expired", "unknown"} {
		if _, found, err := s.OpenSession(ctx, token); err != nil || found {
			t.Errorf("%s session: found %v, %v", token, found, err)
		}
		if _, found, err := sessions.FindCtx(ctx, token); err != nil || found {
			t.Errorf("%s session, found by the store: %v, %v", token, found, err)
		}
	}
	if n, err := s.DeleteExpiredSessions(ctx, time.Now()); err != nil || n != 1 {
		t.Errorf("pruned %d expired sessions, %v; want 1", n, err)
	}

	// A removed user's sessions go with them; one committed for a user
	// already gone is kept, signing nobody in.
	var gone int64
	if err := db.Pool.QueryRow(ctx, `INSERT INTO users (email, name, password_hash) VALUES ('gone@example.com', 'Gone', 'x') RETURNING id`).Scan(&gone); err != nil {
		t.Fatal(err)
	}
	if err := sessions.CommitCtx(ctx, "gone", sessionOf(gone), expiry); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, gone); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.OpenSession(ctx, "gone"); err != nil || found {
		t.Errorf("a removed user's session: found %v, %v", found, err)
	}
	if err := sessions.CommitCtx(ctx, "gone", sessionOf(gone), expiry); err != nil {
		t.Fatalf("commit for a removed user: %v", err)
	}
	if sess, found, err := s.OpenSession(ctx, "gone"); err != nil || !found || sess.Frame != nil {
		t.Errorf("a session committed for a removed user: %+v, found %v, %v", sess, found, err)
	}
	if err := sessions.DeleteCtx(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, found, err := sessions.FindCtx(ctx, "gone"); err != nil || found {
		t.Errorf("a deleted session: found %v, %v", found, err)
	}
}
