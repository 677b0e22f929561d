package database_test

import (
	"context"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/database"
)

// TestOpenErrorRedacted: pgx quotes a URL it cannot parse in its error;
// the URL's secrets (password, sslpassword, as given or encoded) are not
// in what Open returns.
func TestOpenErrorRedacted(t *testing.T) {
	for _, url := range []string{
		"postgres://u@127.0.0.1:1/db?sslmode=bogus&sslpassword=S3CRET-key",
		"postgres://u@127.0.0.1:1/db?sslmode=bogus&password=S3CRET-pw",
		"postgres://u@127.0.0.1:1/db?connect_timeout=x&sslpassword=S3CRET%2Fkey%20x",
		"postgres://u:S3CRET-pw@127.0.0.1:1/db?connect_timeout=x",
	} {
		_, err := database.Open(context.Background(), url, t.TempDir(), nil)
		if err == nil || strings.Contains(err.Error(), "S3CRET") {
			t.Errorf("Open(%s) = %v, want an error without the secret", url, err)
		}
	}
}
