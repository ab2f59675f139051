package app_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/steward-itaas/steward/"

// allowed is the import graph of docs/architecture.md: which of the
// module's packages each package may import (non-test files). Domains never
// import the transports (api, web, middleware) or the composition root
// (app); a new package must be added here on purpose.
var allowed = map[string][]string{
	"api":                      {},
	"internal/errs":            {},
	"internal/expr":            {},
	"internal/jsontext":        {},
	"internal/logtest":         {},
	"internal/money":           {"internal/errs"},
	"internal/sqldb":           {"internal/errs"},
	"internal/sqldb/sqldbtest": {"internal/sqldb"},
	"internal/access":          {"internal/errs"},
	"internal/audit":           {"internal/access", "internal/errs", "internal/sqldb"},
	"internal/identity":        {"internal/access", "internal/audit", "internal/errs", "internal/sqldb"},
	"internal/jobs":            {"internal/access", "internal/audit", "internal/errs", "internal/sqldb"},
	"internal/idempotency":     {"internal/errs", "internal/sqldb"},
	"internal/rating":          {"internal/access", "internal/audit", "internal/errs", "internal/money", "internal/sqldb"},
	"internal/catalog":         {"internal/access", "internal/audit", "internal/blueprint", "internal/errs", "internal/money", "internal/rating", "internal/sqldb"},
	"internal/orders":          {"internal/access", "internal/audit", "internal/catalog", "internal/errs", "internal/expr", "internal/money", "internal/rating", "internal/sqldb"},
	"internal/portfolio":       {"internal/access", "internal/catalog", "internal/errs", "internal/identity", "internal/orders", "internal/rating"},
	"internal/demo":            {"internal/access", "internal/billing", "internal/catalog", "internal/errs", "internal/identity", "internal/metering", "internal/orders", "internal/portfolio", "internal/provision", "internal/sla"},
	"internal/metering":        {"internal/access", "internal/audit", "internal/errs", "internal/jsontext", "internal/sqldb"},
	"internal/billing":         {"internal/access", "internal/audit", "internal/errs", "internal/jobs", "internal/metering", "internal/money", "internal/rating", "internal/sqldb"},
	"internal/middleware":      {"internal/access", "internal/audit"},
	"internal/secret":          {},
	"internal/osb":             {},
	"internal/blueprint":       {"internal/errs", "internal/expr"},
	"internal/osb/osbtest":     {},
	"internal/provision": {"internal/access", "internal/audit", "internal/blueprint", "internal/catalog", "internal/errs", "internal/expr", "internal/jobs", "internal/money", "internal/orders",
		"internal/osb", "internal/secret", "internal/sqldb"},
	"internal/broker": {"internal/access", "internal/audit", "internal/catalog", "internal/errs", "internal/identity", "internal/orders", "internal/osb",
		"internal/provision", "internal/rating", "internal/sqldb"},
	"internal/sla": {"internal/access", "internal/audit", "internal/billing", "internal/catalog", "internal/errs", "internal/jobs", "internal/metering", "internal/money", "internal/sqldb"},
	"internal/api": {"internal/access", "internal/audit", "internal/billing", "internal/broker", "internal/catalog", "internal/errs", "internal/idempotency", "internal/identity",
		"internal/jobs", "internal/jsontext", "internal/metering", "internal/middleware", "internal/orders", "internal/provision", "internal/rating", "internal/sla"},
	"internal/web": {"internal/access", "internal/audit", "internal/billing", "internal/blueprint", "internal/broker", "internal/catalog", "internal/errs", "internal/identity", "internal/jobs",
		"internal/metering", "internal/middleware", "internal/money", "internal/orders", "internal/provision", "internal/rating", "internal/sla"},
	"internal/app": {"api", "internal/access", "internal/api", "internal/audit", "internal/billing", "internal/broker", "internal/catalog", "internal/idempotency", "internal/identity",
		"internal/jobs", "internal/metering", "internal/middleware", "internal/orders", "internal/provision", "internal/rating", "internal/secret", "internal/sla", "internal/sqldb", "internal/web"},
	"cmd/steward": {"internal/access", "internal/app", "internal/billing", "internal/blueprint", "internal/catalog", "internal/demo", "internal/errs", "internal/identity", "internal/metering",
		"internal/middleware", "internal/osb", "internal/portfolio", "internal/provision", "internal/broker", "internal/secret", "internal/sla", "internal/sqldb"},
}

func TestImportGraph(t *testing.T) {
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
			t.Errorf("package %s is not in the import graph; add it to docs/architecture.md and this test", pkg)
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
			if !contains(ok, dep) {
				t.Errorf("%s imports %s, which the import graph does not allow", filepath.Join(pkg, filepath.Base(path)), dep)
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
		t.Errorf("the import graph lists packages that do not exist: %v", stale)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
