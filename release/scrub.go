package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/printgate/printgate/internal/database"
)

// DefaultKeepFinished is how long ended jobs' rows and ended device
// sessions stay in the database when Options.KeepFinished is not set.
const DefaultKeepFinished = 7 * 24 * time.Hour

// docPrefix turns a database identity into the prefix of the names of the
// documents written for it.
func docPrefix(databaseID string) string {
	var b []byte
	for i := 0; i < len(databaseID) && len(b) < 12; i++ {
		c := databaseID[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return ""
	}
	return string(b) + "-"
}

// scrubDelay is how long the scrubber lets deletions gather before it
// runs; it bounds how long a destroyed key outlives its row in the WAL.
const scrubDelay = 250 * time.Millisecond

// scrubSoon asks the scrubber to run: a document key or a clear name was
// just deleted, and the database still holds its bytes somewhere.
func (s *Service) scrubSoon() {
	select {
	case s.scrub <- struct{}{}:
	default: // a run is already due; it will cover this deletion too
	}
}

// scrubber runs until ctx ends, removing from the database's files what
// deleted rows leave behind, once per burst of deletions.
func (s *Service) scrubber(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.scrub:
		}
		// Let a burst of destructions finish: one checkpoint then covers
		// them all, instead of one per job competing with the releases.
		select {
		case <-ctx.Done():
			return
		case <-time.After(scrubDelay):
		}
		select {
		case <-s.scrub:
		default:
		}
		wait := 100 * time.Millisecond
		for {
			err := s.scrubOnce(ctx)
			if err == nil || ctx.Err() != nil {
				break
			}
			if !errors.Is(err, database.ErrCheckpointBusy) {
				s.log.Error("release: scrub destroyed keys", "err", err)
				break
			}
			// Readers hold an old snapshot; the log can be emptied once
			// they are done.
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, 5*time.Second)
		}
	}
}

// scrubOnce makes deleted keys unrecoverable from the database's files as
// far as each database allows (docs/DATA.md says what remains): on SQLite,
// secure_delete has zeroed them in printgate.db and a TRUNCATE checkpoint
// empties printgate.db-wal; on PostgreSQL, VACUUM frees the dead rows of
// job_keys (and of journal_keys, with a journal) at once rather than at
// autovacuum's next visit.
func (s *Service) scrubOnce(ctx context.Context) error {
	switch s.db.Dialect {
	case database.SQLite:
		return s.db.Checkpoint(ctx)
	case database.Postgres:
		q := "VACUUM job_keys"
		if s.journal != nil {
			q += ", journal_keys"
		}
		if err := s.db.WithContext(ctx).Exec(q).Error; err != nil {
			return fmt.Errorf("release: vacuum the keys: %w", err)
		}
	}
	return nil
}
