package release

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit/pages"
	"github.com/printgate/printgate/internal/bufpool"
	"github.com/printgate/printgate/release/spool"
)

// Where a job's document lives (docs/PIPELINE.md). A document of up to
// smallDoc bytes is read whole into a pooled buffer, sealed in memory and
// kept in job_documents, written in the same transaction as its job: no
// file, no fsync of its own. A larger one streams into a spool file that
// is synced before its job is committed, with the spool directory synced
// once per batch. Either way it is encrypted under a key of its own,
// wrapped by the master key and kept in job_keys, so destroying the key
// destroys the document wherever it is.

// DefaultSmallDocument is the largest document kept in the database when
// Options.SmallDocument is not set. Somewhere past 256 KiB the file's own
// fsync costs less than writing the document through the database's log
// (docs/PIPELINE.md, "The threshold"); 128 KiB keeps the buffers each
// submission holds small.
const DefaultSmallDocument = 128 << 10

// received is a document that has been read, encrypted, hashed and
// counted, and waits for its job to be committed.
type received struct {
	// sealed holds a small document's encrypted bytes, in a buffer of
	// Service.sealedBufs; nil for a spool file.
	sealed *[]byte
	// file says the document is a spool file committed without the
	// directory sync: the committer syncs the directory before the job.
	file bool
}

// newBufferPools sets up the pools of the submission path: plaintext
// buffers (up to one byte more than a small document, to see whether the
// body goes on, and at least a DARE package, so that a large document
// streams into its file in whole packages) and the buffers of small
// documents' sealed bytes. Both come in sizes from firstRead up, so that
// a one-page document does not hold buffers for 128 KiB.
func (s *Service) newBufferPools() {
	plain := max(s.smallDoc+1, 64<<10)
	s.plainBufs = bufpool.New(firstRead, plain)
	s.sealedBufs = bufpool.New(sealedSize(firstRead), sealedSize(max(s.smallDoc, 0)))
}

// firstRead is the smallest plaintext buffer: a body that fits in it is
// read without growing one.
const firstRead = 16 << 10

// sealedSize is the size of n bytes of plaintext once sealed: DARE adds
// 32 bytes to every package of 64 KiB.
func sealedSize(n int) int { return n + 32*(n/(64<<10)+1) }

// docName returns a new document's name: the database's prefix, the time
// in hexadecimal nanoseconds, then 130 random bits. The time goes first so
// that names come in order: the unique index on jobs.spool then grows at
// its end, one page a batch, where random names put each job of a batch
// on a page of its own, read from disk once the index outgrows the cache.
func (s *Service) docName() string {
	return fmt.Sprintf("%s%016x%s", s.docPrefix, uint64(s.now().UnixNano()), rand.Text())
}

// receive reads doc once and stores it encrypted: a small document sealed
// in memory for the committer to write with its job, a larger one in a
// spool file. It fills in j's document fields. The document may take what
// the queue, the spool quota and its owner's held-bytes limit leave; past
// that it is refused and nothing of it remains. On success the caller
// owns r and hands it to commit, then to release, or to discardDocument.
// Until it returns, the inspector's searches give way (arriving): the
// client waits for all of it, a direct queue's own search included.
func (s *Service) receive(ctx context.Context, q Queue, j *Job, doc io.Reader) (r received, err error) {
	defer s.arriving()()
	a, err := s.allowanceFor(ctx, q, j.Owner)
	if err != nil {
		return r, err
	}
	name := s.docName()
	// One byte more than a small document tells whether the body goes
	// on; at least pages.SniffSize bytes tell what the document is.
	bufp, n, err := s.readStart(doc, max(s.smallDoc+1, pages.SniffSize))
	buf := *bufp
	dirty := n
	defer func() {
		// The plaintext must not outlive the request in a pooled buffer.
		clear(buf[:dirty])
		s.plainBufs.Put(bufp)
	}()
	if err != nil {
		return r, fmt.Errorf("release: store document: read: %w", err)
	}
	if a.bytes > 0 && int64(n) > a.bytes {
		return r, s.tooLarge(q, a)
	}
	if err := checkFormat(q, j, buf[:min(n, pages.SniffSize)]); err != nil {
		s.log.Info("release: document refused", "queue", q.Name, "addr", j.ClientAddr, "reason", err)
		return r, err
	}
	if n <= s.smallDoc {
		dirty = n
		if r, err = s.seal(ctx, j, name, buf[:n]); err == nil && !s.inspectLater(q, j) {
			s.inspect(ctx, s.text, q, j, bytes.NewReader(buf[:n]))
		}
		return r, err
	}
	// A large document streams through the largest buffer.
	bufp = s.growPlain(bufp, n, s.plainBufs.Largest())
	buf, dirty = *bufp, len(*bufp)
	if r, err = s.storeFile(ctx, q, a, j, name, doc, buf, n); err == nil && !s.inspectLater(q, j) {
		s.inspectStored(ctx, q, j)
	}
	return r, err
}

// readStart reads up to want bytes of doc into a plaintext buffer that
// grows, a class at a time, only as the body goes on.
func (s *Service) readStart(doc io.Reader, want int) (bufp *[]byte, n int, err error) {
	bufp = s.plainBufs.Get(min(want, firstRead))
	for {
		m, err := io.ReadFull(doc, (*bufp)[n:min(want, len(*bufp))])
		n += m
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return bufp, n, nil
		case err != nil:
			return bufp, n, err
		case n >= want:
			return bufp, n, nil
		}
		bufp = s.growPlain(bufp, n, n+1)
	}
}

// growPlain moves the n bytes in bufp to a buffer of at least size bytes
// and gives back bufp, cleared.
func (s *Service) growPlain(bufp *[]byte, n, size int) *[]byte {
	if len(*bufp) >= size {
		return bufp
	}
	bigger := s.plainBufs.Get(size)
	copy(*bigger, (*bufp)[:n])
	clear((*bufp)[:n])
	s.plainBufs.Put(bufp)
	return bigger
}

// seal encrypts the small document plain in memory and counts its pages.
func (s *Service) seal(ctx context.Context, j *Job, name string, plain []byte) (received, error) {
	sp := s.sealedBufs.Get(sealedSize(len(plain)))
	d, sealed, err := s.spool.Seal(name, plain, (*sp)[:0])
	if err != nil {
		s.sealedBufs.Put(sp)
		return received{}, fmt.Errorf("release: store document: %w", err)
	}
	*sp = sealed
	r := received{sealed: sp}
	j.Spool, j.DocInDB, j.WrappedKey, j.Size, j.SHA256 = d.Name, true, d.WrappedKey, d.Size, d.SHA256[:]
	s.used.Add(d.Size)
	if err := s.countSmall(ctx, j, plain); err != nil {
		s.discardDocument(j, r)
		s.releaseBuffers(r)
		return received{}, err
	}
	return r, nil
}

// countSmall counts the pages of a small document from its plaintext in
// memory, in one pass without a goroutine (pages.Counter.CountBytes),
// checking a PDF's page tree against its cross-reference table as
// printers read it. A PDF it cannot check (Unverified) is counted by
// pages.Count, still from memory.
func (s *Service) countSmall(ctx context.Context, j *Job, plain []byte) error {
	done, err := s.countSlot(ctx)
	if err != nil {
		return err
	}
	defer done()
	res, err := s.pages.CountBytes(ctx, j.Format, plain)
	if err == nil && res.Unverified {
		res, err = s.pages.Count(ctx, j.Format, bytes.NewReader(plain))
	}
	if err != nil {
		return fmt.Errorf("release: count pages: %w", err)
	}
	setPages(j, res.Pages, res.Known, res.Reason)
	return nil
}

// countLarge records on j the pages of a large document, which st counted
// while it streamed in. Only a PDF whose count st could not check against
// its cross-reference table (Unverified: the table is missing or broken,
// or names other definitions than those in file order, as a crafted PDF
// can make it; docs/LIMITS.md) is counted again from the stored file by
// pages.Count, a second decrypting read.
func (s *Service) countLarge(ctx context.Context, j *Job, st *pages.Stream) error {
	res, err := st.Close()
	if err != nil {
		return fmt.Errorf("release: count pages: %w", err)
	}
	if res.Unverified {
		return s.countPages(ctx, j)
	}
	setPages(j, res.Pages, res.Known, res.Reason)
	return nil
}

// storeFile streams a large document into a spool file: the first n
// bytes already read into buf, then the rest of doc, reading into buf
// again. The file is synced, but not the spool directory: the committer
// does that once for the whole batch, before the batch's jobs commit.
func (s *Service) storeFile(ctx context.Context, q Queue, a allowance, j *Job, name string, doc io.Reader, buf []byte, n int) (received, error) {
	w, err := s.spool.Create(ctx, name, a.bytes)
	if err != nil {
		return received{}, fmt.Errorf("release: store document: %w", err)
	}
	defer w.Abort()
	// Pages are counted as the document streams in: no second read.
	st := s.pages.Stream(ctx, j.Format)
	defer st.Abort()
	for n > 0 {
		// Counting runs beside hashing and sealing: on a machine with a
		// spare processor a large document is stored in the time of the
		// slower of the two, not of both.
		counted := make(chan struct{})
		go func(p []byte) { st.Write(p); close(counted) }(buf[:n])
		_, err := w.Write(buf[:n])
		<-counted
		if errors.Is(err, spool.ErrTooLarge) {
			return received{}, s.tooLarge(q, a)
		} else if err != nil {
			return received{}, fmt.Errorf("release: store document: %w", err)
		}
		var rerr error
		// Whole buffers: each goes to the counter and the file at once.
		n, rerr = io.ReadFull(doc, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return received{}, fmt.Errorf("release: store document: read: %w", rerr)
		}
	}
	d, err := w.CommitNoDirSync()
	if err != nil {
		return received{}, fmt.Errorf("release: store document: %w", err)
	}
	r := received{file: true}
	s.used.Add(d.Size)
	j.Spool, j.DocInDB, j.WrappedKey, j.Size, j.SHA256 = d.Name, false, d.WrappedKey, d.Size, d.SHA256[:]
	if err := s.countLarge(ctx, j, st); err != nil {
		s.discardDocument(j, r)
		return received{}, err
	}
	return r, nil
}

// tooLarge refuses a document past its allowance, in the words of the
// limit that set it.
func (s *Service) tooLarge(q Queue, a allowance) error {
	switch a.by {
	case limitSpool:
		s.used.Add(a.bytes) // full until the sweeper recounts
		return errSpoolFull
	case limitUser:
		return s.errUserFull(a.held)
	}
	return refuse(ErrTooLarge, fmt.Sprintf("The document is larger than the %d MB this queue accepts.", q.MaxSize>>20))
}

// releaseBuffers gives back the buffers of r once its job is committed
// or refused.
func (s *Service) releaseBuffers(r received) {
	if r.sealed != nil {
		s.sealedBufs.Put(r.sealed)
	}
}

// discardDocument removes the document of a job that was refused after
// its document was stored, and gives its bytes back to the quota. The
// caller still releases r's buffers.
func (s *Service) discardDocument(j *Job, r received) {
	if j.Spool == "" {
		return
	}
	if r.file {
		s.removeDocument(j.Spool)
	}
	s.used.Add(-j.Size)
}

// storeReceived writes the key of j's document, and the document itself
// when it is sealed, in tx: the transaction that records j's document.
func storeReceived(tx *gorm.DB, j *Job, r received) error {
	if err := tx.Create(&jobKey{JobID: j.ID, WrappedKey: j.WrappedKey}).Error; err != nil {
		return err
	}
	if r.sealed == nil {
		return nil
	}
	return tx.Create(&jobDocument{JobID: j.ID, Data: *r.sealed}).Error
}

// openDocument opens j's document for reading, from its spool file, its
// spool segment, or from the database, where it is read with its key in
// one query: a release waits for it.
func (s *Service) openDocument(ctx context.Context, j *Job) (*spool.Reader, error) {
	if !j.DocInDB {
		key, err := s.documentKey(ctx, j)
		if err != nil {
			return nil, err
		}
		var r *spool.Reader
		if j.DocSegment != 0 {
			r, err = s.spool.OpenInSegment(j.Spool, key, s.docPrefix, segmentLoc(j))
		} else {
			r, err = s.spool.Open(j.Spool, key)
		}
		if err != nil {
			return nil, fmt.Errorf("release: open document of job %d: %w", j.ID, err)
		}
		return r, nil
	}
	var d struct {
		WrappedKey []byte
		Data       []byte
	}
	err := s.db.WithContext(ctx).Table("job_documents").Select("job_keys.wrapped_key, job_documents.data").
		Joins("JOIN job_keys ON job_keys.job_id = job_documents.job_id").
		Where("job_documents.job_id = ?", j.ID).Take(&d).Error
	if err != nil {
		return nil, dbErr(fmt.Sprintf("load document of job %d", j.ID), err)
	}
	r, err := s.spool.OpenSealed(j.Spool, d.WrappedKey, d.Data)
	if err != nil {
		return nil, fmt.Errorf("release: open document of job %d: %w", j.ID, err)
	}
	return r, nil
}

// destroyDocument deletes the key of job id's document, and the document
// when it is in the database, inside tx, the transaction that ends the
// document. A spool file is removed once tx has committed (removeFile).
func destroyDocument(tx *gorm.DB, id int64) error {
	if err := tx.Where("job_id = ?", id).Delete(&jobKey{}).Error; err != nil {
		return err
	}
	return tx.Where("job_id = ?", id).Delete(&jobDocument{}).Error
}

// removeFile removes the spool file of a document destroyed in the
// database, if it had one.
func (s *Service) removeFile(j Job) {
	if !j.DocInDB && j.DocSegment == 0 {
		s.removeDocument(j.Spool)
	}
}

// removeDocument deletes a spool file after a failure; the file holds
// nothing readable without its key, so a failure here is only logged.
func (s *Service) removeDocument(name string) {
	if name == "" {
		return
	}
	if err := s.spool.Remove(name); err != nil {
		s.log.Warn("release: remove document", "err", err)
	}
}
