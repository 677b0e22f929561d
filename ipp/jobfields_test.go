package ipp

import (
	"reflect"
	"testing"
	"time"
)

// TestJobAttrsNeedTheirFields makes every job attribute from a job with
// every field set and from the same job keeping only the fields the
// attribute declares it needs. A listing fills only the fields its
// attributes need (JobQuery.Fields), so a declaration that misses a field
// shows that attribute wrong in Get-Jobs.
func TestJobAttrsNeedTheirFields(t *testing.T) {
	s := NewServer(nil, nil)
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	full := Job{ID: 7, Queue: "q", Name: "2026年11月 給与明細", Owner: "alice", State: JobProcessing,
		Reasons: []string{"job-hold-until-specified"}, Message: "printing on floor 3",
		Created: at, Processed: at.Add(time.Minute), Completed: at.Add(2 * time.Minute),
		Format: "application/pdf", FormatDetected: "application/pdf", Size: 5000, Pages: 3, Copies: 2,
		Sides: "two-sided-long-edge", ColorMode: "monochrome", Media: "iso_a5_148x210mm",
		HoldUntil: "indefinite", PageRanges: "1-2", Incoming: true}
	// Every field set, so that an attribute reading one it does not
	// declare shows a difference; a field added to Job must be set here
	// and kept by Only.
	v := reflect.ValueOf(full)
	for i := range v.NumField() {
		if v.Field(i).IsZero() && v.Type().Field(i).Name != "HasPassword" {
			t.Errorf("the test's job leaves %s unset", v.Type().Field(i).Name)
		}
	}
	if got := full.Only(AllFields); !reflect.DeepEqual(got, full) {
		t.Errorf("Only(AllFields) = %+v; want the whole job %+v", got, full)
	}
	for _, lang := range []string{langEn, langJa} {
		loc := location{scheme: "ipp", host: "printgate.example:631", lang: lang}
		for _, a := range jobAttrs {
			if a.name == "job-printer-up-time" {
				continue // the server's clock, read twice; no field of the job
			}
			want := a.make(s, full, loc)
			got := a.make(s, full.Only(a.needs), loc)
			if !got.Equal(want) {
				t.Errorf("%s (%s) from the fields it declares: %v; from every field: %v", a.name, lang, got, want)
			}
		}
	}
}

// TestSelectionFields checks the fields asked of a listing for requests
// as clients send them.
func TestSelectionFields(t *testing.T) {
	tests := []struct {
		requested []string
		want      JobFields
	}{
		{[]string{"job-id", "job-uri"}, 0},
		{[]string{"job-id", "job-name", "job-state", "job-originating-user-name", "job-k-octets", "time-at-creation"},
			FieldName | FieldState | FieldSize | FieldCreated},
		{[]string{"job-state-message"}, FieldState | FieldReasons | FieldMessage},
		{[]string{"job-impressions", "document-format-detected"}, FieldPages | FieldCopies | FieldFormat},
		{[]string{"all"}, AllFields},
		{nil, AllFields},
		{[]string{"job-template"}, FieldCopies | FieldHoldUntil | FieldMedia | FieldPageRanges | FieldSides | FieldColorMode},
	}
	for _, tt := range tests {
		if got := selectJobAttrs(tt.requested...).fields(); got != tt.want {
			t.Errorf("fields for %q = %b, want %b", tt.requested, got, tt.want)
		}
	}
}
