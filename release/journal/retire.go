package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Replay calls fn with every record numbered after after, in order, from
// the segments Open found: the records a crash left unapplied. The record
// is only valid during the call. Call it before the first Append.
func (j *Journal) Replay(ctx context.Context, after uint64, fn func(seq uint64, rec []byte) error) error {
	j.mu.Lock()
	segs := append([]*segment(nil), j.closed...)
	j.mu.Unlock()
	for _, seg := range segs {
		if seg.count == 0 || seg.last <= after {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := os.Open(seg.path(j.dir))
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		_, err = scan(f, seg.n, seg.aead, func(seq uint64, rec []byte) error {
			if seq <= after {
				return nil
			}
			return fn(seq, rec)
		})
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// Retire removes every segment whose records are all numbered through or
// before, and destroys its key: the owner calls it once those records are
// durable elsewhere. The segment being written is closed first when it
// is due (full or older than MaxAge) and wholly covered, so that a quiet
// server does not keep applied records for long.
func (j *Journal) Retire(ctx context.Context, through uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if c := j.cur; c != nil && c.count > 0 && c.last <= through &&
		(c.size >= j.opts.MaxSegment || j.opts.Now().Sub(c.begun) >= j.opts.MaxAge) {
		if err := j.closeCurrent(); err != nil {
			return err
		}
	}
	kept := j.closed[:0]
	var errs []error
	for i, seg := range j.closed {
		if seg.count > 0 && seg.last > through || len(errs) > 0 {
			kept = append(kept, j.closed[i:]...)
			break
		}
		// The file goes first: a key without its file is removed by the
		// next Open, a file without its key could never be read again.
		if err := os.Remove(seg.path(j.dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("journal: retire segment %d: %w", seg.n, err))
			kept = append(kept, j.closed[i:]...)
			break
		}
		if err := syncDir(j.dir); err != nil {
			errs = append(errs, err)
		}
		if err := j.keys.Delete(ctx, seg.n); err != nil {
			errs = append(errs, fmt.Errorf("journal: destroy the key of segment %d: %w", seg.n, err))
		}
	}
	j.closed = kept
	return errors.Join(errs...)
}

// Segments returns how many segment files the journal has.
func (j *Journal) Segments() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := len(j.closed)
	if j.cur != nil {
		n++
	}
	return n
}

// Close closes the segment being written and stops preparing spare
// segments.
func (j *Journal) Close() error {
	j.stopPreparing()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cur == nil {
		return nil
	}
	return j.closeCurrent()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("journal: sync %s: %w", dir, err)
	}
	return nil
}
