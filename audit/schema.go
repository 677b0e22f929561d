package audit

import (
	"context"
	"fmt"
	"strings"

	"github.com/printgate/printgate/internal/database"
	"gorm.io/gorm"
)

// Migrate creates or updates the audit tables, indexes and the triggers
// that keep events append-only.
func Migrate(ctx context.Context, db *database.DB) error {
	return db.Migrate(ctx, "audit", migrations)
}

// migrations are the audit schema's steps; append new ones, never edit.
var migrations = []database.Migration{
	{Name: "create audit tables", Up: createTables},
	{Name: "append-only triggers", Up: createTriggers},
	{Name: "signed chain marks", Up: createMarks},
	{Name: "audit_expect_moved", Up: createExpectMoved},
	{Name: "events and job records keyed by rowid", Up: rowidKeyed},
	{Name: "colour by the one rule", Up: colorByRule},
	{Name: "job records from printers' logs", Up: recordPrinterLogs},
	{Name: "colour from the printer and the document", Up: addColorFacts},
}

// colorByRule rewrites the color column of the job records by the rule
// of ColorFacts: an earlier version counted a job that asked for no
// print-color-mode, or "auto", as colour; it is not known to be.
func colorByRule(tx *gorm.DB, _ database.Dialect) error {
	return tx.Exec(`UPDATE audit_jobs SET color = (` + modeClassSQL("color_mode") + ` = '` + string(ColorColor) + `')`).Error
}

// rowidKeyed makes seq the rowid of audit_events and job_id that of
// audit_jobs on SQLite: declared BIGINT PRIMARY KEY, each was a column
// with an index of its own beside the rowid, a second B-tree that every
// event and every submission wrote (a page of the log's each time).
// Each table is made anew from its own stored definition, with its rows,
// indexes and triggers; the values and the chain are the same.
// PostgreSQL has no rowid.
func rowidKeyed(tx *gorm.DB, d database.Dialect) error {
	if d != database.SQLite {
		return nil
	}
	for _, t := range []struct{ table, key string }{{"audit_events", "seq"}, {"audit_jobs", "job_id"}} {
		if err := rekey(tx, t.table, t.key); err != nil {
			return fmt.Errorf("key %s by rowid: %w", t.table, err)
		}
	}
	return nil
}

// rekey remakes SQLite table with key, declared BIGINT PRIMARY KEY, as
// its rowid.
func rekey(tx *gorm.DB, table, key string) error {
	var defs []struct {
		Type, SQL string
	}
	if err := tx.Raw(`SELECT type, sql FROM sqlite_schema WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type = 'table' DESC, rowid`,
		table).Scan(&defs).Error; err != nil {
		return err
	}
	if len(defs) == 0 || defs[0].Type != "table" {
		return fmt.Errorf("no table %s", table)
	}
	old := key + " BIGINT PRIMARY KEY"
	if !strings.Contains(defs[0].SQL, old) {
		return fmt.Errorf("%s is not declared %q", table, old)
	}
	create := strings.Replace(defs[0].SQL, old, key+" INTEGER PRIMARY KEY", 1)
	create = strings.Replace(create, table, table+"_rowid", 1)
	stmts := []string{create,
		`INSERT INTO ` + table + `_rowid SELECT * FROM ` + table,
		`DROP TABLE ` + table,
		`ALTER TABLE ` + table + `_rowid RENAME TO ` + table}
	for _, def := range defs[1:] {
		stmts = append(stmts, def.SQL) // indexes and triggers
	}
	return database.Exec(tx, stmts...)
}

// createExpectMoved adds, on PostgreSQL, the function that fails
// AppendAlone's statement as a whole when its move of the chain head
// found the head elsewhere (alone.go): n is the rows the move changed.
// serialization_failure is the code of "nothing was done, try again".
func createExpectMoved(tx *gorm.DB, d database.Dialect) error {
	return database.CreateExpectOne(tx, d, "audit_expect_moved", "audit: the chain head moved under an append", "serialization_failure")
}

// types maps the placeholders of the DDL below to each dialect's types.
var types = map[database.Dialect]*strings.Replacer{
	database.Postgres: strings.NewReplacer("{time}", "TIMESTAMPTZ", "{bytes}", "BYTEA", "{bool}", "BOOLEAN"),
	database.SQLite:   strings.NewReplacer("{time}", "DATETIME", "{bytes}", "BLOB", "{bool}", "BOOLEAN"),
}

func createTables(tx *gorm.DB, d database.Dialect) error {
	ddl := []string{
		// The chain head: one row, locked by every append.
		`CREATE TABLE audit_chain (
			id INTEGER PRIMARY KEY CHECK (id = 1),
			seq BIGINT NOT NULL,
			hash {bytes} NOT NULL
		)`,
		`CREATE TABLE audit_events (
			seq BIGINT PRIMARY KEY,
			at {time} NOT NULL,
			type TEXT NOT NULL,
			job_id BIGINT NOT NULL DEFAULT 0,
			owner TEXT NOT NULL DEFAULT '',
			actor TEXT NOT NULL DEFAULT '',
			queue TEXT NOT NULL DEFAULT '',
			device TEXT NOT NULL DEFAULT '',
			method TEXT NOT NULL DEFAULT '',
			printer TEXT NOT NULL DEFAULT '',
			outcome TEXT NOT NULL DEFAULT '',
			reason TEXT NOT NULL DEFAULT '',
			job TEXT,
			details TEXT,
			prev_hash {bytes} NOT NULL,
			hash {bytes} NOT NULL
		)`,
		// Timeline of one job; a user's events (owner or actor) for export;
		// time ranges for export and purge.
		`CREATE INDEX audit_events_job ON audit_events (job_id, seq) WHERE job_id <> 0`,
		`CREATE INDEX audit_events_owner ON audit_events (owner, seq)`,
		`CREATE INDEX audit_events_actor ON audit_events (actor, seq)`,
		`CREATE INDEX audit_events_at ON audit_events (at)`,
		`CREATE TABLE audit_jobs (
			job_id BIGINT PRIMARY KEY,
			queue TEXT NOT NULL DEFAULT '',
			owner TEXT NOT NULL DEFAULT '',
			claimed_user TEXT NOT NULL DEFAULT '',
			client_addr TEXT NOT NULL DEFAULT '',
			document_name TEXT NOT NULL DEFAULT '',
			name_hidden {bool} NOT NULL DEFAULT FALSE,
			format TEXT NOT NULL DEFAULT '',
			size BIGINT NOT NULL DEFAULT 0,
			sha256 {bytes},
			pages INTEGER NOT NULL DEFAULT 0,
			pages_known {bool} NOT NULL DEFAULT FALSE,
			pages_reason TEXT NOT NULL DEFAULT '',
			copies INTEGER NOT NULL DEFAULT 1,
			sides TEXT NOT NULL DEFAULT '',
			color_mode TEXT NOT NULL DEFAULT '',
			color {bool} NOT NULL DEFAULT TRUE,
			media TEXT NOT NULL DEFAULT '',
			has_job_pin {bool} NOT NULL DEFAULT FALSE,
			impressions BIGINT NOT NULL DEFAULT 0,
			sheets BIGINT NOT NULL DEFAULT 0,
			submitted_at {time} NOT NULL,
			day TEXT NOT NULL,
			released_at {time},
			completed_at {time},
			expired_at {time},
			deleted_at {time},
			device TEXT NOT NULL DEFAULT '',
			method TEXT NOT NULL DEFAULT '',
			printer TEXT NOT NULL DEFAULT '',
			outcome TEXT NOT NULL DEFAULT '',
			reason TEXT NOT NULL DEFAULT '',
			last_seq BIGINT NOT NULL
		)`,
		// A user's history page is one range scan of this index, newest
		// first, however many events the record holds.
		`CREATE INDEX audit_jobs_owner ON audit_jobs (owner, submitted_at, job_id)`,
		// All users' history and totals over a time range.
		`CREATE INDEX audit_jobs_submitted ON audit_jobs (submitted_at, job_id)`,
		// Purge removes the records whose last event it removed.
		`CREATE INDEX audit_jobs_last_seq ON audit_jobs (last_seq)`,
		`CREATE TABLE audit_checkpoints (
			seq BIGINT PRIMARY KEY,
			hash {bytes} NOT NULL,
			last_at {time} NOT NULL,
			created_at {time} NOT NULL,
			events BIGINT NOT NULL,
			signature {bytes} NOT NULL
		)`,
	}
	r := types[d]
	for i := range ddl {
		ddl[i] = r.Replace(ddl[i])
	}
	if err := database.Exec(tx, ddl...); err != nil {
		return err
	}
	return tx.Exec(`INSERT INTO audit_chain (id, seq, hash) VALUES (1, 0, ?)`, zeroHash).Error
}

// purgeSetting is the PostgreSQL session setting Purge turns on (SET
// LOCAL, so only inside its own transaction) to delete checkpointed events.
const purgeSetting = "printgate.audit_purge"

// createTriggers makes events and checkpoints append-only. An event may be
// deleted only when a checkpoint covers it (and, on PostgreSQL, only in a
// transaction that turned purgeSetting on), which is what Purge does.
func createTriggers(tx *gorm.DB, d database.Dialect) error {
	if d == database.Postgres {
		return database.Exec(tx,
			`CREATE FUNCTION audit_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF TG_OP = 'DELETE'
					AND current_setting('`+purgeSetting+`', true) = 'on'
					AND OLD.seq <= (SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints) THEN
					RETURN OLD;
				END IF;
				RAISE EXCEPTION 'audit: % on % refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME
					USING ERRCODE = 'insufficient_privilege';
			END $$`,
			`CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				RAISE EXCEPTION 'audit: % on % refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME
					USING ERRCODE = 'insufficient_privilege';
			END $$`,
			`CREATE FUNCTION audit_chain_guard() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF TG_OP = 'UPDATE' AND NEW.seq > OLD.seq THEN
					RETURN NEW;
				END IF;
				RAISE EXCEPTION 'audit: % on % refused: the chain head only moves forward', TG_OP, TG_TABLE_NAME
					USING ERRCODE = 'insufficient_privilege';
			END $$`,
			`CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
				FOR EACH ROW EXECUTE FUNCTION audit_events_guard()`,
			`CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
				FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()`,
			`CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
				FOR EACH ROW EXECUTE FUNCTION audit_refuse()`,
			`CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
				FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()`,
			`CREATE TRIGGER audit_chain_forward BEFORE UPDATE OR DELETE ON audit_chain
				FOR EACH ROW EXECUTE FUNCTION audit_chain_guard()`,
			`CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
				FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()`,
		)
	}
	// SQLite has no session settings; checkpoint coverage alone decides.
	return database.Exec(tx,
		`CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
		BEGIN SELECT RAISE(ABORT, 'audit: UPDATE on audit_events refused: the audit trail is append-only'); END`,
		`CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
		WHEN OLD.seq > (SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints)
		BEGIN SELECT RAISE(ABORT, 'audit: DELETE on audit_events refused: the audit trail is append-only'); END`,
		`CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
		BEGIN SELECT RAISE(ABORT, 'audit: UPDATE on audit_checkpoints refused'); END`,
		`CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
		BEGIN SELECT RAISE(ABORT, 'audit: DELETE on audit_checkpoints refused'); END`,
		`CREATE TRIGGER audit_chain_forward BEFORE UPDATE ON audit_chain
		WHEN NEW.seq <= OLD.seq
		BEGIN SELECT RAISE(ABORT, 'audit: the chain head only moves forward'); END`,
		`CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
		BEGIN SELECT RAISE(ABORT, 'audit: DELETE on audit_chain refused'); END`,
	)
}

// createMarks creates the table of signed marks (see Mark), append-only
// like the checkpoints, and the index Verify reads job records by.
func createMarks(tx *gorm.DB, d database.Dialect) error {
	ddl := []string{types[d].Replace(`CREATE TABLE audit_marks (
		seq BIGINT PRIMARY KEY,
		kind TEXT NOT NULL,
		hash {bytes} NOT NULL,
		created_at {time} NOT NULL,
		signature {bytes} NOT NULL
	)`),
		// Verify reads job records in (last_seq, job_id) order, a batch
		// at a time from where the last ended; purge still finds records
		// by last_seq on it.
		`CREATE INDEX audit_jobs_last_seq_job ON audit_jobs (last_seq, job_id)`,
		`DROP INDEX audit_jobs_last_seq`,
	}
	if d == database.Postgres {
		ddl = append(ddl,
			`CREATE TRIGGER audit_marks_append_only BEFORE UPDATE OR DELETE ON audit_marks
				FOR EACH ROW EXECUTE FUNCTION audit_refuse()`,
			`CREATE TRIGGER audit_marks_no_truncate BEFORE TRUNCATE ON audit_marks
				FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()`)
	} else {
		ddl = append(ddl,
			`CREATE TRIGGER audit_marks_no_update BEFORE UPDATE ON audit_marks
			BEGIN SELECT RAISE(ABORT, 'audit: UPDATE on audit_marks refused'); END`,
			`CREATE TRIGGER audit_marks_no_delete BEFORE DELETE ON audit_marks
			BEGIN SELECT RAISE(ABORT, 'audit: DELETE on audit_marks refused'); END`)
	}
	return database.Exec(tx, ddl...)
}

// addColorFacts adds the columns of the colour facts more certain than
// the mode a job asked for (ColorFacts): what the printer reported
// printing and what the document holds. No event before this version
// gave either, so every record keeps its colour.
func addColorFacts(tx *gorm.DB, _ database.Dialect) error {
	return database.Exec(tx, `ALTER TABLE audit_jobs ADD COLUMN printer_color TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE audit_jobs ADD COLUMN content_color TEXT NOT NULL DEFAULT ''`)
}
