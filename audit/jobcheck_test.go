package audit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"gorm.io/gorm"
)

// TestJobRecordTamper changes job records, which have no trigger and no
// hash of their own, and checks that Verify and CheckJob name the job.
func TestJobRecordTamper(t *testing.T) {
	cases := []struct {
		name    string
		stmt    string
		job     int64
		wantWhy string
		// checkWhy is what CheckJob says, when not wantWhy: it compares
		// with the job's last event, not the one the record names.
		checkWhy string
	}{
		{"untouched", "", 0, "", ""},
		{"owner", `UPDATE audit_jobs SET owner = 'mallory' WHERE job_id = 2`, 2, `owner is "mallory", the events say "bob"`, ""},
		{"document name", `UPDATE audit_jobs SET document_name = 'lunch menu.pdf' WHERE job_id = 1`, 1, "document name differs", ""},
		{"printer", `UPDATE audit_jobs SET printer = 'ipp://elsewhere/ipp/print' WHERE job_id = 1`, 1, "printer is", ""},
		{"pages", `UPDATE audit_jobs SET pages = 1, impressions = 2, sheets = 1 WHERE job_id = 2`, 2, "pages is 1, the events say 3", ""},
		{"outcome", `UPDATE audit_jobs SET outcome = 'canceled' WHERE job_id = 1`, 1, "outcome", ""},
		{"colour", `UPDATE audit_jobs SET color = TRUE WHERE job_id = 1`, 1, "colour is true", ""},
		{"day", `UPDATE audit_jobs SET day = '2020-01-01' WHERE job_id = 2`, 2, "day is", ""},
		{"last event moved back", `UPDATE audit_jobs SET last_seq = 3, outcome = 'held' WHERE job_id = 1`, 1, "released is", "last event is 3, the events say 6"},
		{"record deleted", `DELETE FROM audit_jobs WHERE job_id = 2`, 2, "missing", ""},
		{"record forged", `INSERT INTO audit_jobs (job_id, owner, submitted_at, day, last_seq)
			SELECT 77, 'alice', submitted_at, day, last_seq + 100 FROM audit_jobs WHERE job_id = 1`, 77, "not the job's", ""},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			open := d.opener(t)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					ctx := context.Background()
					db := open(t)
					l := newLog(db, newClock(t0, time.Second))
					jobLife(t, l, db, 1, "alice", "quarterly report.pdf")
					jobLife(t, l, db, 2, "bob", "report for bob.pdf")
					if c.stmt != "" {
						mustExec(t, db, c.stmt)
					}
					r, err := l.Verify(ctx, 0, 0)
					if err != nil || r.FirstBad != 0 {
						t.Fatalf("verify: %+v, %v", r, err)
					}
					if c.job == 0 {
						if !r.OK() || r.Jobs != 2 {
							t.Fatalf("untouched: %+v", r)
						}
						if why, err := l.CheckJob(ctx, 1); why != "" || err != nil {
							t.Fatalf("check job 1: %q, %v", why, err)
						}
						return
					}
					if r.OK() || r.JobsBad != 1 || r.BadJobs[0].JobID != c.job || !strings.Contains(r.BadJobs[0].Reason, c.wantWhy) {
						t.Fatalf("verify: %+v; want job %d: %s", r, c.job, c.wantWhy)
					}
					if c.job == 77 {
						return // no events: the console has no page for it
					}
					if c.checkWhy == "" {
						c.checkWhy = c.wantWhy
					}
					if why, err := l.CheckJob(ctx, c.job); err != nil || !strings.Contains(why, c.checkWhy) {
						t.Errorf("check job %d: %q, %v", c.job, why, err)
					}
				})
			}
		})
	}
}

// TestJobCheckBatches: records are read in batches ordered by their last
// event, so jobs spanning batches and many jobs verify.
func TestJobCheckBatches(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		l := newLog(db, newClock(t0, time.Second))
		seed(t, l, db, 4*(2*recordBatch+10), 20)
		r := mustVerify(t, l)
		if r.Jobs != 2*recordBatch+10 {
			t.Errorf("checked %d records, want %d", r.Jobs, 2*recordBatch+10)
		}
		mustExec(t, db, `UPDATE audit_jobs SET owner = 'mallory' WHERE job_id = ?`, recordBatch+5)
		if r, _ := l.Verify(context.Background(), 0, 0); r.JobsBad != 1 || r.BadJobs[0].JobID != recordBatch+5 {
			t.Errorf("after one change: %+v", r)
		}
	})
}

func TestIDSet(t *testing.T) {
	s := make(idSet)
	for _, id := range []int64{1, 63, 64, 1 << 40} {
		s.add(id)
	}
	for id, want := range map[int64]bool{1: true, 63: true, 64: true, 1 << 40: true, 2: false, 65: false, 0: false} {
		if s.has(id) != want {
			t.Errorf("has(%d) = %v", id, !want)
		}
	}
}

// TestVerifyWhileAppending: records that appends change while Verify
// walks are not reported as tampered.
func TestVerifyWhileAppending(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := New(db, Options{Key: testKey})
		seed(t, l, db, 8000, 10) // jobs 1-2000
		var during int
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for job := int64(1); ; job = job%2000 + 1 {
				select {
				case <-stop:
					return
				default:
				}
				err := db.Transaction(func(tx *gorm.DB) error {
					_, err := l.Append(ctx, tx, Event{Type: EventReleaseAttempt, JobID: job, Actor: "alice", Outcome: "failure", Reason: "wrong PIN"})
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
		for i := 0; i < 40 && during < 3; i++ {
			before, _, _ := l.Head(ctx)
			r, err := l.Verify(ctx, 0, 0)
			if err != nil || !r.OK() {
				t.Errorf("verify while appending: %+v, %v", r, err)
				break
			}
			if after, _, _ := l.Head(ctx); after > r.To && r.To >= before {
				during++
			}
		}
		close(stop)
		<-done
		mustVerify(t, l)
		if during == 0 {
			t.Error("no append happened while Verify ran")
		}
	})
}
