package spool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
)

// TestSealRoundTrip: a document sealed in memory reads back through
// OpenSealed, sequentially and at random, is the same length a spool file
// of it would be, and never holds its plaintext.
func TestSealRoundTrip(t *testing.T) {
	for _, size := range []int{0, 1, pkg - 1, pkg, pkg + 1, 3*pkg + 17} {
		s := newTestSpool(t)
		data := payload(size)
		doc, sealed, err := s.Seal("job-7", data, make([]byte, 0, 16))
		if err != nil {
			t.Fatalf("%d bytes: Seal: %v", size, err)
		}
		if doc.Size != int64(size) || doc.SHA256 != sha256.Sum256(data) {
			t.Errorf("%d bytes: document %d bytes, SHA-256 %x", size, doc.Size, doc.SHA256)
		}
		if size > 0 && bytes.Contains(sealed, []byte(marker)) {
			t.Errorf("%d bytes: sealed bytes hold the plaintext", size)
		}
		file, err := s.Store(context.Background(), "job-7", bytes.NewReader(data), 0)
		if err != nil {
			t.Fatal(err)
		}
		if onDisk := fileSize(t, s, "job-7"); onDisk != int64(len(sealed)) {
			t.Errorf("%d bytes: sealed to %d bytes, a spool file takes %d", size, len(sealed), onDisk)
		}
		r, err := s.OpenSealed(doc.Name, doc.WrappedKey, sealed)
		if err != nil {
			t.Fatalf("%d bytes: OpenSealed: %v", size, err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%d bytes: read back %d bytes, %v", size, len(got), err)
		}
		if size > 2 {
			p := make([]byte, 2)
			if n, err := r.ReadAt(p, int64(size-2)); n != 2 || err != nil || !bytes.Equal(p, data[size-2:]) {
				t.Errorf("%d bytes: ReadAt the end: %d %v", size, n, err)
			}
		}
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		// A key wraps one document: the file's key does not open the
		// sealed bytes of the same name.
		if size > 0 {
			r, err := s.OpenSealed(doc.Name, file.WrappedKey, sealed)
			if err == nil {
				_, err = io.ReadAll(r)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%d bytes: another document's key read the sealed bytes: %v", size, err)
			}
		}
	}
}

func fileSize(t *testing.T, s *Spool, name string) int64 {
	t.Helper()
	fi, err := s.root.Stat(name + docSuffix)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestSealedCorrupt: altered, cut or misnamed sealed bytes never read as
// plaintext.
func TestSealedCorrupt(t *testing.T) {
	s := newTestSpool(t)
	data := payload(2*pkg + 5)
	doc, sealed, err := s.Seal("job-8", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)/2] ^= 1
	other := GenerateKey()
	foreign, _ := Open(t.TempDir(), other)
	defer foreign.Close()
	cases := []struct {
		name   string
		spool  *Spool
		doc    string
		sealed []byte
	}{
		{"a flipped bit", s, doc.Name, flipped},
		{"cut short", s, doc.Name, sealed[:len(sealed)-1]},
		{"cut at a package", s, doc.Name, sealed[:len(sealed)/2]},
		{"another name", s, "job-9", sealed},
		{"another master key", foreign, doc.Name, sealed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.spool.OpenSealed(tc.doc, doc.WrappedKey, tc.sealed)
			if err == nil {
				_, err = io.ReadAll(r)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("got %v, want ErrCorrupt", err)
			}
		})
	}
	if _, _, err := s.Seal("../escape", data, nil); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Seal with a bad name: %v", err)
	}
}

// TestCommitNoDirSync: a document committed without the directory sync
// is whole and readable at once; SyncDir then makes its name durable.
func TestCommitNoDirSync(t *testing.T) {
	s := newTestSpool(t)
	data := payload(pkg + 3)
	w, err := s.Create(context.Background(), "job-10", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	doc, err := w.CommitNoDirSync()
	if err != nil {
		t.Fatalf("CommitNoDirSync: %v", err)
	}
	if err := s.SyncDir(); err != nil {
		t.Fatalf("SyncDir: %v", err)
	}
	if got := readAll(t, s, doc); !bytes.Equal(got, data) {
		t.Errorf("read back %d bytes, want %d", len(got), len(data))
	}
	if files := spoolFiles(t, s); len(files) != 1 || files[0] != "job-10.doc" {
		t.Errorf("spool holds %q, want only the document", files)
	}
	if _, err := w.CommitNoDirSync(); err == nil {
		t.Error("a second commit succeeded")
	}
}
