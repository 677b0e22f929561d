package release

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/journal"
	"github.com/printgate/printgate/release/spool"
)

// applier writes the journal's pending records to the database until ctx
// ends, then once more, so that a clean stop leaves none behind.
func (s *Service) applier(ctx context.Context) {
	jn := s.journal
	// A quiet server still retires its applied segments, so that a
	// destroyed document's key does not stay in the journal.
	tick := time.NewTicker(retireEvery)
	defer tick.Stop()
	for {
		if ctx.Err() != nil {
			// Records that cannot be applied end applyPending at once
			// when ctx has ended; without this check the loop below
			// would try them again, and fail again, for ever.
			s.applyPending(context.WithoutCancel(ctx), true)
			return
		}
		jn.mu.Lock()
		idle := len(jn.pending) == 0
		jn.mu.Unlock()
		// Records that came while the last batch was applied do not
		// wake the applier (add): it goes on to them at once.
		if idle {
			select {
			case <-ctx.Done():
				s.applyPending(context.WithoutCancel(ctx), true)
				return
			case <-jn.more:
			case <-tick.C:
			}
		}
		for {
			jn.mu.Lock()
			n, wait, hurry := len(jn.pending), jn.delay-time.Since(jn.since), jn.hurry
			jn.mu.Unlock()
			if n == 0 || n >= applyBatch || wait <= 0 || hurry {
				break
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				s.applyPending(context.WithoutCancel(ctx), true)
				return
			case <-jn.more:
			case <-t.C:
			}
			t.Stop()
		}
		s.applyPending(ctx, false)
	}
}

// applyPending applies every pending record, a batch at a time; a batch
// that fails is tried again (the records are acknowledged: they can only
// wait, never be dropped) until it succeeds or ctx ends. final syncs and
// retires whatever it can.
func (s *Service) applyPending(ctx context.Context, final bool) {
	jn := s.journal
	failures := 0
	for {
		n, err := s.applyHead(ctx, failures > 0 || jn.failing.Load() != nil)
		if err == nil {
			// The batch is in the database, or nothing was pending: a
			// failure ends here, even one whose records were found landed
			// with nothing left to write.
			failures = 0
			jn.failing.Store(nil)
			if n == 0 {
				break
			}
			continue
		}
		failures++
		if final {
			if failures < finalTries {
				time.Sleep(finalPause)
				continue
			}
			// They wait in the journal for the next start.
			s.log.Error("release: write journaled jobs to the database before stopping", "jobs", n, "err", err)
			return
		}
		s.log.Error("release: write journaled jobs to the database (retrying)", "jobs", n, "err", err)
		jn.failing.Store(&err)
		jn.mu.Lock()
		close(jn.moved) // waiting readers go on: nothing will move
		jn.moved = make(chan struct{})
		jn.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	if final || time.Since(jn.lastRetire) >= retireEvery {
		jn.lastRetire = time.Now()
		// A segment goes only once what it holds is durable in the
		// database, not merely committed: applied is read before the
		// sync, as a direct batch (commitDirect) moves it before its own.
		applied := jn.applied.Load()
		if err := s.group.Sync(); err != nil {
			s.log.Error("release: sync the database before retiring journal segments", "err", err)
			return
		}
		if err := s.syncSegments(final); err != nil {
			s.log.Error("release: sync the spool segments before retiring journal segments; "+
				"the journal keeps their documents until the next start writes them again", "err", err)
			return
		}
		before := jn.j.Segments()
		if final {
			// A clean stop leaves no applied record behind: the
			// segment being written closes, so that it can go too.
			if err := jn.j.Close(); err != nil {
				s.log.Error("release: close the journal's segment", "err", err)
			}
		}
		if err := jn.j.Retire(ctx, applied); err != nil {
			s.log.Error("release: retire journal segments", "err", err)
		}
		if err := s.sweepSegmentsSoon(ctx); err != nil {
			s.log.Error("release: remove spool segments no document is in", "err", err)
		}
		if jn.j.Segments() < before {
			// Their keys' rows are zeroed; the log's copies go too.
			s.scrubSoon()
		}
	}
}

// applyHead applies the first pending records, up to 2*applyBatch, and
// returns how many it tried (0: none was pending). recheck, after a
// failure, first drops the records that a failed commit landed all the
// same (dropLanded).
func (s *Service) applyHead(ctx context.Context, recheck bool) (int, error) {
	jn := s.journal
	jn.applying.Lock()
	defer jn.applying.Unlock()
	if recheck {
		if _, err := s.dropLanded(); err != nil {
			return 0, err
		}
	}
	jn.mu.Lock()
	batch := jn.pending[:min(len(jn.pending), 2*applyBatch)]
	jn.hurry = false // a reader that comes now waits for later records
	jn.mu.Unlock()
	if len(batch) == 0 {
		return 0, nil
	}
	err := s.applyRecords(ctx, batch)
	if err == nil {
		jn.unpend(batch)
		return len(batch), nil
	}
	if n, lerr := s.dropLanded(); lerr == nil && n == len(batch) {
		return n, nil
	}
	return len(batch), err
}

// unpend takes batch, the first pending records, off the pending list
// once they are in the database.
func (jn *journaled) unpend(batch []pendingRecord) {
	// Only the applier's lock holder reads a record's document, and it
	// is done with these: their buffers are zeroed outside jn.mu.
	for _, p := range batch {
		jn.bufs.put(p.buf)
	}
	jn.mu.Lock()
	defer jn.mu.Unlock()
	for _, p := range batch {
		if jn.heldPending[p.rec.Job.Owner] -= p.rec.Job.Size; jn.heldPending[p.rec.Job.Owner] <= 0 {
			delete(jn.heldPending, p.rec.Job.Owner)
		}
		if jn.lastOf[p.rec.Job.Owner] == p.seq {
			delete(jn.lastOf, p.rec.Job.Owner)
		}
	}
	// The applied records must not stay reachable (batch is the same
	// array: cleared only now).
	clear(jn.pending[:len(batch)])
	jn.pending = jn.pending[len(batch):]
	if len(jn.pending) == 0 {
		jn.pending = nil
	} else {
		jn.since = time.Now()
	}
}

// applyRecords writes batch with the journal's position, on the
// committer's connection, in one statement on PostgreSQL (applyAlone) and
// otherwise in one transaction, and moves applied.
func (s *Service) applyRecords(ctx context.Context, batch []pendingRecord) error {
	if s.beforeApply != nil {
		if err := s.beforeApply(); err != nil {
			return err
		}
	}
	if err := s.moveToSegments(batch); err != nil {
		return fmt.Errorf("release: apply journaled jobs: %w", err)
	}
	// A stop does not cut off the transaction: cancelled during its
	// COMMIT, it may land after saying it failed (dropLanded).
	ctx = context.WithoutCancel(ctx)
	err := errTryLocked
	if s.texts.Dialect() == database.Postgres {
		err = s.applyAlone(database.WithoutBarrier(ctx), batch)
	}
	if errors.Is(err, errTryLocked) {
		err = s.applyInTx(ctx, batch)
	}
	if err == nil && s.afterApply != nil {
		err = s.afterApply()
	}
	if err != nil {
		return dbErr("apply journaled jobs", err)
	}
	s.journal.markApplied(batch)
	return nil
}

// applyInTx writes batch in one transaction on the committer's
// connection, with the journal's position. No client waits for this
// commit: it may copy the log itself.
func (s *Service) applyInTx(ctx context.Context, batch []pendingRecord) error {
	return s.group.DB.WithContext(database.CopyLogInline(database.WithoutBarrier(ctx))).Transaction(func(tx *gorm.DB) error {
		evs, err := writePending(batchSQL{tx: tx, texts: s.texts}, s.journalName, batch)
		if err != nil {
			return err
		}
		if _, err := s.audit.AppendBatch(ctx, tx, evs); err != nil {
			return fmt.Errorf("audit %d submitted jobs: %w", len(batch), err)
		}
		return nil
	})
}

// dropLanded takes off the head of the pending list the records that the
// database holds already, and returns how many it took. A commit reported
// failed (its connection broke, its context ended) may have landed all
// the same, and its records, applied again, would fail whole on their job
// IDs, and take the records after them down with them. The caller holds
// jn.applying.
func (s *Service) dropLanded() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), landedWait)
	defer cancel()
	at, err := journalApplied(ctx, s.db.DB, s.journalName)
	if err != nil {
		return 0, dbErr("journal's position", err)
	}
	jn := s.journal
	jn.mu.Lock()
	n, _ := slices.BinarySearchFunc(jn.pending, at+1, func(p pendingRecord, seq uint64) int { return cmp.Compare(p.seq, seq) })
	landed := jn.pending[:n]
	jn.mu.Unlock()
	if n > 0 {
		jn.markApplied(landed)
		jn.unpend(landed)
	}
	return n, nil
}

// landedWait bounds dropLanded's question to the database.
const landedWait = 5 * time.Second

// finalTries is how many times a stop tries to write a batch before it
// leaves the batch in the journal for the next start, finalPause apart.
const (
	finalTries = 3
	finalPause = 100 * time.Millisecond
)

// applyRows is the most rows of a journaled record's statement.
const applyRows = 16

// writePending writes the jobs, keys and documents of journaled records
// in b's transaction, and the position of the journal named name after
// them. It returns their events, which the caller appends to the chain in
// the same transaction.
func writePending(b batchSQL, name string, batch []pendingRecord) ([]audit.Event, error) {
	subs, evs := pendingSubmissions(batch)
	// The committer's connection keeps each text it ran prepared, one
	// text for each number of rows: records applied 1 to 256 at a time
	// held 13 MiB of SQLite's memory in compiled statements. Chunks of
	// a power of two up to applyRows need five texts a table.
	for len(subs) > 0 {
		n := 1 << (bits.Len(uint(min(len(subs), applyRows))) - 1)
		if err := b.insertJobs(subs[:n]); err != nil {
			return nil, err
		}
		if err := b.insertKeysAndDocuments(subs[:n], new([]byte)); err != nil {
			return nil, err
		}
		subs = subs[n:]
	}
	err := b.exec(b.texts.Bind(movePosition), name, batch[len(batch)-1].seq)
	return evs, err
}

// movePosition sets the journal's position, of the journal named by its
// first argument, to its second.
const movePosition = `INSERT INTO journal_applied (id, instance, seq) VALUES (1, ?, ?)
	ON CONFLICT (instance) DO UPDATE SET seq = excluded.seq`

// pendingSubmissions returns batch's records as submissions with their
// IDs, in owners' order, and their events, in the journal's order.
func pendingSubmissions(batch []pendingRecord) ([]*submission, []audit.Event) {
	subs := make([]*submission, len(batch))
	var evs []audit.Event
	for i := range batch {
		r := &batch[i].rec
		sub := &submission{job: &r.Job}
		if r.Doc != nil && r.Job.DocSegment == 0 {
			sub.doc.sealed = &r.Doc
		}
		subs[i] = sub
		evs = append(evs, r.Events...)
	}
	// In owners' order, as every writer locks their held_bytes rows
	// (aloneFor): records in journal order had locked them out of order,
	// which another instance's batch could deadlock with on PostgreSQL.
	slices.SortStableFunc(subs, func(a, b *submission) int { return strings.Compare(a.job.Owner, b.job.Owner) })
	return subs, evs
}

// markApplied moves the journal's position past batch once its
// transaction committed.
func (jn *journaled) markApplied(batch []pendingRecord) {
	jn.mu.Lock()
	defer jn.mu.Unlock()
	jn.applied.Store(batch[len(batch)-1].seq)
	close(jn.moved)
	jn.moved = make(chan struct{})
}

// journalKeys keeps the journal's segment keys in the database, whose
// secure_delete zeroes a destroyed one, wrapped by the spool's master key:
// the database alone opens no segment, as it opens no document.
type journalKeys struct {
	db    *database.DB
	spool *spool.Spool
	// name is the journal's (JournalName).
	name string
}

// keyName binds a wrapped key to its segment.
func keyName(n uint64) string { return fmt.Sprintf("journal segment %d", n) }

func (k journalKeys) Save(ctx context.Context, n uint64, key []byte) error {
	return k.db.WithContext(database.WithoutBarrier(ctx)).
		Exec(`INSERT INTO journal_keys (instance, segment, key) VALUES (?, ?, ?)`, k.name, n, k.spool.WrapKey(keyName(n), key)).Error
}

func (k journalKeys) Load(ctx context.Context) (map[uint64][]byte, error) {
	rows, err := k.db.WithContext(database.WithoutBarrier(ctx)).Raw(`SELECT segment, key FROM journal_keys WHERE instance = ?`, k.name).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := map[uint64][]byte{}
	for rows.Next() {
		var n uint64
		var wrapped []byte
		if err := rows.Scan(&n, &wrapped); err != nil {
			return nil, err
		}
		if keys[n], err = k.spool.UnwrapKey(keyName(n), wrapped); err != nil {
			return nil, fmt.Errorf("the key of segment %d: %w", n, err)
		}
	}
	return keys, rows.Err()
}

func (k journalKeys) Delete(ctx context.Context, n uint64) error {
	return k.db.WithContext(database.WithoutBarrier(ctx)).Exec(`DELETE FROM journal_keys WHERE instance = ? AND segment = ?`, k.name, n).Error
}

// WaitJournalApplied waits until db holds every record that the journal
// in dir, named name (JournalName), held when it was called, as the
// running server's applier writes them within milliseconds. A process
// other than the server (a backup) calls it before it reads the jobs. It
// fails once wait has passed: no server is applying them, and the next
// start will.
func WaitJournalApplied(ctx context.Context, db *gorm.DB, dir, name string, wait time.Duration) error {
	target, err := journal.LastSeq(dir)
	if err != nil || target == 0 {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var applied uint64 // as last read: the read the deadline cut off says nothing
	for {
		at, err := journalApplied(ctx, db, name)
		if err == nil {
			applied = at
		}
		if err == nil && applied >= target {
			return nil
		}
		if err != nil && ctx.Err() == nil {
			return dbErr("journal's position", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("release: submitted jobs up to journal record %d are not in the database after %v (written up to %d): "+
				"printgate writes them within milliseconds while it runs, and when it next starts: %w", target, wait, applied, ctx.Err())
		case <-tick.C:
		}
	}
}

// journalApplied reads how far the database holds the records of the
// journal named name.
func journalApplied(ctx context.Context, db *gorm.DB, name string) (uint64, error) {
	var applied uint64
	err := db.WithContext(database.WithoutBarrier(ctx)).
		Raw(`SELECT COALESCE((SELECT seq FROM journal_applied WHERE instance = ?), 0)`, name).Scan(&applied).Error
	return applied, err
}
