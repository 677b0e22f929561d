package ipp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"
)

// wire builds IPP messages byte by byte, so that tests can express what
// goipp's encoder refuses to produce.
type wire struct{ bytes.Buffer }

// newWire starts a message: version 2.0, Get-Printer-Attributes,
// request-id 1.
func newWire() *wire {
	w := &wire{}
	w.Write([]byte{2, 0, 0, 0x0b, 0, 0, 0, 1})
	return w
}

func (w *wire) tag(t byte) *wire { w.WriteByte(t); return w }

// attr writes one attribute (or value, or collection member) with tag t.
func (w *wire) attr(t byte, name, value string) *wire {
	w.WriteByte(t)
	binary.Write(&w.Buffer, binary.BigEndian, uint16(len(name)))
	w.WriteString(name)
	binary.Write(&w.Buffer, binary.BigEndian, uint16(len(value)))
	w.WriteString(value)
	return w
}

// preamble writes the operation group with charset and language.
func (w *wire) preamble() *wire {
	return w.tag(byte(goipp.TagOperationGroup)).
		attr(byte(goipp.TagCharset), "attributes-charset", "utf-8").
		attr(byte(goipp.TagLanguage), "attributes-natural-language", "en")
}

// nested writes attribute name as depth collections, one inside the other.
func (w *wire) nested(name string, depth int) *wire {
	w.attr(tagBegCollection, name, "")
	for range depth - 1 {
		w.attr(byte(goipp.TagMemberName), "", "m")
		w.attr(tagBegCollection, "", "")
	}
	for range depth {
		w.attr(tagEndCollection, "", "")
	}
	return w
}

func (w *wire) end() []byte { w.tag(tagEndOfAttributes); return bytes.Clone(w.Bytes()) }

// validHeader is a Print-Job header exercising every field: several
// groups, an additional value, a collection and a value holding the byte
// of the end-of-attributes tag.
func validHeader() []byte {
	w := newWire().preamble().
		attr(byte(goipp.TagURI), "printer-uri", "ipp://localhost/ipp/print/secure").
		attr(byte(goipp.TagName), "job-name", "a\x03b").
		tag(byte(goipp.TagJobGroup)).
		attr(byte(goipp.TagKeyword), "sides", "one-sided").
		attr(byte(goipp.TagKeyword), "", "two-sided-long-edge")
	w.nested("media-col", 2)
	return w.end()
}

func TestReadHeader(t *testing.T) {
	const doc = "%PDF-1.7 document bytes"
	long := strings.Repeat("x", 30000)
	valid := validHeader()
	tests := []struct {
		name     string
		in       []byte
		maxBytes int
		maxDepth int
		want     []byte // header returned; nil when err is set
		err      error
	}{
		{name: "valid", in: valid, want: valid},
		{name: "minimal", in: newWire().end(), want: newWire().end()},
		{name: "end tag inside a value", in: newWire().preamble().attr(0x41, "job-name", "\x03\x03").end(),
			want: newWire().preamble().attr(0x41, "job-name", "\x03\x03").end()},
		{name: "exactly max bytes", in: valid, maxBytes: len(valid), want: valid},
		{name: "one byte over max", in: valid, maxBytes: len(valid) - 1, err: errHeaderTooLarge},
		{name: "value length beyond max", maxBytes: 1024, err: errHeaderTooLarge,
			// Claims a 32767-byte value and then ends: without the cap
			// checked before reading, this would be a short read.
			in: append(newWire().preamble().Bytes(), 0x41, 0, 1, 'x', 0x7f, 0xff, 'y')},
		{name: "over default cap", err: errHeaderTooLarge,
			in: newWire().preamble().attr(0x41, "job-name", long).attr(0x41, "", long).
				attr(0x41, "", long).attr(0x41, "", long).attr(0x41, "", long).attr(0x41, "", long).
				attr(0x41, "", long).attr(0x41, "", long).attr(0x41, "", long).end()},
		{name: "longest value", in: newWire().preamble().attr(0x41, "job-name", strings.Repeat("x", 32767)).end(),
			want: newWire().preamble().attr(0x41, "job-name", strings.Repeat("x", 32767)).end()},
		{name: "value of 32768 octets", err: errHeaderLength,
			in: newWire().preamble().attr(0x41, "job-name", strings.Repeat("x", 32768)).end()},
		{name: "name of 65535 octets", err: errHeaderLength,
			in: newWire().preamble().attr(0x41, strings.Repeat("x", 65535), "v").end()},
		{name: "depth at cap", in: newWire().preamble().nested("c", 4).end(), maxDepth: 4,
			want: newWire().preamble().nested("c", 4).end()},
		{name: "depth over cap", in: newWire().preamble().nested("c", 5).end(), maxDepth: 4, err: errHeaderTooDeep},
		{name: "40 nested collections", in: newWire().preamble().nested("c", 40).end(), err: errHeaderTooDeep},
		{name: "sibling collections stay shallow", maxDepth: 2,
			in:   newWire().preamble().nested("a", 2).nested("b", 2).nested("c", 2).nested("d", 2).end(),
			want: newWire().preamble().nested("a", 2).nested("b", 2).nested("c", 2).nested("d", 2).end()},
		{name: "end collection without begin", err: errHeaderUnbalanced,
			in: newWire().preamble().attr(tagEndCollection, "", "").end()},
		{name: "unbalanced ends do not buy depth", maxDepth: 2, err: errHeaderUnbalanced,
			in: newWire().preamble().attr(tagEndCollection, "", "").attr(tagEndCollection, "", "").
				nested("c", 4).end()},
		{name: "empty", in: nil, err: errHeaderShort},
		{name: "no end tag", in: valid[:len(valid)-1], err: errHeaderShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			maxBytes, maxDepth := tc.maxBytes, tc.maxDepth
			if maxBytes == 0 {
				maxBytes = DefaultMaxHeaderBytes
			}
			if maxDepth == 0 {
				maxDepth = DefaultMaxDepth
			}
			r := bufio.NewReader(io.MultiReader(bytes.NewReader(tc.in), strings.NewReader(doc)))
			got, err := readHeader(r, maxBytes, maxDepth)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("readHeader: err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("readHeader: %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("readHeader returned %d bytes %q, want %d bytes %q", len(got), got, len(tc.want), tc.want)
			}
			rest, _ := io.ReadAll(r)
			if string(rest) != doc {
				t.Errorf("after the header the reader holds %q, want the document %q", rest, doc)
			}
			var m goipp.Message
			if err := m.DecodeBytes(got); err != nil {
				t.Errorf("goipp cannot decode the header readHeader accepted: %v", err)
			}
		})
	}
}

// TestReadHeaderTruncated cuts a valid header at every byte: each cut is
// reported as truncated, never accepted, whichever field it falls in.
func TestReadHeaderTruncated(t *testing.T) {
	valid := validHeader()
	fields := []struct {
		name string
		at   int // a cut inside this field
	}{
		{"version", 1},
		{"operation", 3},
		{"request-id", 6},
		{"group tag", 8},
		{"name length", 11},
		{"name", 15},
		{"value length", 31},
		{"value", 33},
	}
	for _, f := range fields {
		t.Run(f.name, func(t *testing.T) {
			_, err := readHeader(bufio.NewReader(bytes.NewReader(valid[:f.at])), DefaultMaxHeaderBytes, DefaultMaxDepth)
			if !errors.Is(err, errHeaderShort) {
				t.Fatalf("header cut at %d: err = %v, want %v", f.at, err, errHeaderShort)
			}
		})
	}
	for n := range len(valid) {
		got, err := readHeader(bufio.NewReader(bytes.NewReader(valid[:n])), DefaultMaxHeaderBytes, DefaultMaxDepth)
		if !errors.Is(err, errHeaderShort) {
			t.Errorf("header cut at %d of %d: err = %v, want %v", n, len(valid), err, errHeaderShort)
		}
		// What was read whole comes back, so the error reply can carry
		// the request-id.
		if !bytes.HasPrefix(valid, got) || n >= 8 && len(got) < 8 {
			t.Errorf("header cut at %d: readHeader returned %q, want a prefix of the header of at least 8 bytes", n, got)
		}
	}
}

// errReader fails every read with a network-like error.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestReadHeaderReadError(t *testing.T) {
	_, err := readHeader(bufio.NewReader(io.MultiReader(bytes.NewReader(validHeader()[:20]), errReader{})),
		DefaultMaxHeaderBytes, DefaultMaxDepth)
	if err == nil || errors.Is(err, errHeaderShort) || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v, want the read error", err)
	}
}
