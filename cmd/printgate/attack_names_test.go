package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// namesAttacks are the attacks on what the database and the data dir keep
// of a job once it has ended, and on the data dir itself.
func namesAttacks() []attack {
	return []attack{
		{
			name:    "clear names in any table or file after a hidden job ends",
			defense: "transition overwrites hidden names with their keyed form; AllHeldJobs keys them for admins; SQLite secure_delete + TRUNCATE checkpoint",
			run:     attackHiddenNames,
		},
		{
			name:    "wrapped key in any database file after destruction",
			defense: "keys in job_keys, deleted at destruction; SQLite secure_delete + TRUNCATE checkpoint; PostgreSQL VACUUM job_keys",
			run:     attackKeyRemnants,
		},
		{
			name:    "switching databases on one data dir",
			defense: "serve binds the data dir to its database (database-id) and refuses another",
			run:     attackSwitchDatabase,
		},
	}
}

// hiddenQueue turns the release environment's queue into one that hides
// document names.
func hiddenQueue(c *Config) { c.Queues[0].HideDocumentNames = true }

// submitNamed prints a job with a job-name and a document-name as bob.
func (e *releaseEnv) submitNamed(jobName, docName string) int64 {
	e.t.Helper()
	uri := e.srv.PrinterURI("secure")
	r := ippDo(e.t, uri, ippRequest(goipp.OpPrintJob, uri, "bob", nameVal("job-name", jobName),
		nameVal("document-name", docName), mimeVal("application/pdf")), testdocs.PDF(1, "hidden", testdocs.A4))
	if status(r) != goipp.StatusOk {
		e.t.Fatalf("Print-Job: %s", status(r))
	}
	id, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
	return id
}

func attackHiddenNames(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		e := newReleaseEnv(t, dbURL, hiddenQueue)
		tag := rand.Text()[:8]
		name := func(what string) string { return "給与明細-" + what + "-" + tag }
		printed := e.submitNamed(name("printed-job"), name("printed-doc"))
		canceled := e.submitNamed(name("canceled-job"), name("canceled-doc"))
		e.submitNamed(name("live-job"), name("live-doc"))

		// While live, the owner sees the name at the device...
		sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
		_, list := e.call("mfp1", http.MethodGet, "/release/sessions/"+sess+"/jobs", nil)
		if !strings.Contains(fmt.Sprint(list), tag) {
			t.Fatalf("the owner does not see the names of live jobs at the device: %v", list)
		}
		// ...and administrators do not, on the held queue.
		admin := signInConsole(t, e.srv, "alice", "alice-secret")
		code, page := admin.get("/admin/held")
		if code != http.StatusOK || strings.Contains(page, tag) || !strings.Contains(page, "hmac-sha256:") {
			t.Errorf("held queue page (HTTP %d) shows a hidden name, or not its keyed form:\n%s", code, page)
		}

		e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{printed}})
		e.waitState("mfp1", sess, printed, "completed")
		if code, out := e.call("mfp1", http.MethodDelete, "/release/sessions/"+sess+"/jobs/"+strconv.FormatInt(canceled, 10), nil); code >= 300 {
			t.Fatalf("cancel: HTTP %d %v", code, out)
		}

		ended := []string{name("printed-job"), name("printed-doc"), name("canceled-job"), name("canceled-doc")}
		db := openTestDB(t, e.srv)
		var leaks []string
		// The scrubber runs after the change commits; give it a moment.
		ok := testenv.Eventually(func() bool {
			leaks = nameLeaks(t, db, e.srv.DataDir, ended)
			return len(leaks) == 0
		})
		if !ok {
			t.Errorf("ended hidden jobs left clear names: %v", leaks)
		}
		if dump := testenv.DumpTables(t, db); !strings.Contains(dump, name("live-job")) {
			t.Errorf("the live job's name is nowhere in the tables: the dump proves nothing")
		}
	})
}

func attackKeyRemnants(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		e := newReleaseEnv(t, dbURL, nil)
		printed := e.submit("bob", testdocs.PDF(1, "printed", testdocs.A4))
		canceled := e.submit("bob", testdocs.PDF(1, "canceled", testdocs.A4))
		db := openTestDB(t, e.srv)
		keys := map[int64][]byte{}
		for _, id := range []int64{printed, canceled} {
			var k struct{ WrappedKey []byte }
			if err := db.Raw("SELECT wrapped_key FROM job_keys WHERE job_id = ?", id).Scan(&k).Error; err != nil || len(k.WrappedKey) < 32 {
				t.Fatalf("job %d: no wrapped key (%v)", id, err)
			}
			keys[id] = k.WrappedKey
		}
		vacuums := vacuumCount(t, db)

		sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
		e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{printed}})
		e.waitState("mfp1", sess, printed, "completed")
		if code, out := e.call("mfp1", http.MethodDelete, "/release/sessions/"+sess+"/jobs/"+strconv.FormatInt(canceled, 10), nil); code >= 300 {
			t.Fatalf("cancel: HTTP %d %v", code, out)
		}

		var n int64
		db.Raw("SELECT COUNT(*) FROM job_keys WHERE job_id IN ?", []int64{printed, canceled}).Scan(&n)
		if n != 0 {
			t.Errorf("%d destroyed keys still in job_keys", n)
		}
		var where []string
		destroyed := time.Now()
		ok := testenv.Eventually(func() bool {
			where = nil
			for id, k := range keys {
				for _, f := range grepTree(t, e.srv.DataDir, k) {
					where = append(where, fmt.Sprintf("job %d: %s", id, filepath.Base(f)))
				}
			}
			return len(where) == 0 && (db.Dialect != database.Postgres || vacuumCount(t, db) > vacuums)
		})
		if len(where) > 0 {
			t.Errorf("destroyed keys still in %v", where)
		} else if ok {
			t.Logf("%s: destroyed keys scrubbed %v after the destruction", db.Dialect, time.Since(destroyed).Round(time.Millisecond))
		}
		if !ok && db.Dialect == database.Postgres {
			t.Errorf("job_keys was not vacuumed after the destruction (vacuums: %d before, %d after)", vacuums, vacuumCount(t, db))
		}
	})
}

// vacuumCount says how often PostgreSQL has vacuumed job_keys, by hand or
// by autovacuum; 0 on SQLite.
func vacuumCount(t *testing.T, db *database.DB) int64 {
	t.Helper()
	if db.Dialect != database.Postgres {
		return 0
	}
	var n int64
	err := db.Raw(`SELECT vacuum_count + autovacuum_count FROM pg_stat_user_tables WHERE relname = 'job_keys'`).Scan(&n).Error
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func attackSwitchDatabase(t *testing.T) {
	pg := testenv.Postgres(t)
	for _, tc := range []struct{ name, first, then string }{
		{"sqlite data dir started with postgres", "", pg},
		{"postgres data dir started with sqlite", pg, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := newConfig(t, tc.first)
			srv := startServer(t, cfg)
			id := ippSubmit(t, srv, "bob", "held across the switch", testdocs.PDF(1, "switch", testdocs.A4))
			srv.Stop(t)
			before := documents(cfg)

			other := cfg
			other.Database.URL = tc.then
			msg := serveRefused(t, other)
			for _, want := range []string{cfg.DataDir, "belongs to the database", "PRINTGATE_DATABASE_URL", "data_dir"} {
				if !strings.Contains(msg, want) {
					t.Errorf("refusal does not say %q:\n%s", want, msg)
				}
			}
			if tc.first == "" {
				// A data dir from before identity files: printgate.db
				// alone says it belongs to SQLite.
				os.Remove(filepath.Join(cfg.DataDir, database.IdentityFile))
				serveRefused(t, other)
			}
			if after := documents(cfg); fmt.Sprint(after) != fmt.Sprint(before) || len(after) != 1 {
				t.Errorf("documents were %v before the switch, %v after", before, after)
			}

			srv = startServer(t, cfg)
			db := openTestDB(t, srv)
			var state string
			db.Raw("SELECT state FROM jobs WHERE id = ?", id).Scan(&state)
			if state != "pending-held" {
				t.Errorf("back on its own database the job is %q, want pending-held", state)
			}
			if !strings.Contains(srv.Log.String(), "printgate: database ") {
				t.Errorf("start-up does not say which database is in use:\n%s", srv.Log)
			}
		})
	}
}

// serveRefused runs serve with cfg, which must refuse to start, and
// returns its error message.
func serveRefused(t *testing.T, cfg Config) string {
	t.Helper()
	log := &syncBuffer{}
	a := &app{stdout: log, stderr: log, stdin: bytes.NewReader(nil), ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, cfg) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("serve stopped without an error:\n%s", log)
		}
		return err.Error()
	case <-a.ready:
	}
	cancel()
	<-done
	t.Fatalf("serve started where it must refuse to:\n%s", log)
	return ""
}

// nameLeaks lists where any of names stands in clear: a row of db
// (testenv.DumpTables) or a file under dir.
func nameLeaks(t *testing.T, db *database.DB, dir string, names []string) []string {
	t.Helper()
	var leaks []string
	dump := testenv.DumpTables(t, db)
	for _, n := range names {
		if strings.Contains(dump, n) {
			leaks = append(leaks, "table dump: "+n)
		}
		for _, f := range grepTree(t, dir, []byte(n)) {
			leaks = append(leaks, f+": "+n)
		}
	}
	return leaks
}
