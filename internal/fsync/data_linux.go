// Package fsync makes files durable.
package fsync

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Data flushes f's data and what is needed to read it back (its size),
// but not its times: for files written over in place or appended to at
// every group commit (SQLite's log, the journal), where a full fsync
// would also commit the file system's journal for the new modification
// time each time.
func Data(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}

// StartWrite asks the kernel to begin writing n bytes of f from off to
// the disk, and returns without waiting: a file written in a stream is
// then mostly on disk by the time it is synced, and the sync waits for
// its tail only (PostgreSQL's backend_flush_after does the same). It
// neither makes anything durable nor reports the write's outcome: only
// a later Sync does, which is why it never waits (a wait here could
// consume a write error that the Sync must see).
func StartWrite(f *os.File, off, n int64) error {
	for {
		err := unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
		if err != unix.EINTR {
			if err != nil {
				return &os.PathError{Op: "sync_file_range", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
