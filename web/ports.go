package web

import (
	"context"
	"errors"
	"time"

	"github.com/printgate/printgate/release/directory"
)

// The console reads jobs and the print record through the small interfaces
// below, which the packages that own them (release, audit) satisfy through
// adapters wired in cmd/printgate. Each is optional: a page whose source is
// nil says that the information is not available.

// ErrNotFound is what a Jobs method returns (wrapped) for a job that does
// not exist or is not the user's; the console answers both alike.
var ErrNotFound = errors.New("web: not found")

// UserLister lists the built-in directory's users (directory.Builtin
// implements it).
type UserLister interface {
	// Users returns every user, by name.
	Users(ctx context.Context) ([]directory.User, error)
}

// Jobs reads and cancels held jobs for My page.
type Jobs interface {
	// HeldJobs returns user's jobs waiting for release, newest first.
	HeldJobs(ctx context.Context, user string) ([]HeldJob, error)
	// CancelJob cancels user's held job id and destroys its document; an
	// error wrapping ErrNotFound when user has no such held job. The
	// implementation records the cancellation in the audit trail, as for
	// any other job transition.
	CancelJob(ctx context.Context, user string, id int64) error
}

// HeldJob is a job waiting for release, as My page shows it.
type HeldJob struct {
	ID    int64
	Name  string
	Queue string
	// Pages counts one copy's pages; 0 when not known.
	Pages  int
	Copies int
	Color  bool
	// NeedsPIN reports a job that also asks for its own job PIN at
	// release.
	NeedsPIN    bool
	SubmittedAt time.Time
	// ExpiresAt is when the job is destroyed unless released.
	ExpiresAt time.Time
}

// History reads the print record for My page and the dashboard.
type History interface {
	// History returns a page of job records, newest first.
	History(ctx context.Context, q HistoryQuery) (HistoryPage, error)
	// Summary sums the jobs submitted in [from, to) and counts the jobs
	// held now.
	Summary(ctx context.Context, from, to time.Time) (Summary, error)
}

// HistoryQuery selects a page of job records. Zero fields select
// everything.
type HistoryQuery struct {
	// User selects one owner's jobs; "" every user's.
	User string
	// From (inclusive) and To (exclusive) bound the submission time.
	From, To time.Time
	// Queue, Device and Outcome select by equal value; Name by a
	// substring of the document name.
	Queue, Device, Outcome, Name string
	// Limit is the page size.
	Limit int
	// Cursor continues after the page that returned it as Next.
	Cursor string
}

// HistoryPage is one page of job records.
type HistoryPage struct {
	Rows []HistoryRow
	// Next is the cursor of the following page, "" on the last one.
	Next string
}

// HistoryRow is one job in the record.
type HistoryRow struct {
	JobID  int64
	User   string
	Name   string
	Queue  string
	Device string
	// Pages counts one copy's pages; 0 when not known.
	Pages       int64
	Copies      int64
	Color       bool
	SubmittedAt time.Time
	// Outcome is the job's latest state change: "submitted", "held",
	// "released", "printed", "print-failed", "canceled" or "expired".
	Outcome string
	// Reason is the latest reason given, such as a print failure's.
	Reason string
}

// Summary is the dashboard's view of a period.
type Summary struct {
	// Jobs, Pages (impressions) and Failures count the period's jobs.
	Jobs, Pages, Failures int64
	// HeldNow counts jobs waiting for release now, ExpiringSoon those of
	// them that expire within the next hour.
	HeldNow, ExpiringSoon int64
}

// AuditLog records what people do in the console.
type AuditLog interface {
	// RecordAction appends a to the audit trail. The console calls it
	// before carrying the action out and refuses the action when it
	// fails, so nothing is done unrecorded.
	RecordAction(ctx context.Context, a Action) error
}

// Action is a console action for the audit trail. It never holds a
// secret: no PIN, and a card only by its fingerprint.
type Action struct {
	// Actor is the signed-in user who acts, Role their role then.
	Actor string
	Role  directory.Role
	// Name says what was done: one of the Action* constants.
	Name string
	// Target is the user acted on.
	Target string
	// Detail adds a card's fingerprint where there is one.
	Detail string
	// Remote is the client's address.
	Remote string
	At     time.Time
}

// Action names, the same as the audit package's event types where it has
// one (audit.EventPINSet, EventCardAdded, EventCardRemoved).
const (
	ActionSetPIN     = "pin-set"
	ActionResetPIN   = "pin-reset"
	ActionUnlock     = "pin-unlocked"
	ActionAddCard    = "card-added"
	ActionRemoveCard = "card-removed"
)
