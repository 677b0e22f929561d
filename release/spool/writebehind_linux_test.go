package spool

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWriteBehindReachesDisk: with the kernel's own writeback, the first
// MiBs of a document still streaming in leave the page cache's dirty
// pages within seconds, where left alone they would stay dirty until the
// flusher's expiry (30 s by default) or the document's fsync.
func TestWriteBehindReachesDisk(t *testing.T) {
	s := newTestSpool(t)
	var fs unix.Statfs_t
	if err := unix.Statfs(s.root.Name(), &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type == unix.TMPFS_MAGIC {
		t.Skip("the spool's folder is on tmpfs, which has no disk to write to")
	}
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
	var st unix.Cachestat_t
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := unix.Cachestat(uint(w.f.Fd()), &unix.CachestatRange{Off: 0, Len: written}, &st, 0)
		if errors.Is(err, unix.ENOSYS) {
			t.Skip("no cachestat(2) in this kernel (Linux 6.5 added it)")
		}
		if err != nil {
			t.Fatalf("cachestat: %v", err)
		}
		if st.Dirty == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the first %d pages still dirty 10 s after they were written: their writeback was never started", st.Dirty, written/4096)
		}
	}
	if _, err := w.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}
