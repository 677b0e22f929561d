package secret

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestLoadOrCreateKeyFileRace: two first starts at once, many times
// over, both get the same whole key, the one that is in the file.
func TestLoadOrCreateKeyFileRace(t *testing.T) {
	dir := t.TempDir()
	for round := range 500 {
		path := filepath.Join(dir, fmt.Sprintf("credentials-%d.key", round))
		var keys [2][]byte
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range keys {
			wg.Go(func() {
				<-start
				keys[i], errs[i] = LoadOrCreateKeyFile(path, 32)
			})
		}
		close(start)
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: %v; %v", round, errs[0], errs[1])
		}
		onDisk, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys[0]) != 32 || !bytes.Equal(keys[0], keys[1]) || !bytes.Equal(keys[0], onDisk) {
			t.Fatalf("round %d: keys %x and %x, file %x: want one 32-byte key", round, keys[0], keys[1], onDisk)
		}
	}
	if left := tempFiles(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestLoadOrCreateKeyFileAfterCrash: what a crash in the middle of a
// first start leaves (a temporary file half written, before the key was
// in place; or a second name of the key, after) does not stop the next
// start, which keeps the key in place (or makes one) and removes the
// leftovers, each holding a key no file may keep.
func TestLoadOrCreateKeyFileAfterCrash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.key")
	half := path + ".ABCDEFGHIJ.tmp"
	if err := os.WriteFile(half, []byte("half a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := LoadOrCreateKeyFile(path, 32)
	if err != nil || len(key) != 32 {
		t.Fatalf("first start after a crash before the key was in place: %x, %v", key, err)
	}
	// Crashed after the link, before the temporary name was removed.
	if err := os.Link(path, path+".KLMNOPQRST.tmp"); err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateKeyFile(path, 32)
	if err != nil || !bytes.Equal(again, key) {
		t.Fatalf("start after a crash after the key was in place: %x, %v; want the key %x", again, err, key)
	}
	if left := tempFiles(t, dir); len(left) > 0 {
		t.Errorf("leftovers of the crashes still there: %v", left)
	}
}

// TestLoadOrCreateKeyFileRefuses: a key others may read, or of the wrong
// length, is refused, as before keys were created whole.
func TestLoadOrCreateKeyFileRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
		mode os.FileMode
		want string
	}{
		{"readable", bytes.Repeat([]byte{1}, 32), 0o644, "readable by others"},
		{"empty", nil, 0o600, "has 0 bytes, want 32"},
		{"long", bytes.Repeat([]byte{1}, 64), 0o600, "has more than 32 bytes"},
	} {
		path := filepath.Join(dir, tc.name+".key")
		if err := os.WriteFile(path, tc.data, tc.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateKeyFile(path, 32); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

// tempFiles lists the *.tmp files in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
