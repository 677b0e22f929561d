package release

import (
	"fmt"
	"slices"
	"testing"
)

// TestMyNumberFloor: of the held jobs of a protecting queue, only a
// card+PIN session, or an ID+PIN one at a device that requires a card,
// sees one holding an individual number, whatever other way the user
// signed in (card, ID+PIN elsewhere, a phone's QR link, My page); no
// session sees a job still to be searched; a flagging queue's job is seen
// as any other.
func TestMyNumberFloor(t *testing.T) {
	db := openSQLite(t)
	svc, _ := startService(t, db, Options{Queues: []Queue{
		{Name: "protect", Mode: Hold, ReleaseFromWeb: true},
		{Name: "flag", Mode: Hold, MyNumber: MyNumberFlag, ReleaseFromWeb: true},
	}})
	ids := map[string]int64{}
	for _, j := range []struct{ name, queue, sensitive string }{
		{"plain", "protect", ""},
		{"number", "protect", SensitiveMyNumber},
		{"pending", "protect", sensitivePending},
		{"flagged", "flag", SensitiveMyNumber},
	} {
		row := Job{Queue: j.queue, Owner: "bob", Name: j.name, State: StateHeld, Sensitive: j.sensitive,
			Spool: "doc-" + j.name, CreatedAt: svc.now(), UpdatedAt: svc.now()}
		if err := db.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
		ids[j.name] = row.ID
	}
	for _, tc := range []struct {
		method       string
		cardRequired bool
		want         []string
	}{
		{MethodCard, false, []string{"plain", "flagged"}},
		{MethodCard, true, []string{"plain", "flagged"}},
		{MethodIDPIN, false, []string{"plain", "flagged"}},
		{MethodIDPIN, true, []string{"plain", "number", "flagged"}},
		{MethodQR, true, []string{"plain", "flagged"}},
		{MethodWeb, true, []string{"plain", "flagged"}},
		{MethodCardPIN, false, []string{"plain", "number", "flagged"}},
	} {
		dev := Device{Queues: "protect,flag", CardRequired: tc.cardRequired}
		t.Run(fmt.Sprintf("%s/card-required=%v", tc.method, tc.cardRequired), func(t *testing.T) {
			sess := Session{UserName: "bob", Method: tc.method}
			jobs, err := svc.DeviceRelease().Jobs(t.Context(), sess, dev)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range jobs {
				got = append(got, j.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
			_, err = svc.DeviceRelease().Job(t.Context(), sess, dev, ids["number"])
			if visible := err == nil; visible != slices.Contains(tc.want, "number") {
				t.Errorf("the job holding a number: %v", err)
			}
		})
	}
}
