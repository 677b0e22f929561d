package spool

import "os"

// writeBehindEvery is how many bytes of a document's file are written
// before the kernel is asked to put them on disk: each MiB goes to the
// disk while the next streams in, and the document's fsync waits for
// its last MiB and the file system's journal, not for all of it.
const writeBehindEvery = 1 << 20

// pageAlign is where a writeback range ends: a multiple of every page
// size Linux uses (4 KiB, and 64 KiB on some arm64 and ppc64 kernels),
// and a divisor of writeBehindEvery.
const pageAlign = 64 << 10

// stageSize is how many sealed bytes writeBehind gathers before it writes
// them. DARE packages are 64 KiB and 32 bytes, so written one by one each
// write began and ended inside a page: on this project's machines the
// kernel took 5.3 ms of processor to write 10 MB in 65,568-byte writes and
// 4.0 in 64 KiB writes from a page boundary, and BenchmarkStore stores 10
// MiB about a tenth faster (docs/BENCHMARKS.md). Stages of 256 KiB took
// less still alone, but with 32 clients sending 10 MB documents their 8
// MiB brought the heap near its limit and the rate down. It is pageAlign,
// so every write but a document's last ends on a page.
const stageSize = pageAlign

// writeBehind writes a document's sealed bytes into its file in whole
// stages, starting their writeback every writeBehindEvery bytes. It has no
// Close: sio closes its destination if it can, and Commit must flush and
// fsync before closing.
type writeBehind struct {
	s *Spool
	f *os.File
	// stage gathers sealed bytes, n of them so far; it comes from the
	// spool's pool, and holds only ciphertext.
	stage *[]byte
	n     int
	// written counts the bytes written, from started on not yet handed
	// to the spool's startWrite.
	written, started int64
}

// newWriteBehind returns the writer of f's sealed bytes, with a stage
// from the spool's pool; release gives it back.
func (s *Spool) newWriteBehind(f *os.File) *writeBehind {
	stage, _ := s.stages.Get().(*[]byte)
	if stage == nil {
		b := make([]byte, stageSize)
		stage = &b
	}
	return &writeBehind{s: s, f: f, stage: stage}
}

// Write gathers p, writing each stage that fills.
func (w *writeBehind) Write(p []byte) (int, error) {
	done := 0
	for len(p) > 0 {
		c := copy((*w.stage)[w.n:], p)
		w.n += c
		done += c
		p = p[c:]
		if w.n == stageSize {
			if err := w.flush(); err != nil {
				return done, err
			}
		}
	}
	return done, nil
}

// flush writes what the stage holds.
func (w *writeBehind) flush() error {
	n, err := w.f.Write((*w.stage)[:w.n])
	w.written += int64(n)
	w.n = 0
	if w.written-w.started >= writeBehindEvery {
		// Whole pages only: a page handed over half written would be
		// dirtied again by the next write, and if its writeback were
		// still under way then, the next range's advice would pass it
		// by, leaving it for the flusher.
		end := w.written &^ (pageAlign - 1)
		// Only advice: a write that fails shows in the fsync that
		// decides whether the document is stored.
		_ = w.s.startWrite(w.f, w.started, end-w.started)
		w.started = end
	}
	return err
}

// release gives the stage back to the spool's pool. It is safe to call
// more than once; the writer must not be used after it.
func (w *writeBehind) release() {
	if w.stage != nil {
		w.n = 0
		w.s.stages.Put(w.stage)
		w.stage = nil
	}
}
