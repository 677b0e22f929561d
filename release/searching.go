package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
)

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

// searchOnce searches held job j, unless it is no longer to be searched
// or another search of it runs in this printgate. A search for a user,
// who waits, then waits for that one and searches j itself only if that
// one recorded nothing; the inspector's leaves j to that one, and reports
// that it did.
func (s *Service) searchOnce(ctx context.Context, j *Job, user bool) (left bool, err error) {
	for {
		end, other := s.searching.begin(j.ID)
		if other == nil {
			defer end()
			var n int64
			err := s.db.WithContext(ctx).Model(&Job{}).
				Where("id = ? AND sensitive = ? AND state = ?", j.ID, sensitivePending, StateHeld).Count(&n).Error
			if err != nil || n == 0 {
				return false, dbErr(fmt.Sprintf("is job %d still to be searched", j.ID), err)
			}
			return false, s.inspectHeld(ctx, j, user)
		}
		if !user {
			return true, nil
		}
		select {
		case <-other:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// inspectHeld searches held job j's document and measures its colours,
// and records the outcome with its event in one transaction. For a user,
// who waits, the two are started at once at normal priority, each in its
// own sandbox (as the extractor's slots allow); the inspector's run one
// after the other at the lowest priority.
func (s *Service) inspectHeld(ctx context.Context, j *Job, user bool) error {
	q := s.queues[j.Queue]
	doc, err := s.openDocument(ctx, j)
	if err != nil {
		uncheckable(j, "failed")
	} else {
		section := func() io.Reader { return io.NewSectionReader(&blockCache{r: doc}, 0, doc.Size()) }
		if user {
			var color audit.Color
			var wg sync.WaitGroup
			id, format := j.ID, j.Format // inspect writes to j meanwhile
			wg.Go(func() { color = s.measureColor(ctx, s.text, id, format, section()) })
			s.inspect(ctx, s.text, q, j, section())
			wg.Wait()
			j.ContentColor = color
		} else {
			search, stop := ctx, func() {}
			if !s.overdue(j) {
				search, stop = s.giveWay(ctx)
			}
			defer stop()
			if s.beforeSearch != nil {
				s.beforeSearch(search, j.ID)
			}
			if search.Err() == nil {
				s.inspect(search, s.background(), q, j, section())
				j.ContentColor = s.measureColor(search, s.background(), j.ID, j.Format, section())
			}
			if errors.Is(context.Cause(search), errGaveWay) {
				doc.Close()
				return errGaveWay
			}
		}
		doc.Close()
	}
	if j.Sensitive == sensitivePending {
		j.Sensitive = ""
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// A job that ended meanwhile (canceled, expired) records nothing.
		res := tx.Model(&Job{}).Where("id = ? AND sensitive = ? AND state = ?", j.ID, sensitivePending, StateHeld).
			Updates(map[string]any{"sensitive": j.Sensitive, "content_color": j.ContentColor, "updated_at": s.now()})
		if res.Error != nil || res.RowsAffected != 1 {
			return res.Error
		}
		evs := searchedEvents(q, j)
		if j.ContentColor != "" {
			evs[0].Details[audit.DetailContentColor] = string(j.ContentColor)
		}
		_, err := s.audit.AppendBatch(ctx, tx, evs)
		return err
	})
}
