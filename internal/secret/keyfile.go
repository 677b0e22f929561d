package secret

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/printgate/printgate/internal/fsync"
)

// LoadOrCreateKeyFile returns the n-byte key in path, creating it from
// crypto/rand with mode 0600 if it does not exist. A key file that others
// may read, or of the wrong length, is refused.
//
// The key is created whole or not at all (fsync.CreateFile): written and
// fsynced under a temporary name, then linked into place and its folder
// fsynced. A key written in place could come back empty after a power
// loss, and a printgate that starts beside another one creating it could
// read it half written: either would fail every start from then on, or,
// replaced, make every stored credential and the audit chain's keyed
// hashes unverifiable. Two first starts at once both end up with the key
// of the one that linked first.
func LoadOrCreateKeyFile(path string, n int) ([]byte, error) {
	key, err := readKeyFile(path, n)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKeyFile(path, n)
	}
	if err != nil {
		return nil, err
	}
	// What a crash left of a creation, before or after the link, holds a
	// key too: best effort, since the key at path is what counts (and its
	// folder may be one printgate cannot list).
	_ = fsync.RemoveTemps(path)
	return key, nil
}

// createKeyFile creates the n-byte key at path, unless another printgate
// did first, and returns the key at path.
func createKeyFile(path string, n int) ([]byte, error) {
	fresh := make([]byte, n)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("secret: generate key: %w", err)
	}
	err := fsync.CreateFile(path, fresh, 0o600)
	clear(fresh)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("secret: create key %s: %w", path, err)
	}
	return readKeyFile(path, n)
}

// readKeyFile reads the n-byte key at path; its errors wrap
// fs.ErrNotExist when there is none.
func readKeyFile(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret: read key %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret: key %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret: key %s is readable by others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	// One byte more than a key, to tell a longer file.
	key, err := io.ReadAll(io.LimitReader(f, int64(n)+1))
	if err != nil {
		return nil, fmt.Errorf("secret: read key %s: %w", path, err)
	}
	if len(key) != n {
		clear(key)
		if len(key) > n {
			return nil, fmt.Errorf("secret: key %s has more than %d bytes, want %d", path, n, n)
		}
		return nil, fmt.Errorf("secret: key %s has %d bytes, want %d", path, len(key), n)
	}
	return key, nil
}
