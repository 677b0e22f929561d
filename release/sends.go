package release

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/printgate/printgate/internal/database"
)

// A job may be sent to printers more than once: a print that fails (the
// printer aborts or cancels it, a jam, a wait that may have printed) holds
// the job again with the printer job ID it had, and its owner may release
// it again, to a new printer job ID. The jobs row keeps only the latest,
// so each send the printer took is kept as a row of job_sends: the
// printer monitor (monitored.go) asks about every printer job that was
// printgate's, and the failed attempt shows up in the printer's log as
// aborted or canceled next to the reprint. A send's rows go with its job's
// (ON DELETE CASCADE).

// jobSend is one send of a job that a printer took: at printer, as
// printer job PrinterJobID, from SentAt (when printgate began to send
// it, before the printer made the job) to EndedAt (when printgate saw
// its print end; nil while it prints, or when printgate stopped before:
// then the job's own state and times say).
type jobSend struct {
	JobID        int64  `gorm:"primaryKey"`
	Printer      string `gorm:"primaryKey"`
	PrinterJobID int    `gorm:"primaryKey"`
	SentAt       time.Time
	EndedAt      *time.Time
}

func (jobSend) TableName() string { return "job_sends" }

// recordSend notes in tx that the printer took job jobID as printer job
// printerJobID, a send begun at sent. The job's earlier sends ended by
// now at the latest: deliver ends each as its print ends, and one left
// open by a stop ends here. The same printer job ID at the same printer
// again (the printer restarted between) is the same send to the monitor.
func recordSend(tx *gorm.DB, jobID int64, printer string, printerJobID int, sent, now time.Time) error {
	if err := tx.Model(&jobSend{}).Where("job_id = ? AND ended_at IS NULL", jobID).
		Update("ended_at", now).Error; err != nil {
		return err
	}
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "job_id"}, {Name: "printer"}, {Name: "printer_job_id"}},
		DoUpdates: clause.Assignments(map[string]any{"sent_at": sent, "ended_at": nil}),
	}).Create(&jobSend{JobID: jobID, Printer: printer, PrinterJobID: printerJobID, SentAt: sent}).Error
}

// endSends notes that job id's print ended now (printed, or held again):
// a printer job with its ID later on is not its.
func (s *Service) endSends(ctx context.Context, id int64) {
	err := s.db.WithContext(ctx).Model(&jobSend{}).Where("job_id = ? AND ended_at IS NULL", id).
		Update("ended_at", s.now()).Error
	if err != nil {
		// The job's state and times bound the send instead (Forwarded).
		s.log.Warn("release: end of send not recorded", "job", id, "err", dbErr("end send", err))
	}
}

// createJobSends adds job_sends, with a send for every job that has a
// printer job ID: begun when it was last released (or submitted), its end
// left to the job's state and times, as the monitor matched before.
func createJobSends(tx *gorm.DB, d database.Dialect) error {
	ts := d.TimeType()
	return database.Exec(tx, `CREATE TABLE job_sends (
		job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
		printer TEXT NOT NULL,
		printer_job_id INTEGER NOT NULL,
		sent_at `+ts+` NOT NULL,
		ended_at `+ts+`,
		PRIMARY KEY (job_id, printer, printer_job_id)
	)`, `CREATE INDEX job_sends_printer ON job_sends (printer, printer_job_id)`,
		`INSERT INTO job_sends (job_id, printer, printer_job_id, sent_at)
		SELECT id, printer, printer_job_id, COALESCE(processed_at, created_at) FROM jobs
		WHERE printer <> '' AND printer_job_id <> 0`)
}
