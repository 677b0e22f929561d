// Package testdocs makes small, valid sample print documents for tests: PDF,
// PostScript (DSC), PWG raster, Apple raster (URF) and JPEG.
//
// Every generator is deterministic, so the committed fixtures in the
// repository's testdata/docs and testdata/ipptool folders can be compared
// byte for byte with what this package makes (see Files). Regenerate them
// with
//
//	go generate ./internal/testdocs
//
// The PDF and PostScript documents draw their text with a standard Type 1
// font in uncompressed content, so a test can grep for the text to prove
// that a spool file holds no plaintext. ForgedCountPDF and PSDocument make
// documents that hide pages or text from text extraction, for the tests
// of the My Number search.
package testdocs

//go:generate go run ./cmd/gen -dir ../../testdata
