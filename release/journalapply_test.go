package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestJournalApplyLandedDespiteError: an apply whose commit landed but
// was reported failed (a context that ended during the COMMIT, as a stop
// does) is taken as applied. Applying its records again failed whole on
// their job IDs, the records after them with it, and a stop left them
// out of the database (TestAttacks, "tail truncation", once).
func TestJournalApplyLandedDespiteError(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, _ := journaledService(t, db, newTestSpool(t), t.TempDir(), nil)
		var reported atomic.Int32
		svc.afterApply = func() error {
			if reported.Add(1) == 1 {
				return context.Canceled
			}
			return nil
		}
		var ids []int64
		for i := range 3 {
			id, _ := submitDoc(t, svc, i)
			ids = append(ids, id)
		}
		testenv.WaitFor(t, "the journal's records in the database", func() bool {
			return svc.journal.applied.Load() == svc.journal.appended.Load()
		})
		if reported.Load() == 0 {
			t.Fatal("no apply ran: the test did not test the failed report")
		}
		if err := svc.journal.failing.Load(); err != nil {
			t.Errorf("the applier failed: %v", *err)
		}
		var n int64
		if err := svc.db.WithContext(t.Context()).Model(&Job{}).Where("id IN ?", ids).Count(&n).Error; err != nil || n != 3 {
			t.Errorf("jobs in the database: %d (%v), want 3", n, err)
		}
	})
}

// TestJournalStopLetsApplyFinish stops the Service while the applier's
// transaction runs: the transaction completes. Cancelled during its
// COMMIT, it could land after reporting failure, and the stop's last
// apply then wrote its records again, failed on their job IDs, and left
// the records after them out of the database (TestAuditVerifyCommand,
// once, on PostgreSQL).
func TestJournalStopLetsApplyFinish(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		var svc *Service
		var tries, landedOn atomic.Int32
		inApply := make(chan struct{})
		svc, _ = journaledService(t, db, newTestSpool(t), t.TempDir(), func() error {
			if tries.Add(1) == 1 {
				close(inApply)
				<-svc.ctx.Done() // the stop has come
			}
			return nil
		})
		svc.afterApply = func() error {
			landedOn.CompareAndSwap(0, tries.Load())
			return nil
		}
		id, _ := submitDoc(t, svc, 0)
		<-inApply
		svc.Close()
		if got := landedOn.Load(); got != 1 {
			t.Errorf("the job landed on try %d, want the first, which the stop came during", got)
		}
		var n int64
		if err := db.WithContext(t.Context()).Model(&Job{}).Where("id = ?", id).Count(&n).Error; err != nil || n != 1 {
			t.Errorf("jobs in the database: %d (%v), want 1", n, err)
		}
	})
}

// TestJournalFailureEndsWhenFoundLanded: a commit reported failed that
// the check right after it could not see landed (here its question to
// the database fails) is found by the retry's check, and the failure
// ends there, though nothing is left to write: it once stayed, and the
// committer refused every submission after it.
func TestJournalFailureEndsWhenFoundLanded(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, _ := journaledService(t, db, newTestSpool(t), t.TempDir(), nil)
		var reported atomic.Int32
		svc.afterApply = func() error {
			if reported.Add(1) > 1 {
				return nil
			}
			// The position cannot be read until the test gives it back.
			// Without the barrier: it would wait for this very apply.
			if err := db.WithContext(database.WithoutBarrier(context.Background())).
				Exec(`ALTER TABLE journal_applied RENAME TO journal_applied_away`).Error; err != nil {
				t.Error(err)
			}
			return context.Canceled
		}
		id, _ := submitDoc(t, svc, 0)
		testenv.WaitFor(t, "the applier's failure", func() bool { return svc.journal.failing.Load() != nil })
		if err := db.Exec(`ALTER TABLE journal_applied_away RENAME TO journal_applied`).Error; err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, "the failure's end", func() bool { return svc.journal.failing.Load() == nil })
		if got := reported.Load(); got != 1 {
			t.Errorf("%d applies, want 1: the landed job was written again", got)
		}
		var n int64
		if err := db.WithContext(t.Context()).Model(&Job{}).Where("id = ?", id).Count(&n).Error; err != nil || n != 1 {
			t.Errorf("jobs in the database: %d (%v), want 1", n, err)
		}
		submitDoc(t, svc, 1) // taken again
	})
}

// headRig is a journaled service on PostgreSQL with one job applied, and
// another instance's audit log on the same chain.
type headRig struct {
	t     *testing.T
	db    *database.DB
	raw   *gorm.DB // the test's own statements, which pass the barrier
	svc   *Service
	log   *audit.Log
	other *audit.Log
	first int64
}

func newHeadRig(t *testing.T) *headRig {
	db := openPostgres(t, testenv.Postgres(t))
	svc, log := journaledService(t, db, newTestSpool(t), t.TempDir(), nil)
	r := &headRig{t: t, db: db, raw: db.WithContext(database.WithoutBarrier(t.Context())), svc: svc, log: log,
		other: audit.New(db, audit.Options{Key: bytes.Repeat([]byte{7}, 32)})}
	r.first, _ = submitDoc(t, svc, 0)
	testenv.WaitFor(t, "the first job in the database", r.applied)
	return r
}

func (r *headRig) applied() bool {
	return r.svc.journal.applied.Load() == r.svc.journal.appended.Load()
}

// appendOther appends another instance's event in tx, which then holds
// the chain head until it ends.
func (r *headRig) appendOther(tx *gorm.DB) error {
	_, err := r.other.Append(r.t.Context(), tx, audit.Event{Type: audit.EventConfigChanged, Actor: "admin"})
	return err
}

// checkSecondApplied waits for the journal to apply the job second, and
// checks that it did without failing, that the jobs are the first and
// second, that second's two events (submitted, held) came after the other
// instance's last, and that the chain verifies.
func (r *headRig) checkSecondApplied(second int64) {
	t := r.t
	t.Helper()
	testenv.WaitFor(t, "the second job in the database", r.applied)
	if err := r.svc.journal.failing.Load(); err != nil {
		t.Fatalf("the applier failed: %v", *err)
	}
	var ids []int64
	r.db.Raw(`SELECT id FROM jobs ORDER BY id`).Scan(&ids)
	if want := []int64{r.first, second}; !slices.Equal(ids, want) {
		t.Errorf("jobs %v, want %v", ids, want)
	}
	var events, after int64
	r.db.Raw(`SELECT count(*) FROM audit_events WHERE job_id = ?`, second).Scan(&events)
	r.db.Raw(`SELECT count(*) FROM audit_events WHERE job_id = ? AND seq > (SELECT max(seq) FROM audit_events WHERE type = ?)`,
		second, audit.EventConfigChanged).Scan(&after)
	if events != 2 || after != 2 {
		t.Errorf("the second job has %d events, %d after the other instance's last; want 2 and 2 (submitted, held)", events, after)
	}
	if rep, err := r.log.Verify(t.Context(), 0, 0); err != nil || rep.FirstBad != 0 {
		t.Errorf("audit chain: %+v, %v", rep, err)
	}
}

// TestJournalApplyAfterHeadMoved: on PostgreSQL the applier writes its
// records in one statement that chains their events on the head it last
// knew (applyAlone). Another instance's append moves the head meanwhile:
// the statement fails whole, and is sent again on the head read afresh;
// the jobs are written and the chain verifies.
func TestJournalApplyAfterHeadMoved(t *testing.T) {
	r := newHeadRig(t)
	jn := r.svc.journal
	unlock := holdApplier(t, jn)
	// Read under the applier's lock, which the hook runs under.
	var tries []error
	r.svc.aloneApplied = func(err error) { tries = append(tries, err) }
	second, _ := submitDoc(t, r.svc, 1)
	if err := r.raw.Transaction(r.appendOther); err != nil {
		t.Fatal(err)
	}
	unlock()
	r.checkSecondApplied(second)
	jn.applying.Lock()
	got := slices.Clone(tries)
	jn.applying.Unlock()
	if len(got) != 2 || !errors.Is(got[0], audit.ErrHeadMoved) || got[1] != nil {
		t.Errorf("the applier's statements: %v; want one that found the head moved, then one written", got)
	}
}

// TestJournalApplyFallsBackToTransaction: on PostgreSQL, when the chain
// head moves under each of the applier's statements (another instance's
// append, held open until the statement waits for the head and then
// committed), the applier writes its records in a transaction, which
// holds the head: the jobs and their events land once, after the other
// instance's, and the chain verifies.
func TestJournalApplyFallsBackToTransaction(t *testing.T) {
	r := newHeadRig(t)
	jn := r.svc.journal
	// holdHead opens another instance's append, which holds the head
	// until it commits.
	holdHead := func() (*gorm.DB, error) {
		tx := r.raw.Begin()
		if err := r.appendOther(tx); err != nil {
			tx.Rollback()
			return nil, err
		}
		return tx, nil
	}
	holders := make(chan *gorm.DB, aloneTries)
	t.Cleanup(func() {
		for len(holders) > 0 {
			(<-holders).Rollback()
		}
	})
	tx, err := holdHead()
	if err != nil {
		t.Fatal(err)
	}
	holders <- tx
	unlock := holdApplier(t, jn)
	// Run under the applier's lock, between its statements.
	var tries []error
	var holdErr error
	r.svc.aloneApplied = func(err error) {
		tries = append(tries, err)
		if errors.Is(err, audit.ErrHeadMoved) && len(tries) < aloneTries && holdErr == nil {
			var tx *gorm.DB
			if tx, holdErr = holdHead(); holdErr == nil {
				holders <- tx
			}
		}
	}
	second, _ := submitDoc(t, r.svc, 1)
	unlock()
	for i := range aloneTries {
		var tx *gorm.DB
		select {
		case tx = <-holders:
		case <-time.After(10 * time.Second):
			jn.applying.Lock()
			defer jn.applying.Unlock()
			t.Fatalf("no append of the other instance held open for statement %d (statements %v, %v)", i+1, tries, holdErr)
		}
		testenv.WaitFor(t, fmt.Sprintf("statement %d to wait for the head", i+1), func() bool {
			return waitingApply(r.raw) != 0
		})
		if err := tx.Commit().Error; err != nil {
			t.Fatal(err)
		}
	}
	r.checkSecondApplied(second)
	jn.applying.Lock()
	got, herr := slices.Clone(tries), holdErr
	jn.applying.Unlock()
	if herr != nil {
		t.Fatal(herr)
	}
	if len(got) != aloneTries || slices.ContainsFunc(got, func(err error) bool { return !errors.Is(err, audit.ErrHeadMoved) }) {
		t.Errorf("the applier's statements: %v; want %d that found the head moved, then the transaction", got, aloneTries)
	}
}

// TestJournalApplyKeepsSegmentsOfUnknownOutcome: the applier's statement
// on PostgreSQL commits by itself, even after its connection is lost, so
// a statement whose outcome is unknown keeps the segments its records'
// documents went to from the sweep, as a direct batch's does
// (TestSegmentsKeptForUnknownOutcome).
func TestJournalApplyKeepsSegmentsOfUnknownOutcome(t *testing.T) {
	db := openPostgres(t, testenv.Postgres(t))
	svc, jn := slowJournal(t, db)
	unlock := holdApplier(t, jn)
	id, _ := submitDoc(t, svc, 0)
	b := startBlockedApply(t, db, svc, unlock, "taro")
	if err := b.raw.Exec(`SELECT pg_terminate_backend(?)`, b.pid).Error; err != nil {
		t.Fatal(err)
	}
	b.blocker.Rollback()
	<-b.applied
	if len(b.statements) != 2 || !database.IsUnavailable(b.statements[0]) || b.statements[1] != nil {
		t.Fatalf("the applier's statements: %v; want one cut off, then one written", b.statements)
	}
	var seg int64
	if err := db.Raw(`SELECT doc_segment FROM jobs WHERE id = ?`, id).Scan(&seg).Error; err != nil || seg == 0 {
		t.Fatalf("job %d's segment: %d, %v; want its document in one", id, seg, err)
	}
	jn.applying.Lock()
	kept := jn.kept[uint64(seg)]
	jn.applying.Unlock()
	if !kept {
		t.Errorf("segment %d, which the cut-off statement pointed into, is not kept from the sweep", seg)
	}
}

// blockedApply is an apply of a journaled service's pending records on
// PostgreSQL that waits for an owner's held_bytes row, which blocker
// holds.
type blockedApply struct {
	raw     *gorm.DB // the test's statements, past the journal's barrier
	blocker *gorm.DB // the transaction that holds the row
	pid     int      // the backend of the waiting statement
	// applied is closed once the apply has returned; statements then
	// holds the outcome of each statement the applier sent.
	applied    chan struct{}
	statements []error
}

// startBlockedApply locks the held_bytes rows of owners' first name, lets
// go of the applier's lock that the test held (unlock), applies svc's
// pending records in the background and waits until the apply waits for
// that row. Each of owners gets a row.
func startBlockedApply(t *testing.T, db *database.DB, svc *Service, unlock func(), owners ...string) *blockedApply {
	t.Helper()
	// The test's own statements pass the barrier, which would wait for
	// the records it holds back.
	b := &blockedApply{raw: db.WithContext(database.WithoutBarrier(t.Context())), applied: make(chan struct{})}
	for _, o := range owners {
		if err := b.raw.Exec(`INSERT INTO held_bytes (owner, bytes) VALUES (?, 0) ON CONFLICT (owner) DO NOTHING`, o).Error; err != nil {
			t.Fatal(err)
		}
	}
	b.blocker = b.raw.Begin()
	t.Cleanup(func() { b.blocker.Rollback() })
	if err := b.blocker.Exec(`SELECT 1 FROM held_bytes WHERE owner = ? FOR UPDATE`, owners[0]).Error; err != nil {
		t.Fatal(err)
	}
	svc.aloneApplied = func(err error) { b.statements = append(b.statements, err) }
	unlock()
	go func() {
		defer close(b.applied)
		svc.applyPending(context.WithoutCancel(t.Context()), false)
	}()
	testenv.WaitFor(t, "the apply to wait for "+owners[0]+"'s row", func() bool {
		b.pid = waitingApply(b.raw)
		return b.pid != 0
	})
	return b
}

// waitingApply returns the backend of the applier's statement while it
// waits for a lock on PostgreSQL, 0 while none does.
func waitingApply(raw *gorm.DB) int {
	var pid int
	raw.Raw(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()
		AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO jobs%' LIMIT 1`).Scan(&pid)
	return pid
}
