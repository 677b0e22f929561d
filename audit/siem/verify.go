package siem

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/printgate/printgate/audit"
)

// MaxLine bounds one line of a collector's file that Verify reads; a
// longer line is reported and skipped, so that memory stays bounded.
const MaxLine = 1 << 20

// maxListed bounds the problems and missing sequences a Report lists.
const maxListed = 50

// Report is what Verify found.
type Report struct {
	// Lines counts the lines read; Other those that are not a forwarded
	// event (another program's messages in the same file).
	Lines, Other int64
	// Copies counts the forwarded events read, Distinct their
	// sequences; Duplicates the copies of a sequence already read, the same
	// (at least once means some are sent twice).
	Copies, Distinct, Duplicates int64
	// From and To are the range of the chain compared: every event in it
	// must have arrived.
	From, To int64
	// Missing counts the events of the range no copy holds; MissingSeqs
	// lists the first of them.
	Missing     int64
	MissingSeqs []int64
	// Purged counts copies of events that retention has since removed
	// from the chain; Later those beyond To but in the chain.
	Purged, Later int64
	// Bad counts the copies that do not verify; Problems lists the first.
	Bad      int64
	Problems []Problem
}

// Problem is a copy that does not verify.
type Problem struct {
	// Line is its line in the file, from 1; Seq its sequence, 0 when
	// unknown.
	Line, Seq int64
	// Reason says what is wrong.
	Reason string
}

// OK reports whether every copy verified and no event of the range is
// missing.
func (r *Report) OK() bool { return r.Bad == 0 && r.Missing == 0 }

func (r *Report) problem(line, seq int64, format string, args ...any) {
	r.Bad++
	if len(r.Problems) < maxListed {
		r.Problems = append(r.Problems, Problem{Line: line, Seq: seq, Reason: fmt.Sprintf(format, args...)})
	}
}

// copyOf is what Verify keeps of each sequence received.
type copyOf struct {
	hash [32]byte
	line int64
}

// Verify reads a collector's file of forwarded messages (one RFC 5424
// message a line, as rsyslog's RSYSLOG_SyslogProtocol23Format writes
// them) and checks each copy with l's key (audit.Log.CheckCopy): its
// fields are those its hash covers. It then walks the chain from from to
// to (0: the first event kept, and the head) and checks that each event
// arrived, with the chain's hash. A copy of a sequence beyond the chain's
// head, or two different copies of one sequence, mean the chain was cut
// back or forked since it was forwarded.
func Verify(ctx context.Context, l *audit.Log, r io.Reader, from, to int64) (Report, error) {
	var rep Report
	seen, err := readCopies(l, r, &rep)
	if err != nil {
		return rep, err
	}
	purged, err := l.PurgedThrough(ctx)
	if err != nil {
		return rep, err
	}
	head, _, err := l.Head(ctx)
	if err != nil {
		return rep, err
	}
	rep.From, rep.To = max(from, purged+1), head
	if to > 0 {
		rep.To = min(to, head)
	}
	next := rep.From
	for ev, err := range l.Events(ctx, audit.Filter{FromSeq: rep.From, ToSeq: rep.To}) {
		if err != nil {
			return rep, err
		}
		rep.missing(next, ev.Seq-1) // a gap in the chain: audit verify names it
		next = ev.Seq + 1
		c, ok := seen[ev.Seq]
		switch {
		case !ok:
			rep.missing(ev.Seq, ev.Seq)
		case !bytes.Equal(c.hash[:], ev.Hash):
			rep.problem(c.line, ev.Seq, "the copy's hash %x is not the chain's %x: the chain was rewritten after it was forwarded", c.hash, ev.Hash)
		}
		delete(seen, ev.Seq)
	}
	rep.missing(next, rep.To)
	for seq, c := range seen {
		switch {
		case seq <= purged:
			rep.Purged++
		case seq > head:
			rep.problem(c.line, seq, "the chain ends at %d: it was cut back after this event was forwarded", head)
		case seq > rep.To:
			rep.Later++
		}
	}
	return rep, nil
}

// missing records the sequences from a to b (none when b < a).
func (r *Report) missing(a, b int64) {
	if b < a {
		return
	}
	r.Missing += b - a + 1
	for s := a; s <= b && len(r.MissingSeqs) < maxListed; s++ {
		r.MissingSeqs = append(r.MissingSeqs, s)
	}
}

// readCopies reads the file's copies, checks each, and returns the hash
// of each sequence.
func readCopies(l *audit.Log, r io.Reader, rep *Report) (map[int64]copyOf, error) {
	seen := make(map[int64]copyOf)
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br)
		if len(line) > 0 || errors.Is(err, errLongLine) {
			rep.Lines++
		}
		switch {
		case errors.Is(err, errLongLine):
			rep.problem(rep.Lines, 0, "longer than %d bytes", MaxLine)
		case len(line) > 0:
			readCopy(l, line, rep, seen)
		}
		if err == io.EOF {
			return seen, nil
		}
		if err != nil && !errors.Is(err, errLongLine) {
			return nil, fmt.Errorf("siem: read: %w", err)
		}
	}
}

var errLongLine = errors.New("line too long")

// readLine returns the next line without its end; a line longer than
// MaxLine is read to its end and dropped with errLongLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, err := br.ReadSlice('\n')
		if len(line)+len(part) > MaxLine+1 {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err == nil || err == io.EOF {
				return nil, errLongLine
			}
			return nil, err
		}
		line = append(line, part...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

// readCopy checks one line and records the copy it holds.
func readCopy(l *audit.Log, line []byte, rep *Report, seen map[int64]copyOf) {
	n := rep.Lines
	m, err := Parse(line)
	if err != nil || m.Params == nil {
		if bytes.Contains(line, []byte("["+SDID+" ")) {
			rep.problem(n, 0, "a forwarded event that does not parse: %v", err)
		} else {
			rep.Other++
		}
		return
	}
	rep.Copies++
	ev, err := audit.UnmarshalCopy(m.Msg)
	if err != nil {
		rep.problem(n, 0, "%v", err)
		return
	}
	if err := agree(m, &ev); err != nil {
		rep.problem(n, ev.Seq, "%v", err)
		return
	}
	if err := l.CheckCopy(&ev); err != nil {
		rep.problem(n, ev.Seq, "%v", err)
		return
	}
	c := copyOf{line: n}
	copy(c.hash[:], ev.Hash)
	if old, ok := seen[ev.Seq]; ok {
		if old.hash != c.hash {
			rep.problem(n, ev.Seq, "line %d holds another event %d: the chain was forked (a database restored?)", old.line, ev.Seq)
		} else {
			rep.Duplicates++
		}
		return
	}
	rep.Distinct++
	seen[ev.Seq] = c
}

// agree checks that the structured data says what the event says.
func agree(m Message, ev *audit.Event) error {
	for name, want := range map[string]string{
		"seq": strconv.FormatInt(ev.Seq, 10), "hash": hex.EncodeToString(ev.Hash), "prev": hex.EncodeToString(ev.PrevHash),
	} {
		if got := m.Params[name]; got != want {
			return fmt.Errorf("structured data %s=%q, the event says %q", name, got, want)
		}
	}
	return nil
}
