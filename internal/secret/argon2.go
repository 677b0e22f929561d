// Package secret stores the secrets printgate must check but never keep:
// passwords, PINs and job passwords as keyed argon2id hashes, and
// identifiers such as card UIDs as keyed HMACs.
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
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultParams returns the cost parameters printgate uses: the OWASP
// password storage recommendation for argon2id (19 MiB, 2 passes, 1
// lane).
func DefaultParams() Params { return Params{Memory: 19 * 1024, Time: 2, Threads: 1} }

// Bytes is the memory one computation with p takes.
func (p Params) Bytes() int64 { return int64(p.Memory) << 10 }

const (
	saltLen = 16
	keyLen  = 32
)

// Algorithm identifiers of the PHC strings. A plain hash is argon2id over
// the secret itself, as printgate stored it before hashes were keyed; a
// keyed hash is argon2id over HMAC-SHA-256(pepper, secret). The
// identifiers differ so that no verifier mistakes one for the other.
const (
	plainID = "argon2id"
	keyedID = "argon2id-hmac-sha256"
)

// ErrMalformed is returned for a stored hash that cannot be parsed.
var ErrMalformed = errors.New("secret: malformed hash")

// phc is a parsed argon2id PHC string
// ($id$v=19$m=...,t=...,p=...$salt$key).
type phc struct {
	id   string
	p    Params
	salt []byte
	key  []byte
}

func (h phc) String() string {
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", h.id, argon2.Version, h.p.Memory, h.p.Time, h.p.Threads,
		enc.EncodeToString(h.salt), enc.EncodeToString(h.key))
}

// parsePHC parses stored, refusing costs so high that checking them would
// itself be an attack (4 GiB, 64 passes).
func parsePHC(stored string) (phc, error) {
	parts := strings.Split(stored, "$")
	if len(parts) != 6 || parts[0] != "" || (parts[1] != plainID && parts[1] != keyedID) {
		return phc{}, ErrMalformed
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return phc{}, ErrMalformed
	}
	h := phc{id: parts[1]}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.p.Memory, &h.p.Time, &h.p.Threads); err != nil {
		return phc{}, ErrMalformed
	}
	enc := base64.RawStdEncoding
	var err1, err2 error
	h.salt, err1 = enc.DecodeString(parts[4])
	h.key, err2 = enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(h.key) == 0 || len(h.key) > 64 || h.p.Memory > 1<<22 ||
		h.p.Time == 0 || h.p.Time > 64 || h.p.Threads == 0 {
		return phc{}, ErrMalformed
	}
	return h, nil
}

// derive computes the argon2id key of input for h's salt and costs.
func (h phc) derive(input []byte) []byte {
	return argon2.IDKey(input, h.salt, h.p.Time, h.p.Memory, h.p.Threads, uint32(len(h.key)))
}

// newSalt returns a random salt.
func newSalt() ([]byte, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("secret: salt: %w", err)
	}
	return salt, nil
}

// MAC returns the keyed HMAC-SHA256 of value as "hmac-sha256:<hex>", the
// form in which identifiers are stored and looked up.
func MAC(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

// equal compares two keys in constant time.
func equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
