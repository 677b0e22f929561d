package pages

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// bigPDF describes a large PDF that writeBigPDF writes without holding it.
type bigPDF struct {
	pages      int
	streamSize int  // of each page's content stream
	indirect   bool // content streams have an indirect /Length
	objStm     bool // the page tree is in an object stream
}

// writeBigPDF writes the document to w in pieces of 32 KiB, as an upload
// arrives, with a cross-reference table at its end (a stream when the
// page tree is in an object stream).
func writeBigPDF(w io.Writer, d bigPDF) error {
	bw := &pieceWriter{w: w, buf: make([]byte, 0, 32<<10)}
	first := 10 // the first page object; its content stream follows it
	size := first + 2*d.pages
	offsets := make([]int, size+1) // of top-level objects; 0: none
	obj := func(n int) { offsets[n] = bw.n }
	bw.printf("%%PDF-1.7\n%%\xe2\xe3\xcf\xd3\n")
	var kids strings.Builder
	for i := range d.pages {
		fmt.Fprintf(&kids, "%d 0 R ", first+2*i)
	}
	tree := map[int]string{1: testCatalog, 2: fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), d.pages)}
	for i := range d.pages {
		tree[first+2*i] = fmt.Sprintf("<< /Type /Page /Parent 2 0 R /Contents %d 0 R >>", first+2*i+1)
	}
	stmIndex := map[int]int{} // of the objects in the object stream
	if d.objStm {
		var index, body strings.Builder
		for n, o := range tree {
			stmIndex[n] = len(stmIndex)
			fmt.Fprintf(&index, "%d %d ", n, body.Len())
			body.WriteString(o + "\n")
		}
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		io.WriteString(zw, index.String()+body.String())
		zw.Close()
		obj(3)
		bw.printf("3 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n", len(tree), index.Len(), z.Len())
		bw.write(z.Bytes())
		bw.printf("\nendstream\nendobj\n")
	} else {
		for _, n := range []int{1, 2} {
			obj(n)
			bw.printf("%d 0 obj\n%s\nendobj\n", n, tree[n])
		}
	}
	line := []byte("% a comment line filling the content stream of a big page\n")
	content := bytes.Repeat(line, (16<<10)/len(line))
	for i := range d.pages {
		page := first + 2*i
		if !d.objStm {
			obj(page)
			bw.printf("%d 0 obj\n%s\nendobj\n", page, tree[page])
		}
		length := fmt.Sprint(d.streamSize)
		if d.indirect {
			length = "4 0 R"
		}
		obj(page + 1)
		bw.printf("%d 0 obj\n<< /Length %s >>\nstream\n", page+1, length)
		for left := d.streamSize; left > 0; left -= len(content) {
			bw.write(content[:min(left, len(content))])
		}
		bw.printf("\nendstream\nendobj\n")
	}
	obj(4)
	bw.printf("4 0 obj\n%d\nendobj\n", d.streamSize)
	if !d.objStm {
		at := bw.n
		bw.printf("xref\n0 %d\n0000000000 65535 f \n", size)
		for n := 1; n < size; n++ {
			if off := offsets[n]; off > 0 {
				bw.printf("%010d 00000 n \n", off)
			} else {
				bw.printf("0000000000 65535 f \n")
			}
		}
		bw.printf("trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", size, at)
		return bw.flush()
	}
	at := bw.n
	bw.printf("%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n", size, size+1, 7*(size+1))
	offsets[size] = at
	for n := range size + 1 {
		off := offsets[n]
		idx, inStm := stmIndex[n]
		switch {
		case off > 0:
			bw.write([]byte{1, byte(off >> 24), byte(off >> 16), byte(off >> 8), byte(off), 0, 0})
		case inStm:
			bw.write([]byte{2, 0, 0, 0, 3, byte(idx >> 8), byte(idx)})
		default:
			bw.write([]byte{0, 0, 0, 0, 0, 0xff, 0xff})
		}
	}
	bw.printf("\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", at)
	return bw.flush()
}

// pieceWriter writes in pieces of its buffer's capacity.
type pieceWriter struct {
	w   io.Writer
	buf []byte
	n   int // bytes written so far
	err error
}

func (p *pieceWriter) printf(format string, args ...any) { p.write(fmt.Appendf(nil, format, args...)) }

func (p *pieceWriter) write(b []byte) {
	p.n += len(b)
	for len(b) > 0 && p.err == nil {
		n := min(len(b), cap(p.buf)-len(p.buf))
		p.buf = append(p.buf, b[:n]...)
		b = b[n:]
		if len(p.buf) == cap(p.buf) {
			p.flush()
		}
	}
}

func (p *pieceWriter) flush() error {
	if p.err == nil && len(p.buf) > 0 {
		_, p.err = p.w.Write(p.buf)
		p.buf = p.buf[:0]
	}
	return p.err
}

// TestStreamMemory counts 64 MiB PDFs of different shapes with a Stream:
// the heap must not grow with the document. Each shape is generated
// while it is counted, so the document is never in memory.
func TestStreamMemory(t *testing.T) {
	const size = 64 << 20
	shapes := []struct {
		name string
		doc  bigPDF
	}{
		{"64 streams of 1 MiB", bigPDF{pages: 64, streamSize: 1 << 20}},
		{"4096 pages of 16 KiB", bigPDF{pages: 4096, streamSize: 16 << 10}},
		{"indirect lengths", bigPDF{pages: 64, streamSize: 1 << 20, indirect: true}},
		{"page tree in an object stream", bigPDF{pages: 1024, streamSize: 64 << 10, objStm: true}},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			if got := sh.doc.pages * sh.doc.streamSize; got != size {
				t.Fatalf("the shape has %d bytes of streams, want %d", got, size)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			peak := samplePeakHeap()
			s := Counter{}.Stream(context.Background(), FormatPDF)
			if err := writeBigPDF(s, sh.doc); err != nil {
				t.Fatal(err)
			}
			got, err := s.Close()
			heap := peak()
			runtime.ReadMemStats(&after)
			if err != nil || !got.Known || got.Pages != sh.doc.pages {
				t.Fatalf("Stream = %+v, %v; want %d pages", got, err, sh.doc.pages)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("peak heap %d KiB, allocated %d KiB", heap>>10, alloc>>10)
			// The generator allocates too; all of it is far below the
			// document's size.
			if heap > 4<<20 || alloc > 8<<20 {
				t.Errorf("the heap grew by %d KiB (allocated %d KiB) for a %d MiB PDF", heap>>10, alloc>>10, size>>20)
			}
		})
	}
}

// TestStreamMemoryHostileXRef streams 16 MiB PDFs made of what the
// cross-reference reader keeps per item: an xref stream whose /Index is
// pairs of zero objects, and object streams that cannot be read. The
// heap must not grow with them (it grew by some 700 MiB and 61 MiB for
// 64 MiB before the bounds).
func TestStreamMemoryHostileXRef(t *testing.T) {
	const size = 16 << 20
	shapes := []struct {
		name   string
		prefix string
		unit   string
	}{
		{"an /Index of zero-object pairs", "%PDF-1.5\n1 0 obj\n<< /Type /XRef /W [1 2 1] /Size 1 /Index [", "0 0 "},
		{"unreadable object streams", "%PDF-1.5\n", "1 0 obj\n<< /Type /ObjStm /N 1 /First 99 /Filter /FlateDecode /Length 3 >>\nstream\nxyz\nendstream\nendobj\n"},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			peak := samplePeakHeap()
			s := Counter{}.Stream(context.Background(), FormatPDF)
			s.Write([]byte(sh.prefix))
			chunk := []byte(strings.Repeat(sh.unit, (64<<10)/len(sh.unit)))
			for n := 0; n < size; n += len(chunk) {
				s.Write(chunk)
			}
			got, err := s.Close()
			heap := peak()
			runtime.ReadMemStats(&after)
			if err != nil || got.Known && got.Pages > 0 {
				t.Fatalf("Stream = %+v, %v; want no count", got, err)
			}
			t.Logf("peak heap %d KiB, allocated %d KiB", heap>>10, (after.TotalAlloc-before.TotalAlloc)>>10)
			if heap > 4<<20 {
				t.Errorf("the heap grew by %d KiB for a %d MiB PDF", heap>>10, size>>20)
			}
		})
	}
}
