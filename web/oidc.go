package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Single sign-on to the console by OpenID Connect: the authorization code
// flow with PKCE, a state and a nonce (oidcsignin.go holds the handlers).
// The identity provider only vouches for a name; the directory still
// decides who that is and what they may do: the configured claim names a
// directory login (in any case), and its roles come from the directory as
// after a password sign-in. A domain in the name (DOMAIN\name,
// name@domain) must be one of OIDCConfig.Domains: a provider may hold
// accounts of other companies (guests, other tenants), and alice@evil
// is not alice. The owner mapping's aliases and domain stripping, made for
// the names print clients send, are never a way into the console.

// OIDCConfig configures sign-in to the console by an OpenID Provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, exactly as its discovery
	// document and its ID tokens name it.
	Issuer string
	// ClientID and ClientSecret are printgate's registration at the
	// provider. The secret is read from a file by the caller, never
	// taken from a command line.
	ClientID, ClientSecret string
	// RedirectURL is the absolute address of /signin/oidc/callback as the
	// provider has it registered. It is configured rather than taken from
	// the request's Host header, which the client writes.
	RedirectURL string
	// Claim names the ID token claim that names the user;
	// DefaultOIDCClaim when "". With "email", the token must also say
	// email_verified: true.
	Claim string
	// Scopes are asked for besides openid; profile and email when nil.
	Scopes []string
	// Label is the sign-in button's text; the catalog's when "".
	Label string
	// Domains are the company's own domains, as they appear in the claim
	// (corp.example in hanako@corp.example, CORP in CORP\hanako): a name
	// with a domain signs in only when its domain is listed (compared
	// without case), as the name without it. None: only names without a
	// domain sign in.
	Domains []string
	// HTTPClient talks to the provider; one with a 10 s timeout when nil.
	HTTPClient *http.Client
}

// DefaultOIDCClaim is the claim that names the user when OIDCConfig.Claim
// is empty.
const DefaultOIDCClaim = "preferred_username"

// oidcTimeout bounds each exchange with the provider.
const oidcTimeout = 10 * time.Second

// Errors of the relying party, each shown to the user as its own page.
var (
	// errOIDCUnavailable is a provider that could not be reached or
	// answered an error (a code it refuses included).
	errOIDCUnavailable = errors.New("web: identity provider unavailable")
	// errOIDCToken is an ID token that does not verify: another issuer,
	// another audience, a bad signature, expired, a wrong nonce, or no
	// usable name claim.
	errOIDCToken = errors.New("web: ID token refused")
)

// relyingParty is printgate as an OpenID Connect client. The provider's
// discovery document is fetched on first use and kept, so that a provider
// down while printgate starts does not stop the console.
type relyingParty struct {
	cfg    OIDCConfig
	client *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
}

func newRelyingParty(cfg OIDCConfig) *relyingParty {
	if cfg.Claim == "" {
		cfg.Claim = DefaultOIDCClaim
	}
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"profile", "email"}
	}
	rp := &relyingParty{cfg: cfg, client: cfg.HTTPClient}
	if rp.client == nil {
		rp.client = &http.Client{Timeout: oidcTimeout}
	}
	return rp
}

// ctx carries the relying party's HTTP client to go-oidc and oauth2.
func (rp *relyingParty) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, rp.client)
}

// discover returns the provider, fetching its discovery document the
// first time. go-oidc checks that the document names Issuer.
func (rp *relyingParty) discover(ctx context.Context) (*oidc.Provider, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.provider != nil {
		return rp.provider, nil
	}
	ctx, cancel := context.WithTimeout(ctx, oidcTimeout)
	defer cancel()
	// The key set fetched later keeps this context's client, not its
	// deadline (go-oidc detaches it).
	p, err := oidc.NewProvider(rp.ctx(ctx), rp.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: discovery at %s: %w", errOIDCUnavailable, rp.cfg.Issuer, err)
	}
	rp.provider = p
	return p, nil
}

func (rp *relyingParty) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: rp.cfg.ClientID, ClientSecret: rp.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: rp.cfg.RedirectURL, Scopes: append([]string{oidc.ScopeOpenID}, rp.cfg.Scopes...)}
}

// authURL is where the browser goes to sign in for flow f.
func (rp *relyingParty) authURL(ctx context.Context, f flow) (string, error) {
	p, err := rp.discover(ctx)
	if err != nil {
		return "", err
	}
	return rp.oauth(p).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), nil
}

// exchange redeems code, proving with f's PKCE verifier that this is the
// browser that started the flow, and returns the name the verified ID
// token gives in the configured claim.
func (rp *relyingParty) exchange(ctx context.Context, code string, f flow) (string, error) {
	p, err := rp.discover(ctx)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(rp.ctx(ctx), oidcTimeout)
	defer cancel()
	tok, err := rp.oauth(p).Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	var refused *oauth2.RetrieveError
	switch {
	case errors.As(err, &refused):
		// The provider answered and refused the code: another issuer's,
		// used before, or redeemed without its browser's verifier.
		return "", fmt.Errorf("%w: token endpoint refused the code: %s", errOIDCToken, refused.ErrorCode)
	case err != nil:
		return "", fmt.Errorf("%w: token endpoint: %w", errOIDCUnavailable, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", fmt.Errorf("%w: the token response holds no ID token", errOIDCToken)
	}
	return rp.verify(ctx, p, raw, f.Nonce)
}

// verify checks an ID token (issuer, audience, signature by the
// provider's keys, expiry, nonce) and returns its name claim.
func (rp *relyingParty) verify(ctx context.Context, p *oidc.Provider, raw, nonce string) (string, error) {
	id, err := p.Verifier(&oidc.Config{ClientID: rp.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errOIDCToken, err)
	}
	if nonce == "" || !equalSecret(id.Nonce, nonce) {
		return "", fmt.Errorf("%w: nonce does not match this sign-in", errOIDCToken)
	}
	var claims map[string]any
	if err := id.Claims(&claims); err != nil {
		return "", fmt.Errorf("%w: %w", errOIDCToken, err)
	}
	name, _ := claims[rp.cfg.Claim].(string)
	name = strings.TrimSpace(name)
	if name == "" || len(name) > maxNameLength {
		return "", fmt.Errorf("%w: no usable %q claim", errOIDCToken, rp.cfg.Claim)
	}
	// An address the provider does not say it verified may belong to
	// anyone who typed it.
	if verified, _ := claims["email_verified"].(bool); rp.cfg.Claim == "email" && !verified {
		return "", fmt.Errorf("%w: email not verified by the provider", errOIDCToken)
	}
	return name, nil
}

// ValidateOIDC checks c as a configuration would be, naming each problem
// by its key under the oidc section.
func ValidateOIDC(c OIDCConfig) error {
	var errs []error
	check := func(key, value string, absolute bool) {
		u, err := url.Parse(value)
		switch {
		case value == "":
			errs = append(errs, fmt.Errorf("%s: required", key))
		case absolute && (err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http")):
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", key, value))
		}
	}
	check("issuer", c.Issuer, true)
	if u, err := url.Parse(c.Issuer); err == nil && u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		// Over plain HTTP anyone on the path could serve the keys that
		// sign the ID tokens, and sign in as anyone.
		errs = append(errs, fmt.Errorf("issuer: %q: the provider must be reached by https", c.Issuer))
	}
	check("client_id", c.ClientID, false)
	check("redirect_url", c.RedirectURL, true)
	if u, err := url.Parse(c.RedirectURL); err == nil && u.Host != "" && u.Path != oidcCallbackPath {
		errs = append(errs, fmt.Errorf("redirect_url: the path must be %s", oidcCallbackPath))
	}
	if c.ClientSecret == "" {
		errs = append(errs, errors.New("client secret: required"))
	}
	return errors.Join(errs...)
}

// loopbackHost reports whether host is this machine's: "localhost" or a
// loopback address.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
