package secret

import (
	"context"
	"errors"
	"time"
)

// ErrBusy is returned when an argon2id computation finds no room within
// the memory budget in time. Edges answer it with HTTP 503 and
// Retry-After, or IPP server-error-busy.
var ErrBusy = errors.New("secret: too many checks at once; try again shortly")

// Limiter bounds how many argon2id computations run at once, so that
// their memory stays within a budget: each takes Params.Memory KiB, and
// a flood of wrong passwords would otherwise take it all. One Limiter is
// shared by every Hasher of a process. A nil *Limiter limits nothing.
type Limiter struct {
	slots chan struct{}
	wait  time.Duration
}

// NewLimiter returns a Limiter that lets as many computations with p run
// at once as fit in budget bytes (at least one), and makes a caller
// beyond them wait at most wait for room before ErrBusy. Stored hashes
// with other costs count as one computation each: costs change rarely,
// and old hashes are replaced as they are used.
func NewLimiter(budget int64, p Params, wait time.Duration) *Limiter {
	if p == (Params{}) {
		p = DefaultParams()
	}
	n := max(budget/max(p.Bytes(), 1), 1)
	return &Limiter{slots: make(chan struct{}, n), wait: max(wait, 0)}
}

// Slots is how many computations run at once.
func (l *Limiter) Slots() int {
	if l == nil {
		return 0
	}
	return cap(l.slots)
}

// acquire waits for room for one computation and returns the function
// that gives it back. It waits at most the Limiter's wait, and never past
// ctx.
func (l *Limiter) acquire(ctx context.Context) (func(), error) {
	if l == nil {
		return func() {}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case l.slots <- struct{}{}:
		return l.give, nil
	default:
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return l.give, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *Limiter) give() { <-l.slots }
