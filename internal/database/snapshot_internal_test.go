package database

import (
	"strings"
	"testing"
)

// TestClientMessages: of pg_restore's stderr the error keeps what failed
// and none of the data the server quotes.
func TestClientMessages(t *testing.T) {
	const secret = "年末調整-123456789018"
	stderr := `pg_restore: error: COPY failed for table "jobs": ERROR:  invalid input syntax for type bigint: "` + secret + `"
CONTEXT:  COPY jobs, line 1, column id: "` + secret + `"
pg_restore: error: could not execute query: ERROR:  relation "jobs" already exists
Command was: CREATE TABLE public.jobs (name text -- ` + secret + `
DETAIL:  Key (name)=(` + secret + `) already exists.
pg_restore: warning: errors ignored on restore: 2
`
	got := clientMessages("pg_restore", stderr)
	for _, want := range []string{`pg_restore: error: COPY failed for table "jobs": ERROR:  invalid input syntax for type bigint`,
		"pg_restore: error: could not execute query: ERROR:  relation", "pg_restore: warning: errors ignored on restore: 2"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "123456789018") || strings.Contains(got, "CONTEXT") || strings.Contains(got, "Command was") {
		t.Errorf("%q quotes the data", got)
	}
}
