package database_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestMigrateRefusesNewerSchema: a schema one step past the steps a
// printgate knows (written by a newer one) is refused, saying so, on
// each database, and left as it is; the printgate that knows that step
// finds nothing to do.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	steps := []database.Migration{
		{Name: "widgets", Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `CREATE TABLE widgets (id BIGINT PRIMARY KEY)`)
		}},
		{Name: "widgets.colour", Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `ALTER TABLE widgets ADD COLUMN colour TEXT NOT NULL DEFAULT ''`)
		}},
	}
	newer := append(steps[:len(steps):len(steps)], database.Migration{Name: "widgets.sensitive",
		Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `ALTER TABLE widgets ADD COLUMN sensitive TEXT NOT NULL DEFAULT ''`)
		}})
	testenv.EachDB(t, nil, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if err := db.Migrate(ctx, "widgets", newer); err != nil {
			t.Fatal(err)
		}
		err := db.Migrate(ctx, "widgets", steps)
		const want = "widgets schema version 3 is newer than this printgate knows (2): run the printgate that wrote it"
		if !errors.Is(err, database.ErrNewerSchema) || !strings.Contains(err.Error(), want) {
			t.Fatalf("migrate a newer schema: %v, want an error saying %q", err, want)
		}
		var nse *database.NewerSchemaError
		if !errors.As(err, &nse) || nse.Component != "widgets" || nse.Stored != 3 || nse.Known != 2 {
			t.Errorf("error %#v, want widgets stored 3 known 2", nse)
		}
		if err := db.Migrate(ctx, "widgets", newer); err != nil {
			t.Errorf("migrate with the newer printgate's steps: %v", err)
		}
		// A version bumped by hand past every step, as a later migration
		// would leave it, is refused the same way.
		if err := db.Exec(`UPDATE schema_versions SET version = version + 1 WHERE component = 'widgets'`).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx, "widgets", newer); !errors.Is(err, database.ErrNewerSchema) ||
			!strings.Contains(err.Error(), "widgets schema version 4 is newer than this printgate knows (3)") {
			t.Errorf("migrate after the version was bumped: %v", err)
		}
	})
}
