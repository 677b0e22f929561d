package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// stagingPattern names the folders a backup takes its snapshot into,
// inside the data dir (private, and on the disk the database is on).
const stagingPattern = ".backup-*"

// stagingLock is the file in a staging folder that its backup holds
// locked while it runs.
const stagingLock = "lock"

// newStaging makes a staging folder in dataDir and locks it; release
// unlocks and removes it. The folder is made and locked under a name no
// sweep looks at, and only then renamed into stagingPattern, so that a
// sweep never finds it unlocked while its backup lives.
func newStaging(dataDir string) (dir string, release func(), err error) {
	tmp, err := os.MkdirTemp(dataDir, ".new-backup-*")
	if err != nil {
		return "", nil, fmt.Errorf("backup: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(tmp, stagingLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err == nil {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err == nil {
		dir = filepath.Join(dataDir, ".backup-"+strings.TrimPrefix(filepath.Base(tmp), ".new-backup-"))
		err = os.Rename(tmp, dir)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		os.RemoveAll(tmp)
		return "", nil, fmt.Errorf("backup: lock %s: %w", tmp, err)
	}
	return dir, func() {
		os.RemoveAll(dir)
		f.Close()
	}, nil
}

// startStagingSweep removes the staging folders of backups that died,
// every interval until stop: the next command would, but a server runs
// for months, and a stale snapshot keeps keys that no file may keep.
func startStagingSweep(ctx context.Context, dataDir string, every time.Duration, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := removeStaleStaging(dataDir, log); err != nil {
				log.Error("backup: remove the snapshot of a backup that did not finish", "err", err)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
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
		// Locked now by us, or without a lock file (made by hand, or by
		// a printgate that made its lock after the folder): stale.
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
