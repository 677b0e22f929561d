package release

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"

	"gorm.io/gorm"

	"github.com/printgate/printgate/release/printerinfo"
)

// DeviceRelease serves the release API of the devices: a user signs in
// at a device, lists their held jobs there, and releases or cancels them.
// It is a view of the Service, which holds the jobs.
type DeviceRelease struct{ s *Service }

// DeviceRelease returns the Service's verbs for release at a device.
func (s *Service) DeviceRelease() *DeviceRelease { return &DeviceRelease{s} }

// sessionQueues are the device's queues whose jobs sess may see: those
// whose release floor (Queue.ReleaseRequires) admits the session's
// sign-in method. A job of any other queue is as invisible as another
// user's. A release from My page (MethodWeb) sees exactly the queues that
// allow it (Queue.ReleaseFromWeb): that setting is the queue's own word
// that its owners need not be at the printer.
func (d *DeviceRelease) sessionQueues(sess Session, dev Device) []string {
	s := d.s
	var out []string
	for _, name := range dev.QueueList() {
		q, ok := s.queues[name]
		switch {
		case !ok:
		case sess.Method == MethodWeb:
			if q.ReleaseFromWeb {
				out = append(out, name)
			}
		case len(q.ReleaseRequires) == 0 || slices.Contains(q.ReleaseRequires, sess.Method):
			out = append(out, name)
		}
	}
	return out
}

// ownJobs narrows db to the jobs sess sees at dev: its user's, on the
// device's queues its sign-in method may release, and submitted since
// the account was made (Session.OwnedSince): a leaver's held jobs do
// not pass to whoever is given the name next.
func (d *DeviceRelease) ownJobs(db *gorm.DB, sess Session, dev Device) *gorm.DB {
	db = db.Where("owner = ? AND NOT owner_unknown AND queue IN ?", sess.UserName, d.sessionQueues(sess, dev))
	if !sess.OwnedSince.IsZero() {
		db = db.Where("created_at >= ?", sess.OwnedSince)
	}
	return db
}

// Jobs lists the session user's held jobs on the device's queues that
// the session's sign-in method may release. It asks the device's printer
// how it is meanwhile, so that the release that follows finds the answer
// ready.
func (d *DeviceRelease) Jobs(ctx context.Context, sess Session, dev Device) ([]Job, error) {
	s := d.s
	ctx = forOwner(ctx, sess.UserName)
	s.goBackground(func(ctx context.Context) { s.printers.Check(ctx, dev.Printer) })
	if err := s.inspectOwner(ctx, sess.UserName); err != nil {
		return nil, err
	}
	var out []Job
	err := d.ownJobs(s.myNumberFloor(s.db.WithContext(ctx), sess.Method, dev), sess, dev).Omit("wrapped_key", "password_hash").
		Where("state = ?", StateHeld).Order("created_at, id").Find(&out).Error
	if err != nil {
		return nil, dbErr("list held jobs", err)
	}
	// The list needs to know which jobs ask for a PIN, not the hash.
	var pinned []int64
	err = d.ownJobs(s.db.WithContext(ctx).Model(&Job{}), sess, dev).
		Where("state = ? AND password_hash <> ''", StateHeld).Pluck("id", &pinned).Error
	for i := range out {
		if slices.Contains(pinned, out[i].ID) {
			out[i].PasswordHash = "set"
		}
	}
	return out, dbErr("list held jobs", err)
}

// Job returns one of the session user's jobs on the device's
// queues; any other job is ErrNotFound, exactly like a missing one.
func (d *DeviceRelease) Job(ctx context.Context, sess Session, dev Device, id int64) (Job, error) {
	s := d.s
	ctx = forOwner(ctx, sess.UserName)
	if err := s.inspectOwner(ctx, sess.UserName); err != nil {
		return Job{}, err
	}
	var j Job
	err := d.ownJobs(s.myNumberFloor(s.db.WithContext(ctx), sess.Method, dev), sess, dev).Where("id = ?", id).Take(&j).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Job{}, fmt.Errorf("release: job %d: %w", id, ErrNotFound)
	}
	return j, dbErr(fmt.Sprintf("load job %d", id), err)
}

// Cancel cancels a held job of the session user and destroys its
// document.
func (d *DeviceRelease) Cancel(ctx context.Context, sess Session, dev Device, id int64) error {
	j, err := d.Job(ctx, sess, dev, id)
	if err != nil {
		return err
	}
	_, err = d.s.cancel(ctx, j, heldOnly(Actor{Name: sess.UserName, Device: dev.Name, Method: sess.Method},
		"job-canceled-by-user", ErrNotPossible))
	return err
}

// ReleaseRequest names the jobs to release, or all, with job PINs by id.
type ReleaseRequest struct {
	IDs  []int64
	All  bool
	PINs map[int64]string
	// ConfirmReprint names the jobs that may have printed already
	// (ReasonMayHavePrinted) which the user releases all the same; any
	// other such job is not released (Problem "may-have-printed").
	ConfirmReprint []int64
}

// Released is the outcome of releasing one job.
type Released struct {
	ID    int64
	State State
	// Problem says why the job was not released ("job-pin-required").
	Problem string
}

// Release claims the requested jobs for the session's device and prints
// them there, in the background. Each job is claimed with a conditional
// update, so that of several devices or printgate instances releasing the
// same job at once exactly one prints it. A printer that cannot print now
// fails the whole release with a *PrinterUnavailable before anything is
// claimed: the jobs stay held. Once a job is claimed it prints, and
// Release returns no error: a later job that fails is reported with the
// problem "server-error" (problemServerError) beside the jobs that print.
func (d *DeviceRelease) Release(ctx context.Context, sess Session, dev Device, req ReleaseRequest) ([]Released, error) {
	s := d.s
	ctx = forOwner(ctx, sess.UserName)
	if len(req.PINs) > 0 && PlainText(ctx) && !dev.AllowPlainCredentials {
		return nil, fmt.Errorf("release: %s sent job PINs over plain HTTP: %w", dev.Name, ErrNeedsTLS)
	}
	jobs, err := d.releaseTargets(ctx, sess, dev, req)
	if err != nil {
		return nil, err
	}
	by := Actor{Name: sess.UserName, Device: dev.Name, Method: sess.Method, Printer: dev.Printer}
	var printer printerinfo.Info
	if slices.ContainsFunc(jobs, func(j Job) bool { return j.State == StateHeld }) {
		var pu *PrinterUnavailable
		if printer, err = s.checkPrinter(ctx, dev.Printer); errors.As(err, &pu) {
			if rerr := s.refusedForPrinter(context.WithoutCancel(ctx), jobs, by, pu); rerr != nil {
				return nil, rerr
			}
			return nil, err
		}
	}
	out := make([]Released, 0, len(jobs))
	var claimed []Job
	var first *headStart // claimed[0]'s, made ready while it was claimed
	// Whatever ends the loop, the jobs claimed so far print: a claimed
	// job left alone would stay releasing until printgate restarts.
	defer func() { s.deliverClaimed(claimed, dev, by, first) }()
	// failed settles job j's failure err (with problem, if any): before
	// anything is claimed the release fails whole, nothing printed; after,
	// the claimed jobs print all the same, so the answer must say so
	// rather than fail, and j is reported with its problem.
	failed := func(j Job, problem string, err error) error {
		if len(claimed) == 0 {
			return err
		}
		s.log.Error("release: job not released", "job", j.ID, "device", dev.Name, "err", err)
		out = append(out, Released{ID: j.ID, State: j.State, Problem: cmp.Or(problem, problemServerError)})
		return nil
	}
	for _, j := range jobs {
		if j.State != StateHeld {
			out = append(out, Released{ID: j.ID, State: j.State, Problem: "not-held"})
			continue
		}
		confirmed := slices.Contains(req.ConfirmReprint, j.ID)
		if j.Reason == ReasonMayHavePrinted && !confirmed {
			out = append(out, Released{ID: j.ID, State: j.State, Problem: problemMayHavePrinted})
			continue
		}
		if problem, err := s.unhonourable(ctx, &j, printer, by); err != nil || problem != "" {
			if err != nil {
				if err := failed(j, "", err); err != nil {
					return out, err
				}
				continue
			}
			out = append(out, Released{ID: j.ID, State: j.State, Problem: problem})
			continue
		}
		problem, err := d.checkJobPIN(ctx, &j, req.PINs[j.ID], by)
		if err != nil {
			if err := failed(j, problem, err); err != nil {
				return out, err
			}
			continue
		}
		if problem != "" {
			out = append(out, Released{ID: j.ID, State: j.State, Problem: problem})
			continue
		}
		var early *headStart
		if len(claimed) == 0 {
			early = s.startEarly(ctx, j, dev.Printer)
		}
		ok, err := d.claim(ctx, &j, dev, by, confirmed)
		if err != nil || !ok {
			early.discard()
			early = nil
		}
		if err != nil {
			if err := failed(j, "", err); err != nil {
				return out, err
			}
			continue
		}
		if !ok {
			cur, err := d.Job(ctx, sess, dev, j.ID)
			if err != nil {
				if err := failed(j, "", err); err != nil {
					return out, err
				}
				continue
			}
			problem := "already-released"
			if cur.State == StateHeld && cur.Reason == ReasonMayHavePrinted {
				// It failed at another printer meanwhile.
				problem = problemMayHavePrinted
			}
			out = append(out, Released{ID: j.ID, State: cur.State, Problem: problem})
			continue
		}
		out = append(out, Released{ID: j.ID, State: StateReleasing})
		s.delivering.add(j.ID)
		if early != nil {
			first = early
		}
		claimed = append(claimed, j)
	}
	return out, nil
}

// problemServerError is the Released.Problem of a job that a release
// could not release for a fault of the server's (its database, say) after
// it had claimed other jobs, which print: try this one again.
const problemServerError = "server-error"

// deliverClaimed prints the jobs a release claimed, one after another,
// on the device's printer; first is the first job's head start (nil if
// none).
func (s *Service) deliverClaimed(claimed []Job, dev Device, by Actor, first *headStart) {
	if len(claimed) == 0 {
		return
	}
	s.goBackground(func(ctx context.Context) {
		for i, j := range claimed {
			var early *headStart
			if i == 0 {
				early = first
			}
			if err := s.deliver(forOwner(ctx, j.Owner), &j, dev.Printer, by, early); err != nil {
				s.log.Error("release: print", "job", j.ID, "device", dev.Name, "err", err)
			}
			s.delivering.done(j.ID)
		}
	})
	// The delivery waits in this processor's run queue until the release's
	// goroutine blocks, which it does only once its answer is written:
	// yielding lets the delivery write the printer's first byte first,
	// about 0.1 ms sooner (BenchmarkReleaseLatency), and the answer follows.
	runtime.Gosched()
}

// releaseTargets loads the jobs a release request names. Any named job
// that is not the user's on this device's queues fails the whole request
// with ErrNotFound. The owner's jobs still to be searched for individual
// numbers are searched first (inspectOwner), unless every named job was
// found searched: the release of a job its owner saw listed then takes
// one query.
func (d *DeviceRelease) releaseTargets(ctx context.Context, sess Session, dev Device, req ReleaseRequest) ([]Job, error) {
	if !req.All && len(req.IDs) == 0 {
		return nil, fmt.Errorf("release: no jobs named: %w", ErrBadLogin)
	}
	if !req.All {
		jobs, err := d.loadTargets(ctx, sess, dev, req)
		if _, ok := firstMissing(req.IDs, jobs); err != nil || !ok {
			return jobs, err
		}
	}
	if err := d.s.inspectOwner(ctx, sess.UserName); err != nil {
		return nil, err
	}
	jobs, err := d.loadTargets(ctx, sess, dev, req)
	if err != nil {
		return nil, err
	}
	if id, ok := firstMissing(req.IDs, jobs); ok {
		return nil, fmt.Errorf("release: job %d: %w", id, ErrNotFound)
	}
	return jobs, nil
}

// loadTargets reads the jobs req names that the session may release.
func (d *DeviceRelease) loadTargets(ctx context.Context, sess Session, dev Device, req ReleaseRequest) ([]Job, error) {
	s := d.s
	db := d.ownJobs(s.myNumberFloor(s.db.WithContext(ctx), sess.Method, dev), sess, dev)
	if req.All {
		db = db.Where("state = ?", StateHeld)
	} else {
		db = db.Where("id IN ?", req.IDs)
	}
	var jobs []Job
	if err := db.Order("created_at, id").Find(&jobs).Error; err != nil {
		return nil, dbErr("load jobs to release", err)
	}
	return jobs, nil
}

// firstMissing returns the first of ids that no job of jobs has.
func firstMissing(ids []int64, jobs []Job) (int64, bool) {
	for _, id := range ids {
		if !slices.ContainsFunc(jobs, func(j Job) bool { return j.ID == id }) {
			return id, true
		}
	}
	return 0, false
}

// claim moves a held job to releasing for this instance and device.
// Unless confirmed, a job that may have printed is left alone, even one
// that became so since it was read; a confirmed one's audit event says
// it was confirmed.
func (d *DeviceRelease) claim(ctx context.Context, j *Job, dev Device, by Actor, confirmed bool) (bool, error) {
	c := change{from: []State{StateHeld}, to: StateReleasing,
		reason: reasonFor(StateReleasing), by: by,
		claim: &claim{instance: d.s.instance, device: dev.Name, printer: dev.Printer}}
	if d.s.beforeClaim != nil {
		d.s.beforeClaim(j.ID)
	}
	if confirmed {
		c.details = reprintConfirmed(*j)
	} else {
		c.unlessReason = ReasonMayHavePrinted
	}
	return d.s.transition(ctx, j, c)
}
