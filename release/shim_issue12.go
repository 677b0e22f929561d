package release

// TEMPORARY (issue 12): stand-ins for two APIs built in parallel, to be
// replaced at merge by audit.(*Log).AppendBatch and pages.Counter.Stream.
// Each has one or two call sites, named here.

import (
	"bytes"
	"context"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/audit/pages"
)

// appendBatch appends evs in order inside tx, as audit.(*Log).AppendBatch
// will under one hold of the chain head. Called by committer.go
// (writeBatch) and record.go (recordSubmitted).
func appendBatch(ctx context.Context, l *audit.Log, tx *gorm.DB, evs []audit.Event) ([]audit.Event, error) {
	out := make([]audit.Event, 0, len(evs))
	for _, ev := range evs {
		stored, err := l.Append(ctx, tx, ev)
		if err != nil {
			return nil, err
		}
		out = append(out, stored)
	}
	return out, nil
}

// countBytes counts the pages of a small document from its plaintext in
// memory. Called by docstore.go (countSmall); pages.Stream will count
// every document while it streams in, and storeFile's second read
// (countPages) goes with it.
func countBytes(ctx context.Context, c pages.Counter, format string, plain []byte) (pages.Result, error) {
	return c.Count(ctx, format, bytes.NewReader(plain))
}
