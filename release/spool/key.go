package spool

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"strings"

	"github.com/printgate/printgate/internal/fsync"
)

// KeySize is the length in bytes of a master key and of a document data key.
const KeySize = 32

// wrapVersion is the first byte of every wrapped key, so that a later format
// (another AEAD, a key ID for rotation) can be told apart from this one.
const wrapVersion = 1

// wrapAD is the fixed part of the associated data of a wrapped key; the
// document name follows it, so a wrapped key only opens the document it was
// made for.
const wrapAD = "printgate/spool wrapped key v1\x00"

// MasterKey is the key-encryption key that wraps each document's data key.
// The zero value is not a usable key; get one from LoadOrCreateKey, ParseKey
// or GenerateKey.
//
// A MasterKey never prints its key material: fmt and log/slog show it as
// "spool.MasterKey(redacted)".
type MasterKey struct {
	// aead is AES-256-GCM with random 96-bit nonces. One wrap per document
	// keeps us far below the 2^32 messages per key that random nonces allow.
	aead cipher.AEAD
}

// GenerateKey returns a new random master key.
func GenerateKey() MasterKey {
	var k [KeySize]byte
	rand.Read(k[:]) // never fails (crypto/rand, Go 1.24+)
	mk, _ := newMasterKey(k[:])
	clear(k[:])
	return mk
}

func newMasterKey(raw []byte) (MasterKey, error) {
	if len(raw) != KeySize {
		return MasterKey{}, fmt.Errorf("master key is %d bytes; want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return MasterKey{}, err
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return MasterKey{}, err
	}
	return MasterKey{aead: aead}, nil
}

// ParseKey decodes a 32-byte master key given as text: 64 hexadecimal digits
// or base64 (standard or URL alphabet, padded or not). Surrounding white
// space is ignored. The error never contains the text.
func ParseKey(text string) (MasterKey, error) {
	s := strings.TrimSpace(text)
	raw, ok := decodeKeyText(s)
	if !ok {
		return MasterKey{}, fmt.Errorf("spool: parse master key: want %d bytes as 64 hex digits or base64 (%d characters given)", KeySize, len(s))
	}
	defer clear(raw)
	mk, err := newMasterKey(raw)
	if err != nil {
		return MasterKey{}, fmt.Errorf("spool: parse master key: %w", err)
	}
	return mk, nil
}

func decodeKeyText(s string) ([]byte, bool) {
	// Hex first: 64 hex digits are also valid base64 (of 48 bytes).
	if len(s) == 2*KeySize {
		if raw, err := hex.DecodeString(s); err == nil {
			return raw, true
		}
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding,
	} {
		raw, err := enc.DecodeString(s)
		if err == nil && len(raw) == KeySize {
			return raw, true
		}
		clear(raw)
	}
	return nil, false
}

// LoadOrCreateKey reads the master key from the file at path, or, if no file
// is there, creates it with 32 random bytes and permissions 0600.
//
// An existing file must hold exactly 32 raw bytes, or the key as text in a
// form ParseKey accepts (so an administrator may write one with
// "openssl rand -base64 32"). A file that other users may read or write
// (any permission bit in 0077) is refused, as is anything but a regular
// file. The directory of path must exist.
//
// The new file is written under a temporary name and then hard-linked into
// place, so a crash never leaves a short key file and two processes starting
// at once agree on one key.
func LoadOrCreateKey(path string) (MasterKey, error) {
	mk, err := loadKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKeyFile(path); err != nil && !errors.Is(err, fs.ErrExist) {
			return MasterKey{}, fmt.Errorf("spool: create master key file %s: %w", path, err)
		}
		// Read back what is on disk: if another process won the race,
		// its key is the one to use.
		mk, err = loadKey(path)
	}
	if err == nil {
		// A copy of the key that a crash left under a temporary name
		// goes (best effort: it is as private as the key itself).
		fsync.RemoveTemps(path)
	}
	return mk, err
}

func loadKey(path string) (MasterKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return MasterKey{}, fmt.Errorf("spool: open master key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return MasterKey{}, fmt.Errorf("spool: master key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return MasterKey{}, fmt.Errorf("spool: master key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return MasterKey{}, fmt.Errorf("spool: master key file %s has permissions %04o; other users must have no access (chmod 600 %s)", path, perm, path)
	}
	// Read one byte more than the longest accepted form to spot long files.
	buf, err := io.ReadAll(io.LimitReader(f, 4*KeySize+2))
	defer clear(buf)
	if err != nil {
		return MasterKey{}, fmt.Errorf("spool: read master key file %s: %w", path, err)
	}
	raw := buf
	if len(buf) != KeySize {
		var ok bool
		if raw, ok = decodeKeyText(string(bytes.TrimSpace(buf))); !ok {
			return MasterKey{}, fmt.Errorf("spool: master key file %s holds %d bytes; want %d raw bytes, 64 hex digits or base64 of %d bytes", path, len(buf), KeySize, KeySize)
		}
		defer clear(raw)
	}
	mk, err := newMasterKey(raw)
	if err != nil {
		return MasterKey{}, fmt.Errorf("spool: master key file %s: %w", path, err)
	}
	return mk, nil
}

// createKeyFile writes a new random key to path, whole or not at all
// (fsync.CreateFile); fs.ErrExist when path exists.
func createKeyFile(path string) error {
	var raw [KeySize]byte
	rand.Read(raw[:])
	defer clear(raw[:])
	return fsync.CreateFile(path, raw[:], 0o600)
}

// String returns a placeholder; the key itself is never shown.
func (k MasterKey) String() string { return "spool.MasterKey(redacted)" }

// GoString returns the same placeholder as String, for %#v.
func (k MasterKey) GoString() string { return k.String() }

// Format prints the placeholder for every verb, so that no fmt verb (%d, %x
// on the struct) falls back to printing fields.
func (k MasterKey) Format(f fmt.State, verb rune) { io.WriteString(f, k.String()) }

// LogValue keeps the key out of log/slog output.
func (k MasterKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// valid reports whether k was made by one of the constructors.
func (k MasterKey) valid() bool { return k.aead != nil }

// wrap seals a document's data key and plaintext size under the master key,
// bound to the document name. Sealing the size lets Open detect a file that
// was cut short at a package boundary, which DARE alone cannot do for an
// empty stream.
func (k MasterKey) wrap(name string, dataKey []byte, size int64) []byte {
	var pt [KeySize + 8]byte
	copy(pt[:], dataKey)
	binary.BigEndian.PutUint64(pt[KeySize:], uint64(size))
	defer clear(pt[:])
	out := make([]byte, 1, 1+len(pt)+k.aead.Overhead())
	out[0] = wrapVersion
	return k.aead.Seal(out, nil, pt[:], []byte(wrapAD+name))
}

// unwrap reverses wrap. Any mismatch (wrong master key, altered bytes, other
// name) yields ErrCorrupt.
func (k MasterKey) unwrap(name string, wrapped []byte) (dataKey []byte, size int64, err error) {
	if len(wrapped) != 1+KeySize+8+k.aead.Overhead() || wrapped[0] != wrapVersion {
		return nil, 0, fmt.Errorf("wrapped key has unknown format: %w", ErrCorrupt)
	}
	pt, err := k.aead.Open(nil, nil, wrapped[1:], []byte(wrapAD+name))
	if err != nil {
		return nil, 0, fmt.Errorf("wrapped key does not open with this master key: %w: %w", ErrKeyMismatch, ErrCorrupt)
	}
	size = int64(binary.BigEndian.Uint64(pt[KeySize:]))
	if size < 0 {
		clear(pt)
		return nil, 0, fmt.Errorf("wrapped key holds a negative size: %w", ErrCorrupt)
	}
	return pt[:KeySize], size, nil
}

// keyAD is the fixed part of the associated data of a key WrapKey wraps,
// other than wrapAD, so that such a key never opens as a document's.
const keyAD = "printgate/spool wrapped key of another kind v1\x00"

// WrapKey seals key, one of printgate's own keys that is not a document's
// (a journal segment's), under the master key and bound to name, so that
// what the database keeps of it opens nothing without the master key.
func (s *Spool) WrapKey(name string, key []byte) []byte {
	out := make([]byte, 1, 1+len(key)+s.key.aead.Overhead())
	out[0] = wrapVersion
	return s.key.aead.Seal(out, nil, key, []byte(keyAD+name))
}

// UnwrapKey reverses WrapKey. Any mismatch (another master key, altered
// bytes, another name) yields ErrCorrupt.
func (s *Spool) UnwrapKey(name string, wrapped []byte) ([]byte, error) {
	if len(wrapped) < 1+s.key.aead.Overhead() || wrapped[0] != wrapVersion {
		return nil, fmt.Errorf("spool: wrapped key has unknown format: %w", ErrCorrupt)
	}
	key, err := s.key.aead.Open(nil, nil, wrapped[1:], []byte(keyAD+name))
	if err != nil {
		return nil, fmt.Errorf("spool: wrapped key does not open with this master key: %w", ErrCorrupt)
	}
	return key, nil
}
