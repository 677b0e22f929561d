package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release"
)

// boundedAttacks are the attacks on the server's resources: any input
// costs bounded work (docs/LIMITS.md).
func boundedAttacks() []attack {
	return []attack{
		{
			name:    "PDF bomb",
			defense: "audit/pages Budget.DecodedBytes (decodeMeter.charge in countPageTree)",
			run:     func(t *testing.T) { forEachDB(t, attackPDFBomb) },
		},
		{
			name:    "one user fills the spool",
			defense: "spool.max_held_mb_per_user (release allowanceFor and checkHeld)",
			run:     func(t *testing.T) { forEachDB(t, attackFillSpool) },
		},
		{
			name:    "Get-Jobs without a limit",
			defense: "server.get_jobs_limit (ipp Server.jobsLimit)",
			run:     func(t *testing.T) { forEachDB(t, attackListAllJobs) },
		},
	}
}

// bombLimit is the peak resident memory a printgate process may reach
// under the PDF bomb (issue 10: under 256 MiB).
const bombLimit = 256 << 20

var pdfBomb = sync.OnceValue(func() []byte { return testdocs.PDFBomb(16, 60<<20) })

// attackPDFBomb sends two copies of the bomb of issue 10 (0.98 MB, 960 MiB
// decoded; before the budget it took 2.3 GB of heap) to a printgate
// process while a normal client prints: the bombs are accepted with their
// pages unknown and the reason recorded, the normal job is counted, and
// the process's peak resident memory stays under 256 MiB.
func attackPDFBomb(t *testing.T, dbURL string) {
	cfg := newConfig(t, dbURL)
	cfg.Log.Level = "warn"
	p := startProcess(t, cfg)
	uri := "ipp://" + cfg.Server.Listen[0] + "/ipp/print/secure"
	bomb := pdfBomb()
	if len(bomb) > 1<<20 {
		t.Fatalf("the bomb is %d bytes, want about 1 MB", len(bomb))
	}

	var wg sync.WaitGroup
	bombs := make([]*goipp.Message, 2)
	for i := range bombs {
		wg.Go(func() {
			bombs[i] = ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "mallory", mimeVal("application/pdf")), bomb)
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	// alice prints while the bombs are counted, and at least once.
	normal := testdocs.PDF(3, "payroll", testdocs.A4)
	var slowest time.Duration
	sent := 0
	for waiting := true; waiting; sent++ {
		select {
		case <-done:
			waiting = false
		default:
		}
		start := time.Now()
		r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")), normal)
		slowest = max(slowest, time.Since(start))
		if status(r) != goipp.StatusOk {
			t.Fatalf("normal Print-Job during the bombs: %s", status(r))
		}
	}
	t.Logf("%d normal Print-Jobs during the bombs, the slowest answered in %v", sent, slowest)
	hwm := procStatus(t, p.cmd.Process.Pid, "VmHWM")
	t.Logf("printgate VmHWM after two bombs: %d MiB", hwm>>20)
	if hwm > bombLimit {
		t.Errorf("printgate's peak resident memory reached %d MiB, want under %d MiB", hwm>>20, bombLimit>>20)
	}
	for i, b := range bombs {
		if status(b) != goipp.StatusOk {
			t.Fatalf("bomb %d: %s %q, want accepted with pages unknown", i, status(b), attrValue(b.Operation, "status-message"))
		}
	}

	srv := &testServer{DataDir: cfg.DataDir, Config: cfg}
	db := openTestDB(t, srv)
	var jobs []release.Job
	if err := db.Order("id").Find(&jobs).Error; err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		switch j.Owner {
		case "alice":
			if j.Pages != 3 || j.PagesReason != "" {
				t.Errorf("normal job: pages %d (%q), want 3", j.Pages, j.PagesReason)
			}
		case "mallory":
			if j.Pages != 0 || !strings.Contains(j.PagesReason, "decompresses to more than the 32 MiB budget") {
				t.Errorf("bomb job: pages %d, reason %q, want unknown over the decoded budget", j.Pages, j.PagesReason)
			}
		}
	}
	export := runCLI(t, cfg, "", "audit", "export", "--jobs", "--format", "jsonl")
	if n := strings.Count(export, "decompresses to more than the 32 MiB budget"); n != len(bombs) {
		t.Errorf("audit export records the budget reason %d times, want %d:\n%s", n, len(bombs), export)
	}
}

// attackFillSpool: mallory sends 400 KB documents, one, then eight at
// once, then one more, to fill the spool; the per-user limit of 1 MiB
// takes two and refuses the others with client-error-not-possible, naming
// the limit and leaving no row and no file, while alice still prints.
func attackFillSpool(t *testing.T, dbURL string) {
	cfg := newConfig(t, dbURL)
	cfg.Spool.MaxHeldMBPerUser = 1
	srv := startServer(t, cfg)
	uri := srv.PrinterURI("secure")
	doc := make([]byte, 400<<10)
	copy(doc, "%PDF-1.4\n")
	submit := func(user string) *goipp.Message {
		return ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, user, mimeVal("application/octet-stream")), doc)
	}
	if r := submit("mallory"); status(r) != goipp.StatusOk {
		t.Fatalf("mallory's first job: %s", status(r))
	}
	// Each of these sees room for itself before it is stored; only one
	// may be recorded.
	var mu sync.Mutex
	accepted := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			r := submit("mallory")
			switch status(r) {
			case goipp.StatusOk:
				mu.Lock()
				accepted++
				mu.Unlock()
			case goipp.StatusErrorNotPossible:
			default:
				t.Errorf("mallory's parallel job: %s", status(r))
			}
		})
	}
	wg.Wait()
	if accepted != 1 {
		t.Errorf("%d of mallory's parallel jobs accepted, want 1", accepted)
	}
	r := submit("mallory")
	msg := attrValue(r.Operation, "status-message")
	if status(r) != goipp.StatusErrorNotPossible || !strings.Contains(msg, "over the 1 MB each user may keep") {
		t.Errorf("mallory past the limit: %s %q, want client-error-not-possible naming 1 MB", status(r), msg)
	}
	if r := submit("alice"); status(r) != goipp.StatusOk {
		t.Errorf("alice while mallory is at the limit: %s %q", status(r), attrValue(r.Operation, "status-message"))
	}

	db := openTestDB(t, srv)
	var rows []struct {
		Owner string
		N     int
	}
	db.Raw("SELECT owner, count(*) AS n FROM jobs GROUP BY owner ORDER BY owner").Scan(&rows)
	if want := "[{alice 1} {mallory 2}]"; fmt.Sprint(rows) != want {
		t.Errorf("jobs per owner %v, want %s", rows, want)
	}
	testenv.WaitFor(t, "the spool to hold only the three accepted documents", func() bool { return len(spoolEntries(srv)) == 3 })
}

// attackListAllJobs: a queue holds more jobs than the Get-Jobs limit;
// Get-Jobs without a limit answers the first ones only, and a larger
// client limit is substituted (RFC 8011 4.1.7).
func attackListAllJobs(t *testing.T, dbURL string) {
	const limit = 50
	cfg := newConfig(t, dbURL)
	cfg.Server.GetJobsLimit = limit
	srv := startServer(t, cfg)
	uri := srv.PrinterURI("secure")
	db := openTestDB(t, srv)
	jobs := make([]release.Job, limit+30)
	for i := range jobs {
		jobs[i] = release.Job{Queue: "secure", Owner: "mallory", Name: fmt.Sprint("job ", i),
			State: release.StateHeld, Copies: 1, CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
	}
	if err := db.CreateInBatches(jobs, 100).Error; err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		attrs  []goipp.Attribute
		status goipp.Status
		want   int
		msg    string
	}{
		{"no limit", nil, goipp.StatusOk, limit, "Only the first 50 jobs are listed."},
		{"all jobs, no limit", []goipp.Attribute{keywordVal("which-jobs", "all")}, goipp.StatusOk, limit, "Only the first 50"},
		{"a larger limit", []goipp.Attribute{intVal("limit", 10000)}, goipp.StatusOkIgnoredOrSubstituted, limit, "At most 50 jobs"},
		{"a smaller limit", []goipp.Attribute{intVal("limit", 7)}, goipp.StatusOk, 7, "successful-ok"},
	}
	for _, tt := range tests {
		r := ippDo(t, uri, ippRequest(goipp.OpGetJobs, uri, "mallory", tt.attrs...), nil)
		got := 0
		for _, g := range r.Groups {
			if g.Tag == goipp.TagJobGroup {
				got++
			}
		}
		msg := attrValue(r.Operation, "status-message")
		if status(r) != tt.status || got != tt.want || !strings.Contains(msg, tt.msg) {
			t.Errorf("%s: %s %q with %d jobs, want %s %q with %d", tt.name, status(r), msg, got, tt.status, tt.msg, tt.want)
		}
	}
}
