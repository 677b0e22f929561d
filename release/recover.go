package release

import (
	"context"
	"fmt"

	"gorm.io/gorm"
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
	err = s.db.WithContext(ctx).Select("id", "spool", "state").
		Where("spool <> '' OR state IN ?", activeStates).Find(&rows).Error
	if err != nil {
		return dbErr("recover: list jobs", err)
	}
	db := s.db.WithContext(ctx)
	for _, j := range rows {
		var upd map[string]any
		switch {
		case !j.State.Ended() && (j.Spool == "" && j.State != StateIncoming || j.Spool != "" && !onDisk[j.Spool]):
			upd = map[string]any{"state": StateAborted, "reason": "document-missing",
				"message": "The document was lost before it was stored.", "spool": "", "wrapped_key": nil}
		case j.State == StateIncoming:
			upd = map[string]any{"state": StateAborted, "reason": "job-incomplete",
				"message": "The client did not finish sending the job.", "spool": "", "wrapped_key": nil}
		case j.State == StatePrinting || j.State == StateReleasing:
			upd = map[string]any{"state": StateHeld, "reason": "server-restarted",
				"message": "printgate restarted while the job was printing; release it again if it did not print."}
		}
		delete(onDisk, j.Spool)
		if upd == nil {
			continue
		}
		upd["updated_at"] = now()
		err := db.Transaction(func(tx *gorm.DB) error {
			return tx.Model(&Job{}).Where("id = ? AND state = ?", j.ID, j.State).Updates(upd).Error
		})
		if err != nil {
			return dbErr(fmt.Sprintf("recover job %d", j.ID), err)
		}
		s.log.Warn("release: recovered job", "job", j.ID, "was", j.State, "now", upd["state"])
	}
	for f := range onDisk {
		s.removeDocument(f)
	}
	return nil
}
