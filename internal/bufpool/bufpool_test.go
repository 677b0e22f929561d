package bufpool

import (
	"bufio"
	"bytes"
	"testing"
)

func TestGetSizes(t *testing.T) {
	p := New(16<<10, 128<<10+1)
	for _, tc := range []struct{ n, want int }{
		{0, 16 << 10},
		{10_000, 16 << 10},
		{16 << 10, 16 << 10},
		{16<<10 + 1, 32 << 10},
		{100_000, 128 << 10},
		{128 << 10, 128 << 10},
		{128<<10 + 1, 128<<10 + 1},
		{1 << 30, 128<<10 + 1},
	} {
		b := p.Get(tc.n)
		if len(*b) != tc.want || cap(*b) != tc.want {
			t.Errorf("Get(%d): len %d cap %d, want %d", tc.n, len(*b), cap(*b), tc.want)
		}
		p.Put(b)
	}
	if got := p.Largest(); got != 128<<10+1 {
		t.Errorf("Largest() = %d", got)
	}
}

func TestPutKeepsClasses(t *testing.T) {
	p := New(1024, 4096)
	b := p.Get(1000)
	*b = (*b)[:10]
	p.Put(b)
	if got := p.Get(1000); len(*got) != 1024 {
		t.Errorf("a buffer put back resliced comes back with length %d, want 1024", len(*got))
	}
	odd := make([]byte, 3000)
	p.Put(&odd) // of no class: dropped, not handed out as 4096
	for range 10 {
		if got := p.Get(4096); len(*got) != 4096 {
			t.Fatalf("Get(4096) gave %d bytes", len(*got))
		}
	}
}

func TestSmallestAboveLargest(t *testing.T) {
	p := New(64<<10, 4096)
	if b := p.Get(1); len(*b) != 4096 {
		t.Errorf("Get(1) = %d bytes, want the one class of 4096", len(*b))
	}
}

func TestClearReader(t *testing.T) {
	secret := bytes.Repeat([]byte("payslip "), 100)
	br := bufio.NewReaderSize(bytes.NewReader(secret), 512)
	if _, err := br.Peek(100); err != nil {
		t.Fatal(err)
	}
	ClearReader(br)
	// bufio gives no view of its buffer: a source that writes nothing
	// into what it is handed shows, through Peek, what the buffer holds.
	br.Reset(untouched{})
	got, _ := br.Peek(br.Size())
	if bytes.Contains(got, []byte("payslip")) {
		t.Errorf("the pooled reader still holds the document: %q", got[:40])
	}
}

// untouched reports every byte of p read without writing into it.
type untouched struct{}

func (untouched) Read(p []byte) (int, error) { return len(p), nil }
