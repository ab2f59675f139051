// Package portfolio is the portfolio as code: the whole portfolio and
// catalog (services, configuration items, the service map, offerings and
// plans, approval policies, quotas) as one YAML document that Export writes
// and Import reads back.
//
// The file names things by their codes, people by email, assignment groups
// by name and org units by code, so it moves between Steward installations
// that share an organisation. Import checks the whole file first and
// reports every problem with its line; only a clean file is applied, through
// the same services (and audit log) as the API. Import is idempotent:
// applying the same file twice changes nothing the second time, and
// Export → Import into an empty portfolio → Export gives the same file.
// What the file leaves out is left alone, except dependencies: the file's
// service map is the map. Services move forward through their lifecycle to
// the state the file gives, one recorded step at a time; a file that would
// move one back is refused.
package portfolio

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/rating"
)

// Limits of a portfolio file: Parse refuses a file beyond them, and any
// alias (*name, or a merge key <<: *name) whatever its size, before
// anything is decoded, so no file can make the reader take more time or
// memory than its size allows.
const (
	// MaxFileBytes is the largest portfolio file read (64 MiB: a catalog
	// of 100,000 offerings with three plans each is about 30 MiB; the
	// demo's whole portfolio is 16 KB).
	MaxFileBytes = 64 << 20
	// MaxDepth is how deeply a file's mappings and lists may nest,
	// counting the top-level mapping as 1 (the demo's deepest, an
	// offering's form, is 7).
	MaxDepth = 64
)

// Document is the file.
type Document struct {
	Services     []Service      `yaml:"services"`
	ConfigItems  []ConfigItem   `yaml:"config_items,omitempty"`
	Dependencies []Dependency   `yaml:"dependencies,omitempty"`
	Offerings    []Offering     `yaml:"offerings,omitempty"`
	Policies     []Policy       `yaml:"approval_policies,omitempty"`
	Quotas       []Quota        `yaml:"quotas,omitempty"`
	lines        map[string]int // path (offerings[3].plans[1].name) → line, filled by lineMap
	data         []byte         // the file
	file         string
}

// Service is a portfolio entry in the file.
type Service struct {
	Code                 string                 `yaml:"code"`
	Name                 string                 `yaml:"name"`
	Kind                 catalog.Kind           `yaml:"kind"`
	Lifecycle            catalog.Lifecycle      `yaml:"lifecycle"`
	Successor            string                 `yaml:"successor,omitempty"`
	Description          string                 `yaml:"description,omitempty"`
	Owner                string                 `yaml:"owner,omitempty"`
	Sponsor              string                 `yaml:"sponsor,omitempty"`
	RelationshipManager  string                 `yaml:"relationship_manager,omitempty"`
	AssignmentGroup      string                 `yaml:"assignment_group,omitempty"`
	Managers             []Manager              `yaml:"managers,omitempty"`
	Outcomes             []string               `yaml:"outcomes,omitempty"`
	BusinessFunctions    []string               `yaml:"business_functions,omitempty"`
	ValueKind            string                 `yaml:"value_kind,omitempty"`
	ValueStatement       string                 `yaml:"value_statement,omitempty"`
	Category             string                 `yaml:"category,omitempty"`
	FocusCategory        string                 `yaml:"focus_category,omitempty"` // FOCUS ServiceCategory; left out, Other
	Class                string                 `yaml:"class,omitempty"`
	Criticality          string                 `yaml:"criticality,omitempty"`
	Roadmap              []catalog.RoadmapEntry `yaml:"roadmap,omitempty"`
	Help                 string                 `yaml:"help,omitempty"`
	RPOMinutes           int                    `yaml:"rpo_minutes,omitempty"`
	RTOMinutes           int                    `yaml:"rto_minutes,omitempty"`
	Continuity           string                 `yaml:"continuity,omitempty"`
	ExternalDependencies []string               `yaml:"external_dependencies,omitempty"`
	Calendar             *catalog.Calendar      `yaml:"calendar,omitempty"`
}

// Manager runs a service for an org unit.
type Manager struct {
	OrgUnit string `yaml:"org_unit"`
	User    string `yaml:"user"`
}

// ConfigItem is a CI of the map.
type ConfigItem struct {
	Code        string         `yaml:"code"`
	Name        string         `yaml:"name"`
	Kind        catalog.CIKind `yaml:"kind"`
	Description string         `yaml:"description,omitempty"`
}

// Dependency is an edge: exactly one of FromService/FromCI and of ToService/ToCI.
type Dependency struct {
	FromService     string                 `yaml:"from_service,omitempty"`
	FromCI          string                 `yaml:"from_ci,omitempty"`
	ToService       string                 `yaml:"to_service,omitempty"`
	ToCI            string                 `yaml:"to_ci,omitempty"`
	Kind            catalog.DependencyKind `yaml:"kind"`
	RedundancyGroup string                 `yaml:"redundancy_group,omitempty"`
	Needs           int                    `yaml:"needs,omitempty"`
}

func (d Dependency) key() string {
	return d.FromService + "|" + d.FromCI + "|" + d.ToService + "|" + d.ToCI + "|" + string(d.Kind) + "|" + d.RedundancyGroup + "|" + fmt.Sprint(d.Needs)
}

// Offering is a catalog offering with its plans.
type Offering struct {
	Code        string          `yaml:"code"`
	Service     string          `yaml:"service"`
	Name        string          `yaml:"name"`
	Summary     string          `yaml:"summary,omitempty"`
	Description string          `yaml:"description,omitempty"`
	View        catalog.View    `yaml:"view"`
	Form        yaml.Node       `yaml:"form,omitempty"`
	Audience    *Audience       `yaml:"audience,omitempty"`
	Addons      []catalog.Addon `yaml:"addons,omitempty"`
	Bundle      []string        `yaml:"bundle,omitempty"`
	// Brokered puts the offering in Steward's OSB catalog for platforms.
	Brokered bool   `yaml:"brokered,omitempty"`
	Plans    []Plan `yaml:"plans"`
}

// Audience names org units by code.
type Audience struct {
	OrgUnits []string      `yaml:"org_units,omitempty"`
	Roles    []access.Role `yaml:"roles,omitempty"`
}

// Plan is a tier.
type Plan struct {
	Code        string `yaml:"code"`
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
	Currency    string `yaml:"currency"`
	Recurring   string `yaml:"recurring"`
	OneTime     string `yaml:"one_time"`
	Agreement   string `yaml:"agreement,omitempty"`
	MaxQuantity int    `yaml:"max_quantity,omitempty"`
	Retired     bool   `yaml:"retired,omitempty"`
	// Blueprint is the blueprint version that makes the plan's instances
	// (code@version, uploaded with steward blueprint upload).
	Blueprint string `yaml:"blueprint,omitempty"`
	// Prices are usage charges, tiers and minimums besides the recurring
	// and one-time fees (docs/billing.md).
	Prices []rating.Component `yaml:"prices,omitempty"`
}

// Policy is an approval policy.
type Policy struct {
	// Subject is change for policies that route requests for change;
	// empty (orders) otherwise.
	Subject      orders.Subject      `yaml:"subject,omitempty"`
	Name         string              `yaml:"name"`
	Description  string              `yaml:"description,omitempty"`
	Expression   string              `yaml:"expression"`
	Step         int                 `yaml:"step"`
	ApproverKind orders.ApproverKind `yaml:"approver_kind"`
	ApproverRole access.Role         `yaml:"approver_role,omitempty"`
	PerItem      bool                `yaml:"per_item,omitempty"`
	Active       bool                `yaml:"active"`
}

// Quota caps an org unit's holdings of an offering.
type Quota struct {
	OrgUnit      string `yaml:"org_unit"`
	Offering     string `yaml:"offering"`
	MaxInstances int    `yaml:"max_instances,omitempty"`
	MaxQuantity  int    `yaml:"max_quantity,omitempty"`
}

// Services are the domains the file is read from and written to.
type Services struct {
	Identity *identity.Service
	Catalog  *catalog.Catalog
	Orders   *orders.Service
}

// Problem is one thing wrong with a file, at a line.
type Problem struct {
	File    string
	Line    int
	Message string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message) }

// Problems is every problem of a file; it is an invalid error.
type Problems []Problem

func (ps Problems) Error() string {
	var lines []string
	for _, p := range ps {
		lines = append(lines, p.String())
	}
	return strings.Join(lines, "\n")
}

// Parse reads a file, refusing unknown fields, and remembers where each
// element is so later checks can name its line. It refuses a file larger
// than MaxFileBytes, nested deeper than MaxDepth, or with any alias, before
// decoding it: what it returns is never bigger than the file.
func Parse(file string, data []byte) (*Document, error) {
	if len(data) > MaxFileBytes {
		return nil, Problems{{File: file, Line: 1, Message: fmt.Sprintf("the file is %d bytes; a portfolio file may be at most %d bytes (%d MiB)",
			len(data), MaxFileBytes, MaxFileBytes>>20)}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Problems{{File: file, Line: yamlLine(err), Message: withoutLine(strings.TrimPrefix(err.Error(), "yaml: "))}}
	}
	if ps := checkShape(file, &root); len(ps) > 0 {
		return nil, ps
	}
	// The tree read above is decoded; a file with a field Document does
	// not know (or any other error) is decoded again from its text, whose
	// decoder names every unknown field with its line.
	var d Document
	if len(root.Content) != 1 || !knownFields(root.Content[0], reflect.TypeOf(d)) || root.Decode(&d) != nil {
		d = Document{}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&d); err != nil && err != io.EOF {
			var ps Problems
			if te, ok := err.(*yaml.TypeError); ok {
				for _, m := range te.Errors {
					ps = append(ps, Problem{File: file, Line: lineOf(m), Message: withoutLine(m)})
				}
				return nil, ps
			}
			return nil, Problems{{File: file, Line: yamlLine(err), Message: err.Error()}}
		}
	}
	// The line of every element and field is found, by its path
	// (offerings[3].plans[1].prices[0].meter), when a problem is reported
	// on the line of the field it is about: from the text again (lineMap),
	// as few files have problems.
	d.file, d.data = file, data
	return &d, nil
}

// lineMap is the line of every element and field of the file, by path.
func (d *Document) lineMap() map[string]int {
	if d.lines == nil {
		d.lines = map[string]int{}
		var root yaml.Node
		if yaml.Unmarshal(d.data, &root) == nil && len(root.Content) == 1 {
			d.remember("", root.Content[0])
		}
	}
	return d.lines
}

// knownFields reports whether every key of the mappings under n names a
// field of the type t is decoded into, as yaml's decoder with KnownFields
// checks it (a yaml.Node, or a type that decodes itself, takes anything).
func knownFields(n *yaml.Node, t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(yaml.Node{}) || reflect.PointerTo(t).Implements(reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return true // the decoder reports it
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			ft, ok := fields[n.Content[i].Value]
			if !ok || !knownFields(n.Content[i+1], ft) {
				return false
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for _, el := range n.Content {
				if !knownFields(el, t.Elem()) {
					return false
				}
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if !knownFields(n.Content[i+1], t.Elem()) {
					return false
				}
			}
		}
	}
	return true
}

// yamlFields maps the keys of a struct, as yaml names them (the tag's
// name, or the field's name in lower case; inline structs' keys), to
// their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		if strings.Contains(","+flags+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range yamlFields(ft) {
					out[k] = v
				}
			} else {
				return map[string]reflect.Type{} // an inline map: the slow path decides
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// remember records the line of n and of everything in it under path.
func (d *Document) remember(path string, n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			d.lines[p] = n.Content[i].Line
			d.remember(p, n.Content[i+1])
		}
	case yaml.SequenceNode:
		for j, el := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, j)
			d.lines[p] = el.Line
			d.remember(p, el)
		}
	}
}

// checkShape refuses aliases and nesting beyond MaxDepth, one problem per
// line. It descends no deeper than MaxDepth, and an alias is never
// followed, so it takes time in proportion to the file.
func checkShape(file string, root *yaml.Node) Problems {
	var ps Problems
	reported := map[int]bool{}
	add := func(n *yaml.Node, format string, args ...any) {
		if !reported[n.Line] {
			reported[n.Line] = true
			ps = append(ps, Problem{File: file, Line: n.Line, Message: fmt.Sprintf(format, args...)})
		}
	}
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		switch n.Kind {
		case yaml.AliasNode:
			add(n, "alias *%s: aliases (and merge keys) are not allowed in a portfolio file; write the value out", n.Value)
			return
		case yaml.MappingNode, yaml.SequenceNode:
			if depth++; depth > MaxDepth {
				add(n, "nested more than %d levels deep; a portfolio file may nest at most %d levels", MaxDepth, MaxDepth)
				return
			}
		}
		for _, c := range n.Content {
			walk(c, depth)
		}
	}
	walk(root, 0)
	return ps
}

func (d *Document) line(section string, i int) int {
	if l, ok := d.lineMap()[fmt.Sprintf("%s[%d]", section, i)]; ok {
		return l
	}
	return d.lineMap()[section]
}

// fieldLine is the line of a field of the i-th element of section, named
// as a validation error names it (plans.prices[0].meter, owner_id,
// calendar.holidays): the deepest part of the path the file has. A list
// named without an index is resolved by index (the element the message
// numbers, "holiday 3", or the only element); otherwise the line is the
// list's own.
func (d *Document) fieldLine(section string, i int, field string, index map[string]int) int {
	path := fmt.Sprintf("%s[%d]", section, i)
	line := d.line(section, i)
	for _, part := range strings.Split(field, ".") {
		name, idx, hasIdx := strings.Cut(part, "[")
		next := path + "." + name
		if _, ok := d.lineMap()[next]; !ok {
			for _, alias := range []string{strings.TrimSuffix(name, "_ids") + "s", strings.TrimSuffix(name, "_id")} {
				if _, ok := d.lineMap()[path+"."+alias]; ok {
					next = path + "." + alias
					break
				}
			}
		}
		l, ok := d.lineMap()[next]
		if !ok {
			return line
		}
		path, line = next, l
		j := -1
		if hasIdx {
			fmt.Sscanf(idx, "%d]", &j)
		} else if k, ok := index[name]; ok {
			j = k
		} else if _, many := d.lineMap()[path+"[1]"]; !many {
			if _, one := d.lineMap()[path+"[0]"]; one {
				j = 0
			}
		}
		if j < 0 {
			continue
		}
		if l, ok := d.lineMap()[fmt.Sprintf("%s[%d]", path, j)]; ok {
			path, line = fmt.Sprintf("%s[%d]", path, j), l
		} else {
			return line
		}
	}
	return line
}

func lineOf(msg string) int {
	var n int
	fmt.Sscanf(msg, "line %d:", &n)
	return n
}

// withoutLine is a YAML message without its "line N: ", which the
// problem gives as its line.
func withoutLine(msg string) string {
	var n int
	if _, err := fmt.Sscanf(msg, "line %d:", &n); err == nil {
		return strings.TrimSpace(strings.TrimPrefix(msg, fmt.Sprintf("line %d:", n)))
	}
	return msg
}

func yamlLine(err error) int {
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		var n int
		fmt.Sscanf(s[i:], "line %d", &n)
		return n
	}
	return 1
}

// jsonToNode turns JSON into a YAML node, keeping the order of keys (an
// order form's field order is its property order).
func jsonToNode(raw []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var walk func() (*yaml.Node, error)
	walk = func() (*yaml.Node, error) {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' {
				n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						return nil, err
					}
					v, err := walk()
					if err != nil {
						return nil, err
					}
					n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.(string)}, v)
				}
				dec.Token()
				return n, nil
			}
			n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
			for dec.More() {
				v, err := walk()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, v)
			}
			dec.Token()
			return n, nil
		case string:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}, nil
		case json.Number:
			tag := "!!int"
			if strings.ContainsAny(t.String(), ".eE") {
				tag = "!!float"
			}
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: t.String()}, nil
		case bool:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(t)}, nil
		case nil:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
		}
		return nil, fmt.Errorf("unexpected JSON token %v", tok)
	}
	return walk()
}

// nodeToJSON turns a YAML node into JSON, keeping the order of keys.
func nodeToJSON(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		switch n.Kind {
		case yaml.DocumentNode:
			return walk(n.Content[0])
		case yaml.MappingNode:
			b.WriteByte('{')
			for i := 0; i+1 < len(n.Content); i += 2 {
				if i > 0 {
					b.WriteByte(',')
				}
				k, _ := json.Marshal(n.Content[i].Value)
				b.Write(k)
				b.WriteByte(':')
				if err := walk(n.Content[i+1]); err != nil {
					return err
				}
			}
			b.WriteByte('}')
		case yaml.SequenceNode:
			b.WriteByte('[')
			for i, c := range n.Content {
				if i > 0 {
					b.WriteByte(',')
				}
				if err := walk(c); err != nil {
					return err
				}
			}
			b.WriteByte(']')
		case yaml.ScalarNode:
			var v any
			if err := n.Decode(&v); err != nil {
				return err
			}
			j, err := json.Marshal(v)
			if err != nil {
				return err
			}
			b.Write(j)
		case yaml.AliasNode:
			return fmt.Errorf("aliases are not allowed") // Parse refuses them; never expanded
		}
		return nil
	}
	err := walk(n)
	return b.Bytes(), err
}

// Export writes the whole portfolio and catalog. Callers need service.read
// and catalog.read everywhere (a portfolio manager, an auditor, the system).
func Export(ctx context.Context, s Services, p *access.Principal) ([]byte, error) {
	services, err := s.Catalog.Services(ctx, p, catalog.ServiceFilter{})
	if err != nil {
		return nil, err
	}
	names, err := newNames(ctx, s, p)
	if err != nil {
		return nil, err
	}
	var d Document
	codeOf := map[string]string{}
	for _, sv := range services {
		codeOf[sv.ID] = sv.Code
	}
	sort.Slice(services, func(i, j int) bool { return services[i].Code < services[j].Code })
	for _, sv := range services {
		d.Services = append(d.Services, names.fileService(ctx, sv, codeOf))
	}
	cis, err := s.Catalog.ConfigItems(ctx, p)
	if err != nil {
		return nil, err
	}
	sort.Slice(cis, func(i, j int) bool { return cis[i].Code < cis[j].Code })
	for _, ci := range cis {
		d.ConfigItems = append(d.ConfigItems, ConfigItem{Code: ci.Code, Name: ci.Name, Kind: ci.Kind, Description: ci.Description})
	}
	m, err := s.Catalog.ServiceMap(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, dep := range m.Dependencies {
		d.Dependencies = append(d.Dependencies, fileDependency(dep))
	}
	sort.Slice(d.Dependencies, func(i, j int) bool { return d.Dependencies[i].key() < d.Dependencies[j].key() })
	offerings, err := s.Catalog.Offerings(ctx, p, catalog.OfferingFilter{})
	if err != nil {
		return nil, err
	}
	offeringCode := map[string]string{}
	for _, o := range offerings {
		offeringCode[o.ID] = o.Code
	}
	sort.Slice(offerings, func(i, j int) bool { return offerings[i].Code < offerings[j].Code })
	for _, o := range offerings {
		out, err := names.fileOffering(o, codeOf, offeringCode)
		if err != nil {
			return nil, err
		}
		d.Offerings = append(d.Offerings, out)
	}
	policies, err := s.Orders.Policies(ctx, p)
	if err != nil {
		return nil, err
	}
	sort.Slice(policies, func(i, j int) bool { return policies[i].Name < policies[j].Name })
	for _, pol := range policies {
		d.Policies = append(d.Policies, filePolicy(pol))
	}
	quotas, err := s.Catalog.Quotas(ctx, p, "")
	if err != nil {
		return nil, err
	}
	for _, q := range quotas {
		d.Quotas = append(d.Quotas, Quota{OrgUnit: names.unitCode[q.OrgUnitID], Offering: offeringCode[q.OfferingID], MaxInstances: q.MaxInstances, MaxQuantity: q.MaxQuantity})
	}
	sort.Slice(d.Quotas, func(i, j int) bool {
		return d.Quotas[i].OrgUnit+d.Quotas[i].Offering < d.Quotas[j].OrgUnit+d.Quotas[j].Offering
	})
	var b bytes.Buffer
	b.WriteString("# Steward portfolio and catalog. Import with: steward catalog import FILE (--dry-run to see the changes).\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&d); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// fileService is a service as the file writes it.
func (n *names) fileService(ctx context.Context, sv *catalog.Service, codeOf map[string]string) Service {
	out := Service{Code: sv.Code, Name: sv.Name, Kind: sv.Kind, Lifecycle: sv.Lifecycle, Successor: codeOf[sv.SuccessorID],
		Description: sv.Description, Owner: n.email(ctx, sv.OwnerID), Sponsor: n.email(ctx, sv.SponsorID),
		RelationshipManager: n.email(ctx, sv.RelationshipManagerID), AssignmentGroup: n.groupName[sv.AssignmentGroupID],
		Outcomes: sv.Outcomes, BusinessFunctions: sv.BusinessFunctions, ValueKind: sv.ValueKind, ValueStatement: sv.ValueStatement,
		Category: sv.Category, FocusCategory: sv.FocusCategory, Class: sv.Class, Criticality: sv.Criticality, Roadmap: sv.Roadmap, Help: sv.Help,
		RPOMinutes: sv.RPOMinutes, RTOMinutes: sv.RTOMinutes, Continuity: sv.Continuity, ExternalDependencies: sv.ExternalDependencies, Calendar: sv.Calendar}
	for _, m := range sv.Managers {
		out.Managers = append(out.Managers, Manager{OrgUnit: n.unitCode[m.OrgUnitID], User: n.email(ctx, m.UserID)})
	}
	if out.FocusCategory == catalog.FocusOther {
		out.FocusCategory = "" // the default
	}
	return out
}

// fileOffering is an offering as the file writes it.
func (n *names) fileOffering(o *catalog.Offering, codeOf, offeringCode map[string]string) (Offering, error) {
	form, err := jsonToNode(o.FormSchema)
	if err != nil {
		return Offering{}, err
	}
	out := Offering{Code: o.Code, Service: codeOf[o.ServiceID], Name: o.Name, Summary: o.Summary, Description: o.Description, Brokered: o.Brokered,
		View: o.View, Form: *form, Addons: o.Addons}
	if string(o.FormSchema) == catalog.EmptyForm {
		out.Form = yaml.Node{}
	}
	if len(o.Audience.OrgUnitIDs)+len(o.Audience.Roles) > 0 {
		out.Audience = &Audience{Roles: o.Audience.Roles}
		for _, id := range o.Audience.OrgUnitIDs {
			out.Audience.OrgUnits = append(out.Audience.OrgUnits, n.unitCode[id])
		}
	}
	for _, id := range o.Bundle {
		out.Bundle = append(out.Bundle, offeringCode[id])
	}
	for _, pl := range o.Input().Plans {
		out.Plans = append(out.Plans, Plan{Code: pl.Code, Name: pl.Name, Description: pl.Description, Currency: pl.Currency,
			Recurring: pl.Recurring, OneTime: pl.OneTime, Agreement: pl.Agreement, MaxQuantity: pl.MaxQuantity, Retired: pl.Retired,
			Blueprint: pl.Blueprint, Prices: pl.Prices})
	}
	return out, nil
}

// filePolicy is an approval policy as the file writes it.
// fileSubject writes the subject of orders (the default) as nothing.
func fileSubject(s orders.Subject) orders.Subject {
	if s == orders.SubjectOrder {
		return ""
	}
	return s
}

func filePolicy(pol *orders.Policy) Policy {
	return Policy{Subject: fileSubject(pol.Subject), Name: pol.Name, Description: pol.Description, Expression: pol.Expression, Step: pol.Step,
		ApproverKind: pol.ApproverKind, ApproverRole: pol.ApproverRole, PerItem: pol.PerItem, Active: pol.Active}
}

func fileDependency(dep *catalog.Dependency) Dependency {
	out := Dependency{Kind: dep.Kind, RedundancyGroup: dep.RedundancyGroup, Needs: dep.Needs}
	if dep.From.Type == "service" {
		out.FromService = dep.From.Code
	} else {
		out.FromCI = dep.From.Code
	}
	if dep.To.Type == "service" {
		out.ToService = dep.To.Code
	} else {
		out.ToCI = dep.To.Code
	}
	return out
}

// names maps between IDs and the names the file uses.
type names struct {
	s         Services
	p         *access.Principal
	unitCode  map[string]string
	unitID    map[string]string
	groupName map[string]string
	groupID   map[string]string
	emails    map[string]string
	userIDs   map[string]string
}

func newNames(ctx context.Context, s Services, p *access.Principal) (*names, error) {
	n := &names{s: s, p: p, unitCode: map[string]string{}, unitID: map[string]string{}, groupName: map[string]string{}, groupID: map[string]string{},
		emails: map[string]string{}, userIDs: map[string]string{}}
	units, err := s.Identity.OrgUnits(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		n.unitCode[u.ID], n.unitID[u.Code] = u.Code, u.ID
	}
	groups, err := s.Identity.Groups(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		n.groupName[g.ID], n.groupID[g.Name] = g.Name, g.ID
	}
	return n, nil
}

func (n *names) email(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	if e, ok := n.emails[id]; ok {
		return e
	}
	u, err := n.s.Identity.User(ctx, n.p, id)
	if err != nil {
		return id
	}
	n.emails[id] = u.Email
	return u.Email
}

func (n *names) userID(ctx context.Context, email string) (string, bool) {
	if email == "" {
		return "", true
	}
	if id, ok := n.userIDs[email]; ok {
		return id, true
	}
	u, err := n.s.Identity.UserByEmail(ctx, n.p, email)
	if err != nil {
		return "", false
	}
	n.userIDs[email] = u.ID
	return u.ID, true
}
