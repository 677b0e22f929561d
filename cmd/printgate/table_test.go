package main

import (
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
)

// TestTableAlignsWideCharacters lists rows whose cells mix ASCII and
// Japanese text: every column starts at the same terminal column on every
// line, counting a Japanese character as two.
func TestTableAlignsWideCharacters(t *testing.T) {
	tests := []struct {
		name string
		rows [][]string
	}{
		{"ascii", [][]string{{"NAME", "ROLE", "DISPLAY NAME", "PIN"}, {"alice", "user", "Alice Example", "yes"}}},
		{"japanese", [][]string{{"NAME", "ROLE", "DISPLAY NAME", "PIN"}, {"tanaka", "admin", "田中 太郎", "yes"},
			{"suzuki", "user", "鈴木 花子（経理部）", "no"}, {"bob", "auditor", "Bob", "no"}}},
		{"japanese first column", [][]string{{"名前", "x"}, {"山田", "y"}, {"ab", "z"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tab table
			for _, r := range tt.rows {
				tab.row(r...)
			}
			var out strings.Builder
			if err := tab.write(&out); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != len(tt.rows) {
				t.Fatalf("%d lines for %d rows:\n%s", len(lines), len(tt.rows), out.String())
			}
			var starts []int
			for i, line := range lines {
				got := columnStarts(line, tt.rows[i])
				if starts == nil {
					starts = got
				} else if !equalInts(got, starts) {
					t.Errorf("line %d starts its columns at %v, line 1 at %v:\n%s", i+1, got, starts, out.String())
				}
			}
		})
	}
}

// columnStarts returns the terminal column at which each of cells begins
// in line.
func columnStarts(line string, cells []string) []int {
	var starts []int
	rest, col := line, 0
	for _, c := range cells {
		pad := len(rest) - len(strings.TrimLeft(rest, " "))
		col += pad
		rest = rest[pad:]
		starts = append(starts, col)
		rest = strings.TrimPrefix(rest, c)
		col += runewidth.StringWidth(c)
	}
	return starts
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
