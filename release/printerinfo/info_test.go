package printerinfo

import (
	"reflect"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"
)

func TestBlocking(t *testing.T) {
	tests := []struct {
		reason string
		want   bool
	}{
		{"media-empty-error", true},
		{"media-jam-error", true},
		{"door-open-error", true},
		{"toner-empty-error", true},
		{"com.vendor.anything-error", true},
		{"offline-report", true},
		{"offline", true},
		{"paused", true},
		{"shutdown-warning", true},
		{"media-empty", true}, // no suffix: RFC 8011 says read it as an error
		{"media-jam", true},
		{"media-empty-report", false},
		{"media-empty-warning", false},
		{"toner-low-warning", false},
		{"toner-low", false},
		{"identify-printer-requested", false},
		{"cups-waiting-for-job-completed", false},
		{"none", false},
	}
	for _, tt := range tests {
		if got := Blocking(tt.reason); got != tt.want {
			t.Errorf("Blocking(%q) = %v, want %v", tt.reason, got, tt.want)
		}
	}
}

func TestUnavailable(t *testing.T) {
	ok := Status{Reachable: true, Answered: true, State: Idle, Accepting: true}
	with := func(f func(*Status)) Status {
		s := ok
		f(&s)
		return s
	}
	tests := []struct {
		name string
		st   Status
		want string
	}{
		{"idle", ok, ""},
		{"processing", with(func(s *Status) { s.State = Processing }), ""},
		{"warning only", with(func(s *Status) { s.Reasons = []string{"toner-low-warning"} }), ""},
		{"unreachable", Status{}, "printer-unreachable"},
		{"socket, connects", Status{Reachable: true, Accepting: true}, ""},
		{"stopped", with(func(s *Status) { s.State, s.Reasons = Stopped, []string{"paused"} }), "printer-stopped"},
		{"not accepting", with(func(s *Status) { s.Accepting = false }), "printer-not-accepting-jobs"},
		{"jam", with(func(s *Status) { s.State, s.Reasons = Processing, []string{"toner-low-warning", "media-jam-error"} }), "media-jam-error"},
		{"offline", with(func(s *Status) { s.Reasons = []string{"offline-report"} }), "offline-report"},
	}
	for _, tt := range tests {
		if got := tt.st.Unavailable(); got != tt.want {
			t.Errorf("%s: Unavailable() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	var attrs goipp.Attributes
	add := func(name string, tag goipp.Tag, vals ...goipp.Value) {
		a := goipp.Attribute{Name: name}
		for _, v := range vals {
			a.Values.Add(tag, v)
		}
		attrs = append(attrs, a)
	}
	add("printer-state", goipp.TagEnum, goipp.Integer(5))
	add("printer-state-reasons", goipp.TagKeyword, goipp.String("none"), goipp.String("media-empty-error"))
	add("printer-is-accepting-jobs", goipp.TagBoolean, goipp.Boolean(false))
	add("printer-state-message", goipp.TagText, goipp.String("Add paper\r\nto tray 1"))
	add("document-format-supported", goipp.TagMimeType, goipp.String("image/pwg-raster"), goipp.String("image/urf"))
	add("color-supported", goipp.TagBoolean, goipp.Boolean(true))
	add("print-color-mode-supported", goipp.TagKeyword, goipp.String("monochrome"), goipp.String("color"))
	add("sides-supported", goipp.TagKeyword, goipp.String("one-sided"), goipp.String("two-sided-long-edge"))
	add("media-supported", goipp.TagKeyword, goipp.String("iso_a4_210x297mm"), goipp.String("jis_b4_257x364mm"))
	add("media-ready", goipp.TagKeyword, goipp.String("iso_a4_210x297mm"))
	add("media-default", goipp.TagKeyword, goipp.String("iso_a4_210x297mm"))
	add("printer-resolution-supported", goipp.TagResolution, goipp.Resolution{Xres: 600, Yres: 600, Units: goipp.UnitsDpi},
		goipp.Resolution{Xres: -1, Yres: 300, Units: goipp.UnitsDpi})
	add("pwg-raster-document-resolution-supported", goipp.TagResolution, goipp.Resolution{Xres: 300, Yres: 300, Units: goipp.UnitsDpi})
	add("urf-supported", goipp.TagKeyword, goipp.String("W8"), goipp.String("RS300"))
	add("page-ranges-supported", goipp.TagBoolean, goipp.Boolean(true))
	add("copies-supported", goipp.TagRange, goipp.Range{Lower: 1, Upper: 99})

	st := parseStatus(attrs)
	wantSt := Status{Reachable: true, Answered: true, State: Stopped, Reasons: []string{"media-empty-error"},
		Accepting: false, Message: "Add paper  to tray 1"}
	if !reflect.DeepEqual(st, wantSt) {
		t.Errorf("status\n got %+v\nwant %+v", st, wantSt)
	}
	caps := parseCapabilities(attrs)
	want := Capabilities{Known: true, Formats: []string{"image/pwg-raster", "image/urf"}, Color: true,
		ColorModes: []string{"monochrome", "color"}, Sides: []string{"one-sided", "two-sided-long-edge"},
		Media: []string{"iso_a4_210x297mm", "jis_b4_257x364mm"}, MediaReady: []string{"iso_a4_210x297mm"},
		MediaDefault: "iso_a4_210x297mm", Resolutions: []Resolution{{600, 600, "dpi"}},
		PWGRasterResolutions: []Resolution{{300, 300, "dpi"}}, URF: []string{"W8", "RS300"}, PageRanges: true, CopiesMax: 99}
	if !reflect.DeepEqual(caps, want) {
		t.Errorf("capabilities\n got %+v\nwant %+v", caps, want)
	}
}

// TestParseBounds: a printer that lists a million media or sends a
// megabyte of text gets no more of printgate's memory than the limits.
func TestParseBounds(t *testing.T) {
	media := goipp.Attribute{Name: "media-supported"}
	for range 3 * maxValues {
		media.Values.Add(goipp.TagKeyword, goipp.String("iso_a4_210x297mm"))
	}
	msg := goipp.MakeAttribute("printer-state-message", goipp.TagText, goipp.String(strings.Repeat("é", 10000)))
	caps := parseCapabilities(goipp.Attributes{media})
	if len(caps.Media) != maxValues {
		t.Errorf("%d media kept, want %d", len(caps.Media), maxValues)
	}
	st := parseStatus(goipp.Attributes{msg, goipp.MakeAttribute("printer-state", goipp.TagEnum, goipp.Integer(99))})
	if len(st.Message) > maxValueLength || !strings.HasPrefix(st.Message, "éé") || strings.ContainsRune(st.Message, '\uFFFD') {
		t.Errorf("message of %d bytes kept: %q...", len(st.Message), st.Message[:min(len(st.Message), 20)])
	}
	reasons := goipp.Attribute{Name: "printer-state-reasons"}
	for range 2 * maxReasons {
		reasons.Values.Add(goipp.TagKeyword, goipp.String(strings.Repeat("x", 300)))
		reasons.Values.Add(goipp.TagKeyword, goipp.String("media-empty-error"))
		reasons.Values.Add(goipp.TagKeyword, goipp.String("<script>"))
	}
	if got := parseStatus(goipp.Attributes{reasons}).Reasons; len(got) != maxReasons || got[0] != "media-empty-error" {
		t.Errorf("%d reasons kept (%.40q…), want %d keywords", len(got), got, maxReasons)
	}
	if st.Answered || st.State != Unknown {
		t.Errorf("printer-state 99 read as %v (answered %v)", st.State, st.Answered)
	}
}
