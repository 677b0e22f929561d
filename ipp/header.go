package ipp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Wire tags the header scanner must recognise (RFC 8010 §3.5).
const (
	tagEndOfAttributes = 0x03
	tagMaxDelimiter    = 0x0f
	tagBegCollection   = 0x34
	tagEndCollection   = 0x37
)

// maxLength is the longest name or value: RFC 8010 §3.1 makes the
// lengths SIGNED-SHORT, and goipp cannot encode a longer value back into
// the unsupported-attributes group of a reply.
const maxLength = 1<<15 - 1

var (
	errHeaderTooLarge   = errors.New("ipp: request header too large")
	errHeaderTooDeep    = errors.New("ipp: collections nested too deeply")
	errHeaderShort      = errors.New("ipp: request header truncated")
	errHeaderUnbalanced = errors.New("ipp: end of collection without its beginning")
	errHeaderLength     = errors.New("ipp: attribute name or value longer than 32767 octets")
)

// readHeader reads one IPP request header (up to and including the
// end-of-attributes tag) from r and returns its bytes, leaving r positioned
// at the first document byte. It frames the attributes itself instead of
// letting goipp read from the stream, because goipp reads without a size
// limit and recurses into collections without a depth limit. On error it
// returns the whole fields read so far, so that the reply can still carry
// the request-id.
func readHeader(r *bufio.Reader, maxBytes, maxDepth int) ([]byte, error) {
	h := headerReader{r: r, max: maxBytes}
	err := h.read(maxDepth)
	return h.buf, err
}

func (h *headerReader) read(maxDepth int) error {
	if err := h.take(8); err != nil { // version, operation, request-id
		return err
	}
	depth := 0
	for {
		if err := h.take(1); err != nil {
			return err
		}
		tag := h.buf[len(h.buf)-1]
		if tag == tagEndOfAttributes {
			return nil
		}
		if tag <= tagMaxDelimiter {
			continue
		}
		switch tag {
		case tagBegCollection:
			if depth++; depth > maxDepth {
				return errHeaderTooDeep
			}
		case tagEndCollection:
			// A stray end must not lower the count that caps the
			// nesting of the collections after it.
			if depth--; depth < 0 {
				return errHeaderUnbalanced
			}
		}
		for range 2 { // name, then value: each a 2-byte length and its bytes
			if err := h.take(2); err != nil {
				return err
			}
			n := int(binary.BigEndian.Uint16(h.buf[len(h.buf)-2:]))
			if n > maxLength {
				return errHeaderLength
			}
			if err := h.take(n); err != nil {
				return err
			}
		}
	}
}

type headerReader struct {
	r   *bufio.Reader
	buf []byte
	max int
}

func (h *headerReader) take(n int) error {
	if len(h.buf)+n > h.max {
		return errHeaderTooLarge
	}
	start := len(h.buf)
	h.buf = append(h.buf, make([]byte, n)...)
	if _, err := io.ReadFull(h.r, h.buf[start:]); err != nil {
		h.buf = h.buf[:start] // keep only whole fields
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errHeaderShort
		}
		return fmt.Errorf("ipp: read request header: %w", err)
	}
	return nil
}
