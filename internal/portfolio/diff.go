package portfolio

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// FieldChange is one field an update changes, named as the file names it
// (plans[small].recurring), with its value before and after ("" when the
// field is not set).
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// longValue is the length past which a value is summarised by its size.
const longValue = 60

// String is the change on one short line: "name: Email → Mail", or for a
// long text "description: changed (412 → 430 characters)".
func (f FieldChange) String() string {
	switch {
	case f.Old == "" && (f.New == "added" || f.New == "removed") && strings.HasSuffix(f.Field, "]"):
		return f.Field + ": " + f.New
	case len(f.Old) > longValue || len(f.New) > longValue || strings.Contains(f.Old+f.New, "\n"):
		return fmt.Sprintf("%s: changed (%d → %d characters)", f.Field, utf8.RuneCountInString(f.Old), utf8.RuneCountInString(f.New))
	}
	return fmt.Sprintf("%s: %s → %s", f.Field, show(f.Old), show(f.New))
}

func show(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}

// diffFields compares two entities as the file writes them, field by
// field: a list of elements with codes is compared element by element
// (an element only on one side is added or removed), any other list as
// one value.
func diffFields(old, new any) []FieldChange {
	a, b := flatten(old), flatten(new)
	var out []FieldChange
	var whole []string // elements only on one side, reported once
	for _, side := range []struct {
		have, other map[string]string
		what        string
	}{{a, b, "removed"}, {b, a, "added"}} {
		for k, v := range side.have {
			if _, ok := side.other[k]; v == element && !ok {
				whole = append(whole, k)
				out = append(out, FieldChange{Field: k, New: side.what})
			}
		}
	}
	inWhole := func(k string) bool {
		for _, w := range whole {
			if strings.HasPrefix(k, w+".") || strings.HasPrefix(k, w+"[") {
				return true
			}
		}
		return false
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	for k := range keys {
		if a[k] != b[k] && !inWhole(k) && a[k] != element && b[k] != element {
			out = append(out, FieldChange{Field: k, Old: a[k], New: b[k]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// element marks an element of a list with codes in a flattened entity.
const element = "\x00element"

// flatten is v's set fields by path, as text.
func flatten(v any) map[string]string {
	out := map[string]string{}
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		out[""] = err.Error()
		return out
	}
	var walk func(path string, n *yaml.Node)
	walk = func(path string, n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if path != "" {
					p = path + "." + p
				}
				walk(p, n.Content[i+1])
			}
		case yaml.SequenceNode:
			if coded(n) {
				for _, el := range n.Content {
					p := path + "[" + codeOf(el) + "]"
					out[p] = element
					walk(p, el)
				}
				return
			}
			if len(n.Content) > 0 {
				b, _ := yaml.Marshal(n)
				out[path] = strings.TrimSpace(string(b))
				if n.Style == yaml.FlowStyle || allScalars(n) {
					var parts []string
					for _, el := range n.Content {
						parts = append(parts, el.Value)
					}
					out[path] = "[" + strings.Join(parts, ", ") + "]"
				}
			}
		case yaml.ScalarNode:
			if v := n.Value; v != "" && v != "0" && v != "false" && v != "null" {
				out[path] = v
			}
		}
	}
	walk("", &n)
	return out
}

func allScalars(n *yaml.Node) bool {
	for _, el := range n.Content {
		if el.Kind != yaml.ScalarNode {
			return false
		}
	}
	return true
}

// coded reports whether a list's elements are mappings with a code.
func coded(n *yaml.Node) bool {
	for _, el := range n.Content {
		if codeOf(el) == "" {
			return false
		}
	}
	return len(n.Content) > 0
}

func codeOf(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "code" {
			return n.Content[i+1].Value
		}
	}
	return ""
}
