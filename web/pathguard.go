package web

import (
	"net/http"
	"strings"
)

// ippPrefix is where printer URIs live (ipp.PathPrefix, which
// TestIPPPrefix keeps it equal to): web carries IPP only as the handler
// Options.IPP hands in.
const ippPrefix = "/ipp/print/"

// maxPathLength bounds the paths the console and the API answer; theirs are
// short, and a long one is a probe.
const maxPathLength = 512

// pathAllowed reports whether r's path may be routed at all. Routing is by
// exact match on the decoded path, and the route table has only plain
// paths, so refusing anything that is not plain leaves no way to reach a
// handler by a spelling the table did not mean: no "." or ".." segments,
// no empty segments ("//admin", "/admin/"), no ';' parameters, nothing
// percent-encoded ("%2e%2e", "%2f"), no trailing dots ("/admin.").
//
// Paths under ippPrefix are the IPP handler's to judge: the catch-all
// IPP route takes every one of them whatever follows the prefix, so none
// can reach another handler.
func pathAllowed(r *http.Request) bool {
	path := r.URL.Path
	if strings.HasPrefix(path, ippPrefix) {
		return true
	}
	// The escaped form must be the decoded one: any percent-encoding
	// (even of a harmless byte) is refused rather than interpreted.
	return plainPath(path) && r.URL.EscapedPath() == path
}

// plainPath reports whether p is "/" or "/" followed by segments of ASCII
// letters, digits, '-', '_' and inner dots, separated by single slashes.
func plainPath(p string) bool {
	if p == "/" {
		return true
	}
	if len(p) < 2 || len(p) > maxPathLength || p[0] != '/' {
		return false
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "" || seg[0] == '.' || seg[len(seg)-1] == '.' {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			switch {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
			default:
				return false
			}
		}
	}
	return true
}
