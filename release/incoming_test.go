package release

import (
	"bytes"
	"errors"
	"testing"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/ipp"
)

// TestIncomingBounded: an owner may have maxIncoming jobs waiting for
// their documents at once; the next Create-Job is refused as busy, with
// a message, until a document is sent. Other owners from the same
// address (a proxy, a print server) are not.
func TestIncomingBounded(t *testing.T) {
	svc, _ := startService(t, openSQLite(t), Options{Queues: []Queue{{Name: "secure", Mode: Hold}}})
	ctx := t.Context()
	create := func(user, addr string) (ipp.Job, error) {
		return svc.IPP().CreateJob(ctx, ipp.JobRequest{Queue: "secure", User: user, ClientAddr: addr, Name: "x"})
	}
	var first ipp.Job
	for i := range maxIncoming {
		j, err := create("hanako", "192.0.2.10")
		if err != nil {
			t.Fatalf("Create-Job %d: %v", i+1, err)
		}
		if i == 0 {
			first = j
		}
	}
	tests := []struct {
		name, user, addr string
		ok               bool
	}{
		{"the same owner", "hanako", "192.0.2.11", false},
		{"the same address, another owner", "taro", "192.0.2.10", true},
	}
	for _, tc := range tests {
		_, err := create(tc.user, tc.addr)
		var r *Refusal
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case !tc.ok && (!errors.As(err, &r) || !errors.Is(err, ErrBusy)):
			t.Errorf("%s: %v; want a refusal past %d jobs waiting", tc.name, err, maxIncoming)
		}
	}
	doc := bytes.NewReader(testdocs.PDF(1, "menu", testdocs.A4))
	if _, err := svc.IPP().SendDocument(ctx, ipp.DocumentRequest{JobTarget: ipp.JobTarget{Queue: "secure", ID: first.ID,
		User: "hanako"}, Document: ipp.DocumentInfo{Format: "application/pdf"}, Last: true}, doc); err != nil {
		t.Fatal(err)
	}
	if _, err := create("hanako", "192.0.2.10"); err != nil {
		t.Errorf("Create-Job once a document was sent: %v", err)
	}
}
