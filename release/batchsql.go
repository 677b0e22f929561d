package release

import (
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
)

// The statements of a batch (committer.go): one multi-row INSERT per
// table, written by hand rather than through gorm's reflection, which the
// profile showed on the committer's path.

// jobColumns are the columns insertJobs writes: every column of jobs but
// the id, which the database assigns.
var jobColumns = []string{"queue", "owner", "owner_unknown", "claimed_user", "client_addr", "name", "document_name", "format",
	"state", "reason", "message", "copies", "sides", "color_mode", "media", "hold_until", "page_ranges", "password_hash",
	"spool", "doc_in_db", "size", "sha256", "pages", "pages_reason", "printer", "printer_job_id", "claimed_by",
	"device", "pin_failures", "created_at", "updated_at", "processed_at", "completed_at", "sensitive", "content_color",
	"doc_segment", "doc_offset", "doc_length"}

// jobColumnTypes are the types of "id" and jobColumns on PostgreSQL, in
// their order, for the committer's INSERT from arrays (aloneWrites).
var jobColumnTypes = []string{"bigint", "text", "text", "boolean", "text", "text", "text", "text", "text",
	"text", "text", "text", "integer", "text", "text", "text", "text", "text", "text",
	"text", "boolean", "bigint", "bytea", "integer", "text", "text", "integer", "text",
	"text", "integer", "timestamptz", "timestamptz", "timestamptz", "timestamptz", "text", "text",
	"bigint", "bigint", "bigint"}

// jobValues returns j's values in the order of jobColumns.
func jobValues(j *Job) []any {
	return []any{j.Queue, j.Owner, j.OwnerUnknown, j.ClaimedUser, j.ClientAddr, j.Name, j.DocumentName, j.Format,
		j.State, j.Reason, j.Message, j.Copies, j.Sides, j.ColorMode, j.Media, j.HoldUntil, j.PageRanges, j.PasswordHash,
		j.Spool, j.DocInDB, j.Size, j.SHA256, j.Pages, j.PagesReason, j.Printer, j.PrinterJobID, j.ClaimedBy,
		j.Device, j.PINFailures, j.CreatedAt, j.UpdatedAt, j.ProcessedAt, j.CompletedAt, j.Sensitive, j.ContentColor,
		j.DocSegment, j.DocOffset, j.DocLength}
}

// jobColumnList is jobColumns as one SQL list.
var jobColumnList = strings.Join(jobColumns, ", ")

// batchSQL runs a batch's statements straight on the transaction's
// connection, in the texts of texts' dialect.
type batchSQL struct {
	tx    *gorm.DB
	texts *database.Texts
}

func (b batchSQL) exec(q string, args ...any) error {
	_, err := b.tx.Statement.ConnPool.ExecContext(b.tx.Statement.Context, q, args...)
	return err
}

// insertJobs inserts the jobs of batch with one statement and sets their
// IDs. The rows come back matched by document name, unique to each job,
// rather than by position, which neither database promises for RETURNING.
func (b batchSQL) insertJobs(batch []*submission) error {
	if batch[0].job.ID != 0 {
		return b.insertNumberedJobs(batch)
	}
	args := make([]any, 0, len(batch)*len(jobColumns))
	bySpool := make(map[string]*Job, len(batch))
	for _, sub := range batch {
		args = append(args, jobValues(sub.job)...)
		bySpool[sub.job.Spool] = sub.job
	}
	q := b.texts.Insert("jobs", jobColumnList, len(jobColumns), len(batch), " RETURNING id, spool")
	rows, err := b.tx.Statement.ConnPool.QueryContext(b.tx.Statement.Context, q, args...)
	if err != nil {
		return fmt.Errorf("insert jobs: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return fmt.Errorf("insert jobs: %w", err)
		}
		j := bySpool[name]
		if j == nil || j.ID != 0 {
			return fmt.Errorf("insert jobs: unexpected row for document %q", name)
		}
		j.ID = id
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("insert jobs: %w", err)
	}
	if n != len(batch) {
		return fmt.Errorf("insert jobs: %d rows back for %d jobs", n, len(batch))
	}
	return nil
}

// insertNumberedJobs inserts jobs whose IDs were given them beforehand
// (the journal's, journaled.go).
func (b batchSQL) insertNumberedJobs(batch []*submission) error {
	args := make([]any, 0, len(batch)*(len(jobColumns)+1))
	for _, sub := range batch {
		args = append(args, sub.job.ID)
		args = append(args, jobValues(sub.job)...)
	}
	q := b.texts.Insert("jobs", "id, "+jobColumnList, len(jobColumns)+1, len(batch), "")
	if err := b.exec(q, args...); err != nil {
		return fmt.Errorf("insert jobs: %w", err)
	}
	return nil
}

// insertKeysAndDocuments inserts the wrapped keys of batch's documents and the sealed
// small documents: on PostgreSQL in one statement (database.Texts.Chain),
// one round trip where there were two.
func (b batchSQL) insertKeysAndDocuments(batch []*submission, scratch *[]byte) error {
	keys := make([]any, 0, 2*len(batch))
	for _, sub := range batch {
		keys = append(keys, sub.job.ID, sub.job.WrappedKey)
	}
	qk := b.texts.Insert("job_keys", "job_id, wrapped_key", 2, len(batch), "")
	if b.texts.Dialect() == database.Postgres {
		var w database.Chained
		w.Add(qk, keys...)
		if q, args := pgDocuments(batch, scratch); q != "" {
			w.Add(q, args...)
		}
		q := b.texts.Chain(w.Qs, w.NArgs)
		if err := b.exec(q, w.Args...); err != nil {
			return fmt.Errorf("insert keys and documents: %w", err)
		}
		return nil
	}
	if err := b.exec(qk, keys...); err != nil {
		return fmt.Errorf("insert keys: %w", err)
	}
	var docs []any
	for _, sub := range batch {
		if sub.doc.sealed != nil && sub.job.DocSegment == 0 {
			docs = append(docs, sub.job.ID, *sub.doc.sealed)
		}
	}
	if len(docs) == 0 {
		return nil
	}
	if err := b.exec(b.texts.Insert("job_documents", "job_id, data", 2, len(docs)/2, ""), docs...); err != nil {
		return fmt.Errorf("insert documents: %w", err)
	}
	return nil
}

// pgDocumentsInsert writes the small documents of a batch on PostgreSQL
// from one bytea, the documents end to end, cut at the offsets given:
// pgx copies a parameter into growing buffers twice over, and one large
// parameter grows them once where a parameter per document grew them
// again and again (half of what the submission path allocated).
const pgDocumentsInsert = `INSERT INTO job_documents (job_id, data) ` +
	`SELECT d.id, substring(b.docs FROM d.o FOR d.n) ` +
	`FROM unnest($1::bigint[], $2::int[], $3::int[]) AS d(id, o, n), (SELECT $4::bytea AS docs) b`

// pgDocuments returns the statement and arguments that write batch's
// small documents on PostgreSQL ("" for none), their bytes put end to end
// in *scratch, which the caller keeps until the statement has run.
func pgDocuments(batch []*submission, scratch *[]byte) (string, []any) {
	all := (*scratch)[:0]
	var ids []int64
	var offsets, lengths []int32
	for _, sub := range batch {
		if sub.doc.sealed == nil || sub.job.DocSegment != 0 {
			continue
		}
		ids = append(ids, sub.job.ID)
		offsets = append(offsets, int32(len(all)+1))
		lengths = append(lengths, int32(len(*sub.doc.sealed)))
		all = append(all, *sub.doc.sealed...)
	}
	*scratch = all
	if len(ids) == 0 {
		return "", nil
	}
	return pgDocumentsInsert, []any{ids, offsets, lengths, all}
}
