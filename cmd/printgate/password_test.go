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
	// A console session the old password opened (or whoever took it).
	st, err := openStack(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = st.db.Exec(`INSERT INTO web_sessions (id_hash, user_name, role, created_at, seen_at, expires_at)
		VALUES ('x', 'dave', 'user', 0, 0, ?)`, int64(1)<<60).Error
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	runCLI(t, cfg, "dave-new-secret\n", "user", "set-password", "DAVE")
	if err := authenticate("dave-new-secret"); err != nil {
		t.Fatalf("after set-password: %v", err)
	}
	st, err = openStack(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sessions int64
	st.db.Raw(`SELECT count(*) FROM web_sessions WHERE user_name = 'dave'`).Scan(&sessions)
	st.Close()
	if sessions != 0 {
		t.Errorf("%d console sessions of dave outlived set-password", sessions)
	}
	if _, err := tryCLI(t, cfg, "x-long-secret\n", "user", "set-password", "nobody"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("set-password for an unknown user: %v, want not found", err)
	}
}
