package provision

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/expr"
	"github.com/steward-itaas/steward/internal/fuzztest"
)

// FuzzPolicy: issue 15, finding 9 (defences): saving any placement policy
// is bounded (compile refuses by length and estimated cost) and never
// panics; a refusal is invalid on filter or rank; a policy that compiles
// evaluates on a provider within package expr's bounds.
func FuzzPolicy(f *testing.F) {
	f.Add(DefaultPolicy.Filter, DefaultPolicy.Rank)
	f.Add("provider.region == request.region", "provider.price")
	f.Add("request.parameters.all(a, request.parameters.all(b, request.parameters.all(c, true)))", "1")
	f.Add("[1,2,3].map(x, [1,2,3].map(y, x * y)).size() > 2", "provider.used * 2 - provider.capacity")
	f.Add("provider.(", "1")
	f.Add(strings.Repeat("true && ", 600)+"true", "1")
	f.Add(`provider.code.matches("^(a+)+$")`, "double(provider.price_minor) / 3.0")
	f.Fuzz(func(t *testing.T, filter, rank string) {
		defer fuzztest.Bound(t)()
		ctx := context.Background()
		prg, err := compile(ctx, Policy{OfferingID: "*", Filter: filter, Rank: rank})
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.CodeInvalid || len(e.Fields) == 0 {
				t.Fatalf("compile(%q, %q) = %#v, want invalid with fields", filter, rank, err)
			}
			for _, fe := range e.Fields {
				if fe.Field != "filter" && fe.Field != "rank" {
					t.Fatalf("problem on %q, want filter or rank", fe.Field)
				}
			}
			return
		}
		vars := map[string]any{"provider": map[string]any{"code": "alpha", "name": "A", "kind": "osb", "region": "eu", "health": "healthy", "healthy": true,
			"capacity": int64(3), "used": int64(1), "has_capacity": true, "agreement": "", "price_minor": int64(999), "price": 9.99, "currency": "EUR"},
			"request": map[string]any{"offering": "o", "plan": "p", "org_unit": "u", "quantity": int64(1), "parameters": map[string]any{"region": "eu", "n": int64(3)}, "region": "eu"}}
		for _, p := range []*expr.Program{prg.filter, prg.rank} {
			p.Eval(ctx, vars) // bounded by expr; errors are the policy's
		}
	})
}
