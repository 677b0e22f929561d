package database

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// On SQLite a commit that takes the write-ahead log past 1,000 frames
// copies the log into the database file before it returns (the automatic
// checkpoint): some 600 pages written and the database file fsynced, 10 to
// 18 ms on these machines, every 60 ms or so at 32 clients. On the
// committer's connection that stopped every client in the batch, and
// every one that arrived meanwhile: in runs of 8,000 jobs at 32 clients
// each of the slowest 1 % had waited through such a commit
// (docs/PERFORMANCE.md). So the committer's connection never checkpoints
// (wal_autocheckpoint=0), and a walCopier copies the log beside it, on
// a connection of the pool, while the committer writes the next batch.
//
// A PASSIVE checkpoint copies what it can without waiting for anyone. The
// log starts again from its beginning only when a writer begins once
// every frame is copied and no reader is in the log; under a steady load
// that can take a while, so past restartFrames the copier restarts it
// itself (RESTART) under the write gate, when the frames left to copy are
// few.

// defaultAutocheckpoint is SQLite's wal_autocheckpoint, which the
// committer's connection gets back when it returns to the pool.
const defaultAutocheckpoint = 1000

// A copy costs an fsync of the database file, whatever it copies: the
// copier aims at some walCopyFrames frames a copy, pausing after each as
// long as the last one's pace says the log takes to grow by that much,
// from walCopyEvery to walCopyIdle: at 32 clients about every 30 ms. (The
// automatic checkpoint came every 1,000 frames.)
const (
	walCopyFrames = 512
	walCopyEvery  = 10 * time.Millisecond
	walCopyIdle   = 250 * time.Millisecond
)

// restartFrames is the length of the log, in frames, past which the
// copier restarts it: 32 MiB of 4 KiB pages.
const restartFrames = 8192

// restartWait is how long a restart waits for readers to leave the log,
// holding the write gate meanwhile, and restartPause how long after one
// the copier tries again.
const (
	restartWait  = 20 * time.Millisecond
	restartPause = time.Second
)

// walCopier copies an SQLite database's write-ahead log into its file
// while a GroupCommitter writes (see above).
type walCopier struct {
	db   *sql.DB
	gate writeGate
	log  *slog.Logger
	// wrote wakes the copier after a commit; it then copies, paced
	// (run), until a copy finds nothing new.
	wrote chan struct{}
	stop  chan struct{}
	done  chan struct{}
	// restartAt is restartFrames, lowered by tests.
	restartAt   atomic.Int64
	lastRestart time.Time
	// restarts counts the log's restarts, for tests.
	restarts atomic.Int64
	stopped  sync.Once
}

func newWALCopier(db *sql.DB, gate writeGate, log *slog.Logger) *walCopier {
	c := &walCopier{db: db, gate: gate, log: log, wrote: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	c.restartAt.Store(restartFrames)
	go c.run()
	return c
}

// wake tells the copier that the log has grown.
func (c *walCopier) wake() {
	select {
	case c.wrote <- struct{}{}:
	default:
	}
}

// close stops the copier and waits for it.
func (c *walCopier) close() {
	c.stopped.Do(func() { close(c.stop) })
	<-c.done
}

func (c *walCopier) run() {
	defer close(c.done)
	var last walState
	for {
		select {
		case <-c.stop:
			return
		case <-c.wrote:
		}
		began := time.Now()
		for {
			st, err := c.copyOnce()
			if err != nil {
				// Commits go on without it; the next commit after a
				// pause tries again, so that a broken database logs
				// this a few times a second, not once a commit.
				c.log.Warn("database: copy the write-ahead log into the database file", "err", err)
				select {
				case <-c.stop:
					return
				case <-time.After(walCopyIdle):
				}
				break
			}
			grew := st.copied - last.copied
			if st.frames < last.frames {
				grew = st.copied // the log began again
			}
			last = st
			if grew <= 0 {
				break // nothing was written since the last copy
			}
			pause := min(max(walCopyFrames*time.Since(began)/time.Duration(grew), walCopyEvery), walCopyIdle)
			select {
			case <-c.stop:
				return
			case <-time.After(pause):
			}
			began = time.Now()
		}
	}
}

// walState is what a checkpoint reports: the frames in the log and how
// many of them are in the database file.
type walState struct{ frames, copied int }

// copyOnce copies the log as far as readers let it, and restarts a long
// log.
func (c *walCopier) copyOnce() (walState, error) {
	ctx := context.Background()
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return walState{}, err
	}
	defer conn.Close()
	var busy int
	var st walState
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &st.frames, &st.copied); err != nil {
		if isBusy(err) {
			return walState{}, nil // another checkpoint is copying it
		}
		return walState{}, fmt.Errorf("checkpoint: %w", err)
	}
	if int64(st.frames) >= c.restartAt.Load() && time.Since(c.lastRestart) >= restartPause {
		c.lastRestart = time.Now()
		if err := c.restart(ctx, conn); err != nil {
			return st, err
		}
	}
	return st, nil
}

// restart copies the rest of the log and has the next writer start it
// again from its beginning, holding the write gate: the committer waits
// for the last frames to be copied, not for the whole log. Readers still
// in the log after restartWait make it give up until the next try.
func (c *walCopier) restart(ctx context.Context, conn *sql.Conn) (err error) {
	leave, err := c.gate.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", restartWait.Milliseconds())); err != nil {
		return fmt.Errorf("restart the log: %w", err)
	}
	defer func() {
		if _, rerr := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", sqliteBusyTimeout)); rerr != nil && err == nil {
			err = fmt.Errorf("restart the log: %w", rerr)
		}
	}()
	var busy, frames, copied int
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &frames, &copied)
	if err != nil && !isBusy(err) {
		return fmt.Errorf("restart the log: %w", err)
	}
	if err == nil && busy == 0 {
		c.restarts.Add(1)
	}
	return nil // a busy database: readers held on, the next try
}
