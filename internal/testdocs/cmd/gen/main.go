// Command gen writes the sample documents of package testdocs into the
// repository's testdata folder. It is run by "go generate
// ./internal/testdocs".
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/printgate/printgate/internal/testdocs"
)

func main() {
	dir := flag.String("dir", "testdata", "the testdata folder to write into")
	flag.Parse()
	if err := write(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer root.Close()
	for _, f := range testdocs.Files() {
		if err := root.MkdirAll(filepath.Dir(filepath.FromSlash(f.Path)), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", f.Path, err)
		}
		if err := root.WriteFile(filepath.FromSlash(f.Path), f.Data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.Path, err)
		}
	}
	return nil
}
