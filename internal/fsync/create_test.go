package fsync

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestCreateFile: the file is made whole with its mode, never over one
// that exists, and no temporary name stays behind.
func TestCreateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	if err := CreateFile(path, []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CreateFile(path, []byte("second"), 0o600); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateFile over an existing file: %v, want fs.ErrExist", err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "first" {
		t.Errorf("file holds %q, %v; want the first one's", got, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"master.key"}) {
		t.Errorf("folder holds %v, want only master.key", names)
	}
}

// TestRemoveTemps: the temporary files of CreateFile of one path go;
// other files, those of other paths included, stay.
func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.key")
	for _, name := range []string{"audit.key", "audit.key.ABCDEFGHIJ.tmp", "audit.key.KLMNOPQRST.tmp",
		"audit.key.old.tmp", "audit.keys.ABCDEFGHIJ.tmp", "master.key.ABCDEFGHIJ.tmp", "notes.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveTemps(path); err != nil {
		t.Fatal(err)
	}
	want := []string{"audit.key", "audit.key.old.tmp", "audit.keys.ABCDEFGHIJ.tmp", "master.key.ABCDEFGHIJ.tmp", "notes.tmp"}
	if names := dirNames(t, dir); !slices.Equal(names, want) {
		t.Errorf("left %v, want %v", names, want)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
