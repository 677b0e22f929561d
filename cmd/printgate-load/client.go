package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/OpenPrinting/goipp"
)

// newHTTPClient returns the client for every request of a run: keep-alive
// connections for each worker, loopback only unless allowed, plain
// HTTP/1.1 as IPP clients speak it.
func newHTTPClient(o *options) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !o.allowRemote {
		dialer.Control = loopbackOnly
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         dialer.DialContext,
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: o.insecure, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: o.concurrency + 1,
			DisableCompression:  true,
		},
		// A redirect would send the document elsewhere; report it instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// document is what Print-Job sends: shared bytes for small documents, or
// a file read afresh by each request so that C large documents in flight
// cost no more than C copy buffers.
type document struct {
	data []byte
	file *os.File // read with ReadAt, which is safe from many goroutines
	size int64
}

// inMemoryLimit is the largest document kept in memory.
const inMemoryLimit = 1 << 20

// reader returns a fresh reader of the whole document.
func (d *document) reader() io.Reader {
	if d.file != nil {
		return io.NewSectionReader(d.file, 0, d.size)
	}
	return bytes.NewReader(d.data)
}

// openDocument loads o's document, generating it first when asked. A
// generated document above inMemoryLimit goes to a temporary file, which
// cleanup removes.
func openDocument(o *options) (doc *document, cleanup func(), err error) {
	cleanup = func() {}
	if o.op != opPrintJob {
		return &document{}, cleanup, nil
	}
	if o.generate > 0 {
		if o.generate <= inMemoryLimit {
			var b bytes.Buffer
			if _, err := writePDF(&b, o.generate); err != nil {
				return nil, cleanup, fmt.Errorf("generate PDF: %w", err)
			}
			return &document{data: b.Bytes(), size: int64(b.Len())}, cleanup, nil
		}
		f, err := os.CreateTemp("", "printgate-load-*.pdf")
		if err != nil {
			return nil, cleanup, fmt.Errorf("generate PDF: %w", err)
		}
		cleanup = func() { f.Close(); os.Remove(f.Name()) }
		if _, err := writePDF(f, o.generate); err != nil {
			cleanup()
			return nil, func() {}, fmt.Errorf("generate PDF: %w", err)
		}
		return &document{file: f, size: o.generate}, cleanup, nil
	}
	f, err := os.Open(o.document)
	if err != nil {
		return nil, cleanup, fmt.Errorf("document: %w", err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, cleanup, fmt.Errorf("document %s: not a regular file", o.document)
	}
	if fi.Size() <= inMemoryLimit {
		defer f.Close()
		data, err := io.ReadAll(f)
		if err != nil {
			return nil, cleanup, fmt.Errorf("document: %w", err)
		}
		return &document{data: data, size: int64(len(data))}, cleanup, nil
	}
	return &document{file: f, size: fi.Size()}, func() { f.Close() }, nil
}

// ippClient sends IPP requests to one printer URI.
type ippClient struct {
	http       *http.Client
	url        string // the printer URI as http:// or https://
	printerURI string
	o          *options
	requestID  atomic.Uint32
}

func newIPPClient(o *options, hc *http.Client) *ippClient {
	u := *o.target
	u.Scheme = map[string]string{"ipp": "http", "ipps": "https"}[o.target.Scheme]
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "631")
	}
	return &ippClient{http: hc, url: u.String(), printerURI: o.target.String(), o: o}
}

// outcome is how one request ended: key is "" for success, otherwise the
// error class that the report counts ("ipp:...", "http:401", "transport:...").
type outcome struct {
	key    string
	jobID  int
	jobs   int    // job groups in a Get-Jobs reply
	detail string // first words of a transport error, for the log
}

// request builds an operation with the attributes every request carries.
func (c *ippClient) request(op goipp.Op) *goipp.Message {
	m := goipp.NewRequest(goipp.MakeVersion(2, 0), op, c.requestID.Add(1))
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(c.printerURI)))
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(c.o.userName)))
	return m
}

// printJob submits the document once.
func (c *ippClient) printJob(ctx context.Context, doc *document, n int) outcome {
	m := c.request(goipp.OpPrintJob)
	m.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(c.o.jobName+"-"+strconv.Itoa(n))))
	m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String(c.o.format)))
	return c.do(ctx, m, doc)
}

// getJobs asks for the queue's jobs with the configured attributes.
func (c *ippClient) getJobs(ctx context.Context) outcome {
	m := c.request(goipp.OpGetJobs)
	if c.o.whichJobs != "" {
		m.Operation.Add(goipp.MakeAttribute("which-jobs", goipp.TagKeyword, goipp.String(c.o.whichJobs)))
	}
	if len(c.o.requested) > 0 {
		a := goipp.Attribute{Name: "requested-attributes"}
		for _, v := range c.o.requested {
			a.Values.Add(goipp.TagKeyword, goipp.String(v))
		}
		m.Operation.Add(a)
	}
	return c.do(ctx, m, nil)
}

// do sends m, followed by doc when there is one, and classifies the reply.
func (c *ippClient) do(ctx context.Context, m *goipp.Message, doc *document) outcome {
	hdr, err := m.EncodeBytes()
	if err != nil {
		return outcome{key: "encode", detail: err.Error()}
	}
	var body io.Reader = bytes.NewReader(hdr)
	size := int64(len(hdr))
	if doc != nil {
		body = io.MultiReader(body, doc.reader())
		size += doc.size
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, body)
	if err != nil {
		return outcome{key: "request", detail: err.Error()}
	}
	// A known length: no chunked encoding, which every IPP server takes.
	req.ContentLength = size
	req.Header.Set("Content-Type", goipp.ContentType)
	if c.o.user != "" {
		req.SetBasicAuth(c.o.user, c.o.password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return transportOutcome(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return outcome{key: "http:" + strconv.Itoa(resp.StatusCode)}
	}
	var reply goipp.Message
	if err := reply.Decode(resp.Body); err != nil {
		if o := transportOutcome(err); o.key != "transport:other" {
			return o
		}
		return outcome{key: "ipp:undecodable-reply", detail: err.Error()}
	}
	// Drain so that the connection is reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	out := outcome{}
	if st := goipp.Status(reply.Code); st > goipp.StatusOkEventsComplete {
		out.key = fmt.Sprintf("ipp:%s", st)
	}
	for _, g := range reply.Groups {
		if g.Tag != goipp.TagJobGroup {
			continue
		}
		out.jobs++
		if out.jobID == 0 {
			for _, a := range g.Attrs {
				if a.Name == "job-id" && len(a.Values) == 1 {
					if v, ok := a.Values[0].V.(goipp.Integer); ok {
						out.jobID = int(v)
					}
				}
			}
		}
	}
	return out
}

// transportOutcome classifies an error below IPP.
func transportOutcome(err error) outcome {
	key := "transport:other"
	var ne net.Error
	switch {
	case errors.Is(err, errRemote):
		key = "refused:not-loopback"
	case errors.Is(err, syscall.ECONNREFUSED):
		key = "transport:connection-refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		key = "transport:connection-reset"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		key = "transport:timeout"
	case errors.Is(err, context.Canceled):
		key = "transport:canceled"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		key = "transport:eof"
	case isTLSError(err):
		key = "transport:tls"
	}
	return outcome{key: key, detail: err.Error()}
}

func isTLSError(err error) bool {
	var (
		cv    *tls.CertificateVerificationError
		rec   tls.RecordHeaderError
		alert tls.AlertError
	)
	return errors.As(err, &cv) || errors.As(err, &rec) || errors.As(err, &alert)
}
