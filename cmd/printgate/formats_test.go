package main

import (
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// formatsTest is what ipptool sends a printgate: documents that are not
// what they are sent as, a PDF sent for detection, and a job-name of 1,000
// characters.
const formatsTest = `{
	NAME "text sent as application/pdf is refused"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	ATTR name requesting-user-name bob
	ATTR name job-name text-as-pdf
	ATTR mimeMediaType document-format application/pdf
	FILE letter.txt
	STATUS client-error-document-format-error
	EXPECT !job-id
}
{
	NAME "random bytes sent as application/postscript are refused"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	ATTR name requesting-user-name bob
	ATTR name job-name noise-as-ps
	ATTR mimeMediaType document-format application/postscript
	FILE noise.bin
	STATUS client-error-document-format-error
	EXPECT !job-id
}
{
	NAME "a PDF sent as application/octet-stream is kept as application/pdf"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	ATTR name requesting-user-name bob
	ATTR name job-name detected
	ATTR mimeMediaType document-format application/octet-stream
	FILE slip.pdf
	STATUS successful-ok
	EXPECT job-id OF-TYPE integer WITH-VALUE >0
}
{
	NAME "Get-Job-Attributes says which format was detected"
	OPERATION Get-Job-Attributes
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	ATTR integer job-id $job-id
	ATTR name requesting-user-name bob
	STATUS successful-ok
	EXPECT document-format OF-TYPE mimeMediaType WITH-VALUE "application/pdf"
	EXPECT document-format-detected OF-TYPE mimeMediaType WITH-VALUE "application/pdf"
}
{
	NAME "a job-name of 1,000 characters is cut to IPP's 255 octets"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	ATTR name requesting-user-name bob
	ATTR name job-name "$ENV[LONG_JOB_NAME]"
	ATTR mimeMediaType document-format application/pdf
	FILE slip.pdf
	STATUS successful-ok-ignored-or-substituted-attributes
	EXPECT job-id OF-TYPE integer WITH-VALUE >0
}
`

// TestSubmitFormatsAndNames has ipptool submit documents to a real
// printgate: text sent as a PDF and random bytes sent as PostScript are
// refused with client-error-document-format-error and leave no job and no
// document; a PDF sent as application/octet-stream is kept, and printed,
// as application/pdf; a job-name of 1,000 characters is cut to 255 octets
// at a character boundary, and the printer, a real ippeveprinter, later
// receives that name. A queue with accept_unknown_as_octet_stream keeps
// the text instead, as application/octet-stream.
func TestSubmitFormatsAndNames(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		e := newReleaseEnv(t, dbURL, func(c *Config) {
			c.Queues = append(c.Queues, QueueConfig{Name: "lenient", Mode: "hold", AcceptUnknownAsOctetStream: true})
		})
		dir := t.TempDir()
		pdf := testdocs.PDF(2, "slip", testdocs.A4)
		text := []byte("Dear colleagues,\r\nthe meeting moves to room 4.\r\n")
		noise := make([]byte, 8<<10)
		rand.Read(noise)
		noise[0] = 0 // no format begins so
		for name, b := range map[string][]byte{"slip.pdf": pdf, "letter.txt": text, "noise.bin": noise, "formats.test": []byte(formatsTest)} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		// 1,000 characters, the 255th octet inside a character. ipptool
		// cuts values at 1,023 octets, so most are ASCII.
		long := strings.Repeat("a", 253) + "給与明細" + strings.Repeat("b", 743)
		t.Setenv("LONG_JOB_NAME", long)
		uri := e.srv.PrinterURI("secure")
		if out, err := testenv.RunIpptool(t, dir, "-tI", uri, "formats.test"); err != nil || strings.Contains(out, "FAIL") {
			t.Fatalf("ipptool: %v\n%s\nserver log:\n%s", err, out, e.srv.Log)
		}

		jobs := bobsJobs(t, uri)
		if len(jobs) != 2 {
			t.Fatalf("bob has jobs %v, want the detected PDF and the long name only", jobs)
		}
		if n := len(e.spoolFiles()); n != 2 {
			t.Errorf("%d documents kept, want the 2 accepted ones", n)
		}
		short := strings.Repeat("a", 253) // 給 would end at octet 256
		if jobs["detected"] == 0 || jobs[short] == 0 {
			t.Fatalf("jobs %v lack %q or the long name cut to %d octets", jobs, "detected", len(short))
		}

		sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
		// One at a time: ippeveprinter prints one job at once.
		for _, id := range []int64{jobs["detected"], jobs[short]} {
			if code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}}); code >= 300 {
				t.Fatalf("release: HTTP %d %v", code, out)
			}
			e.waitState("mfp1", sess, id, "completed")
		}
		want := sha256.Sum256(pdf)
		files := e.printer.Files()
		if len(files) != 2 || e.received()[0] != want || e.received()[1] != want {
			t.Errorf("the printer received %v, want the PDF twice", files)
		}
		for _, f := range files {
			if !strings.HasSuffix(f, ".pdf") {
				t.Errorf("the printer kept %s: not sent as application/pdf", filepath.Base(f))
			}
		}
		// printgate forwards at most 127 octets of a name: ippeveprinter
		// refuses one of 253 ("File name too long").
		names := printedNames(t, e.printer.URI)
		if forwarded := short[:127]; !names[forwarded] || !names["detected"] {
			t.Errorf("the printer's jobs are named %v, want %q and the long name cut to %d octets", keysOf(names), "detected", len(forwarded))
		}
		for n := range names {
			if len(n) > 255 || !utf8.ValidString(n) {
				t.Errorf("the printer got a job-name of %d octets", len(n))
			}
		}

		// The lenient queue keeps the text, for the printer to judge.
		lenient := e.srv.PrinterURI("lenient")
		r := ippDo(t, lenient, ippRequest(goipp.OpPrintJob, lenient, "bob", nameVal("job-name", "kept"), mimeVal("application/pdf")), text)
		if status(r) != goipp.StatusOk {
			t.Fatalf("lenient queue: %s %s", status(r), attrValue(r.Operation, "status-message"))
		}
		id, _ := strconv.Atoi(attrValue(r.Job, "job-id"))
		r = ippDo(t, lenient, ippRequest(goipp.OpGetJobAttributes, lenient, "bob", intVal("job-id", id)), nil)
		if f, d := attrValue(r.Job, "document-format"), attrValue(r.Job, "document-format-detected"); f != "application/octet-stream" || d != "" {
			t.Errorf("lenient queue kept the text as %q (detected %q), want application/octet-stream, none detected", f, d)
		}
	})
}

// TestSendDocumentFormat refuses a Send-Document whose document is not
// its format: the Create-Job job keeps waiting for a document, with none
// stored, and takes the right one afterwards.
func TestSendDocumentFormat(t *testing.T) {
	srv := startServer(t, newConfig(t, ""))
	uri := srv.PrinterURI("secure")
	r := ippDo(t, uri, ippRequest(goipp.OpCreateJob, uri, "bob", nameVal("job-name", strings.Repeat("x", 300))), nil)
	if status(r) != goipp.StatusOkIgnoredOrSubstituted {
		t.Fatalf("Create-Job with a job-name of 300 octets: %s", status(r))
	}
	id, _ := strconv.Atoi(attrValue(r.Job, "job-id"))
	send := func(format string, doc []byte) *goipp.Message {
		return ippDo(t, uri, ippRequest(goipp.OpSendDocument, uri, "bob", intVal("job-id", id), boolVal("last-document", true),
			mimeVal(format)), doc)
	}
	r = send("application/pdf", []byte("%!PS-Adobe-3.0\n%%Pages: 1\n"))
	if status(r) != goipp.StatusErrorDocumentFormatError {
		t.Fatalf("PostScript sent as application/pdf: %s, want client-error-document-format-error", status(r))
	}
	if msg := attrValue(r.Operation, "status-message"); !strings.Contains(msg, "PostScript") {
		t.Errorf("status-message %q does not say what the document is", msg)
	}
	if docs := documents(srv.Config); len(docs) != 0 {
		t.Errorf("a refused document was kept: %v", docs)
	}
	r = ippDo(t, uri, ippRequest(goipp.OpGetJobAttributes, uri, "bob", intVal("job-id", id)), nil)
	if st, n := attrValue(r.Job, "job-state"), attrValue(r.Job, "number-of-documents"); st != "4" || n != "0" {
		t.Errorf("after the refusal the job is in state %s with %s documents, want held (4) waiting for its document", st, n)
	}
	if name := attrValue(r.Job, "job-name"); name != strings.Repeat("x", 255) {
		t.Errorf("job-name of %d octets, want 255", len(name))
	}
	if r = send("application/pdf", testdocs.PDF(1, "x", testdocs.A4)); status(r) != goipp.StatusOk {
		t.Fatalf("the right document afterwards: %s", status(r))
	}
}

// bobsJobs lists bob's jobs on the queue at uri by name.
func bobsJobs(t *testing.T, uri string) map[string]int64 {
	t.Helper()
	r := ippDo(t, uri, ippRequest(goipp.OpGetJobs, uri, "bob", boolVal("my-jobs", true), keywordVal("which-jobs", "all"),
		keywordVal("requested-attributes", "job-id", "job-name")), nil)
	out := map[string]int64{}
	for _, g := range jobGroups(r) {
		id, _ := strconv.ParseInt(attrValue(g, "job-id"), 10, 64)
		out[attrValue(g, "job-name")] = id
	}
	return out
}

// printedNames returns the job-names of the jobs a printer completed.
func printedNames(t *testing.T, printerURI string) map[string]bool {
	t.Helper()
	r := ippDo(t, printerURI, ippRequest(goipp.OpGetJobs, printerURI, "printgate", keywordVal("which-jobs", "completed"),
		keywordVal("requested-attributes", "job-name")), nil)
	out := map[string]bool{}
	for _, g := range jobGroups(r) {
		out[attrValue(g, "job-name")] = true
	}
	return out
}

func keysOf(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
