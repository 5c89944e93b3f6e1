// Package sso signs users in through the company's OpenID provider: the
// Authorization Code flow with PKCE, state and nonce (golang.org/x/oauth2),
// and the ID token verified against the provider's keys (coreos/go-oidc,
// whose remote key set fetches them from the discovered jwks_uri, caches
// them and fetches again when a token names a key it does not hold, so the
// provider may rotate its keys). Who may sign in, and what a sign-in still
// owes, is internal/account's.
package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/clc-portal/clc/internal/account"
)

// Config is the client the portal is at its provider.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// Name is the provider as the sign-in button names it.
	Name string
	// RedirectURL is the portal's callback, as registered at the provider.
	RedirectURL string
	// PostLogoutURL is where the provider's end-session page may send the
	// person back to.
	PostLogoutURL string
	// Now is the clock ID tokens' times are checked against.
	Now func() time.Time
}

// Errors, for the pages: the provider could not be reached (try later, or
// use a password), or the sign-in it answered is not one to accept.
var (
	ErrUnavailable = errors.New("the OpenID provider cannot be reached")
	ErrRefused     = errors.New("the sign-in through the OpenID provider was refused")
)

// timeout bounds each call to the provider: a provider that hangs must not
// hold a request for long.
const timeout = 10 * time.Second

// Provider is the portal's OpenID provider. Discovery happens at the first
// sign-in and is kept once it succeeded, so the portal starts, and password
// sign-in works, while the provider is away.
type Provider struct {
	cfg    Config
	client *http.Client

	mu         sync.Mutex
	provider   *oidc.Provider
	endSession string
}

// New makes the portal's client of the provider cfg names.
func New(cfg Config) *Provider {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Provider{cfg: cfg, client: &http.Client{Timeout: timeout}}
}

// Name is the provider as the button names it.
func (p *Provider) Name() string { return p.cfg.Name }

// Origin is the issuer's scheme and host: where the button's form sends the
// browser on to, which the Log In page's Content-Security-Policy
// (form-action) must allow, since a browser checks the redirect after a
// form's POST against it. Providers serve their authorization endpoint at
// the issuer's origin.
func (p *Provider) Origin() string {
	u, err := url.Parse(p.cfg.Issuer)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (p *Provider) discovered(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, nil
	}
	// The key set fetches with the context it was made with: the client,
	// never the request's context, which ends with the request.
	pr, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), p.client), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: discovery at %s: %w", ErrUnavailable, p.cfg.Issuer, err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := pr.Claims(&extra); err == nil {
		if u, err := url.Parse(extra.EndSession); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			p.endSession = extra.EndSession
		}
	}
	p.provider = pr
	return pr, nil
}

func (p *Provider) oauth(pr *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: p.cfg.ClientSecret,
		Endpoint:     pr.Endpoint(),
		RedirectURL:  p.cfg.RedirectURL,
		Scopes:       []string{oidc.ScopeOpenID, "email", "profile"},
	}
}

// Start is a sign-in on its way to the provider: the URL to send the
// browser to, and the secrets the callback must match, which the caller
// keeps in the session and spends once.
type Start struct {
	URL      string
	State    string
	Nonce    string
	Verifier string // PKCE
}

// Begin starts a sign-in.
func (p *Provider) Begin(ctx context.Context) (Start, error) {
	pr, err := p.discovered(ctx)
	if err != nil {
		return Start{}, err
	}
	st := Start{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier()}
	st.URL = p.oauth(pr).AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	return st, nil
}

// SameState compares a callback's state with the one kept, in constant time.
func SameState(kept, got string) bool {
	return kept != "" && subtle.ConstantTimeCompare([]byte(kept), []byte(got)) == 1
}

// Finish exchanges the callback's code (with the PKCE verifier) for tokens
// and returns who the verified ID token names.
func (p *Provider) Finish(ctx context.Context, code, verifier, nonce string) (account.SSOIdentity, error) {
	pr, err := p.discovered(ctx)
	if err != nil {
		return account.SSOIdentity{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tok, err := p.oauth(pr).Exchange(oidc.ClientContext(ctx, p.client), code, oauth2.VerifierOption(verifier))
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re):
		// The provider answered and refused: a spent, foreign or expired code.
		return account.SSOIdentity{}, fmt.Errorf("%w: code exchange: %s", ErrRefused, re.ErrorCode)
	case err != nil:
		return account.SSOIdentity{}, fmt.Errorf("%w: code exchange: %w", ErrUnavailable, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return account.SSOIdentity{}, fmt.Errorf("%w: no ID token in the answer", ErrRefused)
	}
	return p.Verify(ctx, raw, nonce)
}

// Verify checks an ID token: signed by one of the provider's keys, issued
// by it, for this client, unexpired, and carrying the sign-in's nonce.
func (p *Provider) Verify(ctx context.Context, raw, nonce string) (account.SSOIdentity, error) {
	pr, err := p.discovered(ctx)
	if err != nil {
		return account.SSOIdentity{}, err
	}
	idt, err := pr.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: p.cfg.Now}).Verify(oidc.ClientContext(ctx, p.client), raw)
	if err != nil {
		return account.SSOIdentity{}, fmt.Errorf("%w: ID token: %w", ErrRefused, err)
	}
	if !SameState(nonce, idt.Nonce) {
		return account.SSOIdentity{}, fmt.Errorf("%w: ID token: the nonce is not this sign-in's", ErrRefused)
	}
	var c struct {
		Email         string   `json:"email"`
		EmailVerified bool     `json:"email_verified"`
		Name          string   `json:"name"`
		AMR           []string `json:"amr"`
	}
	if err := idt.Claims(&c); err != nil {
		return account.SSOIdentity{}, fmt.Errorf("%w: ID token claims: %w", ErrRefused, err)
	}
	return account.SSOIdentity{Subject: idt.Subject, Email: c.Email, EmailVerified: c.EmailVerified, Name: c.Name, AMR: c.AMR}, nil
}

// EndSessionURL is the provider's end-session page for this client, or ""
// when its discovery names none (or has not succeeded yet).
func (p *Provider) EndSessionURL(ctx context.Context) string {
	if _, err := p.discovered(ctx); err != nil {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.endSession == "" {
		return ""
	}
	u, _ := url.Parse(p.endSession)
	q := u.Query()
	q.Set("client_id", p.cfg.ClientID)
	if p.cfg.PostLogoutURL != "" {
		q.Set("post_logout_redirect_uri", p.cfg.PostLogoutURL)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// random is 256 bits, URL-safe.
func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
