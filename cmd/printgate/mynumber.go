package main

import (
	"fmt"

	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/convert"
)

// MyNumberConfig configures the inspection of documents for individual
// numbers (個人番号); each queue's my_number says what becomes of them.
type MyNumberConfig struct {
	// NotifyGroup is the group of the people responsible (事務取扱責任者),
	// named in the audit event of each job found to hold one, for the
	// audit stream and its forwarding to tell them.
	NotifyGroup string `yaml:"notify_group,omitempty"`
}

// checkMyNumber checks a queue's My Number settings.
func checkMyNumber(q QueueConfig) error {
	switch q.MyNumber {
	case "", release.MyNumberProtect, release.MyNumberFlag, release.MyNumberOff:
	default:
		return fmt.Errorf("my_number: %q must be protect, flag or off", q.MyNumber)
	}
	if q.MyNumberTTL < 0 {
		return fmt.Errorf("my_number_ttl: must not be negative")
	}
	return nil
}

// textExtractor returns what reads documents' text for the My Number
// inspection, or nil, logged, where its tools are missing: PDF and
// PostScript jobs are then accepted with their submitted event saying
// they could not be searched.
func (st *stack) textExtractor() *convert.TextExtractor {
	x, err := convert.NewTextExtractor(convert.TextLimits())
	if err != nil {
		st.log.Warn("documents will not be searched for individual numbers (install poppler-utils and ghostscript)", "err", err)
		return nil
	}
	if err := x.PrivateFS(); err != nil {
		st.log.Warn("the text extractor's sandbox is not private", "err", err)
	}
	return x
}
