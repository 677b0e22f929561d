// Package cardreader turns what a card reader sends into the one
// canonical form of a card UID that printgate enrols and looks up: the
// UID's bytes in upper-case hex, as credential.NormalizeUID writes them.
//
// Readers differ in how they write the same card: in hex, as a decimal
// number, with the bytes in reverse order (LSB first), behind a site
// code. A Format says how one reader writes it, as a short list of steps
// applied left to right, separated by commas:
//
//	prefix:TEXT  drop TEXT from the front; a UID without it is refused
//	strip:N      drop the first N characters (a fixed-length site code)
//	hex          the digits are hexadecimal (the default)
//	dec          the digits are one decimal number: the UID's bytes read
//	             big-endian, at least 4 bytes
//	dec:N        the same, N bytes long (leading zero bytes kept)
//	reverse      reverse the UID's bytes
//
// prefix and strip work on the text and so come before hex or dec;
// reverse works on the bytes and so comes after (hex when neither is
// named). Case, surrounding white space and the separators ':', '-' and
// ' ' are ignored before any step. Examples: "dec", "dec,reverse",
// "strip:2,hex", "prefix:99,dec:7,reverse".
package cardreader

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/printgate/printgate/release/credential"
)

// Limits on outside input. A reader's line is short: a 10-byte UID is 20
// hex or 25 decimal digits, and a site code a few more.
const (
	// MaxInput is the longest reader output Normalize reads, in bytes.
	MaxInput = 64
	// MaxSpec is the longest format Parse reads, in bytes.
	MaxSpec = 64
	// maxDecDigits is the number of decimal digits of the largest UID:
	// 2^80-1 has 25.
	maxDecDigits = 25
	// maxPrefix bounds prefix:TEXT and strip:N.
	maxPrefix = 16
)

// ErrBadFormat is a reader format Parse refuses.
var ErrBadFormat = errors.New("cardreader: bad reader format")

type op int

const (
	opPrefix op = iota
	opStrip
	opHex
	opDec
	opReverse
)

type step struct {
	op   op
	n    int    // strip's count, dec's byte length (0: at least 4)
	text string // prefix's text, upper case
}

func (s step) String() string {
	switch s.op {
	case opPrefix:
		return "prefix:" + s.text
	case opStrip:
		return "strip:" + strconv.Itoa(s.n)
	case opHex:
		return "hex"
	case opDec:
		if s.n > 0 {
			return "dec:" + strconv.Itoa(s.n)
		}
		return "dec"
	default:
		return "reverse"
	}
}

// Format is how one reader writes UIDs. The zero Format is hex.
type Format struct {
	steps []step // text steps, then exactly one of hex or dec, then byte steps
}

// Hex is the default format: hex digits, any case and separators.
var Hex = Format{}

// String returns the format in the syntax Parse reads, with the decoding
// step always named: Parse(f.String()) is f.
func (f Format) String() string {
	if len(f.steps) == 0 {
		return "hex"
	}
	parts := make([]string, len(f.steps))
	for i, s := range f.steps {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}

const syntaxHint = "use prefix:TEXT, strip:N, hex, dec, dec:BYTES or reverse, comma-separated"

// Parse reads a reader format; the empty string is Hex. Errors wrap
// ErrBadFormat and say which step is wrong and why.
func Parse(spec string) (Format, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Hex, nil
	}
	if len(spec) > MaxSpec {
		return Format{}, fmt.Errorf("%w: longer than %d characters", ErrBadFormat, MaxSpec)
	}
	var f Format
	decoded := false
	for part := range strings.SplitSeq(spec, ",") {
		s, err := parseStep(strings.TrimSpace(part))
		if err != nil {
			return Format{}, err
		}
		if slices.ContainsFunc(f.steps, func(o step) bool { return o.op == s.op || isDecode(o.op) && isDecode(s.op) }) {
			return Format{}, fmt.Errorf("%w: %q: a step may be given once, and only one of hex and dec", ErrBadFormat, s)
		}
		switch {
		case isDecode(s.op):
			decoded = true
		case s.op == opReverse && !decoded:
			f.steps = append(f.steps, step{op: opHex})
			decoded = true
		case (s.op == opPrefix || s.op == opStrip) && decoded:
			return Format{}, fmt.Errorf("%w: %q works on the digits the reader sends, so it comes before hex or dec", ErrBadFormat, s)
		}
		f.steps = append(f.steps, s)
	}
	if !decoded {
		f.steps = append(f.steps, step{op: opHex})
	}
	if len(f.steps) == 1 && f.steps[0].op == opHex {
		return Hex, nil
	}
	return f, nil
}

func isDecode(o op) bool { return o == opHex || o == opDec }

func parseStep(part string) (step, error) {
	name, arg, hasArg := strings.Cut(strings.ToLower(part), ":")
	name = strings.TrimSpace(name)
	arg = strings.TrimSpace(arg)
	number := func(lo, hi int) (int, error) {
		n, err := strconv.Atoi(arg)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%w: %q: %s takes a number from %d to %d", ErrBadFormat, part, name, lo, hi)
		}
		return n, nil
	}
	switch {
	case name == "hex" && !hasArg:
		return step{op: opHex}, nil
	case name == "reverse" && !hasArg:
		return step{op: opReverse}, nil
	case name == "dec" && !hasArg:
		return step{op: opDec}, nil
	case name == "dec":
		n, err := number(credential.MinUIDBytes, credential.MaxUIDBytes)
		return step{op: opDec, n: n}, err
	case name == "strip" && hasArg:
		n, err := number(1, maxPrefix)
		return step{op: opStrip, n: n}, err
	case name == "prefix" && hasArg:
		text := strings.ToUpper(arg)
		if text == "" || len(text) > maxPrefix || strings.Trim(text, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return step{}, fmt.Errorf("%w: %q: prefix takes 1 to %d letters or digits", ErrBadFormat, part, maxPrefix)
		}
		return step{op: opPrefix, text: text}, nil
	case part == "":
		return step{}, fmt.Errorf("%w: an empty step; %s", ErrBadFormat, syntaxHint)
	}
	return step{}, fmt.Errorf("%w: %q: %s", ErrBadFormat, part, syntaxHint)
}

// Normalize returns the canonical UID of what a reader of format f sent:
// upper-case hex of 4 to 10 bytes. Errors wrap credential.ErrBadUID and
// never contain the input.
func (f Format) Normalize(raw string) (string, error) {
	if len(raw) > MaxInput {
		return "", fmt.Errorf("%w: longer than %d characters", credential.ErrBadUID, MaxInput)
	}
	s := strings.ToUpper(strings.NewReplacer(":", "", "-", "", " ", "").Replace(strings.TrimSpace(raw)))
	steps := f.steps
	if len(steps) == 0 {
		steps = []step{{op: opHex}}
	}
	var uid []byte
	for _, st := range steps {
		var err error
		switch st.op {
		case opPrefix:
			var ok bool
			if s, ok = strings.CutPrefix(s, st.text); !ok {
				return "", fmt.Errorf("%w: without the reader's prefix", credential.ErrBadUID)
			}
		case opStrip:
			if len(s) <= st.n {
				return "", fmt.Errorf("%w: shorter than the reader's site code", credential.ErrBadUID)
			}
			s = s[st.n:]
		case opHex:
			uid, err = decodeHex(s)
		case opDec:
			uid, err = decodeDec(s, st.n)
		case opReverse:
			slices.Reverse(uid)
		}
		if err != nil {
			return "", err
		}
	}
	if len(uid) < credential.MinUIDBytes || len(uid) > credential.MaxUIDBytes {
		return "", fmt.Errorf("%w: %d bytes", credential.ErrBadUID, len(uid))
	}
	return strings.ToUpper(hex.EncodeToString(uid)), nil
}

func decodeHex(s string) ([]byte, error) {
	if strings.Trim(s, "0123456789ABCDEF") != "" || len(s)%2 != 0 {
		return nil, fmt.Errorf("%w: not hex digits", credential.ErrBadUID)
	}
	return hex.DecodeString(s)
}

// decodeDec reads s as a big-endian number of width bytes, or of at
// least MinUIDBytes when width is 0.
func decodeDec(s string, width int) ([]byte, error) {
	if s == "" || len(s) > maxDecDigits || strings.Trim(s, "0123456789") != "" {
		return nil, fmt.Errorf("%w: not a decimal number of a UID", credential.ErrBadUID)
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("%w: not a decimal number", credential.ErrBadUID)
	}
	b := n.Bytes()
	size := max(width, credential.MinUIDBytes, len(b))
	if width > 0 && len(b) > width {
		return nil, fmt.Errorf("%w: a number past %d bytes", credential.ErrBadUID, width)
	}
	out := make([]byte, size)
	copy(out[size-len(b):], b)
	return out, nil
}
