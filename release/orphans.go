package release

import (
	"context"
	"sync"
	"time"
)

// delivering counts, per job, the deliveries this process has taken on:
// a job is in it from the moment its claim is won (or its direct
// submission committed) until its delivery ends, however it ends.
type delivering struct {
	mu   sync.Mutex
	jobs map[int64]int
}

func (d *delivering) add(id int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.jobs == nil {
		d.jobs = map[int64]int{}
	}
	d.jobs[id]++
}

func (d *delivering) done(id int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.jobs[id]--; d.jobs[id] <= 0 {
		delete(d.jobs, id)
	}
}

func (d *delivering) has(id int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.jobs[id] > 0
}

// orphanAfter is how long a job this instance claimed may stay releasing
// or printing, unchanged and with no delivery of this process behind it,
// before the sweeper holds it again. The only such job that is not an
// orphan is one whose claim committed a moment ago and whose delivery is
// about to be registered.
const orphanAfter = time.Minute

// orphanedMessage is the held job's message.
const orphanedMessage = "printgate lost track of the job while sending it to the printer. " + mayHavePrintedMessage

// holdOrphans holds again, as jobs that may have printed, the jobs this
// instance claimed that no delivery of this process follows: a claim
// whose caller never learned that it committed (the connection to
// PostgreSQL lost while the claim's statement ran), or a delivery whose
// last move failed. Start-up recovery does the same for every claim of
// this instance; without this sweep such a job would wait for a restart,
// neither printable nor releasable.
func (s *Service) holdOrphans(ctx context.Context) error {
	var jobs []Job
	err := s.db.WithContext(ctx).Omit("password_hash").
		Where("claimed_by = ? AND state IN ? AND updated_at < ?", s.instance,
			[]State{StateReleasing, StatePrinting}, s.now().Add(-orphanAfter)).
		Order("id").Limit(100).Find(&jobs).Error
	if err != nil {
		return dbErr("find jobs no delivery follows", err)
	}
	for _, j := range jobs {
		if s.delivering.has(j.ID) {
			continue
		}
		was := j.State
		won, err := s.transition(ctx, &j, change{from: []State{was}, to: StateHeld,
			reason: ReasonMayHavePrinted, message: orphanedMessage})
		if err != nil {
			return err
		}
		if won {
			s.log.Warn("release: held again a job no delivery followed", "job", j.ID, "was", was)
		}
	}
	return nil
}
