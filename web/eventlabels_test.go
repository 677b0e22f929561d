package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// eventPackages are the packages that define audit event types: constants
// named Event... with a string value.
var eventPackages = []string{"../audit", "../release", "../release/throttle", "../release/stamp", "../monitor"}

// eventTypes reads every event type constant from the packages' sources,
// so that a type added without a label fails TestEventLabels.
func eventTypes(t *testing.T) map[string]string {
	t.Helper()
	types := map[string]string{}
	fset := token.NewFileSet()
	for _, dir := range eventPackages {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			addEventConsts(types, f, filepath.Base(dir))
		}
	}
	if len(types) < 40 {
		t.Fatalf("found only %d event types; did the packages move?", len(types))
	}
	return types
}

func addEventConsts(types map[string]string, f *ast.File, pkg string) {
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Event") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				types[v] = pkg + "." + name.Name
			}
		}
	}
}

// TestEventLabels checks that every event type has a label in both
// languages and that no two types share one, so that the job page and
// history never show a raw keyword or two different events alike.
func TestEventLabels(t *testing.T) {
	locs, err := loadLocales(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	types := eventTypes(t)
	for _, lang := range []string{langEn, langJa} {
		t.Run(lang, func(t *testing.T) {
			l := locs[lang]
			byLabel := map[string]string{}
			for typ, name := range types {
				label, ok := l.msgs["event."+typ]
				if !ok || strings.TrimSpace(label) == "" {
					t.Errorf("%s (%q) has no %s label (event.%s)", name, typ, lang, typ)
					continue
				}
				if other, dup := byLabel[label]; dup {
					t.Errorf("%s and %s share the %s label %q", other, typ, lang, label)
				}
				byLabel[label] = typ
			}
			// release-attempt is written once per job when a release is
			// refused, not at a sign-in.
			if label := l.msgs["event.release-attempt"]; strings.Contains(label, "サインイン") ||
				strings.Contains(strings.ToLower(label), "sign-in") {
				t.Errorf("release-attempt is labelled %q, as a sign-in", label)
			}
		})
	}
}

// TestEndedReasons checks that each reason a job ends with reads in its
// own words in both languages, never as the bare outcome with the
// keyword beside it, and that no two reasons read alike.
func TestEndedReasons(t *testing.T) {
	locs, err := loadLocales(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ outcome, reason string }{
		{"canceled", "document-missing"},
		{"canceled", "job-incomplete"},
		{"canceled", "job-canceled-by-user"},
		{"canceled", "job-canceled-by-operator"},
		{"expired", "job-expired"},
		{"printed", "job-completed-successfully"},
		{"print-failed", "printer-unreachable"},
		{"print-failed", "printer-aborted"},
		{"print-failed", "printer-canceled"},
		{"print-failed", "printer-refused"},
		{"print-failed", "conversion-failed"},
		{"held", "may-have-printed"},
		{"held", "printer-job-not-recorded"},
	}
	for _, lang := range []string{langEn, langJa} {
		l := locs[lang]
		seen := map[string]string{}
		for _, tt := range tests {
			got := l.Ended(tt.outcome, tt.reason)
			if strings.Contains(got, tt.reason) || got == l.TOr("outcome.", tt.outcome) {
				t.Errorf("%s: %s/%s reads %q: not in words of its own", lang, tt.outcome, tt.reason, got)
			}
			if other, dup := seen[got]; dup {
				t.Errorf("%s: %s and %s both read %q", lang, other, tt.reason, got)
			}
			seen[got] = tt.reason
		}
	}
	// An aborted job must not read as one its owner deleted.
	if got := locs[langJa].Ended("canceled", "document-missing"); strings.Contains(got, "削除") {
		t.Errorf("ja: document-missing reads %q, as a deletion", got)
	}
	// A reason the catalog does not know keeps the outcome's label.
	if got := locs[langEn].Ended("print-failed", "brand-new-reason"); got != "print failed (brand-new-reason)" {
		t.Errorf("unknown reason: %q", got)
	}
}
