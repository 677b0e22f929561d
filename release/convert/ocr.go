package convert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
)

// OCRPages is how many pages of a document OCR reads:
// recognising a page takes a second or more, and the whole run must stay
// within the extraction's time limit.
const OCRPages = 8

// ocrResolution is the dots per inch pages are rendered at for OCR:
// enough for 9-point digits, small enough to recognise quickly.
const ocrResolution = 200

// ocrScript renders pages of the document on descriptor 3 to grey images
// in the scratch folder with Ghostscript, then has Tesseract recognise
// each (Japanese and English), writing the text of each page followed by
// a form feed, deleting each image once read. Its arguments are
// Ghostscript's path, Tesseract's, the pages (a Ghostscript PageList,
// "1-9" or "2,9"), the resolution and the most pages it reads: when more
// were rendered it reads none and exits with ocrTooManyPages. The scratch
// folder is $TMPDIR.
const ocrScript = `set -e
gs=$1 tesseract=$2 most=$5
"$gs" -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=pgmraw -r"$4" -sPageList="$3" \
	-sOutputFile="$TMPDIR/page-%04d.pgm" /dev/fd/3 >/dev/null
set -- "$TMPDIR"/page-*.pgm
if [ "$#" -gt "$most" ]; then
	rm -f "$@"
	exit 64
fi
for f in "$@"; do
	[ -e "$f" ] || continue
	"$tesseract" "$f" - -l jpn+eng 2>/dev/null
	printf '\f'
	rm -f "$f"
done`

// ocrTooManyPages is ocrScript's exit status when the document has more
// pages than it was to read.
const ocrTooManyPages = 64

// ErrTooManyPages says a document has more pages than OCR reads
// (OCRPages).
var ErrTooManyPages = errors.New("convert: more pages than OCR reads")

// findOCR returns Tesseract's path when it and its Japanese data are
// installed (Debian's tesseract-ocr and tesseract-ocr-jpn), or "".
func findOCR() string {
	path, err := exec.LookPath("tesseract")
	if err != nil {
		return ""
	}
	for _, v := range []string{"5", "4.00", "4"} {
		if _, err := os.Stat("/usr/share/tesseract-ocr/" + v + "/tessdata/jpn.traineddata"); err == nil {
			return path
		}
	}
	return ""
}

// ReadsImages reports whether the extractor can recognise the text of
// documents that hold only images (OCR): Tesseract and its Japanese data
// are installed.
func (x *TextExtractor) ReadsImages() bool { return x != nil && x.tesseract != "" && x.sh != "" }

// OCR writes the text Tesseract recognises on the pages of doc, a PDF
// or PostScript document, to w, UTF-8 with a form feed after each page,
// within the extractor's limits (ErrLimit beyond them). It reads at most
// OCRPages pages: a document with more is ErrTooManyPages, none of it
// read. The pages are rendered by Ghostscript and
// recognised in the sandbox; the images live in its memory-backed scratch
// folder and are deleted page by page. Without Tesseract it returns
// ErrNoOCR.
func (x *TextExtractor) OCR(ctx context.Context, doc io.Reader, format string, w io.Writer) error {
	return x.OCRPages(ctx, doc, format, nil, w)
}

// OCRPages is OCR of the given pages of a PDF (numbered from 1, in
// order, at most OCRPages of them; nil for every page, as OCR), each
// page's text followed by a form feed, in the order given.
func (x *TextExtractor) OCRPages(ctx context.Context, doc io.Reader, format string, pages []int, w io.Writer) error {
	if !x.ReadsImages() {
		return ErrNoOCR
	}
	if format != PDF && format != PostScript {
		return fmt.Errorf("convert: cannot recognise the text of %s", format)
	}
	// One page more than OCR reads tells whether the document goes on.
	list := "1-" + strconv.Itoa(OCRPages+1)
	if len(pages) > 0 {
		if len(pages) > OCRPages || format != PDF {
			return fmt.Errorf("convert: OCR of %d chosen pages of %s", len(pages), format)
		}
		list = ""
		for i, p := range pages {
			if i > 0 {
				list += ","
			}
			list += strconv.Itoa(p)
		}
	}
	return x.run(ctx, doc, pass{w: w, path: x.sh, status: map[int]error{ocrTooManyPages: ErrTooManyPages},
		args: []string{"-c", ocrScript, "ocr", x.gs, x.tesseract, list, strconv.Itoa(ocrResolution), strconv.Itoa(OCRPages)}})
}

// ErrNoOCR says OCR is not installed.
var ErrNoOCR = errors.New("convert: no OCR (install tesseract-ocr and tesseract-ocr-jpn)")
