package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/printgate/printgate/internal/database"
	"gorm.io/gorm"
)

// Kinds of Mark.
const (
	// MarkKeyedFrom signs the head of a chain hashed with plain SHA-256
	// when Upgrade keys it: every later event is keyed. A chain has at
	// most one; a chain without one is keyed from its first event.
	MarkKeyedFrom = "keyed-from"
	// MarkPlain vouches for a hash inside the plain part, so that a range
	// there verifies from the nearest mark instead of from the start.
	MarkPlain = "plain"
)

// markEvery is how far apart Upgrade marks the plain part of a chain,
// unless Log.markEvery says otherwise (tests).
const markEvery = 10000

// Mark is a chain hash the key vouches for, written by Upgrade over the
// part of a chain hashed before the hash was keyed.
type Mark struct {
	// Seq and Hash are the event vouched for.
	Seq  int64
	Hash []byte
	// Kind is MarkKeyedFrom or MarkPlain.
	Kind string
	// Created is when the mark was written.
	Created time.Time
	// Signature is HMAC-SHA256 over the fields above.
	Signature []byte
}

// markVersion starts the signed bytes of a mark, so that a mark's
// signature can never pass for a checkpoint's or the other way round.
const markVersion = "printgate-audit-mark/1"

func (m *Mark) signedBytes() []byte {
	b := appendString(nil, markVersion)
	b = appendString(b, m.Kind)
	b = appendInt(b, m.Seq)
	b = appendString(b, string(m.Hash))
	return appendString(b, formatTime(m.Created))
}

func (l *Log) signMark(m *Mark) []byte {
	mac := hmac.New(sha256.New, l.signKey)
	mac.Write(m.signedBytes())
	return mac.Sum(nil)
}

func (l *Log) markValid(m *Mark) bool {
	return l.signKey != nil && hmac.Equal(l.signMark(m), m.Signature)
}

// readMarks returns every mark, in sequence order.
func readMarks(db *gorm.DB) ([]Mark, error) {
	rows, err := db.Raw(`SELECT seq, kind, hash, created_at, signature FROM audit_marks ORDER BY seq`).Rows()
	if err != nil {
		return nil, fmt.Errorf("read marks: %w", err)
	}
	defer rows.Close()
	var out []Mark
	for rows.Next() {
		var m Mark
		if err := rows.Scan(&m.Seq, &m.Kind, &m.Hash, &m.Created, &m.Signature); err != nil {
			return nil, fmt.Errorf("read marks: %w", err)
		}
		m.Created = m.Created.UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// UpgradeReport says what Upgrade did.
type UpgradeReport struct {
	// Plain is the number of the last event hashed with plain SHA-256,
	// now signed as MarkKeyedFrom; 0 when there was nothing to upgrade.
	Plain int64
	// Verified reports whether the plain part verified before it was
	// signed; only then are MarkPlain marks written inside it.
	Verified bool
	// Reason says why the plain part did not verify, or why Upgrade
	// refused to sign it.
	Reason string
	// Marks counts the marks written.
	Marks int
	// Keyed reports that the chain has its MarkKeyedFrom mark, from
	// before or written now: only then may events be appended.
	Keyed bool
}

// UpgradeOptions tunes Upgrade.
type UpgradeOptions struct {
	// KeyedBefore says the caller knows this chain was keyed before (for
	// example, its anchor file holds anchors). Upgrade then never signs a
	// chain as plain: only someone who deleted the keyed chain's start
	// mark and rehashed every event without the key could have made it so.
	KeyedBefore bool
	// SignPlain lets Upgrade sign a non-empty chain hashed with plain
	// SHA-256. Without it such a chain is left as it is, with the reason
	// in the report: anyone with database rights can make a plain chain
	// (delete the marks, rehash every event), so signing one is an
	// administrator's explicit act after checking it (printgate audit
	// upgrade), never something a start does by itself.
	SignPlain bool
}

// Upgrade keys the chain. On an empty chain it signs a MarkKeyedFrom mark
// at sequence 0: every event will be keyed. On a chain hashed with plain
// SHA-256 by an earlier version it signs the plain head as the
// MarkKeyedFrom mark, after which Append's keyed events follow; when the
// plain part verifies, it also signs a MarkPlain mark every 10,000 events,
// so that a range there (the console's job page) verifies from the
// nearest mark. The marks vouch only for what the chain held at the
// upgrade: a plain part changed before it is found by Verify walking it
// from its start (which it does) or by an anchor kept elsewhere.
//
// Upgrade signs nothing when the chain has its MarkKeyedFrom mark, and
// refuses (saying why in the report) when the chain holds a keyed event
// but no mark, or when o.KeyedBefore: an attacker who deleted the mark and
// appended plain events must not get them signed. Run it before
// appending, on every start; every instance sharing the database must be
// of a version that keys its appends. A non-empty plain chain is signed
// only with o.SignPlain.
func (l *Log) Upgrade(ctx context.Context, o UpgradeOptions) (UpgradeReport, error) {
	if l.signKey == nil {
		return UpgradeReport{}, wrap("upgrade", ErrNoKey)
	}
	var rep UpgradeReport
	err := l.db.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		lock := `SELECT seq, hash FROM audit_chain WHERE id = 1`
		if l.db.Dialect == database.Postgres {
			lock += ` FOR UPDATE`
		}
		var head struct {
			seq  int64
			hash []byte
		}
		if err := tx.Raw(lock).Row().Scan(&head.seq, &head.hash); err != nil {
			return fmt.Errorf("lock chain head: %w", err)
		}
		marks, err := readMarks(tx)
		if err != nil {
			return err
		}
		for _, m := range marks {
			if m.Kind == MarkKeyedFrom {
				rep.Keyed = true
				return nil
			}
		}
		now := dbTime(l.now())
		if head.seq == 0 {
			rep.Keyed = true
			return l.writeMarks(tx, &rep, []Mark{{Seq: 0, Hash: zeroHash, Kind: MarkKeyedFrom, Created: now}})
		}
		out, err := l.plainMarks(tx, &rep, head.seq, head.hash, now)
		if err != nil || out == nil {
			return err
		}
		if o.KeyedBefore {
			rep.Reason = "the chain has no keyed start but was keyed before: refusing to sign it as plain"
			return nil
		}
		if !o.SignPlain {
			rep.Reason = fmt.Sprintf("the chain's %d events are hashed without a key; check them "+
				"(printgate audit verify, against a copy of an earlier head), then sign them with printgate audit upgrade", head.seq)
			return nil
		}
		rep.Plain, rep.Keyed = head.seq, true
		return l.writeMarks(tx, &rep, out)
	})
	if err != nil {
		return UpgradeReport{}, wrap("upgrade", err)
	}
	return rep, nil
}

// plainMarks walks a chain without a keyed start as plain SHA-256 and
// returns the marks that would sign it, or nil (with rep.Reason) when it
// holds a keyed event and so must not be signed.
func (l *Log) plainMarks(tx *gorm.DB, rep *UpgradeReport, headSeq int64, headHash []byte, now time.Time) ([]Mark, error) {
	w := &walker{h: newHasher(l.chainKey), keyedFrom: headSeq + 1}
	var plain []Mark
	w.onEvent = func(ev *Event) {
		if ev.Seq%l.markEvery == 0 && ev.Seq != headSeq {
			plain = append(plain, Mark{Seq: ev.Seq, Hash: ev.Hash, Kind: MarkPlain, Created: now})
		}
	}
	vr, err := l.verify(tx, VerifyOptions{}, w)
	if err != nil {
		return nil, err
	}
	rep.Verified, rep.Reason = vr.OK(), vr.Reason
	if !vr.OK() {
		ev, _, err := readOneEvent(tx, vr.FirstBad)
		if err != nil {
			return nil, err
		}
		if ev != nil && bytes.Equal(w.h.sum(ev.PrevHash, ev), ev.Hash) {
			rep.Reason = fmt.Sprintf("event %d is keyed, yet the chain has no keyed start: refusing to sign it as plain", ev.Seq)
			return nil, nil
		}
		plain = nil // a broken plain part gets no marks inside it
	}
	return append([]Mark{{Seq: headSeq, Hash: headHash, Kind: MarkKeyedFrom, Created: now}}, plain...), nil
}

func (l *Log) writeMarks(tx *gorm.DB, rep *UpgradeReport, marks []Mark) error {
	for i := range marks {
		m := &marks[i]
		m.Signature = l.signMark(m)
		if err := tx.Exec(`INSERT INTO audit_marks (seq, kind, hash, created_at, signature) VALUES (?, ?, ?, ?, ?)`,
			m.Seq, m.Kind, m.Hash, m.Created, m.Signature).Error; err != nil {
			return fmt.Errorf("write mark %d: %w", m.Seq, err)
		}
	}
	rep.Marks = len(marks)
	return nil
}

// readOneEvent returns event seq, nil when there is none, or the error
// that kept a stored row from decoding as bad (an edited row).
func readOneEvent(db *gorm.DB, seq int64) (ev *Event, bad, err error) {
	rows, err := db.Raw(`SELECT `+eventColumns+` FROM audit_events WHERE seq = ?`, seq).Rows()
	if err != nil {
		return nil, nil, fmt.Errorf("read event %d: %w", seq, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, nil, rows.Err()
	}
	e, bad := scanEvent(rows)
	if bad != nil {
		return nil, bad, nil
	}
	return &e, nil, nil
}
