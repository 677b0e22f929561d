package owner

import (
	"strings"
	"testing"
)

// FuzzNormalize: a claimed name (requesting-user-name, outside input)
// normalises once and for all, to no more than a few times its length,
// without a domain left.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"HANAKO", `CORP\hanako`, "hanako@corp.example", `a\b@c@d`, "@x", "İ", ""} {
		f.Add(s)
	}
	m := &Mapper{opts: Options{FoldCase: true, StripDomain: true}}
	f.Fuzz(func(t *testing.T, s string) {
		n := m.Normalize(s)
		if again := m.Normalize(n); again != n {
			t.Errorf("Normalize(%q) = %q, but Normalize(%q) = %q", s, n, n, again)
		}
		if strings.Contains(n, `\`) || strings.IndexByte(n, '@') > 0 {
			t.Errorf("Normalize(%q) = %q keeps a domain", s, n)
		}
		if len(n) > 3*len(s) {
			t.Errorf("Normalize(%q) = %q grew more than 3 times", s, n)
		}
	})
}
