package backup

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// Reader reads an archive's entries in order.
type Reader struct {
	tr   *tar.Reader
	seen map[string]bool
	m    Manifest
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
	br := &Reader{tr: tar.NewReader(r), seen: map[string]bool{}}
	hdr, err := br.tr.Next()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if hdr.Name != ManifestName || hdr.Typeflag != tar.TypeReg || hdr.Size > maxManifest {
		return nil, fmt.Errorf("%w: it does not start with its manifest", ErrInvalid)
	}
	raw, err := io.ReadAll(io.LimitReader(br.tr, maxManifest))
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

// Next returns the next entry: its name, its size and its content, read
// before the next call. At the end it returns io.EOF, and only then has
// the whole archive been authenticated.
func (r *Reader) Next() (name string, size int64, body io.Reader, err error) {
	hdr, err := r.tr.Next()
	if errors.Is(err, io.EOF) {
		return "", 0, nil, io.EOF
	}
	if err != nil {
		return "", 0, nil, fmt.Errorf("backup: read: %w", err)
	}
	switch {
	case hdr.Typeflag != tar.TypeReg:
		return "", 0, nil, fmt.Errorf("%w: entry %q is not a regular file", ErrInvalid, hdr.Name)
	case !ValidName(hdr.Name):
		return "", 0, nil, fmt.Errorf("%w: unexpected entry %q", ErrInvalid, hdr.Name)
	case r.seen[hdr.Name]:
		return "", 0, nil, fmt.Errorf("%w: entry %q twice", ErrInvalid, hdr.Name)
	case len(r.seen) >= maxEntries:
		return "", 0, nil, fmt.Errorf("%w: more than %d entries", ErrInvalid, maxEntries)
	case hdr.Size < 0:
		return "", 0, nil, fmt.Errorf("%w: entry %q has a negative size", ErrInvalid, hdr.Name)
	}
	r.seen[hdr.Name] = true
	return hdr.Name, hdr.Size, r.tr, nil
}
