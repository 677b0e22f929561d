package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Anchor is a signed copy of the chain head, kept outside the database:
// an auditor holding it can later prove that the chain still contains
// event Seq with Hash, which a database cut back to an earlier head (its
// last events deleted, or a backup restored) no longer does.
type Anchor struct {
	// Seq and Hash are the head when the anchor was taken.
	Seq  int64
	Hash []byte
	// At is when the anchor was taken.
	At time.Time
	// MAC is HMAC-SHA256, under a key derived from Options.Key, over the
	// fields above.
	MAC []byte
	// Line is the anchor's line in the file it was read from, from 1.
	Line int
}

// anchorVersion starts an anchor's line and its signed bytes.
const anchorVersion = "printgate-anchor/1"

func (a *Anchor) signedBytes() []byte {
	b := appendString(nil, anchorVersion)
	b = appendInt(b, a.Seq)
	b = appendString(b, string(a.Hash))
	return appendString(b, formatTime(a.At))
}

func (l *Log) anchorMAC(a *Anchor) []byte {
	m := hmac.New(sha256.New, l.anchorKey)
	m.Write(a.signedBytes())
	return m.Sum(nil)
}

// String returns the anchor as one line of text (without a newline):
//
//	printgate-anchor/1 seq=1234 hash=<64 hex> at=2026-12-02T01:00:00.000000Z mac=<64 hex>
func (a Anchor) String() string {
	return fmt.Sprintf("%s seq=%d hash=%x at=%s mac=%x", anchorVersion, a.Seq, a.Hash, formatTime(a.At), a.MAC)
}

// ParseAnchor reads one line written by Anchor.String.
func ParseAnchor(line string) (Anchor, error) {
	f := strings.Fields(line)
	if len(f) != 5 || f[0] != anchorVersion {
		return Anchor{}, fmt.Errorf("not a %s line", anchorVersion)
	}
	var a Anchor
	for i, key := range []string{"seq", "hash", "at", "mac"} {
		v, ok := strings.CutPrefix(f[i+1], key+"=")
		if !ok {
			return Anchor{}, fmt.Errorf("field %d is not %s=", i+2, key)
		}
		var err error
		switch key {
		case "seq":
			a.Seq, err = strconv.ParseInt(v, 10, 64)
			if err == nil && a.Seq < 1 {
				err = fmt.Errorf("%d is not a sequence", a.Seq)
			}
		case "hash":
			a.Hash, err = decodeHash(v)
		case "at":
			a.At, err = parseTime(v)
		case "mac":
			a.MAC, err = decodeHash(v)
		}
		if err != nil {
			return Anchor{}, fmt.Errorf("%s: %w", key, err)
		}
	}
	return a, nil
}

func decodeHash(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err == nil && len(b) != sha256.Size {
		err = fmt.Errorf("%d bytes, want %d", len(b), sha256.Size)
	}
	return b, err
}

// ParseAnchors reads anchor lines, skipping blank lines and lines starting
// with "#"; any other line that is not an anchor is an error naming it.
func ParseAnchors(r io.Reader) ([]Anchor, error) {
	var out []Anchor
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		a, err := ParseAnchor(line)
		if err != nil {
			return nil, fmt.Errorf("audit: anchors line %d: %w", n, err)
		}
		a.Line = n
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("audit: read anchors: %w", err)
	}
	return out, nil
}

// Anchor returns a signed anchor of the chain head, after checking that
// the head is an event that verifies (so that an anchor never vouches for
// a forged head). An empty chain has no head to anchor: it returns an
// Anchor with Seq 0 and no MAC.
func (l *Log) Anchor(ctx context.Context) (Anchor, error) {
	if l.anchorKey == nil {
		return Anchor{}, wrap("anchor", ErrNoKey)
	}
	db := l.db.DB.WithContext(ctx)
	var a Anchor
	if err := db.Raw(`SELECT seq, hash FROM audit_chain WHERE id = 1`).Row().Scan(&a.Seq, &a.Hash); err != nil {
		return Anchor{}, wrap("anchor: read chain head", err)
	}
	if a.Seq == 0 {
		return Anchor{}, nil
	}
	// The head event verifies on its own: keyed, its MAC; otherwise it
	// is the signed start of the keyed chain.
	w := &walker{h: newHasher(l.chainKey)}
	marks, err := readMarks(db)
	if err != nil {
		return Anchor{}, wrap("anchor", err)
	}
	if bad, reason := l.loadMarks(w, marks); bad != 0 {
		return Anchor{}, fmt.Errorf("audit: anchor: %w: %s", ErrBrokenChain, reason)
	}
	ev, bad, err := readOneEvent(db, a.Seq)
	switch {
	case err != nil:
		return Anchor{}, wrap("anchor", err)
	case ev == nil || bad != nil || !bytes.Equal(ev.Hash, a.Hash):
		return Anchor{}, fmt.Errorf("audit: anchor: %w: the head event %d does not match the head", ErrBrokenChain, a.Seq)
	case a.Seq >= w.keyedFrom && !bytes.Equal(w.h.sum(ev.PrevHash, ev), ev.Hash):
		return Anchor{}, fmt.Errorf("audit: anchor: %w: the head event %d does not verify", ErrBrokenChain, a.Seq)
	case a.Seq < w.keyedFrom && !bytes.Equal(w.marks[a.Seq], ev.Hash):
		return Anchor{}, fmt.Errorf("audit: anchor: %w: the head event %d is unsigned", ErrBrokenChain, a.Seq)
	}
	a.At = dbTime(l.now())
	a.MAC = l.anchorMAC(&a)
	return a, nil
}

// anchorCheck checks anchors against the events Verify walks.
type anchorCheck struct {
	r     *Report
	bySeq map[int64][]*Anchor
}

// newAnchorCheck checks each anchor's MAC and returns what checks the
// rest; nil (which checks nothing) when there are no anchors.
func (l *Log) newAnchorCheck(r *Report, anchors []Anchor) *anchorCheck {
	if len(anchors) == 0 {
		return nil
	}
	c := &anchorCheck{r: r, bySeq: make(map[int64][]*Anchor)}
	for i := range anchors {
		a := &anchors[i]
		switch {
		case l.anchorKey == nil:
			c.bad(a, "cannot verify its MAC without the key")
		case !hmac.Equal(l.anchorMAC(a), a.MAC):
			c.bad(a, "its MAC does not verify: it was edited, or not written with this key")
		default:
			c.bySeq[a.Seq] = append(c.bySeq[a.Seq], a)
		}
	}
	return c
}

func (c *anchorCheck) bad(a *Anchor, reason string) {
	c.r.Anchors++
	if len(c.r.BadAnchors) < maxProblems {
		c.r.BadAnchors = append(c.r.BadAnchors, AnchorProblem{Seq: a.Seq, Line: a.Line, Reason: reason})
	}
}

// check compares the anchors of one sequence with the hash the chain has
// there.
func (c *anchorCheck) check(seq int64, hash []byte) {
	for _, a := range c.bySeq[seq] {
		if bytes.Equal(a.Hash, hash) {
			c.r.Anchors++
		} else {
			c.bad(a, fmt.Sprintf("the chain's event %d has another hash: the chain was rewritten from there on", seq))
		}
	}
	delete(c.bySeq, seq)
}

// event checks the anchors of an event that verified.
func (c *anchorCheck) event(ev *Event) {
	if c != nil && len(c.bySeq[ev.Seq]) > 0 {
		c.check(ev.Seq, ev.Hash)
	}
}

// finish checks the anchors the walk did not reach: those beyond the
// events checked (beyond the head, when it was checked, means the chain
// was cut back) and those before (purged, a checkpoint or a mark).
func (c *anchorCheck) finish(to int64, cp *Checkpoint, marks map[int64][]byte, checkedHead bool) {
	if c == nil {
		return
	}
	for seq, as := range c.bySeq {
		switch {
		case seq > to && checkedHead:
			for _, a := range as {
				c.bad(a, fmt.Sprintf("event %d was in the chain when anchored, but the chain now ends at %d: "+
					"its last events were deleted or the database rolled back", seq, to))
			}
		case seq > to:
			// Beyond a range.
		case cp != nil && seq == cp.Seq:
			c.check(seq, cp.Hash)
		case marks[seq] != nil:
			c.check(seq, marks[seq])
		case cp != nil && seq < cp.Seq:
			c.r.AnchorsPurged += len(as)
		}
	}
}
