package account

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"
)

// SetPasswordStore keeps the links an approval leaves for the people it
// added who have no password yet.
type SetPasswordStore interface {
	SetPasswordLinkByHash(ctx context.Context, hash []byte) (SetPasswordLink, User, error)
	// UseSetPasswordLink spends an unused, unexpired link (and every other
	// unused link of its user) and sets the user's password hash, or
	// returns ErrTokenUsed.
	UseSetPasswordLink(ctx context.Context, hash []byte, now time.Time, passwordHash string) (User, error)
}

// SetPasswordLink is a single-use link to set a first password.
type SetPasswordLink struct {
	ID        int64
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// OpenSetPassword finds whose password a set-password token sets. It only
// reads, like every link a mail scanner may open.
func (s *SignIn) OpenSetPassword(ctx context.Context, token string) (User, error) {
	if !wellFormedToken(token) {
		return User{}, ErrNotFound
	}
	l, u, err := s.store.SetPasswordLinkByHash(ctx, HashToken(token))
	switch {
	case err != nil:
		return User{}, err
	case !l.UsedAt.IsZero():
		return u, ErrTokenUsed
	case !s.clock.Now().Before(l.ExpiresAt):
		return u, ErrTokenExpired
	}
	return u, nil
}

// SetPassword sets a first password with a set-password link, which it
// spends; the errors are FieldErrors for the password, or what OpenSetPassword
// returns.
func (s *SignIn) SetPassword(ctx context.Context, token, password, confirm string) (User, error) {
	u, err := s.OpenSetPassword(ctx, token)
	if err != nil {
		return User{}, err
	}
	// A first password would sign in where the domain allows none.
	if err := s.ssoRequired(ctx, u.Email); err != nil {
		return User{}, err
	}
	fe := FieldErrors{}
	switch n := utf8.RuneCountInString(password); {
	case n < MinPasswordLength:
		fe.Add("password", "setpassword.error.too_short", "Min", MinPasswordLength)
	case n > MaxPasswordLength:
		fe.Add("password", "request.error.too_long", "Max", MaxPasswordLength)
	case guessable(password, u):
		fe.Add("password", "setpassword.error.guessable")
	case confirm != password:
		fe.Add("confirm", "setpassword.error.mismatch")
	}
	if err := fe.Err(); err != nil {
		return User{}, err
	}
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return User{}, fmt.Errorf("hash password: %w", err)
	}
	u, err = s.store.UseSetPasswordLink(ctx, HashToken(token), s.clock.Now(), hash)
	if err != nil {
		return User{}, fmt.Errorf("set password: %w", err)
	}
	return u, nil
}
