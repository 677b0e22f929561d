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
	// PrinterColor and PrinterMono are the impressions the printer
	// reported printing in colour and in monochrome
	// (job-impressions-completed-col). A printer that reports neither
	// (both 0) reports nothing.
	PrinterColor, PrinterMono int64
	// Content is what the document itself holds, ColorUnknown or "" when
	// it was not inspected.
	Content Color
	// Requested is the print-color-mode the job asked for, "" for none.
	Requested string
}

// Color applies the rule: what was printed where the printer reports it,
// else the document's content, else the mode requested, else unknown.
func (f ColorFacts) Color() Color {
	switch {
	case f.PrinterColor > 0:
		return ColorColor
	case f.PrinterMono > 0:
		return ColorMono
	case f.Content == ColorColor || f.Content == ColorMono:
		return f.Content
	}
	return ColorOfMode(f.Requested)
}

// colorClassSQL is ColorOfMode as an SQL expression over the column
// color_mode, so that totals counted by the database classify as the
// views do.
func colorClassSQL() string {
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
	return "CASE WHEN color_mode IN (" + strings.Join(color, ", ") + ") THEN '" + string(ColorColor) +
		"' WHEN color_mode IN (" + strings.Join(mono, ", ") + ") THEN '" + string(ColorMono) +
		"' ELSE '" + string(ColorUnknown) + "' END"
}
