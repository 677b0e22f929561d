package main

import (
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/printgate/printgate/release/spool"
)

// TestBackupToKeys: with --recipients the archive is encrypted to the age
// public keys read from standard input, and restored with the matching
// identity (AGE-SECRET-KEY-1...) on standard input and the archive's
// SHA-256; a passphrase, or another identity, does not open it.
func TestBackupToKeys(t *testing.T) {
	cfg := newConfig(t, "")
	runCLI(t, cfg, "bob-secret\n", "user", "add", "bob")
	if _, err := spool.LoadOrCreateKey(cfg.spoolKeyFile()); err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	archive := filepath.Join(t.TempDir(), "printgate.backup")
	runCLI(t, cfg, "# the backup key\n"+id.Recipient().String()+"\n", "backup", "--recipients", archive)
	sum := fileSum(t, archive)
	fresh := cfg
	fresh.DataDir = filepath.Join(t.TempDir(), "restored")
	for _, wrong := range []string{other.String() + "\n", backupPassphrase + "\n"} {
		if out, err := tryCLI(t, fresh, wrong, "restore", archive, "--sha256", sum); err == nil ||
			!strings.Contains(err.Error(), "wrong passphrase or key") {
			t.Errorf("restore with the wrong identity: %v\n%s", err, out)
		}
	}
	runCLI(t, fresh, id.String()+"\n", "restore", archive, "--sha256", sum)
	if out := runCLI(t, fresh, "", "user", "list"); !strings.Contains(out, "bob") {
		t.Errorf("user list after the restore:\n%s", out)
	}
}
