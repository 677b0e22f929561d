package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"hash"
	"math"
	"slices"
	"strconv"

	"github.com/printgate/printgate/internal/database"
	"gorm.io/gorm"
)

// The statements of an append go straight to the transaction's
// connection, below gorm: an append is the hot path of every job, and
// gorm's statement building (scanning the SQL for placeholders, looking
// at each argument's type by reflection) is work per statement that an
// append need not do. Gorm's callbacks and logger do not see them. Each
// text depends only on the dialect and the number of rows, so
// PostgreSQL's statement cache (and gorm's PrepareStmt, where it is on)
// parses it once.

// batch is the scratch space of one append, kept in Log.batches between
// appends so that its buffers and maps are reused.
type batch struct {
	h     *hasher
	names hash.Hash // keyed document names; nil until needed
	// entry is, for each event, its job's pending record (an index into
	// records), -1 for events about no job.
	entry   []int
	records []pendingRecord
	jobs    map[int64]int // job ID → its latest pending record
	// fromStored lists the events that take their owner or queue from
	// the stored job record.
	fromStored []int
	ids        []int64
	text       []byte   // the stored JSON of the batch's events
	spans      [][4]int // each event's job and details JSON in text
	args       []any    // arguments of one statement
	// chained holds, on PostgreSQL, the writes waiting to go as one
	// statement (see write).
	chained database.Chained
	keys    []string // scratch for sorting details keys
	// alone is set while AppendAlone gathers the batch's writes: they
	// must all go in its one statement, whose arguments pgArgs encodes.
	alone  bool
	pgArgs database.PgArgs
}

// pendingRecord is a job record the batch writes: the whole record of a
// job submitted in the batch (insert), or the change to a stored one.
type pendingRecord struct {
	insert bool
	// observed marks the record of a job printed without printgate,
	// made by its one event (observed.go).
	observed bool
	first    int // the record's first event in the batch
	rec      storedRecord
	change   recordChange
}

func (l *Log) getBatch() *batch {
	if b, ok := l.batches.Get().(*batch); ok {
		return b
	}
	return &batch{h: newHasher(l.chainKey), jobs: make(map[int64]int)}
}

// Buffers larger than these are not kept for the next append: a rare
// huge batch does not pin its memory.
const (
	maxKeptText = 1 << 20
	maxKeptArgs = 1 << 14
)

func (l *Log) putBatch(b *batch) {
	if cap(b.text) > maxKeptText || cap(b.args) > maxKeptArgs || cap(b.chained.Args) > maxKeptArgs {
		return
	}
	// Drop every reference to the events' values, beyond the lengths too.
	clear(b.records[:cap(b.records)])
	clear(b.args[:cap(b.args)])
	b.chained.Reset()
	b.alone = false
	clear(b.keys[:cap(b.keys)])
	clear(b.jobs)
	b.entry, b.records, b.fromStored, b.ids = b.entry[:0], b.records[:0], b.fromStored[:0], b.ids[:0]
	b.text, b.spans, b.args, b.keys = b.text[:0], b.spans[:0], b.args[:0], b.keys[:0]
	l.batches.Put(b)
}

func (b *batch) nameMAC(l *Log) hash.Hash {
	if b.names == nil && l.nameKey != nil {
		b.names = hmac.New(sha256.New, l.nameKey)
	}
	return b.names
}

// statements are the SQL texts of appends in the Log's dialect.
type statements struct {
	*database.Texts
	lockHead, readHead, moveHead, moveHeadReturning, update, byJobIDs string
}

func newStatements(db *database.DB) *statements {
	d := database.SQLite
	if db != nil {
		d = db.Dialect
	}
	s := &statements{Texts: database.NewTexts(d)}
	s.lockHead = `SELECT seq, hash FROM audit_chain WHERE id = 1`
	s.readHead = s.lockHead
	s.byJobIDs = `SELECT job_id, owner, queue FROM audit_jobs WHERE job_id IN (SELECT value FROM json_each(?))`
	if d == database.Postgres {
		s.lockHead += ` FOR UPDATE`
		s.byJobIDs = `SELECT job_id, owner, queue FROM audit_jobs WHERE job_id = ANY(?)`
	}
	s.moveHead = s.Bind(`UPDATE audit_chain SET seq = ?, hash = ? WHERE id = 1 AND seq = ?`)
	// The hash too: after a transaction that appended rolled back, another
	// writer may have taken the same number with another event.
	s.moveHeadReturning = s.Bind(`UPDATE audit_chain SET seq = ?, hash = ? WHERE id = 1 AND seq = ? AND hash = ? RETURNING 1`)
	s.update = s.Bind(recordUpdate)
	s.byJobIDs = s.Bind(s.byJobIDs)
	return s
}

// Bind parameters per statement: SQLite allows 32766, PostgreSQL 65535.
// The SQLite driver matches each parameter with its argument by a scan of
// the arguments, in time quadratic in their number, so SQLite's INSERTs
// stay far smaller than its limit.
const (
	sqliteInsertParams   = 512
	postgresInsertParams = 65535
)

// rowsPerInsert is how many rows of ncols columns one INSERT writes.
func (l *Log) rowsPerInsert(ncols int) int {
	if l.insertRows > 0 {
		return l.insertRows
	}
	if l.stmts.Dialect() == database.Postgres {
		// Many rows go from one array a column (Texts.InsertRows).
		return math.MaxInt32
	}
	return max(1, sqliteInsertParams/ncols)
}

// conn runs an append's statements on the connection of the caller's
// transaction.
type conn struct {
	ctx  context.Context
	pool gorm.ConnPool
	tr   gorm.ErrorTranslator
}

// errNoTx refuses an append outside a transaction: there the head's lock
// would end with the statement, and a failure would leave half a batch.
var errNoTx = errors.New("append outside a transaction")

func (l *Log) conn(ctx context.Context, tx *gorm.DB) (conn, error) {
	c := conn{ctx: ctx, pool: tx.Statement.ConnPool}
	if _, ok := c.pool.(gorm.TxCommitter); !ok {
		return c, errNoTx
	}
	if tx.Config != nil && tx.TranslateError {
		c.tr, _ = tx.Dialector.(gorm.ErrorTranslator)
	}
	return c, nil
}

// err translates a driver error as gorm would have.
func (c conn) err(err error) error {
	if err != nil && c.tr != nil {
		return c.tr.Translate(err)
	}
	return err
}

func (c conn) exec(q string, args ...any) (sql.Result, error) {
	res, err := c.pool.ExecContext(c.ctx, q, args...)
	return res, c.err(err)
}

type chainHead struct {
	seq  int64
	hash []byte
}

// lockHead reads the chain head, locking it until the transaction ends.
func (l *Log) lockHead(c conn) (chainHead, error) {
	var h chainHead
	err := c.pool.QueryRowContext(c.ctx, l.stmts.lockHead).Scan(&h.seq, &h.hash)
	if err != nil {
		return h, fmt.Errorf("lock chain head: %w", c.err(err))
	}
	return h, nil
}

// write runs one of a batch's writes. On PostgreSQL it only keeps it:
// moveHead sends the writes of the batch as one statement
// (database.Texts.Chain), one round trip where there was one per write.
// None depends on another's effect: new events, new or other records,
// the head.
func (l *Log) write(c conn, b *batch, q string, args []any) error {
	if l.stmts.Dialect() != database.Postgres {
		_, err := c.exec(q, args...)
		return err
	}
	if len(b.chained.Args)+len(args) > postgresInsertParams {
		if b.alone {
			return errTooLarge
		}
		if _, err := l.flush(c, b); err != nil {
			return err
		}
	}
	b.chained.Add(q, args...)
	return nil
}

// flush runs the writes kept by write as one statement.
func (l *Log) flush(c conn, b *batch) (sql.Result, error) {
	res, err := c.exec(l.stmts.Chain(b.chained.Qs, b.chained.NArgs), b.chained.Args...)
	b.chained.Reset()
	return res, err
}

// moveHead moves the head from seq to last, the batch's last event, with
// the writes kept on PostgreSQL.
func (l *Log) moveHead(c conn, b *batch, seq int64, last *Event) error {
	args := []any{last.Seq, last.Hash, seq}
	var res sql.Result
	var err error
	if l.stmts.Dialect() == database.Postgres {
		if err = l.write(c, b, l.stmts.moveHead, args); err == nil {
			res, err = l.flush(c, b)
		}
	} else {
		res, err = c.exec(l.stmts.moveHead, args...)
	}
	if err != nil {
		return fmt.Errorf("write events and move chain head: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		// Only possible if something appended without the lock.
		return fmt.Errorf("move chain head: head moved under the lock (%v)", err)
	}
	return nil
}

// fillFromRecords gives the events that plan marked the owner and queue
// of their job's stored record, in one query. An event of a job with no
// record (purged, or recorded by an older version) is still recorded; it
// is the proof.
func (l *Log) fillFromRecords(c conn, b *batch, evs []Event) error {
	if len(b.fromStored) == 0 {
		return nil
	}
	for _, i := range b.fromStored {
		b.ids = append(b.ids, evs[i].JobID)
	}
	slices.Sort(b.ids)
	b.ids = slices.Compact(b.ids)
	var arg any = b.ids // PostgreSQL takes an array
	if l.stmts.Dialect() != database.Postgres {
		// SQLite takes a JSON array, so that one text serves any count.
		s := append(make([]byte, 0, 2+len(b.ids)*8), '[')
		for i, id := range b.ids {
			if i > 0 {
				s = append(s, ',')
			}
			s = strconv.AppendInt(s, id, 10)
		}
		arg = string(append(s, ']'))
	}
	rows, err := c.pool.QueryContext(c.ctx, l.stmts.byJobIDs, arg)
	if err != nil {
		return fmt.Errorf("read job records: %w", c.err(err))
	}
	defer rows.Close()
	found := make(map[int64][2]string, len(b.ids))
	for rows.Next() {
		var (
			id           int64
			owner, queue string
		)
		if err := rows.Scan(&id, &owner, &queue); err != nil {
			return fmt.Errorf("read job records: %w", c.err(err))
		}
		found[id] = [2]string{owner, queue}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read job records: %w", c.err(err))
	}
	for _, i := range b.fromStored {
		if r, ok := found[evs[i].JobID]; ok {
			evs[i].Owner, evs[i].Queue = or(evs[i].Owner, r[0]), or(evs[i].Queue, r[1])
		}
	}
	return nil
}

// eventColumnCount is the number of eventColumns.
const eventColumnCount = 16

// insertEvents writes the events with multi-row INSERTs.
func (l *Log) insertEvents(c conn, b *batch, evs []Event) error {
	// The JSON of the whole batch becomes one string, sliced per event.
	for i := range evs {
		ev := &evs[i]
		var sp [4]int
		sp[0] = len(b.text)
		if ev.Job != nil {
			b.text = appendJobJSON(b.text, ev.Job)
		}
		sp[1], sp[2] = len(b.text), len(b.text)
		if len(ev.Details) > 0 {
			b.text, b.keys = appendDetailsJSON(b.text, ev.Details, b.keys)
		}
		sp[3] = len(b.text)
		b.spans = append(b.spans, sp)
	}
	text := string(b.text)
	column := func(from, to int) any {
		if from == to {
			return nil // NULL: absent, not empty
		}
		return text[from:to]
	}
	per := l.rowsPerInsert(eventColumnCount)
	for start := 0; start < len(evs); start += per {
		end := min(start+per, len(evs))
		args := b.args[:0]
		for i := start; i < end; i++ {
			ev, sp := &evs[i], b.spans[i]
			args = append(args, ev.Seq, ev.At, ev.Type, ev.JobID, ev.Owner, ev.Actor, ev.Queue, ev.Device,
				ev.Method, ev.Printer, ev.Outcome, ev.Reason, column(sp[0], sp[1]), column(sp[2], sp[3]),
				ev.PrevHash, ev.Hash)
		}
		b.args = args
		q, args := l.stmts.InsertRows("audit_events", eventColumns, eventColumnTypes, end-start, args)
		if err := l.write(c, b, q, args); err != nil {
			return fmt.Errorf("insert events %d to %d: %w", evs[start].Seq, evs[end-1].Seq, err)
		}
	}
	return nil
}

// eventColumnTypes are the types of eventColumns on PostgreSQL.
var eventColumnTypes = []string{"bigint", "timestamptz", "text", "bigint", "text", "text", "text", "text",
	"text", "text", "text", "text", "text", "text", "bytea", "bytea"}

// writeRecords folds each event into its job's pending record, then
// writes them: the updates of stored records first (an event before its
// job's submission in the batch updates what was stored, as it would have
// one by one), then the new records with multi-row INSERTs.
func (l *Log) writeRecords(c conn, b *batch, evs []Event) error {
	inserts := 0
	for i, k := range b.entry {
		if k < 0 {
			continue
		}
		switch r := &b.records[k]; {
		case !r.insert:
			r.change.add(&evs[i])
		case i == r.first && r.observed:
			r.rec = *observedRecord(&evs[i])
			inserts++
		case i == r.first:
			r.rec.init(&evs[i])
			inserts++
		default:
			r.rec.apply(&evs[i])
		}
	}
	for i := range b.records {
		r := &b.records[i]
		if r.insert {
			continue
		}
		b.args = r.change.appendUpdateArgs(b.args[:0], evs[r.first].JobID)
		if err := l.write(c, b, l.stmts.update, b.args); err != nil {
			return fmt.Errorf("update job record %d: %w", evs[r.first].JobID, err)
		}
	}
	per := l.rowsPerInsert(recordColumnCount)
	for i := 0; inserts > 0; {
		n := min(per, inserts)
		args := b.args[:0]
		for rows := 0; rows < n; i++ {
			if r := &b.records[i]; r.insert {
				args = l.appendRecordArgs(args, &r.rec)
				rows++
			}
		}
		b.args = args
		q, args := l.stmts.InsertRows("audit_jobs", recordColumns, recordColumnTypes, n, args)
		if err := l.write(c, b, q, args); err != nil {
			return fmt.Errorf("insert job records: %w", err)
		}
		inserts -= n
	}
	return nil
}
