package database

import (
	"slices"
	"strings"
	"testing"
)

// TestPGConnection: the password of a database URL, in its user part or
// as a parameter, goes to pg_dump's environment, never to its command
// line, where every user of the machine could read it.
func TestPGConnection(t *testing.T) {
	for _, tc := range []struct{ url, dbname, env string }{
		{"postgres://printgate:s3cret-pw@db.example:5432/printgate?sslmode=verify-full",
			"postgres://printgate@db.example:5432/printgate?sslmode=verify-full", "PGPASSWORD=s3cret-pw"},
		{"postgres://printgate@db.example/printgate?password=s3cret-pw&sslmode=require",
			"postgres://printgate@db.example/printgate?sslmode=require", "PGPASSWORD=s3cret-pw"},
		{"postgres://printgate@db.example/printgate", "postgres://printgate@db.example/printgate", ""},
	} {
		dbname, env, err := pgConnection(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if dbname != tc.dbname || strings.Contains(dbname, "s3cret") {
			t.Errorf("%s: command line gets %q, want %q", tc.url, dbname, tc.dbname)
		}
		if tc.env != "" && !slices.Contains(env, tc.env) || tc.env == "" && len(env) > 0 {
			t.Errorf("%s: environment %q, want %q", tc.url, env, tc.env)
		}
	}
}
