package audit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrBadCursor means a history cursor was not one History returned.
var ErrBadCursor = errors.New("audit: bad history cursor")

// History page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// HistoryQuery selects a page of job history, newest first.
type HistoryQuery struct {
	// User selects one owner's jobs; "" selects every user's (admin view).
	User string
	// From (inclusive) and To (exclusive) bound the submission time.
	From, To time.Time
	// Queue, Device and Outcome select by equal value.
	Queue, Device, Outcome string
	// Name searches document names: a case-insensitive substring of clear
	// names, or the exact name of jobs whose name is recorded keyed.
	Name string
	// Sensitive selects the jobs whose document was found to hold
	// content of this kind ("my-number").
	Sensitive string
	// Source selects by where jobs come from, as Filter.Source.
	Source string
	// Limit is the page size: DefaultPageSize when 0, at most MaxPageSize.
	Limit int
	// Cursor continues after the page that returned it as Next; "" starts
	// at the newest job.
	Cursor string
}

// Filter is the filter that selects the same job records as q, all pages
// together: Export with it writes every row History pages through.
func (q HistoryQuery) Filter() Filter {
	return Filter{User: q.User, From: q.From, To: q.To, Queue: q.Queue, Device: q.Device, Outcome: q.Outcome, Name: q.Name,
		Sensitive: q.Sensitive, Source: q.Source}
}

// HistoryPage is one page of job history.
type HistoryPage struct {
	// Jobs are the page's records, newest submission first.
	Jobs []JobRecord
	// Next is the cursor of the following page, "" on the last page.
	Next string
}

// History returns a page of job records. Paging is by keyset (submission
// time, job ID), so a page costs the same however deep it is and a job
// appended meanwhile neither repeats nor skips a row. With User set, a page
// is one range scan of the (owner, submitted_at, job_id) index.
func (l *Log) History(ctx context.Context, q HistoryQuery) (HistoryPage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	w := l.jobWhere(q.Filter())
	if q.Cursor != "" {
		at, id, err := decodeCursor(q.Cursor)
		if err != nil {
			return HistoryPage{}, err
		}
		w.add("(submitted_at, job_id) < (?, ?)", at, id)
	}
	rows, err := l.db.DB.WithContext(ctx).Raw(`SELECT `+jobColumns+` FROM audit_jobs`+w.String()+
		` ORDER BY submitted_at DESC, job_id DESC LIMIT ?`, append(w.args, limit+1)...).Rows()
	if err != nil {
		return HistoryPage{}, wrap("history", err)
	}
	defer rows.Close()
	var page HistoryPage
	for rows.Next() {
		r, err := scanJob(rows)
		if err != nil {
			return HistoryPage{}, wrap("history", err)
		}
		page.Jobs = append(page.Jobs, r)
	}
	if err := rows.Err(); err != nil {
		return HistoryPage{}, wrap("history", err)
	}
	// One row more than asked for says whether another page follows.
	if len(page.Jobs) > limit {
		page.Jobs = page.Jobs[:limit]
		last := page.Jobs[limit-1]
		page.Next = encodeCursor(last.Submitted, last.JobID)
	}
	return page, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// A cursor is the last row's submission time (Unix microseconds) and job
// ID; it is opaque to callers but holds nothing secret.
func encodeCursor(at time.Time, id int64) string {
	s := strconv.FormatInt(at.UnixMicro(), 10) + "." + strconv.FormatInt(id, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func decodeCursor(c string) (time.Time, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, 0, ErrBadCursor
	}
	micros, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return time.Time{}, 0, ErrBadCursor
	}
	us, err1 := strconv.ParseInt(micros, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0, ErrBadCursor
	}
	return dbTime(time.UnixMicro(us)), n, nil
}

// GroupBy names what totals are grouped by.
type GroupBy string

// Groupings for TotalsQuery.GroupBy; the zero value gives one grand total.
const (
	ByUser   GroupBy = "user"
	ByQueue  GroupBy = "queue"
	ByDevice GroupBy = "device"
	// ByDay groups by the calendar date of submission in the Log's time
	// zone, as "2006-01-02".
	ByDay GroupBy = "day"
)

var groupColumns = map[GroupBy]string{"": "''", ByUser: "owner", ByQueue: "queue", ByDevice: "device", ByDay: "day"}

// TotalsQuery selects the job records that totals sum.
type TotalsQuery struct {
	// GroupBy says what each Total is for; "" gives one grand total.
	GroupBy GroupBy
	// From (inclusive) and To (exclusive) bound the submission time.
	From, To time.Time
	// User, Queue and Device select by equal value.
	User, Queue, Device string
	// Outcome selects by outcome; "" counts every job, "printed" only the
	// jobs that printed.
	Outcome string
	// Sensitive selects the jobs found to hold content of this kind
	// ("my-number"), as HistoryQuery.Sensitive.
	Sensitive string
	// Source selects by where jobs come from, as Filter.Source.
	Source string
}

// Total sums the jobs of one group.
type Total struct {
	// Key is the user, queue, device or day; "" for a grand total and for
	// jobs that were never released to a device.
	Key string
	// Jobs counts the jobs, PagesUnknown those without a page count.
	Jobs, PagesUnknown int64
	// Pages sums the pages of one copy, Impressions pages × copies, Sheets
	// the sheets of paper.
	Pages, Impressions, Sheets int64
	// ColorJobs counts the jobs in colour; ColorImpressions,
	// MonoImpressions and UnknownColorImpressions split Impressions by
	// the jobs' Color (JobRecord.Color).
	ColorJobs, ColorImpressions, MonoImpressions, UnknownColorImpressions int64
	// ObservedJobs and ObservedImpressions count the jobs printed
	// without printgate (found in printers' own logs) among them.
	ObservedJobs, ObservedImpressions int64
}

// Totals sums jobs, pages and impressions per group, ordered by Key.
func (l *Log) Totals(ctx context.Context, q TotalsQuery) ([]Total, error) {
	col, ok := groupColumns[q.GroupBy]
	if !ok {
		return nil, fmt.Errorf("audit: totals: unknown grouping %q", q.GroupBy)
	}
	w := l.jobWhere(Filter{User: q.User, Queue: q.Queue, Device: q.Device, Outcome: q.Outcome, From: q.From, To: q.To,
		Sensitive: q.Sensitive, Source: q.Source})
	class := "(" + colorClassSQL() + ")"
	sum := func(expr string) string { return "CAST(COALESCE(SUM(" + expr + "), 0) AS BIGINT)" }
	query := `SELECT ` + col + `, COUNT(*), ` +
		sum("CASE WHEN pages_known THEN 0 ELSE 1 END") + `, ` +
		sum("pages") + `, ` + sum("impressions") + `, ` + sum("sheets") + `, ` +
		sum("CASE WHEN "+class+" = '"+string(ColorColor)+"' THEN 1 ELSE 0 END") + `, ` +
		sum("CASE WHEN "+class+" = '"+string(ColorColor)+"' THEN impressions ELSE 0 END") + `, ` +
		sum("CASE WHEN "+class+" = '"+string(ColorMono)+"' THEN impressions ELSE 0 END") + `, ` +
		sum("CASE WHEN "+class+" = '"+string(ColorUnknown)+"' THEN impressions ELSE 0 END") + `, ` +
		sum("CASE WHEN source = '' THEN 0 ELSE 1 END") + `, ` +
		sum("CASE WHEN source = '' THEN 0 ELSE impressions END") +
		` FROM audit_jobs` + w.String()
	if q.GroupBy != "" {
		query += ` GROUP BY ` + col + ` ORDER BY ` + col
	}
	rows, err := l.db.DB.WithContext(ctx).Raw(query, w.args...).Rows()
	if err != nil {
		return nil, wrap("totals", err)
	}
	defer rows.Close()
	var out []Total
	for rows.Next() {
		var t Total
		if err := rows.Scan(&t.Key, &t.Jobs, &t.PagesUnknown, &t.Pages, &t.Impressions, &t.Sheets,
			&t.ColorJobs, &t.ColorImpressions, &t.MonoImpressions, &t.UnknownColorImpressions,
			&t.ObservedJobs, &t.ObservedImpressions); err != nil {
			return nil, wrap("totals", err)
		}
		out = append(out, t)
	}
	return out, wrap("totals", rows.Err())
}
