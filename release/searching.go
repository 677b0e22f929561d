package release

import "sync"

// searching tracks the held jobs whose documents this printgate is
// searching for individual numbers right now, so that the inspector and
// a user at a device do not run the same search twice at once: the
// second one waits for the first, or gives way to it. A search in another
// printgate instance is not seen here; of two, only the first records.
type searching struct {
	mu      sync.Mutex
	running map[int64]chan struct{}
}

// begin claims the search of job id. When no other search of it runs it
// returns end, to call once the outcome is recorded, and a nil wait;
// otherwise a nil end and a channel closed when that other search ends.
func (s *searching) begin(id int64) (end func(), wait <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.running[id]; ok {
		return nil, ch
	}
	if s.running == nil {
		s.running = make(map[int64]chan struct{})
	}
	ch := make(chan struct{})
	s.running[id] = ch
	return func() {
		s.mu.Lock()
		delete(s.running, id)
		s.mu.Unlock()
		close(ch)
	}, nil
}
