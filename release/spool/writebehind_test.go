package spool

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
)

// TestWriteBehindRanges: a document's file is handed to the kernel's
// writeback in consecutive ranges of at least writeBehindEvery bytes while
// it streams in, each ending on a page boundary (a page handed over half
// written is dirtied again, and may be passed by while under writeback),
// and a refusal of that advice does not fail the document.
func TestWriteBehindRanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		advice error
	}{
		{"advice taken", nil},
		{"advice refused", errors.New("sync_file_range: not supported")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSpool(t)
			type span struct{ off, n int64 }
			var got []span
			s.startWrite = func(f *os.File, off, n int64) error {
				got = append(got, span{off, n})
				return tc.advice
			}
			data := payload(3*writeBehindEvery + writeBehindEvery/2)
			w, err := s.Create(context.Background(), "behind", 0)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			for p := data; len(p) > 0; p = p[min(len(p), 100<<10):] {
				if _, err := w.Write(p[:min(len(p), 100<<10)]); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != 3 {
				t.Fatalf("writeback started %d times for %d bytes, want 3: %v", len(got), len(data), got)
			}
			var next int64
			for _, r := range got {
				if r.off != next || r.n < writeBehindEvery || (r.off+r.n)%pageAlign != 0 {
					t.Fatalf("writeback ranges %v: not consecutive ranges of at least %d bytes ending on a page", got, writeBehindEvery)
				}
				next += r.n
			}
			doc, err := w.Commit()
			if err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if back := readAll(t, s, doc); !bytes.Equal(back, data) {
				t.Fatalf("read back %d bytes, not the %d written", len(back), len(data))
			}
		})
	}
}

// TestWriteBehindStages: whatever the sizes of the writes, the sealed
// bytes gathered into stages reach the file whole and in order, the last
// stage's remainder included, and the stage goes back to the pool once
// the document is committed or thrown away.
func TestWriteBehindStages(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int
		writes int // plaintext bytes a Write
		abort  bool
	}{
		{"empty", 0, 1, false},
		{"one byte", 1, 1, false},
		{"a stage less one, byte by byte", stageSize - 1, 1, false},
		{"a DARE package at a time", 5*(64<<10) + 7, 64 << 10, false},
		{"odd writes across stages", 3*stageSize + 17, 10007, false},
		{"thrown away halfway", 3 * stageSize, 5000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSpool(t)
			data := payload(tc.size)
			w, err := s.Create(context.Background(), "staged", 0)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			for p := data; len(p) > 0; p = p[min(len(p), tc.writes):] {
				if _, err := w.Write(p[:min(len(p), tc.writes)]); err != nil {
					t.Fatal(err)
				}
				if tc.abort && len(p) < tc.size/2 {
					break
				}
			}
			wb := w.wb
			if tc.abort {
				if err := w.Abort(); err != nil {
					t.Fatal(err)
				}
			} else {
				doc, err := w.Commit()
				if err != nil {
					t.Fatalf("Commit: %v", err)
				}
				if back := readAll(t, s, doc); !bytes.Equal(back, data) {
					t.Fatalf("read back %d bytes, not the %d written", len(back), len(data))
				}
			}
			if wb.stage != nil {
				t.Fatal("the stage was kept after the document was done with")
			}
		})
	}
}
