package release

import (
	"bytes"
	"slices"
	"testing"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// TestPrinterURIs: the printer refresh covers the enabled devices'
// printers and the direct queues', each once.
func TestPrinterURIs(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		const a, b, direct = "ipp://127.0.0.1:1/a", "ipp://127.0.0.1:1/b", "socket://127.0.0.1:1"
		svc, _ := startService(t, db, Options{Queues: []Queue{{Name: "secure", Mode: Hold},
			{Name: "now", Mode: Direct, Printer: direct}, {Name: "also-now", Mode: Direct, Printer: a}}})
		for _, d := range []DeviceSpec{{Name: "one", Printer: a}, {Name: "two", Printer: a}, {Name: "off", Printer: b}} {
			d.Queues, d.Methods = []string{"secure"}, []string{MethodCard}
			if _, _, err := svc.Admin().AddDevice(t.Context(), d, "admin"); err != nil {
				t.Fatal(err)
			}
		}
		if err := svc.Admin().SetDeviceEnabled(t.Context(), "off", false, "admin"); err != nil {
			t.Fatal(err)
		}
		uris, err := svc.printerURIs(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(uris)
		if want := []string{a, direct}; !slices.Equal(uris, want) {
			t.Errorf("printers to refresh %v, want %v", uris, want)
		}
	})
}

// TestDirectQueueDowngrade: a direct queue's two-sided job on a one-sided
// printer prints one-sided, and its printed event says so.
func TestDirectQueueDowngrade(t *testing.T) {
	printer := testenv.IPPEvePrinter(t)
	db := openSQLite(t)
	svc, log := startService(t, db, Options{Queues: []Queue{{Name: "now", Mode: Direct, Printer: printer.URI,
		Formats: []string{"application/pdf"}, MaxSize: 1 << 20}}})
	j, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "now", User: "hanako", Name: "minutes",
		Copies: 1, Sides: "two-sided-long-edge", Document: ipp.DocumentInfo{Format: "application/pdf"}},
		bytes.NewReader(testdocs.PDF(2, "minutes", testdocs.A4)))
	if err != nil {
		t.Fatal(err)
	}
	var printed *audit.Event
	testenv.WaitFor(t, "the job to print", func() bool {
		events, err := log.Timeline(t.Context(), int64(j.ID))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			if ev.Type == audit.EventPrinted {
				printed = &ev
			}
		}
		return printed != nil
	})
	if printed.Details["downgraded"] != "sides" || printed.Details["sides"] != "two-sided-long-edge -> one-sided" {
		t.Errorf("printed event details %v, want the sides downgrade", printed.Details)
	}
}
