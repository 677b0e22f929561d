package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
)

// TestUpgrade keys a chain written with plain SHA-256, as versions before
// the keyed hash wrote it, and checks what the signed marks vouch for.
func TestUpgrade(t *testing.T) {
	const plain = 2500
	cases := []struct {
		name string
		// tamper runs after the upgrade and a few keyed appends.
		tamper       func(t *testing.T, db *database.DB, l *Log)
		wantFirstBad int64
	}{
		{"untouched", func(*testing.T, *database.DB, *Log) {}, 0},
		{"plain part changed and rehashed up to a mark", func(t *testing.T, db *database.DB, l *Log) {
			rehashTail(t, db, l, 1990, 2000, func(ev *Event) { ev.Actor = "mallory" }, chainHash)
		}, 2000},
		{"keyed-from mark deleted", func(t *testing.T, db *database.DB, l *Log) {
			dropMarkGuards(t, db)
			mustExec(t, db, `DELETE FROM audit_marks WHERE kind = ?`, MarkKeyedFrom)
		}, 1},
		{"keyed-from mark moved forward", func(t *testing.T, db *database.DB, l *Log) {
			dropMarkGuards(t, db)
			mustExec(t, db, `UPDATE audit_marks SET seq = ? WHERE kind = ?`, plain+2, MarkKeyedFrom)
		}, plain + 2},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			open := d.opener(t)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					ctx := context.Background()
					db := open(t)
					l := newLog(db, newClock(t0, time.Second))
					l.markEvery = 1000
					seedWith(t, l, db, plain, 50, chainHash)
					if r, _ := l.Verify(ctx, 0, 0); r.FirstBad != 1 {
						t.Fatalf("a plain chain before the upgrade: first bad %d, want 1", r.FirstBad)
					}
					if rep, err := l.Upgrade(ctx, UpgradeOptions{}); err != nil || rep.Marks != 0 || rep.Keyed {
						t.Fatalf("upgrade of a plain chain without SignPlain: %+v, %v", rep, err)
					}
					rep, err := l.Upgrade(ctx, UpgradeOptions{SignPlain: true})
					if err != nil || rep.Plain != plain || !rep.Verified || rep.Marks != 3 {
						t.Fatalf("upgrade: %+v, %v", rep, err)
					}
					if again, err := l.Upgrade(ctx, UpgradeOptions{}); err != nil || again.Marks != 0 {
						t.Fatalf("second upgrade: %+v, %v", again, err)
					}
					jobLife(t, l, db, 999999, "alice", "after.pdf")
					r := mustVerify(t, l)
					if r.Checked != plain+6 || r.Jobs != plain/4+1 {
						t.Fatalf("verify after upgrade: %+v", r)
					}
					// A range in the plain part runs from the mark before it to
					// the mark after it; in the keyed part it starts at once.
					if r, _ := l.Verify(ctx, 1200, 1205); !r.OK() || r.From != 1001 || r.To != 2000 {
						t.Errorf("plain range: %+v", r)
					}
					if r, _ := l.Verify(ctx, plain+3, plain+4); !r.OK() || r.From != plain+3 || r.Checked != 2 {
						t.Errorf("keyed range: %+v", r)
					}

					disableGuards(t, db)
					c.tamper(t, db, l)
					r, err = l.Verify(ctx, 0, 0)
					if err != nil || r.FirstBad != c.wantFirstBad {
						t.Fatalf("first bad = %d (%s), %v; want %d", r.FirstBad, r.Reason, err, c.wantFirstBad)
					}
				})
			}
		})
	}
}

func dropMarkGuards(t *testing.T, db *database.DB) {
	t.Helper()
	if db.Dialect == database.Postgres {
		mustExec(t, db, `ALTER TABLE audit_marks DISABLE TRIGGER ALL`)
		return
	}
	mustExec(t, db, `DROP TRIGGER audit_marks_no_update`)
	mustExec(t, db, `DROP TRIGGER audit_marks_no_delete`)
}

// TestUpgradeKeyedChain: an empty chain gets a keyed start at 0; a keyed
// chain is never signed as plain, even when an attacker deleted its start
// mark and appended a plain event, or rehashed all of it in plain when the
// caller knows it was keyed before.
func TestUpgradeKeyedChain(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := newLog(db, newClock(t0, time.Second))
		if rep, err := l.Upgrade(ctx, UpgradeOptions{}); err != nil || rep.Marks != 1 || rep.Plain != 0 {
			t.Fatalf("upgrade of an empty chain: %+v, %v", rep, err)
		}
		jobLife(t, l, db, 1, "alice", "a.pdf")
		if rep, err := l.Upgrade(ctx, UpgradeOptions{}); err != nil || rep.Marks != 0 {
			t.Fatalf("upgrade of a keyed chain: %+v, %v", rep, err)
		}
		mustVerify(t, l)
		if _, err := New(db, Options{}).Upgrade(ctx, UpgradeOptions{}); err == nil {
			t.Error("upgrade without a key succeeded")
		}

		disableGuards(t, db)
		dropMarkGuards(t, db)
		mustExec(t, db, `DELETE FROM audit_marks`)
		head := readEvent(t, l, 6)
		ev := Event{Seq: 7, At: head.At.Add(time.Second), Type: EventConfigChanged, Actor: "admin", PrevHash: head.Hash}
		ev.Hash = chainHash(ev.PrevHash, &ev)
		insertEvent(t, db, &ev, true)
		rep, err := l.Upgrade(ctx, UpgradeOptions{SignPlain: true})
		if err != nil || rep.Marks != 0 || !strings.Contains(rep.Reason, "keyed") {
			t.Fatalf("upgrade after a plain event was appended: %+v, %v", rep, err)
		}
		if r, _ := l.Verify(ctx, 0, 0); r.FirstBad != 7 {
			t.Errorf("verify: first bad %d (%s), want 7", r.FirstBad, r.Reason)
		}

		// All rehashed in plain: only the caller's knowledge stops it.
		rehashTail(t, db, l, 1, 0, func(*Event) {}, chainHash)
		rep, err = l.Upgrade(ctx, UpgradeOptions{KeyedBefore: true, SignPlain: true})
		if err != nil || rep.Marks != 0 || rep.Reason == "" {
			t.Fatalf("upgrade of a plain rewrite of a chain keyed before: %+v, %v", rep, err)
		}
		if n := count(t, db, "audit_marks"); n != 0 {
			t.Errorf("%d marks written", n)
		}
	})
}

// TestVerifyRangeStart checks that a range never starts from a stored
// hash that was not checked: the event before it is checked with the key.
func TestVerifyRangeStart(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := newLog(db, newClock(t0, time.Second))
		jobLife(t, l, db, 1, "alice", "a.pdf")
		jobLife(t, l, db, 2, "bob", "b.pdf")
		disableGuards(t, db)
		// Changing event 5 without touching its hash leaves event 6
		// pointing at it; a check of 6..8 must still notice.
		mustExec(t, db, `UPDATE audit_events SET actor = 'mallory' WHERE seq = 5`)
		r, err := l.Verify(ctx, 6, 8)
		if err != nil || r.FirstBad != 5 || !strings.Contains(r.Reason, "before the range") {
			t.Errorf("range after a changed event: %+v, %v", r, err)
		}
		mustExec(t, db, `DELETE FROM audit_events WHERE seq = 9`)
		if r, _ := l.Verify(ctx, 10, 0); r.FirstBad != 9 {
			t.Errorf("range after a deleted event: %+v", r)
		}
		if r, _ := New(db, Options{}).Verify(ctx, 11, 0); r.FirstBad != 10 {
			t.Errorf("range without the key: %+v", r)
		}
		if r, _ := l.Verify(ctx, 11, 0); !r.OK() || r.Checked != 2 {
			t.Errorf("range after both: %+v", r)
		}
	})
}

// TestVerifyWithAnotherKey: a lost key replaced by a new one shows at the
// start of the chain, the signed keyed start included.
func TestVerifyWithAnotherKey(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := newLog(db, newClock(t0, time.Second))
		if _, err := l.Upgrade(ctx, UpgradeOptions{}); err != nil {
			t.Fatal(err)
		}
		jobLife(t, l, db, 1, "alice", "a.pdf")
		other := New(db, Options{Key: []byte("a new key after the old was lost")})
		r, err := other.Verify(ctx, 0, 0)
		if err != nil || r.OK() || r.FirstBad != 1 || !strings.Contains(r.Reason, "mark at 0") {
			t.Errorf("verify with another key: %+v, %v", r, err)
		}
		if _, err := other.Anchor(ctx); !errors.Is(err, ErrBrokenChain) {
			t.Errorf("anchor with another key: %v", err)
		}
	})
}

// TestPurgeInsidePlainPart purges an upgraded chain up to an event between
// two of its plain part's signed marks: the checkpoint must vouch for that
// event, not for the mark the walk ran on to, or the kept chain no longer
// verifies and no later purge can run.
func TestPurgeInsidePlainPart(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := newClock(t0, time.Second)
		l := newLog(db, c)
		l.markEvery = 1000
		seedWith(t, l, db, 2500, 50, chainHash)
		if _, err := l.Upgrade(ctx, UpgradeOptions{SignPlain: true}); err != nil {
			t.Fatal(err)
		}
		jobLife(t, l, db, 999999, "alice", "after.pdf")
		var before time.Time
		if err := db.Raw(`SELECT at FROM audit_events WHERE seq = 1501`).Row().Scan(&before); err != nil {
			t.Fatal(err)
		}
		rep, err := l.Purge(ctx, before, ActorSystem)
		if err != nil || rep.Checkpoint == nil || rep.Checkpoint.Seq != 1500 {
			t.Fatalf("purge through 1500: %+v, %v", rep, err)
		}
		mustVerify(t, l)
		c.Set(time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC))
		if _, err := l.Purge(ctx, time.Date(2039, 1, 1, 0, 0, 0, 0, time.UTC), ActorSystem); err != nil {
			t.Fatalf("a later purge: %v", err)
		}
		mustVerify(t, l)
	})
}
