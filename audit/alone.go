package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
)

// An append inside a transaction takes four round trips to PostgreSQL
// besides the caller's own: BEGIN, the head's lock, the writes, COMMIT.
// AppendAlone takes one: it chains the events on the head this Log last
// knew, without reading or locking it, and sends the caller's writes, the
// events, their job records and the head's move as one statement, which
// PostgreSQL commits by itself. If another writer moved the head
// meanwhile, the statement fails as a whole and writes nothing: the first
// event's sequence number is taken (audit_events' primary key), or the
// head's move finds it elsewhere and audit_expect_moved raises. The caller
// tries again; the next call reads the head first.

// ErrHeadMoved is AppendAlone's error when another writer moved the chain
// head: nothing was written, and the next call will chain on the head it
// reads.
var ErrHeadMoved = errors.New("audit: the chain head moved")

// errTooLarge refuses a batch whose writes do not fit one statement.
var errTooLarge = errors.New("audit: too many events for one statement")

// knownHead is the chain head a Log last wrote or read. It can be wrong
// (another instance appended, a transaction rolled back): AppendAlone
// finds out and forgets it.
type knownHead struct {
	mu   sync.Mutex
	head chainHead
	ok   bool
}

func (k *knownHead) get() (chainHead, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.head, k.ok
}

// set remembers h unless a head further on is known: appends of other
// transactions finish in any order.
func (k *knownHead) set(h chainHead) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.ok || h.seq > k.head.seq {
		k.head, k.ok = chainHead{seq: h.seq, hash: slices.Clone(h.hash)}, true
	}
}

func (k *knownHead) forget() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ok = false
}

// Alone are the caller's parts of AppendAlone's statement.
type Alone struct {
	// Writes go first, in the texts of the Log's dialect (database.Texts);
	// they must not depend on each other's effects, nor on the events'.
	Writes database.Chained
	// Tail are writes like Writes that go after the events and the
	// head's move: the caller's largest arguments. pgx encodes the
	// message that carries a statement's arguments into a buffer that
	// starts small for each statement and grows as it is filled, and a
	// large argument near the end made it grow once for it; since
	// database.PgArgs makes room for the whole message first, the order
	// no longer matters to it.
	Tail database.Chained
	// Select is a list of expressions, with SelectArgs, evaluated first
	// in the statement's main query: before the head moves, before the
	// inserts run (PostgreSQL runs data-modifying WITH queries that the
	// main query does not read after it) and so before the triggers of
	// their rows. Rows to lock in the order other transactions take them
	// before the head's lock; set_config of a setting those triggers
	// read. Empty for none.
	Select     string
	SelectArgs []any
}

// AppendAlone writes a's writes and appends evs in one statement run on
// pool outside any transaction (PostgreSQL only): both are committed
// together when it returns nil, and neither is on ErrHeadMoved or any
// other error but a lost connection, after which the caller must look.
// It returns the events as AppendBatch does.
func (l *Log) AppendAlone(ctx context.Context, pool gorm.ConnPool, a *Alone, evs []Event) ([]Event, error) {
	if l.chainKey == nil {
		return nil, wrap("append alone", ErrNoKey)
	}
	if l.stmts.Dialect() != database.Postgres {
		return nil, errors.New("audit: append alone: PostgreSQL only")
	}
	out := slices.Clone(evs)
	if len(out) == 0 {
		return out, nil
	}
	if err := l.appendAlone(ctx, conn{ctx: ctx, pool: pool}, a, out); err != nil {
		if _, ok := errors.AsType[*EventError](err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("audit: append alone %d events: %w", len(evs), err)
	}
	return out, nil
}

func (l *Log) appendAlone(ctx context.Context, c conn, a *Alone, evs []Event) error {
	b := l.getBatch()
	defer l.putBatch(b)
	b.alone = true
	if err := l.ready(c, b, evs); err != nil {
		return err
	}
	head, ok := l.known.get()
	if !ok {
		if err := c.pool.QueryRowContext(ctx, l.stmts.readHead).Scan(&head.seq, &head.hash); err != nil {
			return fmt.Errorf("read chain head: %w", err)
		}
		l.known.set(head)
	}
	l.chain(b, evs, head)
	b.chained.AddAll(&a.Writes)
	if err := l.insertEvents(c, b, evs); err != nil {
		return err
	}
	if err := l.writeRecords(c, b, evs); err != nil {
		return err
	}
	last := &evs[len(evs)-1]
	if err := l.write(c, b, l.stmts.moveHeadReturning, []any{last.Seq, last.Hash, head.seq, head.hash}); err != nil {
		return err
	}
	moved := "s" + strconv.Itoa(b.chained.Len()-1)
	b.chained.AddAll(&a.Tail)
	main := "SELECT "
	if a.Select != "" {
		main += a.Select + ", "
	}
	main += "audit_expect_moved((SELECT count(*) FROM " + moved + "))"
	b.chained.Add(main, a.SelectArgs...)
	err := b.pgArgs.Exec(c.ctx, c.pool, l.stmts.Chain(b.chained.Qs, b.chained.NArgs), b.chained.Args...)
	if err != nil {
		l.known.forget()
		if headMoved(err) {
			return ErrHeadMoved
		}
		return err
	}
	l.known.set(chainHead{seq: last.Seq, hash: last.Hash})
	return nil
}

// ForgetHead tells l that the head it last knew may not stand: the
// caller rolled back a transaction in which it appended (release's
// Prime). The next AppendAlone reads the head again.
func (l *Log) ForgetHead() { l.known.forget() }

// headMoved reports whether err is AppendAlone's statement finding the
// head moved: the first event's number taken, or audit_expect_moved.
func headMoved(err error) bool {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code == "40001" || (pe.Code == "23505" && pe.ConstraintName == "audit_events_pkey")
	}
	return false
}
