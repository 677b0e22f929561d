package stamp

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

func migrateAll(ctx context.Context, db *database.DB) error {
	if err := audit.Migrate(ctx, db); err != nil {
		return err
	}
	return Migrate(ctx, db)
}

// recordJob appends the submission of r's job, as release records it.
func recordJob(t *testing.T, db *database.DB, log *audit.Log, r Record) {
	t.Helper()
	err := db.Transaction(func(tx *gorm.DB) error {
		_, err := log.Append(t.Context(), tx, audit.Event{Type: audit.EventSubmitted, JobID: r.JobID, Owner: r.Owner,
			Actor: r.Owner, Queue: r.Queue, Job: &audit.JobInfo{Queue: r.Queue, Owner: r.Owner, DocumentName: "payslip",
				Format: "application/pdf", SHA256: r.SHA256, Copies: 1, Submitted: r.Time}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// stampJob indexes r's code and appends its event, as release does.
func stampJob(t *testing.T, db *database.DB, log *audit.Log, c *Codes, r Record) bool {
	t.Helper()
	var added bool
	err := db.Transaction(func(tx *gorm.DB) error {
		var err error
		if added, err = c.Remember(tx, r); err != nil || !added {
			return err
		}
		_, err = log.Append(t.Context(), tx, c.Event(r, "text"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return added
}

// TestLookup: a code leads to its job once its audit record vouches for
// it; the table holds only a keyed index of the code; a wrong code, or a
// record changed since, leads nowhere.
func TestLookup(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	testenv.EachDB(t, migrateAll, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		log := audit.New(db, audit.Options{Key: key})
		if _, err := log.Upgrade(ctx, audit.UpgradeOptions{}); err != nil {
			t.Fatal(err)
		}
		c := NewCodes(db, testKeys(t, string(key)))
		r, other := testRecord(), testRecord()
		other.JobID = 43
		for _, rec := range []Record{r, other} {
			recordJob(t, db, log, rec)
			if !stampJob(t, db, log, c, rec) {
				t.Fatalf("job %d's code was indexed already", rec.JobID)
			}
		}
		// The same release sent again records nothing more.
		if stampJob(t, db, log, c, r) {
			t.Error("the same code was indexed twice")
		}
		code := c.Keys().Code(r)
		m, err := c.Lookup(ctx, log, strings.ToLower(code))
		if err != nil {
			t.Fatal(err)
		}
		if m.Job.JobID != r.JobID || m.Code != code || m.Event.Details[DetailCode] != code || !m.Time.Equal(r.Time) {
			t.Errorf("Lookup = job %d, code %q, event %v", m.Job.JobID, m.Code, m.Event.Details)
		}
		if evs, _ := log.Timeline(ctx, r.JobID); len(evs) != 2 {
			t.Errorf("job %d has %d events, want its submission and one stamp", r.JobID, len(evs))
		}

		var stored [][]byte
		if err := db.Raw(`SELECT code_index FROM stamp_codes`).Scan(&stored).Error; err != nil {
			t.Fatal(err)
		}
		for _, s := range stored {
			if bytes.Contains(s, []byte(strings.ReplaceAll(code, " ", ""))) || len(s) != 32 {
				t.Errorf("the table stores %q, not a keyed index", s)
			}
		}

		wrong := []byte(strings.ReplaceAll(code, " ", ""))
		wrong[0] = map[bool]byte{true: 'A', false: 'B'}[wrong[0] != 'A']
		if _, err := c.Lookup(ctx, log, string(wrong)); !errors.Is(err, ErrNotFound) || !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("Lookup(wrong code) = %v, want ErrNotFound", err)
		}
		if _, err := c.Lookup(ctx, log, "K7QM"); !errors.Is(err, ErrBadCode) {
			t.Errorf("Lookup(short) = %v, want ErrBadCode", err)
		}
		// Another key makes other codes: the code does not verify.
		if _, err := NewCodes(db, testKeys(t, "another audit key of 32 bytes!!!")).Lookup(ctx, log, code); err == nil {
			t.Error("a code was found under another key")
		}
		// A job record whose document digest was changed no longer
		// vouches for the code.
		if err := db.Exec(`UPDATE audit_jobs SET sha256 = ? WHERE job_id = ?`, []byte("forged digest"), r.JobID).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := c.Lookup(ctx, log, code); !errors.Is(err, ErrUnverified) {
			t.Errorf("Lookup after the record changed = %v, want ErrUnverified", err)
		}
	})
}

// TestCodesPurgedWithRecords: the audit purge that removes a job's record
// removes its indexed code in the same transaction; a job whose record is
// kept keeps its code.
func TestCodesPurgedWithRecords(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	testenv.EachDB(t, migrateAll, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		clock := testenv.NewClock()
		log := audit.New(db, audit.Options{Key: key, Now: clock.Now, PurgeDependents: PurgeUnrecorded})
		if _, err := log.Upgrade(ctx, audit.UpgradeOptions{}); err != nil {
			t.Fatal(err)
		}
		c := NewCodes(db, testKeys(t, string(key)))
		old, kept := testRecord(), testRecord()
		kept.JobID = 43
		recordJob(t, db, log, old)
		stampJob(t, db, log, c, old)
		clock.Advance(48 * time.Hour)
		cutoff := clock.Now()
		clock.Advance(time.Hour)
		recordJob(t, db, log, kept)
		stampJob(t, db, log, c, kept)

		rep, err := log.Purge(ctx, cutoff, audit.ActorSystem)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Jobs != 1 {
			t.Fatalf("the purge removed %d job records, want 1", rep.Jobs)
		}
		var left []int64
		if err := db.Raw(`SELECT job_id FROM stamp_codes ORDER BY job_id`).Scan(&left).Error; err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(left, []int64{kept.JobID}) {
			t.Errorf("stamp_codes holds codes of jobs %v after the purge, want only %d", left, kept.JobID)
		}
		if _, err := c.Lookup(ctx, log, c.Keys().Code(old)); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup(purged job's code) = %v, want ErrNotFound", err)
		}
		if _, err := c.Lookup(ctx, log, c.Keys().Code(kept)); err != nil {
			t.Errorf("Lookup(kept job's code) = %v", err)
		}
	})
}
