package release

import (
	"time"

	"github.com/printgate/printgate/ipp"
)

// reasonFor is the job-state-reasons keyword a state starts with.
func reasonFor(s State) string {
	switch s {
	case StateIncoming:
		return "job-incoming"
	case StateHeld:
		return "job-hold-until-specified"
	case StateReleasing:
		return "job-queued"
	case StatePrinting:
		return "job-printing"
	case StateCompleted:
		return "job-completed-successfully"
	case StateCanceled:
		return "job-canceled-by-user"
	case StateExpired, StateAborted:
		return "aborted-by-system"
	}
	return ""
}

// ippState maps a job state to IPP's.
func ippState(s State) ipp.JobState {
	switch s {
	case StateIncoming, StateHeld:
		return ipp.JobHeld
	case StateReleasing:
		return ipp.JobPending
	case StatePrinting:
		return ipp.JobProcessing
	case StateCompleted:
		return ipp.JobCompleted
	case StateCanceled:
		return ipp.JobCanceled
	}
	return ipp.JobAborted
}

// IPP returns j as IPP presents it.
func (j Job) IPP() ipp.Job {
	reasons := []string{}
	if j.Reason != "" {
		reasons = append(reasons, j.Reason)
	}
	return ipp.Job{
		ID:          int(j.ID),
		Queue:       j.Queue,
		Name:        j.Name,
		Owner:       j.Owner,
		State:       ippState(j.State),
		Reasons:     reasons,
		Message:     j.Message,
		Created:     j.CreatedAt,
		Processed:   deref(j.ProcessedAt),
		Completed:   deref(j.CompletedAt),
		Format:      j.Format,
		Size:        j.Size,
		Pages:       j.Pages,
		Copies:      j.Copies,
		Sides:       j.Sides,
		ColorMode:   j.ColorMode,
		Media:       j.Media,
		HoldUntil:   j.HoldUntil,
		HasPassword: j.PasswordHash != "",
		Incoming:    j.State == StateIncoming,
	}
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
