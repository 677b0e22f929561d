package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/printgate/printgate/internal/testenv"
)

// ttySession runs a printgate subcommand with a pseudo-terminal as its
// standard input and error, as an administrator at a shell would.
type ttySession struct {
	t      *testing.T
	master io.Writer
	screen *syncBuffer // everything the terminal showed
	done   chan error
}

func runOnTTY(t *testing.T, cfg Config, args ...string) *ttySession {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	t.Cleanup(func() { master.Close(); tty.Close() })
	s := &ttySession{t: t, master: master, screen: &syncBuffer{}, done: make(chan error, 1)}
	go io.Copy(s.screen, master)
	path := writeConfig(t, cfg)
	a := &app{stdout: &bytes.Buffer{}, stderr: tty, stdin: tty}
	cmd := a.command()
	cmd.SetArgs(append(args, "--config", path))
	go func() { s.done <- cmd.ExecuteContext(context.Background()) }()
	return s
}

// answer waits for prompt on the terminal and types line.
func (s *ttySession) answer(prompt, line string) {
	s.t.Helper()
	testenv.WaitFor(s.t, "the prompt "+prompt, func() bool { return strings.Contains(s.screen.String(), prompt) })
	before := len(s.screen.String())
	if _, err := io.WriteString(s.master, line+"\r"); err != nil {
		s.t.Fatal(err)
	}
	// The prompt is matched once: wait for the line's end to show.
	testenv.WaitFor(s.t, "the answer to "+prompt, func() bool { return len(s.screen.String()) > before })
}

// TestPromptOnTerminal: on a terminal, set-pin, user add and
// set-password ask twice without echo; two answers that differ change
// nothing. (From a pipe they read one line: every other test does so.)
func TestPromptOnTerminal(t *testing.T) {
	cfg := newConfig(t, "")
	runCLI(t, cfg, "bob-secret\n", "user", "add", "bob")

	s := runOnTTY(t, cfg, "user", "set-pin", "bob")
	s.answer("New PIN: ", "4821")
	s.answer("Repeat the PIN: ", "4821")
	if err := <-s.done; err != nil {
		t.Fatalf("set-pin on a terminal: %v\n%s", err, s.screen)
	}
	if strings.Contains(s.screen.String(), "4821") {
		t.Errorf("the terminal echoed the PIN:\n%q", s.screen)
	}
	st := openStackT(t, cfg)
	if err := st.creds.CheckPIN(t.Context(), "bob", "4821", "test"); err != nil {
		t.Errorf("PIN typed on the terminal: %v", err)
	}

	s = runOnTTY(t, cfg, "user", "set-pin", "bob")
	s.answer("New PIN: ", "5938")
	s.answer("Repeat the PIN: ", "5939")
	if err := <-s.done; err == nil || !strings.Contains(err.Error(), "differ") {
		t.Errorf("two different PINs: %v, want a refusal", err)
	}
	if err := st.creds.CheckPIN(t.Context(), "bob", "4821", "test"); err != nil {
		t.Errorf("the old PIN after a refused change: %v", err)
	}

	s = runOnTTY(t, cfg, "user", "add", "carol")
	s.answer("New password: ", "carol-secret")
	s.answer("Repeat the password: ", "carol-secret")
	if err := <-s.done; err != nil {
		t.Fatalf("user add on a terminal: %v\n%s", err, s.screen)
	}
	s = runOnTTY(t, cfg, "user", "set-password", "carol")
	s.answer("New password: ", "carol-new-secret")
	s.answer("Repeat the password: ", "carol-new-secret")
	if err := <-s.done; err != nil {
		t.Fatalf("set-password on a terminal: %v\n%s", err, s.screen)
	}
	if strings.Contains(s.screen.String(), "secret") {
		t.Errorf("the terminal echoed a password:\n%q", s.screen)
	}
	if _, err := st.dir.Authenticate(t.Context(), "carol", "carol-new-secret"); err != nil {
		t.Errorf("password typed on the terminal: %v", err)
	}
}

// TestStartupHint: a server without an administrator says how to create
// one, and how to get the printgate command to do it with.
func TestStartupHint(t *testing.T) {
	srv := startServer(t, newConfig(t, ""))
	for _, want := range []string{"printgate user add NAME --role admin",
		"go build -tags nomsgpack -o printgate ./cmd/printgate", "go install"} {
		if !strings.Contains(srv.Log.String(), want) {
			t.Errorf("start-up output lacks %q:\n%s", want, srv.Log)
		}
	}
}
