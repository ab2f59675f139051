package blueprint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"gopkg.in/yaml.v3"

	"github.com/steward-itaas/steward/internal/expr"
)

// Value is a parameter or output as written: a literal, a template string,
// or a mapping or list of values.
type Value struct {
	kind    kind
	literal any
	parts   []part
	keys    []string
	fields  []*Value
	items   []*Value
}

type kind int

const (
	kindLiteral kind = iota
	kindTemplate
	kindMap
	kindList
)

// part is literal text, or an expression when prg is set.
type part struct {
	text string
	prg  *expr.Program
}

// scope is what expressions at one place may refer to: the inputs, the
// instance and the steps before it. Where names the place in problems
// ("step app", "output url").
type scope struct {
	env *cel.Env
	// inputs are the declared inputs; unread when the inputs could not be
	// read (that is reported once, not at every reference).
	inputs []string
	unread bool
	// steps are the steps that may be used here; all are every step; self
	// is the step being read ("" for outputs).
	steps, all []string
	self       string
	where      string
}

func (p *parser) scope(b *Blueprint, steps, all []string, self, where string) *scope {
	opts := []cel.EnvOption{cel.Variable("inputs", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("instance", cel.MapType(cel.StringType, cel.DynType))}
	for _, s := range steps {
		opts = append(opts, cel.Variable("steps."+s, cel.MapType(cel.StringType, cel.DynType)))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		panic(err) // the declarations are fixed; only a programming error fails here
	}
	sc := &scope{env: env, steps: steps, all: all, self: self, where: where, unread: p.inputsUnread}
	for _, in := range b.Inputs {
		sc.inputs = append(sc.inputs, in.Name)
	}
	return sc
}

// at is the scope at another place with the same names.
func (sc *scope) at(where string) *scope {
	c := *sc
	c.where = where
	return &c
}

// value reads a node into a Value, compiling every expression in sc.
func (p *parser) value(n *yaml.Node, field string, sc *scope) *Value {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" && strings.Contains(n.Value, "${") {
			return p.template(n, field, sc)
		}
		var v any
		if err := n.Decode(&v); err != nil {
			p.add(n, field, "type", "%v", err)
			return nil
		}
		if i, ok := v.(int); ok {
			v = int64(i)
		}
		return &Value{kind: kindLiteral, literal: v}
	case yaml.MappingNode:
		out := &Value{kind: kindMap}
		p.mapping(n, field, nil, func(key string, k, v *yaml.Node) {
			if fv := p.value(v, join(field, key), sc); fv != nil {
				out.keys, out.fields = append(out.keys, key), append(out.fields, fv)
			}
		})
		return out
	case yaml.SequenceNode:
		out := &Value{kind: kindList}
		for i, c := range n.Content {
			if cv := p.value(c, fmt.Sprintf("%s[%d]", field, i), sc); cv != nil {
				out.items = append(out.items, cv)
			}
		}
		return out
	}
	p.add(n, field, "type", "%s must be a value, a mapping or a list (anchors and aliases are not supported)", field)
	return nil
}

// template splits a string into text and ${expression} parts.
func (p *parser) template(n *yaml.Node, field string, sc *scope) *Value {
	s := n.Value
	out := &Value{kind: kindTemplate}
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			if s != "" {
				out.parts = append(out.parts, part{text: s})
			}
			return out
		}
		if i > 0 {
			out.parts = append(out.parts, part{text: s[:i]})
		}
		end := closing(s[i+2:])
		if end < 0 {
			p.add(n, field, "template", "${ is not closed by }: %q", s[i:])
			return nil
		}
		src := strings.TrimSpace(s[i+2 : i+2+end])
		s = s[i+2+end+1:]
		if src == "" {
			p.add(n, field, "template", "${} is empty; write an expression such as ${inputs.app_name}")
			return nil
		}
		prg, ok := p.compile(n, field, src, sc)
		if !ok {
			return nil
		}
		out.parts = append(out.parts, part{text: src, prg: prg})
	}
}

// closing finds the } that closes an expression, skipping braces in
// nested literals and strings.
func closing(s string) int {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '{':
			depth++
		case c == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

// compile checks one ${expression} within package expr's bounds (its
// length, and its estimated cost over MaxSize-element values).
func (p *parser) compile(n *yaml.Node, field, src string, sc *scope) (*expr.Program, bool) {
	if refs := sc.references(src); len(refs) > 0 {
		for _, r := range refs {
			p.add(n, field, r.rule, "%s", r.message)
		}
		return nil, false
	}
	prg, err := expr.Compile(sc.env, src)
	if err != nil {
		var xe *expr.Error
		if !errors.As(err, &xe) {
			p.add(n, field, "expression", "${%s}: %v", short(src), err)
			return nil, false
		}
		rule := xe.Rule
		if rule == "cel" {
			rule = "expression"
		}
		p.add(n, field, rule, "${%s}: %s", short(src), xe.Message)
		return nil, false
	}
	return prg, true
}

// short is an expression as problems quote it: at most 80 characters.
func short(src string) string {
	if r := []rune(src); len(r) > 80 {
		return string(r[:77]) + "..."
	}
	return src
}

// StepResult is what a finished step offers later steps and the outputs.
type StepResult struct {
	ID           string
	Provider     string
	DashboardURL string
	Outputs      map[string]any
}

// Vars is what templates are rendered with.
type Vars struct {
	Inputs   map[string]any
	Instance map[string]any
	Steps    map[string]StepResult
}

func (v Vars) activation() map[string]any {
	act := map[string]any{"inputs": orEmpty(v.Inputs), "instance": orEmpty(v.Instance)}
	for name, r := range v.Steps {
		act["steps."+name] = map[string]any{"id": r.ID, "provider": r.Provider, "dashboard_url": r.DashboardURL, "outputs": orEmpty(r.Outputs)}
	}
	return act
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// Parameters renders step i's parameters. Every expression runs within
// package expr's bounds; one that goes over them fails the render with an
// error wrapping expr.ErrLimit.
func (b *Blueprint) Parameters(ctx context.Context, i int, vars Vars) (map[string]any, error) {
	st := b.Steps[i]
	if st.Parameters == nil {
		return map[string]any{}, nil
	}
	v, err := st.Parameters.render(ctx, vars.activation())
	if err != nil {
		return nil, fmt.Errorf("step %s: %w", st.Name, err)
	}
	return v.(map[string]any), nil
}

// Render renders the blueprint's outputs; outputs that cannot be rendered
// (including those whose expressions go over package expr's bounds) are
// left out and reported in the error.
func (b *Blueprint) Render(ctx context.Context, vars Vars) (map[string]any, error) {
	act := vars.activation()
	out := map[string]any{}
	var problems []error
	for _, o := range b.Outputs {
		v, err := o.Value.render(ctx, act)
		if err != nil {
			problems = append(problems, fmt.Errorf("output %s: %w", o.Name, err))
			continue
		}
		out[o.Name] = v
	}
	return out, errors.Join(problems...)
}

func (v *Value) render(ctx context.Context, act map[string]any) (any, error) {
	switch v.kind {
	case kindMap:
		out := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			fv, err := v.fields[i].render(ctx, act)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = fv
		}
		return out, nil
	case kindList:
		out := make([]any, 0, len(v.items))
		for i, it := range v.items {
			iv, err := it.render(ctx, act)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out = append(out, iv)
		}
		return out, nil
	case kindTemplate:
		if len(v.parts) == 1 && v.parts[0].prg != nil {
			return eval(ctx, v.parts[0], act)
		}
		var b strings.Builder
		for _, pt := range v.parts {
			if pt.prg == nil {
				b.WriteString(pt.text)
				continue
			}
			x, err := eval(ctx, pt, act)
			if err != nil {
				return nil, err
			}
			if s, ok := x.(string); ok {
				b.WriteString(s)
			} else {
				j, _ := json.Marshal(x)
				b.Write(j)
			}
		}
		return b.String(), nil
	}
	return v.literal, nil
}

func eval(ctx context.Context, pt part, act map[string]any) (any, error) {
	out, err := pt.prg.Eval(ctx, act)
	if err != nil {
		return nil, fmt.Errorf("${%s}: %w", short(pt.text), err)
	}
	v, err := native(out)
	if err != nil {
		return nil, fmt.Errorf("${%s}: %v", pt.text, err)
	}
	return v, nil
}

// native turns a CEL value into plain JSON-like Go values, exactly.
func native(v ref.Val) (any, error) {
	switch x := v.(type) {
	case types.Null:
		return nil, nil
	case types.Bool:
		return bool(x), nil
	case types.Int:
		return int64(x), nil
	case types.Uint:
		return uint64(x), nil
	case types.Double:
		return float64(x), nil
	case types.String:
		return string(x), nil
	case traits.Mapper:
		out := map[string]any{}
		for it := x.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			ks, ok := k.(types.String)
			if !ok {
				return nil, fmt.Errorf("map keys must be strings, not %s", k.Type().TypeName())
			}
			val, err := native(x.Get(k))
			if err != nil {
				return nil, err
			}
			out[string(ks)] = val
		}
		return out, nil
	case traits.Lister:
		out := []any{}
		for it := x.Iterator(); it.HasNext() == types.True; {
			val, err := native(it.Next())
			if err != nil {
				return nil, err
			}
			out = append(out, val)
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %s cannot be a parameter or an output", v.Type().TypeName())
}
