package ipp

// JobState is an IPP job-state value (RFC 8011 §5.3.7).
type JobState int

// Job states as numbered on the wire.
const (
	JobPending    JobState = 3
	JobHeld       JobState = 4
	JobProcessing JobState = 5
	JobStopped    JobState = 6
	JobCanceled   JobState = 7
	JobAborted    JobState = 8
	JobCompleted  JobState = 9
)

// Terminal reports whether no further state change can happen.
func (s JobState) Terminal() bool { return s >= JobCanceled }

// String returns the RFC 8011 keyword for s.
func (s JobState) String() string {
	switch s {
	case JobPending:
		return "pending"
	case JobHeld:
		return "pending-held"
	case JobProcessing:
		return "processing"
	case JobStopped:
		return "processing-stopped"
	case JobCanceled:
		return "canceled"
	case JobAborted:
		return "aborted"
	case JobCompleted:
		return "completed"
	}
	return "unknown"
}
