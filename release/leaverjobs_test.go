package release

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/directory"
)

// hireBob gives the login bob to a new account of dir, removing the
// account that had it, if any, as a directory does for a new hire given
// a leaver's name; with creds, the new bob's PIN is 5927.
func hireBob(t *testing.T, dir *directory.Builtin, creds *credential.Store) {
	t.Helper()
	ctx := t.Context()
	if err := dir.DeleteUser(ctx, "bob", nil); err != nil && !errors.Is(err, directory.ErrNotFound) {
		t.Fatal(err)
	}
	if err := dir.AddUser(ctx, directory.User{Name: "bob"}, "bob-secret-1", nil); err != nil {
		t.Fatal(err)
	}
	if creds == nil {
		return
	}
	bob, err := dir.Lookup(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := creds.SetAccountPIN(ctx, credential.Account{Name: "bob", ID: bob.AccountID}, "5927", nil); err != nil {
		t.Fatal(err)
	}
}

// TestLeaverJobsStayTheLeavers: a leaver's held job does not pass with
// the login to the new hire given it before the job expired. Signed in
// at a device, the new bob neither lists, opens, cancels nor releases
// the former bob's payslip, by id or by "release all", nor from My
// page; the job he printed himself he does. Without a directory to say
// whose jobs they are, My page shows and cancels none.
func TestLeaverJobsStayTheLeavers(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		dir := directory.NewBuiltin(db, testHasherFor(t))
		e := newSignInEnv(t, db, dir)
		// The former bob printed his payslip an hour ago and left; his
		// login went to a new hire, made just now.
		hireBob(t, dir, nil)
		hireBob(t, dir, e.creds)
		now := e.svc.now()
		former := Job{Queue: "secure", Owner: "bob", Name: "payslip", State: StateHeld, Spool: "doc-former",
			CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour)}
		own := Job{Queue: "secure", Owner: "bob", Name: "welcome pack", State: StateHeld, Spool: "doc-own",
			CreatedAt: now, UpdatedAt: now}
		if err := db.Create(&former).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&own).Error; err != nil {
			t.Fatal(err)
		}

		dr := e.svc.DeviceRelease()
		_, token, err := dr.OpenSession(ctx, e.token, Login{User: "bob", PIN: "5927"})
		if err != nil {
			t.Fatal(err)
		}
		sess, dev, err := dr.Authorize(ctx, e.token, token)
		if err != nil {
			t.Fatal(err)
		}
		ids := func(jobs []Job, err error) []int64 {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, j := range jobs {
				out = append(out, j.ID)
			}
			return out
		}
		want := []int64{own.ID}
		if got := ids(dr.Jobs(ctx, sess, dev)); !slices.Equal(got, want) {
			t.Errorf("the new bob's jobs at the device: %v, want %v (not the former bob's %d)", got, want, former.ID)
		}
		if got := ids(dr.releaseTargets(ctx, sess, dev, ReleaseRequest{All: true})); !slices.Equal(got, want) {
			t.Errorf("release all takes %v, want %v", got, want)
		}
		if _, err := dr.Job(ctx, sess, dev, own.ID); err != nil {
			t.Errorf("the new bob's own job: %v", err)
		}
		if _, err := dr.Job(ctx, sess, dev, former.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("the former bob's job by id: %v, want ErrNotFound", err)
		}
		if err := dr.Cancel(ctx, sess, dev, former.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("cancel of the former bob's job: %v, want ErrNotFound", err)
		}
		if _, err := dr.Release(ctx, sess, dev, ReleaseRequest{IDs: []int64{former.ID}}); !errors.Is(err, ErrNotFound) {
			t.Errorf("release of the former bob's job: %v, want ErrNotFound", err)
		}

		web := e.svc.RemoteRelease()
		if got := ids(web.Jobs(ctx, "bob", MethodWeb, dev)); !slices.Equal(got, want) {
			t.Errorf("the new bob's jobs from My page: %v, want %v", got, want)
		}
		if _, err := web.Release(ctx, "bob", MethodWeb, dev, ReleaseRequest{IDs: []int64{former.ID}}); !errors.Is(err, ErrNotFound) {
			t.Errorf("release of the former bob's job from My page: %v, want ErrNotFound", err)
		}

		my := e.svc.MyJobs()
		if got := ids(my.Held(ctx, "bob")); !slices.Equal(got, want) {
			t.Errorf("the new bob's held jobs on My page: %v, want %v", got, want)
		}
		if err := my.Cancel(ctx, "bob", former.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("cancel of the former bob's job from My page: %v, want ErrNotFound", err)
		}

		var left Job
		if err := db.Take(&left, former.ID).Error; err != nil || left.State != StateHeld {
			t.Errorf("the former bob's job is %s (%v), want it still held, to expire", left.State, err)
		}

		// A directory that cannot answer cannot tell whose the jobs are:
		// My page lists and cancels none of them.
		e.svc.dir = downDirectory{}
		if jobs, err := my.Held(ctx, "bob"); !errors.Is(err, ErrUnavailable) || len(jobs) != 0 {
			t.Errorf("My page's held jobs without a directory: %d, %v; want none and ErrUnavailable", len(jobs), err)
		}
		if err := my.Cancel(ctx, "bob", former.ID); !errors.Is(err, ErrUnavailable) {
			t.Errorf("My page's cancel without a directory: %v, want ErrUnavailable", err)
		}
	})
}

// TestLeaverJobsOverIPP: over IPP too, the new bob cannot cancel, hold or
// release (Release-Job, which prints a direct queue's held job) the job
// the former bob left held, nor take it in a Cancel-My-Jobs; his own he
// can cancel.
func TestLeaverJobsOverIPP(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		if err := directory.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		dir := directory.NewBuiltin(db, testHasherFor(t))
		svc, _ := startService(t, db, Options{Directory: dir, Queues: []Queue{
			{Name: "direct", Mode: Direct, Printer: "ipp://127.0.0.1:1/ipp/print"}}})
		hireBob(t, dir, nil)
		hireBob(t, dir, nil)
		now := svc.now()
		// newJob makes a held job of bob's on the direct queue, made at.
		newJob := func(at time.Time) int64 {
			t.Helper()
			j := Job{Queue: "direct", Owner: "bob", Name: "payslip", State: StateHeld, Spool: fmt.Sprintf("doc-%d", at.UnixNano()),
				CreatedAt: at, UpdatedAt: at}
			if err := db.Create(&j).Error; err != nil {
				t.Fatal(err)
			}
			return j.ID
		}
		backend := svc.IPP()
		target := func(id int64) ipp.JobTarget { return ipp.JobTarget{Queue: "direct", ID: int(id), User: "bob"} }
		// A job of the former bob's for each operation, so that none
		// finds one another moved.
		var formers []int64
		for i, op := range []struct {
			name string
			do   func(id int64) error
		}{
			{"Release-Job", func(id int64) error { _, err := backend.ReleaseJob(ctx, target(id)); return err }},
			{"Hold-Job", func(id int64) error { _, err := backend.HoldJob(ctx, target(id), "indefinite"); return err }},
			{"Cancel-Job", func(id int64) error { _, err := backend.CancelJob(ctx, target(id)); return err }},
		} {
			formers = append(formers, newJob(now.Add(-time.Hour-time.Duration(i)*time.Second)))
			if err := op.do(formers[i]); !errors.Is(err, ErrNotAllowed) {
				t.Errorf("%s of the former bob's job by the new bob: %v, want ErrNotAllowed", op.name, err)
			}
		}
		own := []int64{newJob(now), newJob(now.Add(time.Second))}
		canceled, err := backend.CancelMyJobs(ctx, target(0), nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, j := range canceled {
			got = append(got, int64(j.ID))
		}
		if slices.Sort(got); !slices.Equal(got, own) {
			t.Errorf("Cancel-My-Jobs canceled %v, want the new bob's %v", got, own)
		}
		for _, id := range formers {
			var left Job
			if err := db.Take(&left, id).Error; err != nil || left.State != StateHeld {
				t.Errorf("the former bob's job %d is %s (%v), want it still held, to expire", id, left.State, err)
			}
		}
	})
}

// TestSessionOfLeaverEnds: a device session the former bob opened ends
// at its next use once his login is the new bob's: it does not go on as
// the new account's.
func TestSessionOfLeaverEnds(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		dir := directory.NewBuiltin(db, testHasherFor(t))
		e := newSignInEnv(t, db, dir)
		hireBob(t, dir, e.creds)
		dr := e.svc.DeviceRelease()
		_, token, err := dr.OpenSession(ctx, e.token, Login{User: "bob", PIN: "5927"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := dr.Authorize(ctx, e.token, token); err != nil {
			t.Fatalf("the former bob's session before he left: %v", err)
		}
		hireBob(t, dir, nil)
		if _, _, err := dr.Authorize(ctx, e.token, token); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("the former bob's session once bob is another account: %v, want ErrUnauthorized", err)
		}
	})
}
