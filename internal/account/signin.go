package account

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SignIn is signing in and its second factor, first passwords from an
// emailed link, and the throttles and device cookies that guard them. It
// touches users' credentials and the throttle, nothing of accounts.
type SignIn struct {
	store  SignInStore
	clock  Clock
	hasher PasswordHasher

	dummyOnce sync.Once
	dummy     string
	deviceKey DeviceKey
}

// SignInStore is what SignIn needs from persistence.
type SignInStore interface {
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByID(ctx context.Context, id int64) (User, error)
	// Sign-in throttling. CountLoginAttempt returns the latest block over
	// keys and, when none holds at now, counts the attempt as a failure
	// under each key's policy, atomically; RefundLoginAttempt takes back an
	// attempt that succeeded. PruneLoginThrottle forgets keys with no
	// failure since before and no block at now.
	CountLoginAttempt(ctx context.Context, keys []ThrottleKey, now time.Time) (time.Time, error)
	RefundLoginAttempt(ctx context.Context, key ThrottleKey) error
	ClearLoginFailures(ctx context.Context, key string) error
	PruneLoginThrottle(ctx context.Context, before, now time.Time) (int, error)
	// DeleteExpiredSessions deletes the sessions whose expiry is before now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	// RecordEvent records an event that accompanies no other change.
	RecordEvent(ctx context.Context, e Event) error
	TwoFactorStore
	SetPasswordStore
	SSOStore
}

// NewSignIn wires SignIn, with a device key of its own until SetDeviceKey.
func NewSignIn(store SignInStore, clock Clock, hasher PasswordHasher) *SignIn {
	return &SignIn{store: store, clock: clock, hasher: hasher, deviceKey: RandomDeviceKey()}
}

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

// Policies for one account at one client address, for one client address
// (many people can share one, so it gets more room), and for one device
// token.
var (
	AccountThrottle = ThrottlePolicy{Free: 5, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour}
	ClientThrottle  = ThrottlePolicy{Free: 20, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour}
	DeviceThrottle  = AccountThrottle
)

// maxPasswordBytes is the longest password's bytes: MaxPasswordLength
// characters of four bytes each.
const maxPasswordBytes = 4 * MaxPasswordLength

// ThrottleKey is what failures are counted by, under which policy. A shared
// key counts many people's attempts (a client address): a success there
// takes back only its own attempt, where on a key of one person's it
// forgets every failure.
type ThrottleKey struct {
	Key    string
	Policy ThrottlePolicy
	Shared bool
}

// LoginAttempt is one try at the sign-in form: the credentials, the
// client's address, and the device token the browser carried, if any.
type LoginAttempt struct {
	Email, Password string
	Client          string
	DeviceToken     string
}

// SignInThrottleKeys is what an attempt to sign in as email (user userID,
// 0 when no such user) is counted by. A device that signed in as this very
// user before answers for itself alone: failures from elsewhere cannot
// block it, and its own block it earns by guessing. Any other attempt is
// counted for the account at this client address, so an attacker blocks
// only their own address for it, and for the address, so one address
// cannot spray many accounts. A device token of another user counts for
// nothing.
func SignInThrottleKeys(email string, userID int64, client string, device Device, deviceOK bool) []ThrottleKey {
	if deviceOK && userID != 0 && device.UserID == userID {
		return []ThrottleKey{{Key: "device:" + strconv.FormatInt(userID, 10) + ":" + device.Nonce, Policy: DeviceThrottle}}
	}
	addr := throttleAddr(client)
	return []ThrottleKey{
		// The address first: it has no space, so no email can make two
		// keys meet.
		{Key: "client:" + addr + " email:" + email, Policy: AccountThrottle},
		{Key: "client:" + addr, Policy: ClientThrottle, Shared: true},
	}
}

// throttleAddr is the part of a client address one party holds: an IPv6
// client commonly holds a whole /64 and could walk through it to escape a
// block on one address.
func throttleAddr(client string) string {
	a, err := netip.ParseAddr(client)
	if err != nil || a.Unmap().Is4() {
		return client
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// LogIn checks an email and password. Unknown emails and wrong passwords give
// the same error after the same work, so neither answer nor timing tells
// whether an address has an account. Each attempt is counted as a failure
// before the password is checked, in the same step that checks the block,
// so parallel guesses cannot all pass it; a success is refunded.
func (s *SignIn) LogIn(ctx context.Context, in LoginAttempt) (User, error) {
	email := strings.ToLower(strings.TrimSpace(in.Email))
	// No account has an address or password this long, so the answer needs
	// no lookup; and none is made, since the throttle's key would not fit
	// its index (a btree row holds about 2,700 bytes) and the hash would
	// read all of a long password.
	if len(email) > MaxEmailLength || len(in.Password) > maxPasswordBytes {
		return User{}, ErrInvalidCredentials
	}
	// A domain that signs in through the provider has no password sign-in,
	// whatever password its users may still hold; the answer is the
	// domain's, so it tells nothing about an address.
	if err := s.ssoRequired(ctx, email); err != nil {
		return User{}, err
	}
	// The user is looked up first, to know whether the device token is
	// theirs; that answer costs the same whether or not they exist.
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("find user: %w", err)
	}
	device, deviceOK := s.deviceKey.Check(in.DeviceToken)
	keys := SignInThrottleKeys(email, u.ID, in.Client, device, deviceOK)
	now := s.clock.Now()
	until, err := s.store.CountLoginAttempt(ctx, keys, now)
	if err != nil {
		return User{}, fmt.Errorf("check throttle: %w", err)
	}
	if until.After(now) {
		if err := s.store.RecordEvent(ctx, Event{At: now, ActorID: u.ID, Actor: email, Kind: "sign_in_blocked"}); err != nil {
			return User{}, err
		}
		return User{}, &ThrottledError{RetryAfter: until.Sub(now)}
	}
	hash := u.PasswordHash
	if hash == "" {
		hash = s.dummyHash()
	}
	ok, err := s.hasher.Verify(in.Password, hash)
	if err != nil {
		return User{}, fmt.Errorf("verify password: %w", err)
	}
	if !ok || u.ID == 0 || u.PasswordHash == "" {
		// Already counted; the address is bounded above, and the throttle
		// bounds how many of these one client writes.
		if err := s.store.RecordEvent(ctx, Event{At: now, ActorID: u.ID, Actor: email, Kind: "sign_in_failed"}); err != nil {
			return User{}, err
		}
		return User{}, ErrInvalidCredentials
	}
	for _, k := range keys {
		if k.Shared {
			err = s.store.RefundLoginAttempt(ctx, k)
		} else {
			err = s.store.ClearLoginFailures(ctx, k.Key)
		}
		if err != nil {
			return User{}, fmt.Errorf("refund attempt: %w", err)
		}
	}
	return u, nil
}

// SignedIn records that u completed a sign-in, SignedOut that u logged out.
func (s *SignIn) SignedIn(ctx context.Context, u User) error {
	return s.store.RecordEvent(ctx, Event{At: s.clock.Now(), ActorID: u.ID, Actor: u.Email, Kind: "signed_in"})
}

func (s *SignIn) SignedOut(ctx context.Context, u User) error {
	return s.store.RecordEvent(ctx, Event{At: s.clock.Now(), ActorID: u.ID, Actor: u.Email, Kind: "signed_out"})
}

// IssueDevice makes a new device token for u, once u completed a sign-in on
// that browser.
func (s *SignIn) IssueDevice(u User) string { return s.deviceKey.Issue(u.ID) }

// SetDeviceKey sets the key device tokens are signed with; without one,
// each process signs with a random key of its own.
func (s *SignIn) SetDeviceKey(k DeviceKey) { s.deviceKey = k }

// PruneLoginThrottle forgets the failures no policy counts any more, for the
// worker's jobs.
func (s *SignIn) PruneLoginThrottle(ctx context.Context) (int, error) {
	now := s.clock.Now()
	n, err := s.store.PruneLoginThrottle(ctx, now.Add(-max(AccountThrottle.Window, ClientThrottle.Window, DeviceThrottle.Window)), now)
	if err != nil {
		return 0, fmt.Errorf("prune sign-in throttle: %w", err)
	}
	return n, nil
}

// PruneSessions deletes the sign-in sessions past their expiry, for the
// worker's jobs; an expired one is never read, only kept.
func (s *SignIn) PruneSessions(ctx context.Context) (int, error) {
	n, err := s.store.DeleteExpiredSessions(ctx, s.clock.Now())
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	return n, nil
}

// dummyHash is a valid hash of a password nobody knows, checked when the
// email is unknown so that answer costs as much as a wrong password.
func (s *SignIn) dummyHash() string {
	s.dummyOnce.Do(func() {
		s.dummy, _ = s.hasher.Hash("no user has this password: timing equaliser")
	})
	return s.dummy
}
