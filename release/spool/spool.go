// Package spool is the encrypted document store that holds print jobs until
// they are released.
//
// Documents are streamed to disk and encrypted on the way with DARE 2.0
// (github.com/minio/sio) under a fresh random 256-bit data key per document.
// The data key is wrapped by the spool's master key (AES-256-GCM, with the
// document name as associated data) and handed back to the caller, who keeps
// it in the database; the spool file never holds it. Deleting the
// wrapped key therefore makes the document unrecoverable, even from a backup
// of the spool directory.
//
// A document becomes visible only when its Writer commits, by an atomic link
// of a fully written and fsynced temporary file; a crash at any moment leaves
// at most a "*.part" file, which CleanTemp removes.
//
// All file access goes through an os.Root, so no name can reach outside the
// spool directory; names are checked as well (see ValidName).
package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/printgate/printgate/internal/fsync"
)

// Sentinel errors. Errors returned by this package wrap them; test with
// errors.Is. A missing document is reported with fs.ErrNotExist.
var (
	// ErrTooLarge means a document exceeded the size limit given to Create
	// or Store. Nothing of it remains in the spool.
	ErrTooLarge = errors.New("spool: document too large")

	// ErrCorrupt means a document could not be decrypted: the wrapped key
	// does not belong to this master key or this name, or the file was
	// altered or cut short. No plaintext is returned past the damaged part.
	ErrCorrupt = errors.New("spool: document corrupt or key mismatch")

	// ErrKeyMismatch, beside ErrCorrupt, means a document's wrapped key
	// does not open with this master key for its name: another master
	// key, or an altered key. What the document's bytes hold is not known.
	ErrKeyMismatch = errors.New("spool: the wrapped key does not open")

	// ErrInvalidName means a document name is empty, too long, or holds a
	// character outside [A-Za-z0-9._-].
	ErrInvalidName = errors.New("spool: invalid document name")
)

const (
	docSuffix  = ".doc"
	tempSuffix = ".part"

	// maxNameLen leaves room for the temporary suffix within the usual
	// 255-byte file name limit.
	maxNameLen = 200
)

// Spool is one spool directory. Its methods are safe for concurrent use.
type Spool struct {
	root *os.Root
	key  MasterKey
	// startWrite begins writing a range of a document's file to disk
	// while the rest still streams in (fsync.StartWrite).
	startWrite func(f *os.File, off, n int64) error
	// stages holds writeBehind's buffers of stageSize bytes.
	stages sync.Pool
}

// Open opens the spool in dir, creating the directory with permissions 0700
// if it is missing. The key wraps and unwraps every document's data key.
func Open(dir string, key MasterKey) (*Spool, error) {
	if !key.valid() {
		return nil, errors.New("spool: open: master key not set")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: open: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: open: %w", err)
	}
	return &Spool{root: root, key: key, startWrite: fsync.StartWrite}, nil
}

// Close releases the spool directory. Readers still open keep working until
// closed; Writers still open can no longer commit.
func (s *Spool) Close() error {
	return s.root.Close()
}

// Dir returns the spool directory as given to Open.
func (s *Spool) Dir() string { return s.root.Name() }

// ValidName reports whether name may name a document: 1 to 200 characters
// from [A-Za-z0-9._-], not starting with a dot. Job IDs and UUIDs qualify.
// The rule keeps names free of path separators and hidden or special names
// even though the os.Root confines access regardless.
func ValidName(name string) bool {
	if name == "" || len(name) > maxNameLen || name[0] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func checkName(op, name string) error {
	if !ValidName(name) {
		// %q: an invalid name may hold control characters.
		return fmt.Errorf("spool: %s %q: %w", op, name, ErrInvalidName)
	}
	return nil
}

// Remove deletes the document name. Removing a document that does not exist
// is not an error, so that clean-up after a crash may be retried. Delete the
// wrapped key first: once it is gone the document cannot be read anyway.
func (s *Spool) Remove(name string) error {
	if err := checkName("remove", name); err != nil {
		return err
	}
	err := s.root.Remove(name + docSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: remove %s: %w", name, err)
	}
	if err := s.syncDir(); err != nil {
		return fmt.Errorf("spool: remove %s: %w", name, err)
	}
	return nil
}

// List returns the names of the committed documents, sorted. It is meant for
// start-up, to find documents that no job refers to any more.
func (s *Spool) List() ([]string, error) {
	entries, err := s.readDir()
	if err != nil {
		return nil, fmt.Errorf("spool: list: %w", err)
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), docSuffix)
		if ok && e.Type().IsRegular() && ValidName(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// CleanTemp removes temporary files ("*.part") left by writers that never
// committed or aborted, typically because the process died. Only files not
// modified for at least minAge are removed, so that a spool shared with a
// running process does not lose its uploads in progress; at start-up of the
// only process, pass 0. It returns how many files it removed.
func (s *Spool) CleanTemp(minAge time.Duration) (int, error) {
	entries, err := s.readDir()
	if err != nil {
		return 0, fmt.Errorf("spool: clean temporary files: %w", err)
	}
	cutoff := time.Now().Add(-minAge)
	removed := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), tempSuffix) || !e.Type().IsRegular() {
			continue
		}
		if minAge > 0 {
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // committed or aborted meanwhile
			}
			if err != nil {
				return removed, fmt.Errorf("spool: clean temporary files: %w", err)
			}
			if fi.ModTime().After(cutoff) {
				continue
			}
		}
		err := s.root.Remove(e.Name())
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return removed, fmt.Errorf("spool: clean temporary files: %w", err)
		}
		removed++
	}
	return removed, nil
}

// ModTime returns when the document name was committed.
func (s *Spool) ModTime(name string) (time.Time, error) {
	if err := checkName("stat", name); err != nil {
		return time.Time{}, err
	}
	fi, err := s.root.Stat(name + docSuffix)
	if err != nil {
		return time.Time{}, fmt.Errorf("spool: stat %s: %w", name, err)
	}
	return fi.ModTime(), nil
}

// Usage returns the bytes the spool's files occupy (their encrypted sizes,
// temporary files included), for enforcing a spool quota.
func (s *Spool) Usage() (int64, error) {
	entries, err := s.readDir()
	if err != nil {
		return 0, fmt.Errorf("spool: usage: %w", err)
	}
	var total int64
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("spool: usage: %w", err)
		}
		total += fi.Size()
	}
	return total, nil
}

func (s *Spool) readDir() ([]fs.DirEntry, error) {
	d, err := s.root.Open(".")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// SyncDir makes the names of the documents committed with
// CommitNoDirSync, and the removals before it, durable.
func (s *Spool) SyncDir() error {
	if err := s.syncDir(); err != nil {
		return fmt.Errorf("spool: sync directory: %w", err)
	}
	return nil
}

// syncDir makes a link, rename or removal in the spool directory durable.
func (s *Spool) syncDir() error {
	d, err := s.root.Open(".")
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
