package ipp

import (
	"context"
	"errors"
	"io"
	"iter"
	"net/http"
	"time"
)

// Backend is what the Server needs from the rest of printgate: the queues,
// the jobs and their documents. Methods return the sentinel errors below
// (wrapped or inside a Refusal) so the Server can answer with the right
// status code; any other error is answered as an internal server error.
type Backend interface {
	// Printer describes the queue named name, or returns ErrNotFound.
	Printer(ctx context.Context, name string) (Printer, error)
	// QueuedJobs counts the jobs of queue name that have not ended.
	QueuedJobs(ctx context.Context, name string) (int, error)
	// Authenticate identifies the sender of r to queue p before any byte of
	// the request body is read. It returns ErrUnauthenticated when the
	// client must send (other) credentials, ErrForbidden when it may not
	// use the queue at all.
	Authenticate(ctx context.Context, r *http.Request, p Printer) (Principal, error)
	// CreateJob makes a job that waits for its document (Create-Job).
	CreateJob(ctx context.Context, req JobRequest) (Job, error)
	// PrintJob makes a job and stores its document (Print-Job).
	PrintJob(ctx context.Context, req JobRequest, doc io.Reader) (Job, error)
	// SendDocument stores the document of a job made by CreateJob.
	SendDocument(ctx context.Context, req DocumentRequest, doc io.Reader) (Job, error)
	// CloseJob ends a job made by CreateJob that will get no document.
	CloseJob(ctx context.Context, t JobTarget) (Job, error)
	// Job returns one job of queue, or ErrNotFound.
	Job(ctx context.Context, queue string, id int) (Job, error)
	// Jobs lists jobs of a queue in a stable order: by job ID, newest
	// first for completed jobs, oldest first otherwise. An error ends
	// the sequence; the Server stops reading when it has enough.
	Jobs(ctx context.Context, q JobQuery) iter.Seq2[Job, error]
	// CancelJob cancels a job that has not ended.
	CancelJob(ctx context.Context, t JobTarget) (Job, error)
	// CancelMyJobs cancels every job of t.User on t.Queue that has not ended,
	// limited to ids when ids is not empty.
	CancelMyJobs(ctx context.Context, t JobTarget, ids []int) ([]Job, error)
	// HoldJob holds a pending job (Hold-Job).
	HoldJob(ctx context.Context, t JobTarget, until string) (Job, error)
	// ReleaseJob releases a held job (Release-Job).
	ReleaseJob(ctx context.Context, t JobTarget) (Job, error)
}

// UserMapper is a Backend that says who a requesting-user-name stands for
// on queues that trust it (Principal.Name empty): the Server asks once per
// request, before the operation runs, and acts as the user it names:
// that user owns new jobs and is the one whose jobs Cancel-Job, Get-Jobs
// my-jobs and Send-Document accept. JobRequest.ClaimedUser keeps the name
// the client sent.
type UserMapper interface {
	// MapUser returns the user claimed stands for, claimed itself when
	// nobody is known by it; an error fails the request as any Backend
	// error does.
	MapUser(ctx context.Context, p Printer, claimed string) (string, error)
}

// NameFilter is a Backend that rewrites the names a client gives a job
// (job-name, document-name) before the Server checks their length and
// cuts those past IPP's 255 octets: what the filter removes (release
// masks individual numbers) must be found in the whole name, since a cut
// through it would leave part of it where no later filter could tell it
// from any other digits. The Server then replaces control characters
// itself.
type NameFilter interface {
	// FilterName returns name as a job may keep it.
	FilterName(name string) string
}

// Sentinel errors a Backend returns; the Server maps each to its IPP status.
var (
	ErrNotFound        = errors.New("not found")
	ErrNotPossible     = errors.New("not possible")
	ErrNotAuthorized   = errors.New("not authorized")
	ErrForbidden       = errors.New("forbidden")
	ErrUnauthenticated = errors.New("not authenticated")
	ErrTooLarge        = errors.New("document too large")
	ErrFormat          = errors.New("document format not supported")
	ErrBadRequest      = errors.New("bad request")
	ErrNotAccepting    = errors.New("not accepting jobs")
	ErrUnavailable     = errors.New("service unavailable")
	ErrBusy            = errors.New("busy")
	// ErrMultipleDocuments refuses a second document for one job.
	ErrMultipleDocuments = errors.New("multiple documents per job not supported")
	// ErrFormatError refuses a document whose content is not in the
	// format it was sent as, or in none that can be recognised.
	ErrFormatError = errors.New("document content not in its format")
)

// Refusal is an error carrying a message that is safe to show the client as
// status-message; Err selects the status code.
type Refusal struct {
	Err     error
	Message string
}

// Refuse returns a Refusal of kind err with a message for the client.
func Refuse(err error, message string) error { return &Refusal{Err: err, Message: message} }

func (r *Refusal) Error() string { return r.Message + ": " + r.Err.Error() }

// Unwrap returns the sentinel error of the refusal.
func (r *Refusal) Unwrap() error { return r.Err }

// Printer describes one queue as IPP presents it.
type Printer struct {
	// Name is the queue name, the last element of the printer URI path.
	Name string
	// Info, Location and MakeAndModel are shown to users in print dialogs.
	Info, Location, MakeAndModel string
	// Hold is true when every job is held for release at a device.
	Hold bool
	// Accepting is false when new jobs are refused.
	Accepting bool
	// Reason is the printer-state-reasons keyword while not accepting
	// ("spool-area-full"); default "paused".
	Reason string
	// Formats are the accepted document formats; the first is the default.
	Formats []string
	// MaxSize is the largest accepted document in bytes.
	MaxSize int64
	// Color is true when the queue's printers print in colour.
	Color bool
	// Auth names the authentication the queue asks for: "basic" or
	// "requesting-user-name".
	Auth string
	// Caps are what the queue's printers can do; zero fields take the
	// Server's defaults.
	Caps Capabilities
}

// Capabilities are what the printers behind a queue can print, as the
// queue advertises them. A nil or zero field means nothing is known and
// the Server advertises its defaults (see printer.go).
type Capabilities struct {
	// Media are media-supported, PWG 5101.1 self-describing names; those
	// whose size cannot be read from the name are left out of
	// media-col-database and media-size-supported.
	Media []string
	// MediaReady is media-ready: what is loaded; MediaDefault
	// media-default.
	MediaReady   []string
	MediaDefault string
	// Sides is sides-supported.
	Sides []string
	// Resolutions is printer-resolution-supported and RasterResolutions
	// pwg-raster-document-resolution-supported, in dots per inch.
	Resolutions, RasterResolutions []int
	// URF is urf-supported.
	URF []string
	// PageRanges is page-ranges-supported.
	PageRanges bool
	// CopiesMax is the upper bound of copies-supported.
	CopiesMax int
	// Supplies are the printers' printer-supply values with their
	// printer-supply-description, in the same order; Markers their
	// markers, for the marker-* attributes.
	Supplies []Supply
	Markers  []Marker
	// RasterTypes is pwg-raster-document-type-supported and
	// RasterSheetBack pwg-raster-document-sheet-back.
	RasterTypes     []string
	RasterSheetBack string
}

// Marker is one marker (toner, ink) of a printer, as the marker-*
// attributes list it.
type Marker struct {
	Name, Type, Color string
	// Level, Low and High are percentages (Level -2: unknown).
	Level, Low, High int
}

// Supply is one marker supply of a printer (PWG 5100.13 printer-supply).
type Supply struct {
	// Value is the printer-supply octetString, as
	// "index=1;class=supplyThatIsConsumed;type=toner;...".
	Value string
	// Description is printer-supply-description.
	Description string
}

// Principal is who sent a request.
type Principal struct {
	// Name is the user name; empty when the Backend trusts the request's
	// requesting-user-name instead.
	Name string
	// Addr is the client's network address.
	Addr string
	// Since, when not zero, is from when the jobs of Name are this
	// principal's: a job of the name created before it (a leaver's,
	// whose login was given again) is shown as another user's, and
	// my-jobs leaves it out.
	Since time.Time
}

// JobRequest carries the attributes of a new job.
type JobRequest struct {
	Queue string
	// User owns the job: the authenticated name, or the claimed one on a
	// queue that trusts requesting-user-name.
	User string
	// ClaimedUser is the requesting-user-name the client sent.
	ClaimedUser string
	ClientAddr  string
	Name        string
	Copies      int
	Sides       string
	ColorMode   string
	Media       string
	HoldUntil   string
	// PageRanges are the pages to print (FormatPageRanges), empty for
	// every page.
	PageRanges string
	// Password is the job-password (PWG 5100.11); the Backend must store
	// only a hash of it.
	Password []byte
	Document DocumentInfo
}

// DocumentInfo describes a document as the client announced it.
type DocumentInfo struct {
	Name   string
	Format string
}

// DocumentRequest carries a Send-Document request.
type DocumentRequest struct {
	JobTarget
	Document DocumentInfo
	// Last is the last-document flag.
	Last bool
}

// JobTarget names a job and who asks about it.
type JobTarget struct {
	Queue string
	ID    int
	User  string
}

// JobQuery selects jobs for Get-Jobs.
type JobQuery struct {
	Queue string
	// Which is "not-completed" (default), "completed" or "all".
	Which string
	// User limits the jobs to one owner when not empty (my-jobs), and
	// Since, when not zero, to those of its jobs created since.
	User  string
	Since time.Time
	IDs   []int
	// Limit caps the jobs returned (0: no cap).
	Limit int
	// After continues a listing: only jobs that come after job After in
	// the listing's order (0: from the start). The Server lists long
	// queues a page at a time this way.
	After int
	// Fields are the fields of each Job the listing needs filled; the
	// others may be left zero (JobFields).
	Fields JobFields
}

// Job is a job as IPP presents it.
type Job struct {
	ID          int
	Queue       string
	Name        string
	Owner       string
	State       JobState
	Reasons     []string
	Message     string
	Created     time.Time
	Processed   time.Time
	Completed   time.Time
	Format      string
	Size        int64
	Pages       int
	Copies      int
	Sides       string
	ColorMode   string
	Media       string
	HoldUntil   string
	PageRanges  string
	HasPassword bool
	// Incoming is true while a job made by Create-Job waits for its document.
	Incoming bool
	// FormatDetected is the format the server found the document's
	// content to be (document-format-detected, PWG 5100.7); empty when
	// it took the client's word.
	FormatDetected string
}
