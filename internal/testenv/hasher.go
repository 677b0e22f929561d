package testenv

import (
	"context"
	"sync/atomic"

	"github.com/printgate/printgate/internal/secret"
)

// CountingHasher is a *secret.Hasher that counts the secrets it verifies
// and the hashes it wastes: that an unknown card or name costs what a
// wrong PIN does is a property of an answer's time, which a test on a
// shared machine cannot measure, but can count.
type CountingHasher struct {
	*secret.Hasher
	Verified, Wasted atomic.Int64
}

// Verify counts, then verifies as the Hasher does.
func (h *CountingHasher) Verify(ctx context.Context, stored string, secret []byte) (bool, bool, error) {
	h.Verified.Add(1)
	return h.Hasher.Verify(ctx, stored, secret)
}

// Waste counts, then wastes a hash as the Hasher does.
func (h *CountingHasher) Waste(ctx context.Context, secret []byte) error {
	h.Wasted.Add(1)
	return h.Hasher.Waste(ctx, secret)
}

// Hashes returns how many secrets were hashed so far, verified or wasted.
func (h *CountingHasher) Hashes() int64 { return h.Verified.Load() + h.Wasted.Load() }
