package stamp

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CodeLen is the number of characters of a verification code: 60 bits of
// the MAC, in Crockford's base32 (digits and letters without I, L, O and
// U, so that nothing reads as something else).
const CodeLen = 12

// codeGroup is the length of the groups a code is shown in.
const codeGroup = 4

// crockford is Crockford's base32 alphabet.
var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// ErrBadCode means a string is not a well-formed verification code.
var ErrBadCode = errors.New("stamp: not a verification code")

// minKeyLen is the shortest audit key accepted, as the audit package
// accepts it.
const minKeyLen = 16

// Record is what a verification code vouches for: the job, whose it is,
// where and when it was released, and the document printed. Every field
// is in the job's audit record (the stamped event and the job's
// submission), so that the code can be recomputed from the record alone.
type Record struct {
	JobID                 int64
	Owner, Queue, Printer string
	// Time is when the job was released, to the second.
	Time time.Time
	// SHA256 is the digest of the document as submitted.
	SHA256 []byte
}

// recordVersion starts the bytes a code's MAC covers, so that they can
// never pass for another use of the key.
const recordVersion = "printgate-stamp-code/1"

// bytes is the unambiguous encoding the MAC covers: each string as a
// 4-byte length and its bytes, the job ID as 8 bytes, the time in UTC as
// RFC 3339 text.
func (r Record) bytes() []byte {
	b := appendString(nil, recordVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(r.JobID))
	for _, s := range [...]string{r.Owner, r.Queue, r.Printer, FormatTime(r.Time), string(r.SHA256)} {
		b = appendString(b, s)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// FormatTime is the form of a release time in the audit record and in
// the bytes a code covers: UTC, to the second.
func FormatTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// Keys make and check verification codes. Both keys are derived from the
// audit key, each for its one purpose, so that a code can never pass for
// a keyed name or a chain hash.
type Keys struct {
	mac   []byte // the code's MAC
	index []byte // the keyed index by which a code finds its job
}

// NewKeys derives the keys from the audit key (audit.Options.Key).
func NewKeys(auditKey []byte) (*Keys, error) {
	if len(auditKey) < minKeyLen {
		return nil, fmt.Errorf("stamp: the audit key must be at least %d bytes", minKeyLen)
	}
	mac, err := hkdf.Key(sha256.New, auditKey, nil, "printgate stamp code", sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("stamp: derive key: %w", err)
	}
	index, err := hkdf.Key(sha256.New, auditKey, nil, "printgate stamp code index", sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("stamp: derive key: %w", err)
	}
	return &Keys{mac: mac, index: index}, nil
}

// Code returns r's verification code, grouped for reading ("K7QM 2XPD
// 9FJC"): the first 60 bits of HMAC-SHA256 over r.
func (k *Keys) Code(r Record) string { return group(k.code(r)) }

// code is r's code in its normalized form.
func (k *Keys) code(r Record) string {
	m := hmac.New(sha256.New, k.mac)
	m.Write(r.bytes())
	// The first 12 characters of the encoding of 8 bytes are exactly
	// their first 60 bits.
	return crockford.EncodeToString(m.Sum(nil)[:8])[:CodeLen]
}

// Check reports whether code, in any form Normalize accepts, is r's
// verification code.
func (k *Keys) Check(r Record, code string) bool {
	n, err := Normalize(code)
	return err == nil && hmac.Equal([]byte(n), []byte(k.code(r)))
}

// indexOf is the keyed index of a normalized code: what the table stores
// instead of the code.
func (k *Keys) indexOf(normalized string) []byte {
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte(normalized))
	return m.Sum(nil)
}

// Normalize turns a code as a person types it into its canonical form:
// upper case, half-width, without spaces, hyphens or dots, with O read as
// 0 and I and L as 1 (as Crockford's base32 does). Anything else that is not a code
// character, or a length other than CodeLen, is ErrBadCode.
func Normalize(code string) (string, error) {
	if len(code) > 4*CodeLen {
		return "", ErrBadCode
	}
	var b strings.Builder
	for _, r := range code {
		if r >= '\uff01' && r <= '\uff5e' {
			r -= 0xfee0 // a full-width letter or digit, as a Japanese input method types it
		}
		switch {
		case r == ' ' || r == '-' || r == '.' || r == '\u00ad' || r == '\u2010' || r == '\u2011' || r == '\u2212' || r == '\u3000':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		switch r {
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 0x7f || !strings.ContainsRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", r) {
			return "", ErrBadCode
		}
		b.WriteRune(r)
	}
	if b.Len() != CodeLen {
		return "", ErrBadCode
	}
	return b.String(), nil
}

// group splits a normalized code into groups of codeGroup.
func group(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += codeGroup {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+codeGroup, len(s))])
	}
	return b.String()
}
