package secret

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestNewLimiterSlots(t *testing.T) {
	mib := int64(1 << 20)
	tests := []struct {
		name   string
		budget int64
		p      Params
		want   int
	}{
		{"default costs, 64 MiB", 64 * mib, DefaultParams(), 3},
		{"default costs, 19 MiB", 19 * mib, DefaultParams(), 1},
		{"budget below one check", mib, DefaultParams(), 1},
		{"zero budget", 0, DefaultParams(), 1},
		{"zero params mean the defaults", 96 * mib, Params{}, 5},
		{"cheap costs", 1 * mib, Params{Memory: 64, Time: 1, Threads: 1}, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewLimiter(tt.budget, tt.p, time.Second).Slots(); got != tt.want {
				t.Errorf("Slots = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestLimiterWaits checks that a caller beyond the limit waits at most
// the limiter's wait, gets room as soon as a slot frees, and stops
// waiting with its context.
func TestLimiterWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(DefaultParams().Bytes(), DefaultParams(), 2*time.Second)
		done, err := l.acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}

		start := time.Now()
		if _, err := l.acquire(t.Context()); !errors.Is(err, ErrBusy) {
			t.Fatalf("acquire beyond the limit = %v, want ErrBusy", err)
		}
		if waited := time.Since(start); waited != 2*time.Second {
			t.Errorf("waited %v before ErrBusy, want 2s", waited)
		}

		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			time.Sleep(500 * time.Millisecond)
			cancel()
		}()
		if _, err := l.acquire(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("acquire with a canceled context = %v, want context.Canceled", err)
		}

		go func() {
			time.Sleep(time.Second)
			done()
		}()
		start = time.Now()
		done2, err := l.acquire(t.Context())
		if err != nil {
			t.Fatalf("acquire after a slot freed: %v", err)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("waited %v for the freed slot, want 1s", waited)
		}
		done2()
	})
}

// TestHasherBusy checks that Hash, Verify and Waste all answer ErrBusy
// when the shared limiter is full.
func TestHasherBusy(t *testing.T) {
	l := NewLimiter(1, testParams, 0)
	h, err := NewHasher(testKey, testParams, l)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := h.Hash(t.Context(), []byte("4863"))
	if err != nil {
		t.Fatal(err)
	}
	done, err := l.acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	if _, err := h.Hash(t.Context(), []byte("4863")); !errors.Is(err, ErrBusy) {
		t.Errorf("Hash = %v, want ErrBusy", err)
	}
	if _, _, err := h.Verify(t.Context(), stored, []byte("4863")); !errors.Is(err, ErrBusy) {
		t.Errorf("Verify = %v, want ErrBusy", err)
	}
	if err := h.Waste(t.Context(), []byte("4863")); !errors.Is(err, ErrBusy) {
		t.Errorf("Waste = %v, want ErrBusy", err)
	}
}
