// Package secret stores the secrets printgate must check but never keep:
// passwords, PINs and job passwords as argon2id hashes, and identifiers
// such as card UIDs as keyed HMACs.
package secret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// defaultParams follow the OWASP password storage recommendation for
// argon2id (19 MiB, 2 passes, 1 lane).
var defaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// DefaultParams returns the cost parameters printgate uses.
func DefaultParams() Params { return defaultParams }

const (
	saltLen = 16
	keyLen  = 32
)

// ErrMalformed is returned for a stored hash that cannot be parsed.
var ErrMalformed = errors.New("secret: malformed hash")

// Hash returns the PHC-format argon2id hash of pw
// ($argon2id$v=19$m=...,t=...,p=...$salt$key).
func Hash(pw []byte, p Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("secret: salt: %w", err)
	}
	key := argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether pw matches the stored hash, in constant time.
func Verify(stored string, pw []byte) (bool, error) {
	parts := strings.Split(stored, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformed
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, ErrMalformed
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, ErrMalformed
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	key, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 || p.Memory > 1<<22 || p.Time > 64 {
		return false, ErrMalformed
	}
	got := argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// MAC returns the keyed HMAC-SHA256 of value as "hmac-sha256:<hex>", the
// form in which identifiers are stored and looked up.
func MAC(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

// LoadOrCreateKeyFile returns the n-byte key in path, creating it from
// crypto/rand with mode 0600 if it does not exist. A key file that others
// may read, or of the wrong length, is refused.
func LoadOrCreateKeyFile(path string, n int) ([]byte, error) {
	key := make([]byte, n)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("secret: generate key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_, werr := f.Write(key)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = f.Sync()
		}
		if werr != nil && !errors.Is(werr, os.ErrClosed) {
			os.Remove(path)
			return nil, fmt.Errorf("secret: write key %s: %w", path, werr)
		}
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("secret: create key %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secret: key %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret: key %s is readable by others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	key, err = os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret: read key %s: %w", path, err)
	}
	if len(key) != n {
		return nil, fmt.Errorf("secret: key %s has %d bytes, want %d", path, len(key), n)
	}
	return key, nil
}
