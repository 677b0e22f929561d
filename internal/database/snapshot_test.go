package database

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPGConnection: the secrets of a database URL (the password, in its
// user part or as a parameter, and the client key's sslpassword) reach
// pg_dump through its environment or a private file, never its command
// line, where every user of the machine could read them; the file is
// gone once pg_dump is.
func TestPGConnection(t *testing.T) {
	// A pg_dump that shows what it was given.
	bin := t.TempDir()
	script := `#!/bin/sh
echo "argv: $*"
echo "password: $PGPASSWORD"
echo "service: $PGSERVICE"
if [ -n "$PGSERVICEFILE" ]; then echo "servicefile: $PGSERVICEFILE"; cat "$PGSERVICEFILE"; stat -c "mode: %a" "$PGSERVICEFILE"; fi
`
	if err := os.WriteFile(filepath.Join(bin, "pg_dump"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+"/usr/bin:/bin")
	t.Setenv("PGPASSWORD", "")
	for _, tc := range []struct {
		url, dbname string
		want        []string
	}{
		{"postgres://printgate:s3cret-pw@db.example:5432/printgate?sslmode=verify-full",
			"postgres://printgate@db.example:5432/printgate?sslmode=verify-full", []string{"password: s3cret-pw"}},
		{"postgres://printgate@db.example/printgate?password=s3cret-pw&sslmode=require",
			"postgres://printgate@db.example/printgate?sslmode=require", []string{"password: s3cret-pw"}},
		{"postgres://printgate@db.example/printgate?sslmode=verify-full&sslcert=/c.crt&sslkey=/c.key&sslpassword=s3cret-key",
			"postgres://printgate@db.example/printgate?sslcert=%2Fc.crt&sslkey=%2Fc.key&sslmode=verify-full",
			[]string{"service: printgate", "[printgate]\nsslpassword=s3cret-key\n", "mode: 600"}},
		{"postgres://printgate@db.example/printgate", "postgres://printgate@db.example/printgate", []string{"password: \n"}},
	} {
		var out bytes.Buffer
		if err := runPG(context.Background(), "pg_dump", tc.url, nil, nil, &out); err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		got := out.String()
		argv, _, _ := strings.Cut(got, "\n")
		if argv != "argv: --dbname="+tc.dbname || strings.Contains(argv, "s3cret") {
			t.Errorf("%s: command line %q, want --dbname=%s", tc.url, argv, tc.dbname)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: pg_dump saw\n%s\nwant %q", tc.url, got, w)
			}
		}
		if _, file, ok := strings.Cut(got, "servicefile: "); ok {
			file, _, _ = strings.Cut(file, "\n")
			if _, err := os.Stat(filepath.Dir(file)); !os.IsNotExist(err) {
				t.Errorf("%s: the service file's folder is still there: %v", tc.url, err)
			}
		}
	}
}

// TestPGConnectionRefused: an sslpassword a service file cannot carry
// as it is, or beside the URL's own service, is refused without showing
// it.
func TestPGConnectionRefused(t *testing.T) {
	for _, url := range []string{
		"postgres://db/printgate?sslpassword=s3cret%0Asslmode%3Ddisable",
		"postgres://db/printgate?sslpassword=s3cret%20",
		"postgres://db/printgate?service=pg&sslpassword=s3cret",
	} {
		c, err := pgConnection(url)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.environ(); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v", url, err)
		}
	}
}
