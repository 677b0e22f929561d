// Package siem forwards the audit trail to a SIEM: each event as an RFC
// 5424 syslog message over TCP with TLS (RFC 5425), at least once, and
// checks a collector's copy against the chain.
//
// The Forwarder keeps a cursor in the database, the last event the
// collector is known to have read, and moves it only once the collector
// confirmed a batch (see deliver): an event is sent again after any doubt
// (a collector stopped mid-batch, printgate stopped before moving the
// cursor), and none is skipped. Each message carries the event's
// sequence and chain hashes in structured data and the whole event in its
// text, so that Verify can check the copy with the audit key and against
// the chain.
package siem

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
)

// Defaults of Options.
const (
	DefaultName       = "siem"
	DefaultBatch      = 500
	DefaultPoll       = time.Second
	DefaultTimeout    = 30 * time.Second
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = time.Minute
)

// ErrGap means the chain lacks an event after the cursor that retention
// did not purge: nothing after it is sent until it appears.
var ErrGap = errors.New("siem: the chain has a gap after the cursor")

// ErrRewound means the chain no longer holds the last event forwarded as
// it was forwarded (a database restored from an older backup): the
// cursor went back to the start, so that the events that now follow are
// sent too, and the collector's copy shows both versions.
var ErrRewound = errors.New("siem: the chain went back under the cursor")

// Options configures a Forwarder.
type Options struct {
	// Address is the collector's host:port.
	Address string
	// TLS is the connection's TLS configuration (ClientTLS).
	TLS *tls.Config
	// Name names the cursor in the database; "" means DefaultName.
	Name string
	// Header is the HOSTNAME and PROCID of the messages.
	Header Header
	// Batch is the most events sent over one connection; 0 means
	// DefaultBatch.
	Batch int
	// Poll is how often the chain is read for new events when it has
	// none; 0 means DefaultPoll.
	Poll time.Duration
	// Timeout bounds the connection, the handshake, the sending and the
	// collector's confirmation each; 0 means DefaultTimeout.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before trying again after
	// a failure, doubled at each failure in a row; 0 means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// After waits, Now tells the time; nil means time.After and time.Now.
	After func(time.Duration) <-chan time.Time
	Now   func() time.Time
	// Log receives failures; nil discards them.
	Log *slog.Logger
}

// Forwarder sends the audit trail to one collector.
type Forwarder struct {
	db  *database.DB
	log *audit.Log
	o   Options
}

// New returns a Forwarder of l's events, keeping its cursor in db (which
// Migrate has prepared).
func New(db *database.DB, l *audit.Log, o Options) *Forwarder {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Forwarder{db: db, log: l, o: o}
}

// Run forwards until ctx ends: a batch as soon as the previous one was
// full, otherwise every Poll; after a failure it waits MinBackoff,
// doubling up to MaxBackoff while failures go on.
func (f *Forwarder) Run(ctx context.Context) {
	var backoff time.Duration
	for {
		n, err := f.Once(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := f.o.Poll
		switch {
		case err != nil:
			backoff = min(max(2*backoff, f.o.MinBackoff), f.o.MaxBackoff)
			wait = backoff
			f.o.Log.Error("siem: forwarding audit events", "address", f.o.Address, "retry_in", wait, "err", err)
		case n == f.o.Batch:
			backoff = 0
			continue
		default:
			backoff = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-f.o.After(wait):
		}
	}
}

// Once sends the events after the cursor, up to Batch, over one
// connection, moves the cursor once the collector confirmed them, and
// returns how many it sent.
func (f *Forwarder) Once(ctx context.Context) (int, error) {
	cur, err := readCursor(ctx, f.db, f.o.Name, f.o.Now())
	if err != nil {
		return 0, err
	}
	purged, err := f.log.PurgedThrough(ctx)
	if err != nil {
		return 0, err
	}
	if err := f.checkCursor(ctx, cur, purged); err != nil {
		return 0, err
	}
	evs, err := f.next(ctx, cur.seq, purged)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	msgs := make([][]byte, len(evs))
	for i := range evs {
		msgs[i] = Format(f.o.Header, &evs[i])
	}
	if err := deliver(ctx, f.o.Address, f.o.TLS, f.o.Timeout, msgs); err != nil {
		return 0, err
	}
	last := &evs[len(evs)-1]
	if _, err := moveCursor(ctx, f.db, f.o.Name, cur, cursor{seq: last.Seq, hash: last.Hash}, f.o.Now()); err != nil {
		return 0, err
	}
	return len(evs), nil
}

// checkCursor makes sure the chain still holds the event under the
// cursor with the hash it was forwarded with; otherwise it sends the
// cursor back to the start and returns ErrRewound.
func (f *Forwarder) checkCursor(ctx context.Context, cur cursor, purged int64) error {
	if cur.seq == 0 || cur.seq <= purged {
		return nil
	}
	for ev, err := range f.log.Events(ctx, audit.Filter{FromSeq: cur.seq, ToSeq: cur.seq}) {
		if err != nil || bytes.Equal(ev.Hash, cur.hash) {
			return err
		}
	}
	if _, err := moveCursor(ctx, f.db, f.o.Name, cur, cursor{}, f.o.Now()); err != nil {
		return err
	}
	return fmt.Errorf("%w: event %d is gone or changed since it was forwarded; forwarding again from the start", ErrRewound, cur.seq)
}

// next reads the events after seq, up to Batch, without a gap: the chain
// has none, so one means an event not yet visible or lost, and sending
// what follows it would skip it. Only events retention purged before
// they could be sent are passed over, and logged.
func (f *Forwarder) next(ctx context.Context, seq, purged int64) ([]audit.Event, error) {
	from := seq + 1
	if seq < purged {
		f.o.Log.Warn("siem: audit events were purged before they could be forwarded", "from_seq", from, "to_seq", purged)
		from = purged + 1
	}
	// Sequences have no gaps, so the range bounds the rows read: a
	// query left open on a long backlog would be read to its end.
	evs := make([]audit.Event, 0, min(f.o.Batch, 64))
	for ev, err := range f.log.Events(ctx, audit.Filter{FromSeq: from, ToSeq: from + int64(f.o.Batch) - 1}) {
		if err != nil {
			return nil, err
		}
		if ev.Seq != from+int64(len(evs)) {
			break
		}
		evs = append(evs, ev)
	}
	if len(evs) > 0 {
		return evs, nil
	}
	head, _, err := f.log.Head(ctx)
	if err != nil || head < from {
		return nil, err
	}
	return nil, fmt.Errorf("%w: event %d is missing (the chain goes on to %d)", ErrGap, from, head)
}
