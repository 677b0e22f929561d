package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"gorm.io/gorm"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestJobLife(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := newLog(db, newClock(t0, time.Second))
		name := "2026年11月 給与明細.pdf"
		jobLife(t, l, db, 42, "alice", name)
		appendTx(t, l, db, Event{Type: EventUserAdded, Actor: "admin", Details: map[string]string{"user": "bob"}})

		evs, err := l.Timeline(ctx, 42)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for i, ev := range evs {
			types = append(types, ev.Type)
			if ev.Seq != int64(i+1) || ev.Owner != "alice" || ev.Queue != "office" {
				t.Errorf("event %d: seq %d owner %q queue %q", i, ev.Seq, ev.Owner, ev.Queue)
			}
		}
		want := []string{EventSubmitted, EventHeld, EventReleaseAttempt, EventReleased, EventPrinted, EventDocumentDestroyed}
		if !slices.Equal(types, want) {
			t.Fatalf("timeline types = %v, want %v", types, want)
		}
		if j := evs[0].Job; j == nil || j.DocumentName != name || !j.HasJobPIN || j.Pages != 3 || len(j.SHA256) != 32 {
			t.Errorf("submitted job info = %+v", evs[0].Job)
		}
		if ev := evs[2]; ev.Outcome != "failure" || ev.Reason != "wrong PIN" || ev.Method != MethodIDPIN {
			t.Errorf("release attempt = %+v", ev)
		}

		rec, err := l.Job(ctx, 42)
		if err != nil {
			t.Fatal(err)
		}
		at := func(seq int) time.Time { return evs[seq-1].At }
		checks := []struct {
			name      string
			got, want any
		}{
			{"document name", rec.DocumentName, name},
			{"owner", rec.Owner, "alice"},
			{"client", rec.ClientAddr, "192.0.2.10"},
			{"outcome", rec.Outcome, EventPrinted},
			{"device", rec.Device, "mfp-3f"},
			{"method", rec.Method, MethodCard},
			{"printer", rec.Printer, "ipp://mfp-3f/ipp/print"},
			{"reason", rec.Reason, "wrong PIN"},
			{"impressions", rec.Impressions, int64(6)},
			{"sheets", rec.Sheets, int64(4)},
			{"submitted", rec.Submitted, at(1)},
			{"released", rec.ReleasedAt, at(4)},
			{"completed", rec.CompletedAt, at(5)},
			{"deleted", rec.DeletedAt, at(6)},
			{"expired", rec.ExpiredAt, time.Time{}},
			{"last seq", rec.LastSeq, int64(6)},
			{"digest", hex.EncodeToString(rec.SHA256), hex.EncodeToString(evs[0].Job.SHA256)},
		}
		for _, c := range checks {
			if gt, ok := c.got.(time.Time); ok {
				if !gt.Equal(c.want.(time.Time)) {
					t.Errorf("record %s = %v, want %v", c.name, gt, c.want)
				}
				continue
			}
			if c.got != c.want {
				t.Errorf("record %s = %v, want %v", c.name, c.got, c.want)
			}
		}
		r := mustVerify(t, l)
		if r.Checked != 7 || r.LastSeq != 7 {
			t.Errorf("verify checked %d, last %d; want 7, 7", r.Checked, r.LastSeq)
		}
		if _, err := l.Timeline(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("timeline of unknown job: %v, want ErrNotFound", err)
		}
		if _, err := l.Job(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("record of unknown job: %v, want ErrNotFound", err)
		}
	})
}

func TestTamper(t *testing.T) {
	cases := []struct {
		name         string
		tamper       func(t *testing.T, db *database.DB, l *Log)
		wantFirstBad int64
	}{
		{"untouched", func(*testing.T, *database.DB, *Log) {}, 0},
		{"changed actor", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `UPDATE audit_events SET actor = 'mallory' WHERE seq = 5`)
		}, 5},
		{"changed document name", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `UPDATE audit_events SET job = REPLACE(job, 'report', 'harmless') WHERE seq = 7`)
		}, 7},
		{"changed details", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `UPDATE audit_events SET details = NULL WHERE seq = 13`)
		}, 13},
		// The same values spelled otherwise pass the hash, which covers
		// what they decode to, but not a search of the text (the My
		// Number filter reads details with LIKE).
		{"details spelled otherwise", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `UPDATE audit_events SET details = ? WHERE seq = 13`, `{"key":"retentio\u006e"}`)
		}, 13},
		{"details with a key given twice", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `UPDATE audit_events SET details = ? WHERE seq = 13`, `{"key":"x","key":"retention"}`)
		}, 13},
		{"empty details where none were", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `UPDATE audit_events SET details = '{}' WHERE seq = 2`)
		}, 2},
		{"job info in another order", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `UPDATE audit_events SET job = REPLACE(job, '{"queue":"office","owner":"alice",', '{"owner":"alice","queue":"office",') WHERE seq = 1`)
		}, 1},
		{"job info with a key in capitals", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `UPDATE audit_events SET job = REPLACE(job, '"claimed_user"', '"CLAIMED_USER"') WHERE seq = 7`)
		}, 7},
		{"job digest in capitals", func(t *testing.T, db *database.DB, _ *Log) {
			digest := sha256.Sum256([]byte("report for bob.pdf"))
			h := hex.EncodeToString(digest[:])
			mustExec(t, db, `UPDATE audit_events SET job = REPLACE(job, ?, ?) WHERE seq = 7`, h, strings.ToUpper(h))
		}, 7},
		{"changed time", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `UPDATE audit_events SET at = ? WHERE seq = 3`, t0.Add(-time.Hour))
		}, 3},
		{"job info made unreadable", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `UPDATE audit_events SET job = '{' WHERE seq = 1`)
		}, 1},
		{"deleted event", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `DELETE FROM audit_events WHERE seq = 4`)
		}, 4},
		{"deleted first event", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `DELETE FROM audit_events WHERE seq = 1`)
		}, 1},
		{"deleted last event", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `DELETE FROM audit_events WHERE seq = 13`)
		}, 13},
		{"deleted last event and head moved back", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `DELETE FROM audit_events WHERE seq = 13`)
			mustExec(t, db, `UPDATE audit_chain SET seq = 12, hash = (SELECT hash FROM audit_events WHERE seq = 12)`)
		}, 0}, // undetectable from inside the database: why Report.LastHash should be kept outside
		{"swapped events", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `UPDATE audit_events SET seq = -1 WHERE seq = 8`)
			mustExec(t, db, `UPDATE audit_events SET seq = 8 WHERE seq = 10`)
			mustExec(t, db, `UPDATE audit_events SET seq = 10 WHERE seq = -1`)
		}, 8},
		{"swapped contents, sequence numbers kept", func(t *testing.T, db *database.DB, _ *Log) {
			mustExec(t, db, `UPDATE audit_events SET actor = CASE seq WHEN 2 THEN 'alice' ELSE 'system' END WHERE seq IN (2, 3)`)
		}, 2},
		{"changed and rehashed", func(t *testing.T, db *database.DB, l *Log) {
			// An attacker who knows the algorithm but not the key rehashes
			// the event he changed: the keyed hash does not match.
			ev := readEvent(t, l, 9)
			ev.Actor = "mallory"
			mustExec(t, db, `UPDATE audit_events SET actor = ?, hash = ? WHERE seq = 9`, ev.Actor, chainHash(ev.PrevHash, &ev))
		}, 9},
		{"changed and the whole tail rehashed without the key", func(t *testing.T, db *database.DB, l *Log) {
			rehashTail(t, db, l, 9, 0, func(ev *Event) { ev.Actor = "mallory" }, func(prev []byte, ev *Event) []byte {
				return chainHash(prev, ev)
			})
		}, 9},
		{"changed and the whole tail rehashed with another key", func(t *testing.T, db *database.DB, l *Log) {
			guess := newHasher([]byte("a guessed key of the right length"))
			rehashTail(t, db, l, 6, 0, func(ev *Event) { ev.Reason = "fine" }, guess.sum)
		}, 6},
		{"forged event appended and head moved", func(t *testing.T, db *database.DB, l *Log) {
			head := readEvent(t, l, 13)
			ev := Event{Seq: 14, At: head.At.Add(time.Second), Type: EventConfigChanged, Actor: "admin", PrevHash: head.Hash}
			ev.Hash = chainHash(ev.PrevHash, &ev)
			insertEvent(t, db, &ev, true)
		}, 14},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			open := d.opener(t)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					db := open(t)
					l := newLog(db, newClock(t0, time.Second))
					jobLife(t, l, db, 1, "alice", "quarterly report.pdf")
					jobLife(t, l, db, 2, "bob", "report for bob.pdf")
					appendTx(t, l, db, Event{Type: EventConfigChanged, Actor: "admin", Details: map[string]string{"key": "retention"}})
					disableGuards(t, db)
					c.tamper(t, db, l)
					r, err := l.Verify(context.Background(), 0, 0)
					if err != nil {
						t.Fatalf("verify: %v", err)
					}
					if r.FirstBad != c.wantFirstBad {
						t.Fatalf("first bad = %d (%s), want %d", r.FirstBad, r.Reason, c.wantFirstBad)
					}
					if kept := count(t, db, "audit_events"); c.wantFirstBad == 0 && r.Checked != kept {
						t.Errorf("checked %d, want %d", r.Checked, kept)
					}
					if c.wantFirstBad != 0 && (r.Reason == "" || r.Checked != c.wantFirstBad-1) {
						t.Errorf("reason %q, checked %d", r.Reason, r.Checked)
					}
				})
			}
		})
	}
}

// rehashTail changes event from with change and recomputes its hash and
// every later one up to to (0: the head) with sum, moving the head, as an
// attacker with the database's rights but not the key would.
func rehashTail(t testing.TB, db *database.DB, l *Log, from, to int64, change func(*Event), sum func(prev []byte, ev *Event) []byte) {
	t.Helper()
	var evs []Event
	for ev, err := range l.Events(context.Background(), Filter{FromSeq: from, ToSeq: to}) {
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	change(&evs[0])
	prev := evs[0].PrevHash
	for i := range evs {
		ev := &evs[i]
		ev.PrevHash = prev
		ev.Hash = sum(prev, ev)
		prev = ev.Hash
		mustExec(t, db, `DELETE FROM audit_events WHERE seq = ?`, ev.Seq)
		insertEvent(t, db, ev, to == 0)
	}
}

// insertEvent stores ev as it is and, with moveHead, moves the head to it.
func insertEvent(t testing.TB, db *database.DB, ev *Event, moveHead bool) {
	t.Helper()
	args, err := eventArgs(ev)
	if err != nil {
		t.Fatal(err)
	}
	// ? placeholders: gorm binds them for the dialect.
	mustExec(t, db, database.NewTexts(database.SQLite).Insert("audit_events", eventColumns, len(args), 1, ""), args...)
	if moveHead {
		mustExec(t, db, `UPDATE audit_chain SET seq = ?, hash = ? WHERE id = 1`, ev.Seq, ev.Hash)
	}
}

func readEvent(t testing.TB, l *Log, seq int64) Event {
	t.Helper()
	for ev, err := range l.Events(context.Background(), Filter{FromSeq: seq, ToSeq: seq}) {
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	t.Fatalf("no event %d", seq)
	return Event{}
}

func TestVerifyRange(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := newLog(db, newClock(t0, time.Second))
		jobLife(t, l, db, 1, "alice", "a.pdf")
		jobLife(t, l, db, 2, "alice", "b.pdf")
		r, err := l.Verify(ctx, 4, 9)
		if err != nil || !r.OK() || r.Checked != 6 || r.From != 4 || r.To != 9 {
			t.Fatalf("verify 4..9 = %+v, %v", r, err)
		}
		disableGuards(t, db)
		mustExec(t, db, `UPDATE audit_events SET reason = 'x' WHERE seq = 11`)
		if r, _ := l.Verify(ctx, 4, 9); !r.OK() {
			t.Errorf("range before the change: first bad %d", r.FirstBad)
		}
		if r, _ := l.Verify(ctx, 10, 0); r.FirstBad != 11 {
			t.Errorf("range with the change: first bad %d, want 11", r.FirstBad)
		}
		if r, _ := l.Verify(ctx, 50, 0); !r.OK() || r.Checked != 0 {
			t.Errorf("range after the head: %+v", r)
		}
	})
}

func TestAppendOnly(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		l := newLog(db, newClock(t0, time.Second))
		jobLife(t, l, db, 7, "alice", "a.pdf")
		refused := []string{
			`UPDATE audit_events SET actor = 'mallory' WHERE seq = 2`,
			`UPDATE audit_events SET seq = 100 WHERE seq = 6`,
			`DELETE FROM audit_events WHERE seq = 3`,
			`DELETE FROM audit_events`,
			`UPDATE audit_chain SET seq = 1`,
			`DELETE FROM audit_chain`,
		}
		if db.Dialect == database.Postgres {
			refused = append(refused, `TRUNCATE audit_events`, `TRUNCATE audit_checkpoints`, `TRUNCATE audit_chain`)
		}
		for _, stmt := range refused {
			err := db.Exec(stmt).Error
			if err == nil {
				t.Errorf("%s: allowed", stmt)
				continue
			}
			if !strings.Contains(err.Error(), "refused") && !strings.Contains(err.Error(), "only moves forward") {
				t.Errorf("%s: unexpected error %v", stmt, err)
			}
		}
		if got := count(t, db, "audit_events"); got != 6 {
			t.Errorf("%d events after refused statements, want 6", got)
		}
		mustVerify(t, l)
		// The derived job record has no trigger, but Verify rebuilds it
		// from the events and names the job whose record was changed.
		mustExec(t, db, `UPDATE audit_jobs SET reason = 'note' WHERE job_id = 7`)
		if r, _ := l.Verify(context.Background(), 0, 0); r.OK() || r.JobsBad != 1 || r.BadJobs[0].JobID != 7 {
			t.Errorf("verify after changing job 7's record: %+v", r)
		}
	})
}

func TestConcurrentAppends(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		const writers, each = 8, 25
		// Two instances on one database, four writers each, real clocks.
		type instance struct {
			db  *database.DB
			log *Log
		}
		other := secondInstance(t, db)
		instances := []instance{{db, New(db, Options{Key: testKey})}, {other, New(other, Options{Key: testKey})}}
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			in := instances[w%2]
			wg.Go(func() {
				for i := range each {
					id := int64(w*each + i + 1)
					err := in.db.Transaction(func(tx *gorm.DB) error {
						_, err := in.log.Append(context.Background(), tx, submitted(id, "user", "doc.pdf"))
						return err
					})
					if err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		l := instances[0].log
		r := mustVerify(t, l)
		if r.Checked != writers*each {
			t.Errorf("checked %d events, want %d", r.Checked, writers*each)
		}
		tot, err := l.Totals(context.Background(), TotalsQuery{})
		if err != nil || len(tot) != 1 || tot[0].Jobs != writers*each {
			t.Errorf("totals = %+v, %v", tot, err)
		}
	})
}

func TestAppendFailsClosed(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := newLog(db, newClock(t0, time.Second))
		noKey := New(db, Options{})
		hidden := submitted(3, "alice", "payroll.pdf")
		hidden.Job.HideName = true
		cases := []struct {
			name string
			log  *Log
			ev   Event
			want error
		}{
			{"no type", l, Event{Actor: "x"}, ErrInvalidEvent},
			{"submitted without job", l, Event{Type: EventSubmitted, JobID: 1}, ErrInvalidEvent},
			{"job info without job ID", l, Event{Type: EventSubmitted, Job: &JobInfo{}}, ErrInvalidEvent},
			{"secret in details", l, Event{Type: EventPINSet, Actor: "admin", Details: map[string]string{"PIN": "1234"}}, ErrSecretDetail},
			{"hidden name without key", noKey, hidden, ErrNoKey},
			{"duplicate job", l, submitted(1, "alice", "again.pdf"), nil},
		}
		appendTx(t, l, db, submitted(1, "alice", "first.pdf"))
		mustExec(t, db, `CREATE TABLE state (v INTEGER)`)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				changed := errors.New("state change")
				err := db.Transaction(func(tx *gorm.DB) error {
					if err := tx.Exec(`INSERT INTO state (v) VALUES (1)`).Error; err != nil {
						return err
					}
					if _, err := c.log.Append(ctx, tx, c.ev); err != nil {
						return err
					}
					return changed
				})
				if err == nil || errors.Is(err, changed) {
					t.Fatalf("append succeeded (%v)", err)
				}
				if c.want != nil && !errors.Is(err, c.want) {
					t.Errorf("error %v, want %v", err, c.want)
				}
				if strings.Contains(err.Error(), "1234") {
					t.Errorf("error shows the secret: %v", err)
				}
			})
		}
		if seq, _, _ := l.Head(ctx); seq != 1 {
			t.Errorf("head at %d after failed appends, want 1", seq)
		}
		if rows := count(t, db, "state"); rows != 0 {
			t.Errorf("the callers' state changes were kept: %d rows", rows)
		}
		mustVerify(t, l)
	})
}

func TestHiddenName(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := newLog(db, newClock(t0, time.Second))
		ev := submitted(5, "alice", "2026年11月 給与明細.pdf")
		ev.Job.HideName = true
		got := appendTx(t, l, db, ev)
		keyed, _ := l.KeyedName("2026年11月 給与明細.pdf")
		if got.Job.DocumentName != keyed || !strings.HasPrefix(keyed, KeyedNamePrefix) || ev.Job.DocumentName == keyed {
			t.Fatalf("stored name %q, keyed %q, caller's %q", got.Job.DocumentName, keyed, ev.Job.DocumentName)
		}
		for _, q := range []string{
			`SELECT COUNT(*) FROM audit_events WHERE job LIKE '%給与%'`,
			`SELECT COUNT(*) FROM audit_jobs WHERE document_name LIKE '%給与%'`,
		} {
			var n int
			if err := db.Raw(q).Row().Scan(&n); err != nil || n != 0 {
				t.Errorf("%s = %d, %v: the clear name is stored", q, n, err)
			}
		}
		rec, err := l.Job(ctx, 5)
		if err != nil || rec.DocumentName != keyed || !rec.HideName {
			t.Errorf("record name %q hidden %v, %v", rec.DocumentName, rec.HideName, err)
		}
		page, err := l.History(ctx, HistoryQuery{User: "alice", Name: "2026年11月 給与明細.pdf"})
		if err != nil || len(page.Jobs) != 1 {
			t.Errorf("search by the clear name found %d jobs, %v", len(page.Jobs), err)
		}
		other := New(db, Options{Key: []byte("another key, as long as the first")})
		if k, _ := other.KeyedName("2026年11月 給与明細.pdf"); k == keyed {
			t.Error("a different key gives the same keyed name")
		}
		mustVerify(t, l)
	})
}

func TestCleanedStrings(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		l := newLog(db, newClock(t0, time.Second))
		ev := submitted(9, "alice", "bad\x00name\xff.pdf")
		got := appendTx(t, l, db, ev)
		if got.Job.DocumentName != "badname\uFFFD.pdf" {
			t.Errorf("stored name %q", got.Job.DocumentName)
		}
		mustVerify(t, l)
	})
}

// TestCanonicalGolden pins the canonical encoding: a change to it would
// make every stored chain fail to verify.
func TestCanonicalGolden(t *testing.T) {
	digest := bytes.Repeat([]byte{0xab}, 32)
	ev := Event{
		Seq: 42, At: time.Date(2026, 11, 25, 0, 0, 0, 123456000, time.UTC), Type: EventSubmitted, JobID: 7,
		Owner: "alice", Actor: "alice", Queue: "payroll",
		Job: &JobInfo{Queue: "payroll", Owner: "alice", ClaimedUser: "Alice", ClientAddr: "192.0.2.1",
			DocumentName: "給与明細.pdf", Format: "application/pdf", Size: 1000, SHA256: digest, Pages: 2,
			PagesKnown: true, Copies: 1, Sides: "one-sided", ColorMode: "monochrome", Media: "iso_a4_210x297mm",
			Submitted: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
		Details:  map[string]string{"b": "2", "a": "1"},
		PrevHash: bytes.Repeat([]byte{0x01}, 32),
	}
	// The encoding, its plain hash (chains older than the keyed hash) and
	// its keyed hash under testKey.
	got := hex.EncodeToString(canonical(&ev)) + "\n" + hex.EncodeToString(chainHash(ev.PrevHash, &ev)) + "\n" +
		hex.EncodeToString(newHasher(newLog(nil, newClock(t0, 0)).chainKey).sum(ev.PrevHash, &ev)) + "\n"
	path := filepath.Join("testdata", "canonical.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("canonical encoding changed:\ngot  %s\nwant %s", got, want)
	}
}
