package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/spool"
)

// Documents live in three places (docs/PIPELINE.md): small ones,
// encrypted, in the database's job_documents or, once the journal's
// applier wrote them, in spool segments; larger ones in spool files.
// Tests that check what remains look in all.

// bigDocument is a document above release.DefaultSmallDocument, which
// printgate keeps in a spool file.
func bigDocument(text string) []byte {
	doc := make([]byte, 256<<10)
	copy(doc, "%PDF-1.4\n% "+text+"\n")
	return doc
}

// documents lists the documents kept for cfg: the spool's files by name
// (segments aside), then "db:ID" for each document kept in the database
// and "seg:ID" for each in a spool segment, by job ID. A document in a
// segment is kept while its job points at it: once the job ends, its key
// row goes and the sealed bytes left in the segment are no document any
// more. A database that cannot be read shows as one "error: ..." entry,
// which no test expects.
func documents(cfg Config) []string {
	var out []string
	for _, f := range mustReadDir(cfg.spoolDir()) {
		if !strings.HasSuffix(f, ".seg") {
			out = append(out, f)
		}
	}
	db, err := database.Open(context.Background(), cfg.Database.URL, cfg.DataDir, nil)
	if err != nil {
		return append(out, "error: "+err.Error())
	}
	defer db.Close()
	for _, q := range []struct{ entry, query string }{
		{"db:%d", "SELECT job_id FROM job_documents ORDER BY job_id"},
		{"seg:%d", `SELECT id FROM jobs WHERE spool <> '' AND doc_segment <> 0
			AND EXISTS (SELECT 1 FROM job_keys k WHERE k.job_id = jobs.id) ORDER BY id`},
	} {
		var ids []int64
		if err := db.Raw(q.query).Scan(&ids).Error; err != nil {
			return append(out, "error: "+err.Error())
		}
		for _, id := range ids {
			out = append(out, fmt.Sprintf(q.entry, id))
		}
	}
	return out
}

// storedJob is what a test reads of a job to find its document.
type storedJob struct {
	ID         int64
	State      string
	Spool      string
	DocInDB    bool
	WrappedKey []byte
	SHA256     []byte
	Data       []byte // the sealed document, when in the database
	// DocSegment, DocOffset and DocLength say where in a spool segment
	// the document lies, when it is in one.
	DocSegment, DocOffset, DocLength int64
}

// storedJobsQuery selects every job as a storedJob.
const storedJobsQuery = `SELECT id, state, spool, doc_in_db, k.wrapped_key, sha256, d.data,
	doc_segment, doc_offset, doc_length FROM jobs
	LEFT JOIN job_keys k ON k.job_id = jobs.id LEFT JOIN job_documents d ON d.job_id = jobs.id ORDER BY id`

// storedJobs returns every job of db with its key and, for a document in
// the database, the document.
func storedJobs(t testing.TB, db *database.DB) []storedJob {
	t.Helper()
	var rows []storedJob
	if err := db.Raw(storedJobsQuery).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

// openSpool opens cfg's spool with its master key.
func openSpool(t testing.TB, cfg Config) *spool.Spool {
	t.Helper()
	key, err := spool.LoadOrCreateKey(cfg.spoolKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(cfg.spoolDir(), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

// readDocument decrypts the document of j from wherever it is kept.
func readDocument(sp *spool.Spool, j storedJob) ([]byte, error) {
	var r *spool.Reader
	var err error
	switch {
	case j.DocInDB:
		r, err = sp.OpenSealed(j.Spool, j.WrappedKey, j.Data)
	case j.DocSegment != 0:
		r, err = sp.OpenInSegment(j.Spool, j.WrappedKey, segmentPrefix(j.Spool), j.loc())
	default:
		r, err = sp.Open(j.Spool, j.WrappedKey)
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// documentNames are the entries of documents that belong to jobs: the
// spool file of each job with a file, "db:ID" for each in the database,
// "seg:ID" for each in a segment (jobs in ID order).
func documentNames(jobs []storedJob) []string {
	var files, rows, segs []string
	for _, j := range jobs {
		switch {
		case j.Spool == "":
		case j.DocInDB:
			rows = append(rows, fmt.Sprintf("db:%d", j.ID))
		case j.DocSegment != 0:
			segs = append(segs, fmt.Sprintf("seg:%d", j.ID))
		default:
			files = append(files, j.Spool+".doc")
		}
	}
	slices.Sort(files)
	return slices.Concat(files, rows, segs)
}

// segmentPrefix is the prefix of the segments of the database that named
// the document name: the prefix of its name, up to its first "-"
// (release's docPrefix).
func segmentPrefix(name string) string {
	return name[:strings.IndexByte(name, '-')+1]
}

// loc is where j's document lies in a segment.
func (j storedJob) loc() spool.Loc {
	return spool.Loc{Segment: uint64(j.DocSegment), Offset: j.DocOffset, Length: j.DocLength}
}
