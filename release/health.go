package release

import (
	"context"
	"fmt"
)

// What operators watch: the spool's size and room, the held jobs, and
// whether the spool takes new documents (packages metrics and health).

// SpoolBytes approximates the bytes the held documents take, in spool
// files and in the database: recounted by the sweeper, raised by each
// stored document.
func (s *Service) SpoolBytes() int64 { return s.used.Load() }

// CheckRoom reports whether new documents have room: the spool quota
// (spool.quota_mb, spool.quota_percent_of_free) leaves some, or, with no
// quota, the spool's file system has free space. Its error wraps
// ErrSpoolFull.
func (s *Service) CheckRoom() error {
	if room, ok := s.spoolRoom(); ok {
		if room <= 0 {
			return fmt.Errorf("release: the spool quota leaves no room: %w", ErrSpoolFull)
		}
		return nil
	}
	free, err := s.free.get(s.now(), s.freeSpace)
	if err != nil {
		return fmt.Errorf("release: spool free space: %w", err)
	}
	if free <= 0 {
		return fmt.Errorf("release: the spool's disk is full: %w", ErrSpoolFull)
	}
	return nil
}

// CheckSpool reports whether the spool directory takes new files.
func (s *Service) CheckSpool() error {
	if err := s.spool.CheckWritable(); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

// HeldJobs counts the held jobs of each queue, of every instance sharing
// the database; every configured queue is in the map, with zero if it
// holds none.
func (s *Service) HeldJobs(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Queue string
		N     int64
	}
	err := s.db.WithContext(ctx).Model(&Job{}).Select("queue, COUNT(*) AS n").
		Where("state = ?", StateHeld).Group("queue").Scan(&rows).Error
	if err != nil {
		return nil, dbErr("count held jobs", err)
	}
	out := make(map[string]int64, len(s.queues))
	for name := range s.queues {
		out[name] = 0
	}
	for _, r := range rows {
		out[r.Queue] = r.N
	}
	return out, nil
}
