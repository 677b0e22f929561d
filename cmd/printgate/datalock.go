package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// dataLockFile is the file in the data dir that serve (and restore) hold
// locked while they run. Before binding, serve opens the journal and
// recovers: it removes half-written uploads, retires journal records and
// holds printing jobs again, all as if it were the only printgate on the
// data dir. A second serve on the same data dir must therefore stop
// before it touches anything, not at its bind.
const dataLockFile = "serve.lock"

// lockTries bounds how often lockDataDir takes the lock of a file that
// was removed meanwhile (restore removes its lock file when it undoes).
const lockTries = 10

// dataLock is the lock on a data dir, held until Close (or the end of
// the process, however it ends: the kernel releases a flock with the
// last descriptor of its file).
type dataLock struct {
	f    *os.File
	path string
}

// errDataDirBusy is what a second printgate finds when the data dir's
// lock is taken.
var errDataDirBusy = errors.New("data dir in use")

// lockDataDir takes the exclusive lock of dir (created 0700 if missing)
// without waiting, for the command cmd, whose name and process id go
// into the file for the message of whoever finds the lock taken.
func lockDataDir(dir, cmd string) (*dataLock, error) {
	return lockDataDirPausing(dir, cmd, func() { time.Sleep(20 * time.Millisecond) })
}

// lockDataDirPausing is lockDataDir, calling pause between its tries of a
// lock whose named holder has ended (deadHolderWait).
func lockDataDirPausing(dir, cmd string, pause func()) (*dataLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	path := filepath.Join(dir, dataLockFile)
	deadWait := time.Now().Add(deadHolderWait)
	for range lockTries {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("lock the data dir: %w", err)
		}
		err = flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
		for errors.Is(err, syscall.EWOULDBLOCK) && holderGone(f) && time.Now().Before(deadWait) {
			pause()
			err = flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
		}
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := lockHolder(f)
			f.Close()
			return nil, fmt.Errorf("another printgate %s is using %s%s: stop it first, or give this one a data dir of its own: %w",
				holder.cmd, dir, holder.pid, errDataDirBusy)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock the data dir: %s: %w", path, err)
		}
		// A lock on a file that was removed before we locked it guards
		// nothing: the next printgate creates and locks a new one.
		if same, err := isFileAt(f, path); err != nil || !same {
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("lock the data dir: %w", err)
			}
			continue
		}
		if err := f.Truncate(0); err == nil {
			// Only for the message of a second printgate: a write that
			// fails costs it the process id, nothing else.
			f.WriteAt([]byte(strconv.Itoa(os.Getpid())+" "+cmd+"\n"), 0)
		}
		return &dataLock{f: f, path: path}, nil
	}
	return nil, fmt.Errorf("lock the data dir: %s was removed %d times while printgate took its lock", path, lockTries)
}

// Close releases the lock; the file stays for the next printgate.
func (l *dataLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// remove removes the lock file, then releases the lock: for a restore
// that undoes itself, which leaves the data dir as empty as it found it.
// A printgate that opened the file before it went finds, once it holds
// the lock, that the file is no longer at its path, and tries again.
func (l *dataLock) remove() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := os.Remove(l.path)
	return errors.Join(err, l.Close())
}

// deadHolderWait bounds how long lockDataDir waits for a lock whose
// holder, as its file names it, has ended: a process it had begun to
// start (a converter's sandbox) keeps a copy of the lock's descriptor
// until it has replaced its program, which takes a moment longer on a
// loaded machine than a restart after a crash takes to begin.
const deadHolderWait = 2 * time.Second

// holderGone reports whether the process that f, a data dir's lock file,
// names has ended.
func holderGone(f *os.File) bool {
	buf := make([]byte, 64)
	n, _ := f.ReadAt(buf, 0)
	fields := strings.Fields(string(buf[:n]))
	if len(fields) == 0 {
		return false
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil || pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// holder is who holds a data dir's lock, as its file says, each part
// ready for a message ("" when unknown).
type holder struct {
	cmd, pid string
}

// lockHolder reads the command and process id a data dir's lock file
// names. The holder may have locked it and not yet written them.
func lockHolder(f *os.File) holder {
	h := holder{cmd: "serve"}
	buf := make([]byte, 64)
	n, _ := f.ReadAt(buf, 0)
	fields := strings.Fields(string(buf[:n]))
	if len(fields) == 0 {
		return h
	}
	if pid, err := strconv.Atoi(fields[0]); err == nil && pid > 0 {
		h.pid = fmt.Sprintf(" (pid %d)", pid)
	}
	if len(fields) > 1 && (fields[1] == "serve" || fields[1] == "restore") {
		h.cmd = fields[1]
	}
	return h
}

// isFileAt reports whether f is still the file at path.
func isFileAt(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	at, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, at), nil
}

// flock applies how (syscall.LOCK_*) to f, again when a signal interrupts it.
func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}
