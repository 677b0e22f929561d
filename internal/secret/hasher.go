package secret

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
)

// MinKeyLength is the shortest key NewHasher derives a pepper from.
const MinKeyLength = 32

// pepperInfo is the HKDF info that derives the pepper: it keeps the
// pepper apart from any other key taken from the same key file (the card
// HMAC key uses the file's bytes as they are).
const pepperInfo = "printgate/secret: argon2id pepper v1"

// Hasher hashes and checks PINs, job passwords and passwords. Each hash
// is argon2id over HMAC-SHA-256(pepper, secret): the pepper lives outside
// the database, so a copy of the database alone cannot check a single
// guess, and a 4-digit PIN no longer falls to an offline search.
//
// Every argon2id computation runs under the Hasher's Limiter, so memory
// stays within its budget however many checks arrive at once. A Hasher is
// safe for concurrent use.
type Hasher struct {
	params Params
	pepper []byte
	limit  *Limiter
}

// NewHasher returns a Hasher whose pepper is derived from key (at least
// MinKeyLength bytes, kept outside the database) with HKDF-SHA-256. Zero
// params mean DefaultParams; a nil limit leaves computations unbounded,
// which suits tools and tests, not a server.
func NewHasher(key []byte, params Params, limit *Limiter) (*Hasher, error) {
	if len(key) < MinKeyLength {
		return nil, fmt.Errorf("secret: pepper key must be at least %d bytes", MinKeyLength)
	}
	if params == (Params{}) {
		params = DefaultParams()
	}
	pepper, err := hkdf.Key(sha256.New, key, nil, pepperInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("secret: derive pepper: %w", err)
	}
	return &Hasher{params: params, pepper: pepper, limit: limit}, nil
}

// Params returns the costs new hashes get.
func (h *Hasher) Params() Params { return h.params }

// keyed is the input argon2id gets for secret in a keyed hash.
func (h *Hasher) keyed(secret []byte) []byte {
	m := hmac.New(sha256.New, h.pepper)
	m.Write(secret)
	return m.Sum(nil)
}

// Hash returns the keyed PHC-format hash of secret
// ($argon2id-hmac-sha256$v=19$m=...,t=...,p=...$salt$key). It returns an
// error wrapping ErrBusy when the limiter has no room in time.
func (h *Hasher) Hash(ctx context.Context, secret []byte) (string, error) {
	salt, err := newSalt()
	if err != nil {
		return "", err
	}
	out := phc{id: keyedID, p: h.params, salt: salt, key: make([]byte, keyLen)}
	done, err := h.limit.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer done()
	out.key = out.derive(h.keyed(secret))
	return out.String(), nil
}

// Verify reports whether secret matches stored, in constant time. stored
// may be keyed or, from before hashes were keyed, plain; rehash reports a
// plain hash that matched, which the caller should replace with Hash's
// keyed one now that it knows the secret. A malformed hash is
// ErrMalformed; no room in the limiter in time, ErrBusy.
func (h *Hasher) Verify(ctx context.Context, stored string, secret []byte) (ok, rehash bool, err error) {
	p, err := parsePHC(stored)
	if err != nil {
		return false, false, err
	}
	if !h.affordable(p.p) {
		return false, false, fmt.Errorf("%w: its costs exceed what this server checks", ErrMalformed)
	}
	input := secret
	if p.id == keyedID {
		input = h.keyed(secret)
	}
	done, err := h.limit.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer done()
	ok = equal(p.derive(input), p.key)
	return ok, ok && p.id == plainID, nil
}

// affordable reports whether a stored hash's costs are within four times
// those this server hashes with: the limiter budgets each check as one of
// its own, so a hash planted in the database with a 4 GiB cost must not
// be computed.
func (h *Hasher) affordable(p Params) bool {
	limit := func(a, b uint32) uint32 { return 4 * max(a, b) }
	d := DefaultParams()
	return p.Memory <= limit(h.params.Memory, d.Memory) && p.Time <= limit(h.params.Time, d.Time) &&
		p.Threads <= max(h.params.Threads, d.Threads)
}

// Waste spends the time and memory of one Verify without a stored hash,
// so that a name that does not exist cannot be told from a wrong secret
// by how long the answer takes.
func (h *Hasher) Waste(ctx context.Context, secret []byte) error {
	salt, err := newSalt()
	if err != nil {
		return err
	}
	done, err := h.limit.acquire(ctx)
	if err != nil {
		return err
	}
	defer done()
	phc{id: keyedID, p: h.params, salt: salt, key: make([]byte, keyLen)}.derive(h.keyed(secret))
	return nil
}
