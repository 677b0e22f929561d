package main

import (
	"io"
	"strings"

	"github.com/mattn/go-runewidth"
)

// table writes aligned columns, as text/tabwriter does, but measures each
// cell by the columns a terminal gives it: a Japanese character takes two,
// so tabwriter, which counts runes, misaligns every column after a
// Japanese name.
type table struct {
	rows [][]string
}

// row adds one row of cells, each as shown prints it: a cell holding a
// newline or tab would forge rows and columns.
func (t *table) row(cells ...string) {
	r := make([]string, len(cells))
	for i, c := range cells {
		r[i] = shown(c)
	}
	t.rows = append(t.rows, r)
}

// write prints the rows to w, each column padded to its widest cell plus
// two spaces; the last column is not padded.
func (t *table) write(w io.Writer) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], runewidth.StringWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-runewidth.StringWidth(c)+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
