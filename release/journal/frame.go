package journal

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// A segment file is a header, then frames, each one record:
//
//	header: "PGJ1" | segment number (uint64, big-endian)
//	frame:  sealed length (uint32) | sequence number (uint64) | sealed record
//
// The record is sealed with AES-256-GCM under the segment's key, with the
// sequence number as the nonce and the frame's first twelve bytes as
// additional data. Sequence numbers rise by one from frame to frame and
// from a segment to the next; a key seals one segment only, and a segment
// is never appended to again once the journal has been reopened, so that
// no nonce is used twice under one key, even for a frame a crash left
// half written. A preallocated segment (spare.go) holds zeros after its
// last frame.

const (
	magic       = "PGJ1"
	headerSize  = len(magic) + 8
	frameHeader = 4 + 8
	// gcmOverhead is what sealing adds to a record (the GCM tag).
	gcmOverhead = 16
	// MaxRecord bounds a record: a frame that claims more is corrupt, and
	// reading a damaged or hostile file allocates no more than this.
	MaxRecord = 16 << 20
)

// ErrCorrupt says a segment holds a frame that does not verify where no
// crash could have left one (anywhere but the end of the newest segment):
// the file was damaged or altered.
var ErrCorrupt = errors.New("journal: corrupt segment")

func encodeHeader(n uint64) []byte {
	b := make([]byte, headerSize)
	copy(b, magic)
	binary.BigEndian.PutUint64(b[len(magic):], n)
	return b
}

func nonce(seq uint64) []byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[4:], seq)
	return n[:]
}

// appendFrame appends the frame of rec, number seq, to dst.
func appendFrame(dst []byte, aead cipher.AEAD, seq uint64, rec []byte) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(rec)+aead.Overhead()))
	dst = binary.BigEndian.AppendUint64(dst, seq)
	return aead.Seal(dst, nonce(seq), rec, dst[start:start+frameHeader])
}

// scanned is what scan found in a segment.
type scanned struct {
	// good is the length of the verified prefix: the header and every
	// frame that verified.
	good int64
	// first and last are the sequence numbers of its first and last
	// record; count is how many there are.
	first, last uint64
	count       int
	// torn says the segment goes on after good with bytes that are not
	// a verified frame: an append a crash cut short, if this is the newest
	// segment.
	torn bool
}

// scan reads the segment number n from r, verifying each frame with
// aead, and calls fn (when not nil) with each record in order; the record
// is only valid during the call. It stops at the first frame that does
// not verify and reports it as torn; only a bad header, a sequence
// number out of order, or fn's error fail it.
func scan(r io.Reader, n uint64, aead cipher.AEAD, fn func(seq uint64, rec []byte) error) (scanned, error) {
	var s scanned
	head := make([]byte, headerSize)
	if _, err := io.ReadFull(r, head); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// A segment whose creation a crash cut short holds no record.
			s.torn = true
			return s, nil
		}
		return s, fmt.Errorf("journal: read segment %d: %w", n, err)
	}
	if string(head[:len(magic)]) != magic || binary.BigEndian.Uint64(head[len(magic):]) != n {
		return s, fmt.Errorf("%w: segment %d has a foreign header", ErrCorrupt, n)
	}
	s.good = int64(headerSize)
	var fh [frameHeader]byte
	var sealed, plain []byte
	for {
		if got, err := io.ReadFull(r, fh[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return s, nil
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				// Fewer zeros than a frame's header are the end of a
				// preallocated segment the next append did not fit.
				s.torn = slices.ContainsFunc(fh[:got], func(c byte) bool { return c != 0 })
				return s, nil
			}
			return s, fmt.Errorf("journal: read segment %d: %w", n, err)
		}
		if fh == [frameHeader]byte{} {
			// The zeros of a preallocated segment (spare.go) after its
			// last record: no frame begins with twelve zeros, whose
			// length would be less than the tag's. Anything but zeros
			// after them is not an end a preallocated segment has.
			zeros, err := onlyZeros(r)
			if err != nil {
				return s, fmt.Errorf("journal: read segment %d: %w", n, err)
			}
			s.torn = !zeros
			return s, nil
		}
		size := binary.BigEndian.Uint32(fh[:4])
		seq := binary.BigEndian.Uint64(fh[4:])
		if size < uint32(aead.Overhead()) || size > MaxRecord+uint32(aead.Overhead()) {
			s.torn = true
			return s, nil
		}
		if cap(sealed) < int(size) {
			sealed = make([]byte, size)
		}
		sealed = sealed[:size]
		if _, err := io.ReadFull(r, sealed); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				s.torn = true
				return s, nil
			}
			return s, fmt.Errorf("journal: read segment %d: %w", n, err)
		}
		var err error
		if plain, err = aead.Open(plain[:0], nonce(seq), sealed, fh[:]); err != nil {
			s.torn = true
			return s, nil
		}
		if s.count > 0 && seq != s.last+1 {
			return s, fmt.Errorf("%w: segment %d has record %d after %d", ErrCorrupt, n, seq, s.last)
		}
		if s.count == 0 {
			s.first = seq
		}
		s.last = seq
		s.count++
		s.good += int64(frameHeader) + int64(size)
		if fn != nil {
			if err := fn(seq, plain); err != nil {
				return s, err
			}
		}
	}
}

// onlyZeros reads r to its end and says whether it held only zeros.
func onlyZeros(r io.Reader) (bool, error) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if slices.ContainsFunc(buf[:n], func(c byte) bool { return c != 0 }) {
			return false, nil
		}
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
}
