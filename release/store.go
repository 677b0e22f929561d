package release

import (
	"time"

	"github.com/printgate/printgate/audit"
)

// State is where a job is in its life (ARCHITECTURE.md, "Job states").
type State string

// Job states. Incoming is a Create-Job job still waiting for its document.
const (
	StateIncoming  State = "incoming"
	StateHeld      State = "pending-held"
	StateReleasing State = "releasing"
	StatePrinting  State = "printing"
	StateCompleted State = "completed"
	StateCanceled  State = "canceled"
	StateExpired   State = "expired"
	StateAborted   State = "aborted"
)

// Ended reports whether the job can change no more.
func (s State) Ended() bool {
	switch s {
	case StateCompleted, StateCanceled, StateExpired, StateAborted:
		return true
	}
	return false
}

// Job is a print job as printgate stores it.
type Job struct {
	ID    int64 `gorm:"primaryKey"`
	Queue string
	Owner string
	// OwnerUnknown says no directory user was known by the name the job
	// arrived under: Owner is that name, normalised, and nobody can
	// release the job until an administrator assigns it.
	OwnerUnknown bool
	// ClaimedUser is the requesting-user-name as the client sent it.
	ClaimedUser  string
	ClientAddr   string
	Name         string
	DocumentName string
	Format       string
	State        State
	// Reason is a keyword for the last state change ("printer-unreachable").
	Reason string
	// Message says the same for a person.
	Message   string
	Copies    int
	Sides     string
	ColorMode string
	Media     string
	HoldUntil string
	// PageRanges are the pages to print, as ipp.FormatPageRanges writes
	// them; empty for every page.
	PageRanges string
	// PasswordHash is the argon2id hash of the job-password, if one was set.
	PasswordHash string
	// Spool names the job's encrypted document, empty without one: a
	// spool file, or with DocInDB a row of job_documents (the name is
	// still the one its key is bound to).
	Spool string
	// DocInDB says the document is in the database, in job_documents,
	// rather than in a spool file (docs/PIPELINE.md).
	DocInDB bool `gorm:"column:doc_in_db"`
	// DocSegment, when not zero, says the document is in that segment of
	// the spool (spool.Loc), DocLength sealed bytes from DocOffset: the
	// journal's applier puts documents there (segments.go).
	DocSegment int64 `gorm:"column:doc_segment"`
	DocOffset  int64 `gorm:"column:doc_offset"`
	DocLength  int64 `gorm:"column:doc_length"`
	// WrappedKey is the document's key wrapped by the master key. It is
	// kept apart, in job_keys, so that destroying it deletes one small row
	// instead of leaving copies in every version of the job's row.
	WrappedKey []byte `gorm:"-"`
	Size       int64
	SHA256     []byte
	Pages      int
	// PagesReason says why Pages is unknown (zero) when it is.
	PagesReason string
	// FormatSupplied is the document-format the client declared, when
	// its content made Format another (checkFormat); it goes to the
	// audit record, not to the row.
	FormatSupplied string `gorm:"-"`
	// Printer is where the job was forwarded, PrinterJobID its id there.
	Printer      string
	PrinterJobID int
	// ClaimedBy is the printgate instance forwarding the job.
	ClaimedBy string
	// Device released the job.
	Device string
	// PINFailures counts wrong job PINs.
	PINFailures int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ProcessedAt *time.Time
	CompletedAt *time.Time

	// Sensitive names what the document holds that its queue's policy
	// treats with care (SensitiveMyNumber), or is empty. Never the
	// content itself.
	Sensitive string
	// ContentColor is what its document holds, colour or monochrome
	// (convert.ContentColor), measured with a held job's search; "" when
	// not measured. Color applies it.
	ContentColor audit.Color
	// sensitiveCount and sensitivePages say how many occurrences, on
	// which pages, for the audit event of the submission; sensitiveCheck
	// says why the document could not be inspected.
	sensitiveCount int    `gorm:"-"`
	sensitivePages []int  `gorm:"-"`
	sensitiveCheck string `gorm:"-"`
	// sensitiveNotify is the group its detection event tells.
	sensitiveNotify string `gorm:"-"`

	// appliedRules names the print rules in force when the job was last
	// sent to a printer (release/rules.go), for the events of its print.
	appliedRules string `gorm:"-"`
}

// TableName keeps the table name stable whatever gorm's naming rules do.
func (Job) TableName() string { return "jobs" }

// jobKey is the wrapped key of a job's document, deleted when the document
// is destroyed.
type jobKey struct {
	JobID      int64 `gorm:"primaryKey"`
	WrappedKey []byte
}

func (jobKey) TableName() string { return "job_keys" }

// jobDocument is a small document, encrypted, kept in the database beside
// its job; its key is in job_keys like any other document's.
type jobDocument struct {
	JobID int64 `gorm:"primaryKey"`
	Data  []byte
}

func (jobDocument) TableName() string { return "job_documents" }

// Color is the job's colour class by the one rule (audit.ColorFacts):
// what its document holds where measured, else the mode it asked for.
func (j Job) Color() audit.Color {
	return audit.ColorFacts{Content: j.ContentColor, Requested: j.ColorMode}.Color()
}
