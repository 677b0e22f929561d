package testdocs

// File is one committed fixture: where it lives under the repository's
// testdata folder and what it holds.
type File struct {
	Path  string // slash-separated, relative to testdata, e.g. "docs/pdf-1page.pdf"
	Pages int    // the number of pages the document has
	Data  []byte
}

// Files returns every fixture this package makes, in a fixed order:
//
//   - docs/: documents for page counting and spool tests, one per format;
//   - ipptool/: the documents that the stock CUPS ipptool tests name
//     (ipp-1.1.test to ipp-2.2.test and print-job*.test), which Debian does
//     not ship. Run ipptool from that folder, as in
//     "ipptool -tf testfile.pdf ipp://... ipp-2.0.test".
func Files() []File {
	const text = "printgate test document"
	return []File{
		{"docs/pdf-1page.pdf", 1, PDF(1, text, A4)},
		{"docs/pdf-3pages.pdf", 3, PDF(3, text, A4)},
		{"docs/pdf-120pages.pdf", 120, PDF(120, text, A4)},
		{"docs/raster-2pages.pwg", 2, PWGRaster(2)},
		{"docs/urf-2pages.urf", 2, URF(2)},
		{"docs/photo.jpg", 1, JPEG(96, 64)},
		{"docs/dsc-3pages.ps", 3, PostScript(3)},

		{"ipptool/document-a4.pdf", 2, PDF(2, "printgate document-a4", A4)},
		{"ipptool/document-letter.pdf", 2, PDF(2, "printgate document-letter", Letter)},
		{"ipptool/onepage-a4.pdf", 1, PDF(1, "printgate onepage-a4", A4)},
		{"ipptool/onepage-letter.pdf", 1, PDF(1, "printgate onepage-letter", Letter)},
		{"ipptool/testfile.pdf", 1, PDF(1, "printgate testfile", A4)},
		{"ipptool/document-a4.ps", 2, DSC(2, "printgate document-a4", A4)},
		{"ipptool/document-letter.ps", 2, DSC(2, "printgate document-letter", Letter)},
		{"ipptool/onepage-a4.ps", 1, DSC(1, "printgate onepage-a4", A4)},
		{"ipptool/onepage-letter.ps", 1, DSC(1, "printgate onepage-letter", Letter)},
		{"ipptool/testfile.ps", 1, DSC(1, "printgate testfile", A4)},
		{"ipptool/color.jpg", 1, JPEG(120, 80)},
		{"ipptool/gray.jpg", 1, GrayJPEG(120, 80)},
		{"ipptool/testfile.jpg", 1, JPEG(96, 64)},
	}
}
