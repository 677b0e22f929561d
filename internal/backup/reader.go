package backup

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
)

// Reader reads an archive's entries in order.
type Reader struct {
	// src is the decrypted stream, tr the archive in it.
	src  io.Reader
	tr   *tar.Reader
	seen map[string]bool
	m    Manifest
	// budget is what the entries still to come may hold together, when
	// Limit set it; negative means no limit.
	budget int64
}

// Open decrypts r with identities and reads the manifest.
func Open(r io.Reader, identities ...age.Identity) (*Reader, error) {
	dec, err := age.Decrypt(r, identities...)
	if err != nil {
		var none *age.NoIdentityMatchError
		if errors.As(err, &none) {
			return nil, fmt.Errorf("backup: wrong passphrase or key: %w", err)
		}
		return nil, fmt.Errorf("backup: decrypt: %w", err)
	}
	return newReader(dec)
}

// newReader reads the manifest of a decrypted archive.
func newReader(r io.Reader) (*Reader, error) {
	br := &Reader{src: r, tr: tar.NewReader(r), seen: map[string]bool{}, budget: -1}
	hdr, err := br.tr.Next()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if hdr.Name != ManifestName || checkHeader(hdr) != nil || hdr.Size > maxManifest {
		return nil, fmt.Errorf("%w: it does not start with its manifest", ErrInvalid)
	}
	raw, err := io.ReadAll(exactly(br.tr, hdr))
	if err != nil {
		return nil, fmt.Errorf("backup: manifest: %w", err)
	}
	if err := json.Unmarshal(raw, &br.m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrInvalid, err)
	}
	switch {
	case br.m.Format != Format:
		return nil, fmt.Errorf("%w: manifest names format %q", ErrInvalid, br.m.Format)
	case br.m.Version != Version:
		return nil, fmt.Errorf("backup: archive version %d; this printgate reads version %d", br.m.Version, Version)
	case br.m.Dialect != "sqlite" && br.m.Dialect != "postgres":
		return nil, fmt.Errorf("%w: manifest names database %q", ErrInvalid, br.m.Dialect)
	case br.m.DatabaseID == "":
		return nil, fmt.Errorf("%w: manifest names no database id", ErrInvalid)
	}
	br.seen[ManifestName] = true
	return br, nil
}

// Manifest returns the archive's manifest.
func (r *Reader) Manifest() Manifest { return r.m }

// Limit bounds what the entries still to come may hold together. An
// archive is not compressed, so none of its entries can hold more than
// the encrypted file's size: a restore passes that, and a header that
// claims more is refused before anything is written from it.
func (r *Reader) Limit(total int64) { r.budget = max(total, 0) }

// Next returns the next entry: its name, its size and its content, read
// before the next call, which yields exactly size bytes or an error. At
// the end it returns io.EOF, and only then has the whole archive been
// authenticated.
func (r *Reader) Next() (name string, size int64, body io.Reader, err error) {
	hdr, err := r.tr.Next()
	if errors.Is(err, io.EOF) {
		// age authenticates the end of the stream only when it is read:
		// an archive cut after the tar's end is still cut.
		if _, err := io.Copy(io.Discard, r.src); err != nil {
			return "", 0, nil, fmt.Errorf("backup: read: %w", err)
		}
		return "", 0, nil, io.EOF
	}
	if err != nil {
		return "", 0, nil, fmt.Errorf("backup: read: %w", err)
	}
	switch {
	case !ValidName(hdr.Name):
		return "", 0, nil, fmt.Errorf("%w: unexpected entry %q", ErrInvalid, hdr.Name)
	case r.seen[hdr.Name]:
		return "", 0, nil, fmt.Errorf("%w: entry %q twice", ErrInvalid, hdr.Name)
	case len(r.seen) >= maxEntries:
		return "", 0, nil, fmt.Errorf("%w: more than %d entries", ErrInvalid, maxEntries)
	case r.budget >= 0 && hdr.Size > r.budget:
		return "", 0, nil, fmt.Errorf("%w: entry %q claims %d bytes, more than the archive holds", ErrInvalid, hdr.Name, hdr.Size)
	}
	if err := checkHeader(hdr); err != nil {
		return "", 0, nil, err
	}
	if r.budget >= 0 {
		r.budget -= hdr.Size
	}
	r.seen[hdr.Name] = true
	return hdr.Name, hdr.Size, exactly(r.tr, hdr), nil
}

// checkHeader refuses anything but a plain regular file. archive/tar
// reports a PAX GNU sparse file as a regular one whose size is the one
// it expands to, made of holes the archive does not hold: a few bytes of
// archive would restore as gigabytes.
func checkHeader(hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeReg {
		return fmt.Errorf("%w: entry %q is not a regular file", ErrInvalid, hdr.Name)
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return fmt.Errorf("%w: entry %q is a sparse file", ErrInvalid, hdr.Name)
		}
	}
	if hdr.Size < 0 {
		return fmt.Errorf("%w: entry %q has a negative size", ErrInvalid, hdr.Name)
	}
	return nil
}

// exactly returns the content of the entry hdr, read from r: exactly
// hdr.Size bytes, or an error.
func exactly(r io.Reader, hdr *tar.Header) io.Reader {
	return &exactReader{r: r, left: hdr.Size, name: hdr.Name}
}

// exactReader yields exactly left bytes of r, and fails when r ends
// before them or has more.
type exactReader struct {
	r    io.Reader
	left int64
	name string
	err  error
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.left == 0 {
		// Nothing may follow what the header declared.
		var probe [1]byte
		if n, _ := io.ReadFull(e.r, probe[:]); n > 0 {
			e.err = fmt.Errorf("%w: entry %q holds more than its size", ErrInvalid, e.name)
			return 0, e.err
		}
		e.err = io.EOF
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case errors.Is(err, io.EOF) && e.left > 0:
		e.err = fmt.Errorf("%w: entry %q ends %d bytes short of its size", ErrInvalid, e.name, e.left)
		return n, e.err
	case errors.Is(err, io.EOF):
		err = nil // the probe above decides
	case err != nil:
		e.err = fmt.Errorf("backup: read %s: %w", e.name, err)
		return n, e.err
	}
	return n, err
}
