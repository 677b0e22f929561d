package release

import (
	"errors"
	"log/slog"
	"testing"
	"time"
)

func TestSpoolRoom(t *testing.T) {
	const mb = 1 << 20
	broken := func() (int64, error) { return 0, errors.New("statfs failed") }
	free := func(n int64) func() (int64, error) { return func() (int64, error) { return n, nil } }
	tests := []struct {
		name      string
		quota     int64
		share     int
		freeSpace func() (int64, error)
		used      int64
		room      int64
		limited   bool
	}{
		{"no quota", 0, 0, free(100 * mb), 10 * mb, 0, false},
		{"fixed quota", 50 * mb, 0, free(100 * mb), 10 * mb, 40 * mb, true},
		// Half of the 10 MiB used plus 90 MiB free.
		{"share of free", 0, 50, free(90 * mb), 10 * mb, 40 * mb, true},
		{"share reached", 0, 50, free(10 * mb), 10 * mb, 0, true},
		{"the smaller applies", 30 * mb, 50, free(90 * mb), 10 * mb, 20 * mb, true},
		{"share smaller", 300 * mb, 50, free(90 * mb), 10 * mb, 40 * mb, true},
		{"free space unknown", 0, 50, broken, 10 * mb, 0, false},
		{"free space unknown, fixed quota", 30 * mb, 50, broken, 10 * mb, 20 * mb, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{quota: tt.quota, spoolShare: tt.share, freeSpace: tt.freeSpace, log: slog.New(slog.DiscardHandler), now: time.Now}
			s.used.Store(tt.used)
			room, limited := s.spoolRoom()
			if room != tt.room || limited != tt.limited {
				t.Errorf("spoolRoom = %d MiB, %v; want %d MiB, %v", room/mb, limited, tt.room/mb, tt.limited)
			}
			if full := limited && room <= 0; s.spoolFull() != full {
				t.Errorf("spoolFull = %v, want %v", !full, full)
			}
		})
	}
}

func TestAllowanceLower(t *testing.T) {
	tests := []struct {
		start, n int64
		want     int64
		by       int
	}{
		{100, 50, 50, limitUser},
		{100, 150, 100, limitQueue},
		{0, 150, 150, limitUser}, // a queue without a size limit
	}
	for _, tt := range tests {
		a := allowance{bytes: tt.start, by: limitQueue}
		a.lower(tt.n, limitUser)
		if a.bytes != tt.want || a.by != tt.by {
			t.Errorf("%d lowered by %d = %+v, want %d by %d", tt.start, tt.n, a, tt.want, tt.by)
		}
	}
}

// TestFreeCache: the spool's free space is measured once a second at
// most, and again at once when the clock goes back.
func TestFreeCache(t *testing.T) {
	var c freeCache
	calls := 0
	measure := func() (int64, error) { calls++; return int64(calls), nil }
	t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	for _, step := range []struct {
		at    time.Duration
		calls int
	}{
		{0, 1}, {500 * time.Millisecond, 1}, {999 * time.Millisecond, 1}, {time.Second, 2},
		{1500 * time.Millisecond, 2}, {-time.Second, 3},
	} {
		n, err := c.get(t0.Add(step.at), measure)
		if err != nil || calls != step.calls || n != int64(calls) {
			t.Errorf("at %v: %d, %v after %d measures; want %d measures", step.at, n, err, calls, step.calls)
		}
	}
}
