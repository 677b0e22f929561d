package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// LifeCountOID is Printer-MIB prtMarkerLifeCount.1.1, the page counter a
// Printer runs serves.
const LifeCountOID = ".1.3.6.1.2.1.43.10.2.1.4.1.1"

// SNMPAgent is Debian's net-snmp snmpd run privately on a loopback UDP
// port, serving a printer's life page counter through a pass_persist
// script whose value the test sets.
type SNMPAgent struct {
	// Addr is 127.0.0.1:PORT.
	Addr string
	// Community is the read-only SNMPv2c community.
	Community string
	counter   string
	t         testing.TB
}

// passScript answers snmpd's pass_persist protocol for
// prtMarkerLifeCount: get of the counter's OID, getnext of anything
// before it. pass_persist rather than pass: snmpd keeps a pass command's
// output for 30 seconds, and the tests move the counter faster.
const passScript = `#!/bin/sh
oid=` + LifeCountOID + `
while read -r cmd; do
	case "$cmd" in
	PING) echo PONG; continue ;;
	get|getnext) read -r req ;;
	set) read -r req; read -r val; echo not-writable; continue ;;
	*) continue ;;
	esac
	case "$cmd $req" in
	"get $oid"|"getnext .1.3.6.1.2.1.43.10.2.1.4"|"getnext .1.3.6.1.2.1.43.10.2.1.4.1"|"getnext .1.3.6.1.2.1.43.10.2.1.4.1.0")
		echo "$oid"; echo counter; cat "%s" ;;
	*) echo NONE ;;
	esac
done
`

// SNMPv3User is a USM user the agent knows besides its community: it
// reads the counter with authentication and privacy ("priv"), or
// authentication alone when PrivProto is "".
type SNMPv3User struct {
	Name string
	// AuthProto is net-snmp's name of the authentication protocol
	// ("SHA", "SHA-256"); PrivProto of the privacy one ("AES", "").
	AuthProto, AuthPass string
	PrivProto, PrivPass string
}

// conf is the user's lines of snmpd.conf.
func (u SNMPv3User) conf() string {
	level, create := "auth", fmt.Sprintf("createUser %s %s %q", u.Name, u.AuthProto, u.AuthPass)
	if u.PrivProto != "" {
		level, create = "priv", create+fmt.Sprintf(" %s %q", u.PrivProto, u.PrivPass)
	}
	return create + "\nrouser " + u.Name + " " + level + "\n"
}

// SNMPD starts snmpd with the counter at start and stops it in t.Cleanup;
// users are SNMPv3 users it knows too.
func SNMPD(t testing.TB, start int64, users ...SNMPv3User) *SNMPAgent {
	t.Helper()
	bin := Tool(t, "snmpd")
	dir := sharedDir(t, "pg-snmpd-")
	a := &SNMPAgent{Community: "pg-test-community", counter: filepath.Join(dir, "counter"), t: t}
	a.Set(start)
	script := filepath.Join(dir, "pass.sh")
	if err := os.WriteFile(script, []byte(fmt.Sprintf(passScript, a.counter)), 0o755); err != nil {
		t.Fatalf("testenv: snmpd: %v", err)
	}
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("testenv: snmpd: %v", err)
		}
		a.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		conf := filepath.Join(dir, "snmpd.conf")
		body := fmt.Sprintf("agentaddress udp:%s\nrocommunity %s 127.0.0.1\npass_persist .1.3.6.1.2.1.43.10.2.1.4 %s\n",
			a.Addr, a.Community, script)
		for _, u := range users {
			body += u.conf()
		}
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatalf("testenv: snmpd: %v", err)
		}
		// -f foreground, -Lo log to stdout, -C only this config, and a
		// persistent folder of its own instead of /var/lib/snmp.
		proc, err := startProcess("snmpd", bin, []string{"SNMP_PERSISTENT_DIR=" + dir, "MIBS="},
			"-f", "-Lo", "-C", "-c", conf, "-p", filepath.Join(dir, "snmpd.pid"))
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		if lastErr = proc.waitReady(a.ready); lastErr == nil {
			t.Cleanup(proc.stop)
			return a
		}
		proc.stop()
	}
	t.Fatalf("testenv: %v", lastErr)
	return nil
}

// Set makes the agent report n as the printer's life page count.
func (a *SNMPAgent) Set(n int64) {
	a.t.Helper()
	if err := os.WriteFile(a.counter, []byte(strconv.FormatInt(n, 10)+"\n"), 0o644); err != nil {
		a.t.Fatalf("testenv: snmpd counter: %v", err)
	}
}

// ready succeeds once the agent answers for the counter.
func (a *SNMPAgent) ready(ctx context.Context) error {
	host, port, _ := net.SplitHostPort(a.Addr)
	p, _ := strconv.Atoi(port)
	g := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Community: a.Community, Version: gosnmp.Version2c,
		Timeout: 300 * time.Millisecond, Retries: 0, Context: ctx}
	if err := g.Connect(); err != nil {
		return err
	}
	defer g.Conn.Close()
	res, err := g.Get([]string{LifeCountOID})
	if err != nil {
		return err
	}
	if len(res.Variables) != 1 || res.Variables[0].Type != gosnmp.Counter32 {
		return fmt.Errorf("snmpd answered %v", res.Variables)
	}
	return nil
}
