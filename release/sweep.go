package release

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
)

// Defaults for queues that do not set them.
const (
	DefaultTTL = 24 * time.Hour
	// incomingTimeout aborts Create-Job jobs whose document never came;
	// it is IPP's multiple-operation-time-out with room to spare.
	incomingTimeout = 5 * time.Minute
)

// sweep runs until ctx ends, expiring held jobs past their queue's TTL,
// aborting abandoned Create-Job jobs and destroying the documents of
// printed jobs whose reprint window has passed. Every change is a
// conditional update, so several instances may sweep at once.
func (s *Service) sweep(ctx context.Context) {
	t := time.NewTicker(s.sweepEvery)
	defer t.Stop()
	for {
		if err := s.SweepOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("release: sweep", "err", err)
		}
		if err := s.pruneThrottles(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("release: sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepOnce does one pass of the sweeper.
func (s *Service) SweepOnce(ctx context.Context) error {
	defer func() {
		if err := s.countUsage(); err != nil {
			s.log.Error("release: sweep", "err", err)
		}
	}()
	if err := s.holdOrphans(ctx); err != nil {
		return err
	}
	names := make([]string, 0, len(s.queues))
	for _, q := range s.queues {
		names = append(names, q.Name)
		ttl := q.TTL
		if ttl == 0 {
			ttl = DefaultTTL
		}
		if err := s.endQueue(ctx, queueScope{name: q.Name}, ttl, q.KeepAfterPrint); err != nil {
			return err
		}
		if q.policy() == MyNumberProtect {
			if err := s.expireSensitive(ctx, q); err != nil {
				return err
			}
		}
		if q.HideNames {
			if err := s.hideEndedNames(ctx, q); err != nil {
				return err
			}
		}
	}
	// Jobs of queues taken out of the configuration, which nothing can
	// release any more, end as a queue's with the defaults would, and
	// keep no document past that.
	if err := s.endQueue(ctx, queueScope{others: names}, DefaultTTL, DefaultTTL); err != nil {
		return err
	}
	if err := s.purgeFinished(ctx); err != nil {
		return err
	}
	if s.segs != nil || s.journal != nil && s.journal.segs != nil {
		// On SQLite the applier sweeps too, but only while it applies:
		// a busy server's batches go straight to the database, their
		// documents to segments all the same (directToSegment).
		return s.sweepSegments(ctx)
	}
	return nil
}

// queueScope is the jobs one sweep step looks at: those of the queue
// name, or, without a name, those of every queue but others.
type queueScope struct {
	name   string
	others []string
}

func (q queueScope) of(db *gorm.DB) *gorm.DB {
	switch {
	case q.name != "":
		return db.Where("queue = ?", q.name)
	case len(q.others) > 0:
		return db.Where("queue NOT IN ?", q.others)
	}
	return db
}

// endQueue expires queue's held jobs older than ttl, aborts its jobs whose
// document never came, and destroys the documents of its printed jobs
// kept longer than keep.
func (s *Service) endQueue(ctx context.Context, queue queueScope, ttl, keep time.Duration) error {
	if err := s.expire(ctx, queue, StateHeld, StateExpired, s.now().Add(-ttl), "job-expired",
		"The job was not released in time and was deleted."); err != nil {
		return err
	}
	if err := s.expire(ctx, queue, StateIncoming, StateAborted, s.now().Add(-incomingTimeout), "job-incomplete",
		"The client did not finish sending the job."); err != nil {
		return err
	}
	return s.dropReprints(ctx, queue, keep)
}

// hideEndedNames keys the names that ended jobs of a hiding queue still
// keep in clear: jobs that ended before printgate hid names in their rows,
// or before the queue was set to hide them.
func (s *Service) hideEndedNames(ctx context.Context, q Queue) error {
	ended := []State{StateCompleted, StateCanceled, StateExpired, StateAborted}
	var jobs []Job
	err := s.db.WithContext(ctx).Select("id", "name", "document_name").
		Where("queue = ? AND state IN ? AND ((name <> '' AND name NOT LIKE ?) OR (document_name <> '' AND document_name NOT LIKE ?))",
			q.Name, ended, audit.KeyedNamePrefix+"%", audit.KeyedNamePrefix+"%").
		Limit(500).Find(&jobs).Error
	if err != nil {
		return dbErr("find names to hide", err)
	}
	for _, j := range jobs {
		err := s.db.WithContext(ctx).Model(&Job{}).Where("id = ? AND state IN ?", j.ID, ended).
			Updates(map[string]any{"name": s.keyedName(j.Name), "document_name": s.keyedName(j.DocumentName)}).Error
		if err != nil {
			return dbErr("hide names", err)
		}
	}
	if len(jobs) > 0 {
		s.scrubSoon()
	}
	return nil
}

// purgeBatch bounds the rows one sweep deletes, so that a first sweep
// after an upgrade does not hold the database for long.
const purgeBatch = 1000

// purgeFinished deletes the rows of jobs that ended, and of device
// sessions last used, more than keepFinished ago. The audit trail keeps
// the record of both; the rows were only the live state. A printed job
// whose document is still kept for a reprint stays until it is dropped.
func (s *Service) purgeFinished(ctx context.Context) error {
	cutoff := s.now().Add(-s.keepFinished)
	ended := []string{string(StateCompleted), string(StateCanceled), string(StateExpired), string(StateAborted)}
	res := s.db.WithContext(ctx).Exec(`DELETE FROM jobs WHERE id IN (SELECT id FROM jobs
		WHERE state IN ? AND spool = '' AND COALESCE(completed_at, updated_at) < ? ORDER BY id LIMIT ?)`,
		ended, cutoff, purgeBatch)
	if res.Error != nil {
		return dbErr("purge finished jobs", res.Error)
	}
	jobs := res.RowsAffected
	// A session idle for keepFinished ended long ago, whether signed out
	// or left.
	res = s.db.WithContext(ctx).Exec(`DELETE FROM release_sessions WHERE id IN (SELECT id FROM release_sessions
		WHERE last_seen < ? ORDER BY id LIMIT ?)`, cutoff, purgeBatch)
	if res.Error != nil {
		return dbErr("purge ended sessions", res.Error)
	}
	if jobs+res.RowsAffected > 0 {
		s.log.Info("release: purged finished rows", "jobs", jobs, "sessions", res.RowsAffected,
			"ended_before", cutoff)
		s.scrubSoon()
	}
	return nil
}

func (s *Service) expire(ctx context.Context, queue queueScope, from, to State, before time.Time, reason, msg string) error {
	var jobs []Job
	err := queue.of(s.db.WithContext(ctx)).Omit("password_hash").
		Where("state = ? AND created_at < ?", from, before).Limit(500).Find(&jobs).Error
	if err != nil {
		return dbErr("find jobs to expire", err)
	}
	for _, j := range jobs {
		if _, err := s.transition(ctx, &j, change{from: []State{from}, to: to, reason: reason, message: msg}); err != nil {
			return err
		}
	}
	return nil
}

// dropReprints destroys the documents kept for reprints once the window
// keep has passed. With no window (a queue that keeps none, or no longer
// does) whatever printed documents are left go at once.
func (s *Service) dropReprints(ctx context.Context, queue queueScope, keep time.Duration) error {
	var jobs []Job
	err := queue.of(s.db.WithContext(ctx)).Select("id", "owner", "queue", "spool", "doc_in_db").
		Where("state = ? AND spool <> '' AND completed_at < ?", StateCompleted,
			s.now().Add(-keep)).Limit(500).Find(&jobs).Error
	if err != nil {
		return dbErr("find reprints to drop", err)
	}
	for _, j := range jobs {
		var won bool
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			res := tx.Model(&Job{}).Where("id = ? AND spool = ?", j.ID, j.Spool).
				Updates(map[string]any{"spool": "", "doc_in_db": false, "updated_at": s.now()})
			if res.Error != nil || res.RowsAffected != 1 {
				return res.Error
			}
			won = true
			if err := destroyDocument(tx, j.ID); err != nil {
				return err
			}
			_, err := s.audit.Append(ctx, tx, audit.Event{Type: audit.EventDocumentDestroyed, JobID: j.ID,
				Owner: j.Owner, Actor: audit.ActorSystem, Queue: j.Queue, Reason: "reprint-window-passed"})
			return err
		})
		if err != nil {
			return dbErr("drop reprint", err)
		}
		if won {
			s.removeFile(j)
			s.scrubSoon()
		}
	}
	return nil
}
