// Package fsync makes files durable.
package fsync

import (
	"os"
	"syscall"
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
