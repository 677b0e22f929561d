package release

import (
	"context"
	"errors"
	"time"
)

// The inspector's searches (mynumber.go) are work nobody waits for, and
// each one starts a sandbox and runs Ghostscript or poppler over a whole
// document: many submissions' worth of processor. So the inspector gives
// way to documents arriving. It begins a search only once none has been
// arriving for quietFor (waitQuiet), and a search under way stops as soon
// as a document begins to arrive (giveWay), to be run again at the next
// quiet moment; a job that has waited searchWithin is searched whatever
// arrives, so that a steady trickle of documents, or one slow upload,
// cannot keep a job from its search for long. Judged by the end of
// submissions alone, large documents streaming in for a tenth of a
// second each looked like quiet: in a 10 MB benchmark the inspector ran
// Ghostscript beside them and took a sixth of their throughput
// (docs/PERFORMANCE.md).

// quietFor is how long no document may have arrived before the inspector
// searches one. A user at a device does not wait for it (inspectOwner),
// only for a search of their job that it has already begun (searchOnce).
const quietFor = 100 * time.Millisecond

// searchWithin is how long after its submission a held job waits for a
// quiet moment: after that, its search neither waits nor gives way. A job
// not yet searched shows nowhere a release could print it (myNumberFloor)
// and a user at a device has it searched at once (inspectOwner), but its
// shorter My Number TTL and its notification wait for the search.
const searchWithin = time.Minute

// errGaveWay is the cause that ends an inspector's search when a document
// begins to arrive.
var errGaveWay = errors.New("release: the search gave way to an arriving document")

// arriving marks a document as arriving until the returned func is
// called, when it has arrived or failed to.
func (s *Service) arriving() (arrived func()) {
	s.receiving.Add(1)
	select {
	case s.arrivals <- struct{}{}:
	default:
	}
	return func() {
		// Wall time, not Options.Now: this schedules work, it decides
		// nothing.
		s.lastSubmit.Store(time.Now().UnixNano())
		s.receiving.Add(-1)
	}
}

// overdue reports whether held job j has waited searchWithin for its
// search.
func (s *Service) overdue(j *Job) bool { return s.now().Sub(j.CreatedAt) >= searchWithin }

// untilQuiet returns how long the inspector must still wait at now
// before it may begin a search: zero once no document is arriving and
// none has arrived for quietFor.
func (s *Service) untilQuiet(now time.Time) time.Duration {
	if s.receiving.Load() > 0 {
		return quietFor
	}
	return max(quietFor-now.Sub(time.Unix(0, s.lastSubmit.Load())), 0)
}

// waitQuiet waits until untilQuiet says the inspector may search; false
// when ctx ends first.
func (s *Service) waitQuiet(ctx context.Context) bool {
	for {
		wait := s.untilQuiet(time.Now())
		if wait == 0 {
			return true
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// giveWay returns a context for one of the inspector's searches that
// ends, with the cause errGaveWay, as soon as a document begins to
// arrive. Call stop once the search is over, and read the cause before.
func (s *Service) giveWay(ctx context.Context) (search context.Context, stop func()) {
	search, cancel := context.WithCancelCause(ctx)
	select {
	case <-s.arrivals: // one that began before this search, now counted in receiving or over
	default:
	}
	if s.receiving.Load() > 0 {
		cancel(errGaveWay)
		return search, func() { cancel(nil) }
	}
	over := make(chan struct{})
	go func() {
		select {
		case <-s.arrivals:
			cancel(errGaveWay)
		case <-over:
		case <-search.Done():
		}
	}()
	return search, func() {
		close(over)
		cancel(nil)
	}
}
