package ipp_test

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/ipp"
)

// smallSendBuffers accepts connections whose kernel send buffer is small,
// so that a reply of a few hundred kilobytes fills it.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// TestReplyDeadline: a client that asks for a long Get-Jobs reply and
// never reads it does not hold the handler and the connection forever:
// the reply is cut off at the upload limits' idle time plus its length at
// their slowest rate, and the connection closed.
func TestReplyDeadline(t *testing.T) {
	b := &listBackend{n: 5000}
	srv := httptest.NewUnstartedServer(ipp.NewServer(b, slog.New(slog.DiscardHandler),
		ipp.WithJobsListLimit(0), ipp.WithUploadLimits(200*time.Millisecond, 1<<30, time.Minute)))
	srv.Listener = smallSendBuffers{srv.Listener}
	closed := make(chan struct{})
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			close(closed)
		}
	}
	srv.Start()
	defer srv.Close()

	m := goipp.NewRequest(goipp.DefaultVersion, goipp.OpGetJobs, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String("ipp://127.0.0.1/ipp/print/q")))
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String("alice")))
	ra := goipp.Attribute{Name: "requested-attributes"}
	for _, a := range []string{"job-id", "job-name", "job-state", "job-originating-user-name", "job-k-octets"} {
		ra.Values.Add(goipp.TagKeyword, goipp.String(a))
	}
	m.Operation.Add(ra)
	body, err := m.EncodeBytes()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4096)
	req, _ := http.NewRequest(http.MethodPost, "http://"+srv.Listener.Addr().String()+"/ipp/print/q", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", goipp.ContentType)
	if err := req.Write(c); err != nil {
		t.Fatal(err)
	}
	// Not reading until the server gives the reply up and closes the
	// connection.
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the server kept the connection of a client that did not read")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		t.Fatalf("no reply at all: %v", err)
	}
	got, err := io.ReadAll(resp.Body)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("read %d of the reply's %d bytes, then nothing: the server neither wrote on nor closed the connection",
			len(got), resp.ContentLength)
	}
	if err == nil || int64(len(got)) >= resp.ContentLength {
		t.Fatalf("read %d of the reply's %d bytes, %v: the server kept writing to a client that did not read",
			len(got), resp.ContentLength, err)
	}
	if resp.ContentLength < 200<<10 {
		t.Fatalf("the reply is only %d bytes; the test needs one that fills the buffers", resp.ContentLength)
	}
}
