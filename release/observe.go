package release

import (
	"time"

	"github.com/printgate/printgate/audit"
)

// Observer hears of what the audit trail records, once it is committed:
// every move of a job from one state to another, and every failed
// sign-in. Metrics and the job log (packages metrics and joblog) are
// observers; the Service calls them on the goroutine that made the
// change, so they must be quick and must not block. The audit trail stays
// the record: an observer sees only what this process did.
type Observer interface {
	// JobMoved is called after m's change committed.
	JobMoved(m JobMove)
	// SignInFailed is called for each refused sign-in: wrong
	// credentials, a locked or disabled account, or a refusal by the
	// sign-in limits. method is how the user tried: card, id+pin,
	// card+pin at a device, ipp for HTTP Basic on an IPP queue.
	SignInFailed(method string)
}

// JobMove is one committed move of a job.
type JobMove struct {
	// Job is the job after the move. Observers must not change it nor
	// keep it past the call.
	Job *Job
	// From and To are the states before and after; a new job comes From
	// StateIncoming.
	From, To State
	// By is who made the move; zero is printgate itself.
	By Actor
	// HideName says the job's names are hidden (its queue hides them, or
	// its document holds an individual number or is still to be searched
	// for one): Job's names may be in clear until the job ends, and must
	// not be shown.
	HideName bool
	// Since is when the job entered From as far as this process knows
	// (its creation for a submission, its claim for a release); At is
	// when it left it. Both come from the Service's clock.
	Since, At time.Time
}

// Submitted reports whether the move is a new job's: its document stored
// and the job held or sent to print.
func (m JobMove) Submitted() bool {
	return m.From == StateIncoming && (m.To == StateHeld || m.To == StatePrinting)
}

// Failed reports whether the move is a print that failed (the job held
// again) or a job that printgate gave up (aborted).
func (m JobMove) Failed() bool {
	return m.To == StateAborted ||
		(m.To == StateHeld && (m.From == StateReleasing || m.From == StatePrinting))
}

// Device is the device that released the job, if one did.
func (m JobMove) Device() string {
	if m.By.Device != "" {
		return m.By.Device
	}
	return m.Job.Device
}

// Event names the move as the audit trail does ("release-attempt",
// "released", "print-failed", "expired"), but a new job's move is
// "submitted".
func (m JobMove) Event() string {
	if m.Submitted() {
		return audit.EventSubmitted
	}
	return eventFor(m.From, m.To)
}

// Observers calls each of its observers in turn.
type Observers []Observer

var _ Observer = Observers(nil)

// JobMoved tells every observer.
func (o Observers) JobMoved(m JobMove) {
	for _, x := range o {
		x.JobMoved(m)
	}
}

// SignInFailed tells every observer.
func (o Observers) SignInFailed(method string) {
	for _, x := range o {
		x.SignInFailed(method)
	}
}

// jobMoved tells the observer of j's committed move from one state to
// another; since is when j entered from.
func (s *Service) jobMoved(j *Job, from State, by Actor, since time.Time) {
	if s.observer == nil {
		return
	}
	s.observer.JobMoved(JobMove{Job: j, From: from, To: j.State, By: by, HideName: hidesName(s.queues[j.Queue], j),
		Since: since, At: s.now()})
}

// signInFailed tells the observer of a refused sign-in.
func (s *Service) signInFailed(method string) {
	if s.observer != nil {
		s.observer.SignInFailed(method)
	}
}
