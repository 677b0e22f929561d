package main

import (
	"os"
	"strings"
	"testing"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testenv"
)

// TestForgedPlainChainNotSigned: a DBA drops the triggers, deletes the
// keyed start mark, changes an owner and rehashes the whole chain with
// plain SHA-256, which needs no key; the anchor file has been rotated
// away. No command may sign that forgery by itself: verify reports it,
// and serve refuses to append to it until an administrator runs
// `printgate audit upgrade`.
func TestForgedPlainChainNotSigned(t *testing.T) {
	cfg := newConfig(t, "")
	printJobs(t, cfg, 3)
	st := openStackT(t, cfg)
	dropAuditTriggers(t, st.db)
	var evs []audit.Event
	for ev, err := range st.audit.Events(t.Context(), audit.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	target := -1
	for i, ev := range evs {
		if ev.Type == audit.EventSubmitted && i > 0 && target < 0 {
			target = i
		}
	}
	victim := evs[target]
	evs[target].Owner, evs[target].Job.Owner = "mallory", "mallory"
	prev := evs[0].PrevHash
	for i := range evs {
		ev := &evs[i]
		ev.PrevHash = prev
		ev.Hash = audit.PlainHash(prev, ev)
		prev = ev.Hash
		if i == target {
			mustExecT(t, st.db, `UPDATE audit_events SET owner = 'mallory', job = REPLACE(job, '"owner":"alice"', '"owner":"mallory"') WHERE seq = ?`, ev.Seq)
		}
		mustExecT(t, st.db, `UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?`, ev.PrevHash, ev.Hash, ev.Seq)
	}
	mustExecT(t, st.db, `UPDATE audit_jobs SET owner = 'mallory' WHERE job_id = ?`, victim.JobID)
	mustExecT(t, st.db, `UPDATE audit_chain SET hash = ? WHERE id = 1`, prev)
	mustExecT(t, st.db, `DELETE FROM audit_marks`)
	st.Close()
	if err := os.Rename(cfg.anchorFile(), cfg.anchorFile()+".1"); err != nil { // rotated by a log shipper
		t.Fatal(err)
	}

	out, err := tryCLI(t, cfg, "", "audit", "verify")
	if err == nil && !strings.Contains(out, "BROKEN") {
		t.Errorf("the forged plain chain (job %d's owner now mallory) verifies:\n%s", victim.JobID, out)
	}
	if msg := serveRefused(t, cfg); !strings.Contains(msg, "printgate audit upgrade") {
		t.Errorf("serve on a plain chain: %q, want a refusal naming printgate audit upgrade", msg)
	}
	// The administrator's explicit act signs it, after checking.
	if out := runCLI(t, cfg, "", "audit", "upgrade"); !strings.Contains(out, "chain keyed") {
		t.Errorf("audit upgrade: %s", out)
	}
	startServer(t, cfg)
}

// TestRefusedStartWritesNothingToTheRecord: a start refused because the
// data dir belongs to another database must sign nothing into that
// database's record, or the install that later uses it (with its own key)
// finds a mark it cannot verify.
func TestRefusedStartWritesNothingToTheRecord(t *testing.T) {
	pg := testenv.Postgres(t)
	cfg := newConfig(t, "") // a SQLite data dir
	startServer(t, cfg).Stop(t)

	other := cfg
	other.Database.URL = pg
	serveRefused(t, other)

	fresh := newConfig(t, pg) // the intended new install on that database
	startServer(t, fresh).Stop(t)
	out, err := tryCLI(t, fresh, "", "audit", "verify")
	if err != nil || strings.Contains(out, "BROKEN") {
		t.Errorf("the refused start left the other database's record unverifiable: %v\n%s", err, out)
	}
}
