package release

import (
	"context"

	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/spool"
)

// While a release's claim commits (a transaction, and on SQLite an fsync:
// about a millisecond), the first job it claims gets a head start: its
// document is read and its key unwrapped, and a socket printer's
// connection is opened, so that the printer's first byte waits for the
// claim alone rather than for the claim, then the read, then the connection
// (BenchmarkReleaseLatency). Nothing is sent before the claim has
// committed: the document waits, opened, for the job's delivery, and the
// connection carries nothing, which to an AppSocket printer is no job. If
// the claim fails, both are closed unused.

// headStart is what a job's delivery makes ready while the job is
// claimed.
type headStart struct {
	done chan struct{}
	doc  *spool.Reader
	err  error
	conn *ipp.Conn
}

// startEarly starts opening the document of j, the caller's copy of the
// job from before its claim (opening reads only what a claim leaves as it
// is), and the connection to printer.
func (s *Service) startEarly(ctx context.Context, j Job, printer string) *headStart {
	e := &headStart{done: make(chan struct{})}
	// The release's answer may end its request first; the owner's scope
	// of the journal's barrier stays.
	ctx = context.WithoutCancel(ctx)
	s.goBackground(func(context.Context) {
		defer close(e.done)
		e.doc, e.err = s.openDocument(ctx, &j)
		// A printer that cannot be reached now is dialled again by the
		// delivery, which reports it.
		e.conn, _ = s.client.Connect(ctx, printer)
	})
	return e
}

// discard closes what e made ready, once it is, unused: its claim failed.
func (e *headStart) discard() {
	if e == nil {
		return
	}
	go func() {
		<-e.done
		if e.doc != nil {
			_ = e.doc.Close()
		}
		_ = e.conn.Close()
	}()
}

// take returns, the first time it is called, what *early made ready,
// waiting for it; after that, or if there is no head start, nothing. An
// early open that failed is left to the caller to try again.
func take(early **headStart) (*spool.Reader, *ipp.Conn) {
	e := *early
	if e == nil {
		return nil, nil
	}
	*early = nil
	<-e.done
	if e.err != nil {
		return nil, e.conn
	}
	return e.doc, e.conn
}
