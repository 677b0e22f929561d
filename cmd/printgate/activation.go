package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// listenFDsStart is the first descriptor of the sd_listen_fds protocol;
// 0, 1 and 2 are the standard streams.
const listenFDsStart = 3

// activation is what the sd_listen_fds environment hands over.
type activation struct {
	count int      // descriptors listenFDsStart … listenFDsStart+count-1
	names []string // LISTEN_FDNAMES, or nil
}

// parseActivation reads the sd_listen_fds variables as a process with
// process id pid sees them. Variables meant for another process (a parent
// that did not unset them) hand over nothing, as in sd_listen_fds(3).
func parseActivation(getenv func(string) string, pid int) (activation, error) {
	fds, pidVar := getenv("LISTEN_FDS"), getenv("LISTEN_PID")
	if fds == "" || pidVar == "" {
		return activation{}, nil
	}
	if p, err := strconv.Atoi(pidVar); err != nil || p <= 0 {
		return activation{}, fmt.Errorf("socket activation: LISTEN_PID %q is not a process id", pidVar)
	} else if p != pid {
		return activation{}, nil
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 0 {
		return activation{}, fmt.Errorf("socket activation: LISTEN_FDS %q is not a count", fds)
	}
	a := activation{count: n}
	if v := getenv("LISTEN_FDNAMES"); v != "" {
		a.names = strings.Split(v, ":")
		if len(a.names) != n {
			return activation{}, fmt.Errorf("socket activation: LISTEN_FDNAMES names %d sockets, LISTEN_FDS counts %d", len(a.names), n)
		}
	}
	return a, nil
}

// inheritedListener is a listening socket handed over by the process that
// started printgate, with its LISTEN_FDNAMES name if it had one.
type inheritedListener struct {
	name string
	ln   net.Listener
}

// inheritListeners takes over the listening sockets of the sd_listen_fds
// protocol and unsets its variables, so that no child inherits them.
func inheritListeners() ([]inheritedListener, error) {
	act, err := parseActivation(os.Getenv, os.Getpid())
	for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(v)
	}
	if err != nil || act.count == 0 {
		return nil, err
	}
	var lns []inheritedListener
	for i := range act.count {
		fd := listenFDsStart + i
		syscall.CloseOnExec(fd)
		name := fmt.Sprintf("LISTEN_FD_%d", fd)
		if act.names != nil {
			name = act.names[i]
		}
		f := os.NewFile(uintptr(fd), name)
		ln, err := net.FileListener(f)
		f.Close() // FileListener holds its own duplicate
		if err != nil {
			closeInherited(lns)
			return nil, fmt.Errorf("socket activation: descriptor %d (%s): %w", fd, name, err)
		}
		lns = append(lns, inheritedListener{name: name, ln: ln})
	}
	return lns, nil
}

// matchListeners assigns each inherited listener to the configured address
// it is bound to. Names cannot carry the address: LISTEN_FDNAMES separates
// them by colons. A listener no configured address claims is an error: a
// socket unit and the config disagree.
func matchListeners(inherited []inheritedListener, addrs []string) (map[string]net.Listener, error) {
	bound := map[string]net.Listener{}
	used := make([]bool, len(inherited))
	for _, addr := range addrs {
		for i, il := range inherited {
			if !used[i] && sameAddr(il.ln.Addr(), addr) {
				used[i] = true
				bound[addr] = il.ln
				break
			}
		}
	}
	var errs []error
	for i, il := range inherited {
		if !used[i] {
			errs = append(errs, fmt.Errorf("socket activation: inherited listener %s (%s) matches no address in server.listen or server.tls_listen", il.name, il.ln.Addr()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		closeInherited(inherited)
		return nil, err
	}
	return bound, nil
}

// sameAddr reports whether a listener bound to got serves the configured
// address want: the same port and the same IP, or both unspecified.
func sameAddr(got net.Addr, want string) bool {
	g, ok := got.(*net.TCPAddr)
	if !ok {
		return false
	}
	host, port, err := net.SplitHostPort(want)
	if err != nil || port != strconv.Itoa(g.Port) {
		return false
	}
	ip := net.ParseIP(host)
	if host == "" {
		return g.IP.IsUnspecified()
	}
	if ip == nil {
		return false // a host name: bind it rather than guess
	}
	return ip.Equal(g.IP) || ip.IsUnspecified() && g.IP.IsUnspecified()
}

func closeInherited(lns []inheritedListener) {
	for _, il := range lns {
		il.ln.Close()
	}
}

// inherit adds the listeners handed over by socket activation to a.bound.
func (a *app) inherit(cfg Config) error {
	inherited, err := inheritListeners()
	if err != nil || len(inherited) == 0 {
		return err
	}
	bound, err := matchListeners(inherited, append(append([]string(nil), cfg.Server.Listen...), cfg.Server.TLSListen...))
	if err != nil {
		return err
	}
	if a.bound == nil {
		a.bound = map[string]net.Listener{}
	}
	for addr, ln := range bound {
		a.bound[addr] = ln
	}
	return nil
}
