package pages

import (
	"context"
	"os"
	"testing"
)

func BenchmarkZZ10K(b *testing.B) {
	doc, _ := os.ReadFile("/tmp/walx/10k.pdf")
	var c Counter
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		r, err := c.CountBytes(context.Background(), FormatPDF, doc)
		if err != nil || r.Pages != 1 {
			b.Fatal(r, err)
		}
	}
}
