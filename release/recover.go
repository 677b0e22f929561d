package release

import (
	"context"
	"fmt"
)

// recover cleans up after an unclean stop: half-written spool files go,
// documents no job refers to go, jobs whose document is gone are aborted,
// and jobs that were being forwarded are held again, since whether they
// printed cannot be known.
func (s *Service) recover(ctx context.Context) error {
	if _, err := s.spool.CleanTemp(0); err != nil {
		return fmt.Errorf("release: recover: %w", err)
	}
	files, err := s.spool.List()
	if err != nil {
		return fmt.Errorf("release: recover: %w", err)
	}
	onDisk := make(map[string]bool, len(files))
	for _, f := range files {
		onDisk[f] = true
	}
	var rows []Job
	err = s.db.WithContext(ctx).Omit("password_hash").
		Where("spool <> '' OR state IN ?", activeStates).Find(&rows).Error
	if err != nil {
		return dbErr("recover: list jobs", err)
	}
	for _, j := range rows {
		to, reason, msg := recovery(j, onDisk)
		if (j.State == StateReleasing || j.State == StatePrinting) && j.ClaimedBy != "" && j.ClaimedBy != s.instance {
			continue // another instance is printing it
		}
		delete(onDisk, j.Spool)
		if to == "" {
			continue
		}
		if _, err := s.transition(ctx, &j, []State{j.State}, to, reason, msg, Actor{}); err != nil {
			return err
		}
		s.log.Warn("release: recovered job", "job", j.ID, "now", to, "reason", reason)
	}
	for f := range onDisk {
		s.removeDocument(f)
	}
	return nil
}

// recovery says where a job found at start-up must go, if anywhere.
func recovery(j Job, onDisk map[string]bool) (to State, reason, message string) {
	missing := j.Spool == "" && j.State != StateIncoming || j.Spool != "" && !onDisk[j.Spool]
	switch {
	case j.State.Ended():
		return "", "", ""
	case missing:
		return StateAborted, "document-missing", "The document was lost before it was stored."
	case j.State == StateIncoming:
		return StateAborted, "job-incomplete", "The client did not finish sending the job."
	case j.State == StatePrinting || j.State == StateReleasing:
		return StateHeld, "server-restarted",
			"printgate restarted while the job was printing; release it again if it did not print."
	}
	return "", "", ""
}
