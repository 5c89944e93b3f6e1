package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Single sign-on through the company's OpenID provider: who the provider's
// verified ID token names, which email domains must sign in that way, and
// what such a sign-in still owes. The protocol itself (PKCE, state, nonce,
// the token's signature) is the adapter's; the rules are here.

// SSOIdentity is who an ID token the adapter verified says signed in.
type SSOIdentity struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	// AMR is how the provider says the person authenticated (RFC 8176).
	AMR []string
}

// SSODomain is an email domain whose users must sign in through the provider.
type SSODomain struct {
	Domain     string
	RequiredBy string // the operator's email
	RequiredAt time.Time
}

// SignInEvent is one line of the sign-in history operators read: a
// sign-in through the provider, a user it created, a refusal, a change of
// the domains that require it.
type SignInEvent struct {
	At     time.Time
	UserID int64  // 0 when no user is concerned
	Email  string // whom it is about
	Kind   string // sso_sign_in, sso_user_created, sso_refused_unverified, sso_domain_required, sso_domain_released
	Detail string
}

// SSOStore keeps the domains that require single sign-on, the users the
// provider brings, and the sign-in history.
type SSOStore interface {
	// SSOUser finds the user with email or, when there is none, creates one
	// with no password and no role; either way it records ev (and
	// sso_user_created for a new user) in the same transaction.
	SSOUser(ctx context.Context, email, name string, ev SignInEvent) (u User, created bool, err error)
	// SSORequired reports whether any of domains requires single sign-on.
	SSORequired(ctx context.Context, domains []string) (bool, error)
	SSODomains(ctx context.Context) ([]SSODomain, error)
	// RequireSSO adds a domain (ErrConflict when it is there already) and
	// ReleaseSSO removes one (ErrNotFound when it is not), each recording
	// ev in the same transaction.
	RequireSSO(ctx context.Context, domain string, ev SignInEvent) error
	ReleaseSSO(ctx context.Context, domain string, ev SignInEvent) error
	RecordSignInEvent(ctx context.Context, ev SignInEvent) error
	SignInEvents(ctx context.Context, limit int) ([]SignInEvent, error)
}

// Errors of single sign-on.
var (
	// ErrEmailNotVerified is an ID token whose email the provider has not
	// verified, or has none: nobody is matched by an address they may not own.
	ErrEmailNotVerified = errors.New("the provider has not verified the email address")
	// ErrSSORequired is a password sign-in at a domain that must sign in
	// through the provider.
	ErrSSORequired = errors.New("this email domain signs in through single sign-on")
)

// multiFactorAMR are the RFC 8176 methods that show a factor beyond a
// password: "mfa" itself, a one-time code, a hardware key or smart card,
// a biometric.
var multiFactorAMR = []string{"mfa", "otp", "hwk", "sc", "fpt", "face", "iris", "retina", "vbm"}

// MultiFactor reports whether amr asserts more than one factor.
func MultiFactor(amr []string) bool {
	for _, m := range amr {
		if slices.Contains(multiFactorAMR, strings.ToLower(m)) {
			return true
		}
	}
	return false
}

// SSOStep is what a sign-in through the provider still owes: nothing when
// the provider asserted multi-factor (it did the portal's second factor's
// work), else what a password sign-in would owe.
func SSOStep(amr []string, hasTOTP, staff bool) SignInStep {
	switch {
	case MultiFactor(amr):
		return SignInDone
	case hasTOTP:
		return SignInCode
	case staff:
		return SignInEnroll
	default:
		return SignInDone
	}
}

// emailDomain is the part of a normalised address after its last @.
func emailDomain(email string) string {
	return email[strings.LastIndexByte(email, '@')+1:]
}

// SSOSignIn takes who the provider signed in to a portal user, finding them
// by their verified email or creating them with no role, and says what the
// sign-in still owes.
func (s *SignIn) SSOSignIn(ctx context.Context, id SSOIdentity) (User, SignInStep, error) {
	now := s.clock.Now()
	email, err := NormalizeEmail(id.Email)
	if err != nil || !id.EmailVerified {
		ev := SignInEvent{At: now, Email: BoundText(id.Email, MaxEmailLength), Kind: "sso_refused_unverified", Detail: BoundText(id.Subject, 255)}
		if err := s.store.RecordSignInEvent(ctx, ev); err != nil {
			return User{}, 0, fmt.Errorf("record refused sign-in: %w", err)
		}
		return User{}, 0, ErrEmailNotVerified
	}
	name := strings.TrimSpace(id.Name)
	if name == "" || CheckText(name) != TextOK {
		name = email[:strings.IndexByte(email, '@')]
	}
	name = BoundText(name, MaxNameLength)
	u, _, err := s.store.SSOUser(ctx, email, name, SignInEvent{At: now, Email: email, Kind: "sso_sign_in", Detail: strings.Join(id.AMR, " ")})
	if err != nil {
		return User{}, 0, fmt.Errorf("sign in %s through the provider: %w", email, err)
	}
	has, err := s.store.HasTOTP(ctx, u.ID)
	if err != nil {
		return User{}, 0, fmt.Errorf("two-factor state of user %d: %w", u.ID, err)
	}
	return u, SSOStep(id.AMR, has, u.Staff), nil
}

// BoundText cuts s to at most n characters, dropping what is not text.
func BoundText(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n])
	}
	return s
}

// ssoRequired refuses a password sign-in at a domain that must use the
// provider.
func (s *SignIn) ssoRequired(ctx context.Context, email string) error {
	if !strings.Contains(email, "@") {
		return nil
	}
	req, err := s.store.SSORequired(ctx, DomainAndParents(emailDomain(email)))
	if err != nil {
		return fmt.Errorf("single sign-on rule for %s: %w", email, err)
	}
	if req {
		return ErrSSORequired
	}
	return nil
}

// SSODomains lists the domains that require single sign-on, for operators.
func (s *SignIn) SSODomains(ctx context.Context, u User) ([]SSODomain, []SignInEvent, error) {
	if !u.Staff {
		return nil, nil, ErrForbidden
	}
	ds, err := s.store.SSODomains(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("single sign-on domains: %w", err)
	}
	evs, err := s.store.SignInEvents(ctx, MaxSignInEventsShown)
	if err != nil {
		return nil, nil, fmt.Errorf("sign-in history: %w", err)
	}
	return ds, evs, nil
}

// MaxSignInEventsShown is how much of the sign-in history the operators'
// page shows.
const MaxSignInEventsShown = 50

// RequireSSO makes an operator's domain sign in through the provider only.
func (s *SignIn) RequireSSO(ctx context.Context, u User, domain string) (string, error) {
	if !u.Staff {
		return "", ErrForbidden
	}
	d, err := NormalizeDomain(domain)
	if err != nil {
		return "", FieldErrors{"domain": {Msg: "sso.error.domain"}}
	}
	err = s.store.RequireSSO(ctx, d, SignInEvent{At: s.clock.Now(), UserID: u.ID, Email: u.Email, Kind: "sso_domain_required", Detail: d})
	if errors.Is(err, ErrConflict) {
		return "", FieldErrors{"domain": {Msg: "sso.error.already", Args: []any{"Domain", d}}}
	}
	if err != nil {
		return "", fmt.Errorf("require single sign-on for %s: %w", d, err)
	}
	return d, nil
}

// ReleaseSSO gives a domain back its password sign-in.
func (s *SignIn) ReleaseSSO(ctx context.Context, u User, domain string) error {
	if !u.Staff {
		return ErrForbidden
	}
	d, err := NormalizeDomain(domain)
	if err != nil {
		return ErrNotFound
	}
	if err := s.store.ReleaseSSO(ctx, d, SignInEvent{At: s.clock.Now(), UserID: u.ID, Email: u.Email, Kind: "sso_domain_released", Detail: d}); err != nil {
		return fmt.Errorf("release single sign-on for %s: %w", d, err)
	}
	return nil
}

// SSOAttempt counts a return from the provider against the client's
// address, as a password attempt is: a block standing there refuses it
// (ThrottledError), so nobody can try codes, states or tokens at the
// callback faster than passwords at the form. SSOSucceeded takes a good
// one back.
func (s *SignIn) SSOAttempt(ctx context.Context, client string) error {
	now := s.clock.Now()
	until, err := s.store.CountLoginAttempt(ctx, []ThrottleKey{ssoThrottleKey(client)}, now)
	if err != nil {
		return fmt.Errorf("check throttle: %w", err)
	}
	if until.After(now) {
		return &ThrottledError{RetryAfter: until.Sub(now)}
	}
	return nil
}

// SSOSucceeded refunds the attempt a completed sign-in through the
// provider counted.
func (s *SignIn) SSOSucceeded(ctx context.Context, client string) error {
	if err := s.store.RefundLoginAttempt(ctx, ssoThrottleKey(client)); err != nil {
		return fmt.Errorf("refund attempt: %w", err)
	}
	return nil
}

func ssoThrottleKey(client string) ThrottleKey {
	return ThrottleKey{Key: "client:" + throttleAddr(client), Policy: ClientThrottle, Shared: true}
}
