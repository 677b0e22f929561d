package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/printgate/printgate/internal/fsync"
)

// Preallocated segments (Options.Preallocate). On ext4, and file systems
// like it, an fdatasync after an append that grew the file or gave it new
// blocks must also commit the file system's own journal, which waits for
// whatever other files' data that commit carries (the database's
// checkpoint, for one); after an overwrite of blocks already allocated and
// written it flushes only the data. So a busy journal writes its next
// segment ahead of need, zeros synced to disk off the appenders' path,
// and appends then only overwrite (docs/PIPELINE.md, "The journal";
// measured in docs/BENCHMARKS.md, "The committer's path"). A quiet one
// never does: a spare is prepared only once the segment being written has
// taken a quarter of Preallocate, so that a server printing now and then
// does not write megabytes of zeros for each job.

// spareName is the file a spare is prepared in; Open removes one a stop
// left.
const spareName = "spare.tmp"

// errStopped ends a spare's preparation when the journal closes.
var errStopped = errors.New("journal: closed")

// maybePrepare starts preparing a spare segment when the one being
// written fills fast enough and none is ready or on its way. j.mu is
// held.
func (j *Journal) maybePrepare() {
	p := j.opts.Preallocate
	if p <= 0 || j.spare != spareNone || j.stopped || j.cur == nil || j.cur.size < p/4 {
		return
	}
	j.spare = sparePreparing
	j.preparing.Add(1)
	go func() {
		defer j.preparing.Done()
		err := fillZeros(filepath.Join(j.dir, spareName), p, j.stop)
		j.mu.Lock()
		defer j.mu.Unlock()
		j.spare = spareReady
		if err != nil {
			j.spare = spareFailed
		}
	}()
}

// fillZeros writes size zero bytes to a new file at path and syncs it.
// Whatever was at path goes first, and the file is created anew, so that a
// link put there is never followed.
func fillZeros(path string, size int64, stop <-chan struct{}) (err error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("journal: spare segment: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("journal: spare segment: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	zeros := make([]byte, min(size, 64<<10))
	for off := int64(0); off < size; off += int64(len(zeros)) {
		select {
		case <-stop:
			return errStopped
		default:
		}
		if _, err := f.WriteAt(zeros[:min(int64(len(zeros)), size-off)], off); err != nil {
			return fmt.Errorf("journal: spare segment: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("journal: spare segment: %w", err)
	}
	return nil
}

// takeSpare makes the ready spare segment seg's file, with seg's header
// written and synced before it takes seg's name, so that a crash leaves
// either the spare (removed by Open) or a segment that begins as one
// must. It returns nil, nil when no spare is ready. j.mu is held.
func (j *Journal) takeSpare(seg *segment) (*os.File, error) {
	if j.spare != spareReady {
		return nil, nil
	}
	j.spare = spareNone
	spare := filepath.Join(j.dir, spareName)
	f, err := os.OpenFile(spare, os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if _, err := f.WriteAt(encodeHeader(seg.n), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := fsync.Data(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := os.Rename(spare, seg.path(j.dir)); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	seg.room = j.opts.Preallocate
	return f, nil
}

// due says whether the segment being written closes before an append of
// need bytes: it is full or old, or a spare is ready and the append
// would not fit the zeros it has (a segment not preallocated has none).
func (j *Journal) due(need int64) bool {
	c := j.cur
	if c.size >= j.opts.MaxSegment || j.opts.Now().Sub(c.begun) >= j.opts.MaxAge {
		return true
	}
	return j.spare == spareReady && c.count > 0 && c.size+need > c.room &&
		need <= j.opts.Preallocate-int64(headerSize)
}

// stopPreparing ends a spare's preparation, waits for it and removes the
// spare.
func (j *Journal) stopPreparing() {
	j.mu.Lock()
	if !j.stopped {
		j.stopped = true
		close(j.stop)
	}
	j.mu.Unlock()
	j.preparing.Wait()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.spare == spareReady {
		os.Remove(filepath.Join(j.dir, spareName))
		j.spare = spareNone
	}
}
