package main

import (
	"fmt"
	"io"
	"time"
)

// commitPauseEnv names the environment variable that makes printgate
// pause inside every batch of submissions, written but not yet committed,
// for that long (a Go duration), and say so on its output: the crash
// tests (crashbatch_test.go) kill it there. Unset or empty, the hook is
// not installed and nothing pauses.
const commitPauseEnv = "PRINTGATE_TEST_COMMIT_PAUSE"

// commitPauseLine starts the line the pause prints, followed by the
// batch's job IDs.
const commitPauseLine = "printgate-test: batch written, not committed:"

// commitPauseHook returns the release.Options.BeforeCommit hook that
// value (of commitPauseEnv) asks for, printing to w; nil for none.
func commitPauseHook(value string, w io.Writer) (func([]int64), error) {
	if value == "" {
		return nil, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("%s=%q: want a positive duration such as 300ms", commitPauseEnv, value)
	}
	return func(ids []int64) {
		fmt.Fprintln(w, commitPauseLine, ids)
		time.Sleep(d)
	}, nil
}
