package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testenv"
)

// TestIPPEverywhere runs CUPS's stock ipp-everywhere.test (PWG 5100.14,
// which includes ipp-2.0.test and ipp-1.1.test) against a direct queue
// and a hold queue, each in front of a real ippeveprinter, after checking
// that the queue advertises what its printer can do rather than
// printgate's defaults.
//
// The PWG raster sample files the suite prints are made here with
// Ghostscript, into a copy of the suite: one real file for each
// resolution and type the queue advertises, a placeholder for the rest,
// whose tests the suite skips (it reads every FILE when it parses).
//
// On the hold queue the tests of ipp-1.1.test that need a job to have
// completed are left out, since a held job completes only after its owner
// releases it at a device: "Get-Job-Attributes Until Job Complete" waits
// for it; "Get-Jobs Operation (which-jobs=completed)" and "(which-jobs,
// requested-attributes)" expect it among the completed jobs; "Cancel-Job
// Operation (completed job)" expects cancelling it to be impossible (a
// held job can be cancelled); and "Release-Job" releases a job to print
// from the client, which a hold queue refuses (jobs print where their
// owner signs in).
func TestIPPEverywhere(t *testing.T) {
	ipptool := testenv.Tool(t, "ipptool")
	gs := testenv.Tool(t, "gs")
	docs, err := filepath.Abs("../../testdata/ipptool")
	if err != nil {
		t.Fatal(err)
	}
	forEachDB(t, func(t *testing.T, dbURL string) {
		t.Run("direct", func(t *testing.T) {
			printer := testenv.IPPEvePrinter(t)
			srv := startServer(t, newConfig(t, dbURL,
				QueueConfig{Name: "lobby", Mode: "direct", Printer: printer.URI}))
			runEverywhere(t, ipptool, gs, docs, srv, "lobby", printer.URI)
		})
		t.Run("hold", func(t *testing.T) {
			e := newReleaseEnv(t, dbURL, nil)
			runEverywhere(t, ipptool, gs, docs, e.srv, "secure", e.printer.URI,
				"Get-Job-Attributes Until Job Complete",
				"RFC 8011 section 4.2.6: Get-Jobs Operation (which-jobs=completed)",
				"RFC 8011 section 4.2.6: Get-Jobs Operation (which-jobs, requested-attributes)",
				"RFC 8011 section 4.3.3: Cancel-Job Operation (completed job)",
				"Release-Job")
		})
	})
}

// runEverywhere waits for queue to advertise its printer's media, makes
// the suite's directory and runs ipp-everywhere.test, without the tests
// named in skip.
func runEverywhere(t *testing.T, ipptool, gs, docs string, srv *testServer, queue, printerURI string, skip ...string) {
	t.Helper()
	uri := srv.PrinterURI(queue)
	want := printerAttrs(t, printerURI)
	var got goipp.Attributes
	if !testenv.Eventually(func() bool {
		got = printerAttrs(t, uri)
		return slices.Equal(values(got, "media-supported"), values(want, "media-supported"))
	}) {
		t.Fatalf("queue advertises media %v, its printer has %v", values(got, "media-supported"), values(want, "media-supported"))
	}
	for _, name := range []string{"sides-supported", "pwg-raster-document-resolution-supported"} {
		if g, w := values(got, name), values(want, name); !slices.Equal(g, w) {
			t.Errorf("queue advertises %s %v, its printer %v", name, g, w)
		}
	}
	for _, icon := range values(got, "printer-icons") {
		checkIcon(t, icon)
	}

	dir := everywhereSuite(t, gs, docs, got, skip)
	cmd := exec.Command(ipptool, "-tI", "-V", "2.0", "-f", "document-a4.pdf", uri, "ipp-everywhere.test")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ipptool ipp-everywhere.test: %v\n%s\nserver log:\n%s", err, out, srv.Log)
	}
	if n := bytes.Count(out, []byte("[PASS]")); n < 45 || bytes.Contains(out, []byte("[FAIL]")) {
		t.Fatalf("ipptool ipp-everywhere.test: %d tests passed, want at least 45 and no failures\n%s", n, out)
	}
	// The suite prints the raster samples of what the queue advertises:
	// check it did, and did not skip them all.
	if !regexp.MustCompile(`Print onepage-a4 @ \d+dpi, s(gray|rgb)-8 +\[PASS\]`).Match(out) {
		t.Fatalf("ipptool printed no PWG raster sample:\n%s", out)
	}
	for _, s := range skip {
		ran := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(s[:min(len(s), 60)]) + `[^\n]*\[(PASS|FAIL|SKIP)\]`)
		if ran.Match(out) {
			t.Errorf("ipptool ran %q, which was to be left out", s)
		}
	}
}

// printerAttrs asks uri for all its attributes.
func printerAttrs(t *testing.T, uri string) goipp.Attributes {
	t.Helper()
	m := ippRequest(goipp.OpGetPrinterAttributes, uri, "tester",
		keywordVal("requested-attributes", "all", "media-col-database"))
	r := ippDo(t, uri, m, nil)
	if status(r) != goipp.StatusOk {
		t.Fatalf("Get-Printer-Attributes %s: %s", uri, status(r))
	}
	return r.Printer
}

// values returns the values of attribute name as strings.
func values(attrs goipp.Attributes, name string) []string {
	for _, a := range attrs {
		if a.Name == name {
			out := make([]string, len(a.Values))
			for i, v := range a.Values {
				out[i] = v.V.String()
			}
			return out
		}
	}
	return nil
}

// checkIcon fetches a printer-icons URI and checks it is a PNG.
func checkIcon(t *testing.T, uri string) {
	t.Helper()
	resp, err := http.Get(uri)
	if err != nil {
		t.Fatalf("get icon: %v", err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" ||
		!bytes.HasPrefix(b.Bytes(), []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("icon %s: %s %s, %d bytes", uri, resp.Status, resp.Header.Get("Content-Type"), b.Len())
	}
}

// rasterTypes maps a sample directory's type to the
// pwg-raster-document-type-supported keyword and Ghostscript's pwgraster
// colour space and bits per colour.
var rasterTypes = map[string]struct {
	keyword    string
	space, bpc int
}{
	"black-1": {"black_1", 3, 1},
	"sgray-8": {"sgray_8", 18, 8},
	"srgb-8":  {"srgb_8", 19, 8},
	"srgb-16": {"srgb_16", 19, 16},
	"cmyk-8":  {"cmyk_8", 6, 8},
}

var sampleFile = regexp.MustCompile(`(?m)^\s*FILE (pwg-raster-samples-(\d+)dpi/([a-z0-9-]+)/\S+\.pwg)$`)

// everywhereSuite returns a directory holding CUPS's test files (without
// the tests named in skip), the documents of testdata/ipptool and the PWG
// raster samples that ipp-everywhere.test names: real ones, made with gs
// from a one-page A4 PDF, for what the queue (with attributes attrs)
// advertises, placeholders for the rest.
func everywhereSuite(t *testing.T, gs, docs string, attrs goipp.Attributes, skip []string) string {
	t.Helper()
	dir := t.TempDir()
	for _, glob := range []string{"/usr/share/cups/ipptool/*.test", filepath.Join(docs, "*")} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(f, ".test") {
				data = withoutTests(data, skip)
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	suite, err := os.ReadFile(filepath.Join(dir, "ipp-everywhere.test"))
	if err != nil {
		t.Fatal(err)
	}
	resolutions := values(attrs, "pwg-raster-document-resolution-supported")
	types := values(attrs, "pwg-raster-document-type-supported")
	made := map[string][]byte{} // "300/sgray-8" → raster
	for _, m := range sampleFile.FindAllStringSubmatch(string(suite), -1) {
		path, res, typ := m[1], m[2], m[3]
		data := []byte("placeholder: not advertised, the suite skips this test\n")
		rt, known := rasterTypes[typ]
		if known && slices.Contains(resolutions, res+"x"+res+"dpi") && slices.Contains(types, rt.keyword) {
			key := res + "/" + typ
			if made[key] == nil {
				made[key] = pwgRaster(t, gs, filepath.Join(docs, "onepage-a4.pdf"), res, rt.space, rt.bpc)
			}
			data = made[key]
		}
		full := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if len(made) == 0 {
		t.Fatalf("no PWG raster sample matches what the queue advertises (%v, %v)", resolutions, types)
	}
	return dir
}

// pwgRaster renders pdf as PWG raster.
func pwgRaster(t *testing.T, gs, pdf, res string, space, bpc int) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.pwg")
	cmd := exec.Command(gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pwgraster",
		"-r"+res, fmt.Sprintf("-dcupsColorSpace=%d", space), fmt.Sprintf("-dcupsBitsPerColor=%d", bpc),
		"-sOutputFile="+out, pdf)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gs: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// withoutTests removes from a CUPS test file the top-level test blocks
// ("{" to "}" at the start of a line) whose NAME is in names.
func withoutTests(data []byte, names []string) []byte {
	if len(names) == 0 {
		return data
	}
	var out, block []string
	in := false
	for _, line := range strings.SplitAfter(string(data), "\n") {
		switch {
		case !in && strings.TrimRight(line, "\r\n") == "{":
			in, block = true, []string{line}
		case in:
			block = append(block, line)
			if strings.TrimRight(line, "\r\n") == "}" {
				in = false
				if !slices.ContainsFunc(names, func(n string) bool {
					return strings.Contains(strings.Join(block, ""), "NAME \""+n+"\"")
				}) {
					out = append(out, block...)
				}
			}
		default:
			out = append(out, line)
		}
	}
	return []byte(strings.Join(out, ""))
}

// TestPageRanges prints page 2 of a two-page PDF through a direct queue:
// the queue advertises page-ranges (its ippeveprinter supports them), the
// job keeps them and counts one page, and the printer's own job has them.
func TestPageRanges(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		printer := testenv.IPPEvePrinter(t)
		srv := startServer(t, newConfig(t, dbURL,
			QueueConfig{Name: "lobby", Mode: "direct", Printer: printer.URI}))
		uri := srv.PrinterURI("lobby")
		testenv.WaitFor(t, "the queue to advertise page-ranges, as its printer supports them", func() bool {
			return attrValue(printerAttrs(t, uri), "page-ranges-supported") == "true"
		})
		doc, err := os.ReadFile("../../testdata/ipptool/document-a4.pdf") // two pages
		if err != nil {
			t.Fatal(err)
		}
		m := ippRequest(goipp.OpPrintJob, uri, "bob", nameVal("job-name", "page two"), mimeVal("application/pdf"))
		m.Job.Add(goipp.MakeAttribute("page-ranges", goipp.TagRange, goipp.Range{Lower: 2, Upper: 2}))
		r := ippDo(t, uri, m, doc)
		if status(r) != goipp.StatusOk {
			t.Fatalf("Print-Job with page-ranges: %s %v", status(r), r.Unsupported)
		}
		id := attrValue(r.Job, "job-id")
		var job goipp.Attributes
		var n int
		fmt.Sscan(id, &n)
		testenv.WaitFor(t, "the job to complete", func() bool {
			g := ippRequest(goipp.OpGetJobAttributes, uri, "bob", intVal("job-id", n))
			job = ippDo(t, uri, g, nil).Job
			return attrValue(job, "job-state") == "9" // completed
		})
		if got := attrValue(job, "page-ranges"); got != "2-2" {
			t.Errorf("job page-ranges = %q, want 2-2", got)
		}
		if got := attrValue(job, "job-impressions"); got != "1" {
			t.Errorf("job-impressions = %q, want 1 (the pages selected)", got)
		}
		g := ippRequest(goipp.OpGetJobs, printer.URI, "bob", keywordVal("which-jobs", "all"),
			keywordVal("requested-attributes", "job-id", "page-ranges"))
		jobs := jobGroups(ippDo(t, printer.URI, g, nil))
		if len(jobs) != 1 || attrValue(jobs[0], "page-ranges") != "2-2" {
			t.Fatalf("printer's jobs: %v, want one with page-ranges 2-2", jobs)
		}
	})
}
