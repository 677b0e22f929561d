package journal

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/printgate/printgate/internal/testenv"
)

// spareIs waits until the journal's spare is in state want.
func spareIs(t *testing.T, j *Journal, want spareState) {
	t.Helper()
	testenv.WaitFor(t, fmt.Sprint("the spare segment in state ", want), func() bool {
		j.mu.Lock()
		defer j.mu.Unlock()
		return j.spare == want
	})
}

func TestPreallocatedSegments(t *testing.T) {
	const prealloc = 64 << 10
	dir, keys := t.TempDir(), newMemKeys()
	// A spare a stop left behind is removed, never taken as a segment.
	if err := os.WriteFile(filepath.Join(dir, spareName), []byte("left behind"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := Options{Preallocate: prealloc}
	j := open(t, dir, keys, opts)
	if _, err := os.Stat(filepath.Join(dir, spareName)); !os.IsNotExist(err) {
		t.Fatalf("Open left the old spare: %v", err)
	}
	rec := func(i int) string { return fmt.Sprintf("%04d%s", i, bytes.Repeat([]byte{'r'}, 1000)) }
	var want []string
	add := func(n int) {
		for range n {
			want = append(want, rec(len(want)))
			appendAll(t, j, want[len(want)-1])
		}
	}
	// A quarter of the segment written: the journal is busy, and a spare
	// is prepared beside it.
	add(prealloc / 4 / 1000)
	spareIs(t, j, spareReady)
	if fi, err := os.Stat(filepath.Join(dir, spareName)); err != nil || fi.Size() != prealloc {
		t.Fatalf("spare: %v, %v bytes; want %d", err, fi, prealloc)
	}
	// The next append goes to the spare, which it overwrites: the file
	// keeps its size while the records fit.
	add(prealloc / 2 / 1000)
	second := filepath.Join(dir, segmentName(2))
	if got := fileSize(t, second); got != prealloc {
		t.Errorf("segment 2 is %d bytes, want the %d preallocated", got, prealloc)
	}
	if n := j.Segments(); n != 2 {
		t.Errorf("%d segments, want 2", n)
	}
	// Full, it gives way to the next spare.
	spareIs(t, j, spareReady)
	add(prealloc / 2 / 1000)
	if n := j.Segments(); n != 3 {
		t.Errorf("%d segments after filling the first spare, want 3", n)
	}
	j.Close()

	// The zeros after the last record of a closed segment are its end, not
	// a corruption; every record comes back, in order.
	j = open(t, dir, keys, opts)
	if got := replayed(t, j, 0); !slices.Equal(got, want) {
		t.Fatalf("Replay gave %d records, want the %d appended", len(got), len(want))
	}
	if got, wantNext := j.Next(), uint64(len(want)+1); got != wantNext {
		t.Errorf("Next after reopening = %d, want %d", got, wantNext)
	}
}

func TestQuietJournalPreparesNoSpare(t *testing.T) {
	dir, keys := t.TempDir(), newMemKeys()
	j := open(t, dir, keys, Options{Preallocate: 1 << 20})
	for i := range 10 {
		appendAll(t, j, fmt.Sprint("job ", i))
	}
	j.Close()
	if _, err := os.Stat(filepath.Join(dir, spareName)); !os.IsNotExist(err) {
		t.Errorf("a journal that took 10 small records prepared a spare segment: %v", err)
	}
}

// TestZerosAreAnEnd: a preallocated segment closed when the next append
// did not fit ends with zeros, fewer than a frame's header or more; an
// older segment that does opens and replays.
func TestZerosAreAnEnd(t *testing.T) {
	for _, n := range []int{5, 11, 12, 4000} {
		t.Run(fmt.Sprint(n, " zeros"), func(t *testing.T) {
			dir, keys := twoSegments(t)
			appendTo(t, filepath.Join(dir, segmentName(1)), make([]byte, n))
			j := open(t, dir, keys, Options{})
			if got := replayed(t, j, 0); !slices.Equal(got, []string{"a", "b", "c"}) {
				t.Errorf("Replay = %q", got)
			}
		})
	}
}

// TestSpareFollowsNoLink: a link put where the spare is prepared is
// replaced, never followed: the file it names keeps its bytes.
func TestSpareFollowsNoLink(t *testing.T) {
	const prealloc = 64 << 10
	dir, keys := t.TempDir(), newMemKeys()
	j := open(t, dir, keys, Options{Preallocate: prealloc})
	victim := filepath.Join(t.TempDir(), "printgate.db")
	if err := os.WriteFile(victim, []byte("the database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, spareName)); err != nil {
		t.Fatal(err)
	}
	for i := range prealloc / 4 / 1000 {
		appendAll(t, j, fmt.Sprintf("%04d%s", i, bytes.Repeat([]byte{'r'}, 1000)))
	}
	spareIs(t, j, spareReady)
	if got, err := os.ReadFile(victim); err != nil || string(got) != "the database" {
		t.Errorf("the file the link named holds %d bytes (%v), want its own", len(got), err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, spareName)); err != nil || !fi.Mode().IsRegular() || fi.Size() != prealloc {
		t.Errorf("spare: %v, %v; want a file of its own of %d bytes", err, fi, prealloc)
	}
}
