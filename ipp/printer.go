package ipp

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/OpenPrinting/goipp"
)

// Operations the Server answers, in operations-supported order.
var supportedOps = []goipp.Op{
	goipp.OpPrintJob, goipp.OpValidateJob, goipp.OpCreateJob, goipp.OpSendDocument,
	goipp.OpCancelJob, goipp.OpGetJobAttributes, goipp.OpGetJobs, goipp.OpGetPrinterAttributes,
	goipp.OpHoldJob, goipp.OpReleaseJob, goipp.OpCancelMyJobs, goipp.OpCloseJob,
	goipp.OpIdentifyPrinter,
}

var (
	sidesSupported     = []string{"one-sided", "two-sided-long-edge", "two-sided-short-edge"}
	defaultResolutions = []int{300, 600}
	colorModes         = []string{"auto", "monochrome", "color"}
	monoModes          = []string{"auto", "monochrome"}
	holdUntilSupported = []string{"no-hold", "indefinite", "day-time", "evening", "night",
		"second-shift", "third-shift", "weekend"}
	whichJobs = []string{"completed", "not-completed", "all"}
)

// maxPassword is the longest job-password accepted, in octets.
const maxPassword = 255

// location says how a request reached the Server, so the URIs in replies
// name the listener the client used.
type location struct {
	scheme string // ipp or ipps
	host   string // host[:port] from the request
	lang   string // the reply's natural language: langEn or langJa
}

func (l location) printerURI(queue string) string {
	return fmt.Sprintf("%s://%s/ipp/print/%s", l.scheme, l.host, queue)
}

func (l location) jobURI(queue string, id int) string {
	return fmt.Sprintf("%s/%d", l.printerURI(queue), id)
}

func (l location) moreInfo(queue string) string {
	scheme := "http"
	if l.scheme == "ipps" {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s/ipp/print/%s", scheme, l.host, queue)
}

// uuidFor derives a stable RFC 4122 URN for a queue so clients recognise a
// printer across restarts.
func uuidFor(name string) string {
	h := sha256.Sum256([]byte("printgate-queue:" + name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// printerAttributes returns every printer attribute of p as seen at loc.
func (s *Server) printerAttributes(p Printer, loc location, queued int) goipp.Attributes {
	auth := "requesting-user-name"
	if p.Auth == "basic" {
		auth = "basic"
	}
	security := "none"
	if loc.scheme == "ipps" {
		security = "tls"
	}
	modes := monoModes
	if p.Color {
		modes = colorModes
	}
	state, reasons, msg := 3, "none", "Ready"
	if !p.Accepting {
		state, reasons, msg = 5, orDefault(p.Reason, "paused"), "Not accepting jobs"
	}
	ops := make([]int, len(supportedOps))
	for i, op := range supportedOps {
		ops[i] = int(op)
	}
	now := time.Now()
	info := p.Info
	if info == "" {
		info = p.Name
	}
	makeModel := p.MakeAndModel
	if makeModel == "" {
		makeModel = "printgate secure release queue"
	}
	mode := "direct"
	if p.Hold {
		mode = "held for release at a printer"
	}
	med := chooseMedia(p.Caps)
	res := orInts(p.Caps.Resolutions, defaultResolutions)
	list := goipp.Attributes{
		strs("charset-configured", goipp.TagCharset, "utf-8"),
		strs("charset-supported", goipp.TagCharset, "utf-8"),
		boolean("color-supported", p.Color),
		keywords("compression-supported", "none"),
		ints("copies-default", 1),
		rangeAttr("copies-supported", 1, copiesMax(p.Caps)),
		strs("document-format-default", goipp.TagMimeType, p.Formats[0]),
		strs("document-format-supported", goipp.TagMimeType, p.Formats...),
		enums("finishings-default", 3),
		enums("finishings-supported", 3),
		strs("generated-natural-language-supported", goipp.TagLanguage, "en", "ja"),
		keywords("identify-actions-default", "display"),
		keywords("identify-actions-supported", "display"),
		keywords("ipp-features-supported", "ipp-everywhere"),
		keywords("ipp-versions-supported", "1.0", "1.1", "2.0"),
		boolean("job-ids-supported", true),
		rangeAttr("job-impressions-supported", 0, 1<<30),
		rangeAttr("job-k-octets-supported", 0, int(min(p.MaxSize/1024+1, 1<<31-1))),
		rangeAttr("job-media-sheets-supported", 0, 1<<30),
		keywords("job-hold-until-default", "no-hold"),
		keywords("job-hold-until-supported", holdUntilSupported...),
		ints("job-priority-default", 50),
		ints("job-priority-supported", 100),
		keywords("job-sheets-default", "none"),
		keywords("job-sheets-supported", "none"),
		keywords("job-creation-attributes-supported", creationAttributes(p)...),
		keywords("media-col-supported", "media-size", "media-bottom-margin", "media-left-margin",
			"media-right-margin", "media-top-margin", "media-source", "media-type"),
		collection("media-col-default", mediaCol(med.defaultMed)),
		mediaCols("media-col-database", med.sizes),
		mediaCols("media-col-ready", med.ready),
		keywords("media-default", med.defaultMed.name),
		keywords("media-ready", mediaNames(med.ready)...),
		keywords("media-supported", med.names...),
		mediaSizes(med.sizes),
		ints("media-bottom-margin-supported", mediaMargin),
		ints("media-left-margin-supported", mediaMargin),
		ints("media-right-margin-supported", mediaMargin),
		ints("media-top-margin-supported", mediaMargin),
		keywords("media-source-supported", "auto"),
		keywords("media-type-supported", "stationery"),
		keywords("multiple-document-handling-default", "separate-documents-collated-copies"),
		keywords("multiple-document-handling-supported", "separate-documents-uncollated-copies",
			"separate-documents-collated-copies"),
		boolean("multiple-document-jobs-supported", false),
		ints("multiple-operation-time-out", 60),
		keywords("multiple-operation-time-out-action", "abort-job"),
		strs("natural-language-configured", goipp.TagLanguage, "en"),
		ints("number-up-default", 1),
		ints("number-up-supported", 1),
		enums("operations-supported", ops...),
		enums("orientation-requested-default", 3),
		enums("orientation-requested-supported", 3, 4, 5, 6),
		keywords("output-bin-default", "face-down"),
		keywords("output-bin-supported", "face-down"),
		keywords("overrides-supported", "document-number", "pages"),
		boolean("page-ranges-supported", p.Caps.PageRanges),
		ints("pages-per-minute", 20),
		keywords("pdl-override-supported", "attempted"),
		boolean("preferred-attributes-supported", false),
		keywords("print-color-mode-default", "auto"),
		keywords("print-color-mode-supported", modes...),
		enums("print-quality-default", 4),
		enums("print-quality-supported", 3, 4, 5),
		keywords("print-content-optimize-default", "auto"),
		keywords("print-content-optimize-supported", "auto"),
		keywords("print-rendering-intent-default", "auto"),
		keywords("print-rendering-intent-supported", "auto"),
		keywords("print-scaling-default", "auto"),
		keywords("print-scaling-supported", "auto", "fit", "fill", "none"),
		dateTime("printer-config-change-date-time", s.started),
		ints("printer-config-change-time", 1),
		dateTime("printer-current-time", now),
		text("printer-device-id", "MFG:printgate;MDL:secure release;CMD:PDF,JPEG,PWG,URF,PS;"),
		keywords("printer-get-attributes-supported", "document-format"),
		goipp.MakeAttribute("printer-geo-location", goipp.TagUnknown, goipp.Void{}),
		uris("printer-icons", loc.iconURIs(p.Name)...),
		text("printer-info", info),
		boolean("printer-is-accepting-jobs", p.Accepting),
		keywords("printer-kind", "document"),
		text("printer-location", p.Location),
		text("printer-make-and-model", makeModel),
		uris("printer-more-info", loc.moreInfo(p.Name)),
		nameAttr("printer-name", p.Name),
		text("printer-organization", ""),
		text("printer-organizational-unit", ""),
		resolution("printer-resolution-default", res[0]),
		resolution("printer-resolution-supported", res...),
		dateTime("printer-state-change-date-time", s.started),
		ints("printer-state-change-time", 1),
		enums("printer-state", state),
		text("printer-state-message", msg+": "+mode),
		keywords("printer-state-reasons", reasons),
		ints("printer-up-time", s.upTime()),
		uris("printer-uri-supported", loc.printerURI(p.Name)),
		uris("printer-uuid", uuidFor(p.Name)),
		ints("queued-job-count", queued),
		keywords("sides-default", "one-sided"),
		keywords("sides-supported", sides(p.Caps)...),
		keywords("uri-authentication-supported", auth),
		keywords("uri-security-supported", security),
		keywords("which-jobs-supported", whichJobs...),
	}
	if p.Color {
		list = append(list, ints("pages-per-minute-color", 20))
	}
	if p.Hold {
		// A job-password holds a job until it is given at a printer
		// (PWG 5100.11): only a queue that holds its jobs can keep that
		// promise, so only it advertises one (jobPassword).
		list = append(list, keywords("job-password-encryption-supported", "none"),
			ints("job-password-supported", maxPassword),
			keywords("job-release-action-default", releaseActions[0]),
			keywords("job-release-action-supported", releaseActions...))
	}
	list = append(list, supplyAttributes(p.Caps.Supplies, loc.moreInfo(p.Name))...)
	list = append(list, markerAttributes(p.Caps.Markers)...)
	list = append(list, s.rasterAttributes(p)...)
	return list
}

// rasterAttributes describes the raster formats a queue accepts, which
// IPP Everywhere clients need before they send PWG raster or URF.
func (s *Server) rasterAttributes(p Printer) goipp.Attributes {
	var out goipp.Attributes
	if slices.Contains(p.Formats, "image/pwg-raster") {
		out = append(out,
			resolution("pwg-raster-document-resolution-supported", orInts(p.Caps.RasterResolutions, defaultResolutions)...),
			keywords("pwg-raster-document-sheet-back", orDefault(p.Caps.RasterSheetBack, "normal")),
			keywords("pwg-raster-document-type-supported", rasterTypes(p)...),
		)
	}
	if slices.Contains(p.Formats, "image/urf") {
		urf := p.Caps.URF
		if len(urf) == 0 {
			urf = []string{"V1.4", "W8", "RS300-600", "CP1", "DM1", "IS1", "MT1-2", "OB9", "PQ3-5"}
			if p.Color {
				urf = append(urf, "SRGB24")
			}
		}
		out = append(out, keywords("urf-supported", urf...))
	}
	return out
}

// creationAttributes is job-creation-attributes-supported: with
// job-password and job-release-action on a hold queue.
func creationAttributes(p Printer) []string {
	list := []string{"copies", "sides", "media", "media-col",
		"print-color-mode", "job-hold-until", "job-name", "ipp-attribute-fidelity", "orientation-requested",
		"print-quality", "printer-resolution", "finishings", "output-bin", "job-priority",
		"job-sheets", "multiple-document-handling", "number-up"}
	if p.Hold {
		list = append(list, "job-password", "job-password-encryption", "job-release-action")
	}
	return list
}

// printerGroups maps requested-attributes group keywords to printer
// attribute names (RFC 8011 §4.2.5.1).
var printerGroups = map[string][]string{
	"job-template": {"copies-default", "copies-supported", "finishings-default",
		"finishings-supported", "job-hold-until-default", "job-hold-until-supported",
		"job-priority-default", "job-priority-supported", "job-sheets-default",
		"job-sheets-supported", "media-default", "media-ready", "media-supported",
		"media-col-default", "media-col-ready", "media-col-supported", "media-size-supported",
		"media-source-supported", "media-type-supported", "media-bottom-margin-supported",
		"media-left-margin-supported", "media-right-margin-supported", "media-top-margin-supported",
		"multiple-document-handling-default", "multiple-document-handling-supported",
		"number-up-default", "number-up-supported", "orientation-requested-default",
		"orientation-requested-supported", "output-bin-default", "output-bin-supported",
		"page-ranges-supported", "print-color-mode-default", "print-color-mode-supported",
		"print-quality-default", "print-quality-supported", "printer-resolution-default",
		"printer-resolution-supported", "sides-default", "sides-supported",
		"print-content-optimize-default", "print-content-optimize-supported",
		"print-rendering-intent-default", "print-rendering-intent-supported",
		"print-scaling-default", "print-scaling-supported", "overrides-supported",
		"job-release-action-default", "job-release-action-supported"},
	"media-col-database": {"media-col-database"},
}

// printerDescription returns the names in the printer-description group:
// everything that is not a job template attribute.
func printerDescription(list goipp.Attributes) []string {
	tmpl := make(map[string]bool)
	for _, n := range printerGroups["job-template"] {
		tmpl[n] = true
	}
	var out []string
	for _, a := range list {
		if !tmpl[a.Name] {
			out = append(out, a.Name)
		}
	}
	return out
}

// copiesMax is the upper bound of copies-supported: the printers' where
// known, else 999.
func copiesMax(c Capabilities) int {
	if c.CopiesMax > 0 {
		return c.CopiesMax
	}
	return 999
}

// sides is sides-supported: the printers' where known, always with
// one-sided, which every printer can do.
func sides(c Capabilities) []string {
	if len(c.Sides) == 0 {
		return sidesSupported
	}
	if slices.Contains(c.Sides, "one-sided") {
		return c.Sides
	}
	return append([]string{"one-sided"}, c.Sides...)
}

func orInts(v, def []int) []int {
	if len(v) == 0 {
		return def
	}
	return v
}

// neutralSupply is the printer-supply of a queue whose printers' supplies
// are not known: one supply of unknown kind whose level is unknown (-2,
// PWG 5100.13 and RFC 3805), so that clients show nothing alarming.
var neutralSupply = Supply{
	Value:       "index=1;class=other;type=other;unit=percent;maxcapacity=-2;level=-2;",
	Description: "Supplies of the printers where jobs are released",
}

// supplyAttributes are printer-supply, printer-supply-description and
// printer-supply-info-uri: the printers' supplies where known, else the
// neutral one; the info page is the queue's own.
func supplyAttributes(list []Supply, info string) goipp.Attributes {
	if len(list) == 0 {
		list = []Supply{neutralSupply}
	}
	supply := goipp.Attribute{Name: "printer-supply"}
	desc := goipp.Attribute{Name: "printer-supply-description"}
	for _, s := range list {
		supply.Values.Add(goipp.TagString, goipp.Binary(s.Value))
		desc.Values.Add(goipp.TagText, goipp.String(s.Description))
	}
	return goipp.Attributes{supply, desc, uris("printer-supply-info-uri", info)}
}

// rasterTypes is pwg-raster-document-type-supported: the printers' where
// known, without colour types on a queue that is not colour (a client
// would send colour raster otherwise); sgray_8, and srgb_8 in colour,
// when none is left.
func rasterTypes(p Printer) []string {
	var types []string
	for _, t := range p.Caps.RasterTypes {
		if p.Color || strings.HasPrefix(t, "black_") || strings.HasPrefix(t, "sgray_") {
			types = append(types, t)
		}
	}
	if len(types) > 0 {
		return types
	}
	types = []string{"sgray_8"}
	if p.Color {
		types = append(types, "srgb_8")
	}
	return types
}

// markerAttributes are the marker-* attributes of the printers' markers;
// none when no printer told its markers.
func markerAttributes(list []Marker) goipp.Attributes {
	if len(list) == 0 {
		return nil
	}
	var names, types, colors []string
	var levels, lows, highs []int
	for _, m := range list {
		names, types, colors = append(names, m.Name), append(types, m.Type), append(colors, m.Color)
		levels, lows, highs = append(levels, m.Level), append(lows, m.Low), append(highs, m.High)
	}
	return goipp.Attributes{
		strs("marker-colors", goipp.TagName, colors...),
		ints("marker-high-levels", highs...),
		ints("marker-levels", levels...),
		ints("marker-low-levels", lows...),
		strs("marker-names", goipp.TagName, names...),
		keywords("marker-types", types...),
	}
}
