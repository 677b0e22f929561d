package release

import (
	"slices"
	"testing"
)

// TestSessionQueues: which of a device's queues each way of signing in
// sees. A release from My page sees exactly the queues with
// release_from_web, whatever their floor; a phone (qr) is held to the
// floor like any sign-in.
func TestSessionQueues(t *testing.T) {
	s := &Service{queues: map[string]Queue{
		"open":    {Name: "open"},
		"floor":   {Name: "floor", ReleaseRequires: []string{MethodCardPIN}},
		"phone":   {Name: "phone", ReleaseRequires: []string{MethodCardPIN, MethodQR}},
		"desk":    {Name: "desk", ReleaseFromWeb: true},
		"deskpin": {Name: "deskpin", ReleaseFromWeb: true, ReleaseRequires: []string{MethodCardPIN}}, // config refuses it; the floor does not stop My page
	}}
	dev := Device{Queues: "open,floor,phone,desk,deskpin,gone"}
	tests := []struct {
		method string
		want   []string
	}{
		{MethodCard, []string{"open", "desk"}},
		{MethodCardPIN, []string{"open", "floor", "phone", "desk", "deskpin"}},
		{MethodQR, []string{"open", "phone", "desk"}},
		{MethodWeb, []string{"desk", "deskpin"}},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			got := s.DeviceRelease().sessionQueues(Session{Method: tt.method}, dev)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("queues %v; want %v", got, tt.want)
			}
		})
	}
}
