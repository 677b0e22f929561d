package packaging

import (
	"os"
	"syscall"
	"testing"
)

// groupOf returns the group that owns path.
func groupOf(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no owners on this system")
	}
	return int(st.Gid)
}
