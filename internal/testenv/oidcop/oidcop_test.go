package oidcop

import (
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestFlow signs in at the provider with PKCE and verifies the ID token
// with go-oidc, as the console's relying party does.
func TestFlow(t *testing.T) {
	const redirect = "http://127.0.0.1:1/callback"
	p := Start(t, Options{ClientID: "printgate", ClientSecret: "s3cret", RedirectURIs: []string{redirect},
		Users: []User{{Subject: "u1", Username: "hanako", Password: "pw", Email: "hanako@corp.example", EmailVerified: true}}})
	ctx := t.Context()
	prov, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: "printgate", ClientSecret: "s3cret", Endpoint: prov.Endpoint(),
		RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
	verifier := oauth2.GenerateVerifier()
	back, err := SignIn(ctx, conf.AuthCodeURL("st", oidc.Nonce("n1"), oauth2.S256ChallengeOption(verifier)), "hanako", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if back.Query().Get("state") != "st" {
		t.Fatalf("redirect %s", back)
	}
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := prov.Verifier(&oidc.Config{ClientID: "printgate"}).Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Username string `json:"preferred_username"`
	}
	if err := id.Claims(&claims); err != nil || claims.Username != "hanako" || id.Nonce != "n1" {
		t.Fatalf("claims %+v nonce %q: %v", claims, id.Nonce, err)
	}
	if got := p.Challenges(); len(got) != 1 || got[0] != "S256" {
		t.Fatalf("challenges %q", got)
	}
	// A code is good once.
	if _, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a code was redeemed twice")
	}
}
