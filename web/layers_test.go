package web

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/printgate/printgate/ipp"
)

// TestNoIPPImport keeps web and web/releaseapi out of IPP's words: they
// read release's errors, and carry IPP only as the http.Handler handed in
// (Options.IPP).
func TestNoIPPImport(t *testing.T) {
	const ippPath = "github.com/printgate/printgate/ipp"
	checked := 0
	err := filepath.WalkDir(".", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		pkg, err := build.ImportDir(dir, 0)
		if _, none := err.(*build.NoGoError); none {
			return nil
		}
		if err != nil {
			return err
		}
		checked++
		if slices.Contains(pkg.Imports, ippPath) {
			t.Errorf("%s imports %s", filepath.Join("web", dir), ippPath)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 2 {
		t.Fatalf("checked %d packages, want web and web/releaseapi at least", checked)
	}
}

// TestIPPPrefix keeps the route of the IPP handler where ipp.Server
// answers.
func TestIPPPrefix(t *testing.T) {
	if ippPrefix != ipp.PathPrefix {
		t.Errorf("web routes IPP at %q, ipp.Server answers at %q", ippPrefix, ipp.PathPrefix)
	}
}
