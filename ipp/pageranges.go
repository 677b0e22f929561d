package ipp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/OpenPrinting/goipp"
)

// PageRange is one range of page-ranges: pages First to Last, counted
// from 1, both included.
type PageRange struct{ First, Last int }

// maxPageRanges bounds the ranges of one job: a client that sends more
// is not selecting pages by hand.
const maxPageRanges = 100

// maxPage bounds a page number.
const maxPage = 1 << 30

// FormatPageRanges writes ranges as printgate keeps them: "1-3,7-7".
func FormatPageRanges(ranges []PageRange) string {
	parts := make([]string, len(ranges))
	for i, r := range ranges {
		parts[i] = fmt.Sprintf("%d-%d", r.First, r.Last)
	}
	return strings.Join(parts, ",")
}

// ParsePageRanges reads ranges written by FormatPageRanges, "" as none.
// Ranges must ascend without overlapping, as RFC 8011 §5.2.7 asks of
// page-ranges.
func ParsePageRanges(s string) ([]PageRange, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxPageRanges {
		return nil, fmt.Errorf("ipp: more than %d page ranges", maxPageRanges)
	}
	out := make([]PageRange, 0, len(parts))
	for _, p := range parts {
		lo, hi, ok := strings.Cut(p, "-")
		first, err1 := strconv.Atoi(lo)
		last, err2 := strconv.Atoi(hi)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("ipp: page range %q: not FIRST-LAST", p)
		}
		out = append(out, PageRange{first, last})
	}
	if err := checkPageRanges(out); err != nil {
		return nil, err
	}
	return out, nil
}

func checkPageRanges(rs []PageRange) error {
	prev := 0
	for _, r := range rs {
		if r.First < 1 || r.Last < r.First || r.Last > maxPage || r.First <= prev {
			return errors.New("ipp: page ranges must ascend from 1 without overlapping")
		}
		prev = r.Last
	}
	return nil
}

// CountPages returns how many of a document's total pages ranges select;
// total when there are no ranges.
func CountPages(ranges []PageRange, total int) int {
	if len(ranges) == 0 {
		return total
	}
	n := 0
	for _, r := range ranges {
		if r.First > total {
			break
		}
		n += min(r.Last, total) - r.First + 1
	}
	return n
}

// pageRangesOf reads a page-ranges attribute; ok is false when it is not
// a valid one.
func pageRangesOf(a goipp.Attribute) ([]PageRange, bool) {
	if len(a.Values) == 0 || len(a.Values) > maxPageRanges {
		return nil, false
	}
	out := make([]PageRange, 0, len(a.Values))
	for _, v := range a.Values {
		r, isRange := v.V.(goipp.Range)
		if !isRange || v.T != goipp.TagRange {
			return nil, false
		}
		out = append(out, PageRange{r.Lower, r.Upper})
	}
	return out, checkPageRanges(out) == nil
}

// pageRangesAttr is the page-ranges attribute of ranges.
func pageRangesAttr(ranges []PageRange) goipp.Attribute {
	a := goipp.Attribute{Name: "page-ranges"}
	for _, r := range ranges {
		a.Values.Add(goipp.TagRange, goipp.Range{Lower: r.First, Upper: r.Last})
	}
	return a
}
