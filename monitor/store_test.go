package monitor

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestMigrateMatched: upgrading keeps, for good, the matches the seen
// marks still hold, as matches of the send whose printer job ID the job
// holds: a printgate job matched before the upgrade is not matched again
// once its mark is forgotten. A job whose row is gone keeps no mark.
func TestMigrateMatched(t *testing.T) {
	before := func(ctx context.Context, db *database.DB) error {
		if err := audit.Migrate(ctx, db); err != nil {
			return err
		}
		if err := standInJobs(db); err != nil {
			return err
		}
		return db.Migrate(ctx, "monitor", migrations[:2])
	}
	testenv.EachDB(t, before, func(t *testing.T, db *database.DB) {
		at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
		for _, s := range []seenJob{{URI: "ipp://a/", Key: "urn:uuid:1", JobID: 7, SeenAt: at},
			{URI: "ipp://a/", Key: "urn:uuid:2", SeenAt: at}, {URI: "ipp://b/", Key: "id:5@0", JobID: 8, SeenAt: at},
			{URI: "ipp://b/", Key: "id:6@0", JobID: 9, SeenAt: at}} {
			if err := db.Create(&s).Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Exec(`INSERT INTO ` + jobsTable + ` (id, printer, printer_job_id) VALUES (7, 'ipp://a/', 11), (8, 'ipp://b/', 5)`).Error; err != nil {
			t.Fatal(err)
		}
		if err := Migrate(t.Context(), db); err != nil {
			t.Fatal(err)
		}
		var got []matchedSend
		if err := db.Order("job_id").Find(&got).Error; err != nil {
			t.Fatal(err)
		}
		want := []matchedSend{{JobID: 7, URI: "ipp://a/", PrinterJobID: 11, Key: "urn:uuid:1"},
			{JobID: 8, URI: "ipp://b/", PrinterJobID: 5, Key: "id:5@0"}}
		if !slices.EqualFunc(got, want, func(g, w matchedSend) bool {
			return g.JobID == w.JobID && g.URI == w.URI && g.PrinterJobID == w.PrinterJobID && g.Key == w.Key && g.MatchedAt.Equal(at)
		}) {
			t.Errorf("matched after the upgrade %+v, want %+v at %v", got, want, at)
		}
	})
}
