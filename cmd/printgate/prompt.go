package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// readNewSecret reads a new password or PIN. On a terminal it prompts on
// standard error, without echo, and asks twice, so that a typo does not
// become the secret; from a pipe it reads one line, as readSecret does.
func (a *app) readNewSecret(ctx context.Context, what string) (string, error) {
	fd, ok := a.terminal()
	if !ok {
		return a.readSecret(what)
	}
	first, err := a.promptHidden(ctx, fd, "New "+what+": ")
	if err != nil {
		return "", err
	}
	if first == "" {
		return "", fmt.Errorf("read %s: empty", what)
	}
	again, err := a.promptHidden(ctx, fd, "Repeat the "+what+": ")
	if err != nil {
		return "", err
	}
	if again != first {
		return "", fmt.Errorf("the two %ss differ: nothing was changed", what)
	}
	return first, nil
}

// terminal returns the descriptor of standard input when it is a
// terminal.
func (a *app) terminal() (int, bool) {
	f, ok := a.stdin.(*os.File)
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// promptHidden shows prompt and reads one line from the terminal fd with
// echo off. Interrupted (ctx ends: Ctrl-C), it puts the terminal back as
// it was before it returns, rather than leave it without echo.
func (a *app) promptHidden(ctx context.Context, fd int, prompt string) (string, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("terminal: %w", err)
	}
	// Echo goes off before the prompt shows, as getpass(3) does: what is
	// typed as soon as the prompt is there must not be shown.
	// term.ReadPassword turns it off again itself, and back on only to
	// this state; the original comes back when the line is read.
	if err := echoOff(fd); err != nil {
		return "", fmt.Errorf("terminal: %w", err)
	}
	defer term.Restore(fd, state)
	fmt.Fprint(a.stderr, prompt)
	type line struct {
		b   []byte
		err error
	}
	read := make(chan line, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		read <- line{b, err}
	}()
	select {
	case <-ctx.Done():
		restoreErr := term.Restore(fd, state)
		fmt.Fprintln(a.stderr)
		return "", errors.Join(ctx.Err(), restoreErr)
	case l := <-read:
		fmt.Fprintln(a.stderr)
		if l.err != nil {
			return "", fmt.Errorf("terminal: %w", l.err)
		}
		return string(l.b), nil
	}
}

// echoOff turns off the echo of the terminal fd.
func echoOff(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Lflag &^= unix.ECHO
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
