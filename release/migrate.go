package release

import (
	"context"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
)

// Migrate creates or updates the release tables in db.
func Migrate(ctx context.Context, db *database.DB) error {
	return db.Migrate(ctx, "release", migrations())
}

// migrations are the release tables' schema steps, in order.
func migrations() []database.Migration {
	return []database.Migration{
		{Name: "jobs", Up: createJobs},
		{Name: "jobs.pages_reason", Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `ALTER TABLE jobs ADD COLUMN pages_reason TEXT NOT NULL DEFAULT ''`)
		}},
		{Name: "devices and release sessions", Up: createDevices},
		{Name: "devices.allow_plain_credentials", Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `ALTER TABLE devices ADD COLUMN allow_plain_credentials BOOLEAN NOT NULL DEFAULT FALSE`)
		}},
		{Name: "job_keys", Up: createJobKeys},
		{Name: "job_documents", Up: createJobDocuments},
		// One job per document: a batch retried after a commit whose
		// outcome was unknown must fail, not record a job twice.
		{Name: "jobs.spool unique", Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `CREATE UNIQUE INDEX jobs_spool ON jobs (spool) WHERE spool <> ''`)
		}},
		{Name: "job_keys and job_documents keyed by rowid", Up: rowidKeyed},
		// No query used it (the purge of finished jobs compares
		// COALESCE(completed_at, updated_at), which no index serves, and
		// finds its states through jobs_expiry), and every submission and
		// every change of state wrote it.
		{Name: "drop jobs_state_updated", Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `DROP INDEX jobs_state_updated`)
		}},
		{Name: "held_bytes", Up: createHeldBytes},
		{Name: "jobs.page_ranges", Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `ALTER TABLE jobs ADD COLUMN page_ranges TEXT NOT NULL DEFAULT ''`)
		}},
		{Name: "held_bytes limit check", Up: heldLimitCheck},
		{Name: "jobs.owner_unknown", Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `ALTER TABLE jobs ADD COLUMN owner_unknown BOOLEAN NOT NULL DEFAULT FALSE`)
		}},
		// '' is a device added before reader formats: hex.
		{Name: "devices.reader_format", Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `ALTER TABLE devices ADD COLUMN reader_format TEXT NOT NULL DEFAULT ''`)
		}},
		// What a job's document holds that its queue treats with care
		// (My Number), never the content.
		{Name: "jobs.sensitive", Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `ALTER TABLE jobs ADD COLUMN sensitive TEXT NOT NULL DEFAULT ''`)
		}},
		{Name: "devices.card_required", Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `ALTER TABLE devices ADD COLUMN card_required BOOLEAN NOT NULL DEFAULT FALSE`)
		}},
		{Name: "jobs.content_color", Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `ALTER TABLE jobs ADD COLUMN content_color TEXT NOT NULL DEFAULT ''`)
		}},
		// The journal's segment keys and how far it is applied
		// (journaled.go).
		{Name: "journal", Up: func(tx *gorm.DB, d database.Dialect) error {
			id, blob := "INTEGER", "BLOB"
			if d == database.Postgres {
				id, blob = "BIGINT", "BYTEA"
			}
			return database.Exec(tx,
				`CREATE TABLE journal_keys (segment `+id+` PRIMARY KEY, key `+blob+` NOT NULL)`,
				`CREATE TABLE journal_applied (id `+id+` PRIMARY KEY, seq `+id+` NOT NULL)`)
		}},
		{Name: "jobs_expect_moved", Up: createJobsExpectMoved},
		// Where a document in a spool segment lies (segments.go).
		{Name: "jobs.doc_segment", Up: func(tx *gorm.DB, _ database.Dialect) error {
			for _, c := range []string{"doc_segment", "doc_offset", "doc_length"} {
				if err := database.Exec(tx, `ALTER TABLE jobs ADD COLUMN `+c+` BIGINT NOT NULL DEFAULT 0`); err != nil {
					return err
				}
			}
			return nil
		}},
		{Name: "held_bytes counted a statement at a time", Up: heldByStatement},
		// Every send a printer took, not only a job's latest (sends.go).
		{Name: "job_sends", Up: createJobSends},
		{Name: "devices.methods qr", Up: qrMethod},
		{Name: "journal by instance", Up: journalByInstance},
		// The account a device session signed in (Session.AccountID).
		{Name: "release_sessions.account_id", Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `ALTER TABLE release_sessions ADD COLUMN account_id TEXT NOT NULL DEFAULT ''`)
		}},
	}
}

// journalByInstance keys the journal's rows by the instance whose journal
// they are: on PostgreSQL every instance keeps a journal of its own in its
// data dir, numbered from 1 like any other (docs/PIPELINE.md, "The
// journal"). SQLite has one instance, whose rows keep the name "".
func journalByInstance(tx *gorm.DB, d database.Dialect) error {
	stmts := []string{
		`ALTER TABLE journal_keys ADD COLUMN instance TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE journal_applied ADD COLUMN instance TEXT NOT NULL DEFAULT ''`,
	}
	if d == database.Postgres {
		stmts = append(stmts,
			`ALTER TABLE journal_keys DROP CONSTRAINT journal_keys_pkey, ADD PRIMARY KEY (instance, segment)`,
			`ALTER TABLE journal_applied DROP CONSTRAINT journal_applied_pkey, ADD PRIMARY KEY (instance)`)
	} else {
		stmts = append(stmts, `CREATE UNIQUE INDEX journal_applied_instance ON journal_applied (instance)`)
	}
	return database.Exec(tx, stmts...)
}

// qrMethod makes QR release one of a device's methods (MethodQR), which
// every device allowed before: it stays with each device that lets one
// factor sign in at the device itself (a card, or ID and PIN where no
// card is required), for which a phone's sign-in was no weaker. A device
// whose every method is two factors (card and PIN, or ID and PIN behind
// a required card) does not get it: there QR release was the way around
// them. The rule is written out here rather than taken from twoFactor,
// so that the step means the same however that changes later.
func qrMethod(tx *gorm.DB, _ database.Dialect) error {
	var devs []struct {
		ID           int64
		Methods      string
		CardRequired bool
	}
	if err := tx.Raw(`SELECT id, methods, card_required FROM devices ORDER BY id`).Scan(&devs).Error; err != nil {
		return err
	}
	for _, d := range devs {
		methods := splitList(d.Methods)
		oneFactor := slices.ContainsFunc(methods, func(m string) bool {
			return m == MethodCard || (m == MethodIDPIN && !d.CardRequired)
		})
		if !oneFactor || slices.Contains(methods, MethodQR) {
			continue
		}
		err := tx.Exec(`UPDATE devices SET methods = ? WHERE id = ?`, strings.Join(append(methods, MethodQR), ","), d.ID).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// heldByStatement makes PostgreSQL count the held bytes of inserted jobs
// once a statement rather than once a row: the row trigger's PL/pgSQL was
// an eighth of PostgreSQL's processor at 32 clients, a call and an upsert
// for each job of a batch (docs/PERFORMANCE.md). The statement's new rows
// are added up by owner, in owner order (the order in which every writer
// locks the counters), and the limit is checked as the row trigger did:
// an owner past it who gained bytes fails the statement; without a limit
// asked, a plain upsert does (pgbench of one-row inserts: 0.13–0.14 ms
// against the row trigger's 0.10–0.16 and 0.16–0.17 for the checking
// form; of thirteen rows, 0.16–0.17 against 0.22–0.24). Updates and
// deletes keep the row trigger.
func heldByStatement(tx *gorm.DB, d database.Dialect) error {
	if d != database.Postgres {
		return nil
	}
	return database.Exec(tx,
		`CREATE FUNCTION jobs_held_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
		DECLARE
			lim BIGINT := NULLIF(current_setting('`+heldLimitSetting+`', true), '')::BIGINT;
			over BOOLEAN;
		BEGIN
			IF lim > 0 THEN
				WITH added AS (
					SELECT owner, SUM(size) AS bytes, bool_or(size > 0) AS grows
					FROM inserted WHERE spool <> '' GROUP BY owner
				), counted AS (
					INSERT INTO held_bytes AS h (owner, bytes)
					SELECT owner, bytes FROM added ORDER BY owner
					ON CONFLICT (owner) DO UPDATE SET bytes = h.bytes + EXCLUDED.bytes
					RETURNING h.owner, h.bytes
				)
				SELECT bool_or(c.bytes > lim AND a.grows) INTO over
				FROM counted c JOIN added a USING (owner);
				IF over THEN
					RAISE EXCEPTION 'release: held documents past the per-user limit'
						USING ERRCODE = 'check_violation', CONSTRAINT = 'held_bytes_limit';
				END IF;
			ELSE
				INSERT INTO held_bytes AS h (owner, bytes)
				SELECT owner, SUM(size) FROM inserted WHERE spool <> '' GROUP BY owner ORDER BY owner
				ON CONFLICT (owner) DO UPDATE SET bytes = h.bytes + EXCLUDED.bytes;
			END IF;
			RETURN NULL;
		END $$`,
		`DROP TRIGGER jobs_held_insert ON jobs`,
		`CREATE TRIGGER jobs_held_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS inserted
			FOR EACH STATEMENT EXECUTE FUNCTION jobs_held_inserted()`,
	)
}

// heldLimitCheck makes the held-bytes trigger of PostgreSQL refuse a
// job that takes its owner past the limit in the setting
// printgate.held_limit, when the statement or transaction has set it:
// the committer's one-statement batches (alone.go), which lock nothing
// beforehand, and the transactions that checked the limit under their
// owner's lock (lockHeld), so that the two never let each other past it.
// Every other write (a release, an administrator's change) is not
// checked. The counter's row is locked by the update, so what the check
// reads counts every job committed before and none that is not.
func heldLimitCheck(tx *gorm.DB, d database.Dialect) error {
	if d != database.Postgres {
		return nil
	}
	return database.Exec(tx, `CREATE OR REPLACE FUNCTION jobs_held_bytes() RETURNS trigger LANGUAGE plpgsql AS $$
	DECLARE
		total BIGINT;
		lim BIGINT;
	BEGIN
		IF TG_OP <> 'INSERT' AND OLD.spool <> '' THEN
			UPDATE held_bytes SET bytes = bytes - OLD.size WHERE owner = OLD.owner;
		END IF;
		IF TG_OP <> 'DELETE' AND NEW.spool <> '' THEN
			INSERT INTO held_bytes AS h (owner, bytes) VALUES (NEW.owner, NEW.size)
			ON CONFLICT (owner) DO UPDATE SET bytes = h.bytes + EXCLUDED.bytes
			RETURNING h.bytes INTO total;
			lim := NULLIF(current_setting('`+heldLimitSetting+`', true), '')::BIGINT;
			IF lim > 0 AND total > lim AND NEW.size > 0 THEN
				RAISE EXCEPTION 'release: held documents past the per-user limit'
					USING ERRCODE = 'check_violation', CONSTRAINT = 'held_bytes_limit';
			END IF;
		END IF;
		RETURN NULL;
	END $$`)
}

// createHeldBytes adds the per-owner counter of held bytes that the
// held-bytes check reads (quota.go heldBy): one row per owner, kept equal
// to SUM(size) of the owner's jobs whose document is kept (a spool name)
// by triggers on jobs, so that no path that writes jobs (the committer,
// Send-Document, a transition, the sweeper, a hand edit) can forget it.
// Summing the jobs instead cost a scan of the owner's jobs twice per
// submission, once of them inside the committer's serial transaction: a
// user with 100,000 small jobs slowed every batch of every user.
//
// An owner's row stays when it drops to 0: a user whose last job prints
// submits again soon, and an UPDATE in place costs less than a DELETE and
// a new INSERT each time (on PostgreSQL, fewer dead rows); the rows are
// as many as the users who ever held a document.
//
// Each trigger runs only when its row changes what its owner holds (its
// WHEN): most updates of jobs (claims, state moves that keep the
// document) set none of owner, size and spool, and the purge of ended
// jobs deletes rows without a document.
func createHeldBytes(tx *gorm.DB, d database.Dialect) error {
	const changed = `(OLD.spool <> '') <> (NEW.spool <> '')
		OR (NEW.spool <> '' AND (OLD.owner <> NEW.owner OR OLD.size <> NEW.size))`
	const fill = `INSERT INTO held_bytes (owner, bytes)
		SELECT owner, SUM(size) FROM jobs WHERE spool <> '' GROUP BY owner`
	if d == database.Postgres {
		return database.Exec(tx,
			// Writers wait until the counter and its triggers commit, so
			// that no job written meanwhile is missed by the fill.
			`LOCK TABLE jobs IN SHARE ROW EXCLUSIVE MODE`,
			// Every batch updates its owners' rows: room in each page
			// keeps those updates HOT (no index entry, pruned in place).
			`CREATE TABLE held_bytes (owner TEXT PRIMARY KEY, bytes BIGINT NOT NULL) WITH (fillfactor = 50)`,
			fill,
			`CREATE FUNCTION jobs_held_bytes() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF TG_OP <> 'INSERT' AND OLD.spool <> '' THEN
					UPDATE held_bytes SET bytes = bytes - OLD.size WHERE owner = OLD.owner;
				END IF;
				IF TG_OP <> 'DELETE' AND NEW.spool <> '' THEN
					INSERT INTO held_bytes AS h (owner, bytes) VALUES (NEW.owner, NEW.size)
					ON CONFLICT (owner) DO UPDATE SET bytes = h.bytes + EXCLUDED.bytes;
				END IF;
				RETURN NULL;
			END $$`,
			`CREATE TRIGGER jobs_held_insert AFTER INSERT ON jobs
				FOR EACH ROW WHEN (NEW.spool <> '') EXECUTE FUNCTION jobs_held_bytes()`,
			`CREATE TRIGGER jobs_held_update AFTER UPDATE OF owner, size, spool ON jobs
				FOR EACH ROW WHEN (`+changed+`) EXECUTE FUNCTION jobs_held_bytes()`,
			`CREATE TRIGGER jobs_held_delete AFTER DELETE ON jobs
				FOR EACH ROW WHEN (OLD.spool <> '') EXECUTE FUNCTION jobs_held_bytes()`,
		)
	}
	// WITHOUT ROWID: the owner is the key of the table's only B-tree,
	// rather than of an index beside the rowid's.
	return database.Exec(tx,
		`CREATE TABLE held_bytes (owner TEXT PRIMARY KEY, bytes BIGINT NOT NULL) WITHOUT ROWID`,
		fill,
		`CREATE TRIGGER jobs_held_insert AFTER INSERT ON jobs WHEN NEW.spool <> '' BEGIN
			INSERT INTO held_bytes (owner, bytes) VALUES (NEW.owner, NEW.size)
			ON CONFLICT (owner) DO UPDATE SET bytes = bytes + excluded.bytes;
		END`,
		`CREATE TRIGGER jobs_held_update AFTER UPDATE OF owner, size, spool ON jobs WHEN `+changed+` BEGIN
			UPDATE held_bytes SET bytes = bytes - OLD.size WHERE owner = OLD.owner AND OLD.spool <> '';
			INSERT INTO held_bytes (owner, bytes) SELECT NEW.owner, NEW.size WHERE NEW.spool <> ''
			ON CONFLICT (owner) DO UPDATE SET bytes = bytes + excluded.bytes;
		END`,
		`CREATE TRIGGER jobs_held_delete AFTER DELETE ON jobs WHEN OLD.spool <> '' BEGIN
			UPDATE held_bytes SET bytes = bytes - OLD.size WHERE owner = OLD.owner;
		END`,
	)
}

// rowidKeyed makes job_id the rowid of job_keys and job_documents on
// SQLite: declared BIGINT PRIMARY KEY, it was a column with an index of
// its own beside the rowid, a second B-tree that every submission wrote
// and every destruction erased. PostgreSQL has no rowid.
func rowidKeyed(tx *gorm.DB, d database.Dialect) error {
	if d != database.SQLite {
		return nil
	}
	var stmts []string
	for _, t := range []struct{ table, column string }{{"job_keys", "wrapped_key"}, {"job_documents", "data"}} {
		stmts = append(stmts,
			`CREATE TABLE `+t.table+`_rowid (job_id INTEGER PRIMARY KEY, `+t.column+` BLOB NOT NULL)`,
			`INSERT INTO `+t.table+`_rowid (job_id, `+t.column+`) SELECT job_id, `+t.column+` FROM `+t.table,
			// secure_delete zeroes the old table's pages as it goes.
			`DROP TABLE `+t.table,
			`ALTER TABLE `+t.table+`_rowid RENAME TO `+t.table)
	}
	return database.Exec(tx, stmts...)
}

// createJobDocuments adds the table of small documents kept in the
// database (docs/PIPELINE.md) and the column that says a job's document
// is there. Existing jobs keep their documents in spool files.
func createJobDocuments(tx *gorm.DB, d database.Dialect) error {
	blob := "BLOB"
	if d == database.Postgres {
		blob = "BYTEA"
	}
	stmts := []string{
		`ALTER TABLE jobs ADD COLUMN doc_in_db BOOLEAN NOT NULL DEFAULT FALSE`,
		`CREATE TABLE job_documents (job_id BIGINT PRIMARY KEY, data ` + blob + ` NOT NULL)`,
	}
	if d == database.Postgres {
		// Encrypted bytes do not compress: EXTERNAL stores them out of
		// line without trying. Dead rows are vacuumed as soon as they die.
		stmts = append(stmts, `ALTER TABLE job_documents ALTER COLUMN data SET STORAGE EXTERNAL`,
			`ALTER TABLE job_documents SET (autovacuum_vacuum_threshold = 0,
			autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_cost_delay = 0)`)
	}
	return database.Exec(tx, stmts...)
}

// createJobKeys moves the wrapped keys out of the jobs rows. On PostgreSQL
// every UPDATE of a job copies its whole row, and each dead copy keeps the
// key until vacuumed; a key in a table of its own is written once and
// deleted once, and the small table is vacuumed as soon as a row dies.
func createJobKeys(tx *gorm.DB, d database.Dialect) error {
	blob := "BLOB"
	if d == database.Postgres {
		blob = "BYTEA"
	}
	stmts := []string{
		`CREATE TABLE job_keys (job_id BIGINT PRIMARY KEY, wrapped_key ` + blob + ` NOT NULL)`,
		`INSERT INTO job_keys (job_id, wrapped_key) SELECT id, wrapped_key FROM jobs WHERE wrapped_key IS NOT NULL`,
		`ALTER TABLE jobs DROP COLUMN wrapped_key`,
	}
	if d == database.Postgres {
		stmts = append(stmts, `ALTER TABLE job_keys SET (autovacuum_vacuum_threshold = 0,
			autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_cost_delay = 0)`)
	}
	return database.Exec(tx, stmts...)
}

func createJobs(tx *gorm.DB, d database.Dialect) error {
	// Job IDs must never repeat: AUTOINCREMENT on SQLite (plain INTEGER
	// PRIMARY KEY reuses the highest freed id), an identity on PostgreSQL.
	id := "INTEGER PRIMARY KEY AUTOINCREMENT"
	blob, ts := "BLOB", "TIMESTAMP"
	if d == database.Postgres {
		id = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
		blob, ts = "BYTEA", "TIMESTAMPTZ"
	}
	return database.Exec(tx, `CREATE TABLE jobs (
		id `+id+`,
		queue TEXT NOT NULL,
		owner TEXT NOT NULL,
		claimed_user TEXT NOT NULL DEFAULT '',
		client_addr TEXT NOT NULL DEFAULT '',
		name TEXT NOT NULL DEFAULT '',
		document_name TEXT NOT NULL DEFAULT '',
		format TEXT NOT NULL DEFAULT '',
		state TEXT NOT NULL,
		reason TEXT NOT NULL DEFAULT '',
		message TEXT NOT NULL DEFAULT '',
		copies INTEGER NOT NULL DEFAULT 1,
		sides TEXT NOT NULL DEFAULT '',
		color_mode TEXT NOT NULL DEFAULT '',
		media TEXT NOT NULL DEFAULT '',
		hold_until TEXT NOT NULL DEFAULT '',
		password_hash TEXT NOT NULL DEFAULT '',
		spool TEXT NOT NULL DEFAULT '',
		wrapped_key `+blob+`,
		size BIGINT NOT NULL DEFAULT 0,
		sha256 `+blob+`,
		pages INTEGER NOT NULL DEFAULT 0,
		printer TEXT NOT NULL DEFAULT '',
		printer_job_id INTEGER NOT NULL DEFAULT 0,
		created_at `+ts+` NOT NULL,
		updated_at `+ts+` NOT NULL,
		processed_at `+ts+`,
		completed_at `+ts+`
	)`,
		`CREATE INDEX jobs_queue_state ON jobs (queue, state, id)`,
		`CREATE INDEX jobs_owner_state ON jobs (owner, state, id)`,
		`CREATE INDEX jobs_state_updated ON jobs (state, updated_at)`,
	)
}

func createDevices(tx *gorm.DB, d database.Dialect) error {
	id, ts := "INTEGER PRIMARY KEY AUTOINCREMENT", "TIMESTAMP"
	if d == database.Postgres {
		id, ts = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "TIMESTAMPTZ"
	}
	return database.Exec(tx, `CREATE TABLE devices (
		id `+id+`,
		name TEXT NOT NULL UNIQUE,
		printer TEXT NOT NULL,
		queues TEXT NOT NULL,
		methods TEXT NOT NULL,
		self_enroll BOOLEAN NOT NULL DEFAULT FALSE,
		token_hash TEXT NOT NULL UNIQUE,
		enabled BOOLEAN NOT NULL DEFAULT TRUE,
		created_at `+ts+` NOT NULL,
		updated_at `+ts+` NOT NULL
	)`, `CREATE TABLE release_sessions (
		id `+id+`,
		token_hash TEXT NOT NULL UNIQUE,
		device_id BIGINT NOT NULL REFERENCES devices(id),
		user_name TEXT NOT NULL,
		display_name TEXT NOT NULL DEFAULT '',
		method TEXT NOT NULL,
		created_at `+ts+` NOT NULL,
		last_seen `+ts+` NOT NULL,
		ended BOOLEAN NOT NULL DEFAULT FALSE
	)`,
		`ALTER TABLE jobs ADD COLUMN claimed_by TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE jobs ADD COLUMN device TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE jobs ADD COLUMN pin_failures INTEGER NOT NULL DEFAULT 0`,
		`CREATE INDEX jobs_expiry ON jobs (state, created_at)`,
	)
}
