package pages

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// pdfWriter writes test PDFs piece by piece: objects, object streams,
// cross-reference sections (tables or streams) with the right offsets, so
// that pdfcpu reads them too, and incremental updates.
type pdfWriter struct {
	b       bytes.Buffer
	offsets map[int]int // top-level objects since the last section
	all     map[int]int // top-level objects, the last definition of each
	inStm   map[int][2]int
	lastX   int // the offset of the last cross-reference section, or -1
	size    int // one more than the highest object number
}

func newPDFWriter() *pdfWriter {
	w := &pdfWriter{offsets: map[int]int{}, all: map[int]int{}, inStm: map[int][2]int{}, lastX: -1}
	w.b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	return w
}

func (w *pdfWriter) grow(n int) { w.size = max(w.size, n+1) }

// obj writes object n.
func (w *pdfWriter) obj(n int, body string) *pdfWriter {
	w.grow(n)
	w.offsets[n], w.all[n] = w.b.Len(), w.b.Len()
	delete(w.inStm, n)
	fmt.Fprintf(&w.b, "%d 0 obj\n%s\nendobj\n", n, body)
	return w
}

// stm is an object stream's content.
type stm struct {
	objs       map[int]string
	order      []int  // the index order (nil: by number)
	extra      string // more entries of its dictionary
	raw        bool   // not compressed
	lengthRef  int    // the number of an object holding /Length (0: direct)
	corruptEnd bool   // the compressed data loses its last bytes
}

// objStm writes object stream n holding s.objs.
func (w *pdfWriter) objStm(n int, s stm) *pdfWriter {
	nums := s.order
	if nums == nil {
		for k := range s.objs {
			nums = append(nums, k)
		}
		slices.Sort(nums)
	}
	var index, body strings.Builder
	for i, k := range nums {
		fmt.Fprintf(&index, "%d %d ", k, body.Len())
		body.WriteString(s.objs[k] + "\n")
		w.inStm[k] = [2]int{n, i}
		delete(w.all, k)
		w.grow(k)
	}
	data := []byte(index.String() + body.String())
	filter := ""
	if !s.raw {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		data, filter = z.Bytes(), "/Filter /FlateDecode "
	}
	if s.corruptEnd {
		data = data[:len(data)-6]
	}
	length := fmt.Sprint(len(data))
	if s.lengthRef > 0 {
		length = fmt.Sprintf("%d 0 R", s.lengthRef)
	}
	w.obj(n, fmt.Sprintf("<< /Type /ObjStm /N %d /First %d %s/Length %s%s >>\nstream\n%s\nendstream",
		len(nums), index.Len(), filter, length, s.extra, data))
	if s.lengthRef > 0 {
		w.obj(s.lengthRef, fmt.Sprint(len(data)))
	}
	return w
}

// xrefTable ends a section with a cross-reference table and a trailer of
// the given entries, besides /Size and /Prev.
func (w *pdfWriter) xrefTable(trailer string) *pdfWriter {
	at := w.b.Len()
	w.b.WriteString("xref\n")
	if w.lastX < 0 {
		w.b.WriteString("0 1\n0000000000 65535 f \n")
	}
	nums := make([]int, 0, len(w.offsets))
	for n := range w.offsets {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	for _, n := range nums {
		fmt.Fprintf(&w.b, "%d 1\n%010d 00000 n \n", n, w.offsets[n])
	}
	prev := ""
	if w.lastX >= 0 {
		prev = fmt.Sprintf(" /Prev %d", w.lastX)
	}
	fmt.Fprintf(&w.b, "trailer\n<< /Size %d%s %s >>\nstartxref\n%d\n%%%%EOF\n", w.size, prev, trailer, at)
	w.lastX, w.offsets = at, map[int]int{}
	return w
}

// xrefStream ends a section with cross-reference stream n, whose
// dictionary has the given entries besides the ones it needs.
func (w *pdfWriter) xrefStream(n int, dict string) *pdfWriter {
	w.grow(n)
	w.offsets[n], w.all[n] = w.b.Len(), w.b.Len()
	var x bytes.Buffer
	entry := func(typ byte, f2, f3 int) {
		x.Write([]byte{typ, byte(f2 >> 24), byte(f2 >> 16), byte(f2 >> 8), byte(f2), byte(f3 >> 8), byte(f3)})
	}
	for k := range w.size {
		switch off, ok := w.all[k]; {
		case ok:
			entry(1, off, 0)
		case w.inStm[k] != [2]int{}:
			entry(2, w.inStm[k][0], w.inStm[k][1])
		default:
			entry(0, 0, 0xffff)
		}
	}
	prev := ""
	if w.lastX >= 0 {
		prev = fmt.Sprintf(" /Prev %d", w.lastX)
	}
	at := w.b.Len()
	fmt.Fprintf(&w.b, "%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2]%s /Length %d %s >>\nstream\n",
		n, w.size, prev, x.Len(), dict)
	w.b.Write(x.Bytes())
	fmt.Fprintf(&w.b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", at)
	w.lastX, w.offsets = at, map[int]int{}
	return w
}

func (w *pdfWriter) bytes() []byte { return bytes.Clone(w.b.Bytes()) }

// clone returns a copy of w, to write another update to.
func (w *pdfWriter) clone() *pdfWriter {
	c := &pdfWriter{offsets: maps.Clone(w.offsets), all: maps.Clone(w.all), inStm: maps.Clone(w.inStm), lastX: w.lastX, size: w.size}
	c.b.Write(w.b.Bytes())
	return c
}

// Bodies of the test documents.
const (
	testCatalog = "<< /Type /Catalog /Pages 2 0 R >>"
	testPage    = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"
)

// pagesNode returns a /Pages node of the given kids (object numbers).
func pagesNode(kids ...int) string {
	var b strings.Builder
	for _, k := range kids {
		fmt.Fprintf(&b, "%d 0 R ", k)
	}
	return fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", b.String(), len(kids))
}
