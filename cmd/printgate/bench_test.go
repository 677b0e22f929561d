package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// BenchmarkPrintJob measures held Print-Job submissions of a one-page PDF
// per second, with 1 and 8 concurrent clients, on each database. Every
// submission is encrypted, hashed and fsynced, and its row committed,
// before the reply.
func BenchmarkPrintJob(b *testing.B) {
	pdf := testdocs.PDF(1, "benchmark", testdocs.A4)
	for _, db := range []string{"sqlite", "postgres"} {
		for _, clients := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/clients=%d", db, clients), func(b *testing.B) {
				url := ""
				if db == "postgres" {
					url = testenv.Postgres(b)
				}
				cfg := newConfig(b, url)
				cfg.Log.Level = "warn"
				p := startProcess(b, cfg)
				defer p.kill()
				uri := "ipp://" + cfg.Server.Listen[0] + "/ipp/print/secure"
				b.SetBytes(int64(len(pdf)))
				b.SetParallelism((clients + 1) / 2) // GOMAXPROCS is 2 here
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						r := ippDo(b, uri, ippRequest(goipp.OpPrintJob, uri, "bench", mimeVal("application/pdf")), pdf)
						if status(r) != goipp.StatusOk {
							b.Errorf("Print-Job: %s", status(r))
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
			})
		}
	}
}

// BenchmarkLargeDocument sends one document of 64 MiB and one of 1 GiB to
// a printgate process and reports how far its peak resident memory grew:
// streaming keeps it flat in the document size.
func BenchmarkLargeDocument(b *testing.B) {
	for _, size := range []int64{64 << 20, 1 << 30} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			cfg := newConfig(b, "")
			cfg.Log.Level = "warn"
			cfg.Queues[0].MaxDocumentMB = 2048
			cfg.Queues[0].AcceptUnknownAsOctetStream = true // postLarge's document is of no format
			p := startProcess(b, cfg)
			defer p.kill()
			uri := "ipp://" + cfg.Server.Listen[0] + "/ipp/print/secure"
			before := procStatus(b, p.cmd.Process.Pid, "VmRSS")
			b.SetBytes(size)
			b.ResetTimer()
			for range b.N {
				if st := postLarge(b, uri, size); st != goipp.StatusOk {
					b.Fatalf("Print-Job: %s", st)
				}
			}
			b.StopTimer()
			peak := procStatus(b, p.cmd.Process.Pid, "VmHWM")
			b.ReportMetric(float64(peak-before)/(1<<20), "MiB-rss-growth")
		})
	}
}

// postLarge streams size bytes of a generated document in a Print-Job, as
// application/octet-stream: the bytes are of no format, so only a queue
// with accept_unknown_as_octet_stream keeps them.
func postLarge(tb testing.TB, uri string, size int64) goipp.Status {
	hdr, err := ippRequest(goipp.OpPrintJob, uri, "bench", mimeVal("application/octet-stream")).EncodeBytes()
	if err != nil {
		tb.Fatal(err)
	}
	body := io.MultiReader(strings.NewReader(string(hdr)), io.LimitReader(repeatReader{}, size))
	resp, err := http.Post("http://"+strings.TrimPrefix(uri, "ipp://"), goipp.ContentType, body)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var reply goipp.Message
	if err := reply.Decode(resp.Body); err != nil {
		tb.Fatalf("decode: %v", err)
	}
	return goipp.Status(reply.Code)
}

// repeatReader yields an endless document without holding it in memory.
type repeatReader struct{}

func (repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i % 251)
	}
	return len(p), nil
}

// procStatus reads a kB field of /proc/PID/status, in bytes.
func procStatus(tb testing.TB, pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb << 10
		}
	}
	tb.Fatalf("%s not in /proc/%d/status", field, pid)
	return 0
}

// TestLargeDocumentMemoryFlat holds the streaming promise in make test: a
// 256 MiB document must not grow printgate's resident memory by more than
// a fraction of its size.
func TestLargeDocumentMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 256 MiB")
	}
	cfg := newConfig(t, "")
	cfg.Log.Level = "warn"
	cfg.Queues[0].AcceptUnknownAsOctetStream = true // postLarge's document is of no format
	p := startProcess(t, cfg)
	uri := "ipp://" + cfg.Server.Listen[0] + "/ipp/print/secure"
	before := procStatus(t, p.cmd.Process.Pid, "VmRSS")
	if st := postLarge(t, uri, 256<<20); st != goipp.StatusOk {
		t.Fatalf("Print-Job: %s", st)
	}
	if growth := procStatus(t, p.cmd.Process.Pid, "VmHWM") - before; growth > 48<<20 {
		t.Errorf("resident memory grew by %d MiB for a 256 MiB document", growth>>20)
	}
}
