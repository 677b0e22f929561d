package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
)

// TestCrashCampaign kills printgate with SIGKILL at random moments while
// clients submit and a device releases, 15 times on each database. After
// every restart: each job that got successful-ok exists with its document
// intact, no spool file lacks a job, every printed job printed once, and
// none printed twice. A job interrupted while printing is held again, not
// printed again by printgate on its own.
func TestCrashCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("30 kill cycles")
	}
	forEachDB(t, func(t *testing.T, dbURL string) {
		c := newCampaign(t, dbURL)
		rng := rand.New(rand.NewPCG(uint64(len(dbURL)), 7))
		for cycle := range 15 {
			p := startProcessOn(t, c.cfg, c.listeners)
			c.check(t, cycle)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range 2 {
				wg.Go(func() { c.submitLoop(cycle, w, stop) })
			}
			wg.Go(func() { c.releaseLoop(stop) })
			time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
			p.kill()
			close(stop)
			// The port stays bound by the test: connections made after
			// the kill must fail, as to a closed port, to end the loops.
			stopped := make(chan struct{})
			go func() { wg.Wait(); close(stopped) }()
			c.listeners.refuseUntil(stopped)
		}
		p := startProcessOn(t, c.cfg, c.listeners)
		c.check(t, 15)
		p.kill()
		if len(c.acked) < 30 {
			t.Errorf("only %d jobs acknowledged in 15 cycles; the campaign proved little", len(c.acked))
		}
	})
}

type campaign struct {
	t         *testing.T
	cfg       Config
	listeners *processListeners // one port for all 16 processes
	printer   *socketPrinter
	token     string
	mu        sync.Mutex
	acked     map[int64][]byte // job id → document
	released  map[int64]bool
}

func newCampaign(t *testing.T, dbURL string) *campaign {
	c := &campaign{t: t, printer: newSocketPrinter(t), acked: map[int64][]byte{}, released: map[int64]bool{}}
	c.cfg = newConfig(t, dbURL)
	c.cfg.Log.Level = "error"
	runCLI(t, c.cfg, "bob-secret\n", "user", "add", "bob")
	runCLI(t, c.cfg, "04A1B2C3\n", "card", "add", "bob")
	out := runCLI(t, c.cfg, "", "device", "add", "mfp", "--printer", c.printer.URI(), "--queue", "secure", "--auth", "card")
	c.token = tokenLine.FindStringSubmatch(out)[1]
	c.listeners = bindProcess(t, c.cfg)
	return c
}

// submitLoop submits unique documents until stop, noting each one that
// was acknowledged. Some are large enough for a spool file.
func (c *campaign) submitLoop(cycle, worker int, stop <-chan struct{}) {
	uri := "ipp://" + c.cfg.Server.Listen[0] + "/ipp/print/secure"
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		text := fmt.Sprintf("cycle %d worker %d job %d", cycle, worker, i)
		doc := testdocs.PDF(1+i%3, text, testdocs.A4)
		if worker == 1 && i%4 == 3 {
			doc = bigDocument(text) // kept in a spool file, not in the database
		}
		hdr, _ := ippRequest(goipp.OpPrintJob, uri, "bob", mimeVal("application/pdf")).EncodeBytes()
		resp, err := http.Post("http://"+c.cfg.Server.Listen[0]+"/ipp/print/secure", goipp.ContentType,
			io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(doc)))
		if err != nil {
			return // killed
		}
		var reply goipp.Message
		err = reply.Decode(resp.Body)
		resp.Body.Close()
		if err != nil || goipp.Status(reply.Code) != goipp.StatusOk {
			continue
		}
		id, _ := strconv.ParseInt(attrValue(reply.Job, "job-id"), 10, 64)
		c.mu.Lock()
		c.acked[id] = doc
		c.mu.Unlock()
	}
}

// releaseLoop signs in at the device and releases each held job once, as
// a user would.
func (c *campaign) releaseLoop(stop <-chan struct{}) {
	base := "http://" + c.cfg.Server.Listen[0] + "/api/v1/release/sessions"
	call := func(method, url, body string) (int, string) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := call("POST", base, `{"card":"04A1B2C3"}`)
	if code != http.StatusCreated {
		return
	}
	sess := strings.Split(strings.Split(body, `"session":"`)[1], `"`)[0]
	for {
		select {
		case <-stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
		c.mu.Lock()
		var ids []string
		for id := range c.acked {
			if !c.released[id] {
				c.released[id] = true
				ids = append(ids, strconv.FormatInt(id, 10))
			}
		}
		c.mu.Unlock()
		if len(ids) > 0 {
			call("POST", base+"/"+sess+"/release", `{"jobs":[`+strings.Join(ids, ",")+`]}`)
		}
	}
}

// check verifies the invariants against the database, the spool and the
// printer of a freshly started printgate.
func (c *campaign) check(t *testing.T, cycle int) {
	t.Helper()
	db := openTestDB(t, &testServer{Config: c.cfg, DataDir: c.cfg.DataDir})
	rows := storedJobs(t, db)
	byID := map[int64]storedJob{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	owned := map[string]bool{}
	for _, d := range documentNames(rows) {
		owned[d] = true
	}
	for _, d := range documents(c.cfg) {
		if !owned[d] {
			t.Errorf("cycle %d: document %s has no job", cycle, d)
		}
	}
	sp := openSpool(t, c.cfg)
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, doc := range c.acked {
		r, ok := byID[id]
		if !ok {
			t.Errorf("cycle %d: acknowledged job %d is lost", cycle, id)
			continue
		}
		prints := c.printer.count(doc)
		switch {
		case prints > 1:
			t.Errorf("cycle %d: job %d printed %d times", cycle, id, prints)
		case r.State == "completed" && prints != 1:
			t.Errorf("cycle %d: job %d completed but printed %d times", cycle, id, prints)
		case r.Spool != "":
			got, err := readDocument(sp, r)
			if err != nil || sha256.Sum256(got) != sha256.Sum256(doc) {
				t.Errorf("cycle %d: job %d (%s): document damaged: %v", cycle, id, r.State, err)
			}
		}
	}
}
