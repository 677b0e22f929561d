package web

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release"
	"gorm.io/gorm"

	"github.com/printgate/printgate/release/directory"
)

// The console reads jobs and the print record through the small interfaces
// below, in the types of the packages that own them (release, audit):
// *audit.Log is a Record itself, the rest are thin adapters wired in
// cmd/printgate. Each is optional: a page whose source is nil says that
// the information is not available.

// ErrNotFound is what a Jobs method returns (wrapped) for a job that does
// not exist or is not the user's; the console answers both alike.
var ErrNotFound = errors.New("web: not found")

// ErrNoSuchUser is what Jobs.AssignJob returns (wrapped) for a user the
// directory does not know.
var ErrNoSuchUser = errors.New("web: no such user")

// UserLister lists the built-in directory's users (directory.Builtin
// implements it).
type UserLister interface {
	// Users returns every user, by name.
	Users(ctx context.Context) ([]directory.User, error)
}

// Jobs reads and cancels held jobs for My page and for the
// administrators' held-queue view.
type Jobs interface {
	// HeldJobs returns user's jobs waiting for release, newest first.
	HeldJobs(ctx context.Context, user string) ([]HeldJob, error)
	// CancelJob cancels user's held job id and destroys its document; an
	// error wrapping ErrNotFound when user has no such held job. The
	// implementation records the cancellation in the audit trail, as for
	// any other job transition.
	CancelJob(ctx context.Context, user string, id int64) error
	// AllHeldJobs returns every user's jobs waiting for release, oldest
	// first, at most limit of them.
	AllHeldJobs(ctx context.Context, limit int) ([]HeldJob, error)
	// CancelAnyJob cancels the held job id, whoever owns it, on admin's
	// behalf and destroys its document; an error wrapping ErrNotFound
	// when no such job is held. The implementation records the
	// cancellation, with admin as its actor, in the audit trail.
	CancelAnyJob(ctx context.Context, id int64, admin string) error
	// AssignJob gives the held job id, whose owner is unknown, to the
	// directory user to on admin's behalf; an error wrapping ErrNotFound
	// when no such job waits for an owner, ErrNoSuchUser when the
	// directory knows no such user. The implementation records who
	// assigned it, from whom and to whom.
	AssignJob(ctx context.Context, id int64, to, admin string) error
}

// HeldJob is a job waiting for release, as My page and the held-queue
// view show it.
type HeldJob struct {
	ID int64
	// Owner is the user the job belongs to; with OwnerUnknown, the name
	// it arrived under, which no directory user has.
	Owner        string
	OwnerUnknown bool
	// Name is the document name; when NameHidden, it is the keyed hash
	// the audit trail records, shown to everyone but the owner.
	Name       string
	NameHidden bool
	Queue      string
	// Pages counts one copy's pages; 0 when not known.
	Pages  int
	Copies int
	// Color is the job's colour class by the one rule (audit.ColorFacts:
	// its document's content where measured, else the mode it asked for).
	Color audit.Color
	// NeedsPIN reports a job that also asks for its own job PIN at
	// release.
	NeedsPIN bool
	// MyNumber marks a job whose document holds an individual number.
	MyNumber    bool
	SubmittedAt time.Time
	// ExpiresAt is when the job is destroyed unless released.
	ExpiresAt time.Time
}

// History reads the print record for My page and the dashboard. The
// record's own types serve: audit is the source of every row.
type History interface {
	// History returns a page of job records, newest first; an error
	// wrapping audit.ErrBadCursor for a cursor it did not hand out.
	History(ctx context.Context, q audit.HistoryQuery) (audit.HistoryPage, error)
	// Summary sums the jobs submitted in [from, to) and counts the jobs
	// held now.
	Summary(ctx context.Context, from, to time.Time) (Summary, error)
}

// Summary is the dashboard's view of a period.
type Summary struct {
	// Jobs, Pages (impressions) and Failures count the period's jobs.
	Jobs, Pages, Failures int64
	// HeldNow counts jobs waiting for release now, ExpiringSoon those of
	// them that expire within the next hour.
	HeldNow, ExpiringSoon int64
	// MyNumber counts the period's jobs found to hold an individual
	// number.
	MyNumber int64
}

// AuditLog records what people do in the console.
type AuditLog interface {
	// RecordAction appends a to the audit trail within tx, the
	// transaction of the change a records, so that the change and its
	// record commit together or not at all.
	RecordAction(ctx context.Context, tx *gorm.DB, a Action) error
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
	// Details are further facts, such as an export's filters; keys are
	// plain words, never the name of a secret.
	Details map[string]string
	// Method says how, for a sign-in (MethodOIDC); Reason why, for one
	// refused.
	Method, Reason string
	// Remote is the client's address.
	Remote string
	At     time.Time
}

// Action names, the audit package's event types. ActionUnlock lifts the
// PIN lock and the password lock alike, so it is the user's unlock
// (console versions before it wrote "pin-unlocked").
const (
	ActionSetPIN     = audit.EventPINSet
	ActionResetPIN   = audit.EventPINReset
	ActionUnlock     = audit.EventUserUnlocked
	ActionAddCard    = audit.EventCardAdded
	ActionRemoveCard = audit.EventCardRemoved
	ActionExport     = audit.EventExport
)

// Record reads the print record in depth for the admin and auditor pages:
// one job with its events, the chain check, totals for the charts and
// exports. *audit.Log is one.
type Record interface {
	// Job returns job id's record; an error wrapping audit.ErrNotFound
	// when the record has no such job.
	Job(ctx context.Context, id int64) (audit.JobRecord, error)
	// Timeline returns job id's events in chain order (none, and an error
	// wrapping audit.ErrNotFound, once they are purged).
	Timeline(ctx context.Context, id int64) ([]audit.Event, error)
	// CheckJob says how job id's record differs from the record its
	// events make; "" when it does not.
	CheckJob(ctx context.Context, id int64) (string, error)
	// Verify recomputes the audit hash chain over the sequences from to
	// to, both inclusive (to ≤ 0: up to the chain head). A broken chain is
	// a Report that is not OK, not an error.
	Verify(ctx context.Context, from, to int64) (audit.Report, error)
	// Totals sums the jobs q selects.
	Totals(ctx context.Context, q audit.TotalsQuery) ([]audit.Total, error)
	// Export streams every job record (format.Jobs) f selects to w, oldest
	// submission first, and returns how many it wrote.
	Export(ctx context.Context, w io.Writer, f audit.Filter, format audit.Format) (int64, error)
}

// ExportFormat names an export's file format in the history page's links.
type ExportFormat string

// Export formats.
const (
	// ExportCSV is CSV in UTF-8 with a byte order mark, which Excel needs
	// to read Japanese text.
	ExportCSV ExportFormat = "csv"
	// ExportCSVShiftJIS is CSV in Shift_JIS, for older Excel.
	ExportCSVShiftJIS ExportFormat = "csv-sjis"
	// ExportJSONL is JSON Lines: one JSON object a line.
	ExportJSONL ExportFormat = "jsonl"
)

// Devices manages the registered devices (MFPs and release stations).
// Each change is recorded in the audit trail by the implementation, with
// by as its actor.
type Devices interface {
	// Devices lists the registered devices by name.
	Devices(ctx context.Context) ([]Device, error)
	// Queues names the queues a device may be allowed to release.
	Queues() []string
	// AddDevice registers a device and returns its bearer token, which
	// is stored nowhere (only its hash is) and so cannot be shown again.
	AddDevice(ctx context.Context, spec release.DeviceSpec, by string) (token string, err error)
	// RotateToken gives device name a new token and returns it; the old
	// one stops working at once. An error wrapping ErrNotFound when there
	// is no such device.
	RotateToken(ctx context.Context, name, by string) (token string, err error)
	// SetDeviceEnabled enables or disables device name; a disabled
	// device's token is refused. An error wrapping ErrNotFound when there
	// is no such device.
	SetDeviceEnabled(ctx context.Context, name string, enabled bool, by string) error
	// ClearThrottle lets device name sign users in again at once after
	// too many failed sign-ins, recording it with by as actor. An error
	// wrapping ErrNotFound when there is no such device.
	ClearThrottle(ctx context.Context, name, by string) error
}

// Device is a registered device as the devices page shows it: release's
// own row (the page masks a password in its Printer and never shows its
// TokenHash) and how its sign-in throttle stands.
type Device struct {
	release.Device
	// ThrottledUntil is when a device refusing sign-ins after too many
	// failures takes them again; zero when it is not throttled. Refused
	// counts the sign-ins refused so far in the episode.
	ThrottledUntil time.Time
	Refused        int
	// Episodes counts the device-throttled events of the last 30 days,
	// the last of them at LastThrottled.
	Episodes      int
	LastThrottled time.Time
}
