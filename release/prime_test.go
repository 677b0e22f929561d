package release

import (
	"bytes"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// TestPrime: a primed connection holds the committer's statement in both
// its forms, prepared, the batch's documents in a segment as the committer
// puts them there, and the rehearsal leaves nothing behind: no job,
// event, counter row or job ID, and a chain on which the next batch
// appends.
func TestPrime(t *testing.T) {
	db := openPostgres(t, testenv.Postgres(t))
	svc, log := batchService(t, db, 1<<30, nil)
	submit := func(i int) {
		t.Helper()
		if _, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: "alice", Name: "x",
			Document: ipp.DocumentInfo{Format: "application/octet-stream"}}, bytes.NewReader(paddedDoc(i, 20_000))); err != nil {
			t.Fatal(err)
		}
	}
	submit(1) // the audit log knows the head
	type state struct{ Jobs, Events, Rows, Seq, Head int64 }
	now := func() (s state) {
		t.Helper()
		err := db.Raw(`SELECT (SELECT count(*) FROM jobs) AS jobs, (SELECT count(*) FROM audit_events) AS events,
			(SELECT count(*) FROM held_bytes) AS rows, (SELECT last_value FROM jobs_id_seq) AS seq,
			(SELECT seq FROM audit_chain WHERE id = 1) AS head`).Scan(&s).Error
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := now()

	sqlDB, err := db.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	c, err := sqlDB.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := svc.Prime(t.Context(), c); err != nil {
		t.Fatalf("Prime: %v", err)
	}
	var prepared int
	if err := c.QueryRowContext(t.Context(),
		`SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'WITH s0 AS (INSERT INTO jobs%'`).Scan(&prepared); err != nil {
		t.Fatal(err)
	}
	if prepared != 2 {
		t.Errorf("the primed connection holds %d forms of the committer's statement, want 2 (one job, and arrays)", prepared)
	}
	var segmented int
	if err := c.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_prepared_statements
		WHERE statement LIKE 'WITH s0 AS (INSERT INTO jobs%unnest%' AND statement NOT LIKE '%job_documents%'`).Scan(&segmented); err != nil {
		t.Fatal(err)
	}
	if segmented != 1 {
		t.Errorf("the primed arrays' form sends documents: %d forms without them, want 1 (a batch's documents go to a segment)", segmented)
	}
	err = c.Raw(func(dc any) error {
		if st := dc.(*stdlib.Conn).Conn().PgConn().TxStatus(); st != 'I' {
			t.Errorf("the primed connection's transaction status is %q, want idle outside a transaction", st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := now(); after != before {
		t.Errorf("after Prime: %+v, want what was there before, %+v", after, before)
	}

	submit(2)
	if got := now(); got.Jobs != before.Jobs+1 || got.Head != before.Head+2 {
		t.Errorf("the next job: %+v after %+v, want one job and two events more", got, before)
	}
	if rep, err := log.Verify(t.Context(), 0, 0); err != nil || rep.FirstBad != 0 {
		t.Errorf("the chain after Prime: %+v, %v", rep, err)
	}
}
