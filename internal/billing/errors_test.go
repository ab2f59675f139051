package billing_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TestStoredJSONThatDoesNotDecode checks that a stored JSON value that does
// not decode (a line's or a credit's explanation, a segment's add-ons) is
// an internal error, not a line without its explanation, a fee without its
// add-ons or a FOCUS row priced as if held all month. Issue 17, item 20
// (ignored json.Unmarshal errors).
func TestStoredJSONThatDoesNotDecode(t *testing.T) {
	f := newFixture(t)
	sys := access.System()
	if _, err := f.bill.SaveAccount(f.ctx, sys, billing.AccountInput{OrgUnit: "corp", Mode: billing.Chargeback, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	f.instance("b", "corp", [4]string{"small", "1", "2026-11-11T00:00:00Z", ""})
	if err := f.db.Tx(f.ctx, func(tx *sqldb.Tx) error {
		return billing.SetCredit(f.ctx, tx, at("2026-11-20T00:00:00Z"), billing.CreditInput{OrgUnitID: f.units["corp"], Currency: "EUR", TotalMinor: 100,
			Description: "Service credit", Source: "test", SourceID: "c-1", Explain: map[string]any{"why": "breach"}})
	}); err != nil {
		t.Fatal(err)
	}
	f.run("2026-11")
	d := f.doc("corp", "2026-11-01T00:00:00Z")
	focus := func() error {
		return f.bill.Export(f.ctx, sys, billing.ExportFilter{From: at("2026-11-01T00:00:00Z"), To: at("2026-12-01T00:00:00Z"), IncludeDrafts: true},
			billing.FOCUS, io.Discard)
	}
	if err := focus(); err != nil {
		t.Fatal(err)
	}

	// A line's explanation.
	f.exec(`UPDATE billing_lines SET explain = '{"proration":' WHERE document_id = $1`, d.ID)
	if _, err := f.bill.Document(f.ctx, sys, d.ID); !errs.Is(err, errs.CodeInternal) {
		t.Errorf("a document whose lines' explanations do not decode = %v, want internal", err)
	}
	if err := focus(); !errs.Is(err, errs.CodeInternal) {
		t.Errorf("a FOCUS export of lines whose explanations do not decode = %v, want internal", err)
	}
	f.exec(`UPDATE billing_lines SET explain = '{}' WHERE document_id = $1`, d.ID)

	// A credit's explanation.
	f.exec(`UPDATE billing_credits SET explain = 'breach'`)
	if _, err := billing.CreditsFor(f.ctx, f.db.Read(), "test", "c-1"); !errs.Is(err, errs.CodeInternal) {
		t.Errorf("credits whose explanations do not decode = %v, want internal", err)
	}
	execute := func(month string) error {
		t.Helper()
		r, err := f.bill.StartRun(f.ctx, sys, month)
		if err != nil {
			t.Fatal(err)
		}
		return f.bill.Execute(f.ctx, r.ID)
	}
	if err := execute("2026-11"); !errs.Is(err, errs.CodeInternal) {
		t.Errorf("a run with a pending credit whose explanation does not decode = %v, want internal", err)
	}
	f.exec(`UPDATE billing_credits SET explain = '{}'`)

	// A segment's add-ons.
	f.exec(`UPDATE instance_segments SET addons = '[{"code":'`)
	if err := execute("2026-12"); !errs.Is(err, errs.CodeInternal) {
		t.Errorf("a run over a segment whose add-ons do not decode = %v, want internal", err)
	}
}

// TestSaveAccountDatabaseError checks that only an org unit that does not
// exist makes an account invalid: when org units cannot be read, saving
// an account is an internal error, not "there is no org unit". Issue 17,
// item 20 (an error turned into not-found).
func TestSaveAccountDatabaseError(t *testing.T) {
	f := newFixture(t)
	sys := access.System()
	_, err := f.bill.SaveAccount(f.ctx, sys, billing.AccountInput{OrgUnit: "nowhere", Mode: billing.Chargeback, Currency: "EUR"})
	if e := errs.As(err); e == nil || e.Code != errs.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "org_unit" {
		t.Fatalf("an account of an org unit that does not exist: %v", err)
	}
	f.exec(`ALTER TABLE org_units RENAME TO org_units_gone`)
	_, err = f.bill.SaveAccount(f.ctx, sys, billing.AccountInput{OrgUnit: "corp", Mode: billing.Chargeback, Currency: "EUR"})
	wantCode(t, err, errs.CodeInternal)
}

// TestRowLoopsCheckErr checks, in the source of billing and of metering
// (which billing reads usage from), that every loop over rows.Next() is
// followed by a call of Err() on the same rows before they are looped over
// again: a loop that stops on a failed read must not pass for the end of
// the rows. Prefer sqldb.QueryAll, which does it. Issue 17, item 20
// (billing/run.go never checked rows.Err()).
func TestRowLoopsCheckErr(t *testing.T) {
	checkRowLoops(t, ".")
	checkRowLoops(t, "../metering")
}

// checkRowLoops parses the non-test Go files of dir and reports each loop
// on X.Next() that no X.Err() follows before the function loops on
// X.Next() again or ends.
func checkRowLoops(t *testing.T, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			type loop struct{ start, end token.Pos }
			loops, checks := map[string][]loop{}, map[string][]token.Pos{}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if l, ok := n.(*ast.ForStmt); ok {
					if x := method(l.Cond, "Next"); x != "" {
						loops[x] = append(loops[x], loop{l.Pos(), l.End()})
					}
				}
				if e, ok := n.(ast.Expr); ok {
					if x := method(e, "Err"); x != "" {
						checks[x] = append(checks[x], e.Pos())
					}
				}
				return true
			})
			for x, ls := range loops {
				for i, l := range ls {
					until := fn.Body.End()
					if i+1 < len(ls) {
						until = ls[i+1].start
					}
					if !slices.ContainsFunc(checks[x], func(p token.Pos) bool { return p > l.end && p < until }) {
						t.Errorf("%s: %s loops on %s.Next() without checking %s.Err() after: use sqldb.QueryAll", fset.Position(l.start), fn.Name.Name, x, x)
					}
				}
			}
		}
	}
}

// method returns X when e is the call X.name(), else "".
func method(e ast.Expr, name string) string {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return ""
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return ""
	}
	if id, ok := sel.X.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}
