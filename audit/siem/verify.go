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
	// Copies counts the forwarded events read; Distinct the sequences of
	// the range From-To among them, Duplicates the copies of one of those
	// already read, the same (at least once means some are sent twice).
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

// MaxRange bounds the events one Verify checks: it keeps 40 bytes for
// each (a longer chain is checked a range at a time, --from and --to).
const MaxRange = 10_000_000

// copyOf is what Verify keeps of each sequence of the range received.
type copyOf struct {
	hash [32]byte
	line int64 // 0: not received
}

// copies are the copies read, by where their sequence falls.
type copies struct {
	rep          *Report
	purged, head int64
	// keyedFrom is where the chain's keyed hashes start; copies before
	// it can only be checked against their plain hash and the chain's.
	keyedFrom int64
	got       []copyOf // of rep.From..rep.To
}

// Verify reads a collector's file of forwarded messages (one RFC 5424
// message a line, as rsyslog's RSYSLOG_SyslogProtocol23Format writes
// them) and checks each copy with l's key (audit.Log.CheckCopy): its
// fields are those its hash covers. It then walks the chain from from to
// to (0: the first event kept, and the head) and checks that each event
// arrived, with the chain's hash. A copy of a sequence beyond the chain's
// head, or two different copies of one sequence, mean the chain was cut
// back or forked since it was forwarded. Memory grows with the range
// (MaxRange at most), not with the file.
func Verify(ctx context.Context, l *audit.Log, r io.Reader, from, to int64) (Report, error) {
	var rep Report
	c := &copies{rep: &rep}
	var err error
	if c.purged, err = l.PurgedThrough(ctx); err != nil {
		return rep, err
	}
	if c.head, _, err = l.Head(ctx); err != nil {
		return rep, err
	}
	if c.keyedFrom, err = l.KeyedFrom(ctx); err != nil {
		return rep, err
	}
	rep.From, rep.To = max(from, c.purged+1), c.head
	if to > 0 {
		rep.To = min(to, c.head)
	}
	if n := rep.To - rep.From + 1; n > MaxRange {
		return rep, fmt.Errorf("siem: %d events to check, more than %d at once: give a range (--from, --to)", n, MaxRange)
	}
	c.got = make([]copyOf, max(rep.To-rep.From+1, 0))
	if err := c.read(l, r); err != nil {
		return rep, err
	}
	next := rep.From
	for ev, err := range l.Events(ctx, audit.Filter{FromSeq: rep.From, ToSeq: rep.To}) {
		if err != nil {
			return rep, err
		}
		rep.missing(next, ev.Seq-1) // a gap in the chain: audit verify names it
		next = ev.Seq + 1
		switch cp := &c.got[ev.Seq-rep.From]; {
		case cp.line == 0:
			rep.missing(ev.Seq, ev.Seq)
		case !bytes.Equal(cp.hash[:], ev.Hash):
			rep.problem(cp.line, ev.Seq, "the copy's hash %x is not the chain's %x: the chain was rewritten after it was forwarded",
				cp.hash, ev.Hash)
		}
	}
	rep.missing(next, rep.To)
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

// add records a copy that checked, of event seq with hash, on line.
func (c *copies) add(seq int64, hash []byte, line int64) {
	rep := c.rep
	switch {
	case seq <= c.purged:
		rep.Purged++
		return
	case seq > c.head:
		rep.problem(line, seq, "the chain ends at %d: it was cut back after this event was forwarded", c.head)
		return
	case seq > rep.To:
		rep.Later++
		return
	case seq < rep.From:
		return
	}
	cp := &c.got[seq-rep.From]
	switch {
	case cp.line == 0:
		rep.Distinct++
		copy(cp.hash[:], hash)
		cp.line = line
	case !bytes.Equal(cp.hash[:], hash):
		rep.problem(line, seq, "line %d holds another event %d: the chain was forked (a database restored?)", cp.line, seq)
	default:
		rep.Duplicates++
	}
}

// read reads the file's copies and checks each.
func (c *copies) read(l *audit.Log, r io.Reader) error {
	rep := c.rep
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
			c.readCopy(l, line)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil && !errors.Is(err, errLongLine) {
			return fmt.Errorf("siem: read: %w", err)
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
func (c *copies) readCopy(l *audit.Log, line []byte) {
	rep, n := c.rep, c.rep.Lines
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
	if ev.Seq < c.keyedFrom {
		// Anyone can compute a plain hash: that this copy's matches the
		// chain's, which the marks vouch for, is checked with the chain.
		if !bytes.Equal(audit.PlainHash(ev.PrevHash, &ev), ev.Hash) {
			rep.problem(n, ev.Seq, "event %d (hashed before the key) does not match its hash", ev.Seq)
			return
		}
	} else if err := l.CheckCopy(&ev); err != nil {
		rep.problem(n, ev.Seq, "%v", err)
		return
	}
	c.add(ev.Seq, ev.Hash, n)
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
