package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestMigrateRefusesNewerRelease: the release tables of a newer printgate
// (one step past what this one knows, say a column that marks My Number
// jobs) are refused on each database: this printgate would not know what
// the step means.
func TestMigrateRefusesNewerRelease(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		if err := db.Exec(`UPDATE schema_versions SET version = version + 1 WHERE component = 'release'`).Error; err != nil {
			t.Fatal(err)
		}
		known := len(migrations())
		err := Migrate(context.Background(), db)
		want := fmt.Sprintf("release schema version %d is newer than this printgate knows (%d): run the printgate that wrote it", known+1, known)
		if !errors.Is(err, database.ErrNewerSchema) || !strings.Contains(err.Error(), want) {
			t.Errorf("migrate: %v, want an error saying %q", err, want)
		}
	})
}
