package audit

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"gorm.io/gorm"
)

// benchEventsEnv sets how many events the benchmarks seed; the default
// keeps `go test -bench .` quick, the documented figures use 1e6 and 1e7.
const benchEventsEnv = "PRINTGATE_BENCH_EVENTS"

func benchEvents(b *testing.B) int {
	if s := os.Getenv(benchEventsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 4 {
			b.Fatalf("%s=%q: want a number of events, at least 4", benchEventsEnv, s)
		}
		return n
	}
	return 20000
}

// seed stores about n events, four per job (submitted, released, printed,
// document destroyed) spread over users and a year, exactly as Append
// would store them (same preparation, encoding, hashes and record rows)
// but in large multi-row inserts, so that millions of events load in
// minutes. The chain must be empty.
func seed(tb testing.TB, l *Log, db *database.DB, n, users int) {
	tb.Helper()
	seedWith(tb, l, db, n, users, newHasher(l.chainKey).sum)
}

// seedWith is seed with the event hash sum: chainHash makes a chain as
// versions before the keyed hash wrote it.
func seedWith(tb testing.TB, l *Log, db *database.DB, n, users int, sum func(prev []byte, ev *Event) []byte) {
	tb.Helper()
	const perJob = 4
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 365 * 24 * time.Hour / time.Duration(n)
	rng := rand.New(rand.NewPCG(1, 2))
	var (
		evRows, recRows [][]any
		prev            = zeroHash
		seq             int64
	)
	// Big statements save PostgreSQL round trips; the SQLite driver binds
	// in time quadratic in the parameters, so it gets small ones.
	batch := 2000
	if db.Dialect == database.SQLite {
		batch = 100
	}
	flush := func(final bool) {
		if len(evRows) == 0 || len(evRows) < batch && !final {
			return
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := insertRows(tx, "audit_events", eventColumns, evRows); err != nil {
				return err
			}
			if err := insertRows(tx, "audit_jobs", recordColumns, recRows); err != nil {
				return err
			}
			return tx.Exec(`UPDATE audit_chain SET seq = ?, hash = ? WHERE id = 1`, seq, prev).Error
		})
		if err != nil {
			tb.Fatalf("seed: %v", err)
		}
		evRows, recRows = evRows[:0], recRows[:0]
	}
	scratch := l.getBatch()
	for job := int64(1); seq+perJob <= int64(n); job++ {
		owner := fmt.Sprintf("user%05d", rng.IntN(users))
		sub := submitted(job, owner, fmt.Sprintf("document %d.pdf", job))
		sub.Job.Pages = 1 + rng.IntN(30)
		sub.Job.ColorMode = []string{"color", "monochrome"}[rng.IntN(2)]
		device := fmt.Sprintf("mfp-%02d", rng.IntN(40))
		evs := []Event{
			sub,
			{Type: EventReleased, JobID: job, Actor: owner, Device: device, Method: MethodCard},
			{Type: EventPrinted, JobID: job, Actor: ActorSystem, Outcome: "success"},
			{Type: EventDocumentDestroyed, JobID: job, Actor: ActorSystem},
		}
		for i := range evs {
			ev := &evs[i]
			if err := l.prepare(ev, scratch); err != nil {
				tb.Fatal(err)
			}
			seq++
			ev.Seq, ev.At, ev.PrevHash = seq, dbTime(start.Add(time.Duration(seq)*step)), prev
			ev.Owner, ev.Queue = owner, "office"
			if ev.Job != nil {
				ev.Job.Submitted = ev.At
			}
			ev.Hash = sum(prev, ev)
			prev = ev.Hash
			args, err := eventArgs(ev)
			if err != nil {
				tb.Fatal(err)
			}
			evRows = append(evRows, args)
		}
		rec := recordFrom(&evs[0])
		for i := range evs[1:] {
			rec.apply(&evs[1+i])
		}
		recRows = append(recRows, l.appendRecordArgs(nil, rec))
		flush(false)
	}
	flush(true)
	if db.Dialect == database.Postgres {
		mustExec(tb, db, `ANALYZE audit_events`)
		mustExec(tb, db, `ANALYZE audit_jobs`)
	}
}

func insertRows(tx *gorm.DB, table, columns string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(rows[0])), ", ") + ")"
	q := make([]byte, 0, len(rows)*(len(row)+2)+100)
	q = append(q, "INSERT INTO "+table+" ("+columns+") VALUES "...)
	args := make([]any, 0, len(rows)*len(rows[0]))
	for i, r := range rows {
		if i > 0 {
			q = append(q, ", "...)
		}
		q = append(q, row...)
		args = append(args, r...)
	}
	return tx.Exec(string(q), args...).Error
}

// seeded opens a fresh database and seeds it with n events. Benchmarks
// using b.Loop run their function once, so they seed once.
func seeded(b *testing.B, name string, open func(testing.TB) *database.DB, n, users int) (*Log, *database.DB) {
	b.Helper()
	db := open(b)
	l := newLog(db, newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Second))
	began := time.Now()
	seed(b, l, db, n, users)
	b.Logf("%s: seeded %d events in %v", name, n, time.Since(began).Round(time.Millisecond))
	return l, db
}

func BenchmarkVerify(b *testing.B) {
	n := benchEvents(b)
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			l, _ := seeded(b, d.name, d.opener(b), n, 1000)
			var last Report
			for b.Loop() {
				r, err := l.Verify(context.Background(), 0, 0)
				if err != nil || !r.OK() {
					b.Fatalf("verify: %+v, %v", r, err)
				}
				last = r
			}
			b.ReportMetric(last.EventsPerSecond, "events/s")
		})
	}
}

func BenchmarkExport(b *testing.B) {
	n := benchEvents(b)
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			l, _ := seeded(b, d.name, d.opener(b), n, 1000)
			var peak uint64
			for b.Loop() {
				rows, p, err := exportPeakHeap(l, Format{})
				if err != nil || rows != int64(n/4*4) {
					b.Fatalf("export: %d rows, %v", rows, err)
				}
				peak = max(peak, p)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(n), "events")
		})
	}
}

// exportPeakHeap exports every event to io.Discard and returns the
// highest live heap (as of the latest GC) seen while it ran.
func exportPeakHeap(l *Log, f Format) (int64, uint64, error) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var (
		peak uint64
		mu   sync.Mutex
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		s := slices.Clone(sample)
		for {
			metrics.Read(s)
			mu.Lock()
			peak = max(peak, s[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	rows, err := l.Export(context.Background(), io.Discard, Filter{}, f)
	close(done)
	wg.Wait()
	return rows, peak, err
}

// TestExportMemoryFlat checks that exporting ten times as many events
// does not need more memory: rows stream, nothing collects them.
func TestExportMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 40000 events")
	}
	peak := func(n int) uint64 {
		db := openSQLite(t)
		l := newLog(db, newClock(t0, time.Second))
		seed(t, l, db, n, 100)
		var p uint64
		for range 2 { // the first run warms caches and pools
			rows, pk, err := exportPeakHeap(l, Format{})
			if err != nil || rows != int64(n) {
				t.Fatalf("export %d: %d rows, %v", n, rows, err)
			}
			p = pk
		}
		return p
	}
	small, large := peak(4000), peak(40000)
	t.Logf("peak live heap: %d KiB for 4000 events, %d KiB for 40000", small>>10, large>>10)
	// Holding 36000 more events would take well over 10 MiB.
	if large > small+4<<20 {
		t.Errorf("export memory grows with the number of events: %d KiB → %d KiB", small>>10, large>>10)
	}
}

// BenchmarkHistoryPage measures a user's first history page of 50 rows
// and a page deep in the history (a cursor half way back), reporting the
// median and 99th percentile latency. Run it on PostgreSQL holding 1e6 or
// 1e7 events with PRINTGATE_BENCH_EVENTS.
func BenchmarkHistoryPage(b *testing.B) {
	n := benchEvents(b)
	const users = 2000
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			l, _ := seeded(b, d.name, d.opener(b), n, users)
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(3, 4))
			var lat []time.Duration
			for b.Loop() {
				q := HistoryQuery{User: fmt.Sprintf("user%05d", rng.IntN(users)), Limit: 50}
				if rng.IntN(2) == 1 {
					mid := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
					q.Cursor = encodeCursor(mid, 0)
				}
				began := time.Now()
				page, err := l.History(ctx, q)
				lat = append(lat, time.Since(began))
				if err != nil {
					b.Fatal(err)
				}
				if q.Cursor == "" && n >= 400*users && len(page.Jobs) != 50 {
					b.Fatalf("%d rows for %s", len(page.Jobs), q.User)
				}
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(n), "events")
		})
	}
}

// BenchmarkAppend measures appends as submissions make them, two events
// per job (submitted, held), 64 events per round: each Append in a
// transaction of its own (as printgate did before group commit), 64
// Appends in one transaction, and one AppendBatch of 64, on each
// database. events/s is the figure to compare.
func BenchmarkAppend(b *testing.B) {
	const perRound = 64
	ways := []struct {
		name string
		run  func(b *testing.B, l *Log, db *database.DB, evs []Event)
	}{
		{"append-tx-each", func(b *testing.B, l *Log, db *database.DB, evs []Event) {
			for _, ev := range evs {
				appendTx(b, l, db, ev)
			}
		}},
		{"append-one-tx", func(b *testing.B, l *Log, db *database.DB, evs []Event) {
			err := db.Transaction(func(tx *gorm.DB) error {
				for _, ev := range evs {
					if _, err := l.Append(context.Background(), tx, ev); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}},
		{"batch", func(b *testing.B, l *Log, db *database.DB, evs []Event) {
			appendBatchTx(b, l, db, evs)
		}},
	}
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			open := d.opener(b)
			for _, w := range ways {
				b.Run(w.name, func(b *testing.B) {
					db := open(b)
					l := New(db, Options{Key: testKey})
					evs := make([]Event, perRound)
					job, rounds := int64(0), 0
					b.ReportAllocs()
					for b.Loop() {
						for i := 0; i < perRound; i += 2 {
							job++
							evs[i] = submitted(job, "alice", "document.pdf")
							evs[i+1] = Event{Type: EventHeld, JobID: job, Owner: "alice", Queue: "office", Actor: ActorSystem}
						}
						w.run(b, l, db, evs)
						rounds++
					}
					b.ReportMetric(float64(rounds*perRound)/b.Elapsed().Seconds(), "events/s")
				})
			}
		})
	}
}
