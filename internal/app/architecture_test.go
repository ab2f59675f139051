package app_test

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const module = "github.com/steward-itaas/steward/"

// The import graph is written once, as the table in docs/architecture.md
// ("| package | may import |"): which of the module's packages each package
// may import (non-test files). This test reads that table, so the page and
// the rule cannot drift apart (issue 17, item 20). Domains never import the
// transports (api, web, middleware) or the composition root (app); a new
// package must be added to the table on purpose.
const architecture = "../../docs/architecture.md"

// importGraph parses the table: each row names packages (comma-separated)
// and what they may import ("—" for nothing). Names are short: "sqldb" is
// internal/sqldb, "api (openapi)" the module's api package, "cmd/steward"
// itself.
func importGraph(doc string) (map[string][]string, error) {
	long := func(name string) string {
		switch name = strings.TrimSpace(name); {
		case name == "api (openapi)":
			return "api"
		case strings.HasPrefix(name, "cmd/"):
			return name
		}
		return "internal/" + name
	}
	graph := map[string][]string{}
	in := false
	for n, line := range strings.Split(doc, "\n") {
		line = strings.TrimSpace(line)
		if line == "| package | may import |" {
			in = true
			continue
		}
		if !in || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			if len(graph) > 0 {
				break // the end of the table
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 2 {
			return nil, fmt.Errorf("%s:%d: a row of the import graph has two cells, package and may import: %s", architecture, n+1, line)
		}
		var deps []string
		if d := strings.TrimSpace(cells[1]); d != "—" {
			for _, dep := range strings.Split(d, ",") {
				deps = append(deps, long(dep))
			}
		}
		for _, pkg := range strings.Split(cells[0], ",") {
			if _, dup := graph[long(pkg)]; dup {
				return nil, fmt.Errorf("%s:%d: %s has two rows in the import graph", architecture, n+1, long(pkg))
			}
			graph[long(pkg)] = deps
		}
	}
	if len(graph) == 0 {
		return nil, fmt.Errorf("%s has no import graph table (a \"| package | may import |\" header and its rows)", architecture)
	}
	return graph, nil
}

func TestImportGraphTable(t *testing.T) {
	t.Parallel()
	got, err := importGraph(`intro

| package | may import |
|---|---|
| errs, api (openapi) | — |
| sqldb/sqldbtest | sqldb |
| cmd/steward | app, errs |

after`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"internal/errs": nil, "api": nil, "internal/sqldb/sqldbtest": {"internal/sqldb"}, "cmd/steward": {"internal/app", "internal/errs"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("importGraph (-want +got):\n%s", diff)
	}
	if _, err := importGraph("| package | may import |\n|---|---|\n| a | b | c |\n"); err == nil {
		t.Error("a row of three cells was accepted")
	}
	if _, err := importGraph("| package | may import |\n| a | b |\n| a | c |\n"); err == nil {
		t.Error("a package with two rows was accepted")
	}
	if _, err := importGraph("no table"); err == nil {
		t.Error("a page without the table was accepted")
	}
}

func TestImportGraph(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(architecture)
	if err != nil {
		t.Fatal(err)
	}
	allowed, err := importGraph(string(doc))
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		seen[pkg] = true
		ok, listed := allowed[pkg]
		if !listed {
			t.Errorf("package %s is not in the import graph; add a row for it to the table in docs/architecture.md", pkg)
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if !strings.HasPrefix(p, module) {
				continue
			}
			dep := strings.TrimPrefix(p, module)
			if !slices.Contains(ok, dep) {
				t.Errorf("%s imports %s, which the import graph of docs/architecture.md does not allow", filepath.Join(pkg, filepath.Base(path)), dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var stale []string
	for pkg := range allowed {
		if !seen[pkg] {
			stale = append(stale, pkg)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("the import graph of docs/architecture.md lists packages that do not exist: %v", stale)
	}
}
