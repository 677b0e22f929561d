package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/release/spool"
	"github.com/printgate/printgate/release/stamp"
)

// heldError is a print that could not be made ready for its printer (not
// stamped, not converted): the job goes back on hold with reason, a
// keyword, and message, for the person at the printer, and is never sent
// as it is.
type heldError struct {
	reason, message string
	err             error
}

func (e *heldError) Error() string { return fmt.Sprintf("release: %s: %v", e.reason, e.err) }
func (e *heldError) Unwrap() error { return e.err }

// stamped returns the document j's printer receives: doc itself, or, on a
// queue that stamps (Queue.Stamp), a copy in memory with the forensic
// stamp on every page. The stamp's code and text are in the audit trail
// before the copy exists outside this function. The release time the
// stamp shows is that of j's last change of state (its claim at the
// device, or its submission to a direct queue), so that sending the same
// release again stamps the same code.
func (s *Service) stamped(ctx context.Context, j *Job, printer string, doc *spool.Reader) (io.Reader, error) {
	layout := s.queues[j.Queue].Stamp
	if layout == nil {
		return doc, nil
	}
	if s.stamper == nil || s.stampCodes == nil {
		return nil, &heldError{"stamp-unavailable", "This queue stamps every page, but stamping is not set up. Ask an administrator.",
			errors.New("no stamper")}
	}
	if j.Format != "application/pdf" {
		return nil, &heldError{"stamp-unsupported-format",
			"This queue stamps every page and can stamp only PDF documents; print this document from another queue.",
			fmt.Errorf("format %s", j.Format)}
	}
	if j.Pages > s.stamper.MaxPages() {
		// Counted at submission: refused before the document is read
		// again. The stamper counts too, all pages, whatever the
		// page-ranges that j.Pages heeds.
		err := fmt.Errorf("%w: %d pages counted at submission", stamp.ErrTooManyPages, j.Pages)
		return nil, &heldError{"stamp-failed", stampMessage(err, s.stamper), err}
	}
	rec := stamp.Record{JobID: j.ID, Owner: j.Owner, Queue: j.Queue, Printer: printer,
		Time: j.UpdatedAt.UTC().Truncate(time.Second), SHA256: j.SHA256}
	st := stamp.Stamp{Owner: j.Owner, Time: rec.Time.In(s.audit.Location()), JobID: j.ID,
		Code: s.stampCodes.Keys().Code(rec), Layout: *layout}
	// A stamp parses the PDF in memory, as a page count does: they share
	// the slots that bound how many run at once.
	done, err := s.countSlot(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.stampPDF(ctx, doc, st)
	done()
	if err != nil {
		return nil, &heldError{"stamp-failed", stampMessage(err, s.stamper), err}
	}
	if err := s.recordStamp(ctx, rec, s.stamper.Text(st)); err != nil {
		return nil, err
	}
	return bytes.NewReader(out), nil
}

// stampPDF stamps doc. pdfcpu reads a document to and fro, which through
// the spool's decryption takes several times as long as reading it once
// in order: a document the stamper takes is read into memory first, where
// pdfcpu holds all of it anyway.
func (s *Service) stampPDF(ctx context.Context, doc *spool.Reader, st stamp.Stamp) ([]byte, error) {
	var in io.ReaderAt = &blockCache{r: doc}
	if doc.Size() <= s.stamper.MaxSize() {
		b := make([]byte, doc.Size())
		if n, err := doc.ReadAt(b, 0); n < len(b) {
			return nil, fmt.Errorf("release: read the document to stamp: %w", err)
		}
		in = bytes.NewReader(b)
	}
	return s.stamper.PDF(ctx, in, doc.Size(), st)
}

// recordStamp indexes the stamp's code and appends its audit event in one
// transaction, once per release.
func (s *Service) recordStamp(ctx context.Context, rec stamp.Record, text string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		added, err := s.stampCodes.Remember(tx, rec)
		if err != nil || !added {
			return err
		}
		_, err = s.audit.Append(ctx, tx, s.stampCodes.Event(rec, text))
		return err
	})
	return dbErr(fmt.Sprintf("record the stamp of job %d", rec.JobID), err)
}

// stampMessage says, for a person, why a document was not stamped.
func stampMessage(err error, st *stamp.Stamper) string {
	switch {
	case errors.Is(err, stamp.ErrTooLarge):
		return fmt.Sprintf("This queue stamps every page and can stamp PDF documents up to %d MiB; this one is larger.", st.MaxSize()>>20)
	case errors.Is(err, stamp.ErrTooManyPages):
		return fmt.Sprintf("This queue stamps every page and can stamp PDF documents of up to %d pages; this one has more.", st.MaxPages())
	case errors.Is(err, stamp.ErrEncrypted):
		return "This queue stamps every page and cannot stamp a PDF protected with a password."
	case errors.Is(err, stamp.ErrOverBudget):
		return "This queue stamps every page, and this document takes too long or too much memory to stamp."
	case errors.Is(err, stamp.ErrBusy):
		return "This queue stamps every page, and stamping is busy with other documents. Try again in a minute."
	}
	return "This queue stamps every page, and this document could not be read to stamp it."
}
