package siem

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
)

// forwardedFile returns the messages of l's events, one a line, as a
// collector writes them.
func forwardedFile(t *testing.T, l *audit.Log) []string {
	t.Helper()
	var lines []string
	for ev, err := range l.Events(context.Background(), audit.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(Format(Header{Hostname: "pg1", ProcID: "1"}, &ev)))
	}
	return lines
}

// TestVerify: a collector's file verifies when every event arrived, at
// least once, unchanged; Verify names what is missing, changed, forked
// or beyond a chain that was cut back.
func TestVerify(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB, l *audit.Log) {
		ctx := context.Background()
		appendEvents(t, l, db, 5)
		lines := forwardedFile(t, l)
		other := `<13>1 2026-12-02T01:00:00Z host sshd 12 - - session opened`
		// Another chain under the same key: its event 1 is another one.
		db2, err := database.Open(ctx, "", t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		if err := migrate(ctx, db2); err != nil {
			t.Fatal(err)
		}
		l2 := audit.New(db2, audit.Options{Key: testKey})
		appendEvents(t, l2, db2, 1)
		forked := forwardedFile(t, l2)[0]

		cases := []struct {
			name              string
			lines             []string
			ok                bool
			bad, missing, dup int64
			missingSeqs       []int64
			problem           string
		}{
			{name: "all", lines: append([]string{other}, lines...), ok: true},
			{name: "twice", lines: append(slices.Clone(lines), lines[1], lines[3]), ok: true, dup: 2},
			{name: "one missing", lines: slices.Delete(slices.Clone(lines), 2, 3), missing: 1, missingSeqs: []int64{3}},
			{name: "changed", lines: replaceIn(lines, 1, `"value":"1"`, `"value":"9"`), bad: 1, missing: 1,
				missingSeqs: []int64{2}, problem: "does not match its hash"},
			{name: "structured data disagrees", lines: replaceIn(lines, 0, `seq="1"`, `seq="4"`), bad: 1, missing: 1,
				missingSeqs: []int64{1}, problem: "structured data seq"},
			{name: "forked", lines: append(slices.Clone(lines), forked), bad: 1, problem: "another event 1"},
			{name: "too long", lines: append(slices.Clone(lines), strings.Repeat("x", MaxLine+10)), bad: 1, problem: "longer than"},
			{name: "broken forwarded line", lines: append(slices.Clone(lines), `<110>1 x [printgate@32473 seq="1"`), bad: 1,
				problem: "does not parse"},
		}
		for _, c := range cases {
			rep, err := Verify(ctx, l, strings.NewReader(strings.Join(c.lines, "\n")+"\n"), 0, 0)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if rep.OK() != c.ok || rep.Bad != c.bad || rep.Missing != c.missing || rep.Duplicates != c.dup ||
				!slices.Equal(rep.MissingSeqs, c.missingSeqs) || rep.From != 1 || rep.To != 5 {
				t.Errorf("%s: %+v", c.name, rep)
			}
			if c.problem != "" && (len(rep.Problems) == 0 || !strings.Contains(rep.Problems[0].Reason, c.problem)) {
				t.Errorf("%s: problems %+v, want %q", c.name, rep.Problems, c.problem)
			}
		}
		rep, err := Verify(ctx, l, strings.NewReader(other+"\n"+strings.Join(lines, "\n")), 0, 0)
		if err != nil || rep.Other != 1 || rep.Lines != 6 || rep.Copies != 5 || rep.Distinct != 5 {
			t.Errorf("counts: %+v, %v", rep, err)
		}
		// Only up to the cursor must have arrived.
		rep, err = Verify(ctx, l, strings.NewReader(strings.Join(lines[:3], "\n")), 0, 3)
		if err != nil || !rep.OK() || rep.To != 3 {
			t.Errorf("up to 3: %+v, %v", rep, err)
		}

		cutBack(t, db, 3)
		rep, err = Verify(ctx, l, strings.NewReader(strings.Join(lines, "\n")), 0, 0)
		if err != nil || rep.OK() || rep.Bad != 2 || !strings.Contains(rep.Problems[0].Reason, "cut back") {
			t.Errorf("after the chain was cut back to 3: %+v, %v", rep, err)
		}
	})
}

// replaceIn returns lines with old replaced by new in line i.
func replaceIn(lines []string, i int, old, new string) []string {
	out := slices.Clone(lines)
	if !strings.Contains(out[i], old) {
		panic("no " + old + " in " + out[i])
	}
	out[i] = strings.Replace(out[i], old, new, 1)
	return out
}

// cutBack deletes the events after seq and moves the head back to it, as
// only someone disabling the triggers can.
func cutBack(t *testing.T, db *database.DB, seq int64) {
	t.Helper()
	stmts := []string{`DROP TRIGGER audit_events_no_delete`, `DROP TRIGGER audit_chain_forward`}
	if db.Dialect == database.Postgres {
		stmts = []string{`ALTER TABLE audit_events DISABLE TRIGGER ALL`, `ALTER TABLE audit_chain DISABLE TRIGGER ALL`}
	}
	for _, s := range stmts {
		if err := db.Exec(s).Error; err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	var hash []byte
	if err := db.Raw(`SELECT hash FROM audit_events WHERE seq = ?`, seq).Row().Scan(&hash); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM audit_events WHERE seq > ?`, []any{seq}},
		{`UPDATE audit_chain SET seq = ?, hash = ?`, []any{seq, hash}},
	} {
		if err := db.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
}

// TestVerifyUpgradedChain: a chain hashed with plain SHA-256 before it was
// keyed (audit upgrade) and forwarded whole verifies; a copy of its plain
// part that was altered and rehashed does not.
func TestVerifyUpgradedChain(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB, l *audit.Log) {
		ctx := context.Background()
		appendEvents(t, l, db, 6)
		rehashPlain(t, db, l)
		if _, err := l.Upgrade(ctx, audit.UpgradeOptions{SignPlain: true}); err != nil {
			t.Fatal(err)
		}
		appendEvents(t, l, db, 2)
		lines := forwardedFile(t, l)
		rep, err := Verify(ctx, l, strings.NewReader(strings.Join(lines, "\n")+"\n"), 0, 0)
		if err != nil || !rep.OK() || rep.Distinct != 8 {
			t.Fatalf("an untouched copy of an upgraded chain: %+v, %v", rep, err)
		}
		var ev audit.Event
		for e, err := range l.Events(ctx, audit.Filter{FromSeq: 3, ToSeq: 3}) {
			if err != nil {
				t.Fatal(err)
			}
			ev = e
		}
		ev.Actor = "mallory"
		ev.Hash = audit.PlainHash(ev.PrevHash, &ev)
		lines[2] = string(Format(Header{Hostname: "pg1", ProcID: "1"}, &ev))
		rep, err = Verify(ctx, l, strings.NewReader(strings.Join(lines, "\n")+"\n"), 0, 0)
		if err != nil || rep.OK() || rep.Bad != 1 {
			t.Fatalf("a forged copy of a plain event: %+v, %v", rep, err)
		}
	})
}

// rehashPlain rewrites l's chain as versions before the keyed hash wrote
// it: plain SHA-256, no marks.
func rehashPlain(t *testing.T, db *database.DB, l *audit.Log) {
	t.Helper()
	if db.Dialect == database.Postgres {
		for _, table := range []string{"audit_events", "audit_chain", "audit_marks"} {
			mustExec(t, db, "ALTER TABLE "+table+" DISABLE TRIGGER ALL")
		}
		defer func() {
			for _, table := range []string{"audit_events", "audit_chain", "audit_marks"} {
				mustExec(t, db, "ALTER TABLE "+table+" ENABLE TRIGGER ALL")
			}
		}()
	} else {
		for _, tr := range []string{"audit_events_no_update", "audit_chain_forward", "audit_marks_no_delete"} {
			mustExec(t, db, "DROP TRIGGER IF EXISTS "+tr)
		}
	}
	var prev []byte
	for ev, err := range l.Events(context.Background(), audit.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if prev == nil {
			prev = ev.PrevHash
		}
		ev.PrevHash = prev
		ev.Hash = audit.PlainHash(prev, &ev)
		prev = ev.Hash
		mustExec(t, db, `UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?`, ev.PrevHash, ev.Hash, ev.Seq)
	}
	mustExec(t, db, `UPDATE audit_chain SET hash = ? WHERE id = 1`, prev)
	mustExec(t, db, `DELETE FROM audit_marks`)
}

func mustExec(t *testing.T, db *database.DB, sql string, args ...any) {
	t.Helper()
	if err := db.Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
