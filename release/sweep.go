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
	for _, q := range s.queues {
		ttl := q.TTL
		if ttl == 0 {
			ttl = DefaultTTL
		}
		if err := s.expire(ctx, q.Name, StateHeld, StateExpired, now().Add(-ttl), "job-expired",
			"The job was not released in time and was deleted."); err != nil {
			return err
		}
		if err := s.expire(ctx, q.Name, StateIncoming, StateAborted, now().Add(-incomingTimeout), "job-incomplete",
			"The client did not finish sending the job."); err != nil {
			return err
		}
		if q.KeepAfterPrint > 0 {
			if err := s.dropReprints(ctx, q); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Service) expire(ctx context.Context, queue string, from, to State, before time.Time, reason, msg string) error {
	var jobs []Job
	err := s.db.WithContext(ctx).Omit("password_hash").
		Where("queue = ? AND state = ? AND created_at < ?", queue, from, before).Limit(500).Find(&jobs).Error
	if err != nil {
		return dbErr("find jobs to expire", err)
	}
	for _, j := range jobs {
		if _, err := s.transition(ctx, &j, []State{from}, to, reason, msg, Actor{}); err != nil {
			return err
		}
	}
	return nil
}

// dropReprints destroys the documents kept for reprints once the queue's
// window has passed.
func (s *Service) dropReprints(ctx context.Context, q Queue) error {
	var jobs []Job
	err := s.db.WithContext(ctx).Select("id", "owner", "queue", "spool").
		Where("queue = ? AND state = ? AND spool <> '' AND completed_at < ?", q.Name, StateCompleted,
			now().Add(-q.KeepAfterPrint)).Limit(500).Find(&jobs).Error
	if err != nil {
		return dbErr("find reprints to drop", err)
	}
	for _, j := range jobs {
		var won bool
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			res := tx.Model(&Job{}).Where("id = ? AND spool = ?", j.ID, j.Spool).
				Updates(map[string]any{"spool": "", "wrapped_key": nil, "updated_at": now()})
			if res.Error != nil || res.RowsAffected != 1 {
				return res.Error
			}
			won = true
			_, err := s.audit.Append(ctx, tx, audit.Event{Type: audit.EventDocumentDestroyed, JobID: j.ID,
				Owner: j.Owner, Actor: audit.ActorSystem, Queue: j.Queue, Reason: "reprint-window-passed"})
			return err
		})
		if err != nil {
			return dbErr("drop reprint", err)
		}
		if won {
			s.removeDocument(j.Spool)
		}
	}
	return nil
}
