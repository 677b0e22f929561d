package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/printgate/printgate/monitor"
)

// Environment variables that may hold SNMPv3 passphrases, for scripts
// that keep them in a secret store: never an argument, which any user
// of the machine can read in the process list.
const (
	envSNMPAuth = "PRINTGATE_SNMP_AUTH_PASSPHRASE"
	envSNMPPriv = "PRINTGATE_SNMP_PRIV_PASSPHRASE"
)

// snmpV3Flags are printer add's SNMPv3 settings.
type snmpV3Flags struct {
	user, auth, priv, file string
}

// readSNMPv3 returns the SNMPv3 settings of the flags with their
// passphrases, read from the file, else the environment, else standard
// input: the authentication passphrase, then (with privacy) the privacy
// one, one a line.
func (a *app) readSNMPv3(f snmpV3Flags) (*monitor.SNMPv3, error) {
	v := &monitor.SNMPv3{User: f.user, Auth: f.auth, Priv: f.priv}
	if strings.EqualFold(v.Priv, "none") {
		v.Priv = ""
	}
	want := 1
	if v.Priv != "" {
		want = 2
	}
	var lines []string
	var err error
	switch {
	case f.file != "":
		file, oerr := os.Open(f.file)
		if oerr != nil {
			return nil, fmt.Errorf("SNMPv3 passphrase file: %w", oerr)
		}
		defer file.Close()
		lines, err = passphraseLines(file, want, "--snmp-passphrase-file")
	case os.Getenv(envSNMPAuth) != "":
		lines = []string{os.Getenv(envSNMPAuth), os.Getenv(envSNMPPriv)}
	default:
		lines, err = passphraseLines(a.stdin, want, "standard input")
	}
	if err != nil {
		return nil, err
	}
	v.AuthPassphrase = lines[0]
	if want == 2 {
		v.PrivPassphrase = lines[1]
	}
	return v, nil
}

// passphraseLines reads want lines from r (a passphrase file is small:
// 4 KiB is plenty), naming where they came from in an error, never them.
func passphraseLines(r io.Reader, want int, from string) ([]string, error) {
	sc := bufio.NewScanner(io.LimitReader(r, 4<<10))
	var lines []string
	for len(lines) < want && sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read SNMPv3 passphrases from %s: %w", from, err)
	}
	if len(lines) < want {
		what := "the authentication passphrase"
		if want == 2 {
			what += " and the privacy passphrase"
		}
		return nil, errors.New("read SNMPv3 passphrases from " + from + ": " + what + " needed, one a line")
	}
	return lines, nil
}
