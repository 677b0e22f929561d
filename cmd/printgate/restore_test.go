package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/printgate/printgate/release/spool"
)

// TestRestoreRefuses: a short passphrase, an existing file, a wrong
// passphrase, a cut archive, a data dir that is not empty, a database of
// the other kind and a --sha256 that is not the archive's (which a
// passphrase backup needs not, but checks if given) are each refused with a message saying so, and a
// refused restore leaves the data dir as empty as it found it; the
// archive holds no key and no user name in clear, and restores from a
// named pipe as from a file.
func TestRestoreRefuses(t *testing.T) {
	cfg := newConfig(t, "")
	runCLI(t, cfg, "bob-secret\n", "user", "add", "bob", "--display-name", "Bob Backup")
	if _, err := spool.LoadOrCreateKey(cfg.spoolKeyFile()); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "printgate.backup")
	if out, err := tryCLI(t, cfg, "short\n", "backup", archive); err == nil || !strings.Contains(err.Error(), "at least") {
		t.Errorf("backup with a short passphrase: %v\n%s", err, out)
	}
	runCLI(t, cfg, backupPassphrase+"\n", "backup", archive)
	if out, err := tryCLI(t, cfg, backupPassphrase+"\n", "backup", archive); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup over an existing file: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	masterKey, _ := os.ReadFile(cfg.spoolKeyFile())
	for _, clear := range []string{"Bob Backup", "SQLite format", strings.TrimSpace(string(masterKey))} {
		if strings.Contains(string(raw), clear) {
			t.Errorf("the archive holds %q in clear", clear)
		}
	}
	cut := filepath.Join(t.TempDir(), "cut.backup")
	if err := os.WriteFile(cut, raw[:len(raw)-200], 0o600); err != nil {
		t.Fatal(err)
	}

	fresh := cfg
	fresh.DataDir = filepath.Join(t.TempDir(), "restored")
	otherKind := fresh
	otherKind.Database.URL = "postgres://printgate@127.0.0.1:1/none"
	for _, tc := range []struct {
		name, file, pass string
		cfg              Config
		want             string
		args             []string
	}{
		{"wrong passphrase", archive, "not-the-backup-passphrase", fresh, "wrong passphrase", nil},
		{"cut archive", cut, backupPassphrase, fresh, "tampered with", nil},
		{"data dir not empty", archive, backupPassphrase, cfg, "is not empty", nil},
		{"other database", archive, backupPassphrase, otherKind, "holds a sqlite database", nil},
		{"other sha256", archive, backupPassphrase, fresh, "not the archive", []string{"--sha256", fileSum(t, cut)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tryCLI(t, tc.cfg, tc.pass+"\n", append([]string{"restore", tc.file}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("restore: %v, want an error saying %q\n%s", err, tc.want, out)
			}
			if entries, _ := os.ReadDir(fresh.DataDir); len(entries) > 0 {
				t.Errorf("a refused restore left %d entries in the data dir", len(entries))
			}
		})
	}
	// From a pipe, as from a download streamed in (<(aws s3 cp ... -)).
	runCLI(t, fresh, backupPassphrase+"\n", "restore", fifoOf(t, archive))
	if out := runCLI(t, fresh, "", "user", "list"); !strings.Contains(out, "bob") {
		t.Errorf("user list after the restore:\n%s", out)
	}
	// Both are admin events: the backup in the trail it copied (after its
	// snapshot), the restore in the restored trail, which still verifies.
	if out := runCLI(t, cfg, "", "audit", "export", "--format", "jsonl"); !strings.Contains(out, `"backup-made"`) {
		t.Errorf("the backup is not in the audit trail:\n%s", out)
	}
	if out := runCLI(t, fresh, "", "audit", "export", "--format", "jsonl"); !strings.Contains(out, `"backup-restored"`) ||
		strings.Contains(out, `"backup-made"`) {
		t.Errorf("the restored trail does not end with the restore:\n%s", out)
	}
	runCLI(t, fresh, "", "audit", "verify")
}

// fifoOf returns a named pipe that yields the file at path once.
func fifoOf(t *testing.T, path string) string {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "archive.pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		r, err := os.Open(path)
		if err != nil {
			return
		}
		defer r.Close()
		_, _ = io.Copy(w, r)
	}()
	return fifo
}

// TestAgeIdentities: standard input holds age identities when its first
// line that is not blank or a comment is one (age-keygen's file starts
// with two comments); anything else is a passphrase.
func TestAgeIdentities(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"AGE-SECRET-KEY-1XYZ\n", true},
		{"# created: 2026-12-02\n# public key: age1abc\nAGE-SECRET-KEY-1XYZ\n", true},
		{"\n  AGE-SECRET-KEY-1XYZ", true},
		{"tokyo-payroll-backup-2026\n", false},
		{"# a passphrase that starts like a comment\n", false},
		{"", false},
	} {
		if got := ageIdentities(tc.in); got != tc.want {
			t.Errorf("ageIdentities(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
