package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// impressionsScript is an ippeveprinter print command that reports the
// document's pages (pdfinfo; 1 when it cannot tell) as the job's
// job-impressions-completed, as a real printer's job log does.
const impressionsScript = `#!/bin/sh
pages=$(%s "$1" 2>/dev/null | sed -n 's/^Pages: *//p')
echo "ATTR: job-impressions-completed=${pages:-1}" >&2
exit 0
`

// WithImpressions makes the printer count each PDF job's pages as its
// impressions (/bin/true, the default command, reports none).
func WithImpressions(t testing.TB) PrinterOption {
	t.Helper()
	pdfinfo := Tool(t, "pdfinfo")
	script := filepath.Join(sharedDir(t, "pg-impr-"), "impressions.sh")
	if err := os.WriteFile(script, []byte(fmt.Sprintf(impressionsScript, pdfinfo)), 0o755); err != nil {
		t.Fatalf("testenv: impressions script: %v", err)
	}
	return WithCommand(script)
}
