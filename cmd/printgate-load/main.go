// Command printgate-load puts an IPP server under load and measures it:
// it submits N jobs at concurrency C over IPP or IPPS (or times Get-Jobs on
// a queue), optionally releases the submitted jobs through printgate's
// release API, and reports jobs per second, latency percentiles and errors
// by status. The last line of its output is "RESULT " and a JSON summary,
// for scripts such as scripts/bench.sh.
//
//	printgate-load --target ipp://127.0.0.1:8631/ipp/print/secure --generate-pdf 10KB --jobs 2000 --concurrency 8
//
// With --save-pdf FILE it only writes the --generate-pdf document to FILE,
// for comparisons on the same bytes (scripts/bench.sh times dd on it).
//
// It speaks plain IPP, so it loads CUPS as well as printgate. It refuses
// targets that are not loopback addresses unless --allow-remote is given:
// a load generator pointed at the wrong host is a denial of service.
//
// Exit status: 0 when every request succeeded, 1 when some failed (the
// report says which), 2 for a bad command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	o, err := parseOptions(args, stderr, getenv)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "printgate-load: %v\n", err)
		}
		return 2
	}
	if o.savePDF != "" {
		return savePDF(o, stdout, stderr)
	}
	doc, cleanup, err := openDocument(o)
	if err != nil {
		fmt.Fprintf(stderr, "printgate-load: %v\n", err)
		return 1
	}
	defer cleanup()

	hc := newHTTPClient(o)
	defer hc.CloseIdleConnections()
	client := newIPPClient(o, hc)
	deadline := time.Time{}
	if o.duration > 0 {
		deadline = time.Now().Add(o.duration)
	}

	ph := newPhases(o.warmup)
	var (
		mu  sync.Mutex
		ids []int
	)
	count := o.jobs
	if count > 0 {
		count += o.warmup
	}
	parallel(ctx, o.concurrency, count, deadline, func(n int) {
		began := time.Now()
		var out outcome
		if o.op == opGetJobs {
			out = client.getJobs(ctx)
		} else {
			out = client.printJob(ctx, doc, n)
		}
		ph.add(began, out)
		if o.releaseAPI != nil && out.key == "" && out.jobID > 0 {
			mu.Lock()
			ids = append(ids, out.jobID)
			mu.Unlock()
		}
	})
	s := summary{Op: o.op, Target: o.target.String(), Concurrency: o.concurrency, DocumentBytes: doc.size,
		phase: ph.counted.summarize(o.jobs, o.op == opGetJobs)}
	details := ph.counted.details
	if o.warmup > 0 {
		w := ph.warm.summarize(o.warmup, o.op == opGetJobs)
		s.Warmup = &w
		for k, v := range ph.warm.details {
			details["warmup "+k] = v
		}
	}

	if o.releaseAPI != nil && ctx.Err() == nil {
		rel := releasePhase(ctx, o, hc, ids)
		p := rel.summarize(len(ids), false)
		s.Release = &p
		for k, v := range rel.details {
			details["release "+k] = v
		}
	}
	if err := writeReport(stdout, s, details); err != nil {
		fmt.Fprintf(stderr, "printgate-load: %v\n", err)
		return 1
	}
	if s.Errors > 0 || (s.Warmup != nil && s.Warmup.Errors > 0) || (s.Release != nil && s.Release.Errors > 0) || s.OK == 0 {
		return 1
	}
	return 0
}

// savePDF writes the generated document to o.savePDF, replacing nothing.
func savePDF(o *options, stdout, stderr io.Writer) int {
	f, err := os.OpenFile(o.savePDF, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		_, err = writePDF(f, o.generate)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(o.savePDF)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "printgate-load: --save-pdf: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote a %d-byte PDF to %s\n", o.generate, o.savePDF)
	return 0
}

// releasePhase signs the user in on the release API and releases each of
// ids with its own call, at the run's concurrency.
func releasePhase(ctx context.Context, o *options, hc *http.Client, ids []int) *recorder {
	rec := newRecorder()
	rc := newReleaseClient(o, hc)
	session, fail := rc.openSession(ctx)
	if fail != nil {
		rec.note(fail.key, fail.detail)
		return rec
	}
	defer rc.closeSession(session)
	parallel(ctx, o.concurrency, len(ids), time.Time{}, func(n int) {
		began := time.Now()
		rec.add(began, rc.release(ctx, session, ids[n-1]))
	})
	return rec
}

// parallel calls f(1), f(2), … from c goroutines until count calls have
// started (count 0: no limit), the deadline has passed (zero: none) or ctx
// ends, and waits for the calls in flight.
func parallel(ctx context.Context, c, count int, deadline time.Time, f func(n int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline)) {
				n := int(next.Add(1))
				if count > 0 && n > count {
					return
				}
				f(n)
			}
		})
	}
	wg.Wait()
}
