package testenv

import (
	"testing"
	"time"
)

// waitDeadline is generous: WaitFor waits on an event that comes within
// milliseconds on an idle machine, and only a loaded one needs the rest.
const waitDeadline = 60 * time.Second

// WaitFor polls cond every few milliseconds until it holds, and fails the
// test if it does not within a generous deadline. It waits for an event
// (a background pass, a printer finishing a job), never for time to pass:
// a test of a timeout moves a Clock on instead.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !Eventually(cond) {
		t.Fatalf("timed out after %v waiting for %s", waitDeadline, what)
	}
}

// Eventually polls cond as WaitFor does and reports whether it held within
// the deadline, for a test that says more than WaitFor can when it did not.
func Eventually(cond func() bool) bool {
	deadline := time.Now().Add(waitDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
