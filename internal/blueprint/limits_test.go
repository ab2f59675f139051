package blueprint_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/blueprint"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/expr"
)

// laughs is a "billion laughs" blueprint: nine levels of nine aliases of
// the level before, used where yaml.v3 would expand them when decoding
// (an input's enum and default) and in a step's parameters.
func laughs() string {
	var b strings.Builder
	b.WriteString("blueprint: laughs\nname: Laughs\ninputs:\n  bomb:\n    type: string\n")
	b.WriteString("    description: &l0 lol\n")
	b.WriteString("    enum: &l1 [*l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0]\n")
	b.WriteString("    default: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]\n")
	b.WriteString("steps:\n  - name: s\n    plan: vm/bronze\n    parameters:\n")
	for i := 3; i < 10; i++ {
		fmt.Fprintf(&b, "      l%d: &l%d [", i, i)
		for j := range 9 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// problems parses src and returns its problems as "line:field:rule".
func problems(t *testing.T, src string) []string {
	t.Helper()
	_, err := blueprint.Parse([]byte(src))
	if err == nil {
		t.Fatal("parsed")
	}
	e := errs.As(err)
	if e.Code != errs.CodeInvalid {
		t.Fatalf("error = %v, want invalid", err)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, fmt.Sprintf("%d:%s:%s", f.Line, f.Field, f.Rule))
	}
	return out
}

// Issue 15, finding 12: a blueprint with YAML aliases (a 2 KB "billion
// laughs") is refused before anything decodes it, with the line of every
// alias; so are one over MaxBlueprintBytes, one nested deeper than
// MaxDepth and one with more than MaxSteps steps.
func TestParseRefusesAliasesAndBounds(t *testing.T) {
	src := laughs()
	if len(src) > 2048 {
		t.Fatalf("the bomb is %d bytes; it should fit in 2 KB", len(src))
	}
	got := problems(t, src)
	want := []string{"7:inputs.bomb.enum[0]:alias"}
	if len(got) < len(want) || got[0] != want[0] {
		t.Fatalf("problems = %v, want the first alias, on line 7, first", got)
	}
	for _, p := range got {
		if !strings.HasSuffix(p, ":alias") {
			t.Errorf("problem %s: only the aliases should be reported", p)
		}
	}
	if len(got) > blueprint.MaxProblems {
		t.Errorf("%d problems; at most MaxProblems (%d) are reported", len(got), blueprint.MaxProblems)
	}

	big := "blueprint: big\nname: Big\ndescription: " + strings.Repeat("x", blueprint.MaxBlueprintBytes) + "\nsteps: [{name: a, plan: vm/bronze}]\n"
	if got := problems(t, big); len(got) != 1 || got[0] != "1::size" {
		t.Errorf("an oversized blueprint: %v, want one size problem", got)
	}
	_, err := blueprint.Parse([]byte(big))
	if msg := errs.As(err).Fields[0].Message; !strings.Contains(msg, fmt.Sprint(blueprint.MaxBlueprintBytes)) {
		t.Errorf("the size problem %q does not name the limit", msg)
	}

	deep := "blueprint: deep\nname: Deep\nsteps:\n  - name: a\n    plan: vm/bronze\n    parameters:\n      x: " +
		strings.Repeat("[", blueprint.MaxDepth+5) + strings.Repeat("]", blueprint.MaxDepth+5) + "\n"
	if got := problems(t, deep); len(got) != 1 || !strings.HasPrefix(got[0], "7:steps[0].parameters.x") || !strings.HasSuffix(got[0], ":depth") {
		t.Errorf("a deep blueprint: %v, want one depth problem on line 7", got)
	}

	var many strings.Builder
	many.WriteString("blueprint: many\nname: Many\nsteps:\n")
	for i := range blueprint.MaxSteps + 1 {
		fmt.Fprintf(&many, "  - {name: s%d, plan: vm/bronze}\n", i)
	}
	if got := problems(t, many.String()); len(got) != 1 || got[0] != "3:steps:length" {
		t.Errorf("too many steps: %v, want one problem on steps", got)
	}
}

// Issue 15, finding 9: a template expression is held to the bounds of
// package expr: one whose estimated cost is over expr.MaxCost is refused
// when the blueprint is read, naming the field and the limit, and an
// expression that runs over its bounds fails the render with expr.ErrLimit.
func TestTemplateExpressionsBounded(t *testing.T) {
	src := `blueprint: costly
name: Costly
steps:
  - name: s
    plan: vm/bronze
  - name: a
    plan: vm/bronze
    parameters:
      x: ${steps.s.outputs.list.map(a, steps.s.outputs.list.map(b, steps.s.outputs.list.map(c, a + b + c)))}
`
	_, err := blueprint.Parse([]byte(src))
	e := errs.As(err)
	if err == nil || len(e.Fields) != 1 || e.Fields[0].Field != "steps[1].parameters.x" || e.Fields[0].Rule != "cost" || e.Fields[0].Line != 9 ||
		!strings.Contains(e.Fields[0].Message, fmt.Sprint(expr.MaxCost)) {
		t.Fatalf("a costly template: %v, want a cost problem on steps[1].parameters.x, line 9, naming %d", err, expr.MaxCost)
	}
	long := "blueprint: long\nname: Long\nsteps:\n  - name: a\n    plan: vm/bronze\n    parameters:\n      x: ${" + strings.Repeat("1 + ", expr.MaxSource/4+1) + "1}\n"
	if got := problems(t, long); len(got) != 1 || got[0] != "7:steps[0].parameters.x:length" {
		t.Errorf("a long template: %v, want one length problem", got)
	}

	b, err := blueprint.Parse([]byte(`blueprint: outputs
name: Outputs
steps:
  - name: a
    plan: vm/bronze
  - name: b
    plan: vm/bronze
    parameters:
      doubled: ${steps.a.outputs.items.map(x, x * 2)}
outputs:
  total: ${steps.a.outputs.items.size()}
`))
	if err != nil {
		t.Fatal(err)
	}
	items := make([]any, 2*expr.MaxCost)
	for i := range items {
		items[i] = int64(i)
	}
	vars := blueprint.Vars{Steps: map[string]blueprint.StepResult{"a": {Outputs: map[string]any{"items": items}}}}
	if _, err := b.Parameters(t.Context(), 1, vars); !errors.Is(err, expr.ErrLimit) {
		t.Fatalf("a template over its cost at run time: %v, want expr.ErrLimit", err)
	}
	if out, err := b.Render(t.Context(), vars); err != nil || out["total"] != int64(len(items)) {
		t.Fatalf("outputs = %v, %v", out, err)
	}
}
