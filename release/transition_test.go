package release

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/spool"
)

// The queues of the transition table: the settings that change what a
// move does to the row, the document and its key.
const (
	qHold    = "hold"    // plain hold queue
	qDirect  = "direct"  // direct queue; jobs held with job-hold-until
	qKeep    = "keep"    // hold queue keeping printed documents for a reprint
	qPayroll = "payroll" // hold queue hiding document names
)

const (
	tableTTL  = time.Hour
	tableKeep = 30 * time.Minute
)

// transitionService returns a started Service over db with the queues of
// the transition table, its audit log and the clock both run on. Its
// documents go where smallDoc says (Options.SmallDocument).
func transitionService(t *testing.T, db *database.DB, smallDoc int) (*Service, *audit.Log, *testenv.Clock) {
	t.Helper()
	clock := testenv.NewClock()
	if err := audit.Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(t.TempDir(), spool.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	log := audit.New(db, audit.Options{Key: bytes.Repeat([]byte{7}, 32), Now: clock.Now})
	svc, err := New(Options{DB: db, Spool: sp, Audit: log, Now: clock.Now, DatabaseID: "TESTDATABASE0002",
		SweepEvery: time.Hour, SmallDocument: smallDoc, Queues: []Queue{
			{Name: qHold, Mode: Hold, TTL: tableTTL},
			{Name: qDirect, Mode: Direct, Printer: "ipp://127.0.0.1:1/ipp/print", TTL: tableTTL},
			{Name: qKeep, Mode: Hold, TTL: tableTTL, KeepAfterPrint: tableKeep},
			{Name: qPayroll, Mode: Hold, TTL: tableTTL, HideNames: true},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc, log, clock
}

// jobIn makes a job of queue in state from: submitted as a client would,
// then (for releasing and printing) moved there as a claim would. Without
// doc an incoming job has no document yet.
func jobIn(t *testing.T, svc *Service, queue string, from State, doc bool) Job {
	t.Helper()
	ctx := t.Context()
	req := ipp.JobRequest{Queue: queue, User: "hanako", Name: "slip", HoldUntil: "indefinite",
		Document: ipp.DocumentInfo{Name: "slip.pdf", Format: "application/pdf"}}
	pdf := func() *bytes.Reader { return bytes.NewReader(testdocs.PDF(1, "slip", testdocs.A4)) }
	var ij ipp.Job
	var err error
	if from == StateIncoming {
		ij, err = svc.IPP().CreateJob(ctx, req)
		if err == nil && doc {
			ij, err = svc.IPP().SendDocument(ctx, ipp.DocumentRequest{JobTarget: ipp.JobTarget{Queue: queue, ID: ij.ID,
				User: "hanako"}, Document: req.Document}, pdf())
		}
	} else {
		ij, err = svc.IPP().PrintJob(ctx, req, pdf())
	}
	if err != nil {
		t.Fatal(err)
	}
	if from == StateReleasing || from == StatePrinting {
		err := svc.db.Model(&Job{}).Where("id = ?", ij.ID).
			Updates(map[string]any{"state": from, "processed_at": svc.now()}).Error
		if err != nil {
			t.Fatal(err)
		}
	}
	j, err := svc.load(ctx, queue, int64(ij.ID))
	if err != nil {
		t.Fatal(err)
	}
	if j.State != from {
		t.Fatalf("set-up: job is %s, want %s", j.State, from)
	}
	return j
}

// documentPlaces are the two places a document may be kept: small ones
// in the database, larger ones (here: all) in spool files.
var documentPlaces = []struct {
	name     string
	smallDoc int
}{{"in the database", 0}, {"in a file", -1}}

// documentStored reports whether the document doc of job id is still
// kept, in the database or as a spool file, and fails t if it is kept in
// the other place than inDB says.
func documentStored(t *testing.T, svc *Service, id int64, doc string, inDB bool) bool {
	t.Helper()
	var rows int64
	if err := svc.db.Model(&jobDocument{}).Where("job_id = ?", id).Count(&rows).Error; err != nil {
		t.Fatal(err)
	}
	_, fileErr := svc.spool.ModTime(doc)
	if file := fileErr == nil; (inDB && file) || (!inDB && rows > 0) {
		t.Errorf("document of job %d: %d rows in the database, file %v; want it only in the database: %v", id, rows, fileErr, inDB)
	}
	return rows == 1 || fileErr == nil
}

// eventTypes lists the types of job id's events from sequence number
// after on.
func eventTypes(t *testing.T, log *audit.Log, id, after int64) (types []string, last int64) {
	t.Helper()
	last = after
	for ev, err := range log.Events(t.Context(), audit.Filter{JobID: id, FromSeq: after + 1}) {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.Type)
		last = max(last, ev.Seq)
	}
	return types, last
}

// transitionCase is one row of TestTransitions.
type transitionCase struct {
	name  string
	queue string
	from  State
	// noDoc: an incoming job whose document never came.
	noDoc bool
	// allowed are the states the caller moves from (default: from).
	allowed []State
	to      State
	reason  string
	by      Actor
	// sweepAfter, when set, moves the clock on this far and lets the
	// sweeper make the move instead of a call.
	sweepAfter time.Duration

	won       bool
	state     State
	events    []string
	keepDoc   bool
	keyed     bool
	processed bool
}

// TestTransitions runs every move of the job state machine, as its callers
// make it, on both databases and on an injected clock: the row afterwards,
// the audit events appended, and whether the document and its key remain.
func TestTransitions(t *testing.T) {
	user := Actor{Name: "hanako"}
	device := Actor{Name: "hanako", Device: "mfp", Method: MethodCard, Printer: "ipp://127.0.0.1:1/ipp/print"}
	cases := []transitionCase{
		{name: "closed job held", queue: qHold, from: StateIncoming, to: StateHeld, by: user, won: true,
			state: StateHeld, events: []string{audit.EventSubmitted, audit.EventHeld}, keepDoc: true},
		{name: "closed job printed at once", queue: qDirect, from: StateIncoming, to: StatePrinting, by: user,
			won: true, state: StatePrinting, events: []string{audit.EventSubmitted, audit.EventReleased},
			keepDoc: true, processed: true},
		{name: "closed without document", queue: qHold, from: StateIncoming, noDoc: true, to: StateAborted,
			by: user, won: true, state: StateAborted, events: []string{audit.EventCanceled}},
		{name: "incoming canceled", queue: qHold, from: StateIncoming, allowed: []State{StateIncoming, StateHeld},
			to: StateCanceled, reason: "job-canceled-by-user", by: user, won: true, state: StateCanceled,
			events: []string{audit.EventCanceled, audit.EventDocumentDestroyed}},
		{name: "abandoned incoming aborted", queue: qHold, from: StateIncoming, sweepAfter: incomingTimeout + time.Second,
			reason: "job-incomplete", won: true, state: StateAborted,
			events: []string{audit.EventCanceled, audit.EventDocumentDestroyed}},
		{name: "incoming not yet abandoned", queue: qHold, from: StateIncoming, sweepAfter: incomingTimeout - time.Second,
			state: StateIncoming, keepDoc: true},
		{name: "held canceled", queue: qHold, from: StateHeld, to: StateCanceled, reason: "job-canceled-by-user",
			by: user, won: true, state: StateCanceled, events: []string{audit.EventCanceled, audit.EventDocumentDestroyed}},
		{name: "held canceled by operator", queue: qDirect, from: StateHeld, to: StateCanceled,
			reason: "job-canceled-by-operator", by: Actor{Name: "admin"}, won: true, state: StateCanceled,
			events: []string{audit.EventCanceled, audit.EventDocumentDestroyed}},
		{name: "held canceled, names hidden", queue: qPayroll, from: StateHeld, to: StateCanceled,
			reason: "job-canceled-by-user", by: user, won: true, state: StateCanceled,
			events: []string{audit.EventCanceled, audit.EventDocumentDestroyed}, keyed: true},
		{name: "held expired", queue: qHold, from: StateHeld, sweepAfter: tableTTL + time.Second, reason: "job-expired",
			won: true, state: StateExpired, events: []string{audit.EventExpired, audit.EventDocumentDestroyed}},
		{name: "held expired, names hidden", queue: qPayroll, from: StateHeld, sweepAfter: tableTTL + time.Second,
			reason: "job-expired", won: true, state: StateExpired,
			events: []string{audit.EventExpired, audit.EventDocumentDestroyed}, keyed: true},
		{name: "held not yet expired", queue: qHold, from: StateHeld, sweepAfter: tableTTL - time.Second,
			state: StateHeld, keepDoc: true},
		{name: "held claimed at a device", queue: qHold, from: StateHeld, to: StateReleasing, by: device, won: true,
			state: StateReleasing, events: []string{audit.EventReleaseAttempt}, keepDoc: true, processed: true},
		{name: "held released by Release-Job", queue: qDirect, from: StateHeld, to: StatePrinting, by: user,
			won: true, state: StatePrinting, events: []string{audit.EventReleased}, keepDoc: true, processed: true},
		{name: "releasing sent to the printer", queue: qHold, from: StateReleasing, to: StatePrinting, by: device,
			won: true, state: StatePrinting, events: []string{audit.EventReleased}, keepDoc: true, processed: true},
		{name: "printed", queue: qHold, from: StatePrinting, to: StateCompleted, by: device, won: true,
			state: StateCompleted, events: []string{audit.EventPrinted, audit.EventDocumentDestroyed}, processed: true},
		{name: "printed, kept for a reprint", queue: qKeep, from: StatePrinting, to: StateCompleted, by: device,
			won: true, state: StateCompleted, events: []string{audit.EventPrinted}, keepDoc: true, processed: true},
		{name: "printed, names hidden", queue: qPayroll, from: StatePrinting, to: StateCompleted, by: device,
			won: true, state: StateCompleted, events: []string{audit.EventPrinted, audit.EventDocumentDestroyed},
			keyed: true, processed: true},
		{name: "print failed while printing", queue: qHold, from: StatePrinting,
			allowed: []State{StateReleasing, StatePrinting}, to: StateHeld, reason: "printer-aborted", by: device,
			won: true, state: StateHeld, events: []string{audit.EventPrintFailed}, keepDoc: true},
		{name: "print failed while sending", queue: qKeep, from: StateReleasing,
			allowed: []State{StateReleasing, StatePrinting}, to: StateHeld, reason: "printer-unreachable", by: device,
			won: true, state: StateHeld, events: []string{audit.EventPrintFailed}, keepDoc: true},
		{name: "claim lost to another", queue: qHold, from: StateReleasing, allowed: []State{StateHeld},
			to: StateReleasing, by: device, state: StateReleasing, keepDoc: true, processed: true},
		{name: "cancel after printing began", queue: qHold, from: StatePrinting, allowed: []State{StateHeld},
			to: StateCanceled, by: user, state: StatePrinting, keepDoc: true, processed: true},
		{name: "expiry lost to a claim", queue: qHold, from: StatePrinting, sweepAfter: tableTTL + time.Second,
			state: StatePrinting, keepDoc: true, processed: true},
	}
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		for _, place := range documentPlaces {
			t.Run(place.name, func(t *testing.T) { transitionTable(t, db, place.smallDoc, cases) })
		}
	})
}

// transitionTable runs the cases of TestTransitions on db.
func transitionTable(t *testing.T, db *database.DB, smallDoc int, cases []transitionCase) {
	svc, log, clock := transitionService(t, db, smallDoc)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			j := jobIn(t, svc, c.queue, c.from, !c.noDoc)
			_, seq := eventTypes(t, log, j.ID, 0)
			doc := j.Spool
			won := false
			if c.sweepAfter > 0 {
				clock.Advance(c.sweepAfter)
				if err := svc.SweepOnce(ctx); err != nil {
					t.Fatal(err)
				}
				var row Job
				if err := db.Where("id = ?", j.ID).Take(&row).Error; err != nil {
					t.Fatal(err)
				}
				won = row.State != c.from
			} else {
				reason := orDefault(c.reason, reasonFor(c.to))
				var err error
				won, err = svc.transition(ctx, &j, change{from: fromOr(c.allowed, c.from), to: c.to,
					reason: reason, by: c.by})
				if err != nil {
					t.Fatal(err)
				}
			}
			if won != c.won {
				t.Errorf("won = %v, want %v", won, c.won)
			}
			at := clock.Now()

			var row Job
			if err := db.Where("id = ?", j.ID).Take(&row).Error; err != nil {
				t.Fatal(err)
			}
			if row.State != c.state {
				t.Errorf("state %s, want %s", row.State, c.state)
			}
			if c.won && row.Reason != orDefault(c.reason, reasonFor(c.state)) {
				t.Errorf("reason %q, want %q", row.Reason, orDefault(c.reason, reasonFor(c.state)))
			}
			if c.won && !row.UpdatedAt.Equal(at) {
				t.Errorf("updated_at %v, want the clock's %v", row.UpdatedAt, at)
			}
			switch {
			case c.state.Ended() && (row.CompletedAt == nil || !row.CompletedAt.Equal(at)):
				t.Errorf("completed_at %v, want the clock's %v", row.CompletedAt, at)
			case !c.state.Ended() && row.CompletedAt != nil:
				t.Errorf("live job has completed_at %v", row.CompletedAt)
			}
			if (row.ProcessedAt != nil) != c.processed {
				t.Errorf("processed_at %v, want set: %v", row.ProcessedAt, c.processed)
			}
			keyedJob, _ := log.KeyedName("slip")
			if hidden := row.Name == keyedJob && row.Name != "slip"; hidden != c.keyed {
				t.Errorf("row keeps the name %q; keyed: %v, want %v", row.Name, hidden, c.keyed)
			}

			var keys int64
			db.Model(&jobKey{}).Where("job_id = ?", j.ID).Count(&keys)
			stored := documentStored(t, svc, j.ID, doc, smallDoc >= 0)
			hasDoc := !c.noDoc
			remains := hasDoc && c.keepDoc
			if got := row.Spool != ""; got != remains {
				t.Errorf("row names a document: %v, want %v", got, remains)
			}
			if got := keys == 1; got != remains {
				t.Errorf("key remains: %v, want %v", got, remains)
			}
			if hasDoc && stored != remains {
				t.Errorf("document remains: %v, want %v", stored, remains)
			}

			events, _ := eventTypes(t, log, j.ID, seq)
			if !slices.Equal(events, c.events) {
				t.Errorf("events %v, want %v", events, c.events)
			}
			// Leave the clock where the next row's TTL starts afresh.
			clock.Advance(time.Minute)
		})
	}
	if rep, err := log.Verify(t.Context(), 0, 0); err != nil || rep.FirstBad != 0 {
		t.Errorf("audit chain after the table: %+v, %v", rep, err)
	}
}

// TestReprintWindow keeps a printed document for the queue's reprint
// window, on the clock, and destroys it and its key once the window has
// passed.
func TestReprintWindow(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		for _, place := range documentPlaces {
			t.Run(place.name, func(t *testing.T) { reprintWindow(t, db, place.smallDoc) })
		}
	})
}

// reprintWindow runs TestReprintWindow on db.
func reprintWindow(t *testing.T, db *database.DB, smallDoc int) {
	svc, log, clock := transitionService(t, db, smallDoc)
	ctx := t.Context()
	j := jobIn(t, svc, qKeep, StatePrinting, true)
	doc := j.Spool
	if ok, err := svc.transition(ctx, &j, change{from: []State{StatePrinting}, to: StateCompleted,
		reason: reasonFor(StateCompleted), by: Actor{Name: "hanako"}}); err != nil || !ok {
		t.Fatalf("print: %v, %v", ok, err)
	}
	_, seq := eventTypes(t, log, j.ID, 0)
	for _, step := range []struct {
		advance time.Duration
		kept    bool
		events  []string
	}{
		{0, true, nil},
		{tableKeep - time.Second, true, nil},
		{2 * time.Second, false, []string{audit.EventDocumentDestroyed}},
		{DefaultKeepFinished, false, nil}, // the row itself is purged now
	} {
		clock.Advance(step.advance)
		if err := svc.SweepOnce(ctx); err != nil {
			t.Fatal(err)
		}
		var keys, rows int64
		db.Model(&jobKey{}).Where("job_id = ?", j.ID).Count(&keys)
		db.Model(&Job{}).Where("id = ? AND spool <> ''", j.ID).Count(&rows)
		stored := documentStored(t, svc, j.ID, doc, smallDoc >= 0)
		if kept := keys == 1 && rows == 1 && stored; kept != step.kept {
			t.Errorf("after %v more: key %d, row with document %d, document stored %v; want kept: %v",
				step.advance, keys, rows, stored, step.kept)
		}
		var events []string
		events, seq = eventTypes(t, log, j.ID, seq)
		if !slices.Equal(events, step.events) {
			t.Errorf("after %v more: events %v, want %v", step.advance, events, step.events)
		}
	}
	var left int64
	db.Model(&Job{}).Where("id = ?", j.ID).Count(&left)
	if left != 0 {
		t.Errorf("the printed job's row outlived keep_finished")
	}
}

// deviceSession returns a service with a device and a session on it,
// last used now by the returned clock, and their tokens.
func deviceSession(t *testing.T, db *database.DB) (svc *Service, clock *testenv.Clock, devToken, token string) {
	t.Helper()
	svc, _, clock = transitionService(t, db, 0)
	sessionDirectory(t, svc, db) // each use of a session looks its user up
	_, devToken, err := svc.Admin().AddDevice(t.Context(), DeviceSpec{Name: "mfp", Printer: "ipp://127.0.0.1:1/ipp/print",
		Queues: []string{qHold}, Methods: []string{MethodCard}}, "admin")
	if err != nil {
		t.Fatal(err)
	}
	token, hash := newToken("pgs_")
	var dev Device
	db.Where("name = ?", "mfp").Take(&dev)
	if err := db.Create(&Session{TokenHash: hash, DeviceID: dev.ID, UserName: "hanako", Method: MethodCard,
		CreatedAt: clock.Now(), LastSeen: clock.Now()}).Error; err != nil {
		t.Fatal(err)
	}
	return svc, clock, devToken, token
}

// TestSessionIdle ends a device session unused for the idle timeout, on
// the clock; each use starts the timeout again.
func TestSessionIdle(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, clock, devToken, token := deviceSession(t, db)
		ctx := t.Context()
		for _, step := range []struct {
			advance time.Duration
			live    bool
		}{
			{svc.sessionIdle - time.Second, true},
			{svc.sessionIdle, true}, // used a moment ago: idle exactly the timeout
			{svc.sessionIdle + time.Second, false},
		} {
			clock.Advance(step.advance)
			_, _, err := svc.DeviceRelease().Session(ctx, devToken, token)
			if live := err == nil; live != step.live {
				t.Fatalf("after %v idle: live %v (%v), want %v", step.advance, live, err, step.live)
			}
		}
	})
}

// orDefault is s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fromOr is allowed, or only from when allowed is empty.
func fromOr(allowed []State, from State) []State {
	if len(allowed) == 0 {
		return []State{from}
	}
	return allowed
}

// TestSessionAuthorizeThenTouch: Authorize checks a session without
// starting its idle time again, as a release does before its work; Touch
// then starts it again.
func TestSessionAuthorizeThenTouch(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, clock, devToken, token := deviceSession(t, db)
		ctx := t.Context()
		d := svc.DeviceRelease()
		clock.Advance(svc.sessionIdle - time.Second)
		sess, _, err := d.Authorize(ctx, devToken, token)
		if err != nil {
			t.Fatalf("Authorize within the timeout: %v", err)
		}
		clock.Advance(2 * time.Second)
		if _, _, err := d.Authorize(ctx, devToken, token); err == nil {
			t.Fatal("Authorize started the idle time again: the session lives past its timeout")
		}
		if err := d.Touch(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if _, _, err := d.Authorize(ctx, devToken, token); err != nil {
			t.Errorf("after Touch the session is still idle: %v", err)
		}
	})
}
