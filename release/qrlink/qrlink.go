// Package qrlink signs and checks the links that a device's QR code
// carries: a phone that opens one may release its user's jobs at that
// device, and nowhere else, until the link expires.
//
// A link's token is "v1.EXPIRY.MAC": EXPIRY in Unix seconds and MAC the
// HMAC-SHA-256, base64url, of the device it is bound to and EXPIRY, under
// a key derived from a server key that never leaves the servers. Anyone
// may read a token; only the servers can make one, and changing any part
// of it (the device, the expiry) breaks its MAC.
package qrlink

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MinKeyLength is the shortest server key New accepts.
const MinKeyLength = 32

// keyInfo derives the links' key from the server key, apart from every
// other key taken from it.
const keyInfo = "printgate/release/qrlink: device link v1"

// maxTokenLength bounds what Check reads: a real token is under 70 bytes.
const maxTokenLength = 128

// Errors of Check.
var (
	// ErrExpired is a genuine link past its expiry.
	ErrExpired = errors.New("qrlink: link expired")
	// ErrInvalid is a token that is malformed or was not made by the
	// servers for this device: tampered, cut, or another device's.
	ErrInvalid = errors.New("qrlink: link not valid")
)

// Binding is what a link is bound to: the device, by its name and by
// what changes when it is re-registered or its token rotated, so that a
// link printed for an earlier registration stops working.
type Binding struct {
	// Device is the device's name.
	Device string
	// ID is the device's row ID; a device removed and added again under
	// the same name gets another.
	ID int64
	// Generation is anything that, changed, revokes every link of the
	// device; release uses the hash of the device token.
	Generation string
}

// message is what the MAC covers: each field length-prefixed, so that
// no two bindings encode alike.
func (b Binding) message(expires int64) []byte {
	var out []byte
	for _, f := range []string{"printgate qr v1", b.Device, strconv.FormatInt(b.ID, 10), b.Generation,
		strconv.FormatInt(expires, 10)} {
		out = strconv.AppendInt(out, int64(len(f)), 10)
		out = append(out, ':')
		out = append(out, f...)
	}
	return out
}

// Signer makes and checks tokens. It is safe for concurrent use.
type Signer struct {
	key []byte
}

// New returns a Signer whose key is derived from serverKey (at least
// MinKeyLength bytes, kept outside the database) with HKDF-SHA-256.
func New(serverKey []byte) (*Signer, error) {
	if len(serverKey) < MinKeyLength {
		return nil, fmt.Errorf("qrlink: server key must be at least %d bytes", MinKeyLength)
	}
	key, err := hkdf.Key(sha256.New, serverKey, nil, keyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("qrlink: derive key: %w", err)
	}
	return &Signer{key: key}, nil
}

// Sign returns the token of a link bound to b that expires at expires
// (to the second, rounded down).
func (s *Signer) Sign(b Binding, expires time.Time) string {
	exp := expires.Unix()
	return "v1." + strconv.FormatInt(exp, 10) + "." + s.mac(b, exp)
}

func (s *Signer) mac(b Binding, exp int64) string {
	m := hmac.New(sha256.New, s.key)
	m.Write(b.message(exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Check verifies that token was made for b and has not expired at now.
// It returns the link's expiry, or an error wrapping ErrInvalid or
// ErrExpired. The MAC is checked before the expiry, so a forged token is
// never told apart by its age.
func (s *Signer) Check(b Binding, token string, now time.Time) (time.Time, error) {
	exp, mac, err := parse(token)
	if err != nil {
		return time.Time{}, err
	}
	if !hmac.Equal([]byte(mac), []byte(s.mac(b, exp))) {
		return time.Time{}, ErrInvalid
	}
	expires := time.Unix(exp, 0)
	if !now.Before(expires) {
		return expires, ErrExpired
	}
	return expires, nil
}

// parse splits a token into its expiry and MAC.
func parse(token string) (int64, string, error) {
	if len(token) > maxTokenLength {
		return 0, "", ErrInvalid
	}
	rest, ok := strings.CutPrefix(token, "v1.")
	if !ok {
		return 0, "", ErrInvalid
	}
	expText, mac, ok := strings.Cut(rest, ".")
	if !ok || expText == "" || len(expText) > 19 || mac == "" {
		return 0, "", ErrInvalid
	}
	for _, c := range expText {
		if c < '0' || c > '9' {
			return 0, "", ErrInvalid
		}
	}
	exp, err := strconv.ParseInt(expText, 10, 64)
	// One spelling per token: 01800000000 is not 1800000000 (found by
	// fuzzing), so a link's text is exactly what was signed.
	if err != nil || strconv.FormatInt(exp, 10) != expText {
		return 0, "", ErrInvalid
	}
	return exp, mac, nil
}
