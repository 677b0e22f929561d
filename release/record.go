package release

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
)

// Actor describes who causes a change and through what, for the audit
// trail.
type Actor struct {
	// Name is the user or admin; empty means printgate itself.
	Name   string
	Device string
	// Method is how the user proved who they are at the device.
	Method  string
	Printer string
}

func (a Actor) name() string {
	if a.Name == "" {
		return audit.ActorSystem
	}
	return a.Name
}

// eventFor names the audit event of a move from one state to another.
func eventFor(from, to State) string {
	switch to {
	case StateHeld:
		if from == StateReleasing || from == StatePrinting {
			return audit.EventPrintFailed
		}
		return audit.EventHeld
	case StateReleasing:
		return audit.EventReleaseAttempt
	case StatePrinting:
		return audit.EventReleased
	case StateCompleted:
		return audit.EventPrinted
	case StateExpired:
		return audit.EventExpired
	}
	return audit.EventCanceled // canceled, or aborted by printgate
}

// record appends the events of j moving from one state to another inside
// tx; if they cannot be written the change fails with them.
func (s *Service) record(ctx context.Context, tx *gorm.DB, j *Job, from, to State, by Actor, destroyed bool, details map[string]string) error {
	evs := s.moveEvents(j, from, to, by, destroyed, details)
	if _, err := s.audit.AppendBatch(ctx, tx, evs); err != nil {
		return fmt.Errorf("release: audit job %d %s: %w", j.ID, evs[0].Type, err)
	}
	return nil
}

// moveEvents are the audit events of j moving from one state to another:
// the move's, then the document's destruction when the move destroyed it.
func (s *Service) moveEvents(j *Job, from, to State, by Actor, destroyed bool, details map[string]string) []audit.Event {
	ev := stateEvent(j, from, to, by)
	if to == StateCompleted && j.Sensitive == SensitiveMyNumber {
		// The people responsible hear of each one printed.
		details = s.printedSensitive(details)
	}
	for k, v := range details {
		if ev.Details == nil {
			ev.Details = make(map[string]string, len(details))
		}
		ev.Details[k] = v
	}
	evs := []audit.Event{ev}
	if destroyed {
		ev.Type, ev.Outcome, ev.Details = audit.EventDocumentDestroyed, "", nil
		evs = append(evs, ev)
	}
	return evs
}

// stateEvent is the event of j moving from one state to another.
func stateEvent(j *Job, from, to State, by Actor) audit.Event {
	ev := audit.Event{
		Type: eventFor(from, to), JobID: j.ID, Owner: j.Owner, Actor: by.name(), Queue: j.Queue,
		Device: by.Device, Method: by.Method, Printer: by.Printer, Outcome: string(to), Reason: j.Reason,
	}
	if j.appliedRules != "" && (from == StateReleasing || from == StatePrinting) {
		// The print rules that changed what the printer was sent.
		ev.Details = map[string]string{"rules": j.appliedRules}
	}
	return ev
}

// recordSubmitted appends the submission of j and where it went next.
func (s *Service) recordSubmitted(ctx context.Context, tx *gorm.DB, q Queue, j *Job) error {
	if _, err := s.audit.AppendBatch(ctx, tx, submittedEvents(q, j)); err != nil {
		return fmt.Errorf("release: audit job %d submitted: %w", j.ID, err)
	}
	return nil
}

// submittedEvents are the events of j's submission, with everything
// known about it, and of where it went next.
func submittedEvents(q Queue, j *Job) []audit.Event {
	sub := audit.Event{
		Type: audit.EventSubmitted, JobID: j.ID, Owner: j.Owner, Actor: j.Owner, Queue: j.Queue,
		Job: &audit.JobInfo{
			Queue: j.Queue, Owner: j.Owner, ClaimedUser: j.ClaimedUser, ClientAddr: j.ClientAddr,
			DocumentName: orName(j), HideName: hidesName(q, j), Format: j.Format, Size: j.Size, SHA256: j.SHA256,
			Pages: j.Pages, PagesKnown: j.PagesReason == "", PagesReason: j.PagesReason, Copies: j.Copies,
			Sides: j.Sides, ColorMode: j.ColorMode, Media: j.Media, HasJobPIN: j.PasswordHash != "",
			Submitted: j.CreatedAt,
		},
	}
	if j.FormatSupplied != "" || j.OwnerUnknown || j.sensitiveCheck != "" {
		sub.Details = map[string]string{}
	}
	if j.FormatSupplied != "" {
		// The client's word, where the content said otherwise.
		sub.Details["format-supplied"] = j.FormatSupplied
	}
	if j.OwnerUnknown {
		// No directory user is known by the name the job came under.
		sub.Details["owner-unknown"] = "true"
	}
	if j.sensitiveCheck != "" {
		// The document could not be searched for individual numbers.
		sub.Details["my-number-check"] = j.sensitiveCheck
	}
	by := Actor{}
	if j.State == StatePrinting {
		by = Actor{Method: "direct", Printer: q.Printer}
	}
	evs := append([]audit.Event{sub}, sensitiveEvents(q, j)...)
	return append(evs, stateEvent(j, StateIncoming, j.State, by))
}

// orName is the document's name for the record: the document-name the
// client gave, or the job name.
func orName(j *Job) string {
	if j.DocumentName != "" {
		return j.DocumentName
	}
	return j.Name
}
