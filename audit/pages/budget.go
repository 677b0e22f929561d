package pages

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Budget bounds the work of counting one document, whatever the document
// says: a small upload must not make the server decompress, hold or parse
// without end. A count over budget is not an error: Count reports the
// pages as unknown, with the reason.
type Budget struct {
	// DecodedBytes caps the bytes decompressed from a PDF's streams, all
	// streams together, and so the memory that decoded data can take.
	DecodedBytes int64
	// Objects caps the objects of a PDF (its cross-reference entries) and
	// the nodes of its page tree.
	Objects int
	// Time caps how long one count takes.
	Time time.Duration
}

// DefaultBudget is the budget of a zero Counter: generous for any document
// a person prints (a 20000-page report decodes to a few megabytes in some
// tens of thousands of objects), small enough that a few counts at once
// fit in a modest server.
var DefaultBudget = Budget{
	DecodedBytes: 32 << 20,
	Objects:      250_000,
	Time:         10 * time.Second,
}

// withDefaults fills in the zero fields of b from DefaultBudget.
func (b Budget) withDefaults() Budget {
	if b.DecodedBytes <= 0 {
		b.DecodedBytes = DefaultBudget.DecodedBytes
	}
	if b.Objects <= 0 {
		b.Objects = DefaultBudget.Objects
	}
	if b.Time <= 0 {
		b.Time = DefaultBudget.Time
	}
	return b
}

// errOverTime is the cause of the context of a count that ran out of time.
var errOverTime = errors.New("pages: time budget exceeded")

// withDeadline returns ctx bounded by the time budget, measured from now.
func (b Budget) withDeadline(ctx context.Context, now time.Time) (context.Context, context.CancelFunc) {
	return context.WithDeadlineCause(ctx, now.Add(b.Time), errOverTime)
}

// overTime reports whether ctx ended because the time budget ran out
// rather than because the caller gave up.
func overTime(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errOverTime)
}

// overTimeReason is the Reason of a count that ran out of time.
func (b Budget) overTimeReason(format string) string {
	return fmt.Sprintf("counting the %s document took longer than the %s budget", format, b.Time)
}
