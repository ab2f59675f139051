package portfolio_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/fuzztest"
	"github.com/steward-itaas/steward/internal/portfolio"
)

// aliasBomb is a "billion laughs" portfolio file of under 1 KB: nine
// levels of ten aliases each expand to 10^9 strings (gigabytes) in an
// offering's form.
func aliasBomb() []byte {
	var b strings.Builder
	b.WriteString("services: []\nofferings:\n  - code: bomb\n    service: x\n    name: Bomb\n    view: end_user\n    plans: []\n    form:\n")
	b.WriteString(`      l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]` + "\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "      l%d: &l%d [%s*l%d]\n", i, i, strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 9), i-1)
	}
	return []byte(b.String())
}

// refused reports the problems Parse finds in data, failing the test if
// it finds none.
func refused(t *testing.T, data []byte) portfolio.Problems {
	t.Helper()
	_, err := portfolio.Parse("bomb.yaml", data)
	var ps portfolio.Problems
	if !errors.As(err, &ps) || len(ps) == 0 {
		t.Fatalf("Parse accepted the file (err %v)", err)
	}
	return ps
}

// TestParseRefusesAliases: issue 15, finding 12: a 1 KB alias bomb in an
// offering's form reached 23 GB in `steward catalog import --dry-run`.
// Parse refuses every alias with its line before anything is expanded;
// the test checks the refusal before it lets Import near the file, so a
// regression fails here instead of eating the machine.
func TestParseRefusesAliases(t *testing.T) {
	bomb := aliasBomb()
	ps := refused(t, bomb)
	if got := ps.Error(); !strings.Contains(got, "bomb.yaml:10:") || !strings.Contains(got, "alias") {
		t.Errorf("problems = %s", got)
	}
	// A merge key is an alias too.
	merge := "services:\n  - &base {code: a, name: A, kind: business, lifecycle: live}\n  - <<: *base\n    code: b\n"
	if got := refused(t, []byte(merge)).Error(); !strings.Contains(got, "bomb.yaml:3:") || !strings.Contains(got, "alias") {
		t.Errorf("merge key: %s", got)
	}

	// Import (dry run or not) returns the same problems and writes nothing.
	ctx, sys := context.Background(), access.System()
	b, sb := newApp(t)
	if err := demo.SeedOrganisation(ctx, b.Identity); err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{true, false} {
		_, err := portfolio.Import(ctx, sb, sys, "bomb.yaml", bomb, dry)
		var got portfolio.Problems
		if !errors.As(err, &got) || !strings.Contains(got.Error(), "alias") {
			t.Errorf("import (dry run %v): %v", dry, err)
		}
	}
	if svcs, _ := b.Catalog.Services(ctx, sys, catalog.ServiceFilter{}); len(svcs) != 0 {
		t.Errorf("a refused file wrote %d services", len(svcs))
	}
}

// TestParseLimits: issue 15, finding 12: a file's size and nesting depth
// are bounded, and the problem names the limit.
func TestParseLimits(t *testing.T) {
	big := "services: []\n# " + strings.Repeat("x", portfolio.MaxFileBytes) + "\n"
	if got := refused(t, []byte(big)).Error(); !strings.Contains(got, fmt.Sprint(portfolio.MaxFileBytes)) {
		t.Errorf("a file over the size limit: %s", got)
	}
	deep := "services: []\nofferings:\n  - code: o\n    form: " + strings.Repeat("[", portfolio.MaxDepth+1) + strings.Repeat("]", portfolio.MaxDepth+1) + "\n"
	if got := refused(t, []byte(deep)).Error(); !strings.Contains(got, fmt.Sprintf("%d levels", portfolio.MaxDepth)) || !strings.Contains(got, "bomb.yaml:4:") {
		t.Errorf("a file nested too deep: %s", got)
	}
	// Just within the limits is fine as far as the reader is concerned.
	ok := "services: []\nofferings:\n  - code: o\n    form: " + strings.Repeat("[", portfolio.MaxDepth-4) + strings.Repeat("]", portfolio.MaxDepth-4) + "\n"
	if _, err := portfolio.Parse("ok.yaml", []byte(ok)); err != nil {
		t.Errorf("a file within the depth limit: %v", err)
	}
}

// TestImportHonoursCancellation: issue 15, finding 12: import is long
// work that must stop when its context is cancelled (SIGINT or SIGTERM
// on the command line), with nothing written.
func TestImportHonoursCancellation(t *testing.T) {
	ctx, sys := context.Background(), access.System()
	a, sa := newApp(t)
	if err := demo.SeedOrganisation(ctx, a.Identity); err != nil {
		t.Fatal(err)
	}
	if err := demo.SeedMeters(ctx, a.Metering); err != nil {
		t.Fatal(err)
	}
	file := demoPortfolio(t)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, dry := range []bool{true, false} {
		changes, err := portfolio.Import(cancelled, sa, sys, "portfolio.yaml", file, dry)
		if !errors.Is(err, context.Canceled) || len(changes) != 0 {
			t.Errorf("a cancelled import (dry run %v): %d changes, %v", dry, len(changes), err)
		}
	}
	if svcs, _ := a.Catalog.Services(ctx, sys, catalog.ServiceFilter{}); len(svcs) != 0 {
		t.Errorf("a cancelled import wrote %d services", len(svcs))
	}
}

// demoPortfolio is the demo's portfolio file, as exported from a seeded Steward.
func demoPortfolio(t testing.TB) []byte {
	ctx := context.Background()
	a, sa := newApp(t)
	if _, err := demo.Seed(ctx, demo.Services{Identity: sa.Identity, Catalog: sa.Catalog, Orders: sa.Orders, Metering: a.Metering, Billing: a.Billing}); err != nil {
		t.Fatal(err)
	}
	out, err := portfolio.Export(ctx, sa, access.System())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzImport: issue 15, fuzz defences: the portfolio reader and the
// import's checks (a dry run) on any bytes take bounded time and memory,
// never panic, write nothing, and answer either changes or problems (an
// invalid error) with a line in the file.
func FuzzImport(f *testing.F) {
	ctx, sys := context.Background(), access.System()
	a, sa := newApp(f)
	if err := demo.SeedOrganisation(ctx, a.Identity); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"",
		"services: []\n",
		"services:\n  - {code: email, name: Email, kind: business, lifecycle: live}\n",
		"services:\n  - code: x\n    nmae: X\n",
		"offerings:\n  - code: o\n    service: s\n    name: O\n    view: end_user\n    form: {type: object, properties: {a: {type: string}}}\n    plans: [{code: p, name: P, currency: EUR, recurring: \"1\", one_time: \"0\"}]\n",
		"services:\n  - &base {code: a, name: A, kind: business, lifecycle: live}\n  - <<: *base\n    code: b\n",
		"a: &a [x, x]\nb: [*a, *a]\n",
		"services: [[[[[[[[[[[[[[]]]]]]]]]]]]]]\n",
		"--- !!binary\n",
		"services: !!map {}\n",
		"\t- tab\n",
		string(aliasBomb()),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer fuzztest.Bound(t)()
		changes, err := portfolio.Import(ctx, sa, sys, "fuzz.yaml", data, true)
		if err == nil {
			if len(changes) > len(data) {
				t.Fatalf("%d changes from %d bytes", len(changes), len(data))
			}
			return
		}
		var ps portfolio.Problems
		switch {
		case errors.As(err, &ps):
			for _, p := range ps {
				if p.Line < 0 || p.Message == "" {
					t.Fatalf("problem without a line or message: %+v", p)
				}
			}
		case errs.Is(err, errs.CodeInvalid):
		default:
			t.Fatalf("import answered %T %v, want problems", err, err)
		}
		if len(data) > portfolio.MaxFileBytes && ps == nil {
			t.Fatalf("a file over the size limit was read: %v", err)
		}
	})
}
