package ipp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/internal/testenv"
)

func readPDF(t *testing.T) []byte {
	t.Helper()
	doc, err := os.ReadFile("testdata/onepage.pdf")
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestClientPrintJob(t *testing.T) {
	doc := readPDF(t)
	p := testenv.IPPEvePrinter(t, testenv.WithDuplex())
	tests := []struct {
		name   string
		client *Client
		uri    string
		req    PrintRequest
	}{
		{
			name:   "ipp with options",
			client: &Client{UserName: "printgate", PollInterval: 50 * time.Millisecond},
			uri:    p.URI,
			req: PrintRequest{JobName: "report.pdf", UserName: "bob", DocumentFormat: "application/pdf",
				Copies: 2, Sides: "two-sided-long-edge", ColorMode: "monochrome", Media: "iso_a4_210x297mm"},
		},
		{
			// application/octet-stream: the printer detects the format.
			name:   "ipp with printer defaults",
			client: &Client{PollInterval: 50 * time.Millisecond},
			uri:    p.URI,
			req:    PrintRequest{},
		},
		{
			// A name of 250 octets, valid in IPP, is too long for
			// ippeveprinter's file names: at most 127 octets go.
			name:   "ipp with a long job-name",
			client: &Client{PollInterval: 50 * time.Millisecond},
			uri:    p.URI,
			req:    PrintRequest{JobName: strings.Repeat("x", 250), DocumentFormat: "application/pdf"},
		},
		{
			name: "ipps",
			client: &Client{
				HTTP:         &http.Client{Transport: &http.Transport{TLSClientConfig: p.TLSConfig()}},
				PollInterval: 50 * time.Millisecond,
			},
			uri: p.IPPSURI,
			req: PrintRequest{JobName: "tls", DocumentFormat: "application/pdf"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st, err := tt.client.PrintJob(ctx, tt.uri, tt.req, bytes.NewReader(doc))
			if err != nil {
				t.Fatalf("PrintJob: %v", err)
			}
			if st.ID <= 0 {
				t.Fatalf("PrintJob returned job-id %d", st.ID)
			}
			final, err := tt.client.Wait(ctx, tt.uri, st.ID)
			if err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if final.State != JobCompleted || final.ID != st.ID {
				t.Fatalf("Wait = %+v, want job %d completed", final, st.ID)
			}

			files := p.Files()
			if len(files) != i+1 {
				t.Fatalf("printer holds %d documents, want %d", len(files), i+1)
			}
			got, err := os.ReadFile(files[i])
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(got) != sha256.Sum256(doc) {
				t.Errorf("printer received a different document (%d bytes, sent %d)", len(got), len(doc))
			}
			if !strings.HasPrefix(filepath.Base(files[i]), strconv.Itoa(st.ID)+"-") {
				t.Errorf("document %s is not job %d's", files[i], st.ID)
			}
		})
	}
}

func TestClientRefusals(t *testing.T) {
	doc := readPDF(t)
	p := testenv.IPPEvePrinter(t, testenv.WithFormats("image/jpeg"))
	c := &Client{UserName: "printgate"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("unsupported format", func(t *testing.T) {
		_, err := c.PrintJob(ctx, p.URI, PrintRequest{DocumentFormat: "application/pdf"}, bytes.NewReader(doc))
		var se *StatusError
		if !errors.As(err, &se) || se.Status != goipp.StatusErrorAttributesOrValues {
			t.Fatalf("PrintJob error = %v, want attributes-or-values-not-supported (as CUPS answers)", err)
		}
		if se.Op != "Print-Job" || strings.Contains(err.Error(), "%PDF") {
			t.Errorf("error %q: wrong operation or document data in it", err)
		}
	})
	t.Run("unknown job", func(t *testing.T) {
		_, err := c.Job(ctx, p.URI, 4242)
		var se *StatusError
		if !errors.As(err, &se) || se.Status != goipp.StatusErrorNotFound {
			t.Fatalf("Job error = %v, want client-error-not-found", err)
		}
		if _, err := c.Wait(ctx, p.URI, 4242); !errors.As(err, &se) {
			t.Fatalf("Wait error = %v, want the StatusError of the poll", err)
		}
	})
}

func TestClientAbortedJob(t *testing.T) {
	p := testenv.IPPEvePrinter(t, testenv.WithCommand("/bin/false"))
	c := &Client{PollInterval: 50 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := c.PrintJob(ctx, p.URI, PrintRequest{DocumentFormat: "application/pdf"}, bytes.NewReader(readPDF(t)))
	if err != nil {
		t.Fatal(err)
	}
	final, err := c.Wait(ctx, p.URI, st.ID)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if final.State != JobAborted {
		t.Fatalf("job ended %v, want aborted", final.State)
	}
}

func TestClientWaitCanceled(t *testing.T) {
	// A print command that takes a while keeps the job processing.
	slow := filepath.Join(t.TempDir(), "slow-print")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nexec sleep 5\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := testenv.IPPEvePrinter(t, testenv.WithCommand(slow))
	c := &Client{PollInterval: 50 * time.Millisecond}
	st, err := c.PrintJob(context.Background(), p.URI, PrintRequest{DocumentFormat: "application/pdf"}, bytes.NewReader(readPDF(t)))
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	last, err := c.Wait(ctx, p.URI, st.ID)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait error = %v, want deadline exceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("Wait took %v to notice the deadline", elapsed)
	}
	if last.State.Terminal() {
		t.Errorf("Wait returned terminal state %v for a job still printing", last.State)
	}
}

func TestClientUnreachable(t *testing.T) {
	p := testenv.IPPEvePrinter(t)
	p.Stop()
	nobody := "ipp://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)) + "/ipp/print"
	c := &Client{}
	for name, uri := range map[string]string{"stopped printer": p.URI, "no listener": nobody} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			_, err := c.PrintJob(ctx, uri, PrintRequest{}, strings.NewReader("data"))
			if err == nil {
				t.Fatal("PrintJob to a dead printer succeeded")
			}
			if !strings.Contains(err.Error(), uri) {
				t.Errorf("error %q does not name the printer", err)
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("failure took %v", elapsed)
			}
		})
	}
}

func TestClientPrinterAttributes(t *testing.T) {
	p := testenv.IPPEvePrinter(t, testenv.WithPrinterName("Front Desk"))
	c := &Client{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	attrs, err := c.PrinterAttributes(ctx, p.URI, "printer-name", "printer-state")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]goipp.Values{}
	for _, a := range attrs {
		got[a.Name] = a.Values
	}
	if v := got["printer-name"]; len(v) != 1 || v[0].V.String() != "Front Desk" {
		t.Errorf("printer-name = %v", v)
	}
	if v := got["printer-state"]; len(v) != 1 || v[0].V.String() != "3" {
		t.Errorf("printer-state = %v, want 3 (idle)", v)
	}
	if _, ok := got["document-format-supported"]; ok {
		t.Error("attributes not asked for were returned")
	}

	all, err := c.PrinterAttributes(ctx, p.URI)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 20 {
		t.Errorf("all attributes: only %d", len(all))
	}
}

// TestClientStreams checks that the document goes out while it is still
// being produced: the second half is only written once the server has
// received the first, which would deadlock a client that buffers.
func TestClientStreams(t *testing.T) {
	half := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	firstHalfIn := make(chan struct{})
	var gotChunked bool
	var received int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotChunked = r.ContentLength == -1 && len(r.TransferEncoding) == 1 && r.TransferEncoding[0] == "chunked"
		var req goipp.Message
		if err := req.Decode(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n, _ := io.ReadFull(r.Body, make([]byte, len(half)))
		received = n
		close(firstHalfIn)
		rest, _ := io.Copy(io.Discard, r.Body)
		received += int(rest)
		resp := goipp.NewResponse(goipp.DefaultVersion, goipp.StatusOk, req.RequestID)
		resp.Operation.Add(strs("attributes-charset", goipp.TagCharset, "utf-8"))
		resp.Operation.Add(strs("attributes-natural-language", goipp.TagLanguage, "en"))
		resp.Job.Add(ints("job-id", 7))
		resp.Job.Add(enums("job-state", int(JobPending)))
		w.Header().Set("Content-Type", goipp.ContentType)
		_ = resp.Encode(w)
	}))
	defer srv.Close()

	pr, pw := io.Pipe()
	go func() {
		if _, err := pw.Write(half); err != nil {
			return
		}
		select {
		case <-firstHalfIn:
			_, _ = pw.Write(half)
			pw.Close()
		case <-time.After(10 * time.Second):
			pw.CloseWithError(errors.New("the server never saw the first half: the client buffers"))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := (&Client{}).PrintJob(ctx, srv.URL+"/ipp/print", PrintRequest{}, pr)
	if err != nil {
		t.Fatal(err)
	}
	if st.ID != 7 || st.State != JobPending {
		t.Errorf("status = %+v", st)
	}
	if received != 2*len(half) {
		t.Errorf("server received %d document bytes, want %d", received, 2*len(half))
	}
	if !gotChunked {
		t.Error("request body was not sent chunked")
	}
}

func TestClientSocket(t *testing.T) {
	big := bytes.Repeat([]byte("%!PS\n"), 1<<20) // 5 MiB
	tests := []struct {
		name    string
		printer func(c net.Conn) []byte // what the printer read
		wantErr bool
	}{
		{
			name: "printer reads all and closes",
			printer: func(c net.Conn) []byte {
				got, _ := io.ReadAll(c)
				_, _ = c.Write([]byte("@PJL INFO STATUS\r\n")) // back channel is ignored
				return got
			},
		},
		{
			name: "printer hangs up mid-document",
			printer: func(c net.Conn) []byte {
				got := make([]byte, 1024)
				n, _ := io.ReadFull(c, got)
				c.(*net.TCPConn).SetLinger(0) // reset, as a printer that gives up
				return got[:n]
			},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			received := make(chan []byte, 1)
			go func() {
				c, err := l.Accept()
				if err != nil {
					received <- nil
					return
				}
				received <- tt.printer(c)
				c.Close()
			}()

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			uri := "socket://" + l.Addr().String()
			st, err := (&Client{}).PrintJob(ctx, uri, PrintRequest{}, bytes.NewReader(big))
			got := <-received
			if tt.wantErr {
				if err == nil {
					t.Fatal("PrintJob succeeded though the printer hung up")
				}
				return
			}
			if err != nil {
				t.Fatalf("PrintJob: %v", err)
			}
			if st.State != JobCompleted {
				t.Errorf("state = %v, want completed", st.State)
			}
			if !bytes.Equal(got, big) {
				t.Errorf("printer received %d bytes, want the %d sent", len(got), len(big))
			}
			if _, err := (&Client{}).Job(ctx, uri, 0); !errors.Is(err, ErrNoJobStatus) {
				t.Errorf("Job on a socket printer: %v, want ErrNoJobStatus", err)
			}
		})
	}
}

func TestClientSocketCanceled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// The printer accepts but never reads: the sender blocks once the
	// socket buffers fill, until ctx ends.
	conns := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			conns <- c
		}
	}()
	defer func() {
		select {
		case c := <-conns:
			c.Close()
		default:
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	big := bytes.NewReader(make([]byte, 64<<20))
	_, err = (&Client{}).PrintJob(ctx, "socket://"+l.Addr().String(), PrintRequest{}, big)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PrintJob error = %v, want deadline exceeded", err)
	}
}

func TestParsePrinterURI(t *testing.T) {
	tests := []struct {
		name, uri, want string
		wantErr         bool
	}{
		{"ipp default port", "ipp://printer.example/ipp/print", "http://printer.example:631/ipp/print", false},
		{"ipps own port", "ipps://printer.example:8443/ipp/print", "https://printer.example:8443/ipp/print", false},
		{"ipp no path", "ipp://10.0.0.9", "http://10.0.0.9:631/", false},
		{"ipv6", "ipp://[::1]/ipp/print", "http://[::1]:631/ipp/print", false},
		{"http kept", "http://printer.example/ipp", "http://printer.example/ipp", false},
		{"socket default port", "socket://printer.example", "socket://printer.example:9100", false},
		{"socket own port", "socket://printer.example:9101", "socket://printer.example:9101", false},
		{"unknown scheme", "lpd://printer.example/queue", "", true},
		{"no host", "ipp:///ipp/print", "", true},
		{"credentials", "ipp://admin:hunter2@printer.example/ipp/print", "", true},
		{"garbage", "://", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePrinterURI(tt.uri)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parsePrinterURI(%q) = %v, want error", tt.uri, got)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("parsePrinterURI(%q) = %v, %v; want %s", tt.uri, got, err, tt.want)
			}
		})
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Job completed.", "Job completed."},
		{"control characters", "line1\nline2\x1b[31m", "line1 line2 [31m"},
		{"long", strings.Repeat("é", 200), strings.Repeat("é", 126) + "…"}, // 255 octets with the mark
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := printable(tt.in); got != tt.want {
				t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzClientResponse feeds arbitrary printer replies to the response
// decoder and the job-status reader.
func FuzzClientResponse(f *testing.F) {
	resp := goipp.NewResponse(goipp.DefaultVersion, goipp.StatusOk, 1)
	resp.Operation.Add(strs("attributes-charset", goipp.TagCharset, "utf-8"))
	resp.Operation.Add(strs("attributes-natural-language", goipp.TagLanguage, "en"))
	resp.Operation.Add(text("status-message", "successful-ok"))
	resp.Job.Add(ints("job-id", 3))
	resp.Job.Add(enums("job-state", int(JobProcessing)))
	resp.Job.Add(keywords("job-state-reasons", "job-printing"))
	resp.Job.Add(text("job-state-message", "Printing page 1"))
	resp.Job.Add(collection("media-col", goipp.Collection{ints("x-dimension", 21000)}))
	seed, err := resp.EncodeBytes()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		reply, err := decodeResponse(bytes.NewReader(data))
		if err != nil {
			return
		}
		st := jobStatus(reply.Job)
		if len(st.Message) > maxStatusMessage+len("…") {
			t.Fatalf("job-state-message not trimmed: %d bytes", len(st.Message))
		}
		_ = statusMessage(reply.Operation)
	})
}
