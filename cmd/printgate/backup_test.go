package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

const backupPassphrase = "tokyo-payroll-backup-2026"

// ackedJob is a job printgate acknowledged, and when.
type ackedJob struct {
	id  int64
	doc []byte
	at  time.Time
}

// TestBackupRestore backs printgate up while a load submits jobs (small
// documents kept in spool segments or, in PostgreSQL's batches written
// straight, in the database, large ones in spool files), wipes the
// data dir (and, on PostgreSQL, restores into a new, empty database),
// restores, and checks: the audit chain verifies against the restored
// anchors; every job acknowledged before the backup began is held again,
// and every held job prints to the printer byte for byte as submitted.
func TestBackupRestore(t *testing.T) {
	testenv.Tool(t, "pg_dump")
	forEachDB(t, func(t *testing.T, dbURL string) {
		// The device session outlasts a slow machine's restore and start
		// (it once expired between listing the jobs and releasing them
		// while other tests ran beside this one).
		e := newReleaseEnv(t, dbURL, func(c *Config) { c.Release.SessionIdle = 10 * time.Minute })
		var before []ackedJob // acknowledged before the backup began
		for i := range 6 {
			pages := 1 + i
			if i%2 == 1 {
				pages = 900 + i // over 128 KiB: kept in a spool file
			}
			doc := testdocs.PDF(pages, fmt.Sprintf("before backup %d", i), testdocs.A4)
			before = append(before, ackedJob{e.submit("bob", doc), doc, time.Now()})
		}
		// Small documents are in a spool segment once the journal's
		// applier wrote them.
		small := func(f string) bool { return strings.HasPrefix(f, "seg:") }
		testenv.WaitFor(t, "documents both in spool files and where small ones go", func() bool {
			files := e.spoolFiles()
			return slices.ContainsFunc(files, func(f string) bool { return strings.HasSuffix(f, ".doc") }) &&
				slices.ContainsFunc(files, small)
		})
		loadBefore, loadAll := submitLoad(t, e, func() {
			archive := filepath.Join(t.TempDir(), "printgate.backup")
			out := runCLI(t, e.cfg, backupPassphrase+"\n", "backup", archive)
			t.Log(strings.TrimSpace(out))
			e.srv.Stop(t)
			if err := os.RemoveAll(e.cfg.DataDir); err != nil {
				t.Fatal(err)
			}
			if dbURL != "" {
				e.cfg.Database.URL = testenv.Postgres(t) // a new, empty database
			}
			out = runCLI(t, e.cfg, backupPassphrase+"\n", "restore", archive)
			t.Log(strings.TrimSpace(out))
		})
		runCLI(t, e.cfg, "", "audit", "verify", "--anchors", e.cfg.anchorFile())
		e.srv = startServer(t, e.cfg)

		sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
		code, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+sess+"/jobs", nil)
		if code != http.StatusOK {
			t.Fatalf("list: HTTP %d %v", code, out)
		}
		held := jobIDs(out)
		before = append(before, loadBefore.jobs...)
		for _, j := range before {
			if !slices.Contains(held, j.id) && !loadBefore.released[j.id] {
				t.Errorf("job %d, acknowledged before the backup, is not held after the restore (held: %v)", j.id, held)
			}
		}
		docs := map[int64][]byte{}
		for _, j := range append(before, loadAll...) {
			docs[j.id] = j.doc
		}
		printed := len(e.received())
		for _, id := range held {
			if docs[id] == nil {
				t.Errorf("job %d held after the restore was never acknowledged", id)
			}
		}
		// A job the load was printing at the snapshot comes back held as
		// one that may have printed (release.ReasonMayHavePrinted): it
		// prints again only when the user confirms, as here.
		code, out = e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release",
			map[string]any{"jobs": held, "confirm_reprint": held})
		if code != http.StatusAccepted {
			t.Fatalf("release all: HTTP %d %v", code, out)
		}
		for _, id := range held {
			e.waitState("mfp1", sess, id, "completed")
		}
		got := e.received()[printed:]
		for _, id := range held {
			if want := sha256.Sum256(docs[id]); !slices.Contains(got, want) {
				t.Errorf("job %d did not print byte-identical after the restore", id)
			}
		}
		t.Logf("%d jobs acknowledged before the backup began, %d by the load in all, %d held and printed after the restore",
			len(before), len(loadAll), len(held))
		runCLI(t, e.cfg, "", "audit", "verify", "--anchors", e.cfg.anchorFile())
	})
}

// loadResult is what a load did: the jobs it had acknowledged, and those
// it asked to release, which may or may not have printed.
type loadResult struct {
	jobs     []ackedJob
	released map[int64]bool
}

// submitLoad submits jobs from two clients while during runs, and
// releases some of the large ones at a device meanwhile, so that
// documents are destroyed while the backup runs. It returns what was
// acknowledged before during began, and all it acknowledged.
func submitLoad(t *testing.T, e *releaseEnv, during func()) (before loadResult, all []ackedJob) {
	t.Helper()
	stop := make(chan struct{})
	var (
		mu       sync.Mutex
		acked    []ackedJob
		wg       sync.WaitGroup
		toDelete = make(chan int64, 1000)
		released = map[int64]bool{}
	)
	uri := e.srv.PrinterURI("secure")
	for c := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				select {
				case <-stop:
					return
				default:
				}
				pages := 1 + i%3
				if c == 1 {
					pages = 900 + i
				}
				doc := testdocs.PDF(pages, fmt.Sprintf("load %d/%d", c, i), testdocs.A4)
				r, err := ippTry(uri, ippRequest(goipp.OpPrintJob, uri, "bob", nameVal("job-name", "load"),
					mimeVal("application/pdf")), doc)
				if err != nil || status(r) != goipp.StatusOk {
					return // the server stopped
				}
				id, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
				mu.Lock()
				acked = append(acked, ackedJob{id, doc, time.Now()})
				if c == 1 && i%2 == 1 {
					released[id] = true
					toDelete <- id
				}
				mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		releaseLoad(e, stop, toDelete)
	}()
	// Some jobs first, so that the backup runs while they keep coming.
	testenv.WaitFor(t, "the load's first jobs", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 4
	})
	start := time.Now()
	during()
	close(stop)
	wg.Wait()
	before.released = released
	for _, j := range acked {
		if j.at.Before(start) {
			before.jobs = append(before.jobs, j)
		}
	}
	t.Logf("load: %d jobs acknowledged, %d before the backup began, %d asked to be released",
		len(acked), len(before.jobs), len(released))
	return before, acked
}

// releaseLoad releases the jobs it is handed at the device mfp2 until
// stop, or until the server no longer answers. It fails no test: the
// server stops under it.
func releaseLoad(e *releaseEnv, stop <-chan struct{}, ids <-chan int64) {
	base := "http://" + e.srv.Addr + "/api/v1/release/sessions"
	post := func(url string, body string) (map[string]any, error) {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.devices["mfp2"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		out := map[string]any{}
		return out, json.NewDecoder(resp.Body).Decode(&out)
	}
	out, err := post(base, `{"card":"04A1B2C3"}`)
	sess, _ := out["session"].(string)
	if err != nil || sess == "" {
		return
	}
	for {
		select {
		case <-stop:
			return
		case id := <-ids:
			if _, err := post(base+"/"+sess+"/release", fmt.Sprintf(`{"jobs":[%d]}`, id)); err != nil {
				return
			}
		}
	}
}

// ippTry sends an IPP request with a document and returns the answer,
// or an error where ippDo would fail the test.
func ippTry(printerURI string, m *goipp.Message, doc []byte) (*goipp.Message, error) {
	hdr, err := m.EncodeBytes()
	if err != nil {
		return nil, err
	}
	url := "http://" + strings.TrimPrefix(printerURI, "ipp://")
	resp, err := http.Post(url, goipp.ContentType, io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(doc)))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var r goipp.Message
	if err := r.Decode(resp.Body); err != nil {
		return nil, err
	}
	return &r, nil
}
