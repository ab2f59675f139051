// Package blueprint reads blueprints: the declarative templates that say
// how a plan is made. A blueprint has inputs (what the order supplies),
// steps (each a call to a provider making one component, in order, later
// steps using the outputs of earlier ones) and outputs (what the owner is
// told when it is made). When a step fails, the steps already made are
// undone in reverse order (compensation).
//
// Values in a step's parameters and in outputs are templates: a string
// holding ${expression} is evaluated as CEL over
//
//	inputs        the resolved inputs, by name
//	instance      id, name, org_unit (code), owner (email), plan, offering
//	steps.<name>  for each earlier step: id (its instance ID at the
//	              provider), provider (code), dashboard_url, outputs
//
// A string that is exactly one ${...} takes the expression's type; other
// strings interpolate. This package only parses, checks and renders; the
// provision package stores blueprints and runs them.
package blueprint

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/steward-itaas/steward/internal/errs"
)

// Blueprint is a parsed, checked blueprint.
type Blueprint struct {
	Code        string
	Name        string
	Description string
	// Source is the YAML it was parsed from.
	Source  string
	Inputs  []Input
	Steps   []Step
	Outputs []Output
}

// Input is one thing the order supplies.
type Input struct {
	Name        string
	Type        string // string, integer, number or boolean
	Description string
	// Required inputs without a default must be in the order's parameters.
	Required bool
	Default  any
	Enum     []any
	Pattern  string
	Minimum  *float64
	Maximum  *float64
	Line     int

	re *regexp.Regexp
}

// Step makes one component through a provider.
type Step struct {
	Name string
	// Provider is the provider's code; empty lets the plan's placement
	// policy choose among the providers that offer it.
	Provider string
	// Offering and Plan are the codes of the plan the provider makes.
	Offering, Plan string
	Parameters     *Value
	Line           int
	ProviderLine   int
	PlanLine       int
}

// Output is one thing the owner is told.
type Output struct {
	Name  string
	Value *Value
	Line  int
}

// The bounds every blueprint is held to when it is read (docs/limits.md
// lists them). Template expressions are also held to package expr's.
const (
	// MaxBlueprintBytes is the largest blueprint source, in bytes.
	MaxBlueprintBytes = 64 << 10
	// MaxDepth is how deeply mappings and lists may nest, counting the
	// blueprint itself as depth 1.
	MaxDepth = 20
	// MaxSteps is the most steps a blueprint may have.
	MaxSteps = 50
	// MaxProblems is the most problems one read reports.
	MaxProblems = 100
)

// InputTypes are the types an input may have.
var InputTypes = []string{"string", "integer", "number", "boolean"}

var (
	codePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
)

// parser collects every problem with its line.
type parser struct {
	problems []errs.FieldError
	// inputsUnread is set when the inputs are not a mapping: references
	// to inputs are then not checked (the inputs' problem is reported).
	inputsUnread bool
}

func (p *parser) add(n *yaml.Node, field, rule, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.problems = append(p.problems, errs.FieldError{Field: field, Rule: rule, Line: line, Message: fmt.Sprintf(format, args...)})
}

// Problems builds the invalid error of a blueprint from its problems, in
// line order, the first MaxProblems of them.
func Problems(message string, problems []errs.FieldError) error {
	if len(problems) == 0 {
		return nil
	}
	slices.SortStableFunc(problems, func(a, b errs.FieldError) int { return a.Line - b.Line })
	problems = problems[:min(len(problems), MaxProblems)]
	return &errs.Error{Code: errs.CodeInvalid, Message: message, Fields: problems}
}

// mapping walks a mapping node's keys in order, reporting keys not in known.
func (p *parser) mapping(n *yaml.Node, field string, known []string, each func(key string, k, v *yaml.Node)) bool {
	if n.Kind != yaml.MappingNode {
		p.add(n, field, "type", "%s must be a mapping of keys to values", describe(field))
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case seen[k.Value]:
			p.add(k, join(field, k.Value), "unique", "%s is given twice", k.Value)
		case known != nil && !slices.Contains(known, k.Value):
			p.add(k, join(field, k.Value), "unknown", "%s is not a key of %s; the keys are %s", k.Value, describe(field), strings.Join(known, ", "))
		default:
			each(k.Value, k, v)
		}
		seen[k.Value] = true
	}
	return true
}

func describe(field string) string {
	if field == "" {
		return "a blueprint"
	}
	return field
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func (p *parser) str(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.add(n, field, "type", "%s must be text", field)
		return ""
	}
	return strings.TrimSpace(n.Value)
}

// Parse reads and checks a blueprint. Its error is invalid, with a field
// error (and its line) for every problem found. A blueprint over
// MaxBlueprintBytes is refused unread; one that uses YAML aliases or nests
// deeper than MaxDepth is refused before any of it is decoded, so that no
// alias is ever expanded.
func Parse(data []byte) (*Blueprint, error) {
	if len(data) > MaxBlueprintBytes {
		return nil, Problems("the blueprint is too large", []errs.FieldError{{Rule: "size", Line: 1,
			Message: fmt.Sprintf("the blueprint is %d bytes; the limit is %d bytes", len(data), MaxBlueprintBytes)}})
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		msg, line := strings.TrimPrefix(err.Error(), "yaml: "), 0
		if _, err := fmt.Sscanf(msg, "line %d:", &line); err == nil {
			_, msg, _ = strings.Cut(msg, ": ")
		}
		return nil, Problems("the blueprint is not valid YAML", []errs.FieldError{{Rule: "yaml", Line: line, Message: msg}})
	}
	if len(root.Content) == 0 {
		return nil, Problems("the blueprint is empty", []errs.FieldError{{Rule: "required", Line: 1,
			Message: "a blueprint needs at least blueprint, name and steps"}})
	}
	p := &parser{}
	p.plain(root.Content[0], "", 1)
	if err := Problems("the blueprint uses YAML that blueprints may not", p.problems); err != nil {
		return nil, err
	}
	b := &Blueprint{Source: string(data)}
	doc := root.Content[0]
	var inputs, steps, outputs, stepsKey *yaml.Node
	if !p.mapping(doc, "", []string{"blueprint", "name", "description", "inputs", "steps", "outputs"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "blueprint":
			b.Code = p.str(v, "blueprint")
			if b.Code != "" && !codePattern.MatchString(b.Code) {
				p.add(v, "blueprint", "format", "blueprint %q must be 1 to 63 lower-case letters, digits and hyphens (such as \"web-stack\")", b.Code)
			}
		case "name":
			b.Name = p.str(v, "name")
		case "description":
			b.Description = p.str(v, "description")
		case "inputs":
			inputs = v
		case "steps":
			steps, stepsKey = v, k
		case "outputs":
			outputs = v
		}
	}) {
		return nil, Problems("the blueprint is not valid", p.problems)
	}
	if b.Code == "" {
		p.add(doc, "blueprint", "required", "blueprint (its code, such as web-stack) is required")
	}
	if b.Name == "" {
		p.add(doc, "name", "required", "name is required")
	}
	if inputs != nil {
		p.inputs(b, inputs)
	}
	if steps == nil || steps.Kind != yaml.SequenceNode || len(steps.Content) == 0 {
		at := doc
		if steps != nil {
			at = steps
		}
		p.add(at, "steps", "required", "steps must be a list of at least one step")
	} else if len(steps.Content) > MaxSteps {
		p.add(stepsKey, "steps", "length", "a blueprint has at most %d steps; this one has %d", MaxSteps, len(steps.Content))
	} else {
		p.steps(b, steps)
	}
	if outputs != nil {
		p.outputs(b, outputs)
	}
	if err := Problems("the blueprint is not valid", p.problems); err != nil {
		return nil, err
	}
	return b, nil
}

// plain reports every alias (whose expansion could be any size: a
// "billion laughs") and every node nested deeper than MaxDepth, with its
// line and field, without decoding anything.
func (p *parser) plain(n *yaml.Node, field string, depth int) {
	if len(p.problems) >= MaxProblems {
		return
	}
	switch {
	case n.Kind == yaml.AliasNode:
		p.add(n, field, "alias", "%s is the alias *%s; blueprints may not use YAML aliases: write the value out", describe(field), n.Value)
		return
	case depth > MaxDepth && (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode):
		p.add(n, field, "depth", "%s nests deeper than %d levels, the limit", describe(field), MaxDepth)
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p.plain(k, field, depth+1)
			p.plain(v, join(field, k.Value), depth+1)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p.plain(c, fmt.Sprintf("%s[%d]", field, i), depth+1)
		}
	}
}

func (p *parser) inputs(b *Blueprint, n *yaml.Node) {
	p.inputsUnread = !p.mapping(n, "inputs", nil, func(name string, k, v *yaml.Node) {
		field := "inputs." + name
		in := Input{Name: name, Type: "string", Line: k.Line}
		if !namePattern.MatchString(name) {
			p.add(k, field, "format", "input %q must be lower-case letters, digits and underscores, starting with a letter (such as app_name)", name)
		}
		var def *yaml.Node
		p.mapping(v, field, []string{"type", "description", "required", "default", "enum", "pattern", "minimum", "maximum"}, func(key string, kk, vv *yaml.Node) {
			switch key {
			case "type":
				in.Type = p.str(vv, field+".type")
				if !slices.Contains(InputTypes, in.Type) {
					p.add(vv, field+".type", "enum", "type must be one of %s, not %q", strings.Join(InputTypes, ", "), in.Type)
				}
			case "description":
				in.Description = p.str(vv, field+".description")
			case "required":
				if vv.Decode(&in.Required) != nil {
					p.add(vv, field+".required", "type", "required must be true or false")
				}
			case "default":
				def = vv
			case "enum":
				if vv.Decode(&in.Enum) != nil || len(in.Enum) == 0 {
					p.add(vv, field+".enum", "type", "enum must be a list of the values allowed")
				}
			case "pattern":
				in.Pattern = p.str(vv, field+".pattern")
				re, err := regexp.Compile(in.Pattern)
				if err != nil {
					p.add(vv, field+".pattern", "format", "pattern is not a regular expression: %v", err)
				}
				in.re = re
			case "minimum", "maximum":
				var f float64
				if vv.Decode(&f) != nil {
					p.add(vv, field+"."+key, "type", "%s must be a number", key)
				}
				if key == "minimum" {
					in.Minimum = &f
				} else {
					in.Maximum = &f
				}
			}
		})
		for i, e := range in.Enum {
			if _, err := in.value(e); err != nil {
				p.add(v, field+".enum", "type", "enum value %d: %v", i+1, err)
			}
		}
		if def != nil {
			var d any
			if err := def.Decode(&d); err == nil {
				if d, err = in.value(d); err != nil {
					p.add(def, field+".default", "type", "the default does not fit the input: %v", err)
				}
				in.Default = d
			}
		}
		b.Inputs = append(b.Inputs, in)
	})
}

func (p *parser) steps(b *Blueprint, n *yaml.Node) {
	// Every step's name, so a reference to a later step (or itself) is told
	// apart from one to no step at all.
	var all []string
	for _, sn := range n.Content {
		for i := 0; sn.Kind == yaml.MappingNode && i+1 < len(sn.Content); i += 2 {
			if sn.Content[i].Value == "name" {
				all = append(all, strings.TrimSpace(sn.Content[i+1].Value))
			}
		}
	}
	for i, sn := range n.Content {
		field := fmt.Sprintf("steps[%d]", i)
		st := Step{Line: sn.Line}
		var params *yaml.Node
		p.mapping(sn, field, []string{"name", "provider", "plan", "parameters"}, func(key string, k, v *yaml.Node) {
			switch key {
			case "name":
				st.Name = p.str(v, field+".name")
			case "provider":
				st.Provider, st.ProviderLine = p.str(v, field+".provider"), v.Line
			case "plan":
				ref := p.str(v, field+".plan")
				st.PlanLine = v.Line
				off, pl, ok := strings.Cut(ref, "/")
				if ref != "" && (!ok || !codePattern.MatchString(off) || !codePattern.MatchString(pl)) {
					p.add(v, field+".plan", "format", "plan must be offering/plan (the codes of the plan the provider makes, such as vm/bronze), not %q", ref)
				}
				st.Offering, st.Plan = off, pl
			case "parameters":
				params = v
			}
		})
		switch {
		case sn.Kind != yaml.MappingNode:
		case st.Name == "":
			p.add(sn, field+".name", "required", "every step needs a name")
		case !namePattern.MatchString(st.Name):
			p.add(sn, field+".name", "format", "step name %q must be lower-case letters, digits and underscores, starting with a letter (such as database)", st.Name)
		case slices.ContainsFunc(b.Steps, func(o Step) bool { return o.Name == st.Name }):
			p.add(sn, field+".name", "unique", "step %s is named twice; give each step its own name", st.Name)
		}
		if sn.Kind == yaml.MappingNode && st.PlanLine == 0 {
			p.add(sn, field+".plan", "required", "step %s needs plan: offering/plan, the plan its provider makes", st.Name)
		}
		earlier := make([]string, 0, len(b.Steps))
		for _, o := range b.Steps {
			earlier = append(earlier, o.Name)
		}
		if params != nil {
			where := "step " + st.Name
			if st.Name == "" {
				where = field
			}
			st.Parameters = p.value(params, field+".parameters", p.scope(b, earlier, all, st.Name, where))
			if st.Parameters != nil && st.Parameters.kind != kindMap {
				p.add(params, field+".parameters", "type", "parameters must be a mapping of names to values")
			}
		}
		b.Steps = append(b.Steps, st)
	}
}

func (p *parser) outputs(b *Blueprint, n *yaml.Node) {
	names := allNames(b)
	sc := p.scope(b, names, names, "", "")
	p.mapping(n, "outputs", nil, func(name string, k, v *yaml.Node) {
		if !namePattern.MatchString(name) {
			p.add(k, "outputs."+name, "format", "output %q must be lower-case letters, digits and underscores, starting with a letter", name)
		}
		b.Outputs = append(b.Outputs, Output{Name: name, Value: p.value(v, "outputs."+name, sc.at("output "+name)), Line: k.Line})
	})
}

func allNames(b *Blueprint) []string {
	out := make([]string, 0, len(b.Steps))
	for _, s := range b.Steps {
		out = append(out, s.Name)
	}
	return out
}

// Input returns the input by name.
func (b *Blueprint) Input(name string) *Input {
	for i := range b.Inputs {
		if b.Inputs[i].Name == name {
			return &b.Inputs[i]
		}
	}
	return nil
}

// Needed lists the inputs an order must supply: required, with no default.
func (b *Blueprint) Needed() []string {
	var out []string
	for _, in := range b.Inputs {
		if in.Required && in.Default == nil {
			out = append(out, in.Name)
		}
	}
	return out
}

// Resolve reads the blueprint's inputs from an order's parameters: each
// declared input from the parameters or its default, checked against its
// type, enum, pattern and bounds. Errors name every input that is wrong.
func (b *Blueprint) Resolve(params map[string]any) (map[string]any, error) {
	out := map[string]any{}
	var v errs.Validator
	for i := range b.Inputs {
		in := &b.Inputs[i]
		raw, ok := params[in.Name]
		if !ok || raw == nil {
			if in.Default != nil {
				out[in.Name] = in.Default
			} else {
				v.Check(!in.Required, "inputs."+in.Name, "required", "input "+in.Name+" is required")
			}
			continue
		}
		val, err := in.value(raw)
		if err != nil {
			v.Add("inputs."+in.Name, "type", "input "+in.Name+": "+err.Error())
			continue
		}
		out[in.Name] = val
	}
	return out, v.Err("the order's parameters do not fit the blueprint's inputs")
}

// value converts and checks one value of the input.
func (in *Input) value(raw any) (any, error) {
	var val any
	switch in.Type {
	case "string":
		s, ok := raw.(string)
		if !ok {
			return nil, fmt.Errorf("must be text, not %v", raw)
		}
		if in.re != nil && !in.re.MatchString(s) {
			return nil, fmt.Errorf("%q does not match the pattern %s", s, in.Pattern)
		}
		val = s
	case "integer":
		switch n := raw.(type) {
		case int:
			val = int64(n)
		case int64:
			val = n
		case float64:
			if n != float64(int64(n)) {
				return nil, fmt.Errorf("must be a whole number, not %v", n)
			}
			val = int64(n)
		default:
			return nil, fmt.Errorf("must be a whole number, not %v", raw)
		}
	case "number":
		switch n := raw.(type) {
		case int:
			val = float64(n)
		case int64:
			val = float64(n)
		case float64:
			val = n
		default:
			return nil, fmt.Errorf("must be a number, not %v", raw)
		}
	case "boolean":
		bv, ok := raw.(bool)
		if !ok {
			return nil, fmt.Errorf("must be true or false, not %v", raw)
		}
		val = bv
	default:
		return raw, nil
	}
	if f, ok := number(val); ok {
		if in.Minimum != nil && f < *in.Minimum {
			return nil, fmt.Errorf("%v is below the minimum %v", val, *in.Minimum)
		}
		if in.Maximum != nil && f > *in.Maximum {
			return nil, fmt.Errorf("%v is above the maximum %v", val, *in.Maximum)
		}
	}
	if len(in.Enum) > 0 && !slices.ContainsFunc(in.Enum, func(e any) bool { ev, err := in.valueOnly(e); return err == nil && ev == val }) {
		return nil, fmt.Errorf("%v is not one of %v", val, in.Enum)
	}
	return val, nil
}

// valueOnly converts an enum member without checking it against the enum.
func (in *Input) valueOnly(raw any) (any, error) {
	c := *in
	c.Enum, c.re, c.Minimum, c.Maximum = nil, nil, nil, nil
	return c.value(raw)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}
