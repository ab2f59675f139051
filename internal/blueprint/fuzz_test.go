package blueprint_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/blueprint"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/fuzztest"
)

// alwaysThere are the names a problem may suggest that a blueprint need
// not spell out: the roots, and what a step and the instance offer.
var alwaysThere = []string{"inputs", "instance", "steps", "id", "provider", "dashboard_url", "outputs", "name", "org_unit", "owner", "offering", "plan"}

// FuzzParse: issue 15, finding 12 (defences): any input is read within
// the bounds, without panicking; a refusal is invalid with every problem
// on a line; a blueprint that parses renders its steps and outputs within
// package expr's bounds.
func FuzzParse(f *testing.F) {
	sample, err := os.ReadFile("testdata/web-stack.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte(laughs()))
	f.Add([]byte(""))
	f.Add([]byte("blueprint: x\nname: X\nsteps: [{name: a, plan: vm/bronze, parameters: {x: '${inputs.a}'}}]\n"))
	f.Add([]byte("blueprint: x\nname: X\nsteps: [{name: a, plan: vm/bronze, parameters: {x: '${[1,2,3].map(a, [1,2].map(b, a*b))}'}}]\noutputs: {o: '${steps.a.outputs}'}\n"))
	f.Add([]byte("a: &x [1]\nb: *x\n"))
	f.Add([]byte("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"))
	f.Add([]byte("blueprint: x\nname: X\ninputs: {a: {type: integer, enum: [1, 2], default: 3, minimum: 0}}\nsteps: [{name: a, plan: vm/bronze}]\n"))
	f.Add([]byte(refsBlueprint("${inputs.hostnme + steps.databse.idd + instance.nme + input.x}", "${steps.ap.dashbord_url}")))
	f.Add([]byte(refsBlueprint("${[1].map(inputs, inputs.x)}", "${has(inputs.sise) ? steps.cache['idd'] : ''}")))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer fuzztest.Bound(t)()
		b, err := blueprint.Parse(data)
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.CodeInvalid || len(e.Fields) == 0 || len(e.Fields) > blueprint.MaxProblems {
				t.Fatalf("Parse error %#v: want invalid with 1 to %d problems", err, blueprint.MaxProblems)
			}
			for _, fe := range e.Fields {
				if fe.Line < 0 || fe.Message == "" {
					t.Fatalf("problem %+v has no line or no message", fe)
				}
				// Issue 17, item 17: a suggested name is one that exists:
				// written in the blueprint (an input or a step), or one of
				// the names every blueprint may use.
				if _, after, ok := strings.Cut(fe.Message, "; did you mean "); ok {
					near := strings.TrimSuffix(after, "?")
					if !bytes.Contains(data, []byte(near)) && !slices.Contains(alwaysThere, near) {
						t.Fatalf("problem %+v suggests %q, which is not there", fe, near)
					}
				}
			}
			return
		}
		if len(data) > blueprint.MaxBlueprintBytes || len(b.Steps) == 0 || len(b.Steps) > blueprint.MaxSteps {
			t.Fatalf("parsed a blueprint of %d bytes with %d steps", len(data), len(b.Steps))
		}
		ctx := context.Background()
		vars := blueprint.Vars{Steps: map[string]blueprint.StepResult{}}
		for i := range b.Steps {
			if _, err := b.Parameters(ctx, i, vars); err != nil && errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
		}
		if _, err := b.Render(ctx, vars); err != nil && errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	})
}
