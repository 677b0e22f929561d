package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Operations the tool can measure.
const (
	opPrintJob = "print-job"
	opGetJobs  = "get-jobs"
)

// defaultRequested are the job attributes a Get-Jobs run asks for unless
// told otherwise: what a job list on a panel or in a console shows.
const defaultRequested = "job-id,job-name,job-state,job-originating-user-name,job-k-octets,time-at-creation"

// Environment variables that carry secrets, so that they stay out of ps.
const (
	envPassword = "PRINTGATE_LOAD_PASSWORD"
	envPIN      = "PRINTGATE_LOAD_PIN"
)

// options is a parsed and checked command line.
type options struct {
	target      *url.URL // ipp:// or ipps://
	insecure    bool
	user        string // HTTP Basic user, "" for none
	password    string
	jobs        int
	warmup      int // answers before the counted ones, reported apart
	concurrency int
	duration    time.Duration
	timeout     time.Duration
	document    string // a file to send, or "" with generate
	generate    int64  // size of a generated PDF, 0 with document
	format      string
	userName    string // requesting-user-name
	jobName     string
	op          string
	requested   []string
	whichJobs   string
	allowRemote bool
	savePDF     string // write the generated PDF here and send nothing

	// Release through the release API after submitting, when releaseAPI is set.
	releaseAPI  *url.URL
	deviceToken string
	pinUser     string
	pin         string
}

// usageError is a bad command line: the tool exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// parseOptions reads the command line. getenv is os.Getenv outside tests.
func parseOptions(args []string, stderr io.Writer, getenv func(string) string) (*options, error) {
	fs := flag.NewFlagSet("printgate-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: printgate-load --target ipp://127.0.0.1:8631/ipp/print/QUEUE [flags]\n\n"+
			"Submits jobs over IPP (or times Get-Jobs) and reports jobs/s, latency percentiles and errors;\n"+
			"the last line of output is RESULT followed by a JSON summary. Targets must be loopback\n"+
			"addresses unless --allow-remote is given. Secrets come from files or the environment\n"+
			"(%s, %s) so that ps does not show them.\n\nFlags:\n", envPassword, envPIN)
		fs.PrintDefaults()
	}
	var (
		o                                   options
		target, generate, requested         string
		passwordFile, releaseAPI, tokenFile string
		pinFile, passwordFlag, pinFlag      string
		userNameSet                         bool
	)
	fs.StringVar(&target, "target", "", "printer URI: ipp://HOST:PORT/PATH or ipps://HOST:PORT/PATH (required)")
	fs.BoolVar(&o.insecure, "insecure", false, "ipps/https: do not verify the server's certificate")
	fs.StringVar(&o.user, "user", "", "HTTP Basic user name")
	fs.StringVar(&passwordFlag, "password", "", "HTTP Basic password (visible in ps: prefer --password-file or $"+envPassword+")")
	fs.StringVar(&passwordFile, "password-file", "", "file whose first line is the HTTP Basic password")
	fs.IntVar(&o.jobs, "jobs", 0, "number of requests to send (0: until --duration ends)")
	fs.IntVar(&o.warmup, "warmup", 0, "first send this many requests on the same connections, not counted: the first answers are reported apart, as \"warmup\"")
	fs.IntVar(&o.concurrency, "concurrency", 1, "requests in flight at once")
	fs.DurationVar(&o.duration, "duration", 0, "stop starting requests after this long (0: after --jobs)")
	fs.DurationVar(&o.timeout, "timeout", time.Minute, "limit for one request")
	fs.StringVar(&o.document, "document", "", "document file to print")
	fs.StringVar(&generate, "generate-pdf", "", "print a generated one-page PDF of this size, e.g. 10KB or 10MB")
	fs.StringVar(&o.format, "format", "application/pdf", "document-format of the document")
	fs.StringVar(&o.userName, "user-name", "printgate-load", "requesting-user-name")
	fs.StringVar(&o.jobName, "job-name", "printgate-load", "job-name")
	fs.StringVar(&o.op, "op", opPrintJob, "operation: print-job or get-jobs")
	fs.StringVar(&requested, "requested-attributes", defaultRequested, "get-jobs: comma-separated requested-attributes")
	fs.StringVar(&o.whichJobs, "which-jobs", "not-completed", "get-jobs: which-jobs")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow targets that are not loopback addresses")
	fs.StringVar(&o.savePDF, "save-pdf", "", "write the --generate-pdf document to this file and exit without sending anything")
	fs.StringVar(&releaseAPI, "release-api", "", "release the submitted jobs through printgate's release API at http(s)://HOST:PORT")
	fs.StringVar(&tokenFile, "device-token-file", "", "release: file holding the device token (printgate device add)")
	fs.StringVar(&o.pinUser, "pin-user", "", "release: user who signs in with ID and PIN")
	fs.StringVar(&pinFlag, "pin", "", "release: PIN (visible in ps: prefer --pin-file or $"+envPIN+")")
	fs.StringVar(&pinFile, "pin-file", "", "release: file whose first line is the PIN")
	if err := fs.Parse(args); err != nil {
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	fs.Visit(func(f *flag.Flag) { userNameSet = userNameSet || f.Name == "user-name" })
	if o.savePDF != "" {
		return saveOptions(&o, generate)
	}

	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	u, err := parseTarget(target, []string{"ipp", "ipps"})
	if err != nil {
		bad("--target: %v", err)
	}
	o.target = u
	if o.jobs < 0 || o.duration < 0 || o.warmup < 0 {
		bad("--jobs, --duration and --warmup must not be negative")
	}
	if o.jobs == 0 && o.duration == 0 {
		bad("give --jobs or --duration: a run must be bounded")
	}
	if o.concurrency < 1 || o.concurrency > 1024 {
		bad("--concurrency must be 1 to 1024")
	}
	if o.timeout <= 0 {
		bad("--timeout must be positive")
	}
	switch o.op {
	case opPrintJob:
		switch {
		case o.document != "" && generate != "":
			bad("give --document or --generate-pdf, not both")
		case o.document == "" && generate == "":
			bad("print-job needs --document FILE or --generate-pdf SIZE")
		case generate != "":
			if o.generate, err = parseSize(generate); err != nil {
				bad("--generate-pdf: %v", err)
			} else if o.generate < minPDFSize {
				bad("--generate-pdf: the smallest generated PDF is %d bytes", minPDFSize)
			}
		}
	case opGetJobs:
		if o.document != "" || generate != "" {
			bad("get-jobs sends no document")
		}
		for _, a := range strings.Split(requested, ",") {
			if a = strings.TrimSpace(a); a != "" {
				o.requested = append(o.requested, a)
			}
		}
	default:
		bad("--op must be %s or %s", opPrintJob, opGetJobs)
	}
	if o.user == "" && (passwordFlag != "" || passwordFile != "") {
		bad("--password and --password-file need --user")
	}
	if o.user != "" {
		if o.password, err = secret("password", passwordFlag, passwordFile, getenv(envPassword)); err != nil {
			bad("%v", err)
		}
	}

	if releaseAPI != "" {
		if o.op != opPrintJob {
			bad("--release-api releases submitted jobs: it needs --op print-job")
		}
		if o.releaseAPI, err = parseTarget(releaseAPI, []string{"http", "https"}); err != nil {
			bad("--release-api: %v", err)
		}
		if tokenFile == "" || o.pinUser == "" {
			bad("--release-api needs --device-token-file and --pin-user")
		}
		if tokenFile != "" {
			if o.deviceToken, err = firstLine(tokenFile); err != nil {
				bad("--device-token-file: %v", err)
			}
		}
		if o.pin, err = secret("PIN", pinFlag, pinFile, getenv(envPIN)); err != nil {
			bad("%v", err)
		}
		// The session user sees only their own jobs, so submit as them.
		switch {
		case o.user != "" && o.user != o.pinUser:
			bad("--user %q submits jobs that --pin-user %q cannot release", o.user, o.pinUser)
		case !userNameSet:
			o.userName = o.pinUser
		case o.user == "" && o.userName != o.pinUser:
			bad("--user-name %q submits jobs that --pin-user %q cannot release", o.userName, o.pinUser)
		}
	}

	if !o.allowRemote {
		for _, u := range []*url.URL{o.target, o.releaseAPI} {
			if u != nil && !loopbackHost(u.Hostname()) {
				bad("%s is not a loopback address (127.0.0.0/8, ::1, localhost); give --allow-remote to load another machine", u.Host)
			}
		}
	}
	if len(errs) > 0 {
		return nil, usageError{errors.Join(errs...)}
	}
	return &o, nil
}

// saveOptions checks a --save-pdf command line, which needs only the
// size: it writes the document that a run would send, for tools that
// compare with the same bytes (scripts/bench.sh times dd on it).
func saveOptions(o *options, generate string) (*options, error) {
	if generate == "" {
		return nil, usageError{errors.New("--save-pdf needs --generate-pdf SIZE")}
	}
	size, err := parseSize(generate)
	if err != nil {
		return nil, usageError{fmt.Errorf("--generate-pdf: %w", err)}
	}
	if size < minPDFSize {
		return nil, usageError{fmt.Errorf("--generate-pdf: the smallest generated PDF is %d bytes", minPDFSize)}
	}
	o.generate = size
	return o, nil
}

// parseTarget parses an absolute URL with one of schemes and a host.
func parseTarget(raw string, schemes []string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", raw)
	}
	if !slices.Contains(schemes, u.Scheme) {
		return nil, fmt.Errorf("%q: scheme must be %s", raw, strings.Join(schemes, " or "))
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("give credentials with --user and --password-file, not in the URL")
	}
	return u, nil
}

// secret takes a secret from a flag, a file or the environment; the file
// and the flag exclude each other.
func secret(what, flagValue, file, env string) (string, error) {
	switch {
	case flagValue != "" && file != "":
		return "", fmt.Errorf("give the %s with a flag or a file, not both", what)
	case file != "":
		v, err := firstLine(file)
		if err != nil {
			return "", fmt.Errorf("%s file: %w", what, err)
		}
		return v, nil
	case flagValue != "":
		return flagValue, nil
	case env != "":
		return env, nil
	}
	return "", fmt.Errorf("no %s: give it in a file or the environment", what)
}

// firstLine reads the first line of a small file.
func firstLine(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	line = strings.TrimSpace(line)
	if line == "" {
		return "", fmt.Errorf("%s: first line is empty", path)
	}
	return line, nil
}

// loopbackHost reports whether host names this machine: localhost or an
// address in 127.0.0.0/8 or ::1.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// errRemote is a connection refused because its address is not loopback.
var errRemote = errors.New("not a loopback address (--allow-remote not given)")

// loopbackOnly is a net.Dialer Control function that refuses to connect
// anywhere but loopback: it checks the resolved address, so a name that
// resolves elsewhere is caught too.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		host, _, _ := net.SplitHostPort(address)
		return fmt.Errorf("connect %s: %w", host, errRemote)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("connect %s: %w", ap.Addr(), errRemote)
	}
	return nil
}
