package release

import (
	"errors"
	"log/slog"
	"testing"
	"time"
)

// TestCheckRoom: readiness fails when the quota leaves no room, or with no
// quota when the disk is full, and says so with ErrSpoolFull.
func TestCheckRoom(t *testing.T) {
	const mb = 1 << 20
	broken := func() (int64, error) { return 0, errors.New("statfs failed") }
	free := func(n int64) func() (int64, error) { return func() (int64, error) { return n, nil } }
	for _, tt := range []struct {
		name      string
		quota     int64
		share     int
		freeSpace func() (int64, error)
		used      int64
		full      bool // ErrSpoolFull
		fails     bool // any error
	}{
		{"share leaves room", 0, 50, free(90 * mb), 10 * mb, false, false},
		{"share reached", 0, 50, free(10 * mb), 10 * mb, true, true},
		{"fixed quota reached", 10 * mb, 0, free(900 * mb), 10 * mb, true, true},
		{"no quota, free disk", 0, 0, free(1 * mb), 10 * mb, false, false},
		{"no quota, disk full", 0, 0, free(0), 10 * mb, true, true},
		{"no quota, free space unknown", 0, 0, broken, 10 * mb, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{quota: tt.quota, spoolShare: tt.share, freeSpace: tt.freeSpace, log: slog.New(slog.DiscardHandler), now: time.Now}
			s.used.Store(tt.used)
			err := s.CheckRoom()
			if (err != nil) != tt.fails || errors.Is(err, ErrSpoolFull) != tt.full {
				t.Errorf("CheckRoom = %v; want failure %v, spool full %v", err, tt.fails, tt.full)
			}
		})
	}
}
