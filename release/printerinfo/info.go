// Package printerinfo knows the printers printgate forwards to: what each
// can print (formats, colour, sides, media, resolutions, copies, page
// ranges) and whether it can print now (printer-state, its reasons,
// printer-is-accepting-jobs). It asks with Get-Printer-Attributes and
// keeps the answer for a while, so that a burst of releases asks once.
//
// AppSocket printers (socket://) answer no questions: their capabilities
// stay unknown, and "reachable" means a TCP connection to them opens.
//
// Fit maps a job's options onto what a printer supports, saying what it
// changed, or refusing where the policy says a change would betray the
// job.
package printerinfo

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/ipp"
)

// State is a printer's printer-state (RFC 8011 §5.4.11).
type State int

// Printer states; Unknown means the printer did not say.
const (
	Unknown    State = 0
	Idle       State = 3
	Processing State = 4
	Stopped    State = 5
)

// String returns the state's IPP keyword, or "unknown".
func (s State) String() string {
	switch s {
	case Idle:
		return "idle"
	case Processing:
		return "processing"
	case Stopped:
		return "stopped"
	}
	return "unknown"
}

// Status is whether a printer can print now.
type Status struct {
	// Reachable says the printer answered (IPP), or took a TCP
	// connection (AppSocket).
	Reachable bool
	// Answered says the printer told its state; false for AppSocket
	// printers and for IPP printers that refused Get-Printer-Attributes.
	Answered bool
	State    State
	// Reasons are printer-state-reasons as the printer wrote them, "none"
	// left out.
	Reasons []string
	// Accepting is printer-is-accepting-jobs; true when not told.
	Accepting bool
	// Message is printer-state-message, trimmed to a short line.
	Message string
	// Err says why the printer could not be asked, for the log; nil when
	// it answered.
	Err error
}

// Unavailable returns why the printer cannot take a job now, as a
// keyword: "printer-unreachable", "printer-stopped",
// "printer-not-accepting-jobs", or the first reason that stops printing;
// "" when it can. A printer that could not be asked but is reachable is
// taken to be available: the print itself will tell.
func (s Status) Unavailable() string {
	switch {
	case !s.Reachable:
		return "printer-unreachable"
	case !s.Answered:
		return ""
	case s.State == Stopped:
		return "printer-stopped"
	case !s.Accepting:
		return "printer-not-accepting-jobs"
	}
	for _, r := range s.Reasons {
		if Blocking(r) {
			return r
		}
	}
	return ""
}

// blockingReasons are printer-state-reasons that stop printing whatever
// severity the printer gives them (PWG 5100.9 and RFC 8011 §5.4.12
// names). A printer that sends them with "-report" or "-warning" is not
// believed: offline is offline.
var blockingReasons = []string{"offline", "shutdown", "paused"}

// stopsWithoutSuffix are reasons that stop printing when a printer sends
// them without a severity suffix, which RFC 8011 says to read as an
// error. Other unsuffixed keywords, including vendors' own, are taken as
// information: refusing a release at a printer that works costs the user
// more than a print that the printer holds until it is fixed.
var stopsWithoutSuffix = []string{
	"media-empty", "media-jam", "media-needed", "door-open", "cover-open", "interlock-open",
	"input-tray-missing", "output-tray-missing", "output-area-full", "toner-empty",
	"marker-supply-empty", "marker-waste-full", "spool-area-full", "fuser-over-temp",
}

// Blocking reports whether the printer-state-reason r stops printing:
// any reason of "-error" severity, offline, shutdown or paused in any
// severity, and the known stopping conditions sent without a severity.
func Blocking(r string) bool {
	base, severity := splitReason(r)
	switch {
	case slices.Contains(blockingReasons, base):
		return true
	case severity == "error":
		return true
	case severity == "":
		return slices.Contains(stopsWithoutSuffix, base)
	}
	return false
}

// splitReason splits a printer-state-reason into its keyword and its
// severity suffix ("error", "warning", "report", or "").
func splitReason(r string) (base, severity string) {
	for _, s := range [...]string{"error", "warning", "report"} {
		if b, ok := strings.CutSuffix(r, "-"+s); ok {
			return b, s
		}
	}
	return r, ""
}

// Resolution is one resolution a printer prints at.
type Resolution struct {
	X, Y int
	// Units is "dpi" or "dpcm".
	Units string
}

func (r Resolution) String() string { return fmt.Sprintf("%dx%d%s", r.X, r.Y, r.Units) }

// Capabilities are what a printer says it can print. Empty lists mean
// the printer did not say.
type Capabilities struct {
	// Known says the printer answered Get-Printer-Attributes with them;
	// false for AppSocket printers and printers not yet asked.
	Known bool
	// Formats is document-format-supported.
	Formats []string
	// Color is color-supported.
	Color bool
	// ColorModes is print-color-mode-supported.
	ColorModes []string
	// Sides is sides-supported.
	Sides []string
	// Media is media-supported, MediaReady media-ready (what is loaded).
	Media, MediaReady []string
	// MediaDefault is media-default.
	MediaDefault string
	// Resolutions is printer-resolution-supported;
	// PWGRasterResolutions pwg-raster-document-resolution-supported; URF
	// urf-supported (for converting to what the printer takes).
	Resolutions, PWGRasterResolutions []Resolution
	URF                               []string
	// PageRanges is page-ranges-supported.
	PageRanges bool
	// CopiesMax is the upper bound of copies-supported; 0 when not said.
	CopiesMax int
	// PWGRasterTypes is pwg-raster-document-type-supported,
	// PWGRasterSheetBack pwg-raster-document-sheet-back.
	PWGRasterTypes     []string
	PWGRasterSheetBack string
	// Supplies are printer-supply with printer-supply-description;
	// Markers the marker-* attributes, or what the supplies say when the
	// printer sends none.
	Supplies []Supply
	Markers  []Marker
}

// Info is what is known of one printer.
type Info struct {
	URI string
	Status
	Caps Capabilities
	// Checked is when Status was learnt, CapsFetched when Caps were,
	// Seen when the printer last answered.
	Checked, CapsFetched, Seen time.Time
}

// Attributes asked for: the state on every check, the capabilities on a
// full one.
var (
	stateAttributes = []string{"printer-state", "printer-state-reasons", "printer-is-accepting-jobs",
		"printer-state-message"}
	capabilityAttributes = []string{"document-format-supported", "color-supported",
		"print-color-mode-supported", "sides-supported", "media-supported", "media-ready", "media-default",
		"printer-resolution-supported", "pwg-raster-document-resolution-supported", "urf-supported",
		"page-ranges-supported", "copies-supported", "pwg-raster-document-type-supported",
		"pwg-raster-document-sheet-back", "printer-supply", "printer-supply-description",
		"marker-names", "marker-types", "marker-colors", "marker-levels", "marker-low-levels",
		"marker-high-levels"}
)

// Limits on what is kept of one printer's answer: a big MFP lists a few
// hundred media; anything past these is noise or hostile.
const (
	maxValues      = 512
	maxValueLength = 255
	// maxReasons and maxReasonLength bound the printer-state-reasons
	// kept: they go into the audit trail and the answer to a device at
	// every release refused for the printer.
	maxReasons      = 32
	maxReasonLength = 64
)

// reasonKeyword reports whether r reads as a printer-state-reasons
// keyword: short, lower-case letters, digits and '-', '_' or '.'.
func reasonKeyword(r string) bool {
	if r == "" || len(r) > maxReasonLength {
		return false
	}
	for _, c := range []byte(r) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// parseStatus reads the state attributes of a Get-Printer-Attributes
// response.
func parseStatus(attrs goipp.Attributes) Status {
	st := Status{Reachable: true, Answered: true, Accepting: true}
	for _, a := range attrs {
		switch a.Name {
		case "printer-state":
			if n, ok := integer(a); ok && n >= int(Idle) && n <= int(Stopped) {
				st.State = State(n)
			}
		case "printer-state-reasons":
			for _, r := range keywords(a) {
				if r != "none" && reasonKeyword(r) && len(st.Reasons) < maxReasons {
					st.Reasons = append(st.Reasons, r)
				}
			}
		case "printer-is-accepting-jobs":
			if b, ok := boolean(a); ok {
				st.Accepting = b
			}
		case "printer-state-message":
			if m := keywords(a); len(m) > 0 {
				st.Message = m[0]
			}
		}
	}
	if st.State == Unknown {
		// A printer that names no state has not told us it can print.
		st.Answered = false
	}
	return st
}

// parseCapabilities reads the capability attributes of a
// Get-Printer-Attributes response.
func parseCapabilities(attrs goipp.Attributes) Capabilities {
	c := Capabilities{Known: true}
	for _, a := range attrs {
		switch a.Name {
		case "document-format-supported":
			c.Formats = keywords(a)
		case "color-supported":
			c.Color, _ = boolean(a)
		case "print-color-mode-supported":
			c.ColorModes = keywords(a)
		case "sides-supported":
			c.Sides = keywords(a)
		case "media-supported":
			c.Media = keywords(a)
		case "media-ready":
			c.MediaReady = keywords(a)
		case "media-default":
			if m := keywords(a); len(m) > 0 {
				c.MediaDefault = m[0]
			}
		case "printer-resolution-supported":
			c.Resolutions = resolutions(a)
		case "pwg-raster-document-resolution-supported":
			c.PWGRasterResolutions = resolutions(a)
		case "urf-supported":
			c.URF = keywords(a)
		case "page-ranges-supported":
			c.PageRanges, _ = boolean(a)
		case "copies-supported":
			c.CopiesMax = copiesMax(a)
		case "pwg-raster-document-type-supported":
			c.PWGRasterTypes = keywords(a)
		case "pwg-raster-document-sheet-back":
			if v := keywords(a); len(v) > 0 {
				c.PWGRasterSheetBack = v[0]
			}
		}
	}
	c.Supplies = parseSupplies(attrs)
	c.Markers = parseMarkers(attrs, c.Supplies)
	return c
}

// keywords returns the string values of a (keywords, names, text, MIME
// types), each trimmed to a short printable form, at most maxValues.
func keywords(a goipp.Attribute) []string {
	var out []string
	for _, v := range a.Values {
		s, ok := v.V.(goipp.String)
		if !ok {
			continue
		}
		if len(out) == maxValues {
			break
		}
		out = append(out, ipp.Printable(string(s), maxValueLength))
	}
	return out
}

func integer(a goipp.Attribute) (int, bool) {
	if len(a.Values) == 0 {
		return 0, false
	}
	n, ok := a.Values[0].V.(goipp.Integer)
	return int(n), ok
}

func boolean(a goipp.Attribute) (bool, bool) {
	if len(a.Values) == 0 {
		return false, false
	}
	b, ok := a.Values[0].V.(goipp.Boolean)
	return bool(b), ok
}

func resolutions(a goipp.Attribute) []Resolution {
	var out []Resolution
	for _, v := range a.Values {
		r, ok := v.V.(goipp.Resolution)
		if !ok || r.Xres <= 0 || r.Yres <= 0 {
			continue
		}
		if len(out) == maxValues {
			break
		}
		units := "dpi"
		if r.Units == goipp.UnitsDpcm {
			units = "dpcm"
		}
		out = append(out, Resolution{X: r.Xres, Y: r.Yres, Units: units})
	}
	return out
}

// copiesMax reads copies-supported, a rangeOfInteger (some printers send
// a plain integer).
func copiesMax(a goipp.Attribute) int {
	if len(a.Values) == 0 {
		return 0
	}
	switch v := a.Values[0].V.(type) {
	case goipp.Range:
		return max(v.Upper, 0)
	case goipp.Integer:
		return max(int(v), 0)
	}
	return 0
}
