// Package joblog writes printgate's job log: one structured line per move
// of a job from one state to another (submitted, held, released, printed,
// print-failed, canceled, expired), in the spirit of CUPS's page_log, for
// administrators who read logs rather than the audit trail. The audit
// trail stays the record; this log is for people and log collectors.
//
// A line carries the job's ID, owner, queue, device, pages, copies, the
// state it reached (outcome) and its reason, and the document's name, in
// the keyed form the audit trail records (hmac-sha256:...) where the
// queue hides document names. It carries no secret: no job PIN, card,
// password or document content.
package joblog

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release"
)

// Message is the message of every job line, by which a log collector
// finds them among the server's other lines.
const Message = "job"

// Options configure a Log.
type Options struct {
	// JSON writes lines as JSON objects; otherwise as logfmt text, like
	// the server log (log.format).
	JSON bool
	// Location is the time zone of the lines' times (audit.time_zone);
	// nil means UTC.
	Location *time.Location
	// Level is the least level written, as the server log's (log.level):
	// job lines are at info, so a log at warn shows none. Zero writes
	// them.
	Level slog.Leveler
	// KeyedName turns a hidden document name into its keyed form
	// (audit.Log.KeyedName); nil, or an error, logs the name as
	// "hidden".
	KeyedName func(name string) (string, error)
}

// Log writes the job log. It is a release.Observer whose JobMoved only
// queues the line: a goroutine of its own formats and writes it, so that
// the submission path pays for neither (nor for keying a hidden name).
// Close writes what is queued. Its methods are safe for concurrent use.
type Log struct {
	h     slog.Handler
	out   *lineBatch // h's, written by the writer goroutine alone
	keyed func(string) (string, error)

	// mu guards closed: a move reported after Close is dropped rather
	// than sent on the closed queue.
	mu     sync.RWMutex
	closed bool
	queue  chan line
	done   chan struct{}
}

// queued bounds the lines waiting for the writer; past it, JobMoved waits.
const queued = 4096

// line is what a move's line says, taken from the move when it happens.
type line struct {
	at                        time.Time
	event                     string
	job                       int64
	owner, queue, device      string
	pages, copies             int
	outcome, reason, document string
	hide                      bool
}

var _ release.Observer = (*Log)(nil)

// New returns the job log writing to w.
func New(w io.Writer, opts Options) *Log {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	ho := &slog.HandlerOptions{Level: opts.Level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			a.Value = slog.TimeValue(a.Value.Time().In(loc))
		}
		return a
	}}
	out := &lineBatch{w: w}
	var h slog.Handler = slog.NewTextHandler(out, ho)
	if opts.JSON {
		h = slog.NewJSONHandler(out, ho)
	}
	l := &Log{h: h, out: out, keyed: opts.KeyedName, queue: make(chan line, queued), done: make(chan struct{})}
	go l.write()
	return l
}

// JobMoved queues the line of m, timed when the move happened.
func (l *Log) JobMoved(m release.JobMove) {
	if !l.h.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	j := m.Job
	doc := j.DocumentName
	if doc == "" {
		doc = j.Name
	}
	ln := line{at: m.At, event: m.Event(), job: j.ID, owner: j.Owner, queue: j.Queue, device: m.Device(),
		pages: j.Pages, copies: j.Copies, outcome: string(m.To), reason: j.Reason, document: doc, hide: m.HideName}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if !l.closed {
		l.queue <- ln
	}
}

// SignInFailed writes nothing: the job log is about jobs.
func (l *Log) SignInFailed(string) {}

// Close writes the lines queued and stops the writer. Moves reported
// afterwards are not logged.
func (l *Log) Close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.mu.Unlock()
	<-l.done
}

// write writes the queued lines until Close.
func (l *Log) write() {
	defer close(l.done)
	ctx := context.Background()
	for ln := range l.queue {
		r := slog.NewRecord(ln.at, slog.LevelInfo, Message, 0)
		r.AddAttrs(
			slog.String("event", ln.event),
			slog.Int64("job", ln.job),
			slog.String("owner", ln.owner),
			slog.String("queue", ln.queue),
			slog.String("device", ln.device),
			slog.Int("pages", ln.pages),
			slog.Int("copies", ln.copies),
			slog.String("outcome", ln.outcome),
			slog.String("reason", ln.reason),
			slog.String("document", l.document(ln.document, ln.hide)),
		)
		// A line that cannot be written is no reason to fail a print:
		// the audit trail has the record.
		_ = l.h.Handle(ctx, r)
		if len(l.queue) == 0 {
			_ = l.out.flush()
		}
	}
	_ = l.out.flush()
}

// lineBatch gathers the lines a handler writes, each in one Write, and
// hands them on together when flushed, or once maxBatch bytes wait:
// whole lines, so that they do not tear another writer's on the same
// file. A write a line was a system call a job, 3 % of printgate's
// processor at 32 clients (docs/PERFORMANCE.md).
type lineBatch struct {
	w   io.Writer
	buf []byte
}

const maxBatch = 32 << 10

func (b *lineBatch) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if len(b.buf) >= maxBatch {
		return len(p), b.flush()
	}
	return len(p), nil
}

func (b *lineBatch) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// document is the name a line shows: on a queue that hides names, their
// keyed form.
func (l *Log) document(name string, hide bool) string {
	if !hide || name == "" || strings.HasPrefix(name, audit.KeyedNamePrefix) {
		return name
	}
	if l.keyed == nil {
		return "hidden"
	}
	k, err := l.keyed(name)
	if err != nil {
		return "hidden"
	}
	return k
}
