// Package stamp puts the forensic stamp (強制セキュリティー印字) on the
// pages of a released document: the owner, the time of release, the job
// ID and a verification code, a keyed MAC of the job's audit record by
// which a page found later leads back to its job (Keys, Codes).
//
// Stamping uses pdfcpu's stamps with a Japanese-capable TrueType font.
// pdfcpu reads user fonts from one directory for the whole process
// (font.UserFontDir, pdfcpu's setting, not ours): New installs the font
// into the directory it is given, in printgate's data dir, and points
// pdfcpu there, never at a shared location such as the user's config
// folder. One process therefore runs one Stamper at a time.
package stamp

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Position is the corner of the page the stamp is printed in.
type Position string

// Positions.
const (
	BottomRight Position = "bottom-right"
	BottomLeft  Position = "bottom-left"
	TopRight    Position = "top-right"
	TopLeft     Position = "top-left"
)

// DefaultPosition and DefaultFontSize apply when a queue says nothing.
const (
	DefaultPosition = BottomRight
	DefaultFontSize = 7
	// MinFontSize and MaxFontSize bound the font size, in points.
	MinFontSize = 4
	MaxFontSize = 24
)

// margin is the distance of the stamp from the page's edges, in points
// (6 mm): outside what most printers cannot print.
const margin = 17

// anchor returns pdfcpu's anchor and offset of p.
func (p Position) anchor() (pos string, dx, dy int, ok bool) {
	switch p {
	case BottomRight:
		return "br", -margin, margin, true
	case BottomLeft:
		return "bl", margin, margin, true
	case TopRight:
		return "tr", -margin, -margin, true
	case TopLeft:
		return "tl", margin, -margin, true
	}
	return "", 0, 0, false
}

// ParsePosition parses a position setting; "" is DefaultPosition.
func ParsePosition(s string) (Position, error) {
	if s == "" {
		return DefaultPosition, nil
	}
	p := Position(s)
	if _, _, _, ok := p.anchor(); !ok {
		return "", fmt.Errorf("%q must be bottom-right, bottom-left, top-right or top-left", s)
	}
	return p, nil
}

// Layout is where and how large a queue prints its stamp.
type Layout struct {
	Position Position
	// FontSize is in points.
	FontSize int
}

// Check reports a Layout that cannot be printed.
func (l Layout) Check() error {
	if _, err := ParsePosition(string(l.Position)); err != nil {
		return fmt.Errorf("position: %w", err)
	}
	if l.FontSize < MinFontSize || l.FontSize > MaxFontSize {
		return fmt.Errorf("font size: %d must be %d to %d points", l.FontSize, MinFontSize, MaxFontSize)
	}
	return nil
}

// Stamp is what is printed on each page.
type Stamp struct {
	Owner string
	// Time is the time of release, shown in its own location.
	Time  time.Time
	JobID int64
	// Code is the job's verification code (Keys.Code).
	Code string
	Layout
}

// maxOwner is the most characters of an owner's name the stamp shows.
const maxOwner = 64

// Text is the line printed on each page, such as
// "山田 太郎 | 2025/01/02 12:34 JST | Job 42 | Code K7QM 2XPD 9FJC". Its
// parts are separated so that text extraction (pdftotext) gives it back
// exactly as recorded.
func (s Stamp) Text() string {
	return fmt.Sprintf("%s | %s | Job %d | Code %s",
		printable(s.Owner), s.Time.Format("2006/01/02 15:04 MST"), s.JobID, s.Code)
}

// printable makes an owner's name safe to stamp: pdfcpu reads "%" as the
// start of a page number or timestamp and a backslash and "n" as a line
// break, so they become their full-width forms; control characters go,
// and a long name is cut.
func printable(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		switch {
		case r == '%':
			r = '％'
		case r == '\\':
			r = '＼'
		case unicode.IsControl(r) || r == unicode.ReplacementChar:
			continue
		}
		if n == maxOwner {
			b.WriteRune('…')
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// DefaultFonts are the fonts New looks for when Options.FontFile is "",
// in order: IPA Gothic (Debian's fonts-ipafont-gothic), IPAex Gothic
// (fonts-ipaexfont-gothic), and whatever the system names its Japanese
// Gothic font. Each covers Latin and Japanese; fonts that lack Latin
// letters (Droid Sans Fallback) cannot print a code.
var DefaultFonts = []string{
	"/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
	"/usr/share/fonts/truetype/ipafont-gothic/ipag.ttf",
	"/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
	"/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
}

// FindFont returns path when it is set, else the first of DefaultFonts
// that exists.
func FindFont(path string) (string, error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("stamp: font: %w", err)
		}
		return path, nil
	}
	for _, p := range DefaultFonts {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("stamp: no Japanese TrueType font found (install fonts-ipafont-gothic, or name one): looked for %s",
		strings.Join(DefaultFonts, ", "))
}

// desc is pdfcpu's description of the stamp in font name: black, upright,
// at its true size, in the corner of the page that l names.
func (l Layout) desc(fontName string) string {
	pos, dx, dy, _ := l.Position.anchor()
	return "fontname:" + fontName + ", points:" + strconv.Itoa(l.FontSize) + ", position:" + pos +
		", offset:" + strconv.Itoa(dx) + " " + strconv.Itoa(dy) +
		", scalefactor:1 abs, rotation:0, opacity:1, fillcolor:#000000"
}
