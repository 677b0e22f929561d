package release

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testenv"
)

// TestMoveAlone claims held jobs on PostgreSQL, where a move that keeps
// the document goes as one statement (movealone.go):
//   - the job's update and its events are that one statement, and it locks
//     the job's row before the chain head: while another transaction holds
//     the row, the statement waits and the head stays free for others;
//   - a claim that finds the job claimed first when the row comes free is
//     lost, and writes no event;
//   - a claim whose Log's view of the head is stale (another instance
//     appended) is sent again on the head it reads, and wins.
func TestMoveAlone(t *testing.T) {
	db := openPostgres(t, testenv.Postgres(t))
	svc, log, _ := transitionService(t, db, 0)
	device := Actor{Name: "hanako", Device: "mfp", Method: MethodCard, Printer: "ipp://127.0.0.1:1/ipp/print"}
	claim := func(j *Job) (bool, error) {
		return svc.transition(t.Context(), j, change{from: []State{StateHeld}, to: StateReleasing,
			reason: reasonFor(StateReleasing), by: device,
			claim: &claim{instance: "other", device: "mfp", printer: device.Printer}})
	}

	j := jobIn(t, svc, qHold, StateHeld, true)
	_, seq := eventTypes(t, log, j.ID, 0)
	tx := db.Begin()
	defer tx.Rollback()
	if err := tx.Exec(`SELECT 1 FROM jobs WHERE id = ? FOR UPDATE`, j.ID).Error; err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var won bool
	var claimErr error
	wg.Go(func() { won, claimErr = claim(&j) })
	var query string
	testenv.WaitFor(t, "the claim waiting for the job's row", func() bool {
		return db.Raw(`SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE%jobs%SET%'`).
			Scan(&query).Error == nil && query != ""
	})
	// pg_stat_activity keeps the first kilobyte of the text.
	for _, part := range []string{"WITH s0 AS (UPDATE jobs SET", "INSERT INTO audit_events"} {
		if !strings.Contains(query, part) {
			t.Errorf("the claim's statement has no %q: %.300s", part, query)
		}
	}
	head := db.Begin()
	var headSeq int64
	if err := head.Raw(`SELECT seq FROM audit_chain WHERE id = 1 FOR UPDATE NOWAIT`).Scan(&headSeq).Error; err != nil {
		t.Errorf("the chain head is locked while the claim waits for the job's row: %v", err)
	}
	head.Rollback()
	// Another device's claim commits first.
	if err := tx.Exec(`UPDATE jobs SET state = ? WHERE id = ?`, StateReleasing, j.ID).Error; err != nil {
		t.Fatal(err)
	}
	tx.Commit()
	wg.Wait()
	if claimErr != nil || won {
		t.Fatalf("claim of a job claimed first: won %v, %v; want lost", won, claimErr)
	}
	if evs, _ := eventTypes(t, log, j.ID, seq); len(evs) != 0 {
		t.Errorf("the lost claim wrote events %v", evs)
	}

	j2 := jobIn(t, svc, qHold, StateHeld, true)
	_, seq = eventTypes(t, log, j2.ID, 0)
	// Another instance appends: this Log's view of the head is stale.
	other := audit.New(db, audit.Options{Key: bytes.Repeat([]byte{7}, 32)})
	if err := db.Transaction(func(tx *gorm.DB) error {
		_, err := other.Append(t.Context(), tx, audit.Event{Type: audit.EventConfigChanged, Actor: "admin"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if won, err := claim(&j2); err != nil || !won {
		t.Fatalf("claim after another instance appended: won %v, %v", won, err)
	}
	if evs, _ := eventTypes(t, log, j2.ID, seq); !slices.Equal(evs, []string{audit.EventReleaseAttempt}) {
		t.Errorf("events of the claim %v, want [%s]", evs, audit.EventReleaseAttempt)
	}
	var row Job
	if err := db.Where("id = ?", j2.ID).Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	if row.State != StateReleasing || row.ClaimedBy != "other" || row.Device != "mfp" || row.ProcessedAt == nil {
		t.Errorf("claimed row: state %s, claimed by %q, device %q, processed %v", row.State, row.ClaimedBy, row.Device, row.ProcessedAt)
	}
	if rep, err := log.Verify(t.Context(), 0, 0); err != nil || rep.FirstBad != 0 {
		t.Errorf("audit chain: %+v, %v", rep, err)
	}
}
