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

var (
	errHeaderTooLarge = errors.New("ipp: request header too large")
	errHeaderTooDeep  = errors.New("ipp: collections nested too deeply")
	errHeaderShort    = errors.New("ipp: request header truncated")
)

// readHeader reads one IPP request header (up to and including the
// end-of-attributes tag) from r and returns its bytes, leaving r positioned
// at the first document byte. It frames the attributes itself instead of
// letting goipp read from the stream, because goipp reads without a size
// limit and recurses into collections without a depth limit.
func readHeader(r *bufio.Reader, maxBytes, maxDepth int) ([]byte, error) {
	h := headerReader{r: r, max: maxBytes}
	if err := h.take(8); err != nil { // version, operation, request-id
		return nil, err
	}
	depth := 0
	for {
		if err := h.take(1); err != nil {
			return nil, err
		}
		tag := h.buf[len(h.buf)-1]
		if tag == tagEndOfAttributes {
			return h.buf, nil
		}
		if tag <= tagMaxDelimiter {
			continue
		}
		switch tag {
		case tagBegCollection:
			if depth++; depth > maxDepth {
				return nil, errHeaderTooDeep
			}
		case tagEndCollection:
			depth--
		}
		for range 2 { // name, then value: each a 2-byte length and its bytes
			if err := h.take(2); err != nil {
				return nil, err
			}
			n := int(binary.BigEndian.Uint16(h.buf[len(h.buf)-2:]))
			if err := h.take(n); err != nil {
				return nil, err
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
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errHeaderShort
		}
		return fmt.Errorf("ipp: read request header: %w", err)
	}
	return nil
}
