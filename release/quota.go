package release

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
)

// What sets how large a new document may be.
const (
	limitQueue = iota // the queue's largest document
	limitSpool        // the spool quota
	limitUser         // the owner's held-bytes limit
)

// allowance is how many bytes a new document may take, and which limit
// says so.
type allowance struct {
	bytes int64
	by    int
	held  int64 // the owner's held bytes, when by is limitUser
}

// lower narrows a to n bytes set by limit by when n is smaller.
func (a *allowance) lower(n int64, by int) {
	if a.bytes <= 0 || n < a.bytes {
		a.bytes, a.by = n, by
	}
}

// allowanceFor returns how many bytes a new document of owner may take on
// q, or the refusal when there is no room at all.
func (s *Service) allowanceFor(ctx context.Context, q Queue, owner string) (allowance, error) {
	a := allowance{bytes: q.MaxSize, by: limitQueue}
	if room, ok := s.spoolRoom(); ok {
		if room <= 0 {
			return a, errSpoolFull
		}
		a.lower(room, limitSpool)
	}
	if s.maxHeld > 0 {
		held, err := s.heldNow(ctx, owner)
		if err != nil {
			return a, dbErr("held bytes", err)
		}
		if held >= s.maxHeld {
			return a, s.errUserFull(held)
		}
		a.lower(s.maxHeld-held, limitUser)
		a.held = held
	}
	return a, nil
}

// spoolRoom returns the bytes the spool may still take, and false when no
// quota applies. The quota is the smaller of the fixed one and the share
// of the space the spool could use: its own size plus the free space.
func (s *Service) spoolRoom() (int64, bool) {
	used := s.used.Load()
	limit := s.quota
	if s.spoolShare > 0 {
		free, err := s.free.get(s.now(), s.freeSpace)
		if err != nil {
			s.log.Warn("release: spool free space unknown; only spool.quota_mb applies", "err", err)
		} else if share := (used + free) * int64(s.spoolShare) / 100; limit <= 0 || share < limit {
			limit = share
		}
	}
	if limit <= 0 {
		return 0, false
	}
	return limit - used, true
}

// spoolFull reports whether the quota refuses new documents.
func (s *Service) spoolFull() bool {
	room, ok := s.spoolRoom()
	return ok && room <= 0
}

// heldNow is heldBy for a submission's first check: with the journal,
// the database's count and the owner's bytes still in the journal,
// without waiting at the barrier, which would make every Print-Job wait
// for everyone's records and the applier write them one at a time.
func (s *Service) heldNow(ctx context.Context, owner string) (int64, error) {
	if s.journal == nil {
		return heldBy(s.db.WithContext(ctx), owner)
	}
	// The journal's bytes first: the applier commits a record's row
	// before it takes the record off the pending list, so read in this
	// order a record applied meanwhile is counted twice, never not at
	// all. The other way round, a record applied between the two reads
	// was missed, and two of an owner's jobs each found room for itself
	// (TestAttacks, "one user fills the spool").
	s.journal.mu.Lock()
	pending := s.journal.heldPending[owner]
	s.journal.mu.Unlock()
	n, err := heldBy(s.db.WithContext(database.WithoutBarrier(ctx)), owner)
	if err != nil {
		return 0, err
	}
	return n + pending, nil
}

// heldBy returns the bytes of the documents that owner's jobs keep in the
// spool: one row of held_bytes, which triggers on jobs keep equal to the
// sum of those documents' sizes (createHeldBytes), so the check costs the
// same however many jobs owner holds.
func heldBy(db *gorm.DB, owner string) (int64, error) {
	var n int64
	err := db.Raw(`SELECT COALESCE((SELECT bytes FROM held_bytes WHERE owner = ?), 0)`, owner).Scan(&n).Error
	return n, err
}

// checkHeld runs in the transaction that records a document of size
// bytes for owner, before the document is written: documents of one owner
// that arrived at the same moment all passed allowanceFor, and the one
// that takes the owner over the limit is refused here. SQLite runs one
// writing transaction at a time; on PostgreSQL a lock per owner, held
// until the transaction ends, makes each see the documents recorded
// before it, from every instance. The lock comes before the write: the
// write's trigger locks owner's counter row, which the committer updates
// while it holds the same owner's lock.
func (s *Service) checkHeld(tx *gorm.DB, owner string, size int64) error {
	if s.maxHeld <= 0 {
		return nil
	}
	held, err := s.lockHeld(tx, owner)
	if err != nil {
		return err
	}
	if held+size > s.maxHeld {
		return s.errUserFull(held)
	}
	return nil
}

// lockHeld returns what owner holds (heldBy) and, on PostgreSQL, locks
// owner's held bytes until tx ends.
func (s *Service) lockHeld(tx *gorm.DB, owner string) (int64, error) {
	if s.db.Dialect == database.Postgres {
		// The setting makes the trigger check the limit too (heldLimitCheck):
		// a one-statement batch (alone.go) takes no lock.
		if err := tx.Exec("SELECT pg_advisory_xact_lock(CAST(? AS integer), hashtext(?)), set_config('"+heldLimitSetting+"', ?, true)",
			heldLockSpace, owner, strconv.FormatInt(s.maxHeld, 10)).Error; err != nil {
			return 0, err
		}
	}
	return heldBy(tx, owner)
}

// heldLockSpace is the first key of the advisory locks of checkHeld, so
// that they meet no other lock of the database.
const heldLockSpace = 0x70676864 // "pghd"

// errUserFull answers a submitter whose waiting documents reach the
// per-user limit: client-error-not-possible, as the printer accepts jobs
// and the same job is possible once the sender's own jobs are printed.
func (s *Service) errUserFull(held int64) error {
	return refuse(ErrNotPossible, fmt.Sprintf(
		"This job would take your waiting jobs over the %d MB each user may keep (they hold %d MB now): "+
			"print or cancel some of your jobs, then send this one again.",
		mb(s.maxHeld), mb(held)))
}

// mb rounds bytes up to whole megabytes for messages.
func mb(n int64) int64 { return (n + 1<<20 - 1) >> 20 }

// errSpoolFull answers submissions while the spool is full.
var errSpoolFull = refuse(ErrSpoolFull,
	"The print server's storage is full. Try again later, or ask your administrator.")

// freeSpaceEvery is how long one measure of the spool's free space
// serves: a statfs for every request (Printer and each submission ask)
// cost 4 % of the submission path, and the quota is approximate anyway
// until the sweeper recounts.
const freeSpaceEvery = time.Second

// freeCache keeps the last measure of the spool's free space.
type freeCache struct {
	mu   sync.Mutex
	at   time.Time
	n    int64
	err  error
	done bool
}

// get returns the free space measured by measure, measuring again when
// the last measure is older than freeSpaceEvery at now.
func (c *freeCache) get(now time.Time, measure func() (int64, error)) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done || now.Sub(c.at) >= freeSpaceEvery || now.Before(c.at) {
		c.n, c.err = measure()
		c.at, c.done = now, true
	}
	return c.n, c.err
}
