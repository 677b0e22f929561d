package audit

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
)

// TestNameRecordedLater: a name its submission kept keyed enters the job's
// record in clear only through a sensitive-content-absent or -unchecked
// event that carries it, appended alone or in the batch of the
// submission; the rebuilt records agree (verify). Any other event, or one
// without the name, leaves the record keyed.
func TestNameRecordedLater(t *testing.T) {
	const name = "2026年11月 昼食メニュー.pdf"
	withName := map[string]string{"kind": "my-number", DetailDocumentName: name}
	for _, tc := range []struct {
		desc    string
		later   Event
		inBatch bool
		clear   bool
	}{
		{"absent", Event{Type: EventSensitiveContentAbsent, Details: withName}, false, true},
		{"absent, in the submission's batch", Event{Type: EventSensitiveContentAbsent, Details: withName}, true, true},
		{"unchecked", Event{Type: EventSensitiveContentUnchecked, Details: map[string]string{
			"my-number-check": "failed", DetailDocumentName: name}}, false, true},
		{"absent without the name", Event{Type: EventSensitiveContentAbsent, Details: map[string]string{"kind": "my-number"}}, false, false},
		{"detected", Event{Type: EventSensitiveContentDetected, Details: withName}, false, false},
		{"held", Event{Type: EventHeld, Details: withName}, true, false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			eachDialect(t, func(t *testing.T, db *database.DB) {
				testNameRecordedLater(t, db, tc.later, tc.inBatch, tc.clear, name)
			})
		})
	}
}

func testNameRecordedLater(t *testing.T, db *database.DB, later Event, inBatch, clear bool, name string) {
	ctx := context.Background()
	l := newLog(db, newClock(t0, time.Second))
	sub := submitted(7, "bob", name)
	sub.Job.HideName = true
	later.JobID, later.Actor = 7, ActorSystem
	evs := []Event{sub}
	if inBatch {
		evs = append(evs, later)
	}
	err := db.Transaction(func(tx *gorm.DB) error {
		_, err := l.AppendBatch(ctx, tx, evs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !inBatch {
		appendTx(t, l, db, later)
	}
	keyed, _ := l.KeyedName(name)
	want, wantHidden := keyed, true
	if clear {
		want, wantHidden = name, false
	}
	rec, err := l.Job(ctx, 7)
	if err != nil || rec.DocumentName != want || rec.HideName != wantHidden {
		t.Errorf("record name %q hidden %v (%v), want %q hidden %v", rec.DocumentName, rec.HideName, err, want, wantHidden)
	}
	mustVerify(t, l)
}
