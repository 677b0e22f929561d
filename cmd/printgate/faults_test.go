package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// TestAbusiveClients: a client trickling a byte a second, a body that
// stalls after announcing 2 GB, an endless chunked body and 200 idle
// connections are each cut off, and a normal client is served meanwhile;
// none leaves a job or a spool file.
func TestAbusiveClients(t *testing.T) {
	cfg := newConfig(t, "")
	cfg.Queues[0].MaxDocumentMB = 1
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Server.UploadIdle, cfg.Server.MinUploadRate, cfg.Server.UploadGrace = time.Second, 1024, 2*time.Second
	srv := startServer(t, cfg)
	uri := srv.PrinterURI("secure")
	hdr, _ := ippRequest(goipp.OpPrintJob, uri, "mallory", mimeVal("application/pdf")).EncodeBytes()

	var idle []net.Conn
	for range 200 {
		c, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatalf("idle connection: %v", err)
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()

	abusers := []struct {
		name string
		send func(c net.Conn)
	}{
		{"trickle", func(c net.Conn) {
			fmt.Fprintf(c, "POST /ipp/print/secure HTTP/1.1\r\nHost: x\r\nContent-Type: application/ipp\r\nContent-Length: 100000\r\n\r\n")
			c.Write(hdr)
			for range 30 {
				if _, err := c.Write([]byte{'%'}); err != nil {
					return
				}
				time.Sleep(time.Second)
			}
		}},
		{"2 GB announced, never sent", func(c net.Conn) {
			fmt.Fprintf(c, "POST /ipp/print/secure HTTP/1.1\r\nHost: x\r\nContent-Type: application/ipp\r\nContent-Length: 2147483648\r\n\r\n")
			c.Write(hdr)
			c.Write([]byte("%PDF-1.7\n"))
		}},
		{"endless chunked body", func(c net.Conn) {
			fmt.Fprintf(c, "POST /ipp/print/secure HTTP/1.1\r\nHost: x\r\nContent-Type: application/ipp\r\nTransfer-Encoding: chunked\r\n\r\n")
			fmt.Fprintf(c, "%x\r\n%s\r\n", len(hdr), hdr)
			chunk := strings.Repeat("x", 32<<10)
			for {
				if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
					return
				}
			}
		}},
	}
	var wg sync.WaitGroup
	for _, a := range abusers {
		wg.Go(func() {
			c, err := net.Dial("tcp", srv.Addr)
			if err != nil {
				t.Errorf("%s: %v", a.name, err)
				return
			}
			defer c.Close()
			go a.send(c)
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("%s: not cut off within 20 s", a.name)
			}
		})
	}
	// A normal client is served while all of that goes on.
	time.Sleep(200 * time.Millisecond)
	r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")), testdocs.PDF(1, "normal", testdocs.A4))
	if status(r) != goipp.StatusOk {
		t.Errorf("normal client during the abuse: %s", status(r))
	}
	wg.Wait()

	db := openTestDB(t, srv)
	var owners []string
	db.Raw("SELECT owner FROM jobs").Scan(&owners)
	if len(owners) != 1 || owners[0] != "alice" {
		t.Errorf("jobs after the abuse: %v, want only alice's", owners)
	}
	testenv.WaitFor(t, "the spool to hold only alice's document", func() bool { return len(spoolEntries(srv)) == 1 })
}

// spoolEntries lists the documents srv keeps, in spool files and in the
// database.
func spoolEntries(srv *testServer) []string { return documents(srv.Config) }

// TestSpoolQuota: once the spool holds its quota, new jobs are refused
// with server-error-not-accepting-jobs and the printer says
// spool-area-full; the held jobs stay intact, and canceling one makes room.
func TestSpoolQuota(t *testing.T) {
	cfg := newConfig(t, "")
	cfg.Spool.QuotaMB = 1
	cfg.Release.SweepEvery = 100 * time.Millisecond
	srv := startServer(t, cfg)
	uri := srv.PrinterURI("secure")
	doc := make([]byte, 700<<10)
	copy(doc, "%PDF-1.4\n")
	submit := func() *goipp.Message {
		return ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/octet-stream")), doc)
	}
	first := submit()
	if status(first) != goipp.StatusOk {
		t.Fatalf("first job: %s", status(first))
	}
	// A refusal marks the spool full until the sweeper's next recount,
	// which finds room for smaller documents: each try refuses anew and
	// asks the printer at once.
	var accepting, reasons string
	if !testenv.Eventually(func() bool {
		r := submit()
		if status(r) != goipp.StatusErrorNotAcceptingJobs || !strings.Contains(attrValue(r.Operation, "status-message"), "storage is full") {
			t.Fatalf("job past the quota: %s %q", status(r), attrValue(r.Operation, "status-message"))
		}
		r = ippDo(t, uri, ippRequest(goipp.OpGetPrinterAttributes, uri, "alice"), nil)
		accepting, reasons = attrValue(r.Printer, "printer-is-accepting-jobs"), attrValue(r.Printer, "printer-state-reasons")
		return accepting == "false" && reasons == "spool-area-full"
	}) {
		t.Errorf("printer right after a refusal for a full spool: accepting %s, reasons %s", accepting, reasons)
	}
	db := openTestDB(t, srv)
	var n int64
	db.Raw("SELECT count(*) FROM jobs WHERE state = 'pending-held' AND spool <> ''").Scan(&n)
	if n != 1 || len(spoolEntries(srv)) != 1 {
		t.Errorf("held jobs %d and spool files %v, want the first job intact and nothing else", n, spoolEntries(srv))
	}
	id := attrValue(first.Job, "job-id")
	var jid int
	fmt.Sscan(id, &jid)
	ippDo(t, uri, ippRequest(goipp.OpCancelJob, uri, "alice", intVal("job-id", jid)), nil)
	testenv.WaitFor(t, "room in the spool", func() bool { return status(submit()) == goipp.StatusOk })
}

// TestPostgresRestart: the database goes away under load; printgate
// answers server-error-service-unavailable meanwhile, recovers by itself,
// and every acknowledged job is there afterwards.
func TestPostgresRestart(t *testing.T) {
	pg := testenv.PrivatePostgres(t)
	cfg := newConfig(t, pg.URL)
	cfg.Log.Level = "error"
	srv := startServer(t, cfg)
	uri := srv.PrinterURI("secure")
	pdf := testdocs.PDF(1, "pg restart", testdocs.A4)
	var (
		mu       sync.Mutex
		acked    []string
		statuses = map[goipp.Status]int{}
	)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")), pdf)
				mu.Lock()
				statuses[status(r)]++
				if status(r) == goipp.StatusOk {
					acked = append(acked, attrValue(r.Job, "job-id"))
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	pg.Stop()
	time.Sleep(1500 * time.Millisecond)
	pg.Start()
	testenv.WaitFor(t, "submissions to succeed again", func() bool {
		r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")), pdf)
		if status(r) == goipp.StatusOk {
			mu.Lock()
			acked = append(acked, attrValue(r.Job, "job-id"))
			mu.Unlock()
		}
		return status(r) == goipp.StatusOk
	})
	stop()
	wg.Wait()
	for st, n := range statuses {
		if st != goipp.StatusOk && st != goipp.StatusErrorServiceUnavailable {
			t.Errorf("%d replies %s; while the database is away the answer must be server-error-service-unavailable", n, st)
		}
	}
	if statuses[goipp.StatusErrorServiceUnavailable] == 0 {
		t.Error("no submission saw the database away; the test proved nothing")
	}
	db := openTestDB(t, srv)
	var ids []string
	db.Raw("SELECT CAST(id AS TEXT) FROM jobs WHERE state = 'pending-held'").Scan(&ids)
	have := map[string]bool{}
	for _, id := range ids {
		have[id] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("acknowledged job %s is lost", id)
		}
	}
	if len(spoolEntries(srv)) != len(ids) {
		t.Errorf("%d spool files for %d held jobs", len(spoolEntries(srv)), len(ids))
	}
}

// socketPrinter is an AppSocket printer on loopback whose next connections
// can be made to hang up after a number of bytes, like a printer switched
// off mid-document. It keeps the SHA-256 of every complete document.
type socketPrinter struct {
	ln       net.Listener
	mu       sync.Mutex
	cutAfter int // bytes; 0 = read everything
	received map[[32]byte]int
}

func newSocketPrinter(t *testing.T) *socketPrinter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &socketPrinter{ln: ln, received: map[[32]byte]int{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *socketPrinter) URI() string { return "socket://" + p.ln.Addr().String() }

func (p *socketPrinter) serve(c net.Conn) {
	defer c.Close()
	p.mu.Lock()
	cut := p.cutAfter
	p.mu.Unlock()
	if cut > 0 {
		io.CopyN(io.Discard, c, int64(cut))
		return // the printer is gone
	}
	h := sha256.New()
	io.Copy(h, c)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	p.mu.Lock()
	p.received[sum]++
	p.mu.Unlock()
}

func (p *socketPrinter) count(doc []byte) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.received[sha256.Sum256(doc)]
}

// TestPrinterVanishesMidDocument: the printer hangs up while a released
// document is being sent; the job is held again as one that may have
// printed (the printer had part of it), is not printed by a release that
// does not confirm it, and prints once when released again with the
// confirmation.
func TestPrinterVanishesMidDocument(t *testing.T) {
	e := newReleaseEnv(t, "", nil)
	sp := newSocketPrinter(t)
	out := runCLI(t, e.cfg, "", "device", "add", "sock", "--printer", sp.URI(), "--queue", "secure", "--auth", "card")
	e.devices["sock"] = tokenLine.FindStringSubmatch(out)[1]
	doc := make([]byte, 4<<20)
	copy(doc, testdocs.PDF(1, "vanishing printer", testdocs.A4))
	id := e.submit("bob", doc)
	sess := e.login("sock", map[string]string{"card": "04A1B2C3"})
	sp.mu.Lock()
	sp.cutAfter = 256 << 10
	sp.mu.Unlock()
	e.call("sock", "POST", "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
	held := e.waitState("sock", sess, id, "pending-held")
	if held["state_reason"] != "may-have-printed" {
		t.Errorf("held again with reason %v, want may-have-printed", held["state_reason"])
	}
	sp.mu.Lock()
	sp.cutAfter = 0
	sp.mu.Unlock()
	_, again := e.call("sock", "POST", "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
	if jobs, _ := again["jobs"].([]any); len(jobs) != 1 || jobs[0].(map[string]any)["problem"] != "may-have-printed" {
		t.Errorf("released again without confirmation: %v, want the problem may-have-printed", again)
	}
	e.call("sock", "POST", "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}, "confirm_reprint": []int64{id}})
	e.waitState("sock", sess, id, "completed")
	time.Sleep(200 * time.Millisecond)
	if n := sp.count(doc); n != 1 {
		t.Errorf("the document printed %d times, want once", n)
	}
}
