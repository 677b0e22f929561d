// Command printgate-ceiling is the yardstick of scripts/bench.sh: the
// least a durable IPP server must do for a held Print-Job, with nothing
// else. It decodes the request's attributes, streams the document once
// through DARE 2.0 encryption under a fresh random key (as the spool does)
// and SHA-256, writes the ciphertext into one append-only segment file and
// answers successful-ok (job-id, job-uri, job-state) only after an fsync
// covers it. It keeps no job rows, no audit trail and no keys (each key is
// thrown away: what it stores can never be read back), so its rate is what
// this machine allows, not a server to use.
//
//	printgate-ceiling --listen 127.0.0.1:8632 --dir /tmp/ceiling --fsync group
//
// --fsync group: a committer goroutine fsyncs once for every document that
// arrived meanwhile (group commit); each: every request fsyncs for itself;
// none: no fsync at all. On SIGTERM or SIGINT it finishes the requests in
// flight and prints, last, "STATS {json}" with the documents stored and
// the fsyncs made. It listens on loopback addresses only.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// stats is the STATS line printed on exit.
type stats struct {
	Mode   string `json:"mode"`
	Stored int64  `json:"stored"`
	Fsyncs int64  `json:"fsyncs"`
}

// run is the whole command; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("printgate-ceiling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8632", "loopback address to listen on")
	dir := fs.String("dir", "", "folder for the segment file (required; on the disk being measured)")
	mode := fs.String("fsync", modeGroup, "group, each or none")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "printgate-ceiling: give --dir and no arguments")
		return 2
	}
	if err := checkLoopback(*listen); err != nil {
		fmt.Fprintf(stderr, "printgate-ceiling: --listen %s: %v\n", *listen, err)
		return 2
	}
	s, err := newServer(filepath.Join(*dir, "segment"), *mode)
	if err != nil {
		fmt.Fprintf(stderr, "printgate-ceiling: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		s.close()
		fmt.Fprintf(stderr, "printgate-ceiling: %v\n", err)
		return 1
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "listening on %s, fsync %s\n", ln.Addr(), *mode)

	code := 0
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		hs.Shutdown(sctx)
		cancel()
	case err := <-served:
		fmt.Fprintf(stderr, "printgate-ceiling: %v\n", err)
		code = 1
	}
	if err := s.close(); err != nil {
		fmt.Fprintf(stderr, "printgate-ceiling: %v\n", err)
		code = 1
	}
	raw, _ := json.Marshal(stats{Mode: *mode, Stored: s.stored.Load(), Fsyncs: s.syncs.Load()})
	fmt.Fprintf(stdout, "STATS %s\n", raw)
	return code
}

// checkLoopback accepts HOST:PORT where HOST is a loopback address.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Unmap().IsLoopback() {
		return errNotLoopback
	}
	return nil
}

// errNotLoopback refuses a listen address that is not loopback: the
// ceiling is a yardstick, never a service.
var errNotLoopback = errors.New("listen on a loopback address only")
