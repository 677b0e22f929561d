package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// memKeys is a Keys in memory, standing in for the owner's database.
type memKeys struct {
	mu      sync.Mutex
	keys    map[uint64][]byte
	deleted []uint64
}

func newMemKeys() *memKeys { return &memKeys{keys: map[uint64][]byte{}} }

func (k *memKeys) Save(_ context.Context, n uint64, key []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[n] = slices.Clone(key)
	return nil
}

func (k *memKeys) Load(context.Context) (map[uint64][]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[uint64][]byte{}
	for n, key := range k.keys {
		out[n] = slices.Clone(key)
	}
	return out, nil
}

func (k *memKeys) Delete(_ context.Context, n uint64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.keys, n)
	k.deleted = append(k.deleted, n)
	return nil
}

func open(t *testing.T, dir string, keys Keys, opts Options) *Journal {
	t.Helper()
	j, err := Open(context.Background(), dir, keys, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func appendAll(t *testing.T, j *Journal, recs ...string) uint64 {
	t.Helper()
	bs := make([][]byte, len(recs))
	for i, r := range recs {
		bs[i] = []byte(r)
	}
	first, err := j.Append(context.Background(), bs)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return first
}

func replayed(t *testing.T, j *Journal, after uint64) []string {
	t.Helper()
	var got []string
	want := after + 1
	err := j.Replay(context.Background(), after, func(seq uint64, rec []byte) error {
		if seq != want {
			return fmt.Errorf("record %d where %d was due", seq, want)
		}
		want++
		got = append(got, string(rec))
		return nil
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return got
}

func TestAppendReopenReplay(t *testing.T) {
	dir, keys := t.TempDir(), newMemKeys()
	j := open(t, dir, keys, Options{})
	if first := appendAll(t, j, "a", "b"); first != 1 {
		t.Errorf("first batch begins at %d, want 1", first)
	}
	if first := appendAll(t, j, "c"); first != 3 {
		t.Errorf("second batch begins at %d, want 3", first)
	}
	j.Close()

	j = open(t, dir, keys, Options{})
	if got := j.Next(); got != 4 {
		t.Errorf("after reopening, Next = %d, want 4", got)
	}
	for _, tt := range []struct {
		after uint64
		want  []string
	}{
		{0, []string{"a", "b", "c"}},
		{2, []string{"c"}},
		{3, nil},
	} {
		if got := replayed(t, j, tt.after); !slices.Equal(got, tt.want) {
			t.Errorf("Replay after %d = %q, want %q", tt.after, got, tt.want)
		}
	}
	// A reopened journal never writes into an old segment again: its key
	// sealed frames a crash may have cut, whose nonces must not return.
	if first := appendAll(t, j, "d"); first != 4 {
		t.Errorf("append after reopening begins at %d, want 4", first)
	}
	if n := j.Segments(); n != 2 {
		t.Errorf("%d segments after reopening and appending, want 2", n)
	}
	j.Close()
	j = open(t, dir, keys, Options{})
	if got := replayed(t, j, 0); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("Replay across segments = %q", got)
	}
}

func TestRecordsAreSealed(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, newMemKeys(), Options{})
	secret := "wrapped-key-of-a-payslip"
	appendAll(t, j, secret)
	raw, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(secret)) {
		t.Error("the segment file holds the record in clear")
	}
}

func TestTornEnd(t *testing.T) {
	for _, tt := range []struct {
		name string
		tear func(t *testing.T, path string)
	}{
		{"half a frame", func(t *testing.T, path string) {
			appendTo(t, path, []byte{0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3})
		}},
		{"a whole frame that does not verify", func(t *testing.T, path string) {
			frame := []byte{0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 3}
			appendTo(t, path, append(frame, make([]byte, 17)...))
		}},
		{"zeros, then more than zeros", func(t *testing.T, path string) {
			appendTo(t, path, append(make([]byte, 4000), 'x'))
		}},
		{"a header cut short", func(t *testing.T, path string) {
			os.WriteFile(filepath.Join(filepath.Dir(path), segmentName(2)), []byte("PGJ"), 0o600)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, keys := t.TempDir(), newMemKeys()
			j := open(t, dir, keys, Options{})
			appendAll(t, j, "a", "b")
			j.Close()
			path := filepath.Join(dir, segmentName(1))
			size := fileSize(t, path)
			if tt.name == "a header cut short" {
				keys.Save(context.Background(), 2, make([]byte, 32))
			}
			tt.tear(t, path)

			j = open(t, dir, keys, Options{})
			if got := fileSize(t, path); tt.name != "a header cut short" && got != size {
				t.Errorf("segment is %d bytes after Open, want the torn end cut to %d", got, size)
			}
			if got := replayed(t, j, 0); !slices.Equal(got, []string{"a", "b"}) {
				t.Errorf("Replay = %q, want the acknowledged records", got)
			}
			if first := appendAll(t, j, "c"); first != 3 {
				t.Errorf("next append begins at %d, want 3", first)
			}
		})
	}
}

// TestCorruptOlderSegment: what a crash can leave only at the end of the
// newest segment, anywhere else is damage or tampering.
func TestCorruptOlderSegment(t *testing.T) {
	for _, tt := range []struct {
		name  string
		alter func(t *testing.T, path string)
	}{
		{"a bit flipped", func(t *testing.T, path string) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			raw[headerSize+frameHeader+1] ^= 1
			if err := os.WriteFile(path, raw, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		// Zeros end a preallocated segment only when nothing else follows.
		{"zeros, then more than zeros", func(t *testing.T, path string) {
			appendTo(t, path, append(make([]byte, 4000), 'x'))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, keys := twoSegments(t)
			tt.alter(t, filepath.Join(dir, segmentName(1)))
			if _, err := Open(context.Background(), dir, keys, Options{}); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Open over an altered older segment: %v, want ErrCorrupt", err)
			}
		})
	}
}

// twoSegments makes a journal of two segments, records "a" and "b" in the
// first and "c" in the second, and returns its folder and keys.
func twoSegments(t *testing.T) (string, *memKeys) {
	t.Helper()
	dir, keys := t.TempDir(), newMemKeys()
	j := open(t, dir, keys, Options{})
	appendAll(t, j, "a", "b")
	j.Close()
	j = open(t, dir, keys, Options{})
	appendAll(t, j, "c")
	j.Close()
	return dir, keys
}

// appendTo appends b to the file at path.
func appendTo(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
