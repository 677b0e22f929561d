package audit

import (
	"slices"
	"strings"
)

// Color is what a job counts as in every view, export and total: printed
// in colour, in monochrome, or not known. docs/AUDIT.md ("Colour and
// pages") gives the rule; ColorFacts.Color applies it.
type Color string

// The colour classes.
const (
	ColorColor   Color = "color"
	ColorMono    Color = "monochrome"
	ColorUnknown Color = "unknown"
)

// colorModes are the print-color-mode keywords that say how a job prints.
// Any other value, "auto" and no value at all leave the printer to decide,
// so they say nothing: the job's colour is then unknown, not a guess.
var colorModes = map[string]Color{
	"color":              ColorColor,
	"highlight":          ColorColor,
	"monochrome":         ColorMono,
	"bi-level":           ColorMono,
	"process-monochrome": ColorMono,
	"process-bi-level":   ColorMono,
	"auto-monochrome":    ColorMono,
}

// ColorOfMode returns the class an IPP print-color-mode asks for.
func ColorOfMode(mode string) Color {
	if c, ok := colorModes[mode]; ok {
		return c
	}
	return ColorUnknown
}

// ColorFacts are what is known of a job's colour, from the most to the
// least certain.
type ColorFacts struct {
	// Printer is what the printer reported printing
	// (PrinterColorOf), "" when it reported nothing.
	Printer Color
	// Content is what the document itself holds, "" when it was not
	// inspected or could not be.
	Content Color
	// Requested is the print-color-mode the job asked for, "" for none.
	Requested string
}

// Color applies the rule: what was printed where the printer reports it,
// else the document's content, else the mode requested, else unknown.
func (f ColorFacts) Color() Color {
	switch {
	case known(f.Printer):
		return f.Printer
	case known(f.Content):
		return f.Content
	}
	return ColorOfMode(f.Requested)
}

// known reports whether c says colour or monochrome.
func known(c Color) bool { return c == ColorColor || c == ColorMono }

// PrinterColorOf is what a printer reported printing, from its counts of
// colour and monochrome impressions (job-impressions-completed-col): one
// colour impression makes the job colour; "" when it counted neither.
func PrinterColorOf(color, mono int64) Color {
	switch {
	case color > 0:
		return ColorColor
	case mono > 0:
		return ColorMono
	}
	return ""
}

// ColorOf parses a colour class written in an event's details: "" for
// anything but colour or monochrome.
func ColorOf(s string) Color {
	if c := Color(s); known(c) {
		return c
	}
	return ""
}

// colorClassSQL is ColorFacts.Color as an SQL expression over the columns
// printer_color, content_color and color_mode, so that totals counted by
// the database classify as the views do.
func colorClassSQL() string { return colorClassOf("printer_color", "content_color", "color_mode") }

// colorClassOf is ColorFacts.Color as an SQL expression over the
// expressions printer, content and mode, each of which it names twice.
func colorClassOf(printer, content, mode string) string {
	known := " IN ('" + string(ColorColor) + "', '" + string(ColorMono) + "')"
	return "CASE WHEN " + printer + known + " THEN " + printer +
		" WHEN " + content + known + " THEN " + content +
		" ELSE " + modeClassSQL(mode) + " END"
}

// modeClassSQL is ColorOfMode as an SQL expression over mode.
func modeClassSQL(mode string) string {
	var color, mono []string
	for mode, c := range colorModes {
		q := "'" + mode + "'" // the keywords above hold no quote
		if c == ColorColor {
			color = append(color, q)
		} else {
			mono = append(mono, q)
		}
	}
	// One statement text for the database's statement cache.
	slices.Sort(color)
	slices.Sort(mono)
	return "CASE WHEN " + mode + " IN (" + strings.Join(color, ", ") + ") THEN '" + string(ColorColor) +
		"' WHEN " + mode + " IN (" + strings.Join(mono, ", ") + ") THEN '" + string(ColorMono) +
		"' ELSE '" + string(ColorUnknown) + "' END"
}
