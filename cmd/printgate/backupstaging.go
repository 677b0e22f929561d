package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// stagingPattern names the folders a backup takes its snapshot into,
// inside the data dir (private, and on the disk the database is on).
const stagingPattern = ".backup-*"

// stagingLock is the file in a staging folder that its backup holds
// locked while it runs.
const stagingLock = "lock"

// newStaging makes a staging folder in dataDir and locks it; release
// unlocks and removes it.
func newStaging(dataDir string) (dir string, release func(), err error) {
	dir, err = os.MkdirTemp(dataDir, stagingPattern)
	if err != nil {
		return "", nil, fmt.Errorf("backup: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, stagingLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err == nil {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("backup: lock %s: %w", dir, err)
	}
	return dir, func() {
		os.RemoveAll(dir)
		f.Close()
	}, nil
}

// removeStaleStaging removes the staging folders of backups that died
// (their lock is free): a stale snapshot would keep the keys of jobs
// destroyed since, which no file may keep. A running backup's folder is
// left alone.
func removeStaleStaging(dataDir string, log *slog.Logger) error {
	dirs, err := filepath.Glob(filepath.Join(dataDir, stagingPattern))
	if err != nil {
		return err
	}
	var errs []error
	for _, dir := range dirs {
		f, err := os.OpenFile(filepath.Join(dir, stagingLock), os.O_RDWR, 0)
		if err == nil {
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if errors.Is(err, syscall.EWOULDBLOCK) {
				f.Close()
				continue // a backup is running
			}
		}
		// Locked now by us, or without a lock file (died before it made
		// one): stale.
		errs = append(errs, os.RemoveAll(dir))
		if f != nil {
			f.Close()
		}
		if log != nil {
			log.Warn("backup: removed the snapshot of a backup that did not finish", "dir", dir)
		}
	}
	return errors.Join(errs...)
}
