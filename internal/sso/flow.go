package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/secret"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Service is single sign-on: identity providers, their rules, and the
// OpenID Connect flow.
type Service struct {
	db  *sqldb.DB
	now func() time.Time
	box *secret.Box
	ids *identity.Service
	log *slog.Logger
	// Client makes the calls to identity providers (discovery, keys,
	// token, userinfo); its timeout bounds each.
	Client *http.Client

	mu         sync.Mutex
	discovered map[string]discovered
}

type discovered struct {
	p  *gooidc.Provider
	at time.Time
}

// discoveryTTL is how long a provider's discovery document is reused.
const discoveryTTL = 10 * time.Minute

// FlowTTL is how long a sign-in may take from leaving Steward to coming back.
const FlowTTL = 10 * time.Minute

// FlowCookie is the name of the cookie that binds a sign-in to its browser.
const FlowCookie = "steward_sso"

// New returns the single sign-on service.
func New(db *sqldb.DB, now func() time.Time, box *secret.Box, ids *identity.Service, log *slog.Logger) *Service {
	return &Service{db: db, now: now, box: box, ids: ids, log: log, Client: &http.Client{Timeout: 15 * time.Second},
		discovered: map[string]discovered{}}
}

func (s *Service) discover(ctx context.Context, issuer string) (*gooidc.Provider, error) {
	s.mu.Lock()
	d, ok := s.discovered[issuer]
	s.mu.Unlock()
	if ok && s.now().Sub(d.at) < discoveryTTL {
		return d.p, nil
	}
	p, err := gooidc.NewProvider(gooidc.ClientContext(ctx, s.Client), issuer)
	if err != nil {
		s.log.Warn("identity provider discovery failed", "issuer", issuer, "err", err)
		return nil, errs.Unavailable("the identity provider at %s could not be reached or its discovery document is not valid; try again later or ask an administrator", issuer)
	}
	s.mu.Lock()
	s.discovered[issuer] = discovered{p: p, at: s.now()}
	s.mu.Unlock()
	return p, nil
}

func (s *Service) forget(issuer string) {
	s.mu.Lock()
	delete(s.discovered, issuer)
	s.mu.Unlock()
}

// flow is what the browser carries, sealed, between Begin and Finish.
type flow struct {
	Provider string    `json:"p"`
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	Next     string    `json:"x"`
	Redirect string    `json:"r"`
	Expires  time.Time `json:"e"`
}

func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Begin starts signing in through the enabled provider code: it returns
// the provider's authorization URL to send the browser to, and the value
// of FlowCookie to set on it. redirectURL is Steward's callback as the
// provider knows it; next is where the browser goes after (the caller
// checks it is a path on this site). Returns not_found for an unknown or
// disabled provider and unavailable when the provider cannot be reached.
func (s *Service) Begin(ctx context.Context, code, redirectURL, next string) (authURL, cookie string, err error) {
	pr, err := getProvider(ctx, s.db.Read(), "code", code)
	if err != nil || !pr.Enabled {
		return "", "", errs.NotFound("there is no identity provider %q to sign in with", code)
	}
	op, err := s.discover(ctx, pr.IssuerURL)
	if err != nil {
		return "", "", err
	}
	f := flow{Provider: pr.ID, State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(), Next: next,
		Redirect: redirectURL, Expires: s.now().Add(FlowTTL).UTC()}
	cfg := oauth2.Config{ClientID: pr.ClientID, Endpoint: op.Endpoint(), RedirectURL: redirectURL, Scopes: pr.Scopes}
	authURL = cfg.AuthCodeURL(f.State, gooidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
	b, _ := json.Marshal(f)
	return authURL, s.box.Seal(string(b)), nil
}

// Callback is what the provider sent back to Steward's callback URL.
type Callback struct {
	// Cookie is FlowCookie's value in the browser that came back.
	Cookie string
	// State, Code, Error and ErrorDescription are the query parameters.
	State, Code, Error, ErrorDescription string
}

// errRestart is the answer to a callback that does not belong to a flow
// this browser started (or that took too long).
var errRestart = errs.Unauthenticated("this sign-in did not start in this browser, or took longer than 10 minutes; start again")

// Finish completes a sign-in through provider code: it checks that the
// callback belongs to the flow this browser started (state), redeems the
// code with the PKCE verifier, validates the ID token (signature, issuer,
// audience, expiry, nonce), reads the userinfo claims, applies the
// provider's mapping rules and starts a session. It returns the session
// and where the browser goes next. Every refusal is unauthenticated (or
// conflict, for an unverified email that is already a user's), with the
// cause logged.
func (s *Service) Finish(ctx context.Context, code string, cb Callback) (*identity.Session, string, error) {
	var f flow
	plain, err := s.box.Open(cb.Cookie)
	if err != nil || cb.Cookie == "" || json.Unmarshal([]byte(plain), &f) != nil {
		return nil, "", errRestart
	}
	pr, err := getProvider(ctx, s.db.Read(), "code", code)
	if err != nil || !pr.Enabled || pr.ID != f.Provider {
		return nil, "", errRestart
	}
	if !s.now().Before(f.Expires) || cb.State == "" || subtle.ConstantTimeCompare([]byte(cb.State), []byte(f.State)) != 1 {
		return nil, "", errRestart
	}
	if cb.Error != "" {
		return nil, "", errs.Unauthenticated("the identity provider %s did not sign you in (%s%s)", pr.Name, cb.Error, suffix(cb.ErrorDescription))
	}
	claims, err := s.redeem(ctx, pr, f, cb.Code)
	if err != nil {
		s.log.Warn("single sign-on refused", "provider", pr.Code, "err", err)
		return nil, "", errs.Unauthenticated("the identity provider %s's answer could not be verified; start again, or ask an administrator to look at Steward's log", pr.Name)
	}
	m := Evaluate(pr.Rules, claims)
	email, _ := claims["email"].(string)
	name, _ := claims["name"].(string)
	if name == "" {
		name, _ = claims["preferred_username"].(string)
	}
	verified := false
	switch v := claims["email_verified"].(type) {
	case bool:
		verified = v
	case string:
		verified = v == "true"
	}
	sub, _ := claims["sub"].(string)
	sess, _, err := s.ids.SignInExternal(ctx, identity.ExternalSignIn{ProviderID: pr.ID, ProviderCode: pr.Code, Subject: sub,
		Email: email, EmailVerified: verified, Name: name, OrgUnitID: m.OrgUnitID, Grants: m.Grants})
	if err != nil {
		return nil, "", err
	}
	return sess, f.Next, nil
}

func suffix(desc string) string {
	if desc == "" {
		return ""
	}
	if len(desc) > 200 {
		desc = desc[:200]
	}
	return ": " + desc
}

// refusal is a reason a provider's answer is not accepted, for the log.
type refusal string

func (r refusal) Error() string { return string(r) }

// redeem exchanges the code, validates the ID token and returns its claims
// with the userinfo endpoint's.
func (s *Service) redeem(ctx context.Context, pr *Provider, f flow, code string) (map[string]any, error) {
	if code == "" {
		return nil, refusal("the callback has no code")
	}
	op, err := s.discover(ctx, pr.IssuerURL)
	if err != nil {
		return nil, err
	}
	secret, err := s.box.Open(pr.sealedSecret)
	if err != nil {
		return nil, err
	}
	ctx = gooidc.ClientContext(ctx, s.Client)
	cfg := oauth2.Config{ClientID: pr.ClientID, ClientSecret: secret, Endpoint: op.Endpoint(), RedirectURL: f.Redirect, Scopes: pr.Scopes}
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return nil, err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, refusal("the token response has no id_token")
	}
	idt, err := op.VerifierContext(ctx, &gooidc.Config{ClientID: pr.ClientID, Now: s.now}).Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return nil, refusal("the ID token's nonce is not the one this sign-in sent")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, err
	}
	if op.UserInfoEndpoint() != "" {
		ui, err := op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, err
		}
		if ui.Subject != idt.Subject {
			return nil, refusal("the userinfo subject is not the ID token's")
		}
		var more map[string]any
		if err := ui.Claims(&more); err != nil {
			return nil, err
		}
		for k, v := range more {
			if _, ok := claims[k]; !ok {
				claims[k] = v
			}
		}
	}
	if sub, _ := claims["sub"].(string); strings.TrimSpace(sub) == "" {
		return nil, refusal("the ID token has no subject")
	}
	return claims, nil
}
