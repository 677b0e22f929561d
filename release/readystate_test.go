package release

import "testing"

// TestReadyState: where a job goes once its document is stored. A direct
// queue prints at once, unless the client asked to hold the job, its
// document holds an individual number the queue protects, or it has a
// job password: its owner asked for it to wait for the password at a
// printer (the IPP server refuses one on a direct queue; a job that came
// with one another way must still not print for anyone at the tray).
func TestReadyState(t *testing.T) {
	hold := Queue{Name: "secure", Mode: Hold}
	direct := Queue{Name: "lobby", Mode: Direct}
	flag := Queue{Name: "flag", Mode: Direct, MyNumber: MyNumberFlag}
	tests := []struct {
		name string
		q    Queue
		j    Job
		want State
	}{
		{"hold queue", hold, Job{}, StateHeld},
		{"direct queue", direct, Job{}, StatePrinting},
		{"direct, no-hold", direct, Job{HoldUntil: "no-hold"}, StatePrinting},
		{"direct, held by the client", direct, Job{HoldUntil: "indefinite"}, StateHeld},
		{"direct, My Number protected", direct, Job{Sensitive: SensitiveMyNumber}, StateHeld},
		{"direct, My Number flagged", flag, Job{Sensitive: SensitiveMyNumber}, StatePrinting},
		{"direct, job password", direct, Job{PasswordHash: "$argon2id$..."}, StateHeld},
		{"hold queue, job password", hold, Job{PasswordHash: "$argon2id$..."}, StateHeld},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := readyStateOf(tc.q, &tc.j); got != tc.want {
				t.Errorf("readyStateOf = %s, want %s", got, tc.want)
			}
		})
	}
}
