package pages

import (
	"bytes"
	"testing"
)

func TestLineEnd(t *testing.T) {
	for _, in := range []string{
		"", "abc", "\n", "\r", "\r\n", "\n\r", "ab\ncd\re", "ab\rcd\ne",
		"padding without an end", "x\r", "x\n", "%%EOF\n1 0 obj",
	} {
		if got, want := lineEnd([]byte(in)), bytes.IndexAny([]byte(in), "\r\n"); got != want {
			t.Errorf("lineEnd(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestIsReal(t *testing.T) {
	for in, want := range map[string]bool{
		"1.5": true, "-.5": true, "+-3": true, "--": false, "+": false,
		"12": true, "1e5": false, "obj": false, "": false, ".": false,
	} {
		var tok token
		for i := range len(in) {
			tok.add(in[i])
		}
		if got := tok.isReal(); got != want {
			t.Errorf("isReal(%q) = %v, want %v", in, got, want)
		}
	}
}
