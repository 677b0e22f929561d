package ipp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/OpenPrinting/goipp"
)

// Limits on a printer's job log as CompletedJobs reads it.
const (
	// DefaultJobLogLimit is how many completed jobs CompletedJobs asks
	// for when the caller names no limit.
	DefaultJobLogLimit = 500
	// maxJobLogLimit caps what a caller may ask for: a printer that
	// ignores "limit" is cut here all the same.
	maxJobLogLimit = 5000
)

// CompletedJob is one entry of a printer's own job log, as Get-Jobs with
// which-jobs=completed reports it. Every string is printer-supplied text
// made safe to log and store (Printable); numbers a printer did not send
// are -1.
type CompletedJob struct {
	ID    int      // job-id
	UUID  string   // job-uuid ("urn:uuid:..."), "" when not reported
	State JobState // job-state: completed, canceled or aborted
	// User is job-originating-user-name: who the printer says sent it.
	// Name is job-name. Both are printable but not cut to length (the
	// reply they came in is bounded): either may hold an individual
	// number, which the caller masks before it cuts them (Printable),
	// since a cut through the number would leave most of its digits
	// where no mask finds them.
	User, Name string
	// Impressions is job-impressions-completed, Sheets
	// job-media-sheets-completed.
	Impressions, Sheets int
	// ColorImpressions and MonoImpressions split the impressions by
	// colour where the printer reports job-impressions-completed-col
	// (PWG 5100.7): full-color and highlight-color, and monochrome, each
	// one- and two-sided.
	ColorImpressions, MonoImpressions int
	// Created and Completed are date-time-at-creation and
	// date-time-at-completed when the printer sends them, zero otherwise;
	// CreatedUp and CompletedUp are time-at-creation and time-at-completed
	// (seconds of the printer's up-time; some printers send Unix time).
	Created, Completed     time.Time
	CreatedUp, CompletedUp int
}

// jobLogAttributes are the job attributes CompletedJobs asks for.
var jobLogAttributes = []string{
	"job-id", "job-uuid", "job-state", "job-originating-user-name", "job-name",
	"job-impressions-completed", "job-impressions-completed-col", "job-media-sheets-completed",
	"time-at-creation", "time-at-completed", "date-time-at-creation", "date-time-at-completed",
}

// CompletedJobs asks the printer for its completed jobs (Get-Jobs,
// which-jobs=completed, every user's), at most limit of them
// (DefaultJobLogLimit when 0). The response is read under the same size
// and depth limits as every other, and at most limit jobs are kept
// whatever the printer sends.
func (c *Client) CompletedJobs(ctx context.Context, printerURI string, limit int) ([]CompletedJob, error) {
	target, err := parsePrinterURI(printerURI)
	if err != nil {
		return nil, err
	}
	if target.Scheme == "socket" {
		return nil, ErrNoJobStatus
	}
	if limit <= 0 {
		limit = DefaultJobLogLimit
	}
	limit = min(limit, maxJobLogLimit)
	msg := c.newRequest(goipp.OpGetJobs, printerURI, "")
	msg.Operation.Add(keywords("which-jobs", "completed"))
	msg.Operation.Add(boolean("my-jobs", false))
	msg.Operation.Add(ints("limit", limit))
	msg.Operation.Add(keywords("requested-attributes", jobLogAttributes...))
	resp, err := c.do(ctx, target, msg, nil)
	if err != nil {
		return nil, fmt.Errorf("ipp: job log of %s: %w", printerURI, err)
	}
	return completedJobs(resp, limit), nil
}

// DecodeCompletedJobs reads a Get-Jobs response as CompletedJobs does,
// with the same limits: for tests and fuzzing of what printers send.
func DecodeCompletedJobs(body io.Reader, limit int) ([]CompletedJob, error) {
	if limit <= 0 {
		limit = DefaultJobLogLimit
	}
	reply, err := decodeResponse(body)
	if err != nil {
		return nil, err
	}
	if status := goipp.Status(reply.Code); status >= 0x0100 {
		return nil, &StatusError{Op: "Get-Jobs", Status: status, Message: statusMessage(reply.Operation)}
	}
	return completedJobs(reply, min(limit, maxJobLogLimit)), nil
}

// EncodeCompletedJobs is the Get-Jobs response a printer would send for
// jobs: tests build printers' answers with it.
func EncodeCompletedJobs(jobs []CompletedJob) []byte {
	m := goipp.NewResponse(goipp.DefaultVersion, goipp.StatusOk, 1)
	m.Operation.Add(strs("attributes-charset", goipp.TagCharset, "utf-8"))
	m.Operation.Add(strs("attributes-natural-language", goipp.TagLanguage, "en"))
	for _, j := range jobs {
		var a goipp.Attributes
		a.Add(ints("job-id", j.ID))
		if j.UUID != "" {
			a.Add(uris("job-uuid", j.UUID))
		}
		a.Add(goipp.MakeAttribute("job-state", goipp.TagEnum, goipp.Integer(j.State)))
		a.Add(nameAttr("job-originating-user-name", j.User))
		a.Add(nameAttr("job-name", j.Name))
		a.Add(ints("job-impressions-completed", j.Impressions))
		if j.ColorImpressions > 0 || j.MonoImpressions > 0 {
			var col goipp.Collection
			col.Add(ints("full-color", max(j.ColorImpressions, 0)))
			col.Add(ints("monochrome", max(j.MonoImpressions, 0)))
			a.Add(goipp.MakeAttribute("job-impressions-completed-col", goipp.TagBeginCollection, col))
		}
		a.Add(ints("time-at-completed", j.CompletedUp))
		if !j.Completed.IsZero() {
			a.Add(dateTime("date-time-at-completed", j.Completed))
		}
		m.Groups = append(m.Groups, goipp.Group{Tag: goipp.TagJobGroup, Attrs: a})
	}
	m.Groups = append(goipp.Groups{{Tag: goipp.TagOperationGroup, Attrs: m.Operation}}, m.Groups...)
	var b bytes.Buffer
	_ = m.Encode(&b)
	return b.Bytes()
}

// completedJobs reads the job groups of a Get-Jobs response, in order,
// keeping at most limit; a group without a positive job-id is skipped.
func completedJobs(resp *goipp.Message, limit int) []CompletedJob {
	var out []CompletedJob
	for _, g := range resp.Groups {
		if g.Tag != goipp.TagJobGroup {
			continue
		}
		if len(out) >= limit {
			break
		}
		if j, ok := completedJob(g.Attrs); ok {
			out = append(out, j)
		}
	}
	return out
}

func completedJob(list goipp.Attributes) (CompletedJob, bool) {
	a := index(list)
	var j CompletedJob
	var ok bool
	if j.ID, ok = a.integer("job-id"); !ok || j.ID <= 0 {
		return CompletedJob{}, false
	}
	uuid, _ := a.str("job-uuid")
	j.UUID = Printable(uuid, 128)
	state, _ := a.integer("job-state")
	j.State = JobState(state)
	user, _ := a.str("job-originating-user-name")
	j.User = printableText(user)
	name, _ := a.str("job-name")
	j.Name = printableText(name)
	j.Impressions = nonNegative(a, "job-impressions-completed")
	j.Sheets = nonNegative(a, "job-media-sheets-completed")
	j.ColorImpressions, j.MonoImpressions = impressionsByColor(a)
	j.CreatedUp = nonNegative(a, "time-at-creation")
	j.CompletedUp = nonNegative(a, "time-at-completed")
	j.Created = dateTimeOf(a, "date-time-at-creation")
	j.Completed = dateTimeOf(a, "date-time-at-completed")
	return j, true
}

// nonNegative is the integer name holds, or -1 when it is missing,
// negative or of another type.
func nonNegative(a attrs, name string) int {
	if v, ok := a.integer(name); ok && v >= 0 {
		return v
	}
	return -1
}

func dateTimeOf(a attrs, name string) time.Time {
	attr, ok := a[name]
	if !ok || len(attr.Values) == 0 {
		return time.Time{}
	}
	if t, ok := attr.Values[0].V.(goipp.Time); ok {
		return t.UTC()
	}
	return time.Time{}
}

// The members of job-impressions-completed-col that count colour and
// monochrome impressions (PWG 5100.7); "blank" pages count as neither.
var (
	colorMembers = []string{"full-color", "full-color-two-sided", "highlight-color", "highlight-color-two-sided"}
	monoMembers  = []string{"monochrome", "monochrome-two-sided"}
)

// impressionsByColor sums job-impressions-completed-col's colour and
// monochrome members: -1, -1 when the printer sent no such collection.
func impressionsByColor(a attrs) (color, mono int) {
	attr, ok := a["job-impressions-completed-col"]
	if !ok || len(attr.Values) == 0 {
		return -1, -1
	}
	col, ok := attr.Values[0].V.(goipp.Collection)
	if !ok {
		return -1, -1
	}
	members := index(goipp.Attributes(col))
	sum := func(names []string) int {
		n := 0
		for _, name := range names {
			if v := nonNegative(members, name); v > 0 {
				n = min(n+v, maxImpressions)
			}
		}
		return n
	}
	return sum(colorMembers), sum(monoMembers)
}

// maxImpressions bounds a sum of a printer's counts, whatever it sends.
const maxImpressions = 1 << 30
