package spool

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/printgate/printgate/internal/fsync"
)

// Segments hold documents sealed in memory (Seal) end to end in files of
// the spool directory, many to a file: a batch of documents costs one
// write and one fdatasync instead of a file, an fsync and a directory
// entry each, and none of it goes through the database's log. A segment
// holds no key: like a spool file, each document in it is useless
// without its wrapped key, which the caller keeps in its database, so
// deleting the key destroys the document while the segment lives on. A
// segment is removed whole once no document in it is wanted any more.
//
// A segment is named PREFIX + "seg-" + its number in 16 hexadecimal
// digits + ".seg". Open and List ignore segments; Usage counts them.

const segSuffix = ".seg"

// Loc is where a document lies in a segment.
type Loc struct {
	// Segment is the segment's number, from 1.
	Segment uint64
	// Offset and Length are the document's sealed bytes in it.
	Offset, Length int64
}

// SegmentName returns the file name of segment n of prefix.
func SegmentName(prefix string, n uint64) string {
	return fmt.Sprintf("%sseg-%016x%s", prefix, n, segSuffix)
}

// SegmentWriter appends sealed documents to the segments of one prefix.
// It is not safe for concurrent use: one writer owns a prefix.
type SegmentWriter struct {
	s      *Spool
	prefix string
	max    int64
	// f is the segment being written (number n, size bytes so far), nil
	// until the first append and after a failed one.
	f    *os.File
	n    uint64
	size int64
	// next is the number the next new segment takes.
	next uint64
	// unsynced are the segments appended to since the last Sync, f
	// included, kept open until then; newName says a segment was
	// created since, whose name the directory's sync makes durable.
	unsynced []*os.File
	newName  bool
	// buf gathers documents into one write (appendChunk).
	buf []byte
	// last is the turn of the Pending handed over last (Unsynced).
	last *syncTurn
}

// appendChunk is the most Append gathers into one write: in a virtual
// machine a system call a document cost more than copying them (a write
// of 10 KB took 16 µs of the committer's time at 32 clients,
// docs/PERFORMANCE.md).
const appendChunk = 256 << 10

// NewSegmentWriter returns a writer that starts a new segment of prefix,
// numbered after every segment of prefix in the directory and after
// after, at its first append, and starts another once a segment holds
// maxSize bytes. A segment left by an earlier process is never appended
// to again: its tail may be torn.
func (s *Spool) NewSegmentWriter(prefix string, after uint64, maxSize int64) (*SegmentWriter, error) {
	if err := checkName("segment", prefix+"seg"); err != nil {
		return nil, err
	}
	ns, err := s.Segments(prefix)
	if err != nil {
		return nil, err
	}
	for n := range ns {
		after = max(after, n)
	}
	return &SegmentWriter{s: s, prefix: prefix, max: maxSize, next: after + 1}, nil
}

// Below returns the number below which no segment takes documents any
// more: the segment being written, or the next one to be.
func (w *SegmentWriter) Below() uint64 {
	if w.f == nil {
		return w.next
	}
	return w.n
}

// Append writes docs end to end to the segment being written, starting a
// new one when it is full, and returns where each lies. They are durable
// only after the next Sync: until then the caller keeps them elsewhere
// (the journal's records). After an error nothing it wrote may be relied
// upon, and the next append starts a new segment.
func (w *SegmentWriter) Append(docs [][]byte) ([]Loc, error) {
	if w.f == nil || w.size >= w.max {
		if err := w.start(); err != nil {
			return nil, err
		}
	}
	locs := make([]Loc, len(docs))
	off, at := w.size, w.size // at: where buf goes
	buf := w.buf[:0]
	for i, d := range docs {
		if len(buf) > 0 && len(buf)+len(d) > appendChunk {
			if err := w.write(buf, at); err != nil {
				return nil, err
			}
			at, buf = off, buf[:0]
		}
		buf = gather(buf, d)
		locs[i] = Loc{Segment: w.n, Offset: off, Length: int64(len(d))}
		off += int64(len(d))
	}
	if err := w.write(buf, at); err != nil {
		return nil, err
	}
	if cap(buf) <= appendChunk {
		w.buf = buf[:0]
	}
	w.size = off
	return locs, nil
}

// gather appends d to buf, growing buf by doubling up to appendChunk and
// no further, unless d alone is longer: append's own growth went past
// appendChunk with a batch of twenty small documents or more, and a
// buffer that large was made again for every batch (8 % of what the
// submission path allocated at 32 clients).
func gather(buf, d []byte) []byte {
	if n := len(buf) + len(d); n > cap(buf) {
		grown := make([]byte, len(buf), max(n, min(2*cap(buf), appendChunk)))
		copy(grown, buf)
		buf = grown
	}
	return append(buf, d...)
}

// write writes b at off in the segment being written.
func (w *SegmentWriter) write(b []byte, off int64) error {
	if _, err := w.f.WriteAt(b, off); err != nil {
		w.f = nil // kept in unsynced: what it took before is still to be synced
		return fmt.Errorf("spool: append to segment %d: %w", w.n, err)
	}
	return nil
}

// start begins the next segment.
func (w *SegmentWriter) start() error {
	n := w.next
	f, err := w.s.root.OpenFile(SegmentName(w.prefix, n), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("spool: new segment %d: %w", n, err)
	}
	w.f, w.n, w.size, w.next = f, n, 0, n+1
	w.unsynced, w.newName = append(w.unsynced, f), true
	return nil
}

// Sync makes what was appended since the last Sync durable: the data of
// each segment appended to (fdatasync), and the names of new segments.
func (w *SegmentWriter) Sync() error { return w.Unsynced().Sync() }

// Unsynced hands over what the next Sync would make durable, for the
// caller to sync (Pending.Sync) while appends go on: only the calls to w
// need the caller's lock, not the fsyncs. The segment being written
// stays with w, to take more appends, which a later Sync covers. Each
// Pending must be synced or discarded, and syncs only after the one
// handed over before it (so that one does not find a segment closed
// under it, nor the other vouch for a new segment's name that is not
// yet synced); after one failed or was discarded, the later ones fail.
func (w *SegmentWriter) Unsynced() Pending {
	turn := &syncTurn{done: make(chan struct{})}
	p := Pending{s: w.s, files: w.unsynced, keep: w.f, dir: w.newName, before: w.last, turn: turn}
	w.unsynced, w.newName, w.last = nil, false, turn
	if w.f != nil {
		w.unsynced = []*os.File{w.f}
	}
	return p
}

// syncTurn is a Pending's place in line: done closes once it has synced
// or given up, and failed (set before) says which.
type syncTurn struct {
	done   chan struct{}
	failed bool
}

// errEarlierSync fails a Pending whose predecessor failed.
var errEarlierSync = errors.New("spool: an earlier sync of the segments failed")

// Pending is what a SegmentWriter had appended and not yet synced.
type Pending struct {
	s      *Spool
	files  []*os.File
	keep   *os.File
	dir    bool
	before *syncTurn // nil for the first
	turn   *syncTurn
}

// Discard closes p's segments no longer written, without syncing them.
func (p Pending) Discard() {
	p.waitTurn()
	p.end(false)
}

// waitTurn waits for the Pending before p and reports whether it failed.
func (p Pending) waitTurn() bool {
	if p.before == nil {
		return false
	}
	<-p.before.done
	return p.before.failed
}

// end closes p's segments no longer written and gives the next Pending
// its turn.
func (p Pending) end(synced bool) error {
	var errs []error
	for _, f := range p.files {
		if f != p.keep {
			errs = append(errs, f.Close())
		}
	}
	p.turn.failed = !synced
	close(p.turn.done)
	return errors.Join(errs...)
}

// Sync makes p durable: the data of its segments, then the directory if
// a segment was created. A segment no longer written is closed, synced
// or not: after a failed fsync a later one would not vouch for the pages
// the failed one dropped, so the caller must not rely on it again.
func (p Pending) Sync() error {
	if p.waitTurn() {
		p.end(false)
		return fmt.Errorf("spool: sync segments: %w", errEarlierSync)
	}
	var errs []error
	for _, f := range p.files {
		errs = append(errs, fsync.Data(f))
	}
	if p.dir {
		errs = append(errs, p.s.syncDir())
	}
	err := errors.Join(errs...)
	if cerr := p.end(err == nil); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return fmt.Errorf("spool: sync segments: %w", err)
	}
	return nil
}

// Close closes the segments, synced or not: Sync first to keep what was
// appended. The next append starts a new segment.
func (w *SegmentWriter) Close() error {
	var errs []error
	for _, f := range w.unsynced {
		errs = append(errs, f.Close())
	}
	w.f, w.unsynced = nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spool: close segments: %w", err)
	}
	return nil
}

// Rewrite writes sealed at loc in a segment of prefix, creating the
// segment if it is gone, and makes it durable: after a crash, the
// documents whose segment's sync may not have happened are written again
// from where they were kept meanwhile.
func (s *Spool) Rewrite(prefix string, loc Loc, sealed []byte) error {
	if loc.Segment == 0 || loc.Offset < 0 || loc.Length != int64(len(sealed)) {
		return fmt.Errorf("spool: rewrite in segment %d at %d+%d: %w", loc.Segment, loc.Offset, loc.Length, ErrCorrupt)
	}
	f, err := s.root.OpenFile(SegmentName(prefix, loc.Segment), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("spool: rewrite in segment %d: %w", loc.Segment, err)
	}
	_, err = f.WriteAt(sealed, loc.Offset)
	if err == nil {
		err = fsync.Data(f)
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		err = s.syncDir()
	}
	if err != nil {
		return fmt.Errorf("spool: rewrite in segment %d: %w", loc.Segment, err)
	}
	return nil
}

// OpenInSegment returns a Reader over document name, stored at loc in a
// segment of prefix, given its wrapped key. A missing segment gives an
// error wrapping fs.ErrNotExist; one too short for loc, or a key that
// does not open the bytes there, gives ErrCorrupt.
func (s *Spool) OpenInSegment(name string, wrappedKey []byte, prefix string, loc Loc) (*Reader, error) {
	if err := checkName("open", name); err != nil {
		return nil, err
	}
	sec, f, err := s.openSection(prefix, loc)
	if err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", name, err)
	}
	r, err := s.newReader(name, wrappedKey, sec, loc.Length, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// OpenSegment opens segment n of prefix as it is stored, for a backup
// (OpenStored): what it holds is useless without its documents' wrapped
// keys and the master key. An open segment stays readable when it is
// removed meanwhile. A missing segment gives an error wrapping
// fs.ErrNotExist.
func (s *Spool) OpenSegment(prefix string, n uint64) (*os.File, error) {
	f, err := s.root.Open(SegmentName(prefix, n))
	if err != nil {
		return nil, fmt.Errorf("spool: open segment %d: %w", n, err)
	}
	return f, nil
}

// Section returns loc's bytes in f, its segment, once f is checked to
// hold them.
func Section(f *os.File, loc Loc) (*io.SectionReader, error) {
	if loc.Segment == 0 || loc.Offset < 0 || loc.Length < 0 {
		return nil, fmt.Errorf("segment %d at %d+%d: %w", loc.Segment, loc.Offset, loc.Length, ErrCorrupt)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() < loc.Offset+loc.Length {
		return nil, fmt.Errorf("segment %d holds %d bytes, not %d+%d: %w", loc.Segment, fi.Size(), loc.Offset, loc.Length, ErrCorrupt)
	}
	return io.NewSectionReader(f, loc.Offset, loc.Length), nil
}

// openSection opens loc's segment and returns loc's bytes in it.
func (s *Spool) openSection(prefix string, loc Loc) (*io.SectionReader, *os.File, error) {
	if loc.Segment == 0 {
		return nil, nil, fmt.Errorf("segment 0: %w", ErrCorrupt)
	}
	f, err := s.OpenSegment(prefix, loc.Segment)
	if err != nil {
		return nil, nil, err
	}
	sec, err := Section(f, loc)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return sec, f, nil
}

// Segments returns the size of each of prefix's segments in the
// directory, by number.
func (s *Spool) Segments(prefix string) (map[uint64]int64, error) {
	entries, err := s.readDir()
	if err != nil {
		return nil, fmt.Errorf("spool: list segments: %w", err)
	}
	ns := map[uint64]int64{}
	for _, e := range entries {
		hex, ok := strings.CutPrefix(e.Name(), prefix+"seg-")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		hex, ok = strings.CutSuffix(hex, segSuffix)
		n, err := strconv.ParseUint(hex, 16, 64)
		if !ok || err != nil || len(hex) != 16 || n == 0 {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("spool: list segments: %w", err)
		}
		ns[n] = fi.Size()
	}
	return ns, nil
}

// RemoveSegment deletes segment n of prefix, and syncs the directory.
// Removing one that does not exist is not an error.
func (s *Spool) RemoveSegment(prefix string, n uint64) error {
	err := s.root.Remove(SegmentName(prefix, n))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = s.syncDir()
	}
	if err != nil {
		return fmt.Errorf("spool: remove segment %d: %w", n, err)
	}
	return nil
}
