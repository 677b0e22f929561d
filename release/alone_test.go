package release

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// openPostgres opens a fresh, migrated PostgreSQL database at dsn.
func openPostgres(t *testing.T, dsn string) *database.DB {
	t.Helper()
	return openMigrated(t, dsn, "")
}

// waitingStatement waits until the committer's one statement (alone.go)
// waits for a lock, and returns its client port.
func waitingStatement(t *testing.T, db *database.DB) int {
	t.Helper()
	const q = `SELECT client_port FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH s0 AS (INSERT INTO jobs%'`
	var port int
	testenv.WaitFor(t, "the committer's statement waiting for a lock", func() bool {
		return db.Raw(q).Scan(&port).Error == nil && port != 0
	})
	return port
}

// TestAloneLockOrder races a submission's one statement with a cancel of
// the same owner's job, done step by step as transition does it: the
// cancel's UPDATE of jobs locks the owner's held_bytes row (trigger), then
// it locks the chain head. The statement locks the same row before the
// head, so it waits for the cancel instead of deadlocking with it; then
// many submissions and cancels of one owner at once all succeed.
func TestAloneLockOrder(t *testing.T) {
	db := openPostgres(t, testenv.Postgres(t))
	svc, log := batchService(t, db, 0, nil)
	submit := func(i int) (ipp.Job, error) {
		return svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: "alice", Name: "x",
			Document: ipp.DocumentInfo{Format: "application/octet-stream"}}, bytes.NewReader(paddedDoc(i, 1000)))
	}
	j1, err := submit(1)
	if err != nil {
		t.Fatal(err)
	}
	tx := db.Begin()
	defer tx.Rollback()
	if err := tx.Exec(`UPDATE jobs SET state = 'canceled', spool = '', doc_in_db = false WHERE id = ?`, j1.ID).Error; err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var subErr error
	wg.Go(func() { _, subErr = submit(2) })
	waitingStatement(t, db)
	var seq int64
	if err := tx.Raw(`SELECT seq FROM audit_chain WHERE id = 1 FOR UPDATE`).Scan(&seq).Error; err != nil {
		t.Fatalf("the cancel's lock of the chain head: %v", err)
	}
	tx.Rollback()
	wg.Wait()
	if subErr != nil {
		t.Fatalf("the submission: %v", subErr)
	}

	ids := make(chan int, 100)
	var mu sync.Mutex
	var failed []error
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		failed = append(failed, err)
	}
	wg.Go(func() {
		defer close(ids)
		for i := range 60 {
			j, err := submit(10 + i)
			if err != nil {
				fail(err)
				continue
			}
			ids <- j.ID
		}
	})
	for range 2 {
		wg.Go(func() {
			for id := range ids {
				if _, err := svc.IPP().CancelJob(t.Context(), ipp.JobTarget{Queue: "secure", User: "alice", ID: id}); err != nil {
					fail(err)
				}
			}
		})
	}
	wg.Wait()
	for _, err := range failed {
		t.Error(err)
	}
	if rep, err := log.Verify(t.Context(), 0, 0); err != nil || rep.FirstBad != 0 {
		t.Errorf("audit chain: %+v, %v", rep, err)
	}
}

// cuttable forwards TCP connections to PostgreSQL; cut resets the one
// from a given port, and refuse turns new connections away.
type cuttable struct {
	ln     net.Listener
	refuse atomic.Bool
	mu     sync.Mutex
	pairs  [][2]net.Conn // client side, server side
}

func newCuttable(t *testing.T, target string) *cuttable {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttable{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil || p.refuse.Load() {
				c.Close()
				if s != nil {
					s.Close()
				}
				continue
			}
			p.mu.Lock()
			p.pairs = append(p.pairs, [2]net.Conn{c, s})
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *cuttable) cut(serverPort int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pair := range p.pairs {
		if pair[1].LocalAddr().(*net.TCPAddr).Port == serverPort {
			pair[0].Close()
			pair[1].Close()
		}
	}
}

// TestAloneConnectionLost loses the committer's connection while its one
// statement waits for a lock (and PostgreSQL's cancel cannot get
// through). The statement commits by itself once it has its lock, so the
// client is told the outcome is unknown, and the document stays: the job
// that then exists has it.
func TestAloneConnectionLost(t *testing.T) {
	dsn := testenv.Postgres(t)
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Fatalf("the test's PostgreSQL URL %q names no host", dsn)
	}
	p := newCuttable(t, u.Host)
	u.Host = p.ln.Addr().String()
	db := openPostgres(t, u.String())
	direct := openPostgres(t, dsn)
	svc, _ := batchService(t, db, 0, nil)
	submit := func(i, n int) (ipp.Job, error) {
		return svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: "alice", Name: "x",
			Document: ipp.DocumentInfo{Format: "application/octet-stream"}}, bytes.NewReader(paddedDoc(i, n)))
	}
	j1, err := submit(1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	tx := direct.Begin()
	defer tx.Rollback()
	if err := tx.Exec(`UPDATE held_bytes SET bytes = bytes WHERE owner = 'alice'`).Error; err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { _, err := submit(2, 300_000); done <- err }() // a spool file
	port := waitingStatement(t, direct)
	p.refuse.Store(true)
	p.cut(port)
	err = <-done
	if !errors.Is(err, errUnsynced) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("the client was told %v, want the outcome unknown (errUnsynced) and the service unavailable", err)
	}
	tx.Rollback() // the statement gets its lock and commits
	var spool string
	testenv.WaitFor(t, "the cut statement's job committed", func() bool {
		return direct.Raw(`SELECT spool FROM jobs WHERE id <> ?`, j1.ID).Scan(&spool).Error == nil && spool != ""
	})
	if _, err := os.Stat(filepath.Join(svc.spool.Dir(), spool+".doc")); err != nil {
		t.Errorf("the job committed without its document: %v", err)
	}
	p.refuse.Store(false)
}
