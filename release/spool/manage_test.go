package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/sio"
)

func TestDuplicateName(t *testing.T) {
	s := newTestSpool(t)
	first, err := s.Store(context.Background(), "doc", bytes.NewReader(payload(10)), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Store(context.Background(), "doc", bytes.NewReader([]byte("other")), 0)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Store err = %v, want fs.ErrExist", err)
	}
	if files := spoolFiles(t, s); !slices.Equal(files, []string{"doc.doc"}) {
		t.Errorf("spool files = %q, want only the first document", files)
	}
	if got := readAll(t, s, first); !bytes.Equal(got, payload(10)) {
		t.Error("first document was changed")
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name  string
		valid bool
	}{
		{"42", true},
		{"job-42_v1.pdf", true},
		{"0F3C2B8E-6A1D-4E59-9D3A-2B1C0D9E8F7A", true},
		{strings.Repeat("a", 200), true},
		{"", false},
		{"../x", false},
		{"a/b", false},
		{"/abs", false},
		{`a\b`, false},
		{".", false},
		{"..", false},
		{".hidden", false},
		{"a b", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"caf\u00e9", false},
		{strings.Repeat("a", 201), false},
	}
	s := newTestSpool(t)
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.name), func(t *testing.T) {
			if got := ValidName(tc.name); got != tc.valid {
				t.Fatalf("ValidName = %v, want %v", got, tc.valid)
			}
			if tc.valid {
				return
			}
			if _, err := s.Create(context.Background(), tc.name, 0); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Create err = %v, want ErrInvalidName", err)
			}
			if _, err := s.Store(context.Background(), tc.name, strings.NewReader("x"), 0); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Store err = %v, want ErrInvalidName", err)
			}
			if _, err := s.Open(tc.name, nil); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Open err = %v, want ErrInvalidName", err)
			}
			if err := s.Remove(tc.name); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Remove err = %v, want ErrInvalidName", err)
			}
		})
	}
	assertEmpty(t, s)
}

func TestRemove(t *testing.T) {
	s := newTestSpool(t)
	doc, err := s.Store(context.Background(), "doc", bytes.NewReader(payload(10)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("doc"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	assertEmpty(t, s)
	if _, err := s.Open(doc.Name, doc.WrappedKey); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after Remove: err = %v, want fs.ErrNotExist", err)
	}
	if err := s.Remove("doc"); err != nil {
		t.Errorf("Remove of a missing document: %v, want nil", err)
	}
}

func TestListCleanTempUsage(t *testing.T) {
	s := newTestSpool(t)
	ctx := context.Background()
	var wantUsage int64
	for _, name := range []string{"b", "a", "c.1"} {
		doc, err := s.Store(ctx, name, bytes.NewReader(payload(pkg+5)), 0)
		if err != nil {
			t.Fatal(err)
		}
		enc, _ := sio.EncryptedSize(uint64(doc.Size))
		wantUsage += int64(enc)
	}
	// Leftovers of a crash: one old temporary file, one fresh one, and a
	// file that is neither (not ours; left alone).
	stale, err := s.Create(ctx, "stale", 0)
	if err != nil {
		t.Fatal(err)
	}
	stale.Write(payload(10))
	live, err := s.Create(ctx, "live", 0)
	if err != nil {
		t.Fatal(err)
	}
	live.Write(payload(10))
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(s.Dir(), stale.temp), old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	names, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c.1"}; !slices.Equal(names, want) {
		t.Errorf("List = %q, want %q", names, want)
	}

	usage, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if min := wantUsage + 1; usage < min {
		t.Errorf("Usage = %d, want at least %d (documents and notes.txt)", usage, min)
	}

	n, err := s.CleanTemp(time.Hour)
	if err != nil || n != 1 {
		t.Errorf("CleanTemp(1h) = %d, %v; want 1 (the stale file only)", n, err)
	}
	if _, err := stale.Commit(); err == nil {
		t.Error("Commit of a writer whose temporary file was cleaned: no error")
	}
	n, err = s.CleanTemp(0)
	if err != nil || n != 1 {
		t.Errorf("CleanTemp(0) = %d, %v; want 1 (the live file)", n, err)
	}
	live.Abort()
	want := []string{"a.doc", "b.doc", "c.1.doc", "notes.txt"}
	if files := spoolFiles(t, s); !slices.Equal(files, want) {
		t.Errorf("spool files = %q, want %q", files, want)
	}
	if names, _ := s.List(); len(names) != 3 {
		t.Errorf("List after cleaning = %q", names)
	}
}

func TestOpenCreatesPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "spool")
	s, err := Open(dir, GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("spool directory permissions = %04o, want 0700", fi.Mode().Perm())
	}
}

func TestConcurrentUse(t *testing.T) {
	s := newTestSpool(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			name := fmt.Sprintf("doc-%d", i)
			data := payload(pkg + 100 + 1000*i)
			doc, err := s.Store(context.Background(), name, bytes.NewReader(data), 0)
			if err != nil {
				errs <- err
				return
			}
			r, err := s.Open(name, doc.WrappedKey)
			if err != nil {
				errs <- err
				return
			}
			defer r.Close()
			// Sequential and random reads of one Reader at once.
			var inner sync.WaitGroup
			inner.Go(func() {
				p := make([]byte, 100)
				if _, err := r.ReadAt(p, pkg-50); err != nil || !bytes.Equal(p, data[pkg-50:pkg+50]) {
					errs <- fmt.Errorf("%s: ReadAt: %v", name, err)
				}
			})
			got, err := io.ReadAll(r)
			inner.Wait()
			if err != nil || !bytes.Equal(got, data) {
				errs <- fmt.Errorf("%s: read back %d bytes, %v", name, len(got), err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if names, err := s.List(); err != nil || len(names) != 8 {
		t.Errorf("List = %q, %v; want 8 documents", names, err)
	}
}
