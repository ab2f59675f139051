package blueprint

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"

	"github.com/steward-itaas/steward/internal/expr"
)

// What an expression may read of the instance and of an earlier step
// (Vars.activation and the provision package fill them in).
var (
	instanceFields = []string{"id", "name", "org_unit", "owner", "offering", "plan"}
	stepFields     = []string{"id", "provider", "dashboard_url", "outputs"}
	roots          = []string{"inputs", "instance", "steps"}
)

// reference is a problem with a name an expression uses.
type reference struct {
	rule, message string
}

// references checks every name src reads against what the scope offers:
// each input it selects (inputs.x, inputs['x'], has(inputs.x)) must be
// declared; each step (steps.x) must be one before this one, and what it
// reads of the step (steps.x.id) one of stepFields; what it reads of the
// instance one of instanceFields. It walks the parsed CEL expression, so
// the variables of a comprehension (which hide the names outside it) are
// not taken for references. Each problem names the place, the expression
// and the name, and the closest valid name when one is close. An
// expression that does not parse, or is over expr.MaxSource, has no
// references here: compiling it reports why.
func (sc *scope) references(src string) []reference {
	if utf8.RuneCountInString(src) > expr.MaxSource {
		return nil
	}
	parsed, iss := sc.env.Parse(src)
	if iss != nil && len(iss.Errors()) > 0 { // not iss.Err(): it displays each error at a cost of the square of its column
		return nil
	}
	w := &walker{sc: sc, src: src, seen: map[string]bool{}}
	w.walk(parsed.NativeRep().Expr(), nil)
	return w.out
}

type walker struct {
	sc   *scope
	src  string
	seen map[string]bool
	out  []reference
}

func (w *walker) add(rule, format string, args ...any) {
	msg := "${" + short(w.src) + "}"
	if w.sc.where != "" {
		msg += " in " + w.sc.where
	}
	msg += " " + fmt.Sprintf(format, args...)
	if !w.seen[msg] {
		w.seen[msg] = true
		w.out = append(w.out, reference{rule: rule, message: msg})
	}
}

// walk checks e; bound are the comprehension variables in scope.
func (w *walker) walk(e ast.Expr, bound []string) {
	switch e.Kind() {
	case ast.IdentKind:
		name := e.AsIdent()
		switch {
		case slices.Contains(bound, name) || name == "inputs" || name == "instance":
		case name == "steps":
			w.add("reference", "uses steps without naming a step: write steps.<name> and what of it to use (%s)", list(stepFields))
		default:
			// Anything else CEL reports as undeclared (or is a type name,
			// such as int); only a near miss of a root is worth a hint.
			if near := closest(name, roots); near != "" {
				w.add("reference", "uses %s, which is not defined; did you mean %s?", name, near)
			}
		}
	case ast.SelectKind:
		s := e.AsSelect()
		if !w.member(s.Operand(), s.FieldName(), bound) {
			w.walk(s.Operand(), bound)
		}
	case ast.CallKind:
		c := e.AsCall()
		args := c.Args()
		switch c.FunctionName() {
		case operators.Index, operators.OptIndex, operators.OptSelect:
			if len(args) == 2 && args[1].Kind() == ast.LiteralKind {
				if key, ok := args[1].AsLiteral().(types.String); ok && w.member(args[0], string(key), bound) {
					return
				}
			}
		}
		if c.IsMemberFunction() {
			w.walk(c.Target(), bound)
		}
		for _, a := range args {
			w.walk(a, bound)
		}
	case ast.ComprehensionKind:
		c := e.AsComprehension()
		w.walk(c.IterRange(), bound)
		w.walk(c.AccuInit(), bound)
		inner := append(slices.Clip(bound), c.IterVar(), c.AccuVar())
		if c.HasIterVar2() {
			inner = append(inner, c.IterVar2())
		}
		w.walk(c.LoopCondition(), inner)
		w.walk(c.LoopStep(), inner)
		w.walk(c.Result(), inner)
	case ast.ListKind:
		for _, el := range e.AsList().Elements() {
			w.walk(el, bound)
		}
	case ast.MapKind:
		for _, en := range e.AsMap().Entries() {
			w.walk(en.AsMapEntry().Key(), bound)
			w.walk(en.AsMapEntry().Value(), bound)
		}
	case ast.StructKind:
		for _, f := range e.AsStruct().Fields() {
			w.walk(f.AsStructField().Value(), bound)
		}
	}
}

// member checks operand.name when the operand is inputs, instance, steps
// or steps.<step>, and reports whether it was one of them.
func (w *walker) member(operand ast.Expr, name string, bound []string) bool {
	root := func(e ast.Expr, root string) bool {
		return e.Kind() == ast.IdentKind && e.AsIdent() == root && !slices.Contains(bound, root)
	}
	switch {
	case root(operand, "inputs"):
		if !w.sc.unread && !slices.Contains(w.sc.inputs, name) {
			w.add("reference", "uses input %s, which the blueprint does not declare%s", name,
				hint(name, w.sc.inputs, "its inputs are", "it declares no inputs"))
		}
	case root(operand, "instance"):
		if !slices.Contains(instanceFields, name) {
			w.add("reference", "uses instance.%s, but the instance offers %s%s", name, list(instanceFields), hint(name, instanceFields, "", ""))
		}
	case root(operand, "steps"):
		w.step(name)
	case operand.Kind() == ast.SelectKind && root(operand.AsSelect().Operand(), "steps"):
		step := operand.AsSelect().FieldName()
		if w.step(step) && !slices.Contains(stepFields, name) {
			w.add("reference", "uses steps.%s.%s, but a step offers %s%s", step, name, list(stepFields), hint(name, stepFields, "", ""))
		}
	default:
		return false
	}
	return true
}

// step checks a step's name, reporting whether it may be used here.
func (w *walker) step(name string) bool {
	const only = "a step may use only the steps before it"
	switch {
	case slices.Contains(w.sc.steps, name):
		return true
	case name == w.sc.self:
		w.add("order", "uses step %s, which has not run yet here: it is this step; %s", name, only)
	case slices.Contains(w.sc.all, name):
		w.add("order", "uses step %s, which has not run yet here; %s", name, only)
	case w.sc.self == "":
		w.add("reference", "uses step %s, but no step has that name%s", name, hint(name, w.sc.steps, "the steps are", "there are no steps"))
	default:
		w.add("reference", "uses step %s, but no step has that name%s", name, hint(name, w.sc.steps, "the steps before it are", "no step runs before it"))
	}
	return false
}

// hint suggests the name closest to name ("; did you mean app_name?"), or
// lists the names ("; its inputs are a, b and c") when none is close.
// Empty are or none leaves that part out.
func hint(name string, names []string, are, none string) string {
	switch near := closest(name, names); {
	case near != "":
		return "; did you mean " + near + "?"
	case len(names) == 0 && none != "":
		return "; " + none
	case len(names) > 0 && are != "":
		return "; " + are + " " + list(names)
	}
	return ""
}

// list is names as text: "a, b and c", the first ten of them.
func list(names []string) string {
	const most = 10
	if len(names) > most {
		return strings.Join(names[:most], ", ") + fmt.Sprintf(" and %d more", len(names)-most)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// closest is the name in names nearest to name, ignoring case, if it is
// near enough to be the one meant: at most two edits (an insertion,
// deletion, substitution or swap of neighbours each), and fewer than half
// the letters of the longer. The first of equally near names wins.
func closest(name string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if n == name {
			continue
		}
		d := distance(strings.ToLower(name), strings.ToLower(n))
		if d < bestD && 2*d < max(utf8.RuneCountInString(name), utf8.RuneCountInString(n)) {
			best, bestD = n, d
		}
	}
	return best
}

// distance is the optimal string alignment distance between a and b: the
// edits (insert, delete, substitute, swap two neighbours) from one to the
// other.
func distance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
