package expr

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/cel-go/cel"

	"github.com/steward-itaas/steward/internal/fuzztest"
)

func testEnv(t testing.TB) *cel.Env {
	env, err := cel.NewEnv(cel.Variable("order", cel.MapType(cel.StringType, cel.DynType)))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// A comprehension of 10^8 steps (the outside review's placement policy) is
// refused at save time by its estimated cost.
func TestCompileRefusesCostlyExpressions(t *testing.T) {
	env := testEnv(t)
	ten := "[0,1,2,3,4,5,6,7,8,9]"
	deep := ten + ".all(a, " + ten + ".all(b, " + ten + ".all(c, " + ten + ".all(d, " + ten + ".all(e, " + ten + ".all(f, " + ten + ".all(g, " + ten + ".all(h, true))))))))"
	for name, src := range map[string]string{
		"literal nesting":      deep,
		"nested unknown lists": `order.items.all(a, order.items.all(b, order.items.all(c, a == b)))`,
		"too long":             strings.Repeat("1 + ", MaxSource) + "1 > 0",
		"does not parse":       "order.total >",
		"unknown variable":     "nobody.total > 1",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Compile(env, src)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile(%s) = %v, want an *Error", name, err)
			}
		})
	}
	for _, src := range []string{
		`order.total_monthly > 1000`,
		`order.items.exists(i, i.tier == "gold")`,
		`order.items.all(a, order.items.all(b, a.offering == b.offering))`,
	} {
		if _, err := Compile(env, src); err != nil {
			t.Errorf("Compile(%q) = %v, want it accepted", src, err)
		}
	}
}

// Values larger than the estimate assumed are still bounded at run time.
func TestEvalEnforcesTheCostLimit(t *testing.T) {
	env := testEnv(t)
	prg, err := Compile(env, `order.items.all(a, order.items.all(b, a != b || a == b))`)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]any, 5000) // 25 million pairs: far over MaxCost
	for i := range items {
		items[i] = int64(i)
	}
	_, err = prg.Eval(context.Background(), map[string]any{"order": map[string]any{"items": items}})
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("Eval = %v, want ErrLimit", err)
	}
	out, err := prg.Eval(context.Background(), map[string]any{"order": map[string]any{"items": items[:10]}})
	if err != nil || out.Value() != true {
		t.Fatalf("Eval on 10 items = %v, %v; want true", out, err)
	}
}

// TestEvalInterruptedByTheClock: issue 15, finding 9: the time bound stops
// an evaluation that is within its cost but out of time. Eval bounds the
// caller's context by Timeout and CEL checks for interruption at every
// comprehension step, so a context out of time (here already, as it would
// be after Timeout) stops a cheap evaluation with ErrLimit, naming the
// time limit, rather than letting it run on.
func TestEvalInterruptedByTheClock(t *testing.T) {
	env := testEnv(t)
	prg, err := Compile(env, `order.items.all(a, a >= 0)`)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{"order": map[string]any{"items": []any{int64(1), int64(2), int64(3)}}}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = prg.Eval(ctx, vars)
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "time limit "+Timeout.String()) {
		t.Fatalf("Eval out of time = %v, want ErrLimit naming the time limit", err)
	}
	if out, err := prg.Eval(context.Background(), vars); err != nil || out.Value() != true {
		t.Fatalf("Eval in time = %v, %v; want true", out, err)
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{`order.total > 1`, `order.items.exists(i, i.q > 2)`, `[1,2,3].map(x, x * 2)`, `"a" + "b" == "ab"`, `has(order.x) ? 1 : 2`} {
		f.Add(s)
	}
	env := testEnv(f)
	f.Fuzz(func(t *testing.T, src string) {
		defer fuzztest.Bound(t)()
		prg, err := Compile(env, src)
		if err != nil {
			return
		}
		// Whatever compiles runs within the bounds on a modest order.
		items := make([]any, 50)
		for i := range items {
			items[i] = map[string]any{"q": int64(i), "tier": "gold"}
		}
		_, _ = prg.Eval(context.Background(), map[string]any{"order": map[string]any{"items": items, "total": int64(5)}})
	})
}
