package release

import (
	"context"
	"database/sql"
	"iter"

	"github.com/printgate/printgate/ipp"
)

// Jobs lists the jobs of a queue for Get-Jobs, one row at a time: a
// listing of thousands of jobs holds one, not a page of them (the
// Job rows are over a kilobyte each). Only the columns q.Fields need are
// read.
func (b ippBackend) Jobs(ctx context.Context, q ipp.JobQuery) iter.Seq2[ipp.Job, error] {
	return func(yield func(ipp.Job, error) bool) {
		l := newIPPListing(q.Fields)
		rows, err := b.jobRows(ctx, q, l.columns)
		if err != nil {
			yield(ipp.Job{}, toIPP(err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			*l.job = Job{}
			if err := rows.Scan(l.dests...); err != nil {
				yield(ipp.Job{}, toIPP(dbErr("list jobs", err)))
				return
			}
			// Only what was asked: a field left out reads as zero, not as
			// what Job.IPP makes of an empty column (an aborted job).
			if !yield(l.job.IPP().Only(q.Fields), nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(ipp.Job{}, toIPP(dbErr("list jobs", err)))
		}
	}
}

// jobRows queries the jobs of a queue for Get-Jobs, in columns. A page's
// jobs are chosen by their IDs first, and only their rows are read in
// full: sorted with their rows, every page of a deep queue read all the
// rows after it (100,000 held: 14 % longer, BenchmarkJobsListing).
func (b ippBackend) jobRows(ctx context.Context, q ipp.JobQuery, columns []string) (*sql.Rows, error) {
	s := b.s
	db := s.db.WithContext(ctx).Where("queue = ?", q.Queue)
	newestFirst := q.Which == "completed"
	switch q.Which {
	case "completed":
		db = db.Where("state NOT IN ?", activeStates).Order("id DESC")
	case "all":
		db = db.Order("id")
	default:
		db = db.Where("state IN ?", activeStates).Order("id")
	}
	switch {
	case q.After > 0 && newestFirst:
		db = db.Where("id < ?", q.After)
	case q.After > 0:
		db = db.Where("id > ?", q.After)
	}
	if q.User != "" {
		db = db.Where("owner = ?", q.User)
		if !q.Since.IsZero() {
			db = db.Where("created_at >= ?", q.Since)
		}
	}
	if len(q.IDs) > 0 {
		db = db.Where("id IN ?", q.IDs)
	}
	if q.Limit > 0 {
		db = db.Limit(q.Limit)
	}
	order := "id"
	if newestFirst {
		order = "id DESC"
	}
	ids := db.Model(&Job{}).Select("id")
	rows, err := s.db.WithContext(ctx).Model(&Job{}).Select(columns).Where("id IN (?)", ids).Order(order).Rows()
	return rows, dbErr("list jobs", err)
}

// ippListing reads the columns of jobs that a listing's fields need into
// one Job, through pointers made once for all its rows. It scans by hand
// because a Get-Jobs of a deep queue reads thousands of rows, and gorm's
// reflection was most of its time (docs/BENCHMARKS.md); it reads only the
// columns asked for because, after that, reading each column was
// (docs/PERFORMANCE.md).
type ippListing struct {
	job     *Job
	columns []string
	dests   []any
}

// ippFieldColumns are the columns of jobs that fill each of ipp.Job's
// fields (Job.IPP).
var ippFieldColumns = []struct {
	field  ipp.JobFields
	column string
	dest   func(j *Job) any
}{
	{ipp.FieldName, "name", func(j *Job) any { return &j.Name }},
	{ipp.FieldState, "state", func(j *Job) any { return &j.State }},
	{ipp.FieldReasons, "reason", func(j *Job) any { return &j.Reason }},
	{ipp.FieldMessage, "message", func(j *Job) any { return &j.Message }},
	{ipp.FieldCreated, "created_at", func(j *Job) any { return &j.CreatedAt }},
	{ipp.FieldProcessed, "processed_at", func(j *Job) any { return &j.ProcessedAt }},
	{ipp.FieldCompleted, "completed_at", func(j *Job) any { return &j.CompletedAt }},
	{ipp.FieldFormat, "format", func(j *Job) any { return &j.Format }},
	{ipp.FieldSize, "size", func(j *Job) any { return &j.Size }},
	{ipp.FieldPages, "pages", func(j *Job) any { return &j.Pages }},
	{ipp.FieldCopies, "copies", func(j *Job) any { return &j.Copies }},
	{ipp.FieldSides, "sides", func(j *Job) any { return &j.Sides }},
	{ipp.FieldColorMode, "color_mode", func(j *Job) any { return &j.ColorMode }},
	{ipp.FieldMedia, "media", func(j *Job) any { return &j.Media }},
	{ipp.FieldHoldUntil, "hold_until", func(j *Job) any { return &j.HoldUntil }},
	{ipp.FieldPageRanges, "page_ranges", func(j *Job) any { return &j.PageRanges }},
}

// newIPPListing returns the listing of fields: the job's id, queue and
// owner, which every listing shows, and the columns of fields.
func newIPPListing(fields ipp.JobFields) *ippListing {
	j := new(Job)
	l := &ippListing{job: j, columns: []string{"id", "queue", "owner"}, dests: []any{&j.ID, &j.Queue, &j.Owner}}
	for _, c := range ippFieldColumns {
		if fields&c.field != 0 {
			l.columns = append(l.columns, c.column)
			l.dests = append(l.dests, c.dest(j))
		}
	}
	return l
}
