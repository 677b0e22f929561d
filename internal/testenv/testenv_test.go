package testenv

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestNeed(t *testing.T) {
	t.Run("nil error continues", func(t *testing.T) {
		t.Setenv(StrictEnv, "1")
		Need(t, "nothing", nil)
	})
	t.Run("missing tool skips when not strict", func(t *testing.T) {
		t.Setenv(StrictEnv, "")
		var inner *testing.T
		t.Run("inner", func(t *testing.T) {
			inner = t
			Need(t, "the moon", errors.New("not here"))
			t.Error("Need returned after an error")
		})
		if !inner.Skipped() {
			t.Error("inner test was not skipped")
		}
	})
	t.Run("missing tool fails when strict", func(t *testing.T) {
		// A failing subtest would fail this test too, so the failure is
		// observed in a child test binary.
		if os.Getenv("TESTENV_NEED_CHILD") == "1" {
			Need(t, "the moon", errors.New("not here"))
			return
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestNeed$/^missing_tool_fails_when_strict$", "-test.count=1")
		cmd.Env = append(os.Environ(), "TESTENV_NEED_CHILD=1", StrictEnv+"=1")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("child test passed or did not run: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "the moon is required") {
			t.Errorf("child output does not name what is missing:\n%s", out)
		}
	})
}

func TestTool(t *testing.T) {
	if p := Tool(t, "sh"); !strings.HasSuffix(p, "/sh") {
		t.Errorf("Tool(sh) = %q", p)
	}
	if _, err := LookTool("printgate-no-such-tool"); err == nil {
		t.Error("LookTool found a tool that does not exist")
	}
}

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen on free port %d: %v", port, err)
	}
	l.Close()
}

func TestChromium(t *testing.T) {
	path := Chromium(t)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("Chromium() = %q, not an executable: %v", path, err)
	}
}

func TestIpptool(t *testing.T) {
	out, err := RunIpptool(t, t.TempDir(), "--version")
	if err != nil || !strings.Contains(out, "CUPS") {
		t.Fatalf("ipptool --version: %v\n%s", err, out)
	}
}
