package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandWithoutConfig: a command given no configuration and no data
// dir, run where there is no ./var (an administrator who forgot --config
// on a packaged install), fails and makes nothing; run where serve keeps
// ./var, it works there.
func TestCommandWithoutConfig(t *testing.T) {
	bin := printgateBinary(t)
	dir := t.TempDir()
	run := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "PRINTGATE_") && !strings.HasPrefix(kv, "LANG=") && !strings.HasPrefix(kv, "LC_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"en", nil, "no --config or --data given, and no data dir here (./var): pass --config"},
		{"ja", []string{"LANG=ja_JP.UTF-8"}, "--config /etc/printgate/printgate.yaml を付けて実行してください"},
	} {
		out, err := run(tc.env, "user", "list")
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("%s: user list without --config: %v\n%s\nwant an error saying %q", tc.name, err, out, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "var")); !os.IsNotExist(err) {
		t.Fatalf("the refused command left ./var behind: %v", err)
	}

	if out, err := run(nil, "user", "list", "--data", "var"); err != nil {
		t.Fatalf("user list --data var: %v\n%s", err, out)
	}
	if out, err := run(nil, "user", "list"); err != nil {
		t.Errorf("user list where ./var is: %v\n%s", err, out)
	}
}
