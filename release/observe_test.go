package release

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// recorder is an Observer that keeps what it hears.
type recorder struct {
	mu     sync.Mutex
	moves  []JobMove
	failed []string
}

func (r *recorder) JobMoved(m JobMove) {
	r.mu.Lock()
	defer r.mu.Unlock()
	j := *m.Job
	m.Job = &j // observers must not keep the caller's job
	r.moves = append(r.moves, m)
}

func (r *recorder) SignInFailed(method string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, method)
}

// take returns the moves heard since the last take.
func (r *recorder) take() []JobMove {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.moves
	r.moves = nil
	return out
}

// TestObserver: the observer hears each committed move once, with its
// states, its time and how long the job spent in the state it left; a
// move that lost its race, or a submission refused, is not heard.
func TestObserver(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		clock := testenv.NewClock()
		rec := &recorder{}
		svc, _ := startService(t, db, Options{Now: clock.Now, Observer: rec, Queues: []Queue{
			{Name: qHold, Mode: Hold, MaxSize: 1 << 20},
			{Name: qPayroll, Mode: Hold, HideNames: true, MaxSize: 1 << 20},
		}})
		ctx := t.Context()
		pdf := testdocs.PDF(2, "observed", testdocs.A4)
		req := ipp.JobRequest{Queue: qHold, User: "hanako", Name: "slip",
			Document: ipp.DocumentInfo{Name: "slip.pdf", Format: "application/pdf"}}

		ij, err := svc.IPP().PrintJob(ctx, req, bytes.NewReader(pdf))
		if err != nil {
			t.Fatal(err)
		}
		got := rec.take()
		if len(got) != 1 || got[0].From != StateIncoming || got[0].To != StateHeld || !got[0].Submitted() ||
			got[0].Job.ID != int64(ij.ID) || got[0].Job.Pages != 2 || got[0].HideName || !got[0].At.Equal(clock.Now()) {
			t.Fatalf("Print-Job heard as %+v", got)
		}

		// Create-Job is heard once its last document is stored.
		hidden := req
		hidden.Queue = qPayroll
		cj, err := svc.IPP().CreateJob(ctx, hidden)
		if err != nil {
			t.Fatal(err)
		}
		if got := rec.take(); len(got) != 0 {
			t.Fatalf("Create-Job heard before its document: %+v", got)
		}
		clock.Advance(2 * time.Second)
		_, err = svc.IPP().SendDocument(ctx, ipp.DocumentRequest{JobTarget: ipp.JobTarget{Queue: qPayroll, ID: cj.ID, User: "hanako"},
			Document: hidden.Document, Last: true}, bytes.NewReader(pdf))
		if err != nil {
			t.Fatal(err)
		}
		got = rec.take()
		if len(got) != 1 || !got[0].Submitted() || !got[0].HideName || got[0].At.Sub(got[0].Since) != 2*time.Second {
			t.Fatalf("Send-Document heard as %+v", got)
		}

		// A claim, then the printer taking the job 3 s later.
		j, err := svc.load(ctx, qHold, int64(ij.ID))
		if err != nil {
			t.Fatal(err)
		}
		dev := Actor{Name: "hanako", Device: "mfp1", Method: MethodCard}
		c := change{from: []State{StateHeld}, to: StateReleasing, by: dev, claim: &claim{instance: "local", device: "mfp1"}}
		if ok, err := svc.transition(ctx, &j, c); !ok || err != nil {
			t.Fatalf("claim: %v %v", ok, err)
		}
		claimed := clock.Now()
		clock.Advance(3 * time.Second)
		lost := j
		if ok, err := svc.transition(ctx, &j, change{from: []State{StateReleasing}, to: StatePrinting, by: dev}); !ok || err != nil {
			t.Fatalf("printing: %v %v", ok, err)
		}
		if ok, _ := svc.transition(ctx, &lost, change{from: []State{StateReleasing}, to: StateHeld, by: dev}); ok {
			t.Fatal("a second move from releasing won")
		}
		got = rec.take()
		var steps []string
		for _, m := range got {
			steps = append(steps, string(m.From)+">"+string(m.To))
		}
		if want := []string{"pending-held>releasing", "releasing>printing"}; !slices.Equal(steps, want) {
			t.Fatalf("moves heard %v, want %v", steps, want)
		}
		if p := got[1]; !p.Since.Equal(claimed) || p.At.Sub(p.Since) != 3*time.Second || p.Device() != "mfp1" || p.Event() != "released" {
			t.Errorf("releasing>printing heard with since %v, took %v, device %q, event %q", p.Since, p.At.Sub(p.Since), p.Device(), p.Event())
		}

		// A document over the queue's limit is refused, and not heard.
		big := req
		if _, err := svc.IPP().PrintJob(ctx, big, bytes.NewReader(make([]byte, 2<<20))); err == nil {
			t.Fatal("an oversized document was accepted")
		}
		if got := rec.take(); len(got) != 0 {
			t.Errorf("a refused submission was heard: %+v", got)
		}
	})
}
