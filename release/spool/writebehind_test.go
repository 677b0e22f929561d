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
