package release

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testenv"
)

// gatedSequence is a sequence whose fetches each wait for a word on
// gate, for idSupply's tests.
type gatedSequence struct {
	last    int64
	gate    chan error
	fetches chan int // the size of each fetch, when it starts
}

func (g *gatedSequence) fetch(ctx context.Context, n int) ([]int64, error) {
	g.fetches <- n
	select {
	case err := <-g.gate:
		if err != nil {
			return nil, err
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ids := make([]int64, n)
	for i := range ids {
		g.last++
		ids[i] = g.last
	}
	return ids, nil
}

// TestIDSupply: the committer waits for job IDs only when it has fewer
// at hand than a batch needs; below idsLow, the next block is fetched
// while it goes on.
func TestIDSupply(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	g := &gatedSequence{gate: make(chan error), fetches: make(chan int, 4)}
	s := idSupply{fetch: g.fetch, goFetch: func(f func(context.Context)) { go f(ctx) }}

	took := make(chan []int64, 1)
	go func() {
		ids, err := s.take(ctx, 10)
		if err != nil {
			t.Error(err)
		}
		took <- ids
	}()
	if n := <-g.fetches; n != idBlock {
		t.Fatalf("first fetch of %d IDs, want %d", n, idBlock)
	}
	g.gate <- nil
	if ids := <-took; len(ids) != 10 || ids[0] != 1 || ids[9] != 10 {
		t.Fatalf("first take = %v, want 1 to 10", ids)
	}

	// Past idsLow: a fetch starts, and takes within what is left do not
	// wait for it (the gate stays shut).
	left := idBlock - 10
	if _, err := s.take(ctx, left-idsLow+1); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-g.fetches:
		if n != idBlock {
			t.Errorf("refill of %d IDs, want %d", n, idBlock)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no refill started below idsLow")
	}
	rest := len(s.ahead)
	ids, err := s.take(ctx, rest)
	if err != nil || len(ids) != rest || ids[rest-1] != idBlock {
		t.Fatalf("take of the %d left = %v, %v", rest, ids, err)
	}

	// The next take waits for the refill, and gets its first IDs.
	go func() {
		ids, err := s.take(ctx, 3)
		if err != nil {
			t.Error(err)
		}
		took <- ids
	}()
	select {
	case ids := <-took:
		t.Fatalf("take = %v before the refill came", ids)
	case <-time.After(50 * time.Millisecond):
	}
	g.gate <- nil
	if ids := <-took; len(ids) != 3 || ids[0] != idBlock+1 {
		t.Fatalf("take after the refill = %v, want from %d", ids, idBlock+1)
	}
}

// TestIDSupplyFails: a failed fetch fails the take that waits for it,
// and the next take fetches again; a block fetched ahead that failed is
// fetched again by the take that needs it; a take waiting when the
// committer stops returns.
func TestIDSupplyFails(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	g := &gatedSequence{gate: make(chan error, 1), fetches: make(chan int, 4)}
	s := idSupply{fetch: g.fetch, goFetch: func(f func(context.Context)) { go f(ctx) }}
	down := errors.New("database down")
	g.gate <- down
	if _, err := s.take(ctx, 1); !errors.Is(err, down) {
		t.Fatalf("take = %v, want %v", err, down)
	}
	g.gate <- nil
	if ids, err := s.take(ctx, 1); err != nil || len(ids) != 1 {
		t.Fatalf("take after the failure = %v, %v", ids, err)
	}

	// A block fetched ahead that failed is fetched again when needed.
	if _, err := s.take(ctx, idBlock-idsLow); err != nil { // starts the next block
		t.Fatal(err)
	}
	g.gate <- down
	for len(g.fetches) > 0 {
		<-g.fetches
	}
	testenv.WaitFor(t, "the failed fetch ahead", func() bool { return len(g.gate) == 0 })
	g.gate <- nil
	if ids, err := s.take(ctx, idsLow); err != nil || len(ids) != idsLow {
		t.Fatalf("take after a failed fetch ahead = %d IDs, %v", len(ids), err)
	}

	s = idSupply{fetch: g.fetch, goFetch: func(f func(context.Context)) { go f(ctx) }}
	done := make(chan error)
	go func() {
		_, err := s.take(ctx, 1)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("take when stopped = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("take still waits after the committer stopped")
	}
}
