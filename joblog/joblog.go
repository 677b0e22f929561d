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

// Log writes the job log. It is a release.Observer; its methods are safe
// for concurrent use as far as its writer's Write is.
type Log struct {
	h     slog.Handler
	keyed func(string) (string, error)
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
	var h slog.Handler = slog.NewTextHandler(w, ho)
	if opts.JSON {
		h = slog.NewJSONHandler(w, ho)
	}
	return &Log{h: h, keyed: opts.KeyedName}
}

// JobMoved writes the line of m, timed when the move happened.
func (l *Log) JobMoved(m release.JobMove) {
	ctx := context.Background()
	if !l.h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	j := m.Job
	r := slog.NewRecord(m.At, slog.LevelInfo, Message, 0)
	r.AddAttrs(
		slog.String("event", m.Event()),
		slog.Int64("job", j.ID),
		slog.String("owner", j.Owner),
		slog.String("queue", j.Queue),
		slog.String("device", m.Device()),
		slog.Int("pages", j.Pages),
		slog.Int("copies", j.Copies),
		slog.String("outcome", string(m.To)),
		slog.String("reason", j.Reason),
		slog.String("document", l.document(m)),
	)
	// A log line that cannot be written is no reason to fail a print:
	// the audit trail has the record.
	_ = l.h.Handle(ctx, r)
}

// SignInFailed writes nothing: the job log is about jobs.
func (l *Log) SignInFailed(string) {}

// document is the name the line shows: the document-name the client
// gave, or the job name; on a queue that hides names, their keyed form.
func (l *Log) document(m release.JobMove) string {
	name := m.Job.DocumentName
	if name == "" {
		name = m.Job.Name
	}
	if !m.HideName || name == "" || strings.HasPrefix(name, audit.KeyedNamePrefix) {
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
