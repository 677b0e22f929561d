package release

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// ippWords lists, per file of release and its sub-packages, where the
// code uses IPP's error words (ipp.Err..., ipp.Refuse, ipp.Refusal).
func ippWords(t *testing.T) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		name := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/printgate/printgate/ipp" {
				name = "ipp"
				if imp.Name != nil {
					name = imp.Name.Name
				}
			}
		}
		if name == "" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == name &&
				(strings.HasPrefix(sel.Sel.Name, "Err") || sel.Sel.Name == "Refuse" || sel.Sel.Name == "Refusal") {
				found[path] = append(found[path], fset.Position(sel.Pos()).String()+" "+name+"."+sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestErrorsTranslatedInOneFile keeps release answering in its own words:
// only ippbackend.go, where IPP begins, may name IPP's errors.
func TestErrorsTranslatedInOneFile(t *testing.T) {
	found := ippWords(t)
	if len(found["ippbackend.go"]) == 0 {
		t.Fatal("found no IPP error word in ippbackend.go: the check sees nothing")
	}
	delete(found, "ippbackend.go")
	for file, uses := range found {
		t.Errorf("%s speaks IPP's error words (translate in ippbackend.go instead):\n\t%s", file, strings.Join(uses, "\n\t"))
	}
}
