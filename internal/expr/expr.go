// Package expr compiles and runs the CEL expressions people write into
// Steward (approval policies, placement policies, blueprint templates)
// within fixed bounds, so that no expression can hold a request, a write
// transaction or a job for long, whoever wrote it.
//
// Every expression is bounded three ways. At save time its source length
// is capped (MaxSource) and CEL's cost estimator must put its worst case
// at or under MaxCost, with any list, map or string whose size CEL cannot
// see assumed to hold MaxSize elements; an expression over the limit is
// refused with a message giving the estimate. At every evaluation the
// same MaxCost is enforced by CEL's runtime cost tracking, and Timeout
// bounds the wall time (checked at every iteration of every
// comprehension: checked every hundredth, as cel-go allows, a nested
// comprehension ran for seconds past its deadline).
// Evaluation errors that come from these bounds wrap ErrLimit.
package expr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/types/ref"
)

// The bounds every expression is held to (docs/limits.md lists them).
const (
	// MaxSource is the longest expression, in characters.
	MaxSource = 4096
	// MaxCost is the most an expression may cost, in CEL's cost units
	// (about one unit per comparison, field read or iteration step; a
	// million units run in well under a second), estimated at save time
	// and enforced at every evaluation.
	MaxCost = 1_000_000
	// MaxSize is the size the estimate assumes for a list, map or string
	// whose size it cannot see (an order's items, a request's parameters):
	// an order holds at most 100 items. Larger values are still bounded by
	// MaxCost when the expression runs.
	MaxSize = 100
	// Timeout bounds one evaluation's wall time: the cost of a unit varies
	// with the values (native Go lists are converted as they are read).
	Timeout = 250 * time.Millisecond
)

// ErrLimit is wrapped by evaluation errors caused by MaxCost or Timeout.
var ErrLimit = errors.New("the expression went over its limit")

// Error is a compile-time refusal: Rule is "length", "cel" (it does not
// parse or type-check) or "cost" (its estimated cost is over MaxCost).
type Error struct {
	Rule    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Program is a checked expression ready to run within the bounds.
type Program struct {
	// AST is the checked expression; callers read its output type.
	AST *cel.Ast
	prg cel.Program
}

// Compile parses and type-checks src in env, refuses it when it is too
// long or its estimated worst-case cost is over MaxCost, and returns a
// program that enforces MaxCost when it runs. Errors are *Error.
func Compile(env *cel.Env, src string) (*Program, error) {
	if n := utf8.RuneCountInString(src); n > MaxSource {
		return nil, &Error{Rule: "length", Message: fmt.Sprintf("the expression is %d characters long; the limit is %d", n, MaxSource)}
	}
	// Parse and check apart, each error taken as it is: env.Compile and
	// iss.Err() display every error with its line and a caret under its
	// column, built a character at a time, which costs the square of the
	// column (a 3,000-character line with a hundred errors allocated a
	// gigabyte; found by FuzzCompile).
	ast, iss := env.Parse(src)
	if err := firstIssue(iss); err != nil {
		return nil, err
	}
	ast, iss = env.Check(ast)
	if err := firstIssue(iss); err != nil {
		return nil, err
	}
	est, err := env.EstimateCost(ast, sizes{})
	if err != nil {
		return nil, &Error{Rule: "cost", Message: "the expression's cost cannot be estimated: " + err.Error()}
	}
	if est.Max > MaxCost {
		return nil, &Error{Rule: "cost", Message: fmt.Sprintf(
			"the expression may cost up to %s units to evaluate (counting %d elements for each list, map or string of unknown size); the limit is %d: iterate over less, or nest fewer comprehensions",
			costString(est.Max), MaxSize, MaxCost)}
	}
	prg, err := env.Program(ast, cel.CostLimit(MaxCost), cel.InterruptCheckFrequency(1))
	if err != nil {
		return nil, &Error{Rule: "cel", Message: err.Error()}
	}
	return &Program{AST: ast, prg: prg}, nil
}

// firstIssue is the first of CEL's issues as an *Error, where it is and
// what (at most 200 characters of it), or nil without any.
func firstIssue(iss *cel.Issues) error {
	if iss == nil || len(iss.Errors()) == 0 {
		return nil
	}
	e := iss.Errors()[0]
	msg := e.Message
	if utf8.RuneCountInString(msg) > 200 {
		msg = string([]rune(msg)[:200]) + "…"
	}
	return &Error{Rule: "cel", Message: fmt.Sprintf("%d:%d: %s", e.Location.Line(), e.Location.Column()+1, msg)}
}

func costString(c uint64) string {
	if c == ^uint64(0) {
		return "an unbounded number of"
	}
	return fmt.Sprint(c)
}

// Eval runs the program on vars (a map of variable names to values) within
// MaxCost and Timeout. An error from either bound wraps ErrLimit.
func (p *Program) Eval(ctx context.Context, vars any) (ref.Val, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	out, _, err := p.prg.ContextEval(ctx, vars)
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "cost limit exceeded") || strings.Contains(msg, "operation interrupted") || ctx.Err() != nil {
			return nil, fmt.Errorf("%w (cost limit %d units, time limit %s): %s", ErrLimit, MaxCost, Timeout, msg)
		}
		return nil, err
	}
	return out, nil
}

// sizes is the cost estimator: every value of unknown size holds at most
// MaxSize elements, and calls cost what CEL says they cost.
type sizes struct{}

func (sizes) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: MaxSize}
}

func (sizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}
