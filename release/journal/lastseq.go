package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// LastSeq returns the number of the last whole frame in dir's segments,
// 0 when there is none, reading only the frames' headers: no key is
// needed. A process other than the one writing the journal (a backup)
// learns from it how far it must see the journal applied before the
// database holds every job acknowledged so far. A segment retired while
// it reads is skipped: its records were applied.
func LastSeq(dir string) (uint64, error) {
	ns, err := segmentNumbers(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	for i := len(ns) - 1; i >= 0; i-- {
		f, err := os.Open(filepath.Join(dir, segmentName(ns[i])))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("journal: %w", err)
		}
		seq, err := lastFrame(f)
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("journal: segment %d: %w", ns[i], err)
		}
		if seq > 0 {
			return seq, nil
		}
	}
	return 0, nil
}

// lastFrame walks a segment's frame headers and returns the number of
// the last frame whose bytes are all there. It reads through a 64 KiB
// buffer, skipping the sealed records, so its memory does not grow with
// the file; it stops at zeros (a preallocated end), at a frame longer
// than any record or than what is left (a torn end), and at a number
// that does not follow the one before.
func lastFrame(r io.Reader) (uint64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var h [headerSize]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil // a segment cut before its header holds nothing
	}
	if string(h[:len(magic)]) != magic {
		return 0, ErrCorrupt
	}
	var last uint64
	var fh [frameHeader]byte
	for {
		if _, err := io.ReadFull(br, fh[:]); err != nil {
			return last, nil
		}
		n, seq := binary.BigEndian.Uint32(fh[:4]), binary.BigEndian.Uint64(fh[4:])
		if n == 0 || n > MaxRecord+gcmOverhead || (last != 0 && seq != last+1) {
			return last, nil
		}
		if _, err := br.Discard(int(n)); err != nil {
			return last, nil
		}
		last = seq
	}
}
