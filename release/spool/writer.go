package spool

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/minio/sio"
)

// Document describes a committed document.
type Document struct {
	// Name is the document's name in the spool.
	Name string
	// Size is the length of the plaintext in bytes.
	Size int64
	// SHA256 is the SHA-256 digest of the plaintext.
	SHA256 [sha256.Size]byte
	// WrappedKey is the document's data key sealed by the master key. The
	// caller must keep it (in the job's row); without it the document cannot
	// be read. It is not secret on its own, but only useful together with
	// the master key.
	WrappedKey []byte
}

// errWriterDone is returned by Write or Commit after Commit or Abort.
var errWriterDone = errors.New("writer already committed or aborted")

// Writer receives one document's plaintext, encrypts it into a temporary
// file, and makes it a document on Commit. Use it from one goroutine.
//
// If Write fails (ErrTooLarge, a disk error, the context ends) the temporary
// file is removed at once and every later call returns that error. Calling
// Abort after Commit is a no-op, so "defer w.Abort()" is the usual pattern.
type Writer struct {
	s    *Spool
	ctx  context.Context
	name string
	temp string
	max  int64

	f       *os.File
	wb      *writeBehind   // f, through the gathering of sealed bytes
	enc     io.WriteCloser // sio encrypting writer over wb
	sum     hash.Hash
	size    int64
	dataKey []byte

	err  error // sticky: first failure
	done bool
}

// Create starts a document called name. The caller writes the plaintext to
// the Writer, then calls Commit or Abort. maxSize caps the plaintext length
// (ErrTooLarge beyond it); zero or less means no cap. ctx is checked on every
// Write and on Commit, so a cancelled request stops the upload.
func (s *Spool) Create(ctx context.Context, name string, maxSize int64) (*Writer, error) {
	if err := checkName("create", name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("spool: create %s: %w", name, err)
	}
	dataKey := make([]byte, KeySize)
	rand.Read(dataKey)
	temp := name + "." + rand.Text()[:10] + tempSuffix
	f, err := s.root.OpenFile(temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		clear(dataKey)
		return nil, fmt.Errorf("spool: create %s: %w", name, err)
	}
	wb := s.newWriteBehind(f)
	enc, err := sio.EncryptWriter(wb, sio.Config{
		MinVersion: sio.Version20,
		MaxVersion: sio.Version20,
		Key:        dataKey,
	})
	if err != nil {
		wb.release()
		f.Close()
		s.root.Remove(temp)
		clear(dataKey)
		return nil, fmt.Errorf("spool: create %s: %w", name, err)
	}
	return &Writer{
		s: s, ctx: ctx, name: name, temp: temp, max: maxSize,
		f: f, wb: wb, enc: enc, sum: sha256.New(), dataKey: dataKey,
	}, nil
}

// Write encrypts p into the temporary file.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, fmt.Errorf("spool: write %s: %w", w.name, errWriterDone)
	}
	if err := w.ctx.Err(); err != nil {
		return 0, w.fail(err)
	}
	if w.max > 0 && int64(len(p)) > w.max-w.size {
		return 0, w.fail(fmt.Errorf("more than %d bytes: %w", w.max, ErrTooLarge))
	}
	n, err := w.seal(p)
	w.size += int64(n)
	if err != nil {
		return n, w.fail(err)
	}
	return n, nil
}

// parallelHash is the length of a write whose hashing runs beside its
// sealing: for less, starting a goroutine costs more than it saves.
const parallelHash = 32 << 10

// seal hashes p and encrypts it into the file; a large p is hashed beside
// the encryption, which then takes the time of the slower of the two.
func (w *Writer) seal(p []byte) (int, error) {
	if len(p) < parallelHash {
		w.sum.Write(p)
		return w.enc.Write(p)
	}
	hashed := make(chan struct{})
	go func() { w.sum.Write(p); close(hashed) }()
	n, err := w.enc.Write(p)
	<-hashed
	return n, err
}

// fail records the first error and throws the temporary file away, so that
// nothing remains even if the caller never calls Abort.
func (w *Writer) fail(err error) error {
	w.err = fmt.Errorf("spool: write %s: %w", w.name, err)
	w.discard()
	return w.err
}

// discard closes and removes the temporary file.
func (w *Writer) discard() error {
	clear(w.dataKey)
	if w.f == nil {
		return nil
	}
	// File first: the sio writer's Close still seals its final package,
	// into the stage at most, and a stage that fills can no longer reach
	// the closed file, so nothing more of the document is written.
	w.f.Close()
	w.enc.Close()
	w.wb.release()
	w.f = nil
	return w.s.root.Remove(w.temp)
}

// Size returns the plaintext bytes written so far.
func (w *Writer) Size() int64 { return w.size }

// Commit finishes the document: it seals the last package, fsyncs the file,
// links it into place under its name, fsyncs the directory, and returns the
// document with its wrapped key. The document is visible only once Commit
// returns successfully; on any error nothing remains. A name already taken
// gives an error wrapping fs.ErrExist and leaves the existing document alone.
func (w *Writer) Commit() (Document, error) {
	return w.finish(true)
}

// CommitNoDirSync finishes the document as Commit does, but leaves the
// directory unsynced: the document's contents are on disk, and its name
// is visible at once, but a crash may still lose the name until the
// caller calls Spool.SyncDir. One SyncDir then makes every document
// committed so before it durable together, which is how a batch of
// submissions shares one directory fsync.
func (w *Writer) CommitNoDirSync() (Document, error) {
	return w.finish(false)
}

// finish commits the document, syncing the directory if syncDir is set.
func (w *Writer) finish(syncDir bool) (Document, error) {
	if w.err != nil {
		return Document{}, w.err
	}
	if w.done {
		return Document{}, fmt.Errorf("spool: commit %s: %w", w.name, errWriterDone)
	}
	w.done = true
	doc, err := w.commit(syncDir)
	if err != nil {
		w.err = fmt.Errorf("spool: commit %s: %w", w.name, err)
		w.discard()
		return Document{}, w.err
	}
	return doc, nil
}

func (w *Writer) commit(syncDir bool) (Document, error) {
	if err := w.ctx.Err(); err != nil {
		return Document{}, err
	}
	if err := w.enc.Close(); err != nil {
		return Document{}, err
	}
	if err := w.wb.flush(); err != nil {
		return Document{}, err
	}
	w.wb.release()
	if err := w.f.Sync(); err != nil {
		return Document{}, err
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		w.s.root.Remove(w.temp)
		return Document{}, err
	}
	doc := Document{
		Name:       w.name,
		Size:       w.size,
		WrappedKey: w.s.key.wrap(w.name, w.dataKey, w.size),
	}
	w.sum.Sum(doc.SHA256[:0])
	clear(w.dataKey)

	// Link, unlike Rename, never replaces an existing document. The
	// temporary name is removed afterwards; if we die in between, the
	// document is complete and CleanTemp removes the leftover link.
	final := w.name + docSuffix
	err = w.s.root.Link(w.temp, final)
	w.s.root.Remove(w.temp)
	if err != nil {
		return Document{}, err
	}
	if !syncDir {
		return doc, nil
	}
	if err := w.s.syncDir(); err != nil {
		// The caller sees a failure and stores no key; do not leave an
		// orphan behind either.
		w.s.root.Remove(final)
		return Document{}, err
	}
	return doc, nil
}

// Abort throws the document away. It is safe to call more than once, and
// after Commit, when it does nothing.
func (w *Writer) Abort() error {
	if w.done && w.err == nil {
		return nil
	}
	w.done = true
	if err := w.discard(); err != nil {
		return fmt.Errorf("spool: abort %s: %w", w.name, err)
	}
	return nil
}

// storeBufSize matches one DARE package, so each read fills one package.
const storeBufSize = 64 << 10

// Store reads r to EOF into a new document called name and commits it; see
// Create for maxSize. ctx is checked between reads. On any error (from r,
// the disk, ErrTooLarge, ctx) nothing remains in the spool.
func (s *Spool) Store(ctx context.Context, name string, r io.Reader, maxSize int64) (Document, error) {
	w, err := s.Create(ctx, name, maxSize)
	if err != nil {
		return Document{}, err
	}
	defer w.Abort()
	buf := make([]byte, storeBufSize)
	for {
		if err := ctx.Err(); err != nil {
			return Document{}, fmt.Errorf("spool: store %s: %w", name, err)
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return Document{}, err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return Document{}, fmt.Errorf("spool: store %s: read: %w", name, rerr)
		}
	}
	return w.Commit()
}
