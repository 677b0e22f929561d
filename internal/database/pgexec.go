package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// PgArgs runs large statements on PostgreSQL with their arguments encoded
// into buffers it keeps from one statement to the next (docs/PIPELINE.md).
// database/sql and pgx encode each statement's arguments into buffers
// that start small and grow as they fill, then drop them: for the
// committer's batches, whose documents make a statement of a few hundred
// kilobytes, that was most of what printgate allocated, and the garbage
// collector took two fifths of its processor at 32 clients
// (docs/PERFORMANCE.md). A PgArgs is not safe for concurrent use.
type PgArgs struct {
	buf []byte
	// offs holds where each argument's encoding starts and ends in buf,
	// -1 and -1 for NULL.
	offs []int
	vals [][]byte
	fmts []int16
}

// maxKeptArgs is the most PgArgs keeps of its buffer between statements:
// a batch of large documents does not pin its memory.
const maxKeptArgs = 1 << 20

// errNotPgx refuses a connection that is not pgx's.
var errNotPgx = errors.New("database: not a pgx connection")

// Exec runs q with args on a connection of pool (a *sql.DB or *sql.Conn
// of pgx's driver, or the DB's pool after its barrier; anything else runs
// it through database/sql), as a
// statement prepared once per connection. Like database/sql, it tries a
// statement that a connection gone stale could not send again on
// another connection of a *sql.DB.
func (a *PgArgs) Exec(ctx context.Context, pool gorm.ConnPool, q string, args ...any) error {
	switch p := pool.(type) {
	case *sql.DB:
		var err error
		for range badConnTries {
			var c *sql.Conn
			if c, err = p.Conn(ctx); err != nil {
				return err
			}
			err = a.execOn(ctx, c, q, args)
			c.Close()
			if !errors.Is(err, driver.ErrBadConn) {
				return err
			}
		}
		return err
	case *sql.Conn:
		return a.execOn(ctx, p, q, args)
	case *gatedPool:
		if err := p.wait(ctx, ""); err != nil {
			return err
		}
		return a.Exec(ctx, p.DB, q, args...)
	default:
		_, err := pool.ExecContext(ctx, q, args...)
		return err
	}
}

// badConnTries is how many connections Exec tries, as database/sql does.
const badConnTries = 3

// execOn runs q on c. A failure that sent nothing (a connection the
// server closed) is driver.ErrBadConn, which makes database/sql close c.
func (a *PgArgs) execOn(ctx context.Context, c *sql.Conn, q string, args []any) error {
	return c.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errNotPgx
		}
		err := a.exec(ctx, sc.Conn(), q, args)
		if err != nil && pgconn.SafeToRetry(err) {
			return fmt.Errorf("%w: %w", driver.ErrBadConn, err)
		}
		return err
	})
}

// exec prepares q on conn, unless it was, encodes args as pgx would and
// runs it.
func (a *PgArgs) exec(ctx context.Context, conn *pgx.Conn, q string, args []any) error {
	// Named by its text, the statement is prepared once per connection
	// and kept with it (pgx.Conn.Prepare).
	sd, err := conn.Prepare(ctx, q, q)
	if err != nil {
		return err
	}
	if len(sd.ParamOIDs) != len(args) {
		return fmt.Errorf("database: statement takes %d arguments, not %d", len(sd.ParamOIDs), len(args))
	}
	if err := a.encode(conn.TypeMap(), sd.ParamOIDs, args); err != nil {
		return err
	}
	defer a.reset()
	pc := conn.PgConn()
	pc.Frontend().Send(room(a.bindSize(sd.Name)))
	return pc.ExecPrepared(ctx, sd.Name, a.vals, a.fmts, nil).Read().Err
}

// bindSize is about the size of the Bind message of the arguments
// encoded last, for the statement named name.
func (a *PgArgs) bindSize(name string) int {
	return len(a.buf) + 4*len(a.vals) + 2*len(a.fmts) + len(name) + 16
}

// room is a message of no bytes that makes room for n more in pgx's
// buffer of messages to send. pgx replaces that buffer with one of 1 KiB
// after sending anything larger (pgproto3.Frontend.Flush), and a Bind of
// a batch's arguments then grew it by append, a quarter at a time: five
// times its size allocated for each batch, a fifth of all that printgate
// allocated at 32 clients on PostgreSQL. Sent before the Bind, room
// makes that one allocation of its size; were pgx to keep its buffer
// some day, it would cost nothing.
type room int

func (n room) Encode(dst []byte) ([]byte, error) { return slices.Grow(dst, int(n)), nil }
func (room) Decode([]byte) error                 { return errors.New("database: room is never received") }
func (room) Frontend()                           {}

// encode encodes args for parameters of the types oids into a.buf and
// points a.vals at them: text for strings, otherwise the format pgx
// prefers for the type, the other one if that fails (as pgx's own
// ExtendedQueryBuilder chooses).
func (a *PgArgs) encode(m *pgtype.Map, oids []uint32, args []any) error {
	if a.buf == nil {
		// Never nil: pgx encodes an empty value by appending nothing,
		// and a nil result says NULL.
		a.buf = make([]byte, 0, 4<<10)
	}
	a.buf, a.offs, a.fmts = a.buf[:0], a.offs[:0], a.fmts[:0]
	for i, arg := range args {
		format := m.FormatCodeForOID(oids[i])
		if _, ok := arg.(string); ok {
			format = pgtype.TextFormatCode
		}
		start := len(a.buf)
		buf, err := m.Encode(oids[i], format, arg, a.buf)
		if err != nil {
			format = 1 - format
			buf, err = m.Encode(oids[i], format, arg, a.buf)
		}
		if err != nil {
			// pgx's error may quote the value: a key, a document.
			return fmt.Errorf("database: argument %d, a %T, does not encode as PostgreSQL type %d", i+1, arg, oids[i])
		}
		if buf == nil {
			a.offs = append(a.offs, -1, -1) // NULL
		} else {
			a.buf = buf
			a.offs = append(a.offs, start, len(buf))
		}
		a.fmts = append(a.fmts, format)
	}
	a.vals = a.vals[:0]
	for i := 0; i < len(a.offs); i += 2 {
		start, end := a.offs[i], a.offs[i+1]
		if start < 0 {
			a.vals = append(a.vals, nil)
			continue
		}
		a.vals = append(a.vals, a.buf[start:end:end])
	}
	return nil
}

// reset lets go of what the last statement's arguments referred to, and
// of a buffer grown past what is kept.
func (a *PgArgs) reset() {
	clear(a.vals)
	if cap(a.buf) > maxKeptArgs {
		a.buf = nil
	}
}
