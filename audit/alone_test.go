package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
)

// appendAlone appends evs with AppendAlone, after an insert of id into
// alone_side, trying again while the head moves.
func appendAlone(l *Log, db *database.DB, id int64, evs []Event) ([]Event, int, error) {
	for tries := 1; ; tries++ {
		var a Alone
		a.Writes.Add(`INSERT INTO alone_side (id) VALUES ($1)`, id)
		out, err := l.AppendAlone(context.Background(), db.Statement.ConnPool, &a, evs)
		if !errors.Is(err, ErrHeadMoved) || tries == 50 {
			return out, tries, err
		}
	}
}

// TestAppendAlone appends, from two instances at once, batches with
// AppendAlone (each with a write of its own before the events) and with
// AppendBatch in transactions: every batch lands whole, in sequence, the
// chain verifies, and each write of a caller is there exactly when its
// events are. A head the Log wrongly believes further on (from a
// transaction rolled back) is found out, nothing of that try written.
func TestAppendAlone(t *testing.T) {
	open := postgresOpener(t)
	db := open(t)
	mustExec(t, db, `CREATE TABLE alone_side (id BIGINT PRIMARY KEY)`)
	other := secondInstance(t, db)
	logs := []*Log{New(db, Options{Key: testKey}), New(other, Options{Key: testKey})}
	dbs := []*database.DB{db, other}

	t.Run("one round trip", func(t *testing.T) {
		appendTx(t, logs[0], db, Event{Type: EventConfigChanged, Actor: "admin"}) // the head is known
		p := &countingPool{ConnPool: db.Statement.ConnPool}
		var a Alone
		a.Writes.Add(`INSERT INTO alone_side (id) VALUES ($1)`, int64(-1))
		if _, err := logs[0].AppendAlone(context.Background(), p, &a, []Event{submitted(1, "alice", "a.pdf"),
			{Type: EventHeld, JobID: 1, Actor: ActorSystem}}); err != nil {
			t.Fatal(err)
		}
		if len(p.stmts) != 1 {
			t.Errorf("%d statements, want 1: %q", len(p.stmts), p.stmts)
		}
	})

	t.Run("a head believed too far on", func(t *testing.T) {
		err := db.Transaction(func(tx *gorm.DB) error {
			if _, err := logs[0].AppendBatch(context.Background(), tx, []Event{{Type: EventConfigChanged, Actor: "admin"}}); err != nil {
				return err
			}
			return errors.New("roll back")
		})
		if err == nil {
			t.Fatal("the transaction committed")
		}
		var a Alone
		a.Writes.Add(`INSERT INTO alone_side (id) VALUES ($1)`, int64(-2))
		evs := []Event{{Type: EventConfigChanged, Actor: "admin"}}
		if _, err := logs[0].AppendAlone(context.Background(), db.Statement.ConnPool, &a, evs); !errors.Is(err, ErrHeadMoved) {
			t.Fatalf("first try: %v, want ErrHeadMoved", err)
		}
		if n := count(t, db, "alone_side WHERE id = -2"); n != 0 {
			t.Fatalf("the failed try wrote its caller's row")
		}
		if _, err := logs[0].AppendAlone(context.Background(), db.Statement.ConnPool, &a, evs); err != nil {
			t.Fatalf("second try: %v", err)
		}
	})

	t.Run("a rolled-back number taken by another event", func(t *testing.T) {
		// The known head is (N+1, hA) from the rolled-back transaction;
		// another append takes N+1 with hB. Chaining on hA would fork.
		err := db.Transaction(func(tx *gorm.DB) error {
			if _, err := logs[0].Append(context.Background(), tx, Event{Type: EventConfigChanged, Actor: "rolled-back"}); err != nil {
				return err
			}
			return errors.New("roll back")
		})
		if err == nil {
			t.Fatal("the transaction committed")
		}
		appendTx(t, logs[1], other, Event{Type: EventConfigChanged, Actor: "other"})
		if _, _, err := appendAlone(logs[0], db, -3, []Event{{Type: EventConfigChanged, Actor: "alone"}}); err != nil {
			t.Fatal(err)
		}
		mustVerify(t, logs[0])
	})

	t.Run("two instances", func(t *testing.T) {
		const writers, batches = 6, 10
		var (
			wg              sync.WaitGroup
			mu              sync.Mutex
			errs            []error
			alone, retried  int
			startEv, events = count(t, db, "audit_events"), 0
		)
		for w := range writers {
			in := w % 2
			wg.Go(func() {
				for i := range batches {
					id := int64(10_000 + w*100 + i)
					evs := []Event{submitted(id, fmt.Sprintf("user%d", w), "doc.pdf"),
						{Type: EventHeld, JobID: id, Actor: ActorSystem}, {Type: EventConfigChanged, Actor: "admin"}}
					var out []Event
					var err error
					tries := 1
					if (w+i)%3 == 0 {
						err = dbs[in].Transaction(func(tx *gorm.DB) error {
							out, err = logs[in].AppendBatch(context.Background(), tx, evs)
							return err
						})
					} else {
						out, tries, err = appendAlone(logs[in], dbs[in], id, evs)
					}
					mu.Lock()
					switch {
					case err != nil:
						errs = append(errs, err)
					case out[len(out)-1].Seq-out[0].Seq != int64(len(out)-1):
						errs = append(errs, fmt.Errorf("a batch landed from %d to %d", out[0].Seq, out[len(out)-1].Seq))
					case (w+i)%3 != 0:
						alone++
						retried += tries - 1
					}
					events += len(evs)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%d failed batches, the first: %v", len(errs), errs[0])
		}
		t.Logf("%d batches appended alone, tried again %d times", alone, retried)
		if n := count(t, db, "audit_events"); n != startEv+int64(events) {
			t.Errorf("%d events, want %d", n, startEv+int64(events))
		}
		if n := count(t, db, "alone_side WHERE id >= 10000"); n != int64(alone) {
			t.Errorf("%d callers' rows, want one per batch appended alone: %d", n, alone)
		}
		mustVerify(t, logs[0])
	})
}
