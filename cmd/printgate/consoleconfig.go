package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/printgate/printgate/web"
)

// ConsoleConfig sets the web console.
type ConsoleConfig struct {
	// OIDC, when set, offers sign-in by the company's OpenID Provider
	// beside the password form.
	OIDC *OIDCConfig `yaml:"oidc,omitempty"`
}

// OIDCConfig is the console's single sign-on by OpenID Connect
// (web.OIDCConfig). The name the provider gives in Claim is a directory
// login, with a domain only when the domain is in Domains; the roles come
// from the directory. Aliases and owners.strip_domain are for print
// clients' names and are not used here.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL.
	Issuer string `yaml:"issuer"`
	// ClientID is printgate's client at the provider.
	ClientID string `yaml:"client_id"`
	// ClientSecretFile holds the client secret (one line), readable by
	// printgate's user alone: a secret is never a setting or an
	// argument.
	ClientSecretFile string `yaml:"client_secret_file"`
	// RedirectURL is https://HOST/signin/oidc/callback as registered at
	// the provider.
	RedirectURL string `yaml:"redirect_url"`
	// Claim names the user; default preferred_username. Choose a claim
	// the provider's users cannot edit themselves.
	Claim string `yaml:"claim,omitempty"`
	// Domains are the company's domains as they appear in the claim
	// (corp.example for hanako@corp.example, CORP for CORP\hanako): a
	// name with another domain, or with a domain when none is listed, is
	// refused.
	Domains []string `yaml:"domains,omitempty"`
	// Scopes are asked for besides openid; default profile and email.
	Scopes []string `yaml:"scopes,omitempty"`
	// Label is the sign-in button's text; default "Sign in with your
	// company account" in the page's language.
	Label string `yaml:"label,omitempty"`
}

// checkConsole checks the console's settings.
func (c *Config) checkConsole(p *problems) {
	o := c.Console.OIDC
	if o == nil {
		return
	}
	if err := web.ValidateOIDC(o.web("-")); err != nil {
		for _, e := range strings.Split(err.Error(), "\n") {
			p.add("console.oidc", "%s", e)
		}
	}
	if o.ClientSecretFile == "" {
		p.add("console.oidc.client_secret_file", "required: a file that holds the client secret")
	} else if _, err := o.secret(); err != nil {
		p.add("console.oidc.client_secret_file", "%v", err)
	}
}

// web is the relying party's configuration with secret.
func (o OIDCConfig) web(secret string) web.OIDCConfig {
	return web.OIDCConfig{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: secret, RedirectURL: o.RedirectURL,
		Claim: o.Claim, Scopes: o.Scopes, Label: o.Label, Domains: o.Domains}
}

// secret reads the client secret. A file others may read is refused
// (checkSecretFile): whoever reads the secret can pose as printgate to
// the provider.
func (o OIDCConfig) secret() (string, error) {
	fi, err := checkSecretFile(o.ClientSecretFile)
	if err != nil {
		return "", err
	}
	if fi.Size() > 4096 {
		return "", fmt.Errorf("%s: longer than a client secret (%d bytes)", o.ClientSecretFile, fi.Size())
	}
	raw, err := os.ReadFile(o.ClientSecretFile)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(raw))
	if s == "" {
		return "", fmt.Errorf("%s: %w", o.ClientSecretFile, errEmptySecret)
	}
	return s, nil
}

var errEmptySecret = errors.New("empty")

// consoleSSO adds the configured single sign-on to the console's opts.
func (st *stack) consoleSSO(opts *web.Options) error {
	o := st.cfg.Console.OIDC
	if o == nil {
		return nil
	}
	secret, err := o.secret()
	if err != nil {
		return fmt.Errorf("config: console.oidc.client_secret_file: %w", err)
	}
	cfg := o.web(secret)
	opts.OIDC = &cfg
	return nil
}
