package audit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libtnb/sqlite"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// dialects are the databases every test runs on. Each one's opener
// returns a function that opens a fresh, migrated database: SQLite files
// of their own, or PostgreSQL schemas of their own in one database, which
// saves creating and dropping a database per case.
var dialects = []struct {
	name   string
	opener func(t testing.TB) func(testing.TB) *database.DB
}{
	{"sqlite", func(testing.TB) func(testing.TB) *database.DB { return openSQLite }},
	{"postgres", postgresOpener},
}

func openSQLite(t testing.TB) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), "", t.TempDir(), nil)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	return migrated(t, db)
}

func postgresOpener(t testing.TB) func(testing.TB) *database.DB {
	dsn := testenv.Postgres(t)
	return func(t testing.TB) *database.DB {
		t.Helper()
		b := make([]byte, 6)
		rand.Read(b)
		schema := "audit_" + hex.EncodeToString(b)
		admin, err := database.Open(context.Background(), dsn, "", nil)
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		defer admin.Close()
		mustExec(t, admin, "CREATE SCHEMA "+schema)
		db, err := database.Open(context.Background(), dsn+"&search_path="+schema, "", nil)
		if err != nil {
			t.Fatalf("open postgres schema: %v", err)
		}
		return migrated(t, db)
	}
}

func migrated(t testing.TB, db *database.DB) *database.DB {
	t.Helper()
	t.Cleanup(func() { db.Close() })
	if err := Migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	// A second run finds nothing to do, as on every later start.
	if err := Migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	return db
}

// eachDialect runs fn as a subtest on a fresh, migrated database of each
// dialect.
func eachDialect(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) { fn(t, d.opener(t)(t)) })
	}
}

// clock is a test clock that moves on by step each time it is read.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func newClock(start time.Time, step time.Duration) *clock { return &clock{t: start, step: step} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// t0 is 2026-11-25 09:00 in Tokyo.
var t0 = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

func newLog(db *database.DB, c *clock) *Log {
	return New(db, Options{Key: testKey, Now: c.Now})
}

// appendTx appends ev in a transaction of its own.
func appendTx(t testing.TB, l *Log, db *database.DB, ev Event) Event {
	t.Helper()
	var out Event
	err := db.Transaction(func(tx *gorm.DB) error {
		var err error
		out, err = l.Append(context.Background(), tx, ev)
		return err
	})
	if err != nil {
		t.Fatalf("append %s: %v", ev.Type, err)
	}
	return out
}

// submitted returns a submitted event for a job.
func submitted(jobID int64, owner, name string) Event {
	digest := sha256.Sum256([]byte(name))
	return Event{
		Type: EventSubmitted, JobID: jobID, Actor: owner,
		Job: &JobInfo{
			Queue: "office", Owner: owner, ClaimedUser: owner, ClientAddr: "192.0.2.10",
			DocumentName: name, Format: "application/pdf", Size: 12345, SHA256: digest[:],
			Pages: 3, PagesKnown: true, Copies: 2, Sides: "two-sided-long-edge",
			ColorMode: "monochrome", Media: "iso_a4_210x297mm", HasJobPIN: true,
		},
	}
}

// jobLife appends a job's whole life: submitted, held, a failed release
// attempt, released, printed, document destroyed.
func jobLife(t testing.TB, l *Log, db *database.DB, jobID int64, owner, name string) []Event {
	t.Helper()
	evs := []Event{
		submitted(jobID, owner, name),
		{Type: EventHeld, JobID: jobID, Actor: ActorSystem},
		{Type: EventReleaseAttempt, JobID: jobID, Actor: owner, Device: "mfp-3f", Method: MethodIDPIN,
			Outcome: "failure", Reason: "wrong PIN"},
		{Type: EventReleased, JobID: jobID, Actor: owner, Device: "mfp-3f", Method: MethodCard, Printer: "ipp://mfp-3f/ipp/print"},
		{Type: EventPrinted, JobID: jobID, Actor: ActorSystem, Printer: "ipp://mfp-3f/ipp/print", Outcome: "success"},
		{Type: EventDocumentDestroyed, JobID: jobID, Actor: ActorSystem},
	}
	for i := range evs {
		evs[i] = appendTx(t, l, db, evs[i])
	}
	return evs
}

// disableGuards removes the append-only triggers, as an attacker with
// the database owner's rights could.
func disableGuards(t testing.TB, db *database.DB) {
	t.Helper()
	var stmts []string
	if db.Dialect == database.Postgres {
		stmts = []string{
			`ALTER TABLE audit_events DISABLE TRIGGER ALL`,
			`ALTER TABLE audit_checkpoints DISABLE TRIGGER ALL`,
			`ALTER TABLE audit_chain DISABLE TRIGGER ALL`,
		}
	} else {
		for _, tr := range []string{"audit_events_no_update", "audit_events_no_delete", "audit_checkpoints_no_update",
			"audit_checkpoints_no_delete", "audit_chain_forward", "audit_chain_no_delete"} {
			stmts = append(stmts, "DROP TRIGGER "+tr)
		}
	}
	if err := database.Exec(db.DB, stmts...); err != nil {
		t.Fatalf("disable triggers: %v", err)
	}
}

func mustExec(t testing.TB, db *database.DB, sql string, args ...any) {
	t.Helper()
	if err := db.Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func mustVerify(t testing.TB, l *Log) Report {
	t.Helper()
	r, err := l.Verify(context.Background(), 0, 0)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !r.OK() {
		t.Fatalf("verify: first bad %d: %s", r.FirstBad, r.Reason)
	}
	return r
}

func count(t testing.TB, db *database.DB, table string) int64 {
	t.Helper()
	var n int64
	if err := db.Raw(fmt.Sprintf("SELECT COUNT(*) FROM %s", table)).Row().Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// secondInstance opens db's database again, as another printgate
// instance sharing it would.
func secondInstance(t testing.TB, db *database.DB) *database.DB {
	t.Helper()
	var (
		other *database.DB
		err   error
	)
	switch d := db.Dialector.(type) {
	case *postgres.Dialector:
		other, err = database.Open(context.Background(), d.DSN, "", nil)
	case *sqlite.Dialector:
		path, _, _ := strings.Cut(strings.TrimPrefix(d.DSN, "file:"), "?")
		other, err = database.Open(context.Background(), "", filepath.Dir(path), nil)
	default:
		t.Fatalf("unknown dialector %T", db.Dialector)
	}
	if err != nil {
		t.Fatalf("open second instance: %v", err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}

// eventArgs returns the values of eventColumns for ev, as an append
// stores them.
func eventArgs(ev *Event) ([]any, error) {
	var job, details any
	if ev.Job != nil {
		job = string(appendJobJSON(nil, ev.Job))
	}
	if len(ev.Details) > 0 {
		b, _ := appendDetailsJSON(nil, ev.Details, nil)
		details = string(b)
	}
	return []any{ev.Seq, ev.At, ev.Type, ev.JobID, ev.Owner, ev.Actor, ev.Queue, ev.Device, ev.Method,
		ev.Printer, ev.Outcome, ev.Reason, job, details, ev.PrevHash, ev.Hash}, nil
}
