package release

import (
	"bytes"
	"testing"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// TestCommittedAnyway: after a failed commit the committer asks the
// database which of the batch's jobs exist all the same; those are
// answered as committed with their IDs, never written a second time (the
// unique document name refuses a second row), and only the others are
// tried again.
func TestCommittedAnyway(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, _ := startService(t, db, Options{Queues: []Queue{{Name: "q", Mode: Hold}}})
		j, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "q", User: "hanako", Name: "slip",
			Document: ipp.DocumentInfo{Format: "application/pdf"}}, bytes.NewReader(paddedDoc(1, 100)))
		if err != nil {
			t.Fatal(err)
		}
		var stored Job
		if err := db.First(&stored, j.ID).Error; err != nil {
			t.Fatal(err)
		}
		again := stored
		again.ID = 0
		if err := db.Create(&again).Error; err == nil {
			t.Fatalf("a second job with document %s was recorded", stored.Spool)
		}
		lost := &submission{job: &Job{Spool: "never-committed"}}
		done := &submission{job: &Job{Spool: stored.Spool}}
		committed, rest, err := svc.committedAnyway([]*submission{lost, done})
		if err != nil {
			t.Fatal(err)
		}
		if len(committed) != 1 || committed[0] != done || done.job.ID != stored.ID {
			t.Errorf("committed %v (ID %d); want the stored job %d", committed, done.job.ID, stored.ID)
		}
		if len(rest) != 1 || rest[0] != lost || lost.job.ID != 0 {
			t.Errorf("rest %v; want only the job that was never committed", rest)
		}
	})
}
