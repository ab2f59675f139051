package portfolio_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/portfolio"
)

// Issue 17, item 14: a problem with a field is reported on the field's
// line, not on the line where its service or offering starts (one was
// reported at 365 instead of 544), and YAML's own errors on the library's line.
func TestProblemsOnTheFieldsLine(t *testing.T) {
	ctx, sys := context.Background(), access.System()
	b, sb := newApp(t)
	if err := demo.SeedOrganisation(ctx, b.Identity); err != nil {
		t.Fatal(err)
	}
	var f strings.Builder
	line := 0
	w := func(s string) int { f.WriteString(s + "\n"); line++; return line }
	w("services:")
	w("  - code: email")
	w("    name: Email")
	w("    kind: business")
	w("    lifecycle: live")
	for i := 0; i < 150; i++ {
		w(fmt.Sprintf("    # padding %d", i))
	}
	owner := w("    owner: nobody@example.com")
	w("    calendar:")
	w("      time_zone: Europe/London")
	w("      holidays:")
	w("        - date: 12-25")
	holiday := w("        - date: christmas")
	w("offerings:")
	w("  - code: mailbox")
	w("    service: email")
	w("    name: Mailbox")
	w("    plans:")
	w("      - code: small")
	w("        name: Small")
	w("        currency: EUR")
	w("        recurring: \"1.00\"")
	w("        one_time: \"0\"")
	w("      - code: large")
	w("        name: Large")
	for i := 0; i < 150; i++ {
		w(fmt.Sprintf("        # padding %d", i))
	}
	w("        currency: EUR")
	recurring := w("        recurring: \"1.005\"")
	w("        one_time: \"0\"")
	w("        prices:")
	w("          - code: storage")
	kind := w("            kind: per_gallon")
	dup := w("      - code: small")
	w("        name: Small again")
	w("        currency: EUR")
	w("        recurring: \"1.00\"")
	w("        one_time: \"0\"")
	_, err := portfolio.Import(ctx, sb, sys, "far.yaml", []byte(f.String()), true)
	ps, ok := err.(portfolio.Problems)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	got := map[int]bool{}
	for _, p := range ps {
		got[p.Line] = true
	}
	for what, want := range map[string]int{"owner": owner, "holiday 2": holiday, "plan large's recurring": recurring,
		"plan large's price kind": kind, "the second plan small": dup} {
		if !got[want] {
			t.Errorf("no problem on line %d (%s):\n%s", want, what, ps.Error())
		}
	}
	// YAML's own errors: a type error and an unknown field, deep in an entity.
	for _, c := range []struct{ text, want string }{
		{"services:\n  - code: x\n    name: X\n    kind: business\n    lifecycle: live\n\n\n    rpo_minutes: soon\n", "t.yaml:8:"},
		{"services:\n  - code: x\n    name: X\n    kind: business\n    lifecycle: live\n    calendar:\n      time_zone: UTC\n      holydays: []\n", "t.yaml:8:"},
		{"services:\n  - code: x\n    name: X\n    kind: business\n    lifecycle: live\n    description: \"open\n", "t.yaml:6:"},
	} {
		_, err := portfolio.Import(ctx, sb, sys, "t.yaml", []byte(c.text), true)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "line ") {
			t.Errorf("%q: %v, want %s", c.text, err, c.want)
		}
	}
}
