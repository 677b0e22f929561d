package web

import (
	"bufio"
	"net/http"
	"path"
	"strings"
	"testing"

	"github.com/printgate/printgate/ipp"
)

func TestPlainPath(t *testing.T) {
	cases := []struct {
		path string
		want bool
	}{
		{"/", true},
		{"/my", true},
		{"/admin/users", true},
		{"/static/app.css", true},
		{"/api/v1/release/sessions/pgs_ABC234/jobs/42", true},
		{"", false},
		{"my", false},
		{"//", false},
		{"/my/", false},
		{"/a//b", false},
		{"/.", false},
		{"/..", false},
		{"/a/../b", false},
		{"/admin.", false},
		{"/.hidden", false},
		{"/a;b", false},
		{"/a%2fb", false},
		{"/a b", false},
		{"/a\\b", false},
		{"/ü", false},
		{"/" + strings.Repeat("a", maxPathLength), false},
	}
	for _, tc := range cases {
		if got := plainPath(tc.path); got != tc.want {
			t.Errorf("plainPath(%q) = %v; want %v", tc.path, got, tc.want)
		}
	}
}

// FuzzPathAllowed feeds request targets through Go's request parser and
// the guard: whatever passes outside the IPP prefix must be a clean,
// unencoded path that routing can only match exactly.
func FuzzPathAllowed(f *testing.F) {
	for _, s := range []string{"/", "/admin", "/admin;/x", "/admin/../my", "//admin", "/%2e%2e/admin",
		"/admin%2fusers", "/admin.", "/ipp/print/q", "/ipp/print/../admin", "/static/app.css", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		r, err := http.ReadRequest(bufioReader("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"))
		if err != nil {
			return
		}
		if !pathAllowed(r) || strings.HasPrefix(r.URL.Path, ipp.PathPrefix) {
			return
		}
		p := r.URL.Path
		if path.Clean(p) != p || strings.ContainsAny(p, ";%\\ ") || r.URL.EscapedPath() != p {
			t.Fatalf("guard passed %q (path %q)", target, p)
		}
	})
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
