// Package journal keeps records durable in append-only segment files
// before their owner writes them anywhere else: one write and one
// fdatasync make a batch of records durable, and the owner applies them
// to its database later, in larger batches, off the path of the clients
// who wait for the fsync (docs/PIPELINE.md, "The journal").
//
// Each segment is sealed under a key of its own, which lives in the
// owner's database (Keys), not beside the file: retiring a segment
// deletes the file and then destroys its key, so that what the file
// held (document keys, wrapped as they are in the database) cannot be
// read back from blocks the file system freed.
package journal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/printgate/printgate/internal/fsync"
)

// Keys keeps the segments' keys, in the owner's database.
type Keys interface {
	// Save keeps key as segment n's, durably by the time it returns:
	// the segment takes records only after that.
	Save(ctx context.Context, n uint64, key []byte) error
	// Load returns the key of every segment saved and not deleted.
	Load(ctx context.Context) (map[uint64][]byte, error)
	// Delete destroys segment n's key.
	Delete(ctx context.Context, n uint64) error
}

// Options tune a Journal; the zero value takes the defaults.
type Options struct {
	// MaxSegment is the size past which the segment being written is
	// closed and the next append begins a new one (default 64 MiB).
	MaxSegment int64
	// MaxAge is how long a segment takes records: one older is closed at
	// the next append or retirement, so that a quiet server retires the
	// records it applied within about MaxAge (default one minute).
	MaxAge time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Preallocate, when above zero, is the size of the segments a busy
	// journal writes ahead of need, filled with zeros, so that its appends
	// overwrite instead of growing the file (spare.go).
	Preallocate int64
	// Applied is the number of the last record the owner has applied:
	// numbering goes on after it even when every segment that held
	// records up to it has been retired, so that no new record takes a
	// number the owner counts as applied.
	Applied uint64
}

// Journal is a sequence of records in segment files. Its methods are
// safe for concurrent use.
type Journal struct {
	dir  string
	keys Keys
	opts Options

	mu sync.Mutex
	// closed are the segments no longer written, oldest first.
	closed []*segment
	// cur is the segment being written; nil until the first append after
	// Open or after a rotation.
	cur *segment
	// next is the sequence number of the next record.
	next uint64
	// nextSegment is the number of the next segment.
	nextSegment uint64
	buf         []byte
	// failed holds the error of a write or fsync that failed: after one,
	// nothing appended can be called durable, and Append fails for good.
	failed error

	// spare is the state of the next segment prepared ahead (spare.go);
	// stop and stopped end its preparation, which preparing waits for.
	spare     spareState
	stop      chan struct{}
	stopped   bool
	preparing sync.WaitGroup
}

type spareState int

const (
	spareNone spareState = iota
	sparePreparing
	spareReady
	// spareFailed: the last preparation failed (a full disk, say); the
	// next segment tries again, not every append.
	spareFailed
)

type segment struct {
	n           uint64
	first, last uint64
	count       int
	size        int64
	// room is how much of the file is preallocated (zero when none is).
	room  int64
	begun time.Time
	f     *os.File
	aead  cipher.AEAD
}

func (s *segment) path(dir string) string { return filepath.Join(dir, segmentName(s.n)) }

func segmentName(n uint64) string { return fmt.Sprintf("%016x.seg", n) }

// Open opens the journal in dir, creating the folder if needed, and
// checks every segment in it against its key: a frame that does not
// verify at the end of the newest segment is an append a crash cut
// short, never acknowledged, and is cut off; anywhere else it fails Open
// with ErrCorrupt. A segment file whose key is gone was being retired and
// is removed, as is a key whose file is gone.
func Open(ctx context.Context, dir string, keys Keys, opts Options) (*Journal, error) {
	if opts.MaxSegment <= 0 {
		opts.MaxSegment = 64 << 20
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := os.Remove(filepath.Join(dir, spareName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{dir: dir, keys: keys, opts: opts, next: 1, nextSegment: 1, stop: make(chan struct{})}
	saved, err := keys.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal: load keys: %w", err)
	}
	numbers, err := segmentNumbers(dir)
	if err != nil {
		return nil, err
	}
	for n := range saved {
		if !slices.Contains(numbers, n) {
			if err := keys.Delete(ctx, n); err != nil {
				return nil, fmt.Errorf("journal: delete the key of retired segment %d: %w", n, err)
			}
		}
		j.nextSegment = max(j.nextSegment, n+1)
	}
	seen := false // a segment before held records
	for i, n := range numbers {
		j.nextSegment = max(j.nextSegment, n+1)
		key, ok := saved[n]
		if !ok {
			if err := os.Remove(filepath.Join(dir, segmentName(n))); err != nil {
				return nil, fmt.Errorf("journal: remove retired segment: %w", err)
			}
			continue
		}
		seg, err := j.check(n, key, i == len(numbers)-1)
		if err != nil {
			return nil, err
		}
		if seg.count > 0 {
			if seen && seg.first != j.next {
				return nil, fmt.Errorf("%w: segment %d begins at record %d, not %d", ErrCorrupt, n, seg.first, j.next)
			}
			j.next, seen = seg.last+1, true
		}
		j.closed = append(j.closed, seg)
	}
	j.next = max(j.next, opts.Applied+1)
	return j, syncDir(dir)
}

// check scans segment n and cuts a torn end off the newest one.
func (j *Journal) check(n uint64, key []byte, newest bool) (*segment, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(j.dir, segmentName(n))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	sc, err := scan(f, n, aead, nil)
	if err != nil {
		return nil, err
	}
	if sc.torn {
		if !newest {
			return nil, fmt.Errorf("%w: segment %d does not verify after record %d", ErrCorrupt, n, sc.last)
		}
		if err := f.Truncate(sc.good); err != nil {
			return nil, fmt.Errorf("journal: cut the torn end of segment %d: %w", n, err)
		}
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
	}
	return &segment{n: n, first: sc.first, last: sc.last, count: sc.count, size: sc.good, aead: aead}, nil
}

// segmentNumbers lists the segments in dir, in order.
func segmentNumbers(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var ns []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok || len(name) != 16 {
			continue
		}
		n, err := strconv.ParseUint(name, 16, 64)
		if err != nil {
			continue
		}
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("journal: segment key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("journal: segment key: %w", err)
	}
	return aead, nil
}

// Next returns the sequence number the next record will take.
func (j *Journal) Next() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.next
}

// Append writes recs as consecutive records, with one write and one
// fdatasync, and returns the sequence number of the first. Once it has
// returned nil, the records survive a crash. After a write or an fsync
// fails, Append fails for good: the kernel may have dropped what it did
// not write, and no later fsync can vouch for it.
func (j *Journal) Append(ctx context.Context, recs [][]byte) (uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failed != nil {
		return 0, j.failed
	}
	for _, r := range recs {
		if len(r) > MaxRecord {
			return 0, fmt.Errorf("journal: a record of %d bytes is larger than %d", len(r), MaxRecord)
		}
	}
	need := int64(0)
	for _, r := range recs {
		need += int64(frameHeader + len(r) + gcmOverhead)
	}
	if j.cur != nil && j.due(need) {
		if err := j.closeCurrent(); err != nil {
			return 0, err
		}
	}
	if j.cur == nil {
		if err := j.begin(ctx); err != nil {
			return 0, err
		}
	}
	first := j.next
	j.buf = j.buf[:0]
	for i, r := range recs {
		j.buf = appendFrame(j.buf, j.cur.aead, first+uint64(i), r)
	}
	if _, err := j.cur.f.WriteAt(j.buf, j.cur.size); err != nil {
		j.failed = fmt.Errorf("journal: write segment %d (nothing appended from now on can be acknowledged): %w", j.cur.n, err)
		return 0, j.failed
	}
	if err := fsync.Data(j.cur.f); err != nil {
		j.failed = fmt.Errorf("journal: sync segment %d (nothing appended from now on can be acknowledged): %w", j.cur.n, err)
		return 0, j.failed
	}
	if j.cur.count == 0 {
		j.cur.first = first
	}
	j.cur.count += len(recs)
	j.cur.size += int64(len(j.buf))
	j.next += uint64(len(recs))
	j.cur.last = j.next - 1
	j.maybePrepare()
	if cap(j.buf) > 1<<20 {
		// A burst of large records should not pin its buffer for good.
		j.buf = nil
	}
	return first, nil
}

// begin starts a new segment: its key is saved first, then the file is
// created and its name made durable, so that no record is ever in a file
// whose key could be missing.
func (j *Journal) begin(ctx context.Context) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("journal: segment key: %w", err)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return err
	}
	seg := &segment{n: j.nextSegment, size: int64(headerSize), begun: j.opts.Now(), aead: aead}
	if err := j.keys.Save(ctx, seg.n, key); err != nil {
		return fmt.Errorf("journal: save the key of segment %d: %w", seg.n, err)
	}
	clear(key)
	j.nextSegment++
	f, err := j.takeSpare(seg)
	if err != nil {
		// A new file serves as well, only slower.
		f, seg.room = nil, 0
	}
	if j.spare == spareFailed {
		j.spare = spareNone
	}
	if f == nil {
		if f, err = os.OpenFile(seg.path(j.dir), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		if _, err := f.Write(encodeHeader(seg.n)); err != nil {
			f.Close()
			return fmt.Errorf("journal: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("journal: %w", err)
		}
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return err
	}
	seg.f = f
	j.cur = seg
	return nil
}

func (j *Journal) closeCurrent() error {
	seg := j.cur
	j.cur = nil
	err := seg.f.Close()
	seg.f = nil
	j.closed = append(j.closed, seg)
	if err != nil {
		return fmt.Errorf("journal: close segment %d: %w", seg.n, err)
	}
	return nil
}
