package release

import (
	"context"
	"fmt"
	"time"
)

// Readers in the process see what the journal acknowledged: a
// transaction or a read of the job and audit tables waits at the barrier
// (database.DB.SetBarrier) until the records acknowledged before it are
// in the database (docs/PIPELINE.md, "Reads in the process never see the
// difference").

// barrier waits until every record acknowledged before it was called is
// in the database; for a context scoped to one owner (forOwner), every
// record of that owner's.
func (jn *journaled) barrier(ctx context.Context) error {
	target := jn.appended.Load()
	if jn.applied.Load() >= target || jn.failing.Load() != nil {
		return nil
	}
	if owner, ok := ctx.Value(ownerScope{}).(string); ok {
		jn.mu.Lock()
		target = jn.lastOf[owner]
		jn.mu.Unlock()
		if jn.applied.Load() >= target {
			return nil
		}
	}
	t := time.NewTimer(barrierWait)
	defer t.Stop()
	for {
		jn.mu.Lock()
		if jn.applied.Load() >= target {
			jn.mu.Unlock()
			return nil
		}
		moved := jn.moved
		// Waiting out the applier's delay would cost every reader up to
		// 10 ms (docs/PIPELINE.md).
		jn.hurry = true
		jn.mu.Unlock()
		jn.wake()
		if jn.failing.Load() != nil {
			return nil
		}
		select {
		case <-moved:
		case <-t.C:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("release: wait for submitted jobs to be written: %w", ctx.Err())
		}
	}
}

// ownerScope marks a context whose reads and writes concern one owner's
// jobs only.
type ownerScope struct{}

// forOwner scopes ctx's barrier to owner's jobs: a release waits for the
// records of its user's jobs, not for the submissions of everyone else
// (BenchmarkReleaseLatency: a release right after another user's
// submission had waited for that job to be written). Its events may then
// enter the chain before those of other users' jobs acknowledged earlier:
// the chain's order is the order events are written, and a journaled
// job's submitted event is written when it is applied.
func forOwner(ctx context.Context, owner string) context.Context {
	return context.WithValue(ctx, ownerScope{}, owner)
}
