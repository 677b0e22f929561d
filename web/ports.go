package web

import (
	"context"
	"errors"
	"io"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/release/directory"
)

// The console reads jobs and the print record through the small interfaces
// below, which the packages that own them (release, audit) satisfy through
// adapters wired in cmd/printgate. Each is optional: a page whose source is
// nil says that the information is not available.

// ErrNotFound is what a Jobs method returns (wrapped) for a job that does
// not exist or is not the user's; the console answers both alike.
var ErrNotFound = errors.New("web: not found")

// ErrBadCursor is what History returns (wrapped) for a cursor it did not
// hand out, such as one edited in the address bar.
var ErrBadCursor = errors.New("web: bad history cursor")

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
}

// HeldJob is a job waiting for release, as My page and the held-queue
// view show it.
type HeldJob struct {
	ID int64
	// Owner is the user the job belongs to.
	Owner string
	// Name is the document name; when NameHidden, it is the keyed hash
	// the audit trail records, shown to everyone but the owner.
	Name       string
	NameHidden bool
	Queue      string
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
	// History returns a page of job records, newest first; an error
	// wrapping ErrBadCursor for a cursor it did not hand out.
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
	// case-insensitive substring of the document name, or the exact name
	// of a job whose queue hides names.
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
	JobID int64
	User  string
	// Name is the document name; when NameHidden, it is the keyed hash
	// the record holds instead (its queue hides names).
	Name       string
	NameHidden bool
	Queue      string
	Device     string
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
	ActionExport     = "export"
)

// Record reads the print record in depth for the admin and auditor pages:
// one job with its events, the chain check, totals for the charts and
// exports.
type Record interface {
	// Job returns job id's record with its events in order; an error
	// wrapping ErrNotFound when the record has no such job.
	Job(ctx context.Context, id int64) (JobDetail, error)
	// VerifyChain recomputes the audit hash chain over the sequences from
	// to to, both inclusive (to ≤ 0: up to the chain head). A broken chain
	// is a ChainCheck with FirstBad set, not an error.
	VerifyChain(ctx context.Context, from, to int64) (ChainCheck, error)
	// Totals sums the jobs q selects.
	Totals(ctx context.Context, q TotalsQuery) ([]Total, error)
	// Export writes every job record q selects (Limit and Cursor are
	// ignored) to w in format and returns how many it wrote: the same
	// rows that History pages through for q, all pages together, with
	// the same meaning of every field of q. Rows stream to w, oldest
	// submission first.
	Export(ctx context.Context, w io.Writer, q HistoryQuery, format ExportFormat) (int64, error)
}

// ExportFormat is the file format of an export.
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

// JobDetail is one job's full record and the events behind it.
type JobDetail struct {
	HistoryRow
	// ClaimedUser is the name the client sent (requesting-user-name),
	// which may differ from the authenticated User; ClientAddr is the
	// sending client's address.
	ClaimedUser, ClientAddr string
	// Format is the document's MIME type and Size its length in bytes.
	Format string
	Size   int64
	// SHA256 is the document's digest in hex; "" when not recorded.
	SHA256 string
	// PagesKnown says whether Pages was counted; PagesReason says why not.
	PagesKnown  bool
	PagesReason string
	// Sides, ColorMode and Media are the IPP keywords asked for.
	Sides, ColorMode, Media string
	// HasJobPIN says whether the job was protected with a job PIN.
	HasJobPIN bool
	// Impressions is pages × copies, Sheets the sheets of paper.
	Impressions, Sheets int64
	// ReleasedAt, CompletedAt, ExpiredAt and DeletedAt (document
	// destroyed) are zero until it happens.
	ReleasedAt, CompletedAt, ExpiredAt, DeletedAt time.Time
	// Method and Printer say how and where the job was released.
	Method, Printer string
	// Events are the job's events in chain order.
	Events []JobEvent
	// RecordProblem says how the job's record (what history, exports and
	// this page show) differs from the record its events make; "" when
	// it does not. A difference means the record was changed outside
	// printgate.
	RecordProblem string
}

// JobEvent is one event of a job's timeline.
type JobEvent struct {
	// Seq is the event's place in the audit chain, At when it happened.
	Seq int64
	At  time.Time
	// Type is the audit event type ("submitted", "released"...).
	Type string
	// Actor is who caused it: a user, an administrator or "system".
	Actor string
	// Device, Method and Printer say where and how.
	Device, Method, Printer string
	// Outcome and Reason say how an attempt went and why.
	Outcome, Reason string
	// Details are the event's further facts; never secrets.
	Details map[string]string
	// Hash is the event's chain hash in hex.
	Hash string
}

// ChainCheck is the result of VerifyChain.
type ChainCheck struct {
	// From and To are the sequences checked, both inclusive; Checked
	// counts those that verified.
	From, To, Checked int64
	// FirstBad is the first sequence that does not verify, 0 when all
	// do; Reason says why, in the record's own words.
	FirstBad int64
	Reason   string
	// LastHash is the hash (hex) of the last event that verified.
	LastHash string
	// JobsBad counts the job records that differ from their events (a
	// whole-chain check compares them all); Reason then names the first.
	JobsBad int64
}

// OK reports whether every checked event and job record verified.
func (c ChainCheck) OK() bool { return c.FirstBad == 0 && c.JobsBad == 0 }

// GroupBy says what totals are summed per.
type GroupBy string

// Groupings of TotalsQuery; "" gives one grand total.
const (
	GroupByUser   GroupBy = "user"
	GroupByDevice GroupBy = "device"
	// GroupByDay groups by the calendar date of submission, in the
	// record's time zone, as "2006-01-02".
	GroupByDay GroupBy = "day"
)

// TotalsQuery selects the jobs that Totals sums.
type TotalsQuery struct {
	GroupBy GroupBy
	// From (inclusive) and To (exclusive) bound the submission time.
	From, To time.Time
}

// Total sums the jobs of one group.
type Total struct {
	// Key is the user, device or day; "" for a grand total, and for the
	// jobs never released to a device.
	Key string
	// Jobs counts the jobs; PagesUnknown those without a page count.
	Jobs, PagesUnknown int64
	// Pages counts impressions (pages × copies), split into colour and
	// black and white.
	Pages, ColorPages, MonoPages int64
}

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
	AddDevice(ctx context.Context, spec DeviceSpec, by string) (token string, err error)
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

// Device is a registered device as the devices page shows it.
type Device struct {
	// Name identifies the device.
	Name string
	// Printer is where the device's releases print, with any password in
	// it masked.
	Printer string
	// Queues are the queues whose jobs it releases, Methods the sign-in
	// methods it allows ("card", "id+pin", "card+pin").
	Queues  []string
	Methods []string
	// SelfEnroll lets an unknown card be enrolled there with the
	// directory password.
	SelfEnroll bool
	// AllowPlainCredentials lets it send PINs and passwords over plain
	// HTTP from another machine.
	AllowPlainCredentials bool
	// Enabled is false for a device whose token is refused.
	Enabled bool
	// ThrottledUntil is when a device refusing sign-ins after too many
	// failures takes them again; zero when it is not throttled. Refused
	// counts the sign-ins refused so far in the episode.
	ThrottledUntil time.Time
	Refused        int
	// Episodes counts the device-throttled events of the last 30 days,
	// the last of them at LastThrottled.
	Episodes      int
	LastThrottled time.Time
	// CreatedAt and UpdatedAt are when it was registered and last
	// changed.
	CreatedAt, UpdatedAt time.Time
}

// DeviceSpec describes a device to register, with the fields of Device.
type DeviceSpec struct {
	Name                  string
	Printer               string
	Queues                []string
	Methods               []string
	SelfEnroll            bool
	AllowPlainCredentials bool
}
