package spool

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// testKeyHex is a fixed key for tests that need to know the raw bytes.
const testKeyHex = "00112233445566778899aabbccddeeff0f1e2d3c4b5a69788796a5b4c3d2e1f0"

func testKeyRaw(t *testing.T) []byte {
	t.Helper()
	raw, err := hex.DecodeString(testKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// sameKey reports whether a and b are the same key: what one wraps, the
// other unwraps.
func sameKey(a, b MasterKey) bool {
	dataKey := bytes.Repeat([]byte{7}, KeySize)
	_, _, err := b.unwrap("n", a.wrap("n", dataKey, 5))
	return err == nil
}

func TestParseKey(t *testing.T) {
	raw := testKeyRaw(t)
	want, err := newMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	valid := []struct{ name, text string }{
		{"hex", testKeyHex},
		{"hex upper case", strings.ToUpper(testKeyHex)},
		{"base64", base64.StdEncoding.EncodeToString(raw)},
		{"base64 unpadded", base64.RawStdEncoding.EncodeToString(raw)},
		{"base64 url", base64.URLEncoding.EncodeToString(raw)},
		{"base64 url unpadded", base64.RawURLEncoding.EncodeToString(raw)},
		{"surrounding space", "  " + base64.StdEncoding.EncodeToString(raw) + "\n"},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKey(tc.text)
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if !sameKey(got, want) {
				t.Error("parsed key differs from the raw key")
			}
		})
	}

	invalid := []struct{ name, text string }{
		{"empty", ""},
		{"short hex", testKeyHex[:62]},
		{"long hex", testKeyHex + "00"},
		{"hex with a non-hex digit", "zz" + testKeyHex[2:]},
		{"base64 of 31 bytes", base64.StdEncoding.EncodeToString(raw[:31])},
		{"base64 of 48 bytes", base64.StdEncoding.EncodeToString(append(raw, raw[:16]...))},
		{"not base64", strings.Repeat("!", 44)},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKey(tc.text)
			if err == nil {
				t.Fatal("ParseKey accepted it")
			}
			if tc.text != "" && strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q shows the key text", err)
			}
		})
	}
}

func TestLoadOrCreateKeyCreates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("first LoadOrCreateKey: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file permissions = %04o, want 0600", perm)
	}
	if fi.Size() != KeySize {
		t.Errorf("key file size = %d, want %d", fi.Size(), KeySize)
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("second LoadOrCreateKey: %v", err)
	}
	if !sameKey(k1, k2) {
		t.Error("second call returned a different key: the file was not reused")
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file", len(entries))
	}
}

func TestLoadOrCreateKeyRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	keys := make([]MasterKey, 4)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = LoadOrCreateKey(path) })
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil {
			t.Fatalf("LoadOrCreateKey %d: %v", i, errs[i])
		}
		if !sameKey(keys[0], keys[i]) {
			t.Errorf("LoadOrCreateKey %d returned another key than the first", i)
		}
	}
}

func TestLoadOrCreateKeyExisting(t *testing.T) {
	raw := testKeyRaw(t)
	want, err := newMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content []byte
		perm    os.FileMode
		wantErr string // substring; empty means success
	}{
		{"raw bytes", raw, 0o600, ""},
		{"owner read only", raw, 0o400, ""},
		{"base64 text with newline", []byte(base64.StdEncoding.EncodeToString(raw) + "\n"), 0o600, ""},
		{"hex text", []byte(testKeyHex), 0o600, ""},
		{"world readable", raw, 0o644, "permissions 0644"},
		{"group readable", raw, 0o640, "permissions 0640"},
		{"too short", raw[:31], 0o600, "holds 31 bytes"},
		{"too long", append(append([]byte{}, raw...), 0), 0o600, "holds 33 bytes"},
		{"empty", nil, 0o600, "holds 0 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			// Chmod after writing: WriteFile's mode is subject to umask.
			if err := os.Chmod(path, tc.perm); err != nil {
				t.Fatal(err)
			}
			got, err := LoadOrCreateKey(path)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("LoadOrCreateKey: %v", err)
				}
				if !sameKey(got, want) {
					t.Error("loaded key differs")
				}
				return
			}
			if err == nil {
				t.Fatalf("LoadOrCreateKey accepted it, want error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), testKeyHex) {
				t.Errorf("error %q shows key material", err)
			}
			after, rerr := os.ReadFile(path)
			if rerr != nil || !bytes.Equal(after, tc.content) {
				t.Error("a refused key file was changed")
			}
		})
	}
}

func TestLoadOrCreateKeyNotAFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreateKey(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory as key file: err = %v", err)
	}
	missing := filepath.Join(dir, "no", "such", "dir", "master.key")
	if _, err := LoadOrCreateKey(missing); err == nil {
		t.Error("key file in a missing directory: no error")
	}
}

func TestMasterKeyIsRedacted(t *testing.T) {
	raw := testKeyRaw(t)
	k, err := newMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("loaded", "key", k)

	type config struct {
		Key    MasterKey
		hidden MasterKey
	}
	outputs := map[string]string{
		"%v":          fmt.Sprintf("%v", k),
		"%+v":         fmt.Sprintf("%+v", k),
		"%#v":         fmt.Sprintf("%#v", k),
		"%s":          fmt.Sprintf("%s", k),
		"%x":          fmt.Sprintf("%x", k),
		"%d":          fmt.Sprintf("%d", k),
		"%q":          fmt.Sprintf("%q", k),
		"struct %+v":  fmt.Sprintf("%+v", config{k, k}),
		"struct %#v":  fmt.Sprintf("%#v", config{k, k}),
		"pointer %+v": fmt.Sprintf("%+v", &config{k, k}),
		"slog":        logged.String(),
	}
	secrets := []string{
		testKeyHex,
		hex.EncodeToString(raw[:8]),
		base64.StdEncoding.EncodeToString(raw)[:16],
		fmt.Sprint(raw[:8])[1:15], // decimal bytes as fmt prints a slice
	}
	for verb, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output %q contains key material", verb, out)
			}
		}
	}
	if !strings.Contains(outputs["%v"], "redacted") {
		t.Errorf("%%v = %q, want the redacted placeholder", outputs["%v"])
	}
}

func TestZeroMasterKeyRefused(t *testing.T) {
	if _, err := Open(t.TempDir(), MasterKey{}); err == nil {
		t.Error("Open accepted the zero MasterKey")
	}
}

func TestUnwrapRejects(t *testing.T) {
	k := GenerateKey()
	dataKey := bytes.Repeat([]byte{1}, KeySize)
	wrapped := k.wrap("doc", dataKey, 1234)
	got, size, err := k.unwrap("doc", wrapped)
	if err != nil || !bytes.Equal(got, dataKey) || size != 1234 {
		t.Fatalf("unwrap = %x, %d, %v; want the data key, 1234, nil", got, size, err)
	}
	tests := []struct {
		name    string
		key     MasterKey
		docName string
		wrapped []byte
	}{
		{"other master key", GenerateKey(), "doc", wrapped},
		{"other name", k, "doc2", wrapped},
		{"empty", k, "doc", nil},
		{"truncated", k, "doc", wrapped[:len(wrapped)-1]},
		{"unknown version", k, "doc", flipped(wrapped, 0, 0x02)},
		{"flipped nonce bit", k, "doc", flipped(wrapped, 1, 0x01)},
		{"flipped ciphertext bit", k, "doc", flipped(wrapped, 20, 0x80)},
		{"flipped tag bit", k, "doc", flipped(wrapped, len(wrapped)-1, 0x01)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := tc.key.unwrap(tc.docName, tc.wrapped); !errors.Is(err, ErrCorrupt) {
				t.Errorf("unwrap err = %v, want ErrCorrupt", err)
			}
		})
	}
}

// flipped returns a copy of b with b[i] XORed with mask.
func flipped(b []byte, i int, mask byte) []byte {
	c := bytes.Clone(b)
	c[i] ^= mask
	return c
}

// TestWrapKey: a key wrapped for another use opens only with the same
// master key and name, never as a document's key, and nothing of it
// shows in the wrapped bytes.
func TestWrapKey(t *testing.T) {
	s, err := Open(t.TempDir(), GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := Open(t.TempDir(), GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	key := bytes.Repeat([]byte{0x5a}, KeySize)
	wrapped := s.WrapKey("journal segment 3", key)
	if bytes.Contains(wrapped, key[:8]) {
		t.Error("the wrapped key shows the key")
	}
	got, err := s.UnwrapKey("journal segment 3", wrapped)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("UnwrapKey = %x, %v; want the key", got, err)
	}
	altered := bytes.Clone(wrapped)
	altered[len(altered)-1] ^= 1
	for name, try := range map[string]func() error{
		"another name":       func() error { _, err := s.UnwrapKey("journal segment 4", wrapped); return err },
		"another master key": func() error { _, err := other.UnwrapKey("journal segment 3", wrapped); return err },
		"altered":            func() error { _, err := s.UnwrapKey("journal segment 3", altered); return err },
		"cut short":          func() error { _, err := s.UnwrapKey("journal segment 3", wrapped[:5]); return err },
		"as a document's":    func() error { _, _, err := s.key.unwrap("journal segment 3", wrapped); return err },
	} {
		if err := try(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// TestLoadOrCreateKeyRemovesTemps: a copy of the key that a crash left
// under CreateFile's temporary name is removed at the next start.
func TestLoadOrCreateKeyRemovesTemps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if _, err := LoadOrCreateKey(path); err != nil {
		t.Fatal(err)
	}
	leftover := path + ".ABCDEFGHIJ.tmp"
	if err := os.WriteFile(leftover, make([]byte, KeySize), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the crash's copy of the key is still there: %v", err)
	}
}
