package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Two-factor sign-in: a TOTP authenticator (RFC 6238) on top of the
// password, required for staff and optional for partners, with single-use
// recovery codes for a lost authenticator.

// TwoFactorStore keeps authenticators and recovery codes.
type TwoFactorStore interface {
	// HasTOTP reports whether a user has confirmed an authenticator.
	HasTOTP(ctx context.Context, userID int64) (bool, error)
	// EnableTOTP stores a confirmed authenticator, its first accepted step
	// and the recovery codes' hashes, or returns ErrConflict when the user
	// already has one.
	EnableTOTP(ctx context.Context, userID int64, secret string, step int64, at time.Time, recoveryHashes [][]byte) error
	// DisableTOTP removes the authenticator and every recovery code.
	DisableTOTP(ctx context.Context, userID int64, at time.Time) error
	// BeginSecondFactor counts an attempt before it is checked, in one
	// statement, so parallel guesses cannot all slip under the limit. It
	// returns the authenticator to check against, or the time the user's
	// attempts are blocked until (ok false), or ErrNotFound.
	BeginSecondFactor(ctx context.Context, userID int64, now time.Time, p ThrottlePolicy) (t TOTP, blockedUntil time.Time, ok bool, err error)
	// AcceptTOTPStep records that a code of step was used, only if step is
	// newer than any used before, and clears the attempts; false means the
	// code was used already.
	AcceptTOTPStep(ctx context.Context, userID int64, step int64) (bool, error)
	// UseRecoveryCode spends an unused code and clears the attempts; false
	// means no unused code has that hash.
	UseRecoveryCode(ctx context.Context, userID int64, hash []byte, now time.Time) (bool, error)
	RecoveryCodesLeft(ctx context.Context, userID int64) (int, error)
}

// TOTP is a user's confirmed authenticator.
type TOTP struct {
	Secret   string // base32, as the authenticator app holds it
	LastStep int64  // the newest step a code was accepted for
}

// SecondFactorThrottle slows guessing of codes: a code has a million
// values, so after five misses each try waits, doubling to 15 minutes.
var SecondFactorThrottle = ThrottlePolicy{Free: 5, Base: time.Second, Max: 15 * time.Minute}

// ErrInvalidCode is a wrong, expired or already used code.
var ErrInvalidCode = errors.New("the code is not valid")

// totpPeriod: a code lives for its 30-second step and no longer (ASVS
// 6.5.5), so no step either side is accepted; a code typed as its step ends
// is refused and the next one works.
const (
	totpPeriod = 30
	// RecoveryCodeCount codes are made at enrolment.
	RecoveryCodeCount = 10
	// totpIssuer names the portal in authenticator apps.
	totpIssuer = "Cisco License Central"
)

// SignInStep is what a sign-in needs after the password.
type SignInStep int

const (
	// SignInDone: the password was enough.
	SignInDone SignInStep = iota
	// SignInCode: an authenticator code or a recovery code must follow.
	SignInCode
	// SignInEnroll: staff without an authenticator must set one up before
	// they are signed in.
	SignInEnroll
)

// NextSignInStep decides what u, whose password was right, still owes.
func (s *SignIn) NextSignInStep(ctx context.Context, u User) (SignInStep, error) {
	has, err := s.store.HasTOTP(ctx, u.ID)
	if err != nil {
		return 0, fmt.Errorf("two-factor state of user %d: %w", u.ID, err)
	}
	switch {
	case has:
		return SignInCode, nil
	case u.Staff:
		return SignInEnroll, nil
	default:
		return SignInDone, nil
	}
}

// TOTPEnrollment is an authenticator being set up: shown to the user as a
// QR code (URL) and as text (Secret), stored only once confirmed.
type TOTPEnrollment struct {
	Secret string
	URL    string
}

// NewTOTPEnrollment makes a fresh authenticator secret for u.
func (s *SignIn) NewTOTPEnrollment(u User) (TOTPEnrollment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Email, Period: totpPeriod, SecretSize: 20})
	if err != nil {
		return TOTPEnrollment{}, fmt.Errorf("generate authenticator secret: %w", err)
	}
	return TOTPEnrollment{Secret: key.Secret(), URL: key.URL()}, nil
}

// EnrollTOTP confirms an authenticator with a code it shows and returns the
// recovery codes, which are never shown again. A wrong code is a FieldErrors
// on "code".
func (s *SignIn) EnrollTOTP(ctx context.Context, userID int64, secret, code string) ([]string, error) {
	step, ok := matchTOTP(secret, code, s.clock.Now())
	if !ok {
		return nil, FieldErrors{"code": {Msg: "twofactor.error.code"}}
	}
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
		hashes[i] = HashToken(normalizeRecoveryCode(codes[i]))
	}
	if err := s.store.EnableTOTP(ctx, userID, secret, step, s.clock.Now(), hashes); err != nil {
		return nil, fmt.Errorf("enable two-factor for user %d: %w", userID, err)
	}
	return codes, nil
}

// CheckSecondFactor checks the code (or recovery code) of a user whose
// password was right, and returns the user to sign in.
func (s *SignIn) CheckSecondFactor(ctx context.Context, userID int64, code string) (User, error) {
	if len(code) > maxCodeInput {
		// Neither a TOTP code nor a recovery code, however spaced: wrong
		// before anything is read or counted.
		return User{}, ErrInvalidCode
	}
	now := s.clock.Now()
	t, until, ok, err := s.store.BeginSecondFactor(ctx, userID, now, SecondFactorThrottle)
	if err != nil {
		return User{}, fmt.Errorf("begin second factor for user %d: %w", userID, err)
	}
	if !ok {
		return User{}, &ThrottledError{RetryAfter: until.Sub(now)}
	}
	var accepted bool
	if step, match := matchTOTP(t.Secret, code, now); match {
		accepted, err = s.store.AcceptTOTPStep(ctx, userID, step)
	} else if rc := normalizeRecoveryCode(code); len(rc) == recoveryCodeLength {
		accepted, err = s.store.UseRecoveryCode(ctx, userID, HashToken(rc), now)
	}
	if err != nil {
		return User{}, fmt.Errorf("accept second factor for user %d: %w", userID, err)
	}
	if !accepted {
		return User{}, ErrInvalidCode
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return User{}, fmt.Errorf("user %d: %w", userID, err)
	}
	return u, nil
}

// TwoFactorStatus is what the settings page shows.
type TwoFactorStatus struct {
	Enabled       bool
	Required      bool // staff may not turn it off
	RecoveryCodes int  // unused ones left
}

// TwoFactorOf is u's two-factor state.
func (s *SignIn) TwoFactorOf(ctx context.Context, u User) (TwoFactorStatus, error) {
	has, err := s.store.HasTOTP(ctx, u.ID)
	if err != nil {
		return TwoFactorStatus{}, fmt.Errorf("two-factor state of user %d: %w", u.ID, err)
	}
	st := TwoFactorStatus{Enabled: has, Required: u.Staff}
	if has {
		if st.RecoveryCodes, err = s.store.RecoveryCodesLeft(ctx, u.ID); err != nil {
			return TwoFactorStatus{}, fmt.Errorf("recovery codes of user %d: %w", u.ID, err)
		}
	}
	return st, nil
}

// DisableTOTP turns two-factor sign-in off for a partner who proves they
// still hold the authenticator (or a recovery code). Staff cannot: it is
// required for them.
func (s *SignIn) DisableTOTP(ctx context.Context, u User, code string) error {
	if u.Staff {
		return ErrForbidden
	}
	if _, err := s.CheckSecondFactor(ctx, u.ID, code); err != nil {
		return err
	}
	if err := s.store.DisableTOTP(ctx, u.ID, s.clock.Now()); err != nil {
		return fmt.Errorf("disable two-factor for user %d: %w", u.ID, err)
	}
	return nil
}

// matchTOTP reports whether code is the one of now's step, and that step:
// replay protection needs to know which step a code belonged to.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != 6 {
		return 0, false
	}
	opts := totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	want, err := totp.GenerateCodeCustom(secret, now, opts)
	if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
		return 0, false
	}
	return now.Unix() / totpPeriod, true
}

// A recovery code is 24 base32 letters, 120 bits: with at least 112 bits a
// plain SHA-256 may store it (ASVS 6.5.2), so checking one costs no
// password hash. It is shown in groups of four.
const (
	recoveryCodeBytes  = 15
	recoveryCodeLength = 24
	// maxCodeInput bounds what the code field may hold: a recovery code
	// with a space or dash between each character, and room to spare.
	maxCodeInput = 64
)

var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func newRecoveryCode() string {
	b := make([]byte, recoveryCodeBytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	c := strings.ToLower(recoveryEncoding.EncodeToString(b))
	var groups []string
	for i := 0; i < len(c); i += 4 {
		groups = append(groups, c[i:i+4])
	}
	return strings.Join(groups, "-")
}

// normalizeRecoveryCode accepts a code as people copy it: any case, with
// or without the dash and spaces.
func normalizeRecoveryCode(s string) string {
	return strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s)))
}
