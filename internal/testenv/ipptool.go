package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// toolTimeout bounds one run of a command-line tool.
const toolTimeout = 5 * time.Minute

// Ipptool returns the path of CUPS's ipptool.
func Ipptool(t testing.TB) string {
	t.Helper()
	return Tool(t, "ipptool")
}

// RunIpptool runs ipptool with args in dir, where the documents that test
// files name (FILE, -f) are looked up, and returns its standard output and
// error together. Test files given by bare name are found in CUPS's data
// folder (/usr/share/cups/ipptool). A non-zero exit, which is how ipptool
// reports a failed test, comes back as an error with the output beside it.
func RunIpptool(t testing.TB, dir string, args ...string) (string, error) {
	t.Helper()
	return runTool(Ipptool(t), dir, nil, args...)
}

// runTool runs a program with extra environment and a time limit.
func runTool(path, dir string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(cmd.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w", path, err)
	}
	return string(out), nil
}
