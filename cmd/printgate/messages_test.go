package main

import (
	"regexp"
	"slices"
	"testing"
)

// TestCLICatalog checks that every command-line text has both languages
// with the same arguments, and every mapped error its words.
func TestCLICatalog(t *testing.T) {
	verbs := regexp.MustCompile(`%[^a-zA-Z%]*\[\d+\][a-z]`)
	for key, text := range cliText {
		en, ja := verbs.FindAllString(text.En, -1), verbs.FindAllString(text.Ja, -1)
		slices.Sort(en)
		slices.Sort(ja)
		if text.En == "" || text.Ja == "" || text.En == text.Ja && key != "error.other" {
			t.Errorf("%s: en %q, ja %q", key, text.En, text.Ja)
		}
		if !slices.Equal(en, ja) {
			t.Errorf("%s: arguments differ: en %v, ja %v", key, en, ja)
		}
	}
	for _, e := range cliErrors {
		if _, ok := cliText[e.key]; !ok {
			t.Errorf("error %v: no text %s", e.err, e.key)
		}
	}
}
