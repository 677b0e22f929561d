package release

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// defaultFormats are the formats of a queue configured without a list.
var defaultFormats = []string{"application/pdf", "application/octet-stream", "application/postscript",
	"image/jpeg", "image/pwg-raster", "image/urf"}

func noise(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestCheckFormat(t *testing.T) {
	pdf := testdocs.PDF(1, "format", testdocs.A4)
	text := []byte("Dear colleagues,\r\nthe meeting moves to room 4.\r\n")
	pjlPS := append([]byte("\x1b%-12345X@PJL JOB\r\n@PJL ENTER LANGUAGE=POSTSCRIPT\r\n"), testdocs.DSC(1, "x", testdocs.A4)...)
	withText := append(append([]string(nil), defaultFormats...), "text/plain", "image/tiff", "application/vnd.hp-hpgl")
	tests := []struct {
		name     string
		formats  []string
		accept   bool // AcceptUnknownAsOctetStream
		declared string
		doc      []byte
		kept     string // the format kept; "" when refused
		supplied string // FormatSupplied
		err      error
		says     string // in the refusal's message
	}{
		{"pdf as pdf", defaultFormats, false, "application/pdf", pdf, "application/pdf", "", nil, ""},
		{"pdf with a type's parameters", defaultFormats, false, "Application/PDF; version=1.7", pdf, "Application/PDF; version=1.7", "", nil, ""},
		{"text as pdf", defaultFormats, false, "application/pdf", text, "", "", ErrFormatError,
			"The document was sent as application/pdf, but its content is plain text."},
		{"random bytes as postscript", defaultFormats, false, "application/postscript", noise(2048), "", "", ErrFormatError,
			"but its content is in no format this server recognises"},
		{"pdf as jpeg", defaultFormats, false, "image/jpeg", pdf, "", "", ErrFormatError, "but its content is a PDF document"},
		{"postscript in a pjl header", defaultFormats, false, "application/postscript", pjlPS, "application/postscript", "", nil, ""},
		{"pdf as octet-stream", defaultFormats, false, "application/octet-stream", pdf, "application/pdf", "application/octet-stream", nil, ""},
		{"pwg raster as octet-stream", defaultFormats, false, "application/octet-stream", testdocs.PWGRaster(1), "image/pwg-raster", "application/octet-stream", nil, ""},
		{"text as octet-stream, not accepted", defaultFormats, false, "application/octet-stream", text, "", "", ErrFormatNotSupported,
			"The document is plain text, which this queue does not accept."},
		{"random bytes as octet-stream", defaultFormats, false, "application/octet-stream", noise(100), "", "", ErrFormatError,
			"The document's format could not be recognised"},
		{"text as text", withText, false, "text/plain; charset=utf-8", []byte("給与明細\n"), "text/plain; charset=utf-8", "", nil, ""},
		{"text as octet-stream, accepted", withText, false, "application/octet-stream", text, "text/plain", "application/octet-stream", nil, ""},
		{"random bytes as tiff, unrecognisable", withText, false, "image/tiff", noise(100), "image/tiff", "", nil, ""},
		{"pdf as tiff", withText, false, "image/tiff", pdf, "", "", ErrFormatError, "a PDF document"},
		{"text as hp-gl", withText, false, "application/vnd.hp-hpgl", []byte("IN;SP1;PA0,0;PD100,100;"), "application/vnd.hp-hpgl", "", nil, ""},
		{"no list takes any format found", nil, false, "application/octet-stream", text, "text/plain", "application/octet-stream", nil, ""},

		// A queue that accepts unknown content keeps it.
		{"text as pdf, accepted", defaultFormats, true, "application/pdf", text, "application/octet-stream", "application/pdf", nil, ""},
		{"pdf as jpeg, accepted", defaultFormats, true, "image/jpeg", pdf, "application/pdf", "image/jpeg", nil, ""},
		{"random bytes as octet-stream, accepted", defaultFormats, true, "application/octet-stream", noise(100), "application/octet-stream", "", nil, ""},
		{"text as octet-stream, kept as octet-stream", defaultFormats, true, "application/octet-stream", text, "application/octet-stream", "", nil, ""},
		{"pdf as pdf, accepted", defaultFormats, true, "application/pdf", pdf, "application/pdf", "", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := Queue{Name: "q", Formats: tc.formats, AcceptUnknownAsOctetStream: tc.accept}
			j := Job{Format: tc.declared}
			err := checkFormat(q, &j, tc.doc)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				r, ok := errors.AsType[*Refusal](err)
				if !ok || !strings.Contains(r.Message, tc.says) || len(r.Message) > 255 {
					t.Errorf("refusal %q, want one of at most 255 octets saying %q", err, tc.says)
				}
				return
			}
			if j.Format != tc.kept || j.FormatSupplied != tc.supplied {
				t.Errorf("kept %q (supplied %q), want %q (supplied %q)", j.Format, j.FormatSupplied, tc.kept, tc.supplied)
			}
		})
	}
}

// TestRefusedFormatLeavesNothing sends documents that are not what they
// are declared as, small (kept in the database) and large (kept in a
// file), through Print-Job and Send-Document: each is refused with
// ipp.ErrFormatError, and leaves no job, no spool file, no document row
// and no audit event; a Create-Job job keeps waiting for its document.
// A PDF sent as application/octet-stream is kept as a PDF, counted, and
// recorded with the format its client supplied.
func TestRefusedFormatLeavesNothing(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, log := startService(t, db, Options{SmallDocument: 64 << 10, Queues: []Queue{
			{Name: "secure", Mode: Hold, Formats: defaultFormats, MaxSize: 8 << 20}}})
		ctx := t.Context()
		req := func(format string) ipp.JobRequest {
			return ipp.JobRequest{Queue: "secure", User: "hanako", Name: "slip", Document: ipp.DocumentInfo{Format: format}}
		}
		bigText := bytes.Repeat([]byte("a long letter, line after line\n"), 10_000) // 310 KB: a spool file
		refused := []struct {
			name, format string
			doc          []byte
		}{
			{"small text as pdf", "application/pdf", []byte("hello\n")},
			{"large text as pdf", "application/pdf", bigText},
			{"random bytes as postscript", "application/postscript", noise(200 << 10)},
			{"pdf as jpeg", "image/jpeg", testdocs.PDF(2, "x", testdocs.A4)},
			{"random bytes as octet-stream", "application/octet-stream", noise(1000)},
		}
		nothingLeft := func(t *testing.T, jobs int64) {
			t.Helper()
			var n, docs int64
			db.Model(&Job{}).Count(&n)
			db.Model(&jobDocument{}).Count(&docs)
			files, err := svc.spool.List()
			if err != nil {
				t.Fatal(err)
			}
			var events int64
			db.Raw("SELECT COUNT(*) FROM audit_events").Scan(&events)
			if n != jobs || docs != 0 || len(files) != 0 || events != 0 {
				t.Errorf("left %d jobs (want %d), %d document rows, spool files %v, %d audit events", n, jobs, docs, files, events)
			}
			if used := svc.used.Load(); used != 0 {
				t.Errorf("the spool counts %d bytes", used)
			}
		}
		for _, tc := range refused {
			t.Run("print-job "+tc.name, func(t *testing.T) {
				_, err := svc.IPP().PrintJob(ctx, req(tc.format), bytes.NewReader(tc.doc))
				if !errors.Is(err, ipp.ErrFormatError) {
					t.Fatalf("err = %v, want ipp.ErrFormatError", err)
				}
				nothingLeft(t, 0)
			})
		}

		incoming, err := svc.IPP().CreateJob(ctx, req(""))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range refused {
			t.Run("send-document "+tc.name, func(t *testing.T) {
				_, err := svc.IPP().SendDocument(ctx, ipp.DocumentRequest{JobTarget: ipp.JobTarget{Queue: "secure",
					ID: incoming.ID, User: "hanako"}, Document: ipp.DocumentInfo{Format: tc.format}, Last: true},
					bytes.NewReader(tc.doc))
				if !errors.Is(err, ipp.ErrFormatError) {
					t.Fatalf("err = %v, want ipp.ErrFormatError", err)
				}
				nothingLeft(t, 1)
				if j, err := svc.load(ctx, "secure", int64(incoming.ID)); err != nil || j.State != StateIncoming || j.Spool != "" {
					t.Errorf("the Create-Job job is %+v (%v), want it incoming without a document", j, err)
				}
			})
		}

		t.Run("pdf as octet-stream", func(t *testing.T) {
			ij, err := svc.IPP().PrintJob(ctx, req("application/octet-stream"), bytes.NewReader(testdocs.PDF(3, "x", testdocs.A4)))
			if err != nil {
				t.Fatal(err)
			}
			if ij.Format != "application/pdf" || ij.FormatDetected != "application/pdf" {
				t.Errorf("job format %q, detected %q; want application/pdf for both", ij.Format, ij.FormatDetected)
			}
			rec, err := log.Job(ctx, int64(ij.ID))
			if err != nil {
				t.Fatal(err)
			}
			if rec.Format != "application/pdf" || !rec.PagesKnown || rec.Pages != 3 {
				t.Errorf("recorded as %q with %d pages (known %v), want application/pdf, 3 pages", rec.Format, rec.Pages, rec.PagesKnown)
			}
			events, err := log.Timeline(ctx, int64(ij.ID))
			if err != nil || len(events) == 0 || events[0].Type != audit.EventSubmitted ||
				events[0].Details["format-supplied"] != "application/octet-stream" {
				t.Errorf("the submitted event does not keep the format supplied: %+v (%v)", events, err)
			}
		})
	})
}
