package release

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// heldTriggers are the triggers on jobs that keep held_bytes
// (createHeldBytes).
var heldTriggers = []string{"jobs_held_insert", "jobs_held_update", "jobs_held_delete"}

// Sizes of the counter test's documents: small ones are kept in the
// database, large ones in spool files.
const (
	smallDoc = 1_000
	largeDoc = DefaultSmallDocument + 70_000
)

// TestHeldBytesCounter drives jobs through the Service's paths that add
// and end documents, and two hand edits no path makes, and after each
// step compares held_bytes with the sum it stands for. Then it does the
// same with each trigger dropped in turn and must see the counter go
// wrong: the steps are only a check if they catch a missing trigger.
func TestHeldBytesCounter(t *testing.T) {
	printer := testenv.IPPEvePrinter(t)
	for _, missing := range append([]string{""}, heldTriggers...) {
		name := "all triggers"
		if missing != "" {
			name = "without " + missing
		}
		t.Run(name, func(t *testing.T) {
			testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
				if missing != "" {
					q := "DROP TRIGGER " + missing
					if db.Dialect == database.Postgres {
						q += " ON jobs"
					}
					if err := db.Exec(q).Error; err != nil {
						t.Fatal(err)
					}
				}
				wrong := heldSteps(t, db, printer.URI)
				switch {
				case missing == "" && len(wrong) > 0:
					t.Errorf("held_bytes differs from the jobs' sums:\n%s", strings.Join(wrong, "\n"))
				case missing != "" && len(wrong) == 0:
					t.Errorf("without %s held_bytes stayed right at every step: the steps miss its path", missing)
				case missing != "":
					t.Logf("without %s, first wrong %s (and %d more)", missing, wrong[0], len(wrong)-1)
				}
			})
		})
	}
}

// heldSteps runs the steps of TestHeldBytesCounter on db, with printer as
// the direct queues' printer, and returns what held_bytes had wrong after
// each step. It fails t if a step itself fails.
func heldSteps(t *testing.T, db *database.DB, printer string) []string {
	clock := testenv.NewClock()
	svc, _ := startService(t, db, Options{Now: clock.Now, DatabaseID: "TESTDATABASE0004", MaxHeldPerUser: 2 << 20,
		Queues: []Queue{
			{Name: "secure", Mode: Hold, TTL: time.Hour},
			{Name: "direct", Mode: Direct, Printer: printer, TTL: time.Hour},
			{Name: "keep", Mode: Direct, Printer: printer, TTL: time.Hour, KeepAfterPrint: 30 * time.Minute},
		}})
	ctx := t.Context()
	n := 0
	print := func(queue, user string, size int) (int64, error) {
		n++
		j, err := svc.IPP().PrintJob(ctx, ipp.JobRequest{Queue: queue, User: user, Name: "held",
			Document: ipp.DocumentInfo{Format: "application/octet-stream"}}, bytes.NewReader(paddedDoc(n, size)))
		return int64(j.ID), err
	}
	submit := func(queue, user string, size int) int64 {
		t.Helper()
		id, err := print(queue, user, size)
		if err != nil {
			t.Fatalf("%s's job of %d bytes on %s: %v", user, size, queue, err)
		}
		return id
	}
	printed := func(id int64, kept bool) {
		t.Helper()
		testenv.WaitFor(t, fmt.Sprintf("job %d printed", id), func() bool {
			var j Job
			return db.Take(&j, id).Error == nil && j.State == StateCompleted && (j.Spool != "") == kept
		})
	}
	var ids map[string]int64
	steps := []struct {
		name string
		do   func()
	}{
		{"submitted small and large documents", func() {
			ids = map[string]int64{
				"hanako small": submit("secure", "hanako", smallDoc),
				"hanako large": submit("secure", "hanako", largeDoc),
				"taro small":   submit("secure", "taro", smallDoc),
				"taro large":   submit("secure", "taro", largeDoc),
				"jiro small":   submit("secure", "jiro", smallDoc),
			}
		}},
		{"refused past the limit", func() {
			if _, err := print("secure", "hanako", 3<<20); err == nil {
				t.Fatal("a document past hanako's limit was accepted")
			}
		}},
		{"Create-Job, then Send-Document", func() {
			for _, doc := range []int{largeDoc, 0} {
				j, err := svc.IPP().CreateJob(ctx, ipp.JobRequest{Queue: "secure", User: "jiro", Name: "two steps"})
				if err != nil {
					t.Fatal(err)
				}
				if doc == 0 {
					continue // an upload abandoned: aborted by the sweeper
				}
				n++
				if _, err := svc.IPP().SendDocument(ctx, ipp.DocumentRequest{JobTarget: ipp.JobTarget{Queue: "secure",
					ID: j.ID, User: "jiro"}, Document: ipp.DocumentInfo{Format: "application/octet-stream"}, Last: true},
					bytes.NewReader(paddedDoc(n, doc))); err != nil {
					t.Fatal(err)
				}
				ids["jiro sent"] = int64(j.ID)
			}
		}},
		{"canceled by the owner over IPP", func() {
			if _, err := svc.IPP().CancelJob(ctx, ipp.JobTarget{Queue: "secure", ID: int(ids["hanako small"]),
				User: "hanako"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"canceled in the console", func() {
			if err := svc.MyJobs().Cancel(ctx, "taro", ids["taro small"]); err != nil {
				t.Fatal(err)
			}
		}},
		{"canceled by an administrator", func() {
			if err := svc.Admin().Cancel(ctx, ids["taro large"], "admin"); err != nil {
				t.Fatal(err)
			}
		}},
		{"printed: document destroyed", func() {
			printed(submit("direct", "hanako", largeDoc), false)
			printed(submit("direct", "taro", smallDoc), false)
		}},
		{"printed: document kept for a reprint", func() {
			ids["kept"] = submit("keep", "jiro", largeDoc)
			printed(ids["kept"], true)
		}},
		{"reprint window passed", func() {
			clock.Advance(31 * time.Minute)
			if err := svc.SweepOnce(ctx); err != nil {
				t.Fatal(err)
			}
			printed(ids["kept"], false)
		}},
		// No path of the Service changes an owner or a size, or deletes a
		// job that keeps its document; the triggers keep the counter
		// right all the same.
		{"owner changed by hand", func() {
			db.Model(&Job{}).Where("id = ?", ids["jiro sent"]).Update("owner", "saburo")
		}},
		{"size changed by hand", func() {
			db.Model(&Job{}).Where("id = ?", ids["hanako large"]).Update("size", gorm.Expr("size + 1"))
		}},
		{"held job deleted by hand", func() {
			db.Exec("DELETE FROM jobs WHERE id = ?", ids["jiro small"])
		}},
		{"expired", func() {
			clock.Advance(2 * time.Hour)
			if err := svc.SweepOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}},
		{"purged", func() {
			clock.Advance(DefaultKeepFinished + time.Hour)
			if err := svc.SweepOnce(ctx); err != nil {
				t.Fatal(err)
			}
			var left int64
			db.Model(&Job{}).Count(&left)
			if left != 0 {
				t.Errorf("%d jobs left after the purge, want none", left)
			}
		}},
	}
	var wrong []string
	var most int64
	for _, step := range steps {
		step.do()
		sums, counters := heldSums(t, db)
		// An owner who holds nothing may keep a row of 0 (createHeldBytes).
		owners := maps.Clone(sums)
		maps.Copy(owners, counters)
		for _, o := range slices.Sorted(maps.Keys(owners)) {
			got, err := heldBy(db.DB, o)
			if err != nil {
				t.Fatal(err)
			}
			if got != sums[o] || counters[o] != sums[o] {
				wrong = append(wrong, fmt.Sprintf("after %q: %s holds %d bytes, held_bytes says %d (heldBy %d)",
					step.name, o, sums[o], counters[o], got))
			}
			most = max(most, sums[o])
		}
	}
	if most < largeDoc {
		t.Errorf("no owner ever held a large document: the steps test nothing")
	}
	return wrong
}

// heldSums returns what each owner holds, summed from jobs, and the
// counters of held_bytes.
func heldSums(t *testing.T, db *database.DB) (sums, counters map[string]int64) {
	t.Helper()
	read := func(q string) map[string]int64 {
		var rows []struct {
			Owner string
			Bytes int64
		}
		if err := db.Raw(q).Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		m := map[string]int64{}
		for _, r := range rows {
			m[r.Owner] = r.Bytes
		}
		return m
	}
	return read(`SELECT owner, SUM(size) AS bytes FROM jobs WHERE spool <> '' GROUP BY owner`),
		read(`SELECT owner, bytes FROM held_bytes`)
}

// TestHeldBytesMigration upgrades a database that holds jobs from before
// the counter: each owner's row counts the documents their jobs keep, not
// those of ended jobs, and the triggers count what comes after.
func TestHeldBytesMigration(t *testing.T) {
	testenv.EachDB(t, nil, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		if err := db.Migrate(ctx, "release", migrationsBefore(t, "held_bytes")); err != nil {
			t.Fatal(err)
		}
		insert := func(owner, state, spool string, size int64) {
			t.Helper()
			err := db.Exec(`INSERT INTO jobs (queue, owner, state, spool, size, created_at, updated_at)
				VALUES ('secure', ?, ?, ?, ?, ?, ?)`, owner, state, spool, size, time.Now(), time.Now()).Error
			if err != nil {
				t.Fatal(err)
			}
		}
		insert("hanako", "pending-held", "DOC-1", 10_000)
		insert("hanako", "completed", "DOC-2", 300_000) // kept for a reprint
		insert("hanako", "canceled", "", 5_000)
		insert("taro", "pending-held", "DOC-3", 7)
		insert("jiro", "completed", "", 20_000)
		insert("saburo", "processing", "DOC-4", 0)
		if err := Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		_, counters := heldSums(t, db)
		want := map[string]int64{"hanako": 310_000, "taro": 7, "saburo": 0}
		if !maps.Equal(counters, want) {
			t.Errorf("held_bytes after the upgrade: %v, want %v", counters, want)
		}
		insert("jiro", "pending-held", "DOC-5", 42)
		if n, err := heldBy(db.DB, "jiro"); err != nil || n != 42 {
			t.Errorf("jiro holds %d, %v after a new job; want 42", n, err)
		}
	})
}

// BenchmarkHeldBy reads one owner's held bytes with 10 and with 100,000
// held jobs (SQLite): the same cost, as the counter is one row.
func BenchmarkHeldBy(b *testing.B) {
	for _, jobs := range []int{10, 100_000} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			db, err := database.Open(b.Context(), "", b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := Migrate(b.Context(), db); err != nil {
				b.Fatal(err)
			}
			err = db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
				INSERT INTO jobs (queue, owner, state, spool, size, created_at, updated_at)
				SELECT 'secure', 'flood', 'pending-held', 'DOC-' || i, 1000, ?, ? FROM n`,
				jobs, time.Now(), time.Now()).Error
			if err != nil {
				b.Fatal(err)
			}
			if n, err := heldBy(db.DB, "flood"); err != nil || n != int64(jobs)*1000 {
				b.Fatalf("heldBy = %d, %v; want %d", n, err, jobs*1000)
			}
			for b.Loop() {
				if _, err := heldBy(db.DB, "flood"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
