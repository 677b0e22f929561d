package testdocs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/font"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// IPAGothic is Debian's IPA Gothic (fonts-ipafont-gothic), the Japanese
// font JapanesePDF embeds.
const IPAGothic = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"

// JapanesePDF returns an A4 PDF with one page per element of pages, each
// showing its text (lines split at "\n") in fontFile, a Japanese TrueType
// font that the PDF embeds with its Unicode map, as office software does:
// text extractors read the characters back. fontDir is a private folder
// where pdfcpu keeps the installed font. pdfcpu's font folder is global, so
// JapanesePDF must not run beside another user of pdfcpu's fonts.
func JapanesePDF(fontFile, fontDir string, pages []string) ([]byte, error) {
	if len(pages) == 0 {
		return nil, fmt.Errorf("testdocs: a PDF needs at least one page")
	}
	if err := os.MkdirAll(fontDir, 0o700); err != nil {
		return nil, err
	}
	rep, err := font.InstallTrueTypeFont(fontDir, fontFile)
	if err != nil {
		return nil, fmt.Errorf("testdocs: install %s: %w", fontFile, err)
	}
	if len(rep.Fonts) != 1 {
		return nil, fmt.Errorf("testdocs: %s holds %d fonts", fontFile, len(rep.Fonts))
	}
	// The default configuration points pdfcpu at its own font folder.
	conf := model.NewDefaultConfiguration()
	font.UserFontDir = fontDir
	if err := font.ReloadUserFonts(); err != nil {
		return nil, err
	}
	name := filepath.Base(rep.Fonts[0].PostScriptName)
	doc := PDF(len(pages), " ", A4)
	for i, text := range pages {
		wm, err := api.TextWatermark(text, "fontname:"+name+", points:14, position:tl, offset:60 -80, "+
			"scalefactor:1 abs, rotation:0, opacity:1, fillcolor:#000000", true, false, types.POINTS)
		if err != nil {
			return nil, fmt.Errorf("testdocs: text of page %d: %w", i+1, err)
		}
		var out bytes.Buffer
		if err := api.AddWatermarks(bytes.NewReader(doc), &out, []string{strconv.Itoa(i + 1)}, wm, conf); err != nil {
			return nil, fmt.Errorf("testdocs: page %d: %w", i+1, err)
		}
		doc = out.Bytes()
	}
	return doc, nil
}
