package fsync

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// tempSuffix ends the names of the temporary files CreateFile writes
// before it links them into place.
const tempSuffix = ".tmp"

// tempLen is how many random characters a temporary name has between
// path and tempSuffix.
const tempLen = 10

// CreateFile makes path hold data with mode perm, durably, unless path
// exists: then it returns an error for which errors.Is(err, fs.ErrExist)
// holds, and what is at path was put there whole by an earlier call (or
// by hand). data is written and fsynced under a temporary name beside
// path, linked to path (which fails if path exists, so two callers at once
// do not overwrite each other's file) and the directory fsynced, so that
// path never holds a part of data, not even after a power loss. A crash
// leaves at most a temporary file, which RemoveTemps removes.
func CreateFile(path string, data []byte, perm os.FileMode) error {
	tmp := fmt.Sprintf("%s.%s%s", path, rand.Text()[:tempLen], tempSuffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	// On success data lives on under path; the temporary name goes
	// either way.
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if _, serr := os.Lstat(path); errors.Is(err, os.ErrNotExist) && serr == nil {
			// RemoveTemps of another caller, which found path whole,
			// took our temporary file.
			return &os.LinkError{Op: "link", Old: tmp, New: path, Err: os.ErrExist}
		}
		return err
	}
	return Dir(filepath.Dir(path))
}

// RemoveTemps removes the temporary files a crashed CreateFile of path
// left beside it. Call it only once path exists: a CreateFile running
// meanwhile then finds path there, as it would have anyway.
func RemoveTemps(path string) error {
	dir, base := filepath.Split(path)
	entries, err := os.ReadDir(filepath.Clean(dir))
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		mid, ok := strings.CutPrefix(e.Name(), base+".")
		if mid, ok = strings.CutSuffix(mid, tempSuffix); !ok || len(mid) != tempLen {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Dir fsyncs the directory dir: what was created, linked, renamed or
// removed in it survives a power loss.
func Dir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
