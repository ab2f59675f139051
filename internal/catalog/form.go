package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/steward-itaas/steward/internal/errs"
)

// Form is an offering's order form: a JSON Schema of type object whose
// properties use the subset Steward renders as an accessible HTML form —
// type string, number, integer or boolean; enum (of strings); minimum and
// maximum; minLength and maxLength; pattern; default; title and
// description; and the object's required list. Parameters are validated
// with a standard JSON Schema validator (draft 2020-12) against the same
// schema, so the portal, the API and any other tool agree; unknown
// parameters are refused.
type Form struct {
	Fields []FormField
	raw    json.RawMessage
	schema *jsonschema.Schema
}

// FormField is one parameter of the form, in the schema's property order.
type FormField struct {
	Name        string
	Title       string
	Description string
	Type        string // string, number, integer, boolean
	Enum        []string
	Minimum     *big.Rat
	Maximum     *big.Rat
	MinLength   *int
	MaxLength   *int
	Pattern     string
	Default     any
	Required    bool
}

// Label is the field's title, or its name.
func (f FormField) Label() string {
	if f.Title != "" {
		return f.Title
	}
	return f.Name
}

// Rules describes the field's constraints for people ("1 to 64", "at most 40 characters").
func (f FormField) Rules() string {
	var parts []string
	switch {
	case f.Minimum != nil && f.Maximum != nil:
		parts = append(parts, "from "+f.Minimum.RatString()+" to "+f.Maximum.RatString())
	case f.Minimum != nil:
		parts = append(parts, "at least "+f.Minimum.RatString())
	case f.Maximum != nil:
		parts = append(parts, "at most "+f.Maximum.RatString())
	}
	if f.MinLength != nil {
		parts = append(parts, fmt.Sprintf("at least %d characters", *f.MinLength))
	}
	if f.MaxLength != nil {
		parts = append(parts, fmt.Sprintf("at most %d characters", *f.MaxLength))
	}
	if f.Type == "integer" {
		parts = append(parts, "a whole number")
	}
	return strings.Join(parts, ", ")
}

// DefaultString is the default as a form shows it.
func (f FormField) DefaultString() string {
	if f.Default == nil {
		return ""
	}
	return fmt.Sprint(f.Default)
}

var (
	formKeys  = []string{"$schema", "type", "title", "description", "properties", "required", "additionalProperties"}
	fieldKeys = []string{"type", "title", "description", "enum", "minimum", "maximum", "minLength", "maxLength", "pattern", "default"}
)

// The limits of an order form schema. Patterns are Go regular expressions
// (RE2, as the validator compiles them too): matching takes time linear in
// the input, never backtracking, so a pattern cannot stall an order.
const (
	// MaxFormBytes is the largest order form schema, in bytes.
	MaxFormBytes = 64 << 10
	// MaxFormFields is the most parameters a form has.
	MaxFormFields = 100
	// MaxFormPatternLength is the longest pattern, in bytes.
	MaxFormPatternLength = 1000
	// MaxFormEnum is the most values an enum lists.
	MaxFormEnum = 500
	// MaxFormNumberLength is the longest minimum or maximum, in characters;
	// they are plain decimals (1e1000000 is a number a megabyte long).
	MaxFormNumberLength = 40
)

// EmptyForm is the form of an offering without parameters.
const EmptyForm = `{"type":"object","properties":{}}`

// ParseForm reads and checks an order form schema. Errors name the
// property and the rule, such as "properties.size: minimum is only for
// numbers".
func ParseForm(raw []byte) (*Form, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte(EmptyForm)
	}
	if len(raw) > maxCachedFormBytes {
		return parseForm(raw)
	}
	key := string(raw)
	formCache.Lock()
	f := formCache.forms[key]
	formCache.Unlock()
	if f != nil {
		return f, nil
	}
	f, err := parseForm([]byte(key))
	if err == nil {
		formCache.Lock()
		if len(formCache.forms) < maxCachedForms {
			formCache.forms[key] = f
		}
		formCache.Unlock()
	}
	return f, err
}

// formCache keeps the forms parsed, by their schema: most offerings share
// a few (an import of thousands checks each one's), and compiling one
// costs more than saving an offering. A Form is not changed once parsed.
var formCache = struct {
	sync.Mutex
	forms map[string]*Form
}{forms: map[string]*Form{}}

// The cache holds at most maxCachedForms forms of at most
// maxCachedFormBytes each.
const (
	maxCachedForms     = 512
	maxCachedFormBytes = 8 << 10
)

func parseForm(raw []byte) (*Form, error) {
	bad := func(format string, args ...any) error {
		return &errs.Error{Code: errs.CodeInvalid, Message: "the order form schema is not valid",
			Fields: []errs.FieldError{{Field: "form_schema", Rule: "schema", Message: fmt.Sprintf(format, args...)}}}
	}
	if len(raw) > MaxFormBytes {
		return nil, bad("the schema is %d bytes; an order form schema is at most %d", len(raw), MaxFormBytes)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, bad("the schema must be a JSON object: %v", err)
	}
	for k := range top {
		if !slices.Contains(formKeys, k) {
			return nil, bad("%q is not supported at the top of an order form; use %s", k, strings.Join(formKeys, ", "))
		}
	}
	var typ string
	if json.Unmarshal(top["type"], &typ) != nil || typ != "object" {
		return nil, bad(`the schema's type must be "object"`)
	}
	if ap, ok := top["additionalProperties"]; ok && string(bytes.TrimSpace(ap)) != "false" {
		return nil, bad("additionalProperties may only be false: an order form takes only the parameters it lists")
	}
	names, err := orderedKeys(top["properties"])
	if err != nil {
		return nil, bad("properties must be an object of parameter schemas")
	}
	if len(names) > MaxFormFields {
		return nil, bad("the form has %d parameters; an order form has at most %d", len(names), MaxFormFields)
	}
	var props map[string]map[string]json.RawMessage
	if len(top["properties"]) > 0 {
		if err := json.Unmarshal(top["properties"], &props); err != nil {
			return nil, bad("each property must be an object: %v", err)
		}
	}
	var required []string
	if r, ok := top["required"]; ok {
		if err := json.Unmarshal(r, &required); err != nil {
			return nil, bad("required must be a list of property names")
		}
	}
	f := &Form{raw: raw}
	for _, name := range names {
		fld, err := parseField(name, props[name])
		if err != nil {
			return nil, bad("properties.%s: %s", name, err.Error())
		}
		fld.Required = slices.Contains(required, name)
		f.Fields = append(f.Fields, fld)
	}
	for _, r := range required {
		if !slices.Contains(names, r) {
			return nil, bad("required names %q, which is not a property", r)
		}
	}
	// Compile with unknown parameters refused.
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, bad("%v", err)
	}
	doc["additionalProperties"] = false
	doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	c := jsonschema.NewCompiler()
	if err := c.AddResource("form.json", doc); err != nil {
		return nil, bad("%v", err)
	}
	if f.schema, err = c.Compile("form.json"); err != nil {
		return nil, bad("%v", err)
	}
	// A default must itself be a value the form accepts: otherwise every
	// order that leaves the field alone would be refused for a value the
	// customer never typed.
	defaults := map[string]any{}
	for _, fld := range f.Fields {
		if fld.Default != nil {
			defaults[fld.Name] = fld.Default
		}
	}
	if len(defaults) > 0 {
		if _, err := f.Validate(defaults); err != nil {
			for _, fe := range errs.As(err).Fields {
				if fe.Rule != "required" {
					name := strings.TrimPrefix(fe.Field, "parameters.")
					return nil, bad("properties.%s: the default does not fit the field: %s", name, fe.Message)
				}
			}
		}
	}
	return f, nil
}

func parseField(name string, p map[string]json.RawMessage) (FormField, error) {
	fld := FormField{Name: name}
	if !regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`).MatchString(name) {
		return fld, fmt.Errorf("parameter names are lower_snake_case, at most 63 characters")
	}
	for k := range p {
		if !slices.Contains(fieldKeys, k) {
			return fld, fmt.Errorf("%q is not supported; a parameter may use %s", k, strings.Join(fieldKeys, ", "))
		}
	}
	if json.Unmarshal(p["type"], &fld.Type) != nil || !slices.Contains([]string{"string", "number", "integer", "boolean"}, fld.Type) {
		return fld, fmt.Errorf("type must be string, number, integer or boolean")
	}
	for key, dst := range map[string]*string{"title": &fld.Title, "description": &fld.Description} {
		if v, ok := p[key]; ok && json.Unmarshal(v, dst) != nil {
			return fld, fmt.Errorf("%s must be a string", key)
		}
	}
	if e, ok := p["enum"]; ok {
		if fld.Type != "string" || json.Unmarshal(e, &fld.Enum) != nil || len(fld.Enum) == 0 {
			return fld, fmt.Errorf("enum must be a non-empty list of strings on a string parameter")
		}
		if len(fld.Enum) > MaxFormEnum {
			return fld, fmt.Errorf("enum lists at most %d values", MaxFormEnum)
		}
	}
	for key, dst := range map[string]**big.Rat{"minimum": &fld.Minimum, "maximum": &fld.Maximum} {
		if v, ok := p[key]; ok {
			if fld.Type != "number" && fld.Type != "integer" {
				return fld, fmt.Errorf("%s is only for numbers", key)
			}
			num := string(bytes.TrimSpace(v))
			if len(num) > MaxFormNumberLength || strings.ContainsAny(num, "eE") {
				return fld, fmt.Errorf("%s must be a plain decimal number of at most %d characters, such as 0.5", key, MaxFormNumberLength)
			}
			r, ok := new(big.Rat).SetString(num)
			if !ok {
				return fld, fmt.Errorf("%s must be a number", key)
			}
			*dst = r
		}
	}
	for key, dst := range map[string]**int{"minLength": &fld.MinLength, "maxLength": &fld.MaxLength} {
		if v, ok := p[key]; ok {
			var n int
			if fld.Type != "string" || json.Unmarshal(v, &n) != nil || n < 0 {
				return fld, fmt.Errorf("%s must be a whole number on a string parameter", key)
			}
			*dst = &n
		}
	}
	if v, ok := p["pattern"]; ok {
		if fld.Type != "string" || json.Unmarshal(v, &fld.Pattern) != nil {
			return fld, fmt.Errorf("pattern is only for strings")
		}
		if len(fld.Pattern) > MaxFormPatternLength {
			return fld, fmt.Errorf("pattern is at most %d characters", MaxFormPatternLength)
		}
		if _, err := regexp.Compile(fld.Pattern); err != nil {
			return fld, fmt.Errorf("pattern is not a valid regular expression")
		}
	}
	if v, ok := p["default"]; ok {
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		if err := dec.Decode(&fld.Default); err != nil {
			return fld, fmt.Errorf("default is not valid JSON")
		}
	}
	return fld, nil
}

// orderedKeys returns an object's keys in the order they are written.
func orderedKeys(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not an object")
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// Raw is the schema as written.
func (f *Form) Raw() json.RawMessage { return f.raw }

// Validate fills in defaults and checks parameters against the schema. It
// returns the parameters with defaults applied, or an invalid error with
// one field error per parameter ("parameters.size").
func (f *Form) Validate(params map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range params {
		out[k] = v
	}
	for _, fld := range f.Fields {
		if _, ok := out[fld.Name]; !ok && fld.Default != nil {
			out[fld.Name] = fld.Default
		}
	}
	// Round-trip through JSON so numbers are json.Number, as the validator expects.
	b, _ := json.Marshal(out)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, errs.Invalid("the parameters are not valid JSON")
	}
	err = f.schema.Validate(inst)
	if err == nil {
		var clean map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		dec.Decode(&clean)
		if clean == nil {
			clean = map[string]any{}
		}
		return clean, nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return nil, errs.Internal(err, "the parameters could not be checked")
	}
	var found []errs.FieldError
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		for _, fe := range f.explain(e) {
			if !seen[fe.Field+fe.Message] {
				seen[fe.Field+fe.Message] = true
				found = append(found, fe)
			}
		}
	}
	walk(ve)
	// The validator's causes come in no fixed order; the form's messages do.
	sort.SliceStable(found, func(i, j int) bool { return found[i].Field < found[j].Field })
	var v errs.Validator
	for _, fe := range found {
		v.Add(fe.Field, fe.Rule, fe.Message)
	}
	return nil, v.Err("the order's parameters do not fit the offering's form")
}

func (f *Form) field(name string) FormField {
	for _, fld := range f.Fields {
		if fld.Name == name {
			return fld
		}
	}
	return FormField{Name: name}
}

// explain turns one validator error into field errors in the form's words.
func (f *Form) explain(e *jsonschema.ValidationError) []errs.FieldError {
	name := ""
	if len(e.InstanceLocation) > 0 {
		name = e.InstanceLocation[0]
	}
	fld := f.field(name)
	fe := func(rule, msg string) errs.FieldError {
		return errs.FieldError{Field: "parameters." + name, Rule: rule, Message: msg}
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		var out []errs.FieldError
		for _, m := range k.Missing {
			name = m
			out = append(out, fe("required", f.field(m).Label()+" is required"))
		}
		return out
	case *kind.AdditionalProperties:
		var out []errs.FieldError
		for _, m := range k.Properties {
			name = m
			out = append(out, fe("unknown", m+" is not a parameter of this offering; remove it"))
		}
		return out
	case *kind.Type:
		return []errs.FieldError{fe("type", fld.Label()+" must be "+article(fld.Type))}
	case *kind.Enum:
		return []errs.FieldError{fe("enum", fld.Label()+" must be one of "+strings.Join(fld.Enum, ", "))}
	case *kind.Minimum, *kind.Maximum:
		return []errs.FieldError{fe("range", fld.Label()+" must be "+fld.Rules())}
	case *kind.MinLength, *kind.MaxLength:
		return []errs.FieldError{fe("length", fld.Label()+" must be "+fld.Rules())}
	case *kind.Pattern:
		// The field's description says in words what the pattern wants;
		// only a form without one shows the pattern itself.
		if d := strings.TrimSpace(fld.Description); d != "" {
			return []errs.FieldError{fe("pattern", fld.Label()+" is not valid: "+strings.TrimSuffix(d, ".")+".")}
		}
		return []errs.FieldError{fe("pattern", fld.Label()+" must match the pattern "+fld.Pattern)}
	}
	return []errs.FieldError{fe("schema", fld.Label()+": "+e.Error())}
}

func article(typ string) string {
	switch typ {
	case "integer":
		return "a whole number"
	case "number":
		return "a number"
	case "boolean":
		return "true or false"
	}
	return "text"
}

// FromForm reads an HTML form's values into typed parameters: numbers as
// numbers, checkboxes as booleans, empty fields left out (so defaults and
// required apply). A value that is not a number where one is expected stays
// a string, and Validate reports it.
func (f *Form) FromForm(get func(string) string) map[string]any {
	out := map[string]any{}
	for _, fld := range f.Fields {
		raw := strings.TrimSpace(get("param." + fld.Name))
		switch fld.Type {
		case "boolean":
			out[fld.Name] = raw == "on" || raw == "true"
		case "integer":
			if raw == "" {
				continue
			}
			if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
				out[fld.Name] = n
			} else {
				out[fld.Name] = raw
			}
		case "number":
			if raw == "" {
				continue
			}
			if _, ok := new(big.Rat).SetString(raw); ok && !strings.ContainsAny(raw, "/eE") {
				out[fld.Name] = json.Number(raw)
			} else {
				out[fld.Name] = raw
			}
		default:
			if raw != "" {
				out[fld.Name] = raw
			}
		}
	}
	return out
}
