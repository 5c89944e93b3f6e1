package account

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Personal API tokens, for partners who script their requests. A token is a
// credential like a password: only its SHA-256 is stored, it is shown once,
// and it carries exactly its user's rights, no more.

// API token bounds.
const (
	// APITokenPrefix marks a token, so a leaked one is recognisable (and
	// secret scanners can be taught it).
	APITokenPrefix  = "clc_"
	MaxAPITokens    = 20
	MaxAPIKeyLength = 200
	// MaxAPITokensPerDay is how many tokens one user makes in any 24
	// hours: enough to replace every script's token in a day, and a bound
	// on what a stolen session can mint before its owner notices.
	MaxAPITokensPerDay = 10
	// DefaultAPIRateLimit is how many calls one user makes per
	// APIRateWindow, whichever of their tokens makes them.
	DefaultAPIRateLimit = 120
	APIRateWindow       = time.Minute
	// MaxAPIPageSize bounds a page of the API's lists.
	MaxAPIPageSize = 100
)

// ErrUnauthorized: no token, an unknown one, or a revoked one.
var ErrUnauthorized = errors.New("missing, unknown or revoked API token")

// RateLimitedError says a token made too many calls in its window.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many calls; retry in %s", e.RetryAfter.Round(time.Second))
}

// ErrAPITokenQuota is the store's answer when the user made quota.PerDay
// tokens since quota.Since.
var ErrAPITokenQuota = errors.New("too many API tokens made in a day")

// APITokenQuotaError says u made MaxAPITokensPerDay tokens in the last day.
type APITokenQuotaError struct{ Max int }

func (e *APITokenQuotaError) Error() string {
	return fmt.Sprintf("made %d API tokens in the last 24 hours", e.Max)
}
func (e *APITokenQuotaError) Unwrap() error { return ErrAPITokenQuota }

// Fields is what the API tokens form says about it.
func (e *APITokenQuotaError) Fields() FieldErrors {
	return FieldErrors{"name": {Msg: "tokens.error.too_many_today", Args: []any{"Max", e.Max}}}
}

// APITokenQuota bounds a user's tokens: Live held at once, and PerDay made
// since Since (revoked ones too).
type APITokenQuota struct {
	Live   int
	PerDay int
	Since  time.Time
}

// IdempotencyMismatchError says an Idempotency-Key was used before for a
// different request, which it names.
type IdempotencyMismatchError struct{ Request AccountRequest }

func (e *IdempotencyMismatchError) Error() string {
	return "idempotency key already used for " + e.Request.Account.ID.String()
}
func (e *IdempotencyMismatchError) Unwrap() error { return ErrConflict }

// APIToken is what the store keeps of a token, besides its hash.
type APIToken struct {
	ID         int64
	UserID     int64
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// APIStore is what the API needs from persistence.
type APIStore interface {
	APITokenStore
	// RequestsBy lists the requests a user sent, newest account first,
	// those before account id before when it is set.
	RequestsBy(ctx context.Context, userID int64, before AccountID, limit int) ([]AccountRequest, error)
}

// APITokenStore is what Tokens needs from persistence.
type APITokenStore interface {
	// CreateAPIToken stores a token unless its user already holds q.Live
	// live ones (ErrConflict) or made q.PerDay since q.Since
	// (ErrAPITokenQuota).
	CreateAPIToken(ctx context.Context, t APIToken, hash []byte, q APITokenQuota) (APIToken, error)
	// APITokens lists a user's tokens, newest first.
	APITokens(ctx context.Context, userID int64) ([]APIToken, error)
	// RevokeAPIToken revokes a live token of the user's, or returns ErrNotFound.
	RevokeAPIToken(ctx context.Context, userID, id int64, at time.Time) error
	// UseAPIToken finds the user of a live token, records its use at now and
	// counts the call against the user in the window starting at window,
	// returning the user's count in the window so far; an unknown or
	// revoked token is ErrNotFound.
	UseAPIToken(ctx context.Context, hash []byte, now, window time.Time) (User, int, error)
}

// Tokens are the API's credentials: made, listed and revoked by their
// owner on the API tokens page, and checked (with the owner's rate limit)
// on every call. It touches nothing but tokens and their counters.
type Tokens struct {
	store     APITokenStore
	clock     Clock
	rateLimit int
}

// NewTokens wires Tokens.
func NewTokens(store APITokenStore, clock Clock) *Tokens { return &Tokens{store: store, clock: clock} }

// SetAPIRateLimit sets how many calls a user makes per APIRateWindow.
func (s *Tokens) SetAPIRateLimit(n int) { s.rateLimit = n }

// CreateAPIToken makes a token for u, named so its owner can tell it apart;
// the token itself is returned only now.
func (s *Tokens) CreateAPIToken(ctx context.Context, u User, name string) (APIToken, string, error) {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return APIToken{}, "", FieldErrors{"name": {Msg: "tokens.error.name_required"}}
	case n > MaxNameLength:
		return APIToken{}, "", FieldErrors{"name": {Msg: "request.error.too_long", Args: []any{"Max", MaxNameLength}}}
	}
	secret := APITokenPrefix + randomToken(tokenBytes)
	now := s.clock.Now()
	quota := APITokenQuota{Live: MaxAPITokens, PerDay: MaxAPITokensPerDay, Since: now.Add(-24 * time.Hour)}
	t, err := s.store.CreateAPIToken(ctx, APIToken{UserID: u.ID, Name: name, CreatedAt: now}, HashToken(secret), quota)
	switch {
	case errors.Is(err, ErrConflict):
		return APIToken{}, "", FieldErrors{"name": {Msg: "tokens.error.too_many", Args: []any{"Max", MaxAPITokens}}}
	case errors.Is(err, ErrAPITokenQuota):
		return APIToken{}, "", &APITokenQuotaError{Max: MaxAPITokensPerDay}
	}
	if err != nil {
		return APIToken{}, "", fmt.Errorf("create API token for user %d: %w", u.ID, err)
	}
	return t, secret, nil
}

// APITokens lists u's tokens.
func (s *Tokens) APITokens(ctx context.Context, u User) ([]APIToken, error) {
	return s.store.APITokens(ctx, u.ID)
}

// RevokeAPIToken revokes one of u's tokens: it is refused from then on.
func (s *Tokens) RevokeAPIToken(ctx context.Context, u User, id int64) error {
	if err := s.store.RevokeAPIToken(ctx, u.ID, id, s.clock.Now()); err != nil {
		return fmt.Errorf("revoke API token %d: %w", id, err)
	}
	return nil
}

// AuthenticateAPI finds the user a bearer token acts for and counts the call
// against the user's rate limit: per user, not per token, or making another
// token would buy another window's worth of calls.
func (s *Tokens) AuthenticateAPI(ctx context.Context, secret string) (User, error) {
	if !strings.HasPrefix(secret, APITokenPrefix) || !wellFormedToken(strings.TrimPrefix(secret, APITokenPrefix)) {
		return User{}, ErrUnauthorized
	}
	now := s.clock.Now()
	window := now.Truncate(APIRateWindow)
	u, hits, err := s.store.UseAPIToken(ctx, HashToken(secret), now, window)
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrUnauthorized
	}
	if err != nil {
		return User{}, fmt.Errorf("use API token: %w", err)
	}
	limit := s.rateLimit
	if limit == 0 {
		limit = DefaultAPIRateLimit
	}
	if hits > limit {
		return User{}, &RateLimitedError{RetryAfter: window.Add(APIRateWindow).Sub(now)}
	}
	return u, nil
}

// SubmitRequestOnce is SubmitRequest for the API: the client's
// Idempotency-Key, when given, stands for the review form's submission key,
// so a retry returns the request the first call made (created is then
// false), and the same key with a different request is refused.
func (s *AccountRequests) SubmitRequestOnce(ctx context.Context, u User, key string, in AccountRequestInput) (r AccountRequest, created bool, err error) {
	var hash []byte
	switch {
	case key == "":
		in.SubmissionKey = NewSubmissionKey()
	case len(key) > MaxAPIKeyLength:
		return AccountRequest{}, false, FieldErrors{"Idempotency-Key": {Msg: "api.error.key_too_long", Args: []any{"Max", MaxAPIKeyLength}}}
	default:
		// Per user, so two users' keys never meet.
		h := sha256.Sum256([]byte(strconv.FormatInt(u.ID, 10) + "\x00" + key))
		in.SubmissionKey = "api-" + base64.RawURLEncoding.EncodeToString(h[:])
		hash = InputFingerprint(in)
		prev, err := s.store.RequestBySubmissionKey(ctx, in.SubmissionKey)
		switch {
		case err == nil && sameRequest(u, prev, in, hash):
			return prev, false, nil
		case err == nil:
			return AccountRequest{}, false, &IdempotencyMismatchError{Request: prev}
		case !errors.Is(err, ErrNotFound):
			return AccountRequest{}, false, fmt.Errorf("find earlier submission: %w", err)
		}
	}
	r, err = s.submit(ctx, u, in, hash, 0)
	return r, err == nil, err
}

// sameRequest reports whether in, whose fingerprint is hash, is what made
// prev. A request stored before fingerprints were is compared by what it
// asked for: its name and domain.
func sameRequest(u User, prev AccountRequest, in AccountRequestInput, hash []byte) bool {
	if prev.RequestedBy != u.ID {
		return false
	}
	if prev.InputHash != nil {
		return bytes.Equal(prev.InputHash, hash)
	}
	domain := strings.TrimSpace(in.Domain)
	if domain == "" {
		domain = EmailDomain(u.Email)
	}
	d, err := NormalizeDomain(domain)
	return err == nil && d == prev.Account.Domain && strings.TrimSpace(in.Name) == prev.Account.Name
}

// MyRequests is one page of the requests u sent, newest first, and the
// account to continue before (0 when this is the last page).
func (s *AccountRequests) MyRequests(ctx context.Context, u User, before AccountID, limit int) ([]AccountRequest, AccountID, error) {
	if limit <= 0 || limit > MaxAPIPageSize {
		limit = MaxAPIPageSize
	}
	rs, err := s.store.RequestsBy(ctx, u.ID, before, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("requests of user %d: %w", u.ID, err)
	}
	var next AccountID
	if len(rs) > limit {
		rs = rs[:limit]
		next = rs[limit-1].Account.ID
	}
	for i := range rs {
		rs[i].Status = rs[i].StatusAt(s.clock.Now())
	}
	return rs, next, nil
}
