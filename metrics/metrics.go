// Package metrics is printgate's Prometheus face: what its jobs do
// (submitted, released, failed, held), how long submissions and releases
// take, how large the spool is and how many sign-ins fail, in a registry
// of its own (never Prometheus's global one), served by Handler.
//
// The counters move as the release service reports each committed move of
// a job (release.Observer): they count what this process did. The held
// jobs are counted in the database at each scrape (Watch), so that they
// agree with every instance sharing it.
package metrics

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/printgate/printgate/release"
)

// methods are the sign-in methods whose failures are counted from zero
// at start, so that a rate over them is defined before the first failure.
func methods() []string {
	return []string{"card", "id+pin", "card+pin", "ipp", "console", "password-change"}
}

// Options configure the metrics.
type Options struct {
	// Queues are the configured queues, counted from zero.
	Queues []string
	// ScrapeTimeout bounds the database's count of held jobs at a scrape
	// (Watch); default 5s.
	ScrapeTimeout time.Duration
	// Log receives the errors of a scrape; nil discards them.
	Log *slog.Logger
}

// Metrics holds printgate's collectors and their registry. It is a
// release.Observer.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger
	// timeout bounds the count of held jobs at a scrape.
	timeout time.Duration

	submitted *prometheus.CounterVec
	// byQueue are submitted's counters of the configured queues, looked up
	// without building a label set on the submission path.
	byQueue        map[string]prometheus.Counter
	released       *prometheus.CounterVec
	failed         *prometheus.CounterVec
	authFailures   *prometheus.CounterVec
	submitSeconds  prometheus.Histogram
	releaseSeconds prometheus.Histogram
}

var _ release.Observer = (*Metrics)(nil)

// New returns the metrics, registered with a registry of their own
// beside the Go runtime's and the process's collectors.
func New(opts Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), log: opts.Log}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.submitted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "printgate_jobs_submitted_total",
		Help: "Jobs whose document was stored and which were held or sent to print, by queue.",
	}, []string{"queue"})
	m.released = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "printgate_jobs_released_total",
		Help: "Jobs sent to a printer that took them, by queue and releasing device (none for a direct queue).",
	}, []string{"queue", "device"})
	m.failed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "printgate_jobs_failed_total",
		Help: "Prints that failed (the job held again) and jobs printgate aborted, by queue and reason.",
	}, []string{"queue", "reason"})
	m.authFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "printgate_auth_failures_total",
		Help: "Refused sign-ins (wrong credentials, locked or disabled accounts, sign-in limits), by method.",
	}, []string{"method"})
	m.submitSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "printgate_submit_seconds",
		Help:    "Time from a job's creation until it was durably stored, document included.",
		Buckets: prometheus.DefBuckets,
	})
	m.releaseSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "printgate_release_seconds",
		Help:    "Time from a job's release at a device until its printer took the document.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
	})
	m.reg.MustRegister(m.submitted, m.released, m.failed, m.authFailures, m.submitSeconds, m.releaseSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.byQueue = make(map[string]prometheus.Counter, len(opts.Queues))
	for _, q := range opts.Queues {
		m.byQueue[q] = m.submitted.WithLabelValues(q)
	}
	for _, method := range methods() {
		m.authFailures.WithLabelValues(method)
	}
	m.timeout = cmp.Or(opts.ScrapeTimeout, 5*time.Second)
	return m
}

// Source is what a scrape reads of the release service: release.Service.
type Source interface {
	// SpoolBytes is the bytes the held documents take.
	SpoolBytes() int64
	// HeldJobs counts the held jobs of each queue.
	HeldJobs(ctx context.Context) (map[string]int64, error)
}

var _ Source = (*release.Service)(nil)

// Watch adds printgate_spool_bytes and printgate_jobs_held, read from src
// at each scrape. Call it once, before serving.
func (m *Metrics) Watch(src Source) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "printgate_spool_bytes",
		Help: "Bytes the held documents take, in spool files and in the database (approximate between recounts).",
	}, func() float64 { return float64(src.SpoolBytes()) }), &heldCollector{
		desc:    prometheus.NewDesc("printgate_jobs_held", "Jobs held, waiting for release, by queue.", []string{"queue"}, nil),
		count:   src.HeldJobs,
		timeout: m.timeout,
	})
}

// Handler serves the metrics in Prometheus's formats. A scrape whose
// count of held jobs fails (the database is away) still answers the
// other metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             30 * time.Second,
	})
}

// Gatherer returns the registry, for tests and for other exporters.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// JobMoved counts mv. A submission costs one map look-up, one atomic add
// and one histogram observation.
func (m *Metrics) JobMoved(mv release.JobMove) {
	queue := mv.Job.Queue
	if mv.Submitted() {
		c, ok := m.byQueue[queue]
		if !ok {
			c = m.submitted.WithLabelValues(queue)
		}
		c.Inc()
		m.submitSeconds.Observe(seconds(mv))
	}
	if mv.To == release.StatePrinting {
		m.released.WithLabelValues(queue, mv.Device()).Inc()
		if mv.From == release.StateReleasing {
			m.releaseSeconds.Observe(seconds(mv))
		}
	}
	if mv.Failed() {
		reason := mv.Job.Reason
		if reason == "" {
			reason = "unknown"
		}
		m.failed.WithLabelValues(queue, reason).Inc()
	}
}

// SignInFailed counts a refused sign-in.
func (m *Metrics) SignInFailed(method string) {
	m.authFailures.WithLabelValues(method).Inc()
}

// seconds is how long mv's job stayed in the state it left; never
// negative, whatever the clock did.
func seconds(mv release.JobMove) float64 {
	return max(mv.At.Sub(mv.Since).Seconds(), 0)
}

// heldCollector counts the held jobs in the database at each scrape.
type heldCollector struct {
	desc    *prometheus.Desc
	count   func(ctx context.Context) (map[string]int64, error)
	timeout time.Duration
}

func (c *heldCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *heldCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	held, err := c.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for q, n := range held {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), q)
	}
}
