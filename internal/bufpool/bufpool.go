// Package bufpool keeps byte buffers in pools by size, so that a request
// with a small body holds a small buffer: a pool of one size, as large as
// the largest body, made every small request hold the largest buffer, and
// those buffers were most of the live heap under load, which the garbage
// collector then scanned and chased under the memory limit.
package bufpool

import (
	"bufio"
	"sync"
)

// Pool hands out buffers in classes whose sizes double from the smallest
// up to the largest, which is exactly the largest size asked for.
type Pool struct {
	sizes []int
	pools []sync.Pool
}

// New returns a Pool of buffers from smallest up to largest bytes.
func New(smallest, largest int) *Pool {
	smallest = min(max(smallest, 1), largest)
	p := &Pool{}
	for size := smallest; ; size *= 2 {
		if size >= largest {
			p.sizes = append(p.sizes, largest)
			break
		}
		p.sizes = append(p.sizes, size)
	}
	p.pools = make([]sync.Pool, len(p.sizes))
	return p
}

// Largest is the size of the largest buffer p hands out.
func (p *Pool) Largest() int { return p.sizes[len(p.sizes)-1] }

// Get returns a buffer of the smallest class that holds n bytes (the
// largest class for n beyond it), its length its class's size. Its
// contents are whatever the last user left: callers that hold secrets
// clear what they wrote before Put.
func (p *Pool) Get(n int) *[]byte {
	c := p.class(n)
	if b, ok := p.pools[c].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, p.sizes[c])
	return &b
}

// Put gives b back to the pool of its size; a buffer of no class's size
// (one that was resliced or grown) is left to the garbage collector.
func (p *Pool) Put(b *[]byte) {
	c := p.class(cap(*b))
	if p.sizes[c] != cap(*b) {
		return
	}
	*b = (*b)[:cap(*b)]
	p.pools[c].Put(b)
}

func (p *Pool) class(n int) int {
	for i, size := range p.sizes {
		if n <= size {
			return i
		}
	}
	return len(p.sizes) - 1
}

// ClearReader overwrites what br has buffered with zeros and detaches it
// from its reader: a pooled reader then keeps nothing of the document it
// last read.
func ClearReader(br *bufio.Reader) {
	br.Reset(zeros{})
	_, _ = br.Peek(br.Size())
	br.Reset(nil)
}

// zeros reads as endless zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
