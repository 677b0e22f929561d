package main

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrivatePerms checks what start-up makes private and what it leaves
// alone.
func TestPrivatePerms(t *testing.T) {
	tmp := t.TempDir()
	real := filepath.Join(tmp, "real")
	outside := filepath.Join(tmp, "outside")
	for _, d := range []string{real, filepath.Join(real, "spool"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(tmp, "var")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	files := map[string]fs.FileMode{
		filepath.Join(real, "printgate.db"):       0o644,
		filepath.Join(real, "spool", "1.doc"):     0o640,
		filepath.Join(real, "instance.id"):        0o400,
		filepath.Join(outside, "credentials.key"): 0o644,
		filepath.Join(outside, "notes.txt"):       0o644,
	}
	for p, m := range files {
		if err := os.WriteFile(p, nil, m); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, m); err != nil {
			t.Fatal(err)
		}
	}
	// A link inside the data dir to a file that is not printgate's.
	if err := os.Symlink(filepath.Join(outside, "notes.txt"), filepath.Join(real, "notes")); err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig()
	cfg.DataDir = link
	cfg.Credentials.KeyFile = filepath.Join(outside, "credentials.key")
	var logs bytes.Buffer
	if err := privatePerms(cfg, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want fs.FileMode
	}{
		{real, 0o700},
		{filepath.Join(real, "spool"), 0o700},
		{filepath.Join(real, "printgate.db"), 0o600},
		{filepath.Join(real, "spool", "1.doc"), 0o600},
		{filepath.Join(real, "instance.id"), 0o400},        // stricter: left alone
		{filepath.Join(outside, "credentials.key"), 0o600}, // a key file elsewhere
		{filepath.Join(outside, "notes.txt"), 0o644},       // reached only by a link
		{outside, 0o755},
	}
	for _, tt := range tests {
		st, err := os.Stat(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != tt.want {
			t.Errorf("%s is %v, want %v", tt.path, st.Mode().Perm(), tt.want)
		}
	}
	if n := strings.Count(logs.String(), "made private"); n != 5 {
		t.Errorf("logged %d fixes, want 5:\n%s", n, logs.String())
	}
}

// TestPrivateEntryGone: a file the running server removes between the
// walk's reading of its directory and its visit (as a backup walks the
// data dir during submissions) is skipped, not an error; any other
// failure still is one.
func TestPrivateEntryGone(t *testing.T) {
	dir := t.TempDir()
	gone := filepath.Join(dir, "1.doc.tmp")
	if err := os.WriteFile(gone, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("read dir: %v, %d entries", err, len(entries))
	}
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if err := privateEntry(gone, entries[0], nil, log); err != nil {
		t.Errorf("a file removed during the walk: %v, want it skipped", err)
	}
	denied := &fs.PathError{Op: "open", Path: dir, Err: fs.ErrPermission}
	if err := privateEntry(dir, entries[0], denied, log); err == nil {
		t.Error("a walk error other than a missing file was swallowed")
	}
}
