package audit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
)

func TestPurge(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := newClock(time.Date(2018, 4, 1, 0, 0, 0, 0, time.UTC), time.Minute)
		l := newLog(db, c)
		jobLife(t, l, db, 1, "alice", "old.pdf") // seq 1..6, 2018
		// A job submitted in 2018 whose document was destroyed only in
		// 2026 keeps its record: its last event is kept.
		appendTx(t, l, db, submitted(2, "bob", "straddles.pdf")) // seq 7, 2018
		c.Set(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
		jobLife(t, l, db, 3, "alice", "new.pdf")                                              // seq 8..13
		appendTx(t, l, db, Event{Type: EventDocumentDestroyed, JobID: 2, Actor: ActorSystem}) // seq 14

		c.Set(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
		if got := l.RetentionCutoff(); !got.Equal(time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("retention cutoff %v", got)
		}
		rep, err := l.PurgeExpired(ctx, "root")
		if err != nil {
			t.Fatal(err)
		}
		// Job 2's record goes with its submitted event, though its
		// document-destroyed event is kept: it could not be rebuilt.
		if rep.Events != 7 || rep.Jobs != 2 || rep.Checkpoint == nil || rep.Checkpoint.Seq != 7 || rep.Event.Seq != 15 {
			t.Fatalf("purge report %+v", rep)
		}
		if rep.Event.Actor != "root" {
			t.Errorf("the purged event names %q, want the administrator root", rep.Event.Actor)
		}
		if got := count(t, db, "audit_events"); got != 8 {
			t.Errorf("%d events kept, want 8", got)
		}
		if _, err := l.Job(ctx, 1); !errors.Is(err, ErrNotFound) {
			t.Errorf("purged job's record: %v", err)
		}
		if _, err := l.Job(ctx, 2); !errors.Is(err, ErrNotFound) {
			t.Errorf("straddling job's record: %v", err)
		}
		r := mustVerify(t, l)
		if r.Checkpoint != 7 || r.From != 8 || r.Checked != 8 {
			t.Errorf("verify after purge: %+v", r)
		}
		if r, _ := l.Verify(ctx, 3, 10); !r.OK() || r.From != 8 {
			t.Errorf("range into the purged part: %+v", r)
		}

		// Nothing more is old enough: no second checkpoint, no event.
		again, err := l.PurgeExpired(ctx, "root")
		if err != nil || again.Checkpoint != nil || again.Events != 0 {
			t.Errorf("second purge %+v, %v", again, err)
		}
		// A second purge later chains on from the first checkpoint.
		c.Set(time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC))
		appendTx(t, l, db, Event{Type: EventConfigChanged, Actor: "admin"}) // seq 16
		rep, err = l.Purge(ctx, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), ActorSystem)
		if err != nil || rep.Checkpoint == nil || rep.Checkpoint.Seq != 15 || rep.Events != 8 || rep.Jobs != 1 {
			t.Fatalf("second purge %+v, %v", rep, err)
		}
		r = mustVerify(t, l)
		if r.Checkpoint != 15 || r.Checked != 2 {
			t.Errorf("verify after second purge: %+v", r)
		}
		cps, err := l.Checkpoints(ctx)
		if err != nil || len(cps) != 2 || !l.checkpointValid(&cps[0]) || !l.checkpointValid(&cps[1]) {
			t.Errorf("checkpoints %+v, %v", cps, err)
		}

		// The checkpoint is only as good as its key.
		wrongKey := New(db, Options{Key: []byte("a different key of enough length")})
		if r, err := wrongKey.Verify(ctx, 0, 0); err != nil || r.FirstBad != 15 {
			t.Errorf("verify with another key: %+v, %v", r, err)
		}
		if r, err := New(db, Options{}).Verify(ctx, 0, 0); err != nil || r.FirstBad != 15 {
			t.Errorf("verify without a key: %+v, %v", r, err)
		}
		if _, err := New(db, Options{}).Purge(ctx, time.Now(), ActorSystem); !errors.Is(err, ErrNoKey) {
			t.Errorf("purge without a key: %v", err)
		}
	})
}

func TestPurgeTampered(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := newClock(time.Date(2018, 4, 1, 0, 0, 0, 0, time.UTC), time.Minute)
		l := newLog(db, c)
		jobLife(t, l, db, 1, "alice", "old.pdf")
		c.Set(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
		jobLife(t, l, db, 2, "alice", "new.pdf")
		disableGuards(t, db)
		mustExec(t, db, `UPDATE audit_events SET actor = 'mallory' WHERE seq = 3`)
		if _, err := l.Purge(ctx, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), ActorSystem); !errors.Is(err, ErrBrokenChain) {
			t.Fatalf("purge of a tampered range: %v", err)
		}
		if got := count(t, db, "audit_checkpoints"); got != 0 {
			t.Errorf("%d checkpoints written for a tampered range", got)
		}
		if r, _ := l.Verify(ctx, 0, 0); r.FirstBad != 3 {
			t.Errorf("first bad %d, want 3", r.FirstBad)
		}
	})
}

func TestForgedCheckpoint(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := newClock(time.Date(2018, 4, 1, 0, 0, 0, 0, time.UTC), time.Minute)
		l := newLog(db, c)
		jobLife(t, l, db, 1, "alice", "old.pdf")
		c.Set(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
		jobLife(t, l, db, 2, "alice", "new.pdf")
		// Without the setting a checkpoint-covered delete is refused on
		// PostgreSQL, and without a checkpoint it is refused everywhere.
		if err := db.Exec(`DELETE FROM audit_events WHERE seq = 1`).Error; err == nil {
			t.Fatal("delete of an uncovered event allowed")
		}
		if _, err := l.Purge(ctx, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), ActorSystem); err != nil {
			t.Fatal(err)
		}
		// An attacker hides events 7..9 behind a checkpoint he cannot sign.
		disableGuards(t, db)
		mustExec(t, db, `INSERT INTO audit_checkpoints (seq, hash, last_at, created_at, events, signature)
			SELECT seq, hash, at, at, 3, hash FROM audit_events WHERE seq = 9`)
		mustExec(t, db, `DELETE FROM audit_events WHERE seq <= 9`)
		if r, err := l.Verify(ctx, 0, 0); err != nil || r.FirstBad != 9 {
			t.Errorf("verify over a forged checkpoint: %+v, %v", r, err)
		}
	})
}
