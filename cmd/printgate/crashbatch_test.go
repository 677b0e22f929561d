package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// pausedBatch matches the line printgate prints, under commitPauseEnv,
// for a batch written and not yet committed.
var pausedBatch = regexp.MustCompile(regexp.QuoteMeta(commitPauseLine) + ` \[([0-9 ]+)\]`)

// TestCrashMidBatch kills printgate with SIGKILL while a batch of several
// submissions is written but not committed, with sixteen clients sending
// small documents (kept in the database or a spool segment) and large
// ones (spool files).
// After a restart: every job answered successful-ok is there with its
// document intact; the jobs of the batch that was cut are not; no job is
// left without its document and no document without its job; the audit
// chain verifies.
func TestCrashMidBatch(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL)
		cfg.Log.Level = "error"
		pl := bindProcess(t, cfg)
		t.Setenv(commitPauseEnv, "1s")
		p := startProcessOn(t, cfg, pl)

		c := &batchClients{addr: cfg.Server.Listen[0], acked: map[int64][]byte{}}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Go(func() { c.submitLoop(w, stop) })
		}
		// The kill must land in a batch's pause, its jobs written and not
		// committed: the first batch of several jobs printed once both
		// kinds of document were acknowledged is caught within its pause.
		testenv.WaitFor(t, "both kinds of document acknowledged", c.ackedBoth)
		seen := len(pausedBatch.FindAllStringSubmatch(p.log.String(), -1))
		var cut []int64
		testenv.WaitFor(t, "a new batch of several jobs written", func() bool {
			ms := pausedBatch.FindAllStringSubmatch(p.log.String(), -1)
			if len(ms) <= seen {
				return false
			}
			seen = len(ms)
			cut = parseIDs(ms[len(ms)-1][1])
			return len(cut) >= 2
		})
		p.kill()
		close(stop)
		stopped := make(chan struct{})
		go func() { wg.Wait(); close(stopped) }()
		pl.refuseUntil(stopped)

		t.Setenv(commitPauseEnv, "")
		p = startProcessOn(t, cfg, pl)
		defer p.kill()
		c.check(t, cfg, cut)
	})
}

// batchClients submit unique documents over IPP and note the acknowledged
// ones.
type batchClients struct {
	addr  string
	mu    sync.Mutex
	acked map[int64][]byte
}

// ackedBoth reports whether documents of both kinds were acknowledged:
// small ones, kept in the database or a segment, and large ones, in
// spool files.
func (c *batchClients) ackedBoth() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	small, large := false, false
	for _, doc := range c.acked {
		if len(doc) > len(bigDocument(""))/2 {
			large = true
		} else {
			small = true
		}
	}
	return small && large
}

// submitLoop submits until stop or until printgate is gone; one worker in
// four sends documents large enough for a spool file.
func (c *batchClients) submitLoop(worker int, stop <-chan struct{}) {
	uri := "ipp://" + c.addr + "/ipp/print/secure"
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		text := fmt.Sprintf("worker %d job %d", worker, i)
		doc := testdocs.PDF(1, text, testdocs.A4)
		if worker%4 == 3 {
			doc = bigDocument(text)
		}
		hdr, _ := ippRequest(goipp.OpPrintJob, uri, "bob", mimeVal("application/pdf")).EncodeBytes()
		resp, err := http.Post("http://"+c.addr+"/ipp/print/secure", goipp.ContentType,
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

// check verifies the invariants after the restart; cut are the jobs of
// the batch the kill interrupted.
func (c *batchClients) check(t *testing.T, cfg Config, cut []int64) {
	t.Helper()
	db := openTestDB(t, &testServer{Config: cfg, DataDir: cfg.DataDir})
	rows := storedJobs(t, db)
	byID := map[int64]storedJob{}
	for _, r := range rows {
		byID[r.ID] = r
		if r.Spool == "" || r.State != "pending-held" || len(r.WrappedKey) == 0 {
			t.Errorf("job %d survived as %s with document %q and a %d-byte key; want held with its document",
				r.ID, r.State, r.Spool, len(r.WrappedKey))
		}
	}
	for _, id := range cut {
		if _, ok := byID[id]; ok {
			t.Errorf("job %d of the batch cut by the kill exists", id)
		}
	}
	if docs, want := documents(cfg), documentNames(rows); !slices.Equal(docs, want) {
		t.Errorf("documents kept %v; want exactly the jobs' %v", docs, want)
	}
	sp := openSpool(t, cfg)
	// Small documents are written with their batch, in the database or,
	// for a batch of segmentBatch or more, in a spool segment synced
	// beside it; large ones are spool files synced before it. The crash
	// must catch both ways of writing.
	inDB, inSegments, inFiles := 0, 0, 0
	for id, doc := range c.acked {
		r, ok := byID[id]
		if !ok {
			t.Errorf("acknowledged job %d is lost", id)
			continue
		}
		got, err := readDocument(sp, r)
		if err != nil || sha256.Sum256(got) != sha256.Sum256(doc) || !bytes.Equal(r.SHA256, hash(doc)) {
			t.Errorf("acknowledged job %d: document damaged: %v", id, err)
		}
		switch {
		case r.DocInDB:
			inDB++
		case r.DocSegment != 0:
			inSegments++
		default:
			inFiles++
		}
	}
	if inDB+inSegments == 0 || inFiles == 0 {
		t.Errorf("acknowledged documents: %d in the database, %d in segments, %d in files; the test wants small and large ones",
			inDB, inSegments, inFiles)
	}
	if out := runCLI(t, cfg, "", "audit", "verify"); !strings.Contains(out, "OK: ") {
		t.Errorf("audit verify after the crash:\n%s", out)
	}
	t.Logf("%d jobs acknowledged (%d in the database, %d in segments, %d in files), %d in the cut batch",
		len(c.acked), inDB, inSegments, inFiles, len(cut))
}

// parseIDs parses the space-separated job IDs of a pausedBatch match.
func parseIDs(s string) []int64 {
	var ids []int64
	for _, f := range strings.Fields(s) {
		id, _ := strconv.ParseInt(f, 10, 64)
		ids = append(ids, id)
	}
	return ids
}

func hash(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}
