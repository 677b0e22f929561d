package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/web"
)

// TestConsoleOIDCConfig checks console.oidc: every key it needs is named
// when missing or wrong, the client secret comes from a file only
// printgate's user may read, and never from the config itself.
func TestConsoleOIDCConfig(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "oidc-secret")
	os.WriteFile(secretFile, []byte("s3cret-from-file\n"), 0o600)
	open := filepath.Join(dir, "open-secret")
	os.WriteFile(open, []byte("s3cret\n"), 0o644)
	empty := filepath.Join(dir, "empty-secret")
	os.WriteFile(empty, []byte("\n"), 0o600)
	good := func(edit string) string {
		return "console:\n  oidc:\n    issuer: https://login.corp.example\n    client_id: printgate\n" +
			"    redirect_url: https://print.corp.example/signin/oidc/callback\n" + edit
	}
	for _, tc := range []struct {
		name, yaml, wantErr string
	}{
		{"good", good("    client_secret_file: " + secretFile + "\n    claim: email\n    domains: [corp.example]\n"), ""},
		{"secret inline", good("    client_secret: s3cret\n"), `unknown key "client_secret"`},
		{"no secret file", good(""), "console.oidc.client_secret_file: required"},
		{"missing secret file", good("    client_secret_file: " + filepath.Join(dir, "nope") + "\n"), "no such file"},
		{"secret readable by others", good("    client_secret_file: " + open + "\n"), "every user on the host has access to it"},
		{"empty secret", good("    client_secret_file: " + empty + "\n"), "empty"},
		{"no issuer", strings.Replace(good("    client_secret_file: "+secretFile+"\n"), "issuer: https://login.corp.example", "issuer: ''", 1),
			"console.oidc: issuer: required"},
		{"issuer not a URL", strings.Replace(good("    client_secret_file: "+secretFile+"\n"), "https://login.corp.example", "login.corp.example", 1),
			"issuer"},
		{"issuer over plain http", strings.Replace(good("    client_secret_file: "+secretFile+"\n"), "https://login.corp.example", "http://login.corp.example", 1),
			"the provider must be reached by https"},
		{"wrong callback path", strings.Replace(good("    client_secret_file: "+secretFile+"\n"), "/signin/oidc/callback", "/callback", 1),
			"redirect_url: the path must be /signin/oidc/callback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tc.yaml), 0o600)
			c, err := loadConfig(path, t.TempDir())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st := openStackT(t, c)
			var opts = st.consoleOptions(nil)
			if err := st.consoleSSO(&opts); err != nil {
				t.Fatal(err)
			}
			if opts.OIDC == nil || opts.OIDC.ClientSecret != "s3cret-from-file" || opts.OIDC.Claim != "email" ||
				!slices.Equal(opts.OIDC.Domains, []string{"corp.example"}) {
				t.Fatalf("console options %+v", opts.OIDC)
			}
		})
	}
}

// TestConsoleSignInRecorded keeps a console sign-in's method and a
// refusal's reason in the audit trail's own fields.
func TestConsoleSignInRecorded(t *testing.T) {
	cfg := defaultConfig()
	cfg.DataDir = t.TempDir()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	st := openStackT(t, cfg)
	ctx := t.Context()
	rec := consoleAudit{st}
	for _, a := range []web.Action{
		{Name: web.ActionSignIn, Actor: "hanako", Target: "hanako", Method: web.MethodOIDC, Role: "user"},
		{Name: web.ActionLoginFailed, Actor: audit.ActorSystem, Method: web.MethodOIDC, Reason: "no directory user",
			Details: map[string]string{"claim": "mallory"}},
	} {
		if err := st.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return rec.RecordAction(ctx, tx, a) }); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for ev, err := range st.audit.Events(ctx, audit.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Type+" "+ev.Owner+" "+ev.Method+" "+ev.Reason+" "+ev.Details["claim"])
	}
	want := []string{"signed-in hanako oidc  ", "login-failed  oidc no directory user mallory"}
	if !slices.Equal(got, want) {
		t.Fatalf("recorded %q, want %q", got, want)
	}
}
