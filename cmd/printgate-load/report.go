package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// recorder collects the outcomes of one phase (submission, Get-Jobs or
// release) from every worker.
type recorder struct {
	mu       sync.Mutex
	start    time.Time
	end      time.Time
	done, ok int
	errors   map[string]int
	details  map[string]string // the first message of each error class
	latency  []time.Duration   // of successful requests
	minJobs  int               // job groups in Get-Jobs replies
	maxJobs  int
	// fixedStart: start was set when the warm-up ended (phases), and
	// requests that began before it do not move it.
	fixedStart bool
}

// phases records the first warm answers in warm and the others in
// counted, whose clock starts at the last warm-up answer: the counted
// requests run on connections and in a process that are no longer new,
// and in flight at the rate they will keep.
type phases struct {
	mu            sync.Mutex
	n, warmN      int
	warm, counted *recorder
}

func newPhases(warmN int) *phases {
	return &phases{warmN: warmN, warm: newRecorder(), counted: newRecorder()}
}

// add records a request that started at began and ended now.
func (p *phases) add(began time.Time, o outcome) {
	// Held throughout, so that no counted answer is recorded before
	// the clock's start is.
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.n > p.warmN {
		p.counted.add(began, o)
		return
	}
	p.warm.add(began, o)
	if p.n == p.warmN {
		p.counted.mu.Lock()
		p.counted.start, p.counted.fixedStart = time.Now(), true
		p.counted.mu.Unlock()
	}
}

func newRecorder() *recorder {
	return &recorder{errors: map[string]int{}, details: map[string]string{}, minJobs: -1}
}

// add records a request that started at began and ended now.
func (r *recorder) add(began time.Time, o outcome) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.start.IsZero() || !r.fixedStart && began.Before(r.start) {
		r.start = began
	}
	if now.After(r.end) {
		r.end = now
	}
	r.done++
	if o.key != "" {
		r.errors[o.key]++
		if _, seen := r.details[o.key]; !seen && o.detail != "" {
			r.details[o.key] = o.detail
		}
		return
	}
	r.ok++
	r.latency = append(r.latency, now.Sub(began))
	if r.minJobs < 0 || o.jobs < r.minJobs {
		r.minJobs = o.jobs
	}
	r.maxJobs = max(r.maxJobs, o.jobs)
}

// note records an error that belongs to no single request, such as a
// release session that could not be opened.
func (r *recorder) note(key, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors[key]++
	if _, seen := r.details[key]; !seen {
		r.details[key] = detail
	}
}

// phase is the summary of one phase, as the RESULT line carries it.
type phase struct {
	Requested      int            `json:"requested"`
	Completed      int            `json:"completed"`
	OK             int            `json:"ok"`
	Errors         int            `json:"errors"`
	ErrorsByStatus map[string]int `json:"errors_by_status"`
	Seconds        float64        `json:"seconds"`
	PerSecond      float64        `json:"per_s"`
	Latency        latency        `json:"latency_ms"`
	// JobsReturned is the fewest and most jobs a Get-Jobs reply listed.
	JobsReturned *[2]int `json:"jobs_returned,omitempty"`
}

// latency holds percentiles of successful requests, in milliseconds.
type latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// summary is the machine-readable result of a run.
type summary struct {
	Op            string `json:"op"`
	Target        string `json:"target"`
	Concurrency   int    `json:"concurrency"`
	DocumentBytes int64  `json:"document_bytes,omitempty"`
	phase
	Release *phase `json:"release,omitempty"`
	// Warmup, last in the RESULT line, is the first answers, not counted
	// above (--warmup).
	Warmup *phase `json:"warmup,omitempty"`
}

// summarize turns the recorder into a phase summary; requested is the
// number of requests asked for (0 for a run bounded by time).
func (r *recorder) summarize(requested int, withJobs bool) phase {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := phase{Requested: requested, Completed: r.done, OK: r.ok, ErrorsByStatus: maps.Clone(r.errors)}
	for _, n := range r.errors {
		p.Errors += n
	}
	if !r.start.IsZero() {
		p.Seconds = r.end.Sub(r.start).Seconds()
	}
	if p.Seconds > 0 {
		p.PerSecond = round(float64(r.ok)/p.Seconds, 1)
	}
	p.Seconds = round(p.Seconds, 3)
	lat := slices.Clone(r.latency)
	slices.Sort(lat)
	p.Latency = latency{P50: ms(percentile(lat, 50)), P90: ms(percentile(lat, 90)),
		P99: ms(percentile(lat, 99)), Max: ms(percentile(lat, 100))}
	if len(lat) > 0 {
		var sum time.Duration
		for _, d := range lat {
			sum += d
		}
		p.Latency.Mean = ms(sum / time.Duration(len(lat)))
	}
	if withJobs && r.minJobs >= 0 {
		p.JobsReturned = &[2]int{r.minJobs, r.maxJobs}
	}
	return p
}

// percentile returns the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

func round(v float64, places int) float64 {
	f := math.Pow(10, float64(places))
	return math.Round(v*f) / f
}

// writeReport prints the human-readable report and, last, the RESULT line.
func writeReport(w io.Writer, s summary, details map[string]string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s, concurrency %d", s.Op, s.Target, s.Concurrency)
	if s.DocumentBytes > 0 {
		fmt.Fprintf(&b, ", document %d bytes", s.DocumentBytes)
	}
	b.WriteString("\n")
	if s.Warmup != nil {
		writePhase(&b, "warmup", *s.Warmup)
	}
	writePhase(&b, s.Op, s.phase)
	if s.Release != nil {
		writePhase(&b, "release", *s.Release)
	}
	for _, k := range slices.Sorted(maps.Keys(details)) {
		fmt.Fprintf(&b, "  first %s: %s\n", k, details[k])
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(&b, "RESULT %s\n", raw)
	_, err = io.WriteString(w, b.String())
	return err
}

func writePhase(b *strings.Builder, name string, p phase) {
	fmt.Fprintf(b, "  %-9s %d done, %d ok, %d errors in %.3f s: %.1f/s\n", name, p.Completed, p.OK, p.Errors, p.Seconds, p.PerSecond)
	fmt.Fprintf(b, "  %-9s latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", "", p.Latency.P50, p.Latency.P90, p.Latency.P99, p.Latency.Max)
	if p.JobsReturned != nil {
		fmt.Fprintf(b, "  %-9s jobs per reply: %d to %d\n", "", p.JobsReturned[0], p.JobsReturned[1])
	}
	for _, k := range slices.Sorted(maps.Keys(p.ErrorsByStatus)) {
		fmt.Fprintf(b, "  %-9s error %s: %d\n", "", k, p.ErrorsByStatus[k])
	}
}
