package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// AnchorSink keeps anchors outside the database. AnchorFile is one; a
// syslog or SIEM sink can be another.
type AnchorSink interface {
	// WriteAnchor stores a durably before returning.
	WriteAnchor(ctx context.Context, a Anchor) error
}

// AnchorFile appends anchors to a file, one line each (Anchor.String),
// opened for appending only, created 0600, and synced after every line.
// The file is meant to be copied off the machine regularly: a copy that
// whoever controls the database cannot reach is what makes it evidence.
type AnchorFile struct {
	mu sync.Mutex
	f  *os.File
}

var _ AnchorSink = (*AnchorFile)(nil)

// OpenAnchorFile opens (or creates) the anchor file at path.
func OpenAnchorFile(path string) (*AnchorFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open anchor file: %w", err)
	}
	return &AnchorFile{f: f}, nil
}

// WriteAnchor appends a's line and syncs the file.
func (af *AnchorFile) WriteAnchor(_ context.Context, a Anchor) error {
	af.mu.Lock()
	defer af.mu.Unlock()
	if _, err := af.f.WriteString(a.String() + "\n"); err != nil {
		return fmt.Errorf("audit: write anchor: %w", err)
	}
	if err := af.f.Sync(); err != nil {
		return fmt.Errorf("audit: sync anchor file: %w", err)
	}
	return nil
}

// Close closes the file.
func (af *AnchorFile) Close() error { return af.f.Close() }

// Anchorer writes a signed anchor of the chain head to its sinks at an
// interval, skipping the write when the head has not moved since the last
// one.
type Anchorer struct {
	log   *Log
	every time.Duration
	after func(time.Duration) <-chan time.Time
	sinks []AnchorSink

	mu   sync.Mutex
	last Anchor
}

// NewAnchorer returns an Anchorer over l writing to sinks every every.
// after waits for the interval; nil means time.After (tests pass a clock's).
func NewAnchorer(l *Log, every time.Duration, after func(time.Duration) <-chan time.Time, sinks ...AnchorSink) *Anchorer {
	if after == nil {
		after = time.After
	}
	return &Anchorer{log: l, every: every, after: after, sinks: sinks}
}

// Run anchors every interval until ctx ends, passing each failure to
// onError (a failed anchor is retried at the next interval). It does not
// anchor on the way out: call AnchorNow after the last append, at a clean
// shutdown.
func (a *Anchorer) Run(ctx context.Context, onError func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.after(a.every):
		}
		if _, _, err := a.AnchorNow(ctx); err != nil && ctx.Err() == nil {
			onError(err)
		}
	}
}

// AnchorNow writes an anchor of the current head to every sink, unless
// the head is the one last written (or the chain is empty), and returns
// it with whether it was written.
func (a *Anchorer) AnchorNow(ctx context.Context) (Anchor, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	an, err := a.log.Anchor(ctx)
	if err != nil || an.Seq == 0 || (an.Seq == a.last.Seq && bytes.Equal(an.Hash, a.last.Hash)) {
		return an, false, err
	}
	var errs []error
	for _, s := range a.sinks {
		errs = append(errs, s.WriteAnchor(ctx, an))
	}
	if err := errors.Join(errs...); err != nil {
		return an, false, err
	}
	a.last = an
	return an, true, nil
}
