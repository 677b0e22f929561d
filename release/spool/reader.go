package spool

import (
	"errors"
	"fmt"
	"io"

	"github.com/minio/sio"
)

// Reader decrypts a document. Read streams it from the start; ReadAt reads
// any part at random (each call decrypts the 64 KiB packages it touches).
// Read and ReadAt may be used together: they do not share an offset. For an
// io.ReadSeeker, use io.NewSectionReader(r, 0, r.Size()).
//
// A document that was altered or does not match its key yields an error
// wrapping ErrCorrupt; a Reader never returns plaintext from a package that
// failed authentication.
type Reader struct {
	name  string
	f     io.Closer // the file; nil for sealed bytes
	size  int64
	dec   io.Reader   // sequential
	decAt io.ReaderAt // random access
}

// Open opens the document name for reading, using the wrapped key that
// Commit or Store returned for it. A missing document gives an error
// wrapping fs.ErrNotExist; a wrapped key that does not open with the
// spool's master key for this name, or a file of the wrong length, gives
// ErrCorrupt.
func (s *Spool) Open(name string, wrappedKey []byte) (*Reader, error) {
	if err := checkName("open", name); err != nil {
		return nil, err
	}
	f, err := s.root.Open(name + docSuffix)
	if err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: open %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("spool: open %s: not a regular file: %w", name, ErrCorrupt)
	}
	r, err := s.newReader(name, wrappedKey, f, fi.Size(), f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// newReader decrypts the stored bytes src of document name, of length
// stored; closer, if not nil, is closed with the Reader.
func (s *Spool) newReader(name string, wrappedKey []byte, src io.ReaderAt, stored int64, closer io.Closer) (*Reader, error) {
	dataKey, size, err := s.key.unwrap(name, wrappedKey)
	if err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", name, err)
	}
	defer clear(dataKey)
	// The wrapped key vouches for the plaintext size, so the stored length
	// is known exactly: this catches a document cut at a package boundary
	// or emptied, which the stream format alone would not.
	want, err := sio.EncryptedSize(uint64(size))
	if err != nil || uint64(stored) != want {
		return nil, fmt.Errorf("spool: open %s: stored %d bytes, want %d: %w", name, stored, want, ErrCorrupt)
	}
	// sio copies the key into its cipher state, so dataKey may be cleared
	// when newReader returns.
	cfg := sio.Config{MinVersion: sio.Version20, MaxVersion: sio.Version20, Key: dataKey}
	var dec io.Reader = eofReader{}
	if size > 0 {
		// An empty document is stored as nothing, which sio's reader takes
		// for a truncated stream; its emptiness is vouched for by the
		// sealed size checked above.
		dec, err = sio.DecryptReader(io.NewSectionReader(src, 0, stored), cfg)
		if err != nil {
			return nil, fmt.Errorf("spool: open %s: %w", name, err)
		}
	}
	decAt, err := sio.DecryptReaderAt(src, cfg)
	if err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", name, err)
	}
	return &Reader{name: name, f: closer, size: size, dec: dec, decAt: decAt}, nil
}

// Size returns the plaintext length of the document.
func (r *Reader) Size() int64 { return r.size }

// Read reads the plaintext in order.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.dec.Read(p)
	return n, r.mapErr("read", err)
}

// ReadAt reads len(p) plaintext bytes starting at off. Like io.ReaderAt, it
// returns io.EOF with fewer bytes when p reaches past the end.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("spool: read %s: negative offset", r.name)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	short := false
	if rest := r.size - off; int64(len(p)) > rest {
		p, short = p[:rest], true
	}
	n, err := r.decAt.ReadAt(p, off)
	if err == nil && short {
		err = io.EOF
	}
	return n, r.mapErr("read", err)
}

// Close closes the document file, if there is one.
func (r *Reader) Close() error {
	if r.f == nil {
		return nil
	}
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("spool: close %s: %w", r.name, err)
	}
	return nil
}

// mapErr turns sio's authentication and format errors into ErrCorrupt and
// adds context to others, leaving io.EOF as is.
func (r *Reader) mapErr(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var sioErr sio.Error
	if errors.As(err, &sioErr) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("spool: %s %s: %v: %w", op, r.name, err, ErrCorrupt)
	}
	return fmt.Errorf("spool: %s %s: %w", op, r.name, err)
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
