package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/clc-portal/clc/internal/paths"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
	"github.com/clc-portal/clc/internal/server"
	"github.com/clc-portal/clc/internal/sso"
)

// TestSSORefusesWhatIsNotThisSignIn: a callback whose state is not the
// session's, a replayed callback or code, an ID token with another
// sign-in's nonce, an expired one, and one signed by a key the provider
// never published are each refused, and nobody is signed in.
func TestSSORefusesWhatIsNotThisSignIn(t *testing.T) {
	a, prov := newSSOApp(t, "OIDC_ID_TOKEN_TTL=60")
	a.user("ada@northwind-partners.example", "Ada", false)
	const ada = "ada@northwind-partners.example"
	signedOut := func(t *testing.T, b *browser) {
		t.Helper()
		wantRedirect(t, b.get(paths.CLC), paths.LoginThen(paths.CLC))
	}
	refused := func(t *testing.T, p page, status int) {
		t.Helper()
		wantStatus(t, p, status)
		if got := text(p, "h1"); got != "Sign-in did not complete" {
			t.Errorf("heading %q", got)
		}
	}

	t.Run("wrong state, then the replayed callback", func(t *testing.T) {
		b := a.browser()
		cb := b.atProvider(b.ssoStart(), ada)
		refused(t, b.getURL(withQuery(t, cb, "state", "not-this-sessions")), http.StatusBadRequest)
		// The state was spent by that try: the genuine callback is refused too.
		refused(t, b.getURL(cb), http.StatusBadRequest)
		signedOut(t, b)
	})

	t.Run("replayed code under a fresh state", func(t *testing.T) {
		b := a.browser()
		cb := b.atProvider(b.ssoStart(), ada)
		wantRedirect(t, b.getURL(cb), paths.CLC)
		thief := a.browser()
		fresh := thief.atProvider(thief.ssoStart(), ada)
		state, _ := url.Parse(fresh)
		code, _ := url.Parse(cb)
		replay := withQuery(t, fresh, "code", code.Query().Get("code"))
		if state.Query().Get("state") == code.Query().Get("state") {
			t.Fatal("two sign-ins share a state")
		}
		refused(t, thief.getURL(replay), http.StatusUnauthorized)
		signedOut(t, thief)
	})

	t.Run("wrong nonce", func(t *testing.T) {
		b := a.browser()
		// The attacker's authorization request: the session's state and
		// PKCE challenge, a nonce of their own.
		auth := withQuery(t, b.ssoStart(), "nonce", "the-attackers-nonce")
		refused(t, b.getURL(b.atProvider(auth, ada)), http.StatusUnauthorized)
		signedOut(t, b)
		if !strings.Contains(a.logs.String(), "the nonce is not this sign-in") {
			t.Error("the refusal does not say the nonce was wrong")
		}
	})

	t.Run("expired ID token", func(t *testing.T) {
		b := a.browser()
		cb := b.atProvider(b.ssoStart(), ada)
		// The provider issues tokens for 60 s; the portal's clock has moved
		// on 5 minutes (the state lives 10).
		a.clock.Advance(5 * time.Minute)
		refused(t, b.getURL(cb), http.StatusUnauthorized)
		signedOut(t, b)
		if !strings.Contains(a.logs.String(), "token is expired") {
			t.Error("the refusal does not say the token expired")
		}
	})

	t.Run("signed by a key the provider never published", func(t *testing.T) {
		// A second provider that claims to be the first, with keys of its own.
		other := startProvider(t, a.srv.URL+paths.LoginSSOCallback, "OIDC_ISSUER="+prov.issuer)
		b := a.browser()
		conf := oauth2.Config{ClientID: ssoClientID, ClientSecret: ssoClientSecret, RedirectURL: a.srv.URL + paths.LoginSSOCallback,
			Endpoint: oauth2.Endpoint{AuthURL: other.origin + "/auth", TokenURL: other.origin + "/token", AuthStyle: oauth2.AuthStyleInHeader},
			Scopes:   []string{"openid", "email", "profile"}}
		verifier := oauth2.GenerateVerifier()
		auth := conf.AuthCodeURL("some-state", oauth2.SetAuthURLParam("nonce", "n-1"), oauth2.S256ChallengeOption(verifier))
		cb, _ := url.Parse(b.atProvider(auth, ada))
		tok, err := conf.Exchange(context.Background(), cb.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		portal := sso.New(sso.Config{Issuer: prov.issuer, ClientID: ssoClientID, ClientSecret: ssoClientSecret, Now: time.Now})
		_, err = portal.Verify(context.Background(), raw, "n-1")
		if !errors.Is(err, sso.ErrRefused) || !strings.Contains(err.Error(), "signature") {
			t.Fatalf("a token signed by another key: %v", err)
		}
		// The same verifier takes the genuine provider's token.
		if _, err := sso.New(sso.Config{Issuer: other.issuer, ClientID: ssoClientID, ClientSecret: ssoClientSecret}).Verify(context.Background(), raw, "n-1"); err == nil {
			t.Fatal("a provider at another address was trusted for the first's issuer")
		}
	})

	t.Run("callbacks are throttled per client address", func(t *testing.T) {
		b := a.browser()
		var last page
		for range 22 {
			last = b.get(paths.LoginSSOCallback + "?state=guess&code=guess")
		}
		wantStatus(t, last, http.StatusTooManyRequests)
		if last.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
	})
}

// TestSSOIssuerDownLeavesPasswordsWorking: a provider that cannot be
// reached is a clear page in the person's language, and password sign-in
// goes on.
func TestSSOIssuerDownLeavesPasswordsWorking(t *testing.T) {
	a := newAppAt(t, pgtest.New(t), func(d *server.Deps, base string) {
		d.SSO = sso.New(sso.Config{Issuer: closedPort(t), ClientID: ssoClientID, ClientSecret: ssoClientSecret, Name: "Northwind ID",
			RedirectURL: base + paths.LoginSSOCallback})
	})
	a.user("ada@northwind-partners.example", "Ada", false)
	b := a.browser()
	b.post(paths.Language, url.Values{"lang": {"de"}, "next": {paths.Login}})
	p := b.post(paths.LoginSSO, url.Values{})
	wantStatus(t, p, http.StatusServiceUnavailable)
	if got := text(p, "main p"); !strings.Contains(got, "Northwind ID ist derzeit nicht erreichbar") {
		t.Errorf("page: %q", got)
	}
	if href, _ := p.Doc.Find("main a.button").Attr("href"); href != paths.Login {
		t.Errorf("no way back to the password form: %q", href)
	}
	wantRedirect(t, b.login("ada@northwind-partners.example", "correct horse"), paths.CLC)
}

// TestSSORequiredDomainHasNoPasswordSignIn: an operator requires single
// sign-on for a domain; its users' passwords (and first-password links)
// then sign nobody in, the refusal is in the domain (a crafted POST meets
// it), and the provider still signs them in. Only staff change the list.
func TestSSORequiredDomainHasNoPasswordSignIn(t *testing.T) {
	a, _ := newSSOApp(t)
	a.user("ada@northwind-partners.example", "Ada", false)
	a.user("emea@emea.northwind-partners.example", "Emea", false)
	a.user("pat@partner.example", "Pat", false)
	ops := a.user("ops@clc.example", "Olga", true)
	op := a.signedIn(ops.Email)

	// Partners may not touch the list.
	pat := a.signedIn("pat@partner.example")
	wantStatus(t, pat.get(paths.OpsSSO), http.StatusForbidden)
	wantStatus(t, pat.post(paths.OpsSSO, url.Values{"domain": {"northwind-partners.example"}}), http.StatusForbidden)

	wantStatus(t, op.post(paths.OpsSSO, url.Values{"domain": {"not a domain"}}), http.StatusUnprocessableEntity)
	wantRedirect(t, op.post(paths.OpsSSO, url.Values{"domain": {"Northwind-Partners.example"}}), paths.OpsSSO)
	again := op.post(paths.OpsSSO, url.Values{"domain": {"northwind-partners.example"}})
	wantStatus(t, again, http.StatusUnprocessableEntity)
	if got := text(again, "#domain-error"); !strings.Contains(got, "already requires single sign-on") {
		t.Errorf("field error %q", got)
	}
	list := op.get(paths.OpsSSO)
	if got := rows(list, "#sso-domains tbody tr"); len(got) != 1 || !strings.Contains(got[0], "northwind-partners.example ops@clc.example") {
		t.Errorf("domains %q", got)
	}

	for _, email := range []string{"ada@northwind-partners.example", "emea@emea.northwind-partners.example"} {
		p := a.browser().login(email, "correct horse")
		wantStatus(t, p, http.StatusForbidden)
		if got := text(p, "#login-error"); !strings.Contains(got, "Northwind ID") {
			t.Errorf("%s: %q", email, got)
		}
	}
	wantRedirect(t, a.browser().login("pat@partner.example", "correct horse"), paths.CLC)
	wantRedirect(t, a.browser().ssoSignIn("ada@northwind-partners.example"), paths.CLC)
	if got := rows(op.get(paths.OpsSSO), "#sign-in-events tbody tr"); len(got) < 2 {
		t.Errorf("history %q", got)
	}

	wantStatus(t, pat.post(paths.OpsSSORelease, url.Values{"domain": {"northwind-partners.example"}}), http.StatusForbidden)
	wantRedirect(t, op.post(paths.OpsSSORelease, url.Values{"domain": {"northwind-partners.example"}}), paths.OpsSSO)
	wantStatus(t, op.post(paths.OpsSSORelease, url.Values{"domain": {"northwind-partners.example"}}), http.StatusNotFound)
	wantRedirect(t, a.browser().login("ada@northwind-partners.example", "correct horse"), paths.CLC)
}
