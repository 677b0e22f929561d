package spool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// patternReader generates n bytes of the marker on the fly, so a large
// document is never held in memory by the test either.
type patternReader struct {
	n   int64
	off int
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = marker[r.off]
		r.off = (r.off + 1) % len(marker)
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// TestLargeDocumentMemory streams a 256 MiB document in and out and checks
// that the bytes allocated stay far below the document size: the spool must
// hold one DARE package at a time, never the document.
func TestLargeDocumentMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 256 MiB; skipped in -short mode")
	}
	const size = 256 << 20
	// A whole-document buffer would allocate at least size bytes; the
	// streaming path allocates a few hundred KiB. 16 MiB leaves room for
	// the race detector and the runtime without letting buffering pass.
	const bound = 16 << 20

	s := newTestSpool(t)
	want := sha256.New()
	src := io.TeeReader(&patternReader{n: size}, want)

	before := allocated()
	doc, err := s.Store(context.Background(), "big", src, size)
	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	if got := allocated() - before; got > bound {
		t.Errorf("Store of %d MiB allocated %d KiB, want under %d KiB", size>>20, got>>10, bound>>10)
	} else {
		t.Logf("Store of %d MiB allocated %d KiB", size>>20, got>>10)
	}
	if doc.Size != size || !bytes.Equal(doc.SHA256[:], want.Sum(nil)) {
		t.Errorf("Document size %d, SHA-256 %x; want %d, %x", doc.Size, doc.SHA256, size, want.Sum(nil))
	}

	before = allocated()
	r, err := s.Open(doc.Name, doc.WrappedKey)
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.CopyBuffer(got, r, make([]byte, 32<<10))
	r.Close()
	if err != nil || n != size {
		t.Fatalf("read back %d bytes, %v", n, err)
	}
	if a := allocated() - before; a > bound {
		t.Errorf("reading %d MiB allocated %d KiB, want under %d KiB", size>>20, a>>10, bound>>10)
	}
	if !bytes.Equal(got.Sum(nil), doc.SHA256[:]) {
		t.Error("SHA-256 of the plaintext read back differs")
	}

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapInuse > 64<<20 {
		t.Errorf("HeapInuse = %d MiB after a %d MiB document, want well below it", ms.HeapInuse>>20, size>>20)
	}
	if err := s.Remove(doc.Name); err != nil {
		t.Fatal(err)
	}
}

// allocated returns the bytes allocated so far by the whole program.
func allocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// BenchmarkStore measures storing (encrypting, hashing, fsyncing) a
// document. Reported MB/s is plaintext throughput.
func BenchmarkStore(b *testing.B) {
	for _, size := range []int{1 << 20, 10 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			s := newTestSpool(b)
			data := payload(size)
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				name := fmt.Sprintf("doc-%d", i)
				i++
				if _, err := s.Store(ctx, name, bytes.NewReader(data), 0); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := s.Remove(name); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkRead measures decrypting a stored document from start to end.
func BenchmarkRead(b *testing.B) {
	for _, size := range []int{1 << 20, 10 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			s := newTestSpool(b)
			doc, err := s.Store(context.Background(), "doc", bytes.NewReader(payload(size)), 0)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 32<<10)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				r, err := s.Open(doc.Name, doc.WrappedKey)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, r, buf); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
}

// BenchmarkSeal measures the processor's part of storing a document:
// encryption (DARE 2.0, AES-256-GCM) and SHA-256, in memory, with no disk.
// MB/s on one core bounds what a server that encrypts and hashes every
// byte can take, beside what dd writes unencrypted (docs/BENCHMARKS.md).
func BenchmarkSeal(b *testing.B) {
	for _, size := range []int{10 << 10, 10 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s := newTestSpool(b)
			data := payload(size)
			var dst []byte
			b.SetBytes(int64(size))
			for b.Loop() {
				var err error
				if _, dst, err = s.Seal("doc", data, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
