//go:build unix

package spool

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Free returns the bytes still available to printgate (an unprivileged
// writer) on the file system holding the spool, for a quota that is a
// share of the free disk.
func (s *Spool) Free() (int64, error) {
	d, err := s.root.Open(".")
	if err != nil {
		return 0, fmt.Errorf("spool: free space: %w", err)
	}
	defer d.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(d.Fd()), &st); err != nil {
		return 0, fmt.Errorf("spool: free space: %w", err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil //nolint:unconvert // the field types differ between systems
}
