// Package audit keeps printgate's tamper-evident record of every job and
// every administrative action.
//
// The record has two parts. Events are append-only: each carries a
// sequence number and a keyed hash, HMAC-SHA-256 under a key derived from
// Options.Key (kept outside the database), over the previous event's hash
// and its own canonical encoding, so that a changed, deleted, reordered or
// forged event breaks the chain and Verify names it, even when the one who
// changed it could also recompute hashes. Job records (one row per job)
// are derived from the events in the same transaction and are what
// history and totals read; the events are the proof, and Verify rebuilds
// every record from them and names each job whose record differs.
//
// Chains written before the hash was keyed keep their plain SHA-256
// hashes: Upgrade signs their head once, and the events after it are
// keyed. Signed anchors of the head, written outside the database (see
// Anchorer), expose a chain cut back to an earlier head.
//
// Append runs inside the caller's transaction, the one that makes the
// state change it records, so that no job is accepted or released without
// its event (fail closed). Appends serialize on a chain-head row, which
// keeps the chain correct with concurrent writers and with several
// printgate instances on one PostgreSQL. AppendBatch appends the events of
// many state changes committed together (a batch of submissions) under
// one hold of that row, with the result of appending them one by one.
//
// On both dialects triggers refuse UPDATE and DELETE of events; only a
// retention purge, which first writes a signed checkpoint of the last
// purged hash, may delete the events that checkpoint covers. The triggers
// stop mistakes and ordinary SQL access, not the database owner: the keyed
// hash chain (which nobody without the key can extend or rehash), the
// rebuilt job records, the signed checkpoints and marks, and anchors kept
// outside the database are what expose an attacker who can disable
// triggers.
package audit

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
)

// Errors returned by this package.
var (
	// ErrNotFound means the job or event asked for is not in the record.
	ErrNotFound = errors.New("audit: not found")
	// ErrNoKey means an operation needs Options.Key (keyed document names,
	// checkpoints) and none is configured.
	ErrNoKey = errors.New("audit: no key configured")
	// ErrSecretDetail means an event's Details used a key that names a
	// secret (password, pin, token, card UID...).
	ErrSecretDetail = errors.New("audit: details must not hold secrets")
	// ErrInvalidEvent means an event lacks a field its type needs.
	ErrInvalidEvent = errors.New("audit: invalid event")
	// ErrBrokenChain means Purge found the range it would remove does not
	// verify, and refused to vouch for it with a checkpoint.
	ErrBrokenChain = errors.New("audit: chain does not verify")
)

// DefaultTimeZone is the zone of exported times and of the days totals are
// grouped by, unless Options.Location says otherwise.
const DefaultTimeZone = "Asia/Tokyo"

// DefaultRetentionYears is how long events are kept unless
// Options.Retention says otherwise.
const DefaultRetentionYears = 7

// minKeyLen is the shortest Options.Key accepted.
const minKeyLen = 16

// Options configures a Log.
type Options struct {
	// Key is the secret for the keyed event hashes, keyed document names,
	// retention checkpoints and anchors (a separate key is derived for
	// each with HKDF); at least 16 bytes (a shorter one counts as none, and
	// what needs it, Append included, fails with ErrNoKey), 32 random bytes
	// recommended. It must stay the same for the life of the record: with
	// another key no event verifies, and old keyed names are unsearchable.
	Key []byte
	// Location is the time zone of exported times and of the day that
	// totals group by; nil means Asia/Tokyo.
	Location *time.Location
	// Retention is how long events are kept; 0 means 7 years.
	Retention time.Duration
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
	// PurgeDependents, if set, runs inside every purge's transaction
	// once the job records it removes are gone, to delete the rows of
	// other tables that point at job records (the stamp's code index,
	// stamp.PurgeUnrecorded): they must not outlive the record, and an
	// error rolls the whole purge back.
	PurgeDependents func(tx *gorm.DB) error
}

// Log appends to and reads the audit trail in one database.
type Log struct {
	db        *database.DB
	loc       *time.Location
	now       func() time.Time
	retention time.Duration
	nameKey   []byte // for keyed document names
	signKey   []byte // for checkpoint and mark signatures
	chainKey  []byte // for event hashes
	anchorKey []byte // for anchors kept outside the database
	markEvery int64  // how far apart Upgrade marks a plain chain
	stmts     *statements
	batches   sync.Pool // of *batch, the scratch space of appends
	// insertRows caps the rows of one multi-row INSERT when set (tests).
	insertRows int
	// known is the chain head this Log last wrote or read, which
	// AppendAlone chains on without reading it (alone.go).
	known knownHead
	// purgeDependents is Options.PurgeDependents.
	purgeDependents func(tx *gorm.DB) error
}

// New returns a Log over db, whose schema Migrate has created.
func New(db *database.DB, opts Options) *Log {
	l := &Log{db: db, loc: opts.Location, now: opts.Now, retention: opts.Retention, markEvery: markEvery,
		purgeDependents: opts.PurgeDependents}
	l.stmts = newStatements(db)
	if l.loc == nil {
		l.loc = tokyo()
	}
	if l.now == nil {
		l.now = time.Now
	}
	if len(opts.Key) >= minKeyLen {
		// Separate keys per purpose, so that a keyed name can never pass
		// for a checkpoint signature or the other way round.
		l.nameKey = deriveKey(opts.Key, "printgate audit document-name")
		l.signKey = deriveKey(opts.Key, "printgate audit checkpoint")
		l.chainKey = deriveKey(opts.Key, "printgate audit chain")
		l.anchorKey = deriveKey(opts.Key, "printgate audit anchor")
	}
	return l
}

func deriveKey(secret []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, purpose, sha256.Size)
	if err != nil {
		// Only a length beyond 255×32 bytes fails; 32 never does.
		panic("audit: hkdf: " + err.Error())
	}
	return k
}

// tokyo returns Asia/Tokyo, or a fixed +09:00 zone when the system has no
// time zone database; Japan has kept +09:00 without DST since 1951, so
// both give the same times.
func tokyo() *time.Location {
	if loc, err := time.LoadLocation(DefaultTimeZone); err == nil {
		return loc
	}
	return time.FixedZone("JST", 9*60*60)
}

// KeyedNamePrefix starts a document name recorded as a keyed HMAC.
const KeyedNamePrefix = "hmac-sha256:"

// KeyedName returns the value recorded for a hidden document name:
// "hmac-sha256:" and the hex HMAC-SHA256 of name. The same name always
// gives the same value, so an auditor who knows a name can find its jobs
// without the record holding the name.
func (l *Log) KeyedName(name string) (string, error) {
	if l.nameKey == nil {
		return "", ErrNoKey
	}
	return l.keyedName(hmac.New(sha256.New, l.nameKey), name)
}

// Location returns the time zone of exports and daily totals.
func (l *Log) Location() *time.Location { return l.loc }

// RetentionCutoff returns the time before which events are past retention.
func (l *Log) RetentionCutoff() time.Time {
	now := l.now()
	if l.retention > 0 {
		return now.Add(-l.retention)
	}
	return now.AddDate(-DefaultRetentionYears, 0, 0)
}

// day returns the calendar date of t in the Log's zone, as totals group it.
func (l *Log) day(t time.Time) string { return t.In(l.loc).Format(time.DateOnly) }

func wrap(action string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("audit: %s: %w", action, err)
}
