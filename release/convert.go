package release

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
