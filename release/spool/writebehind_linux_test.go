package spool

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/printgate/printgate/internal/testenv"
)

// TestWriteBehindReachesDisk: with the kernel's own writeback, the first
// MiBs of a document still streaming in leave the page cache's dirty
// pages within seconds, where left alone they would stay dirty until the
// flusher's expiry (30 s by default) or the document's fsync.
func TestWriteBehindReachesDisk(t *testing.T) {
	s := newTestSpool(t)
	var fs unix.Statfs_t
	err := unix.Statfs(s.root.Name(), &fs)
	if err == nil && fs.Type == unix.TMPFS_MAGIC {
		err = errors.New("the test's temporary folder is on tmpfs, which has no disk to write to")
	}
	testenv.Need(t, "a temporary folder on a disk", err)
	w, err := s.Create(context.Background(), "behind", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	const written = 3 * writeBehindEvery
	data := payload(64 << 10)
	for n := 0; n < written+writeBehindEvery/2; n += len(data) {
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	dirty := func() uint64 {
		var st unix.Cachestat_t
		err := unix.Cachestat(uint(w.f.Fd()), &unix.CachestatRange{Off: 0, Len: written}, &st, 0)
		if errors.Is(err, unix.ENOSYS) {
			testenv.Need(t, "cachestat(2) (Linux 6.5 and later)", err)
		}
		if err != nil {
			t.Fatalf("cachestat: %v", err)
		}
		return st.Dirty
	}
	// Well within the 30 s after which the kernel writes dirty pages back
	// on its own: past that, the test could not tell.
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for n := dirty(); n > 0; n = dirty() {
		if time.Now().After(deadline) {
			t.Fatalf("%d of the first %d pages still dirty 10 s after they were written: their writeback was never started", n, written/4096)
		}
		<-tick.C
	}
	if _, err := w.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}
