package database

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Migration is one step of a package's schema. Steps run in order, each in
// its own transaction, and each runs once per database.
type Migration struct {
	// Name says what the step does, for the log and the migrations table.
	Name string
	// Up applies the step inside tx.
	Up func(tx *gorm.DB, d Dialect) error
}

type schemaVersion struct {
	Component string `gorm:"primaryKey;size:64"`
	Version   int    `gorm:"not null"`
	AppliedAt time.Time
}

func (schemaVersion) TableName() string { return "schema_versions" }

// ErrNewerSchema is what Migrate returns (wrapped in a *NewerSchemaError)
// when a database's schema is newer than the steps it was given.
var ErrNewerSchema = errors.New("database: schema newer than this printgate")

// NewerSchemaError says that a component's stored schema version is above
// the number of steps this printgate knows: a newer printgate wrote it.
type NewerSchemaError struct {
	Component     string
	Stored, Known int
}

// Error says which component, both versions and what to do.
func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("%s schema version %d is newer than this printgate knows (%d): run the printgate that wrote it",
		e.Component, e.Stored, e.Known)
}

// Is makes errors.Is(err, ErrNewerSchema) true.
func (e *NewerSchemaError) Is(target error) bool { return target == ErrNewerSchema }

// Migrate brings component's schema up to date by applying the steps after
// the recorded version. Several instances may start at once: the row lock
// on the component's version makes the others wait, then find nothing to do.
// A recorded version above len(steps) is refused with a *NewerSchemaError:
// this printgate would read and write tables without the columns it does
// not know (a downgrade, a backup of a newer version restored, instances
// of two versions on one database), say a job marked sensitive released
// as an ordinary one.
func (db *DB) Migrate(ctx context.Context, component string, steps []Migration) error {
	if err := db.WithContext(ctx).AutoMigrate(&schemaVersion{}); err != nil {
		return fmt.Errorf("database: migrate %s: version table: %w", component, err)
	}
	// Checked once before the steps, which see it only while there is
	// one left to run, and again in each of them: a newer printgate may
	// migrate meanwhile.
	var v schemaVersion
	err := db.WithContext(ctx).Where("component = ?", component).Limit(1).Find(&v).Error
	if err != nil {
		return fmt.Errorf("database: migrate %s: %w", component, err)
	}
	if v.Version > len(steps) {
		return fmt.Errorf("database: migrate %s: %w", component, &NewerSchemaError{component, v.Version, len(steps)})
	}
	for i := range steps {
		err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).
				Create(&schemaVersion{Component: component, Version: 0, AppliedAt: time.Now()}).Error; err != nil {
				return err
			}
			var v schemaVersion
			q := tx
			if db.Dialect == Postgres {
				q = q.Clauses(clause.Locking{Strength: "UPDATE"})
			}
			if err := q.First(&v, "component = ?", component).Error; err != nil {
				return err
			}
			if v.Version > len(steps) {
				return &NewerSchemaError{component, v.Version, len(steps)}
			}
			if v.Version > i {
				return nil
			}
			if err := steps[i].Up(tx, db.Dialect); err != nil {
				return fmt.Errorf("step %d (%s): %w", i+1, steps[i].Name, err)
			}
			return tx.Model(&schemaVersion{}).Where("component = ?", component).
				Updates(map[string]any{"version": i + 1, "applied_at": time.Now()}).Error
		})
		if err != nil {
			return fmt.Errorf("database: migrate %s: %w", component, err)
		}
	}
	return nil
}

// Exec runs statements in order; a convenience for migration steps.
func Exec(tx *gorm.DB, stmts ...string) error {
	for _, s := range stmts {
		if err := tx.Exec(s).Error; err != nil {
			return err
		}
	}
	return nil
}

// CreateExpectOne adds, on PostgreSQL, the function name(n BIGINT) that
// raises message with the SQLSTATE condition code unless n is 1: a
// statement of several data-modifying WITH queries calls it on the rows
// one of them changed, so that it fails as a whole when that one changed
// none. Elsewhere it adds nothing.
func CreateExpectOne(tx *gorm.DB, d Dialect, name, message, code string) error {
	if d != Postgres {
		return nil
	}
	return Exec(tx, `CREATE FUNCTION `+name+`(n BIGINT) RETURNS VOID LANGUAGE plpgsql AS $$
	BEGIN
		IF n <> 1 THEN
			RAISE EXCEPTION '`+message+`' USING ERRCODE = '`+code+`';
		END IF;
	END $$`)
}
