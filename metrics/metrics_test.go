package metrics

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/printgate/printgate/release"
)

var update = flag.Bool("update", false, "rewrite golden files")

// ours are printgate's metrics (not the runtime's).
var ours = []string{
	"printgate_jobs_submitted_total", "printgate_jobs_released_total", "printgate_jobs_failed_total",
	"printgate_jobs_held", "printgate_spool_bytes", "printgate_submit_seconds", "printgate_release_seconds",
	"printgate_auth_failures_total",
}

// source is a release service as a scrape sees it.
type source struct {
	bytes int64
	held  map[string]int64
	err   error
}

func (s source) SpoolBytes() int64 { return s.bytes }
func (s source) HeldJobs(context.Context) (map[string]int64, error) {
	return s.held, s.err
}

func move(id int64, queue string, from, to release.State, reason, device string, took time.Duration) release.JobMove {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	return release.JobMove{Job: &release.Job{ID: id, Queue: queue, State: to, Reason: reason, Device: device},
		From: from, To: to, Since: at.Add(-took), At: at}
}

// life is what a test server's jobs did: three submitted on secure and
// one on a direct queue, one released at mfp1 and printed, one failed at
// mfp2 and released again, one expired, one aborted.
func life() []release.JobMove {
	const (
		in, held, rel, pr, done = release.StateIncoming, release.StateHeld, release.StateReleasing, release.StatePrinting, release.StateCompleted
	)
	return []release.JobMove{
		move(1, "secure", in, held, "job-hold-until-specified", "", 30*time.Millisecond),
		move(2, "secure", in, held, "job-hold-until-specified", "", 300*time.Millisecond),
		move(3, "secure", in, held, "job-hold-until-specified", "", 3*time.Second),
		move(4, "direct", in, pr, "job-printing", "", 20*time.Millisecond),
		move(1, "secure", held, rel, "job-queued", "mfp1", 0),
		move(1, "secure", rel, pr, "job-printing", "mfp1", 800*time.Millisecond),
		move(1, "secure", pr, done, "job-completed-successfully", "mfp1", 5*time.Second),
		move(2, "secure", held, rel, "job-queued", "mfp2", 0),
		move(2, "secure", rel, held, "printer-unreachable", "mfp2", 3*time.Second),
		move(2, "secure", held, rel, "job-queued", "mfp2", 0),
		move(2, "secure", rel, pr, "job-printing", "mfp2", 2*time.Second),
		move(3, "secure", held, release.StateExpired, "aborted-by-system", "", 0),
		move(4, "direct", pr, release.StateAborted, "document-missing", "", 0),
		move(5, "secure", held, release.StateCanceled, "job-canceled-by-user", "", 0),
	}
}

// TestCounts replays life and two refused sign-ins and compares every
// printgate metric with testdata/life.golden.
func TestCounts(t *testing.T) {
	m := New(Options{Queues: []string{"secure", "direct", "payroll"}})
	m.Watch(source{bytes: 123456, held: map[string]int64{"secure": 2, "direct": 0, "payroll": 0}})
	for _, mv := range life() {
		m.JobMoved(mv)
	}
	m.SignInFailed("id+pin")
	m.SignInFailed("id+pin")
	m.SignInFailed("console")
	got, err := testutil.GatherAndFormat(m.Gatherer(), expfmt.TypeTextPlain, ours...)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "life.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(string(want)), ours...); err != nil {
		t.Errorf("metrics differ from %s (run go test -update and review the diff): %v", golden, err)
	}
	problems, err := promlint.NewWithMetricFamilies(mustGather(t, m)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestDatabaseAway: a scrape while the held jobs cannot be counted still
// answers the other metrics, and leaves printgate_jobs_held out.
func TestDatabaseAway(t *testing.T) {
	m := New(Options{Queues: []string{"secure"}})
	m.Watch(source{bytes: 1, err: errors.New("database away")})
	m.JobMoved(move(1, "secure", release.StateIncoming, release.StateHeld, "", "", time.Millisecond))
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", rec.Code, body)
	}
	if !strings.Contains(string(body), `printgate_jobs_submitted_total{queue="secure"} 1`) {
		t.Errorf("submitted count missing:\n%s", body)
	}
	if strings.Contains(string(body), "printgate_jobs_held{") {
		t.Errorf("held jobs shown while they cannot be counted:\n%s", body)
	}
}

// TestSubmissionAllocatesNothing holds the hot path to counters only.
func TestSubmissionAllocatesNothing(t *testing.T) {
	m := New(Options{Queues: []string{"secure"}})
	mv := move(1, "secure", release.StateIncoming, release.StateHeld, "job-hold-until-specified", "", time.Millisecond)
	if n := testing.AllocsPerRun(1000, func() { m.JobMoved(mv) }); n != 0 {
		t.Errorf("a submission allocates %v times", n)
	}
}

func mustGather(t *testing.T, m *Metrics) []*dto.MetricFamily {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}
