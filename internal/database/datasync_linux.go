package database

import (
	"os"
	"syscall"
)

// dataSync flushes f's data and what is needed to read it back (its size),
// but not its times: the log is written over in place after each
// checkpoint, and a full fsync would commit the file system's journal for
// the new modification time at every group commit.
func dataSync(f *os.File) error {
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
