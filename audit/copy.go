package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// A copy of an event kept outside the database (a SIEM's, forwarded by
// audit/siem) carries everything its hash covers, so that whoever holds
// the key can check the copy by itself, and against the chain.

// MarshalCopy returns ev as one line of JSON holding every field its hash
// covers, with its PrevHash and Hash: the object of a JSON Lines export
// (eventExport), with times in UTC. The text is ASCII (other characters
// are \u escapes), so that no relay on the way (a syslog collector
// escaping 8-bit bytes) can change it. UnmarshalCopy reads it back.
func MarshalCopy(ev *Event) []byte {
	b, err := json.Marshal(newEventExport(ev, formatTime))
	if err != nil {
		// Strings, integers, a map of strings: nothing here can fail.
		panic("audit: marshal copy: " + err.Error())
	}
	return asciiJSON(b)
}

// asciiJSON rewrites every non-ASCII character of JSON text as a \u
// escape (a surrogate pair beyond the BMP). Such characters only occur
// inside strings, where the escape means the same character.
func asciiJSON(b []byte) []byte {
	i := bytes.IndexFunc(b, func(r rune) bool { return r >= utf8.RuneSelf })
	if i < 0 {
		return b
	}
	out := append(make([]byte, 0, len(b)+len(b)/4), b[:i]...)
	for _, r := range string(b[i:]) {
		switch {
		case r < utf8.RuneSelf:
			out = append(out, byte(r))
		case r > 0xFFFF:
			r -= 0x10000
			out = appendU(appendU(out, 0xD800+(r>>10)), 0xDC00+(r&0x3FF))
		default:
			out = appendU(out, r)
		}
	}
	return out
}

func appendU(b []byte, r rune) []byte {
	b = append(b, `\u`...)
	s := strconv.FormatInt(int64(r), 16)
	for range 4 - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

// ErrCopy means a copy of an event is malformed, or differs from what
// its hash covers.
var ErrCopy = errors.New("audit: bad event copy")

// UnmarshalCopy reads an event written by MarshalCopy. It checks the form
// only; CheckCopy checks the content against the hash.
func UnmarshalCopy(b []byte) (Event, error) {
	var c eventExport
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrCopy, err)
	}
	if dec.More() {
		return Event{}, fmt.Errorf("%w: text after the event", ErrCopy)
	}
	ev := Event{Seq: c.Seq, Type: c.Type, JobID: c.JobID, Owner: c.Owner, Actor: c.Actor, Queue: c.Queue,
		Device: c.Device, Method: c.Method, Printer: c.Printer, Outcome: c.Outcome, Reason: c.Reason,
		Details: c.Details}
	var err error
	if ev.Seq < 1 {
		return Event{}, fmt.Errorf("%w: sequence %d", ErrCopy, ev.Seq)
	}
	if ev.At, err = parseTime(c.At); err != nil {
		return Event{}, fmt.Errorf("%w: at: %w", ErrCopy, err)
	}
	if ev.PrevHash, err = decodeHash(c.PrevHash); err != nil {
		return Event{}, fmt.Errorf("%w: prev_hash: %w", ErrCopy, err)
	}
	if ev.Hash, err = decodeHash(c.Hash); err != nil {
		return Event{}, fmt.Errorf("%w: hash: %w", ErrCopy, err)
	}
	if c.Job != nil {
		if ev.Job, err = c.Job.info(); err != nil {
			return Event{}, fmt.Errorf("%w: %w", ErrCopy, err)
		}
	}
	return ev, nil
}

// CheckCopy reports whether ev's fields are those its Hash covers: its
// keyed hash over PrevHash and its canonical encoding, recomputed with the
// Log's key, equals Hash. A copy that passes was written by printgate from
// the chain, unchanged; that the chain still holds it is for the caller
// to compare (Events). An event of a chain hashed before the key (plain
// SHA-256) fails here: anyone can compute its hash, so only the chain can
// vouch for it.
func (l *Log) CheckCopy(ev *Event) error {
	if l.chainKey == nil {
		return wrap("check copy", ErrNoKey)
	}
	if !bytes.Equal(newHasher(l.chainKey).sum(ev.PrevHash, ev), ev.Hash) {
		return fmt.Errorf("%w: event %d does not match its hash", ErrCopy, ev.Seq)
	}
	return nil
}

// KeyedFrom returns the first sequence whose hash is keyed: 1 unless the
// chain was upgraded from plain SHA-256 (Upgrade), whose plain part only
// its signed marks vouch for. It fails when a mark does not verify.
func (l *Log) KeyedFrom(ctx context.Context) (int64, error) {
	marks, err := readMarks(l.db.DB.WithContext(ctx))
	if err != nil {
		return 0, wrap("keyed from", err)
	}
	var w walker
	if _, reason := l.loadMarks(&w, marks); reason != "" {
		return 0, wrap("keyed from", fmt.Errorf("%w: %s", ErrBrokenChain, reason))
	}
	return w.keyedFrom, nil
}

// PurgedThrough returns the last sequence that retention purged (0 when
// none was): events up to it are no longer in the chain, by design.
func (l *Log) PurgedThrough(ctx context.Context) (int64, error) {
	cp, err := latestCheckpoint(l.db.DB.WithContext(ctx))
	if err != nil || cp == nil {
		return 0, wrap("purged through", err)
	}
	return cp.Seq, nil
}
