package spool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minio/sio"
	"golang.org/x/sys/unix"
)

// marker is the recognisable plaintext; it must never appear on disk.
const marker = "PRINTGATE-PLAINTEXT-MARKER|"

func newTestSpool(t testing.TB) *Spool {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "spool"), GenerateKey())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// payload returns n bytes of the marker repeated.
func payload(n int) []byte {
	return []byte(strings.Repeat(marker, n/len(marker)+1)[:n])
}

// spoolFiles returns the names of all files in the spool directory.
func spoolFiles(t *testing.T, s *Spool) []string {
	t.Helper()
	entries, err := os.ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func assertEmpty(t *testing.T, s *Spool) {
	t.Helper()
	if files := spoolFiles(t, s); len(files) != 0 {
		t.Errorf("spool directory holds %q, want nothing", files)
	}
}

func readAll(t *testing.T, s *Spool, doc Document) []byte {
	t.Helper()
	r, err := s.Open(doc.Name, doc.WrappedKey)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return got
}

const pkg = 64 << 10 // one DARE package of plaintext

func TestRoundTrip(t *testing.T) {
	sizes := []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"one byte", 1},
		{"package minus one", pkg - 1},
		{"one package", pkg},
		{"package plus one", pkg + 1},
		{"two packages", 2 * pkg},
		{"3 MiB and a bit", 3<<20 + 17},
	}
	// Both ways in: Store from a reader, and a Writer fed in odd-sized
	// chunks so that writes straddle package boundaries.
	ways := []struct {
		name  string
		store func(s *Spool, name string, data []byte) (Document, error)
	}{
		{"Store", func(s *Spool, name string, data []byte) (Document, error) {
			return s.Store(context.Background(), name, bytes.NewReader(data), 0)
		}},
		{"Writer", func(s *Spool, name string, data []byte) (Document, error) {
			w, err := s.Create(context.Background(), name, int64(len(data)))
			if err != nil {
				return Document{}, err
			}
			defer w.Abort()
			for rest := data; len(rest) > 0; {
				n := min(len(rest), 40_000)
				if _, err := w.Write(rest[:n]); err != nil {
					return Document{}, err
				}
				rest = rest[n:]
			}
			return w.Commit()
		}},
	}
	for _, way := range ways {
		for _, sz := range sizes {
			t.Run(way.name+"/"+sz.name, func(t *testing.T) {
				s := newTestSpool(t)
				data := payload(sz.size)
				doc, err := way.store(s, "job-42", data)
				if err != nil {
					t.Fatalf("store: %v", err)
				}
				if doc.Name != "job-42" || doc.Size != int64(len(data)) || doc.SHA256 != sha256.Sum256(data) {
					t.Errorf("Document = {%s %d %x}, want {job-42 %d %x}", doc.Name, doc.Size, doc.SHA256, len(data), sha256.Sum256(data))
				}
				if len(doc.WrappedKey) == 0 {
					t.Error("no wrapped key")
				}
				if got := readAll(t, s, doc); !bytes.Equal(got, data) {
					t.Errorf("read back %d bytes, differing from the %d written", len(got), len(data))
				}
				r, err := s.Open(doc.Name, doc.WrappedKey)
				if err != nil {
					t.Fatal(err)
				}
				if r.Size() != int64(len(data)) {
					t.Errorf("Reader.Size = %d, want %d", r.Size(), len(data))
				}
				r.Close()

				if files := spoolFiles(t, s); !slices.Equal(files, []string{"job-42.doc"}) {
					t.Errorf("spool files = %q, want [job-42.doc]", files)
				}
				fi, err := os.Stat(filepath.Join(s.Dir(), "job-42.doc"))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("document permissions = %04o, want 0600", fi.Mode().Perm())
				}
				if want, _ := sio.EncryptedSize(uint64(len(data))); uint64(fi.Size()) != want {
					t.Errorf("file size = %d, want %d", fi.Size(), want)
				}
				assertNoPlaintext(t, s.Dir(), data)
			})
		}
	}
}

// assertNoPlaintext fails if the marker, or a long run of data, appears in
// any file under dir.
func assertNoPlaintext(t *testing.T, dir string, data []byte) {
	t.Helper()
	probe := []byte(marker)
	if len(data) < len(probe) {
		probe = data
	}
	if len(probe) < 2 {
		return // too short to tell from chance
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, probe) {
			t.Errorf("%s contains plaintext %q", path, probe)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadAt(t *testing.T) {
	s := newTestSpool(t)
	data := payload(3*pkg + 100)
	doc, err := s.Store(context.Background(), "doc", bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(doc.Name, doc.WrappedKey)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	size := int64(len(data))
	tests := []struct {
		name    string
		off     int64
		n       int
		wantN   int
		wantEOF bool
	}{
		{"start", 0, 10, 10, false},
		{"inside first package", 1000, 500, 500, false},
		{"across first boundary", pkg - 2, 4, 4, false},
		{"at second package", pkg, 1, 1, false},
		{"across two boundaries", pkg - 5, pkg + 10, pkg + 10, false},
		{"last byte", size - 1, 1, 1, false},
		{"past the end", size - 3, 10, 3, true},
		{"at the end", size, 1, 0, true},
		{"beyond the end", size + 100, 1, 0, true},
		{"whole", 0, int(size), int(size), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := make([]byte, tc.n)
			n, err := r.ReadAt(p, tc.off)
			if n != tc.wantN {
				t.Errorf("n = %d, want %d", n, tc.wantN)
			}
			if tc.wantEOF != (err == io.EOF) || (!tc.wantEOF && err != nil) {
				t.Errorf("err = %v, want EOF %v", err, tc.wantEOF)
			}
			if end := tc.off + int64(n); n > 0 && !bytes.Equal(p[:n], data[tc.off:end]) {
				t.Error("ReadAt returned other bytes than written")
			}
		})
	}
	if _, err := r.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("negative offset: no error")
	}
	// ReadAt does not disturb the sequential reader.
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, data) {
		t.Errorf("Read after ReadAt: %d bytes, %v", len(got), err)
	}
}

func TestTooLarge(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		max     int64
		wantErr error
	}{
		{"below limit", 99, 100, nil},
		{"at limit", 100, 100, nil},
		{"one over", 101, 100, ErrTooLarge},
		{"far over, many packages", 5 * pkg, pkg, ErrTooLarge},
		{"empty with limit", 0, 1, nil},
		{"no limit", 2 * pkg, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSpool(t)
			doc, err := s.Store(context.Background(), "doc", bytes.NewReader(payload(tc.size)), tc.max)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Store err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				assertEmpty(t, s)
				return
			}
			if doc.Size != int64(tc.size) {
				t.Errorf("Size = %d, want %d", doc.Size, tc.size)
			}
		})
	}
}

func TestWriterTooLargeCleansUpWithoutAbort(t *testing.T) {
	s := newTestSpool(t)
	w, err := s.Create(context.Background(), "doc", 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(payload(8)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(payload(3)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Write over the limit: err = %v, want ErrTooLarge", err)
	}
	assertEmpty(t, s) // before any Abort or Commit
	if _, err := w.Write(payload(1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("later Write: err = %v, want the same ErrTooLarge", err)
	}
	if _, err := w.Commit(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Commit: err = %v, want ErrTooLarge", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort: %v", err)
	}
	assertEmpty(t, s)
}

func TestAbort(t *testing.T) {
	s := newTestSpool(t)
	w, err := s.Create(context.Background(), "doc", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(payload(3 * pkg)); err != nil {
		t.Fatal(err)
	}
	if len(spoolFiles(t, s)) != 1 {
		t.Fatalf("spool files while writing = %q, want one temporary file", spoolFiles(t, s))
	}
	if names, _ := s.List(); len(names) != 0 {
		t.Errorf("List while writing = %q, want nothing: uncommitted documents must be invisible", names)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	assertEmpty(t, s)
	if err := w.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after Abort: no error")
	}
	if _, err := w.Commit(); err == nil {
		t.Error("Commit after Abort: no error")
	}
	assertEmpty(t, s)
}

func TestAbortAfterCommitKeepsDocument(t *testing.T) {
	s := newTestSpool(t)
	w, err := s.Create(context.Background(), "doc", 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(payload(100))
	doc, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if _, err := w.Commit(); err == nil {
		t.Error("second Commit: no error")
	}
	if got := readAll(t, s, doc); !bytes.Equal(got, payload(100)) {
		t.Error("document changed by Abort after Commit")
	}
}

// failingReader yields some data, then an error.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestStoreFailuresLeaveNothing(t *testing.T) {
	errBroken := errors.New("connection reset")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		r       io.Reader
		wantErr error
	}{
		{"reader error", context.Background(), &failingReader{payload(3 * pkg), errBroken}, errBroken},
		{"context cancelled before", cancelled, bytes.NewReader(payload(10)), context.Canceled},
		{"context cancelled while reading", context.Background(), nil, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSpool(t)
			ctx, r := tc.ctx, tc.r
			if r == nil {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(context.Background())
				r = &cancellingReader{data: payload(5 * pkg), after: 2, cancel: cancel}
			}
			_, err := s.Store(ctx, "doc", r, 0)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Store err = %v, want %v", err, tc.wantErr)
			}
			assertEmpty(t, s)
		})
	}
}

// cancellingReader cancels its context after some reads, as a client going
// away mid-upload would.
type cancellingReader struct {
	data   []byte
	after  int
	cancel context.CancelFunc
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	if r.after--; r.after == 0 {
		r.cancel()
	}
	n := copy(p[:min(len(p), 1000)], r.data)
	r.data = r.data[n:]
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func TestFree(t *testing.T) {
	s := newTestSpool(t)
	free, err := s.Free()
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(s.Dir(), &st); err != nil {
		t.Fatal(err)
	}
	want := int64(st.Bavail) * int64(st.Bsize)
	// Other processes write meanwhile: a few megabytes either way.
	if free <= 0 || free > want+64<<20 || free < want-64<<20 {
		t.Errorf("Free = %d, statfs says %d", free, want)
	}
}
