package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/printgate/printgate/audit/pages"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/printerinfo"
)

// This file is where IPP begins: the only one in release that speaks
// IPP's error words. Each Backend method calls the domain and translates
// its answer with toIPP.

// IPP returns the Service as the Backend of an ipp.Server.
func (s *Service) IPP() ipp.Backend { return ippBackend{s} }

// ippBackend serves IPP clients: the submission and the Get-Jobs,
// Cancel-Job, Hold-Job and Release-Job verbs of the job's owner.
type ippBackend struct{ s *Service }

var _ ipp.Backend = ippBackend{}

// ippErrors maps release's words to IPP's, in the order ipp.Server
// checks its own.
var ippErrors = []struct{ release, ipp error }{
	{ErrNotFound, ipp.ErrNotFound},
	{ErrNotPossible, ipp.ErrNotPossible},
	{ErrNotAllowed, ipp.ErrNotAuthorized},
	// A password over plain text is refused outright: answering "not
	// authenticated" would have the client send it again.
	{ErrNeedsTLS, ipp.ErrForbidden},
	{ErrForbidden, ipp.ErrForbidden},
	{ErrUnauthorized, ipp.ErrUnauthenticated},
	{ErrTooLarge, ipp.ErrTooLarge},
	{ErrSpoolFull, ipp.ErrNotAccepting},
	{ErrFormatError, ipp.ErrFormatError},
	{ErrFormatNotSupported, ipp.ErrFormat},
	{ErrMultipleDocuments, ipp.ErrMultipleDocuments},
	{ErrFormatNotAllowed, ipp.ErrFormat},
	{ErrBusy, ipp.ErrBusy},
	{ErrUnavailable, ipp.ErrUnavailable},
}

// toIPP translates err to IPP's words for ipp.Server: it keeps err's chain
// for the log, adds the matching ipp sentinel, and turns a Refusal into an
// ipp.Refusal with the same message for the client. An error with none of
// release's words (a client too slow, a bug) passes unchanged.
func toIPP(err error) error {
	if err == nil {
		return nil
	}
	for _, m := range ippErrors {
		if !errors.Is(err, m.release) {
			continue
		}
		out := fmt.Errorf("%w: %w", m.ipp, err)
		if r, ok := errors.AsType[*Refusal](err); ok {
			return &ipp.Refusal{Err: out, Message: r.Message}
		}
		return out
	}
	return err
}

// ippJob answers a verb that returns one job.
func ippJob(j Job, err error) (ipp.Job, error) {
	if err != nil {
		return ipp.Job{}, toIPP(err)
	}
	return j.IPP(), nil
}

// ippJobs answers a verb that returns jobs, with those done before an
// error.
func ippJobs(jobs []Job, err error) ([]ipp.Job, error) {
	out := make([]ipp.Job, len(jobs))
	for i, j := range jobs {
		out[i] = j.IPP()
	}
	return out, toIPP(err)
}

// Printer describes queue name for IPP.
// What it advertises comes from its printers (see advertise.go), as
// cached: asking printers here would make every client's
// Get-Printer-Attributes wait on the slowest printer.
func (b ippBackend) Printer(ctx context.Context, name string) (ipp.Printer, error) {
	q, err := b.s.queue(name)
	if err != nil {
		return ipp.Printer{}, toIPP(err)
	}
	uris, err := b.s.queuePrinters(ctx, q)
	if err != nil {
		return ipp.Printer{}, toIPP(err)
	}
	infos := make([]printerinfo.Info, 0, len(uris))
	for _, u := range uris {
		if info, ok := b.s.printers.Cached(u); ok {
			infos = append(infos, info)
		}
	}
	caps, formats, color := advertised(q, infos)
	return ipp.Printer{
		Name:      q.Name,
		Info:      q.Info,
		Location:  q.Location,
		Hold:      q.Mode == Hold,
		Accepting: !b.s.spoolFull(),
		Reason:    "spool-area-full",
		Formats:   formats,
		MaxSize:   q.MaxSize,
		Color:     color,
		Auth:      string(q.Auth),
		Caps:      caps,
	}, nil
}

// QueuedJobs counts the jobs of queue name that have not ended.
func (b ippBackend) QueuedJobs(ctx context.Context, name string) (int, error) {
	n, err := b.queuedJobs(ctx, name)
	return n, toIPP(err)
}

// Authenticate identifies the sender of r before its body is read.
func (b ippBackend) Authenticate(ctx context.Context, r *http.Request, p ipp.Printer) (ipp.Principal, error) {
	user, addr, err := b.s.authenticateSender(ctx, r, p.Name)
	if err != nil {
		return ipp.Principal{}, toIPP(err)
	}
	return ipp.Principal{Name: user.Name, Addr: addr.String(), Since: directory.OwnedSince(user.Created)}, nil
}

// CreateJob records a job that waits for its document.
func (b ippBackend) CreateJob(ctx context.Context, req ipp.JobRequest) (ipp.Job, error) {
	return ippJob(b.s.createJob(ctx, req))
}

// PrintJob stores doc and records its job.
func (b ippBackend) PrintJob(ctx context.Context, req ipp.JobRequest, doc io.Reader) (ipp.Job, error) {
	return ippJob(b.s.printJob(ctx, req, doc))
}

// SendDocument stores the document of a Create-Job job.
func (b ippBackend) SendDocument(ctx context.Context, req ipp.DocumentRequest, doc io.Reader) (ipp.Job, error) {
	return ippJob(b.s.sendDocument(ctx, req, doc))
}

// CloseJob ends the document list of a Create-Job job.
func (b ippBackend) CloseJob(ctx context.Context, t ipp.JobTarget) (ipp.Job, error) {
	return ippJob(b.s.closeJob(ctx, t))
}

// Job returns job id of queue.
func (b ippBackend) Job(ctx context.Context, queue string, id int) (ipp.Job, error) {
	return ippJob(b.s.load(ctx, queue, int64(id)))
}

// CancelJob cancels a job of t.User that has not started printing.
func (b ippBackend) CancelJob(ctx context.Context, t ipp.JobTarget) (ipp.Job, error) {
	return ippJob(b.cancelJob(ctx, t))
}

// CancelMyJobs cancels t.User's jobs on t.Queue that have not started
// printing, or only those in ids.
func (b ippBackend) CancelMyJobs(ctx context.Context, t ipp.JobTarget, ids []int) ([]ipp.Job, error) {
	return ippJobs(b.cancelMyJobs(ctx, t, ids))
}

// HoldJob holds a job that has not started printing.
func (b ippBackend) HoldJob(ctx context.Context, t ipp.JobTarget, until string) (ipp.Job, error) {
	return ippJob(b.holdJob(ctx, t, until))
}

// ReleaseJob prints a held job of a direct queue.
func (b ippBackend) ReleaseJob(ctx context.Context, t ipp.JobTarget) (ipp.Job, error) {
	return ippJob(b.releaseJob(ctx, t))
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
	ij := ipp.Job{
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
		PageRanges:  j.PageRanges,
		HasPassword: j.PasswordHash != "",
		Incoming:    j.State == StateIncoming,
	}
	ij.FormatDetected = detected(j.Format)
	return ij
}

// detected is the document-format-detected of a document kept as
// format: a document's content is checked when it arrives, so a format
// pages.Sniff recognises is what was found in it. Other formats (and
// application/octet-stream) were taken on the client's word.
func detected(format string) string {
	if !pages.Recognizes(format) {
		return ""
	}
	return format
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
