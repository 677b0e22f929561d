package release

import "testing"

// TestEnforceable: the force rules hold on what the converter rewrites
// and on images, which carry no print settings; not on formats that
// carry their own, nor on a format the converter would not take as
// written.
func TestEnforceable(t *testing.T) {
	for format, want := range map[string]bool{
		"application/pdf":          true,
		"application/postscript":   true,
		"image/jpeg":               true,
		"image/png":                true,
		"application/vnd.hp-pcl":   false,
		"image/pwg-raster":         false,
		"image/urf":                false,
		"text/plain":               false,
		"application/octet-stream": false,
		"application/pdf; x=y":     false,
		"":                         false,
	} {
		if got := enforceable(format); got != want {
			t.Errorf("enforceable(%q) = %v, want %v", format, got, want)
		}
	}
}
