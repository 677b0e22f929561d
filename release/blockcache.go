package release

import "io"

// blockCache keeps the last block read from r. Parsers read documents in
// small pieces, and each ReadAt of the spool decrypts a whole 64 KiB
// package; the cache turns thousands of decryptions into one per block.
type blockCache struct {
	r     io.ReaderAt
	off   int64
	block []byte
}

const cacheBlock = 64 << 10

func (c *blockCache) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		start := (off + int64(n)) / cacheBlock * cacheBlock
		if c.block == nil || start != c.off {
			buf := make([]byte, cacheBlock)
			m, err := c.r.ReadAt(buf, start)
			if m == 0 && err != nil {
				return n, err
			}
			c.off, c.block = start, buf[:m]
		}
		i := off + int64(n) - c.off
		if i >= int64(len(c.block)) {
			return n, io.EOF
		}
		n += copy(p[n:], c.block[i:])
	}
	return n, nil
}
