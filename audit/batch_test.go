package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"gorm.io/gorm"
)

// batchStream is a mix of events as the pipeline and the rest of
// printgate append them: jobs submitted and held together, later events of
// jobs submitted earlier (some without owner or queue, which the record
// supplies), events about no job, a hidden name, details, strings to
// clean, an event for a job without a record, and one for a job before
// its submission.
func batchStream() []Event {
	hidden := submitted(2, "bob", "payroll 2026-11.pdf")
	hidden.Job.HideName = true
	later := submitted(3, "carol", "<slides> & notes.pdf")
	later.Job.Submitted = t0.Add(-time.Minute)
	later.Job.SHA256 = nil
	later.Job.PagesKnown, later.Job.Pages, later.Job.PagesReason = false, 0, "encrypted"
	later.Details = map[string]string{"source": "ipp", "copies": "1"}
	return []Event{
		submitted(1, "alice", "quarterly report.pdf"),
		{Type: EventHeld, JobID: 1, Actor: ActorSystem},
		hidden,
		{Type: EventHeld, JobID: 2, Owner: "bob", Queue: "office", Actor: ActorSystem},
		{Type: EventUserAdded, Actor: "admin", Owner: "dave", Details: map[string]string{
			"role": "auditor", "note": "<b>caf\xe9</b> & \u2028\x00\"quoted\"\n"}},
		{Type: EventReleaseAttempt, JobID: 1, Actor: "alice", Device: "mfp-3f", Method: MethodIDPIN,
			Outcome: "failure", Reason: "wrong PIN"},
		{Type: EventReleased, JobID: 1, Actor: "alice", Device: "mfp-3f", Method: MethodCard, Printer: "ipp://mfp-3f/ipp/print"},
		{Type: EventPrinted, JobID: 1, Actor: ActorSystem, Printer: "ipp://mfp-3f/ipp/print", Outcome: "success"},
		{Type: EventDocumentDestroyed, JobID: 1, Actor: ActorSystem},
		{Type: EventHeld, JobID: 99, Actor: ActorSystem, Reason: "job without a record"},
		later,
		{Type: EventCanceled, JobID: 3, Actor: "carol", Reason: "changed my mind"},
		{Type: EventPrintFailed, JobID: 2, Actor: ActorSystem, Device: "mfp-1", Reason: "paper jam"},
		{Type: EventReleased, JobID: 2, Actor: "bob", Device: "mfp-1", Method: MethodCardPIN},
		submitted(4, "erin", "expires.pdf"),
		{Type: EventExpired, JobID: 4, Actor: ActorSystem},
		{Type: EventDocumentDestroyed, JobID: 4, Actor: ActorSystem},
		{Type: EventConfigChanged, Actor: "admin"},
		{Type: EventHeld, JobID: 5, Actor: ActorSystem, Reason: "before its submission"},
		submitted(5, "frank", "late.pdf"),
		{Type: EventHeld, JobID: 5, Actor: ActorSystem},
		{Type: EventDocumentDestroyed, JobID: 3, Actor: ActorSystem},
	}
}

// split cuts evs into batches of the given sizes, repeating the last.
func split(evs []Event, sizes ...int) [][]Event {
	var out [][]Event
	for i := 0; len(evs) > 0; i++ {
		n := min(sizes[min(i, len(sizes)-1)], len(evs))
		out, evs = append(out, evs[:n]), evs[n:]
	}
	return out
}

// appendBatchTx appends a batch in a transaction of its own.
func appendBatchTx(t testing.TB, l *Log, db *database.DB, evs []Event) []Event {
	t.Helper()
	var out []Event
	err := db.Transaction(func(tx *gorm.DB) error {
		var err error
		out, err = l.AppendBatch(context.Background(), tx, evs)
		return err
	})
	if err != nil {
		t.Fatalf("append batch: %v", err)
	}
	return out
}

// TestAppendBatchSameAsAppend appends one stream of events one by one
// into one database and in batches into another, with the same clock, and
// compares every stored byte.
func TestAppendBatchSameAsAppend(t *testing.T) {
	n := len(batchStream())
	cases := []struct {
		name       string
		sizes      []int
		insertRows int  // rows per multi-row INSERT; 0 for the default
		prepared   bool // through gorm's prepared statement cache
	}{
		{"one batch", []int{n}, 0, false},
		{"batches of one", []int{1}, 0, false},
		{"pairs", []int{2}, 0, false},
		{"uneven", []int{4, 1, 7, 3, 5}, 0, false},
		{"earlier batches first", []int{4, n}, 0, false},
		{"small inserts", []int{n}, 3, false},
		{"one row per insert", []int{9, n}, 1, false},
		{"prepared statements", []int{3, 4}, 2, true},
	}
	const step = 1234567 * time.Nanosecond // not a whole microsecond
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			open := d.opener(t)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					refDB, batchDB := open(t), open(t)
					ref, bl := newLog(refDB, newClock(t0, step)), newLog(batchDB, newClock(t0, step))
					bl.insertRows = c.insertRows
					var want, got []Event
					for _, ev := range batchStream() {
						want = append(want, appendTx(t, ref, refDB, ev))
					}
					gdb := batchDB.DB
					if c.prepared {
						gdb = gdb.Session(&gorm.Session{PrepareStmt: true})
					}
					for _, evs := range split(batchStream(), c.sizes...) {
						err := gdb.Transaction(func(tx *gorm.DB) error {
							out, err := bl.AppendBatch(context.Background(), tx, evs)
							got = append(got, out...)
							return err
						})
						if err != nil {
							t.Fatalf("append batch: %v", err)
						}
					}
					if !reflect.DeepEqual(got, want) {
						for i := range min(len(got), len(want)) {
							if !reflect.DeepEqual(got[i], want[i]) {
								t.Fatalf("event %d returned\n%+v\none by one\n%+v", i, got[i], want[i])
							}
						}
						t.Fatalf("%d events returned, %d one by one", len(got), len(want))
					}
					for _, table := range []string{"audit_events", "audit_jobs", "audit_chain"} {
						g, w := dumpTable(t, batchDB, table), dumpTable(t, refDB, table)
						if len(g) != len(w) {
							t.Errorf("%s: %d rows in batches, %d one by one", table, len(g), len(w))
						}
						for i := range min(len(g), len(w)) {
							if g[i] != w[i] {
								t.Errorf("%s row %d:\nbatches    %s\none by one %s", table, i, g[i], w[i])
							}
						}
					}
					if r := mustVerify(t, bl); r.Checked != int64(n) || r.Jobs != 5 {
						t.Errorf("verify checked %d events and %d jobs, want %d and 5", r.Checked, r.Jobs, n)
					}
				})
			}
		})
	}
}

// dumpTable returns every row of table as text that shows each stored
// value exactly (with its type on SQLite), in primary key order.
func dumpTable(t testing.TB, db *database.DB, table string) []string {
	t.Helper()
	q := fmt.Sprintf(`SELECT t::text FROM %s t ORDER BY 1`, table)
	if db.Dialect == database.SQLite {
		var cols []string
		rows, err := db.Raw(fmt.Sprintf(`SELECT name FROM pragma_table_info('%s') ORDER BY cid`, table)).Rows()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			cols = append(cols, "typeof("+c+") || ':' || quote("+c+")")
		}
		rows.Close()
		q = fmt.Sprintf(`SELECT %s FROM %s ORDER BY 1`, strings.Join(cols, " || ',' || "), table)
	}
	rows, err := db.Raw(q).Rows()
	if err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
	return out
}

// TestAppendBatchRefused checks that a batch with an event Append would
// refuse writes nothing, even if the caller commits, and names the event;
// and that a batch failing in the database leaves nothing once the
// caller rolls back.
func TestAppendBatchRefused(t *testing.T) {
	good := func() []Event {
		return []Event{submitted(10, "alice", "a.pdf"), {Type: EventHeld, JobID: 10, Actor: ActorSystem},
			{Type: EventReleased, JobID: 1, Actor: "alice", Device: "mfp"}}
	}
	with := func(i int, ev Event) []Event { return slices.Insert(good(), i, ev) }
	cases := []struct {
		name  string
		evs   []Event
		index int // of the refused event; -1 for a database error, -2 outside a transaction
		want  error
	}{
		{"secret detail", with(2, Event{Type: EventPINSet, Actor: "admin", Details: map[string]string{"pin": "1234"}}), 2, ErrSecretDetail},
		{"no type", with(1, Event{Actor: "x"}), 1, ErrInvalidEvent},
		{"submitted without job", with(3, Event{Type: EventSubmitted, JobID: 11}), 3, ErrInvalidEvent},
		{"job info without job ID", with(0, Event{Type: EventHeld, Job: &JobInfo{}}), 0, ErrInvalidEvent},
		{"submitted twice", with(2, submitted(10, "alice", "again.pdf")), 2, ErrInvalidEvent},
		{"job already recorded", with(3, submitted(1, "alice", "again.pdf")), -1, nil},
		{"not in a transaction", good(), -2, nil},
	}
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := newLog(db, newClock(t0, time.Second))
		appendTx(t, l, db, submitted(1, "alice", "first.pdf"))
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var err error
				// The transaction commits whatever AppendBatch says, unless
				// the database failed it.
				txErr := db.Transaction(func(tx *gorm.DB) error {
					if c.index == -2 {
						tx = db.DB
					}
					_, err = l.AppendBatch(ctx, tx, c.evs)
					if c.index == -1 {
						return err
					}
					return nil
				})
				if err == nil {
					t.Fatal("append batch succeeded")
				}
				if c.want != nil && !errors.Is(err, c.want) {
					t.Errorf("error %v, want %v", err, c.want)
				}
				ee, ok := errors.AsType[*EventError](err)
				switch {
				case c.index < 0 && ok:
					t.Errorf("database error reported as a refused event: %v", err)
				case c.index >= 0 && (!ok || ee.Index != c.index || ee.Type != c.evs[c.index].Type):
					t.Errorf("error %v does not name event %d", err, c.index)
				case c.index >= 0 && txErr != nil:
					t.Errorf("commit after a refused event: %v", txErr)
				}
				if strings.Contains(err.Error(), "1234") {
					t.Errorf("error shows the secret: %v", err)
				}
				if seq, _, _ := l.Head(ctx); seq != 1 {
					t.Errorf("head at %d after a refused batch, want 1", seq)
				}
				if n, j := count(t, db, "audit_events"), count(t, db, "audit_jobs"); n != 1 || j != 1 {
					t.Errorf("%d events and %d job records after a refused batch, want 1 and 1", n, j)
				}
			})
		}
		out := appendBatchTx(t, l, db, good())
		if out[0].Seq != 2 || out[2].Seq != 4 {
			t.Errorf("appended as %d..%d after refused batches, want 2..4", out[0].Seq, out[2].Seq)
		}
		mustVerify(t, l)
	})
}

// TestAppendBatchConcurrent appends batches from several goroutines on
// two instances sharing one database: each batch must land as one run of
// the chain, and the chain and every record must verify.
func TestAppendBatchConcurrent(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		const writers, batches = 6, 8
		other := secondInstance(t, db)
		type instance struct {
			db  *database.DB
			log *Log
		}
		instances := []instance{{db, New(db, Options{Key: testKey})}, {other, New(other, Options{Key: testKey})}}
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			total int
			jobs  int
			errs  []error
		)
		for w := range writers {
			in := instances[w%2]
			wg.Go(func() {
				for i := range batches {
					// Jobs of this writer: submitted and held now, released
					// in its next batch; and an admin event.
					var evs []Event
					for k := range 1 + (w+i)%5 {
						id := int64(w*1000 + i*10 + k + 1)
						evs = append(evs, submitted(id, fmt.Sprintf("user%d", w), "doc.pdf"),
							Event{Type: EventHeld, JobID: id, Actor: ActorSystem})
						if i > 0 {
							evs = append(evs, Event{Type: EventReleased, JobID: id - 10, Actor: "x", Device: "mfp"})
						}
					}
					evs = append(evs, Event{Type: EventConfigChanged, Actor: "admin"})
					var out []Event
					err := in.db.Transaction(func(tx *gorm.DB) error {
						var err error
						out, err = in.log.AppendBatch(context.Background(), tx, evs)
						return err
					})
					mu.Lock()
					switch {
					case err != nil:
						errs = append(errs, err)
					case out[len(out)-1].Seq-out[0].Seq != int64(len(out)-1):
						errs = append(errs, fmt.Errorf("a batch of %d landed from %d to %d", len(out), out[0].Seq, out[len(out)-1].Seq))
					}
					total += len(evs)
					jobs += 1 + (w+i)%5
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%d failed batches, the first: %v", len(errs), errs[0])
		}
		r := mustVerify(t, instances[0].log)
		if r.Checked != int64(total) || r.Jobs != int64(jobs) {
			t.Errorf("verify checked %d events and %d jobs, want %d and %d", r.Checked, r.Jobs, total, jobs)
		}
	})
}

// countingPool passes an append's statements to the transaction and
// keeps their texts.
type countingPool struct {
	gorm.ConnPool
	stmts []string
}

func (p *countingPool) Commit() error   { return p.ConnPool.(gorm.TxCommitter).Commit() }
func (p *countingPool) Rollback() error { return p.ConnPool.(gorm.TxCommitter).Rollback() }

func (p *countingPool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	p.stmts = append(p.stmts, q)
	return p.ConnPool.ExecContext(ctx, q, args...)
}

func (p *countingPool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	p.stmts = append(p.stmts, q)
	return p.ConnPool.QueryContext(ctx, q, args...)
}

func (p *countingPool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	p.stmts = append(p.stmts, q)
	return p.ConnPool.QueryRowContext(ctx, q, args...)
}

// statementCounts counts statements by what they do.
type statementCounts struct {
	lock, move, events, inserts, updates, lookups int
}

// chainedParts matches the separators of database.Texts.Chain.
var (
	chainedNext = regexp.MustCompile(`\), s\d+ AS \(`)
	chainedLast = regexp.MustCompile(`(?s)^(.*)\) ((?:UPDATE|INSERT) .*)$`)
)

// unchain returns the statements that q, written by database.Texts.Chain
// or not, runs.
func unchain(q string) []string {
	rest, ok := strings.CutPrefix(q, "WITH s0 AS (")
	if !ok {
		return []string{q}
	}
	parts := chainedNext.Split(rest, -1)
	m := chainedLast.FindStringSubmatch(parts[len(parts)-1])
	if m == nil {
		return []string{q}
	}
	return append(parts[:len(parts)-1], m[1], m[2])
}

func countStatements(t testing.TB, stmts []string) statementCounts {
	t.Helper()
	var c statementCounts
	var parts []string
	for _, q := range stmts {
		parts = append(parts, unchain(q)...)
	}
	for _, q := range parts {
		switch {
		case strings.HasPrefix(q, "SELECT seq, hash FROM audit_chain"):
			c.lock++
		case strings.HasPrefix(q, "UPDATE audit_chain"):
			c.move++
		case strings.HasPrefix(q, "INSERT INTO audit_events"):
			c.events++
		case strings.HasPrefix(q, "INSERT INTO audit_jobs"):
			c.inserts++
		case strings.HasPrefix(q, "UPDATE audit_jobs"):
			c.updates++
		case strings.HasPrefix(q, "SELECT job_id, owner, queue FROM audit_jobs"):
			c.lookups++
		default:
			t.Errorf("unexpected statement %q", q)
		}
	}
	return c
}

// TestAppendBatchStatements counts an append's statements: one lock and
// one move of the head per batch, multi-row INSERTs, one write per job
// record, on PostgreSQL all writes in one round trip; and checks that a
// batch of the same shape uses the same texts.
func TestAppendBatchStatements(t *testing.T) {
	jobs := func(from, n int) []Event { // n jobs submitted and held
		var evs []Event
		for i := range n {
			id := int64(from + i)
			evs = append(evs, submitted(id, "alice", "doc.pdf"), Event{Type: EventHeld, JobID: id, Actor: ActorSystem})
		}
		return evs
	}
	cases := []struct {
		name       string
		evs        func(from int) []Event
		insertRows int
		want       statementCounts
	}{
		{"empty", func(int) []Event { return nil }, 0, statementCounts{}},
		{"one event", func(from int) []Event { return jobs(from, 1)[:1] }, 0,
			statementCounts{lock: 1, move: 1, events: 1, inserts: 1}},
		{"32 jobs submitted and held", func(from int) []Event { return jobs(from, 32) }, 0,
			statementCounts{lock: 1, move: 1, events: 1, inserts: 1}},
		{"in INSERTs of 5 rows", func(from int) []Event { return jobs(from, 32) }, 5,
			statementCounts{lock: 1, move: 1, events: 13, inserts: 7}},
		{"later events of stored jobs", func(int) []Event {
			return []Event{
				{Type: EventReleased, JobID: 1, Owner: "alice", Queue: "office", Device: "mfp"},
				{Type: EventPrinted, JobID: 1, Owner: "alice", Queue: "office"},
				{Type: EventUserAdded, Actor: "admin"},
				{Type: EventCanceled, JobID: 2, Owner: "alice", Queue: "office"},
				{Type: EventDocumentDestroyed, JobID: 1, Owner: "alice", Queue: "office"},
			}
		}, 0, statementCounts{lock: 1, move: 1, events: 1, updates: 2}},
		{"owners from stored records", func(int) []Event {
			return []Event{{Type: EventExpired, JobID: 1}, {Type: EventExpired, JobID: 2}, {Type: EventHeld, JobID: 3}}
		}, 0, statementCounts{lock: 1, move: 1, events: 1, updates: 3, lookups: 1}},
	}
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := newLog(db, newClock(t0, time.Second))
		if db.Dialect == database.SQLite && l.rowsPerInsert(recordColumnCount) < 32 {
			// The cases assume 64 events and 32 records fit in one INSERT.
			l.insertRows = 64
		}
		appendBatchTx(t, l, db, jobs(1, 3))
		from := 100
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				saved := l.insertRows
				if c.insertRows > 0 {
					l.insertRows = c.insertRows
				}
				defer func() { l.insertRows = saved }()
				var texts [2][]string
				for round := range texts {
					err := db.Transaction(func(tx *gorm.DB) error {
						counted := tx.WithContext(ctx) // a session of its own
						pool := &countingPool{ConnPool: counted.Statement.ConnPool}
						counted.Statement.ConnPool = pool
						_, err := l.AppendBatch(ctx, counted, c.evs(from))
						texts[round] = pool.stmts
						return err
					})
					if err != nil {
						t.Fatal(err)
					}
					from += 100
				}
				got := countStatements(t, texts[0])
				if got != c.want {
					t.Errorf("statements %+v, want %+v", got, c.want)
				}
				// On PostgreSQL every write goes in one statement.
				if trips := got.lock + got.lookups + 1; db.Dialect == database.Postgres && got.move > 0 && len(texts[0]) != trips {
					t.Errorf("%d round trips, want %d: the lock, the lookups, then every write in one", len(texts[0]), trips)
				}
				if !slices.Equal(texts[0], texts[1]) {
					t.Errorf("the same batch shape used other statements:\n%q\n%q", texts[0], texts[1])
				}
			})
		}
		mustVerify(t, l)
	})
}

// TestInsertArrayTypes: the types of the INSERTs from arrays on
// PostgreSQL are those of the columns.
func TestInsertArrayTypes(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		if db.Dialect != database.Postgres {
			t.Skip("PostgreSQL only")
		}
		testenv.CheckColumnTypes(t, db, "audit_events", eventColumns, eventColumnTypes)
		testenv.CheckColumnTypes(t, db, "audit_jobs", recordColumns, recordColumnTypes)
	})
}
