package main

import (
	"errors"
	"os"
	"testing"

	"github.com/printgate/printgate/release/directory"
)

// TestSetPasswordAfterLostKey replaces credentials.key, as a restore
// without it would: the built-in user's password no longer verifies, and
// "printgate user set-password" brings the account back.
func TestSetPasswordAfterLostKey(t *testing.T) {
	cfg := newConfig(t, "")
	runCLI(t, cfg, "dave-secret\n", "user", "add", "dave")
	if err := os.Remove(cfg.credentialKeyFile()); err != nil {
		t.Fatal(err)
	}
	authenticate := func(password string) error {
		st, err := openStack(t.Context(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, err = st.dir.Authenticate(t.Context(), "dave", password)
		return err
	}
	if err := authenticate("dave-secret"); !errors.Is(err, directory.ErrInvalidCredentials) {
		t.Fatalf("with a new credentials.key the old password: %v, want invalid credentials", err)
	}
	if _, err := tryCLI(t, cfg, "", "user", "set-password", "dave"); err == nil {
		t.Error("set-password with no password on standard input succeeded")
	}
	runCLI(t, cfg, "dave-new-secret\n", "user", "set-password", "dave")
	if err := authenticate("dave-new-secret"); err != nil {
		t.Fatalf("after set-password: %v", err)
	}
	if _, err := tryCLI(t, cfg, "x-long-secret\n", "user", "set-password", "nobody"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("set-password for an unknown user: %v, want not found", err)
	}
}
