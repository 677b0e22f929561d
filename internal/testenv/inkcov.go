package testenv

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// InkCoverage renders doc (PDF or PostScript) with Ghostscript's inkcov
// device and returns, per page, the share of the page each of cyan,
// magenta, yellow and black covers (0 to 1). A page printed in grey has
// no cyan, magenta or yellow.
func InkCoverage(t testing.TB, doc []byte) [][4]float64 {
	t.Helper()
	gs := Tool(t, "gs")
	path := filepath.Join(t.TempDir(), "inkcov-input")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=inkcov", "-o", "-", path).Output()
	if err != nil {
		t.Fatalf("testenv: gs inkcov: %v", err)
	}
	var pages [][4]float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || f[4] != "CMYK" {
			continue
		}
		var p [4]float64
		for i := range p {
			if p[i], err = strconv.ParseFloat(f[i], 64); err != nil {
				t.Fatalf("testenv: gs inkcov: %q: %v", sc.Text(), err)
			}
		}
		pages = append(pages, p)
	}
	return pages
}
