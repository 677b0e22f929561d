package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
)

// recordAttacks are the insider's attacks on "the record cannot be
// rewritten": someone with full rights on the database (a DBA, a backup
// restored elsewhere) but not the audit key file.
func recordAttacks() []attack {
	return []attack{
		{
			name:    "job-record tampering",
			defense: "audit verify rebuilds every job record from the events and compares (audit/jobcheck.go); the job page runs the same check (CheckJob)",
			run:     attackJobRecords,
		},
		{
			name:    "event forging",
			defense: "event hashes are HMAC-SHA-256 under a key outside the database (audit/event.go hasher, checked in audit/verify.go walk)",
			run:     attackForgedEvents,
		},
		{
			name:    "rehash after dropping triggers",
			defense: "event hashes are HMAC-SHA-256 under a key outside the database: a rehash without the key does not verify",
			run:     attackRehash,
		},
		{
			name:    "tail truncation against the anchor file",
			defense: "signed anchors of the head appended to audit.anchor_file; audit verify --anchors names an anchored event beyond the head (audit/anchor.go)",
			run:     attackTruncation,
		},
	}
}

// attackJobRecords changes the owner, document name, printer and page
// count of four printed jobs' records, with the triggers as they are and
// with every audit trigger dropped.
func attackJobRecords(t *testing.T) {
	for _, drop := range []bool{false, true} {
		t.Run(fmt.Sprintf("triggers dropped=%v", drop), func(t *testing.T) {
			forEachDB(t, func(t *testing.T, dbURL string) {
				e := newReleaseEnv(t, dbURL, nil)
				var ids []int64
				for i := range 4 {
					ids = append(ids, e.submit("bob", testdocs.PDF(2, fmt.Sprintf("payroll %d", i), testdocs.A4)))
				}
				sess := e.login("mfp1", map[string]string{"user": "bob", "pin": "4821"})
				if code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": ids}); code != http.StatusAccepted {
					t.Fatalf("release: %d %v", code, out)
				}
				for _, id := range ids {
					e.waitState("mfp1", sess, id, "completed")
				}
				e.srv.Stop(t)
				if out := runCLI(t, e.cfg, "", "audit", "verify"); !strings.Contains(out, "OK: ") {
					t.Fatalf("verify before the attack: %s", out)
				}

				st := openStackT(t, e.cfg)
				if drop {
					dropAuditTriggers(t, st.db)
				}
				for i, set := range []string{"owner = 'mallory'", "document_name = 'lunch menu.pdf'",
					"printer = 'ipp://elsewhere.example/ipp/print'", "pages = 1, impressions = 1, sheets = 1"} {
					mustExecT(t, st.db, fmt.Sprintf("UPDATE audit_jobs SET %s WHERE job_id = %d", set, ids[i]))
				}
				st.Close()

				out, err := tryCLI(t, e.cfg, "", "audit", "verify")
				if err == nil {
					t.Fatalf("audit verify passed after changing four job records:\n%s", out)
				}
				for i, field := range []string{"owner", "document name", "printer", "pages"} {
					if want := fmt.Sprintf("BROKEN job %d: its record differs from its events: %s", ids[i], field); !strings.Contains(out, want) {
						t.Errorf("audit verify does not say %q:\n%s", want, out)
					}
				}

				// The console's job page shows the job as not verifying.
				srv := startServer(t, e.cfg)
				admin := signInConsole(t, srv, "alice", "alice-secret")
				_, body := admin.get(fmt.Sprintf("/admin/jobs/%d", ids[0]))
				if !strings.Contains(body, `id="record-bad"`) || !strings.Contains(body, "mallory") {
					t.Errorf("the job page of job %d does not show its record as changed:\n%.3000s", ids[0], body)
				}
				_, body = admin.get(fmt.Sprintf("/admin/jobs/%d?chain=all", ids[1]))
				if !strings.Contains(body, `id="chain-bad"`) || !strings.Contains(body, "4 job records do not match") {
					t.Errorf("the whole-chain check on the job page does not show four changed records:\n%.3000s", body)
				}
			})
		})
	}
}

// attackForgedEvents appends an event in two ways an attacker without the
// key could: with a correct plain SHA-256, and with the keyed hash under a
// guessed key (printgate's own code run with another audit.key). Each
// moves the head forward, which the triggers allow.
func attackForgedEvents(t *testing.T) {
	for _, how := range []string{"plain SHA-256", "guessed key"} {
		t.Run(how, func(t *testing.T) {
			forEachDB(t, func(t *testing.T, dbURL string) {
				cfg := newConfig(t, dbURL)
				printJobs(t, cfg, 3)
				st := openStackT(t, cfg)
				seq, hash, err := st.audit.Head(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				forged := audit.Event{Seq: seq + 1, At: time.Now().UTC().Truncate(time.Microsecond), Type: audit.EventConfigChanged,
					Actor: "admin", Details: map[string]string{"setting": "retention_years", "value": "1"}, PrevHash: hash}
				switch how {
				case "plain SHA-256":
					forged.Hash = audit.PlainHash(hash, &forged)
					insertForged(t, st.db, &forged)
				case "guessed key":
					guess := audit.New(st.db, audit.Options{Key: bytes.Repeat([]byte("guess"), 8)})
					err := st.db.Transaction(func(tx *gorm.DB) error {
						_, err := guess.Append(t.Context(), tx, forged)
						return err
					})
					if err != nil {
						t.Fatal(err)
					}
				}
				st.Close()
				out, err := tryCLI(t, cfg, "", "audit", "verify")
				if want := fmt.Sprintf("BROKEN at sequence %d", seq+1); err == nil || !strings.Contains(out, want) {
					t.Fatalf("audit verify after a forged event %d: %v\n%s\nwant %q", seq+1, err, out, want)
				}
			})
		})
	}
}

// attackRehash drops the triggers, changes the owner of a submitted event
// (and the job record to match), and recomputes every later hash with all
// printgate's code but the key.
func attackRehash(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL)
		printJobs(t, cfg, 4)
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
			if ev.Type == audit.EventSubmitted && target < 0 && i > 0 {
				target = i
			}
		}
		if target < 0 {
			t.Fatalf("no submitted event after the first in %d events", len(evs))
		}
		victim := evs[target]
		evs[target].Owner, evs[target].Job.Owner = "mallory", "mallory"
		prev := evs[target].PrevHash
		for i := target; i < len(evs); i++ {
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
		st.Close()
		out, err := tryCLI(t, cfg, "", "audit", "verify")
		if want := fmt.Sprintf("BROKEN at sequence %d", victim.Seq); err == nil || !strings.Contains(out, want) {
			t.Fatalf("audit verify after rehashing from %d: %v\n%s\nwant %q", victim.Seq, err, out, want)
		}
	})
}

// attackTruncation deletes the last job's events and record and moves the
// head back: a consistent, shorter chain that verifies on its own, but not
// against the anchor file the server wrote at its clean shutdown.
func attackTruncation(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL)
		ids := printJobs(t, cfg, 3)
		anchorsCopy, err := os.ReadFile(cfg.anchorFile())
		if err != nil {
			t.Fatalf("no anchor file after a clean shutdown: %v", err)
		}
		fi, err := os.Stat(cfg.anchorFile())
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("anchor file mode %v, %v; want 0600", fi.Mode(), err)
		}
		copyPath := t.TempDir() + "/anchors-copied-off-the-machine.log"
		if err := os.WriteFile(copyPath, anchorsCopy, 0o600); err != nil {
			t.Fatal(err)
		}
		st := openStackT(t, cfg)
		head, _, err := st.audit.Head(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(anchorsCopy), fmt.Sprintf(" seq=%d ", head)) {
			t.Fatalf("the anchor file has no anchor of the head %d:\n%s", head, anchorsCopy)
		}
		last := ids[len(ids)-1]
		tl, err := st.audit.Timeline(t.Context(), last)
		if err != nil {
			t.Fatal(err)
		}
		cut := tl[0].Seq - 1
		dropAuditTriggers(t, st.db)
		mustExecT(t, st.db, `DELETE FROM audit_events WHERE seq > ?`, cut)
		mustExecT(t, st.db, `DELETE FROM audit_jobs WHERE job_id = ?`, last)
		mustExecT(t, st.db, `UPDATE audit_chain SET seq = ?, hash = (SELECT hash FROM audit_events WHERE seq = ?) WHERE id = 1`, cut, cut)
		st.Close()

		if out, err := tryCLI(t, cfg, "", "audit", "verify"); err != nil {
			t.Fatalf("the cut-back chain should verify on its own (only anchors show the cut): %v\n%s", err, out)
		}
		out, err := tryCLI(t, cfg, "", "audit", "verify", "--anchors", copyPath)
		want := fmt.Sprintf("BROKEN anchor of sequence %d", head)
		// The chain ends at cut+1: the first verify recorded itself.
		if err == nil || !strings.Contains(out, want) || !strings.Contains(out, fmt.Sprintf("now ends at %d", cut+1)) {
			t.Fatalf("audit verify --anchors after cutting %d back to %d: %v\n%s\nwant %q", head, cut, err, out, want)
		}
	})
}

// printJobs runs a server on cfg, prints n held jobs and stops it cleanly
// (which writes the last anchor); it returns the job IDs.
func printJobs(t *testing.T, cfg Config, n int) []int64 {
	t.Helper()
	srv := startServer(t, cfg)
	uri := srv.PrinterURI("secure")
	var ids []int64
	for i := range n {
		r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", nameVal("job-name", fmt.Sprintf("doc %d", i)), mimeVal("application/pdf")),
			testdocs.PDF(1, "record", testdocs.A4))
		id, err := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
		if status(r) != goipp.StatusOk || err != nil {
			t.Fatalf("Print-Job %d: %s", i, status(r))
		}
		ids = append(ids, id)
	}
	srv.Stop(t)
	return ids
}

// dropAuditTriggers removes every append-only trigger of the audit
// tables, as the database owner can.
func dropAuditTriggers(t *testing.T, db *database.DB) {
	t.Helper()
	if db.Dialect == database.Postgres {
		for _, table := range []string{"audit_events", "audit_chain", "audit_checkpoints", "audit_marks"} {
			mustExecT(t, db, "ALTER TABLE "+table+" DISABLE TRIGGER ALL")
		}
		return
	}
	for _, tr := range []string{"audit_events_no_update", "audit_events_no_delete", "audit_checkpoints_no_update",
		"audit_checkpoints_no_delete", "audit_chain_forward", "audit_chain_no_delete", "audit_marks_no_update",
		"audit_marks_no_delete"} {
		mustExecT(t, db, "DROP TRIGGER IF EXISTS "+tr)
	}
}

// insertForged stores ev as it is and moves the head to it.
func insertForged(t *testing.T, db *database.DB, ev *audit.Event) {
	t.Helper()
	mustExecT(t, db, `INSERT INTO audit_events (seq, at, type, actor, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ev.Seq, ev.At, ev.Type, ev.Actor, `{"setting":"retention_years","value":"1"}`, ev.PrevHash, ev.Hash)
	mustExecT(t, db, `UPDATE audit_chain SET seq = ?, hash = ? WHERE id = 1`, ev.Seq, ev.Hash)
}

func mustExecT(t *testing.T, db *database.DB, sql string, args ...any) {
	t.Helper()
	if err := db.Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
