package account

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// PasswordHasher hashes and checks passwords.
type PasswordHasher interface {
	Hash(password string) (string, error)
	Verify(password, hash string) (bool, error)
}

// ThrottlePolicy slows sign-in after repeated failures: the first Free
// failures within Window cost nothing, then each blocks for Base, doubling up
// to Max.
type ThrottlePolicy struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Window time.Duration
}

// Block is how long the n-th failure in a row blocks further attempts.
func (p ThrottlePolicy) Block(n int) time.Duration {
	if n <= p.Free {
		return 0
	}
	d := float64(p.Base) * math.Pow(2, float64(n-p.Free-1))
	if d > float64(p.Max) {
		return p.Max
	}
	return time.Duration(d)
}

// Policies for one account and for one client address. A client gets more
// room because many people can share an address.
var (
	AccountThrottle = ThrottlePolicy{Free: 5, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour}
	ClientThrottle  = ThrottlePolicy{Free: 20, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour}
)

// maxPasswordBytes is the longest password's bytes: MaxPasswordLength
// characters of four bytes each.
const maxPasswordBytes = 4 * MaxPasswordLength

// ThrottleKey is what failures are counted by, under which policy.
type ThrottleKey struct {
	Key    string
	Policy ThrottlePolicy
}

// LogIn checks an email and password. Unknown emails and wrong passwords give
// the same error after the same work, so neither answer nor timing tells
// whether an address has an account. Each attempt is counted as a failure
// before the password is checked, in the same step that checks the block,
// so parallel guesses cannot all pass it; a success is refunded.
func (s *Service) LogIn(ctx context.Context, email, password, client string) (User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	// No account has an address or password this long, so the answer needs
	// no lookup; and none is made, since the throttle's key would not fit
	// its index (a btree row holds about 2,700 bytes) and the hash would
	// read all of a long password.
	if len(email) > MaxEmailLength || len(password) > maxPasswordBytes {
		return User{}, ErrInvalidCredentials
	}
	accountKey := ThrottleKey{Key: "email:" + email, Policy: AccountThrottle}
	clientKey := ThrottleKey{Key: "client:" + client, Policy: ClientThrottle}
	now := s.clock.Now()
	until, err := s.store.CountLoginAttempt(ctx, []ThrottleKey{accountKey, clientKey}, now)
	if err != nil {
		return User{}, fmt.Errorf("check throttle: %w", err)
	}
	if until.After(now) {
		return User{}, &ThrottledError{RetryAfter: until.Sub(now)}
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("find user: %w", err)
	}
	hash := u.PasswordHash
	if hash == "" {
		hash = s.dummyHash()
	}
	ok, err := s.hasher.Verify(password, hash)
	if err != nil {
		return User{}, fmt.Errorf("verify password: %w", err)
	}
	if !ok || u.ID == 0 || u.PasswordHash == "" {
		return User{}, ErrInvalidCredentials // already counted
	}
	if err := s.store.ClearLoginFailures(ctx, accountKey.Key); err != nil {
		return User{}, fmt.Errorf("clear failures: %w", err)
	}
	if err := s.store.RefundLoginAttempt(ctx, clientKey); err != nil {
		return User{}, fmt.Errorf("refund attempt: %w", err)
	}
	return u, nil
}

// PruneLoginThrottle forgets the failures no policy counts any more, for the
// worker's jobs.
func (s *Service) PruneLoginThrottle(ctx context.Context) (int, error) {
	now := s.clock.Now()
	n, err := s.store.PruneLoginThrottle(ctx, now.Add(-max(AccountThrottle.Window, ClientThrottle.Window)), now)
	if err != nil {
		return 0, fmt.Errorf("prune sign-in throttle: %w", err)
	}
	return n, nil
}

// PruneSessions deletes the sign-in sessions past their expiry, for the
// worker's jobs; an expired one is never read, only kept.
func (s *Service) PruneSessions(ctx context.Context) (int, error) {
	n, err := s.store.DeleteExpiredSessions(ctx, s.clock.Now())
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	return n, nil
}

// dummyHash is a valid hash of a password nobody knows, checked when the
// email is unknown so that answer costs as much as a wrong password.
func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() {
		s.dummy, _ = s.hasher.Hash("no user has this password: timing equaliser")
	})
	return s.dummy
}
