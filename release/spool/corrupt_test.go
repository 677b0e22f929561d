package spool

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestCorrupt checks that every way of getting the key or the file wrong
// ends in ErrCorrupt, either at Open or while reading, and that nothing but
// a prefix of the true plaintext is handed out before the error.
func TestCorrupt(t *testing.T) {
	const size = 3*pkg + 100 // four packages, the last one short
	hdr := 16                // DARE 2.0 package header
	pkgLen := int64(pkg + 32)

	tests := []struct {
		name   string
		change corruption
		atOpen bool // the damage is caught by Open, before any read
	}{
		{"wrong master key", func(t *testing.T, u setup) (*Spool, string, []byte) {
			s2, err := Open(u.s.Dir(), GenerateKey())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s2.Close() })
			return s2, "doc", u.doc.WrappedKey
		}, true},
		{"wrapped key with a flipped bit", func(t *testing.T, u setup) (*Spool, string, []byte) {
			return u.s, "doc", flipped(u.doc.WrappedKey, 30, 0x04)
		}, true},
		{"wrapped key cut short", func(t *testing.T, u setup) (*Spool, string, []byte) {
			return u.s, "doc", u.doc.WrappedKey[:len(u.doc.WrappedKey)-1]
		}, true},
		{"no wrapped key", func(t *testing.T, u setup) (*Spool, string, []byte) {
			return u.s, "doc", nil
		}, true},
		{"wrapped key of another document", func(t *testing.T, u setup) (*Spool, string, []byte) {
			return u.s, "doc", u.other.WrappedKey
		}, true},
		{"file swapped with another document", func(t *testing.T, u setup) (*Spool, string, []byte) {
			// Same length, so only authentication can tell.
			if err := os.Rename(filepath.Join(u.s.Dir(), "other.doc"), u.path); err != nil {
				t.Fatal(err)
			}
			return u.s, "doc", u.doc.WrappedKey
		}, false},
		{"flipped header byte", flipFileByte(1), false},
		{"flipped byte in first package", flipFileByte(int64(hdr) + 100), false},
		{"flipped byte in third package", flipFileByte(2*pkgLen + int64(hdr) + 5), false},
		{"flipped byte in final tag", flipFileByte(-1), false},
		{"file cut by one byte", resizeFile(-1), true},
		{"file cut at a package boundary", func(t *testing.T, u setup) (*Spool, string, []byte) {
			if err := os.Truncate(u.path, 3*pkgLen); err != nil {
				t.Fatal(err)
			}
			return u.s, "doc", u.doc.WrappedKey
		}, true},
		{"file emptied", func(t *testing.T, u setup) (*Spool, string, []byte) {
			if err := os.Truncate(u.path, 0); err != nil {
				t.Fatal(err)
			}
			return u.s, "doc", u.doc.WrappedKey
		}, true},
		{"byte appended", resizeFile(+1), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSpool(t)
			data := payload(size)
			ctx := context.Background()
			doc, err := s.Store(ctx, "doc", bytes.NewReader(data), 0)
			if err != nil {
				t.Fatal(err)
			}
			other, err := s.Store(ctx, "other", bytes.NewReader(bytes.Repeat([]byte("o"), size)), 0)
			if err != nil {
				t.Fatal(err)
			}
			s2, name, wrapped := tc.change(t, setup{s, doc, other, filepath.Join(s.Dir(), "doc.doc")})

			r, err := s2.Open(name, wrapped)
			if tc.atOpen {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Open err = %v, want ErrCorrupt", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v; want the damage found while reading", err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("read err = %v, want ErrCorrupt", err)
			}
			if !bytes.HasPrefix(data, got) {
				t.Errorf("read returned %d bytes that are not the document's start", len(got))
			}
			// Random access must refuse the damage as well.
			buf := make([]byte, size)
			n, err := r.ReadAt(buf, 0)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("ReadAt err = %v, want ErrCorrupt", err)
			}
			if !bytes.HasPrefix(data, buf[:n]) {
				t.Errorf("ReadAt returned %d bytes that are not the document's start", n)
			}
		})
	}
}

// setup is what a corruption case starts from.
type setup struct {
	s          *Spool // holds "doc" and "other"
	doc, other Document
	path       string // file of "doc"
}

// corruption damages something and returns the spool, name and wrapped key
// to open.
type corruption func(t *testing.T, u setup) (*Spool, string, []byte)

// flipFileByte damages one byte of the file at off (from the end if
// negative).
func flipFileByte(off int64) corruption {
	return func(t *testing.T, u setup) (*Spool, string, []byte) {
		b, err := os.ReadFile(u.path)
		if err != nil {
			t.Fatal(err)
		}
		if off < 0 {
			off += int64(len(b))
		}
		b[off] ^= 0x10
		if err := os.WriteFile(u.path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return u.s, "doc", u.doc.WrappedKey
	}
}

// resizeFile grows or shrinks the file by delta bytes.
func resizeFile(delta int64) corruption {
	return func(t *testing.T, u setup) (*Spool, string, []byte) {
		fi, err := os.Stat(u.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(u.path, fi.Size()+delta); err != nil {
			t.Fatal(err)
		}
		return u.s, "doc", u.doc.WrappedKey
	}
}
