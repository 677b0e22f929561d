package release

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/spool"
)

// newTestService returns a started Service over db with one hold queue,
// "payroll", that hides document names, and the clock it runs on.
func newTestService(t *testing.T, db *database.DB) (*Service, *audit.Log, *testenv.Clock) {
	t.Helper()
	clock := testenv.NewClock()
	svc, log := startService(t, db, Options{Now: clock.Now, DatabaseID: "TESTDATABASE0001",
		Queues: []Queue{{Name: "payroll", Mode: Hold, HideNames: true}}})
	return svc, log, clock
}

func submitTest(t *testing.T, svc *Service, name string) ipp.Job {
	t.Helper()
	j, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "payroll", User: "hanako", Name: name,
		Document: ipp.DocumentInfo{Name: name + ".pdf", Format: "application/pdf"}},
		bytes.NewReader(testdocs.PDF(1, name, testdocs.A4)))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestHiddenNamesAndRetention(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, log, clock := newTestService(t, db)
		ctx := t.Context()
		live := submitTest(t, svc, "live-slip")
		ended := submitTest(t, svc, "ended-slip")

		var stored Job
		db.Where("id = ?", live.ID).Take(&stored)
		if !strings.HasPrefix(stored.Spool, "TESTDATABASE-") {
			t.Errorf("document %q is not named after its database", stored.Spool)
		}
		mine, _ := svc.MyJobs().Held(ctx, "hanako")
		all, _ := svc.Admin().HeldJobs(ctx, 10)
		keyed, _ := log.KeyedName("live-slip.pdf")
		if len(mine) != 2 || len(all) != 2 {
			t.Fatalf("held jobs: owner sees %d, admins %d; want 2 and 2", len(mine), len(all))
		}
		if mine[1].Name != "live-slip" || all[0].Name != keyed || all[0].DocumentName != "" {
			t.Errorf("owner sees %q, admins %q/%q; want the clear name and %q", mine[1].Name, all[0].Name,
				all[0].DocumentName, keyed)
		}

		if _, err := svc.IPP().CancelJob(ctx, ipp.JobTarget{Queue: "payroll", ID: ended.ID, User: "hanako"}); err != nil {
			t.Fatal(err)
		}
		var row Job
		db.Where("id = ?", ended.ID).Take(&row)
		keyedJob, _ := log.KeyedName("ended-slip")
		keyedDoc, _ := log.KeyedName("ended-slip.pdf")
		if row.Name != keyedJob || row.DocumentName != keyedDoc {
			t.Errorf("ended job's row keeps %q / %q, want the keyed names", row.Name, row.DocumentName)
		}
		var keys int64
		db.Model(&jobKey{}).Where("job_id = ?", ended.ID).Count(&keys)
		if keys != 0 {
			t.Errorf("ended job keeps its wrapped key")
		}

		// A row that ended before names were hidden is keyed by the sweeper.
		db.Model(&Job{}).Where("id = ?", ended.ID).Updates(map[string]any{"name": "legacy-slip", "document_name": ""})
		if err := svc.SweepOnce(ctx); err != nil {
			t.Fatal(err)
		}
		db.Where("id = ?", ended.ID).Take(&row)
		if legacy, _ := log.KeyedName("legacy-slip"); row.Name != legacy {
			t.Errorf("the sweeper left an ended job's name as %q, want %q", row.Name, legacy)
		}

		dev, _, err := svc.Admin().AddDevice(ctx, DeviceSpec{Name: "mfp", Printer: "ipp://127.0.0.1:1/ipp/print",
			Queues: []string{"payroll"}, Methods: []string{MethodCard}}, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&Session{TokenHash: "old", DeviceID: dev.ID, UserName: "hanako", Method: MethodCard,
			CreatedAt: clock.Now(), LastSeen: clock.Now(), Ended: true}).Error; err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			advance       time.Duration
			jobs, session int64
		}{
			{0, 2, 1},
			{DefaultKeepFinished - time.Minute, 2, 1},
			{2 * time.Minute, 1, 0},
		} {
			clock.Advance(step.advance)
			// Keep the live job live: the test is about retention, not
			// expiry.
			db.Model(&Job{}).Where("id = ?", live.ID).Update("created_at", clock.Now())
			if err := svc.SweepOnce(ctx); err != nil {
				t.Fatal(err)
			}
			var jobs, sessions int64
			db.Model(&Job{}).Count(&jobs)
			db.Model(&Session{}).Count(&sessions)
			if jobs != step.jobs || sessions != step.session {
				t.Errorf("after %v more: %d jobs and %d sessions, want %d and %d", step.advance, jobs, sessions,
					step.jobs, step.session)
			}
		}
	})
}

func TestDocPrefix(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"", ""},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "ABCDEFGHIJKL-"},
		{"a/b.c-d", "abcd-"},
		{"../..", ""},
	} {
		if got := docPrefix(tc.id); got != tc.want || (got != "" && !spool.ValidName(got+"X")) {
			t.Errorf("docPrefix(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

func TestScrubOnce(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, _, _ := newTestService(t, db)
		if err := svc.scrubOnce(context.Background()); err != nil {
			t.Fatalf("scrub on %s: %v", db.Dialect, err)
		}
	})
}

// TestJobKeysMigration upgrades a database whose keys are in the jobs
// rows: every key moves to job_keys, and no jobs column keeps one.
func TestJobKeysMigration(t *testing.T) {
	testenv.EachDB(t, nil, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		if err := db.Migrate(ctx, "release", migrationsBefore(t, "job_keys")); err != nil {
			t.Fatal(err)
		}
		key := []byte("wrapped-key-of-a-held-job\x00\x01\x02")
		old := legacyJob{Queue: "secure", Owner: "hanako", State: "pending-held", Spool: "doc", WrappedKey: key,
			CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := db.Create(&old).Error; err != nil {
			t.Fatal(err)
		}
		if err := Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		var k jobKey
		if err := db.Take(&k).Error; err != nil || !bytes.Equal(k.WrappedKey, key) {
			t.Errorf("job_keys after the upgrade: %+v, %v; want the job's key", k, err)
		}
		if err := db.Exec("SELECT wrapped_key FROM jobs").Error; err == nil {
			t.Errorf("jobs still has a wrapped_key column")
		}
	})
}

// migrationsBefore returns the release migrations up to the one named
// name, without it.
func migrationsBefore(t *testing.T, name string) []database.Migration {
	t.Helper()
	steps := migrations()
	i := slices.IndexFunc(steps, func(m database.Migration) bool { return m.Name == name })
	if i < 0 {
		t.Fatalf("no migration %q", name)
	}
	return steps[:i]
}

// TestJobDocumentsMigration upgrades a database from before documents were
// kept in it: a held job keeps its spool file, and new documents have
// their table.
func TestJobDocumentsMigration(t *testing.T) {
	testenv.EachDB(t, nil, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		if err := db.Migrate(ctx, "release", migrationsBefore(t, "job_documents")); err != nil {
			t.Fatal(err)
		}
		err := db.Exec(`INSERT INTO jobs (queue, owner, state, spool, size, created_at, updated_at)
			VALUES ('secure', 'hanako', 'pending-held', 'DOC-IN-A-FILE', 10, ?, ?)`, time.Now(), time.Now()).Error
		if err != nil {
			t.Fatal(err)
		}
		if err := Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		var j Job
		if err := db.Take(&j).Error; err != nil || j.Spool != "DOC-IN-A-FILE" || j.DocInDB {
			t.Errorf("job after the upgrade: spool %q, in the database %v, %v; want its file", j.Spool, j.DocInDB, err)
		}
		if err := db.Create(&jobDocument{JobID: j.ID, Data: []byte("sealed")}).Error; err != nil {
			t.Errorf("job_documents after the upgrade: %v", err)
		}
	})
}

// legacyJob is a jobs row as it was before job_keys.
type legacyJob struct {
	ID                   int64
	Queue, Owner, State  string
	Spool                string
	WrappedKey           []byte
	CreatedAt, UpdatedAt time.Time
}

func (legacyJob) TableName() string { return "jobs" }

// TestSweepAfterQueueChanges: documents and keys do not outlive a change
// of configuration. A queue taken out of it ends its held jobs at the
// default TTL (not before: another instance may not have the change yet)
// and keeps no printed document past it; a queue that no longer keeps
// printed documents for reprints destroys those it kept at once.
func TestSweepAfterQueueChanges(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		clock := testenv.NewClock()
		before, _ := startService(t, db, Options{Now: clock.Now, DatabaseID: "TESTDATABASE0001",
			Queues: []Queue{{Name: "old", Mode: Hold, KeepAfterPrint: time.Hour}, {Name: "kept", Mode: Hold, KeepAfterPrint: time.Hour}}})
		submit := func(queue string) int64 {
			j, err := before.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: queue, User: "hanako", Name: "slip",
				Document: ipp.DocumentInfo{Format: "application/pdf"}}, bytes.NewReader(testdocs.PDF(1, "slip", testdocs.A4)))
			if err != nil {
				t.Fatal(err)
			}
			return int64(j.ID)
		}
		held, printedOld, printedKept := submit("old"), submit("old"), submit("kept")
		for _, id := range []int64{printedOld, printedKept} {
			j := Job{ID: id}
			db.Take(&j)
			if _, err := before.transition(t.Context(), &j, change{from: []State{StateHeld}, to: StateCompleted,
				reason: "job-completed-successfully"}); err != nil {
				t.Fatal(err)
			}
		}
		before.Close()
		after, _ := startService(t, db, Options{Now: clock.Now, DatabaseID: "TESTDATABASE0001",
			Queues: []Queue{{Name: "kept", Mode: Hold}}})
		state := func(id int64) (State, int64) {
			var j Job
			db.Select("state").Take(&j, id)
			var keys int64
			db.Model(&jobKey{}).Where("job_id = ?", id).Count(&keys)
			return j.State, keys
		}
		sweep := func() {
			if err := after.SweepOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(time.Minute)
		sweep()
		if _, keys := state(printedKept); keys != 0 {
			t.Error("a queue that no longer keeps printed documents kept one's key")
		}
		if st, keys := state(held); st != StateHeld || keys != 1 {
			t.Errorf("a held job of a removed queue a minute later: %s with %d keys, want still held", st, keys)
		}
		if _, keys := state(printedOld); keys != 1 {
			t.Error("a removed queue's printed document went before the default TTL")
		}
		clock.Advance(DefaultTTL)
		sweep()
		if st, keys := state(held); st != StateExpired || keys != 0 {
			t.Errorf("a held job of a removed queue past the default TTL: %s with %d keys, want expired with none", st, keys)
		}
		if _, keys := state(printedOld); keys != 0 {
			t.Error("a removed queue's printed document outlived the default TTL")
		}
	})
}
