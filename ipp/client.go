package ipp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/OpenPrinting/goipp"
)

// Limits on what a printer may send back.
const (
	maxResponseBytes  = 4 << 20 // Get-Printer-Attributes of a big MFP is ~100 KiB
	maxStatusMessage  = 256
	defaultPollEvery  = time.Second
	defaultIPPPort    = "631" // RFC 8010 §8.1 and RFC 7472 §4: ipp and ipps alike
	defaultSocketPort = "9100"
)

// ErrNoJobStatus is returned by Job and Wait for printers reached over raw
// sockets (socket://), which report nothing about jobs: PrintJob returns
// only once such a printer has taken the whole document.
var ErrNoJobStatus = errors.New("ipp: socket printers report no job status")

// Client sends documents to printers over IPP (ipp://, ipps://, and their
// http:// and https:// spellings) or AppSocket (socket://host:9100), and
// follows the jobs it created. Its zero value is ready to use; a Client is
// safe for concurrent use and must not be copied after first use.
type Client struct {
	// HTTP carries IPP requests. Nil means a client with connect,
	// TLS-handshake and response-header timeouts, no overall timeout
	// (documents may be large; use the context) and no proxy. TLS
	// settings for ipps:// come from its transport: printers with
	// self-signed certificates need a client that trusts them.
	HTTP *http.Client
	// UserName is sent as requesting-user-name when a request names none.
	UserName string
	// PollInterval is how often Wait asks for a job's state; zero means
	// one second.
	PollInterval time.Duration

	requestID   atomic.Uint32
	defaultOnce sync.Once
	defaultHTTP *http.Client
}

// PrintRequest describes a job to create. Empty fields are not sent, so
// that the printer's defaults apply.
type PrintRequest struct {
	JobName        string // job-name
	UserName       string // requesting-user-name; empty: Client.UserName
	DocumentFormat string // document-format; empty: application/octet-stream
	Copies         int    // copies; 0: printer default
	Sides          string // sides: one-sided, two-sided-long-edge, ...
	ColorMode      string // print-color-mode: color, monochrome, ...
	Media          string // media keyword, such as iso_a4_210x297mm
	PageRanges     string // page-ranges as FormatPageRanges writes them
}

// JobStatus is what a printer says about one job.
type JobStatus struct {
	ID          int      // job-id; 0 for socket printers
	State       JobState // job-state
	Reasons     []string // job-state-reasons
	Message     string   // job-state-message, as the printer wrote it
	Impressions int      // job-impressions-completed, when reported
}

// StatusError is an IPP-level refusal: the printer answered, with a status
// other than successful-ok.
type StatusError struct {
	Op      string       // the operation, such as "Print-Job"
	Status  goipp.Status // the printer's status-code
	Message string       // the printer's status-message, if any
}

// Error describes the refusal; it never contains document data.
func (e *StatusError) Error() string {
	s := "ipp: " + e.Op + ": printer answered " + e.Status.String()
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// PrintJob sends doc to the printer as one Print-Job request and returns
// the new job's status. The document is streamed, never held in memory.
// For socket:// printers it returns a completed status once every byte was
// written and the printer closed the connection.
func (c *Client) PrintJob(ctx context.Context, printerURI string, req PrintRequest, doc io.Reader) (JobStatus, error) {
	return c.PrintJobOn(ctx, nil, printerURI, req, doc)
}

// PrintJobOn is PrintJob over ahead, the connection Connect opened for
// printerURI (nil: none). It closes ahead whatever happens; one opened
// to another printer carries nothing.
func (c *Client) PrintJobOn(ctx context.Context, ahead *Conn, printerURI string, req PrintRequest, doc io.Reader) (JobStatus, error) {
	target, err := parsePrinterURI(printerURI)
	if err != nil {
		_ = ahead.Close()
		return JobStatus{}, err
	}
	if target.Scheme == "socket" {
		return c.printSocket(ctx, target, doc, ahead)
	}
	_ = ahead.Close()

	msg := c.newRequest(goipp.OpPrintJob, printerURI, req.UserName)
	if req.JobName != "" {
		msg.Operation.Add(nameAttr("job-name", truncateUTF8(req.JobName, forwardedNameMax)))
	}
	// Fidelity off lets the printer substitute what it cannot honour
	// instead of refusing the job.
	msg.Operation.Add(boolean("ipp-attribute-fidelity", false))
	format := req.DocumentFormat
	if format == "" {
		format = "application/octet-stream"
	}
	msg.Operation.Add(strs("document-format", goipp.TagMimeType, format))
	if req.Copies > 0 {
		msg.Job.Add(ints("copies", req.Copies))
	}
	if req.Sides != "" {
		msg.Job.Add(keywords("sides", req.Sides))
	}
	if req.ColorMode != "" {
		msg.Job.Add(keywords("print-color-mode", req.ColorMode))
	}
	if req.Media != "" {
		msg.Job.Add(keywords("media", req.Media))
	}
	if ranges, err := ParsePageRanges(req.PageRanges); err == nil && len(ranges) > 0 {
		msg.Job.Add(pageRangesAttr(ranges))
	}

	resp, err := c.do(ctx, target, msg, doc)
	if err != nil {
		return JobStatus{}, fmt.Errorf("ipp: print to %s: %w", printerURI, err)
	}
	st := jobStatus(resp.Job)
	if st.ID <= 0 {
		return st, fmt.Errorf("ipp: print to %s: printer answered without a job-id", printerURI)
	}
	return st, nil
}

// Job asks the printer for the state of job id (Get-Job-Attributes).
func (c *Client) Job(ctx context.Context, printerURI string, id int) (JobStatus, error) {
	target, err := parsePrinterURI(printerURI)
	if err != nil {
		return JobStatus{}, err
	}
	if target.Scheme == "socket" {
		return JobStatus{}, ErrNoJobStatus
	}
	msg := c.newRequest(goipp.OpGetJobAttributes, printerURI, "")
	msg.Operation.Add(ints("job-id", id))
	msg.Operation.Add(keywords("requested-attributes",
		"job-id", "job-state", "job-state-reasons", "job-state-message", "job-impressions-completed"))
	resp, err := c.do(ctx, target, msg, nil)
	if err != nil {
		return JobStatus{}, fmt.Errorf("ipp: job %d on %s: %w", id, printerURI, err)
	}
	st := jobStatus(resp.Job)
	st.ID = id
	return st, nil
}

// Wait polls job id every PollInterval until it is completed, canceled or
// aborted, and returns its final status. It gives up on the first failed
// poll, or when ctx ends, returning the last status seen with the error.
func (c *Client) Wait(ctx context.Context, printerURI string, id int) (JobStatus, error) {
	every := c.PollInterval
	if every <= 0 {
		every = defaultPollEvery
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	var last JobStatus
	for {
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("ipp: wait for job %d on %s: %w", id, printerURI, context.Cause(ctx))
		case <-timer.C:
		}
		st, err := c.Job(ctx, printerURI, id)
		if err != nil {
			return last, err
		}
		if st.State.Terminal() {
			return st, nil
		}
		last = st
		timer.Reset(every)
	}
}

// PrinterAttributes returns the printer's attributes
// (Get-Printer-Attributes); with no names requested, all of them.
func (c *Client) PrinterAttributes(ctx context.Context, printerURI string, requested ...string) (goipp.Attributes, error) {
	target, err := parsePrinterURI(printerURI)
	if err != nil {
		return nil, err
	}
	if target.Scheme == "socket" {
		return nil, fmt.Errorf("ipp: attributes of %s: socket printers have none", printerURI)
	}
	if len(requested) == 0 {
		requested = []string{"all"}
	}
	msg := c.newRequest(goipp.OpGetPrinterAttributes, printerURI, "")
	msg.Operation.Add(keywords("requested-attributes", requested...))
	resp, err := c.do(ctx, target, msg, nil)
	if err != nil {
		return nil, fmt.Errorf("ipp: attributes of %s: %w", printerURI, err)
	}
	return resp.Printer, nil
}

// newRequest starts a request with the operation attributes every
// printer operation carries (RFC 8011 §4.1.4-5).
func (c *Client) newRequest(op goipp.Op, printerURI, user string) *goipp.Message {
	msg := goipp.NewRequest(goipp.DefaultVersion, op, c.nextRequestID())
	msg.Operation.Add(strs("attributes-charset", goipp.TagCharset, "utf-8"))
	msg.Operation.Add(strs("attributes-natural-language", goipp.TagLanguage, "en"))
	msg.Operation.Add(uris("printer-uri", printerURI))
	if user == "" {
		user = c.UserName
	}
	if user != "" {
		msg.Operation.Add(nameAttr("requesting-user-name", user))
	}
	return msg
}

// nextRequestID returns request-ids from 1 up, wrapping below 2^31 as
// RFC 8011 §4.1.1 requires.
func (c *Client) nextRequestID() uint32 {
	return c.requestID.Add(1)%0x7fffffff + 1
}

// do posts msg, followed by doc if not nil, and returns the decoded
// response, or a *StatusError when the printer refused the request.
func (c *Client) do(ctx context.Context, target *url.URL, msg *goipp.Message, doc io.Reader) (*goipp.Message, error) {
	op := goipp.Op(msg.Code).String()
	header, err := msg.EncodeBytes()
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", op, err)
	}
	var body io.Reader = bytes.NewReader(header)
	if doc != nil {
		body = io.MultiReader(body, doc)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	hreq.Header.Set("Content-Type", goipp.ContentType)
	hreq.Header.Set("Accept", goipp.ContentType)
	if doc != nil {
		// Unknown length: the document is sent chunked as it is read.
		// No "Expect: 100-continue": ippeveprinter, and printers like it,
		// never answer it, which would cost a second per job.
		hreq.ContentLength = -1
	}

	resp, err := c.httpClient().Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP status %s", op, resp.Status)
	}
	reply, err := decodeResponse(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	// request-id is not compared: some printers echo it wrongly, and one
	// HTTP exchange carries exactly one IPP request anyway.
	if status := goipp.Status(reply.Code); status >= 0x0100 {
		return nil, &StatusError{Op: op, Status: status, Message: statusMessage(reply.Operation)}
	}
	return reply, nil
}

// decodeResponse reads an IPP response. The header is framed with limits
// before goipp sees it: goipp reads without a size cap and recurses into
// collections without a depth cap, and a printer is not to be trusted with
// either.
func decodeResponse(body io.Reader) (*goipp.Message, error) {
	raw, err := readHeader(bufio.NewReader(body), maxResponseBytes, DefaultMaxDepth)
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	var reply goipp.Message
	if err := reply.DecodeBytes(raw); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	return &reply, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	c.defaultOnce.Do(func() {
		dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		c.defaultHTTP = &http.Client{Transport: &http.Transport{
			// No Proxy: documents go straight to the printer.
			DialContext:         dialer.DialContext,
			TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: 10 * time.Second,
			// Counted once the whole document is written; a printer may
			// take a while to spool or check it before answering.
			ResponseHeaderTimeout: 5 * time.Minute,
			// Printers close idle connections when they like, and a POST
			// that meets a closed connection is not retried: a fresh
			// connection per request costs little next to a lost job.
			DisableKeepAlives: true,
		}}
	})
	return c.defaultHTTP
}

// parsePrinterURI checks a printer URI and returns where to send to: an
// http(s) URL for IPP, or the socket URL itself.
func parsePrinterURI(printerURI string) (*url.URL, error) {
	u, err := url.Parse(printerURI)
	if err != nil {
		return nil, fmt.Errorf("ipp: printer URI: %w", err)
	}
	if u.User != nil {
		// Credentials would end up in logs and in the printer-uri sent.
		return nil, fmt.Errorf("ipp: printer URI %s: credentials in the URI are not supported", u.Redacted())
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("ipp: printer URI %q has no host", printerURI)
	}
	target := &url.URL{Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	switch strings.ToLower(u.Scheme) {
	case "ipp":
		target.Scheme = "http"
		target.Host = withDefaultPort(u, defaultIPPPort)
	case "ipps":
		target.Scheme = "https"
		target.Host = withDefaultPort(u, defaultIPPPort)
	case "http", "https":
		target.Scheme = strings.ToLower(u.Scheme)
	case "socket":
		return &url.URL{Scheme: "socket", Host: withDefaultPort(u, defaultSocketPort)}, nil
	default:
		return nil, fmt.Errorf("ipp: printer URI %q: scheme must be ipp, ipps, http, https or socket", printerURI)
	}
	if target.Path == "" {
		target.Path = "/"
	}
	return target, nil
}

func withDefaultPort(u *url.URL, port string) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// jobStatus reads the job attributes of a response.
func jobStatus(job goipp.Attributes) JobStatus {
	a := index(job)
	var st JobStatus
	st.ID, _ = a.integer("job-id")
	state, _ := a.integer("job-state")
	st.State = JobState(state)
	st.Reasons = stringValues(a["job-state-reasons"])
	msg, _ := a.str("job-state-message")
	st.Message = printable(msg)
	st.Impressions, _ = a.integer("job-impressions-completed")
	return st
}

func statusMessage(op goipp.Attributes) string {
	msg, _ := index(op).str("status-message")
	return printable(msg)
}

// printable trims printer-supplied text to a short, single-line form that
// is safe to log.
func printable(s string) string { return Printable(s, maxStatusMessage) }

// Printable makes text a printer sent safe to log and show: valid UTF-8
// on one line, at most max bytes, cut at a character and marked "…".
// max must be above 3.
func Printable(s string, max int) string {
	s = printableText(s)
	if len(s) > max {
		cut := max - len("…")
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.TrimSpace(s)
}

// printableText is s valid UTF-8 with its control characters spaces, but
// neither trimmed nor cut: Printable without its limit.
func printableText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isRuneStart(b byte) bool { return b&0xc0 != 0x80 }
