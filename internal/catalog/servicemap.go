package catalog

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// CIKind is what sort of configuration item a CI is.
type CIKind string

// The configuration item kinds. Internal and external services are services
// of the portfolio, not CIs.
const (
	CIHardware    CIKind = "hardware"
	CIApplication CIKind = "application"
	CISetting     CIKind = "setting"
)

// CIKinds lists the CI kinds.
var CIKinds = []CIKind{CIHardware, CIApplication, CISetting}

// ConfigItem is a configuration item of the service map.
type ConfigItem struct {
	ID          string    `json:"id"`
	Code        string    `json:"code"`
	Name        string    `json:"name"`
	Kind        CIKind    `json:"kind"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
}

// ConfigItemInput creates a configuration item.
type ConfigItemInput struct {
	Code        string `json:"code"`
	Name        string `json:"name"`
	Kind        CIKind `json:"kind"`
	Description string `json:"description"`
}

// Validate checks the input.
func (in *ConfigItemInput) Validate() error {
	in.Code, in.Name = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name)
	var v errs.Validator
	checkCode(&v, "code", in.Code)
	v.Check(in.Name != "" && len(in.Name) <= 200, "name", "length", "name is required and must be at most 200 characters")
	v.Check(slices.Contains(CIKinds, in.Kind), "kind", "enum", "kind must be hardware, application or setting")
	return v.Err("the configuration item is not valid")
}

// DependencyKind says how one node depends on another.
type DependencyKind string

// The dependency kinds.
const (
	// DependsOn: the dependent cannot work without the other (acyclic; a failure propagates).
	DependsOn DependencyKind = "depends_on"
	// RunsOn: the dependent is hosted on the other (acyclic; a failure propagates).
	RunsOn DependencyKind = "runs_on"
	// IntegratesWith: the two exchange data; cycles are allowed and a failure does not propagate.
	IntegratesWith DependencyKind = "integrates_with"
)

// DependencyKinds lists the kinds.
var DependencyKinds = []DependencyKind{DependsOn, RunsOn, IntegratesWith}

// Acyclic reports whether dependencies of this kind may not form a cycle.
func (k DependencyKind) Acyclic() bool { return k == DependsOn || k == RunsOn }

// Node is a service or a configuration item on the map.
type Node struct {
	Type string `json:"type"` // "service" or "ci"
	ID   string `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// Key identifies the node in the map: "service:<id>" or "ci:<id>".
func (n Node) Key() string { return n.Type + ":" + n.ID }

// Dependency is an edge of the map: From depends on To.
type Dependency struct {
	ID   string         `json:"id"`
	From Node           `json:"from"`
	To   Node           `json:"to"`
	Kind DependencyKind `json:"kind"`
	// RedundancyGroup groups dependencies of From of which Needs must work.
	RedundancyGroup string    `json:"redundancy_group,omitempty"`
	Needs           int       `json:"needs,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
}

// DependencyInput adds a dependency. Exactly one of FromServiceID and
// FromCIID, and one of ToServiceID and ToCIID, is set.
type DependencyInput struct {
	FromServiceID   string         `json:"from_service_id"`
	FromCIID        string         `json:"from_ci_id"`
	ToServiceID     string         `json:"to_service_id"`
	ToCIID          string         `json:"to_ci_id"`
	Kind            DependencyKind `json:"kind"`
	RedundancyGroup string         `json:"redundancy_group"`
	Needs           int            `json:"needs"`
}

// Validate checks the input's shape.
func (in *DependencyInput) Validate() error {
	in.RedundancyGroup = strings.TrimSpace(in.RedundancyGroup)
	var v errs.Validator
	v.Check((in.FromServiceID == "") != (in.FromCIID == ""), "from_service_id", "one_of", "name the dependent: either from_service_id or from_ci_id")
	v.Check((in.ToServiceID == "") != (in.ToCIID == ""), "to_service_id", "one_of", "name what it depends on: either to_service_id or to_ci_id")
	v.Check(slices.Contains(DependencyKinds, in.Kind), "kind", "enum", "kind must be depends_on, runs_on or integrates_with")
	if in.RedundancyGroup != "" {
		v.Check(in.Needs >= 1, "needs", "range", "a redundancy group needs at least 1 working member: set needs")
		v.Check(in.Kind.Acyclic(), "redundancy_group", "kind", "redundancy groups are for depends_on and runs_on dependencies")
	} else {
		v.Check(in.Needs == 0, "needs", "group", "needs only applies with a redundancy_group")
	}
	if err := v.Err("the dependency is not valid"); err != nil {
		return err
	}
	if in.FromServiceID != "" && in.FromServiceID == in.ToServiceID || in.FromCIID != "" && in.FromCIID == in.ToCIID {
		return errs.Invalid("a node cannot depend on itself")
	}
	return nil
}

// CreateConfigItem adds a CI. Callers need portfolio.manage.
func (c *Catalog) CreateConfigItem(ctx context.Context, p *access.Principal, in ConfigItemInput) (*ConfigItem, error) {
	if err := p.Require(access.PortfolioManage, access.Resource{}); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var ci *ConfigItem
	err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		ci, err = c.createConfigItem(ctx, tx, p, in)
		return err
	})
	return ci, err
}

func (c *Catalog) createConfigItem(ctx context.Context, tx *sqldb.Tx, p *access.Principal, in ConfigItemInput) (*ConfigItem, error) {
	now := sqldb.Time(c.now())
	ci := &ConfigItem{ID: sqldb.NewID(), Code: in.Code, Name: in.Name, Kind: in.Kind, Description: in.Description, CreatedAt: now}
	_, err := tx.ExecContext(ctx, `INSERT INTO config_items (id, code, name, kind, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)`,
		ci.ID, ci.Code, ci.Name, ci.Kind, ci.Description, now)
	if err != nil {
		if errs.Is(sqldb.Err(err, "configuration item"), errs.CodeConflict) {
			return nil, errs.Conflict("a configuration item with the code %q already exists", in.Code)
		}
		return nil, sqldb.Err(err, "configuration item")
	}
	return ci, c.audit(ctx, tx, p, audit.Entry{Action: "ci.create", ObjectType: "config_item", ObjectID: ci.ID, After: ci})
}

// ConfigItems lists every CI by name. Callers need service.read.
func (c *Catalog) ConfigItems(ctx context.Context, p *access.Principal) ([]*ConfigItem, error) {
	if err := p.RequireAnywhere(access.ServiceRead); err != nil {
		return nil, err
	}
	return configItems(ctx, c.db.Read())
}

func configItems(ctx context.Context, q sqldb.Querier) ([]*ConfigItem, error) {
	return sqldb.QueryAll(ctx, q, "configuration items", func(row sqldb.Scanner) (*ConfigItem, error) {
		var ci ConfigItem
		err := row.Scan(&ci.ID, &ci.Code, &ci.Name, &ci.Kind, &ci.Description, &ci.CreatedAt)
		ci.CreatedAt = ci.CreatedAt.UTC()
		return &ci, err
	}, `SELECT id, code, name, kind, description, created_at FROM config_items ORDER BY name, code`)
}

// Map is the whole service map: every node and every dependency.
type Map struct {
	Nodes        map[string]Node `json:"-"`
	Dependencies []*Dependency   `json:"dependencies"`
}

func loadMap(ctx context.Context, q sqldb.Querier) (*Map, error) {
	m := &Map{Nodes: map[string]Node{}}
	// What a node shows of a service, not the whole entry: the map is read
	// on pages agents open all day (a ticket's surroundings), over
	// thousands of services.
	services, err := sqldb.QueryAll(ctx, q, "services", func(row sqldb.Scanner) (Node, error) {
		n := Node{Type: "service"}
		return n, row.Scan(&n.ID, &n.Code, &n.Name, &n.Kind)
	}, `SELECT id, code, name, kind FROM services`)
	if err != nil {
		return nil, err
	}
	for _, n := range services {
		m.Nodes[n.Key()] = n
	}
	cis, err := configItems(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, ci := range cis {
		n := Node{Type: "ci", ID: ci.ID, Code: ci.Code, Name: ci.Name, Kind: string(ci.Kind)}
		m.Nodes[n.Key()] = n
	}
	m.Dependencies, err = sqldb.QueryAll(ctx, q, "dependencies", func(row sqldb.Scanner) (*Dependency, error) {
		var d Dependency
		var fs, fc, ts, tc string
		err := row.Scan(&d.ID, &fs, &fc, &ts, &tc, &d.Kind, &d.RedundancyGroup, &d.Needs, &d.CreatedAt)
		d.From, d.To = m.Nodes[nodeKey(fs, fc)], m.Nodes[nodeKey(ts, tc)]
		d.CreatedAt = d.CreatedAt.UTC()
		return &d, err
	}, `SELECT id, COALESCE(from_service_id, ''), COALESCE(from_ci_id, ''), COALESCE(to_service_id, ''), COALESCE(to_ci_id, ''),
		kind, redundancy_group, group_needs, created_at FROM dependencies ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func nodeKey(serviceID, ciID string) string {
	if serviceID != "" {
		return "service:" + serviceID
	}
	return "ci:" + ciID
}

// LoadMap reads the whole map through q, for a service that checks it
// inside its own transaction (who an outage counts against). It checks
// no authorisation: the caller decides what the map is used for.
func LoadMap(ctx context.Context, q sqldb.Querier) (*Map, error) { return loadMap(ctx, q) }

// ServiceMap returns the whole map. Callers need service.read (the map is
// the provider's picture of itself, shown whole to those who read any of it).
func (c *Catalog) ServiceMap(ctx context.Context, p *access.Principal) (*Map, error) {
	if err := p.RequireAnywhere(access.ServiceRead); err != nil {
		return nil, err
	}
	return loadMap(ctx, c.db.Read())
}

// AddDependency adds an edge to the map. Callers need service.manage on the
// dependent service (portfolio.manage when the dependent is a CI). Errors:
// invalid input or unknown nodes; a conflict when the edge exists or would
// close a cycle of a kind that forbids one; a redundancy group's needs must
// agree across its members.
func (c *Catalog) AddDependency(ctx context.Context, p *access.Principal, in DependencyInput) (*Dependency, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *Dependency
	err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		out, err = c.addDependency(ctx, tx, p, in)
		return err
	})
	return out, err
}

func (c *Catalog) addDependency(ctx context.Context, tx *sqldb.Tx, p *access.Principal, in DependencyInput) (*Dependency, error) {
	m, err := loadMap(ctx, tx)
	if err != nil {
		return nil, err
	}
	from, ok := m.Nodes[nodeKey(in.FromServiceID, in.FromCIID)]
	if !ok {
		return nil, errs.Invalid("the dependent (from_service_id or from_ci_id) is not an existing service or configuration item")
	}
	to, ok := m.Nodes[nodeKey(in.ToServiceID, in.ToCIID)]
	if !ok {
		return nil, errs.Invalid("the dependency (to_service_id or to_ci_id) is not an existing service or configuration item")
	}
	if from.Type == "service" {
		err = p.Require(access.ServiceManage, access.Resource{ServiceID: from.ID})
	} else {
		err = p.Require(access.PortfolioManage, access.Resource{})
	}
	if err != nil {
		return nil, err
	}
	for _, d := range m.Dependencies {
		if d.From.Key() == from.Key() && d.To.Key() == to.Key() && d.Kind == in.Kind {
			return nil, errs.Conflict("%s already %s %s", from.Name, strings.ReplaceAll(string(in.Kind), "_", " "), to.Name)
		}
		if in.RedundancyGroup != "" && d.From.Key() == from.Key() && d.RedundancyGroup == in.RedundancyGroup && d.Needs != in.Needs {
			return nil, errs.Invalid("redundancy group %q of %s needs %d working members; give the same needs for every member", in.RedundancyGroup, from.Name, d.Needs)
		}
	}
	if in.Kind.Acyclic() {
		if path := m.path(to.Key(), from.Key()); path != nil {
			names := []string{from.Name}
			for _, k := range path {
				names = append(names, m.Nodes[k].Name)
			}
			return nil, errs.Conflict("this dependency would close a cycle (%s); %s dependencies must not form cycles", strings.Join(names, " → "), strings.ReplaceAll(string(in.Kind), "_", " "))
		}
	}
	d := &Dependency{ID: sqldb.NewID(), From: from, To: to, Kind: in.Kind, RedundancyGroup: in.RedundancyGroup, Needs: in.Needs, CreatedAt: sqldb.Time(c.now())}
	_, err = tx.ExecContext(ctx, `INSERT INTO dependencies (id, from_service_id, from_ci_id, to_service_id, to_ci_id, kind, redundancy_group, group_needs, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, d.ID, nullString(in.FromServiceID), nullString(in.FromCIID), nullString(in.ToServiceID),
		nullString(in.ToCIID), d.Kind, d.RedundancyGroup, d.Needs, d.CreatedAt)
	if err != nil {
		return nil, sqldb.Err(err, "dependency")
	}
	return d, c.audit(ctx, tx, p, audit.Entry{Action: "dependency.create", ObjectType: "dependency", ObjectID: d.ID, After: d})
}

// path returns the nodes of an acyclic-kind path from → … → to (excluding
// from), or nil when there is none.
func (m *Map) path(from, to string) []string {
	leaving := map[string][]*Dependency{}
	for _, d := range m.Dependencies {
		if d.Kind.Acyclic() {
			leaving[d.From.Key()] = append(leaving[d.From.Key()], d)
		}
	}
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		if k == to {
			var out []string
			for x := to; x != from; x = prev[x] {
				out = append([]string{x}, out...)
			}
			return append([]string{from}, out...)
		}
		for _, d := range leaving[k] {
			if _, seen := prev[d.To.Key()]; !seen {
				prev[d.To.Key()] = k
				queue = append(queue, d.To.Key())
			}
		}
	}
	return nil
}

// RemoveDependency deletes an edge. Callers need the same right as to add it.
func (c *Catalog) RemoveDependency(ctx context.Context, p *access.Principal, id string) error {
	return c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		m, err := loadMap(ctx, tx)
		if err != nil {
			return err
		}
		var d *Dependency
		for _, x := range m.Dependencies {
			if x.ID == id {
				d = x
			}
		}
		if d == nil {
			return errs.NotFound("dependency %q not found", id)
		}
		if d.From.Type == "service" {
			err = p.Require(access.ServiceManage, access.Resource{ServiceID: d.From.ID})
		} else {
			err = p.Require(access.PortfolioManage, access.Resource{})
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM dependencies WHERE id = $1`, id); err != nil {
			return sqldb.Err(err, "dependency")
		}
		return c.audit(ctx, tx, p, audit.Entry{Action: "dependency.delete", ObjectType: "dependency", ObjectID: id, Before: d})
	})
}

// Affected is a node hit by a failure, with the chain that reaches it.
type Affected struct {
	Node Node `json:"node"`
	// Via is the failed node it depends on (directly) that took it down.
	Via  Node     `json:"via"`
	Path []string `json:"path"` // names from the failed node to this one
}

// Survivor is a node that depends on a failed one but keeps working thanks to redundancy.
type Survivor struct {
	Node  Node   `json:"node"`
	Group string `json:"redundancy_group"`
	// Working and Needs say how many members of the group still work and how many it needs.
	Working int `json:"working"`
	Needs   int `json:"needs"`
}

// Impact is the answer to "what breaks if these fail".
type Impact struct {
	Failed    []Node     `json:"failed"`
	Affected  []Affected `json:"affected"`
	Survivors []Survivor `json:"survivors"`
}

// Impact computes what fails when the given nodes ("service:<id>" or
// "ci:<id>" keys, or service/CI codes) fail, honouring redundancy: a node
// fails when a plain depends_on/runs_on dependency fails, or when fewer than
// Needs members of one of its redundancy groups still work. Callers need
// service.read.
func (c *Catalog) Impact(ctx context.Context, p *access.Principal, refs []string) (*Impact, error) {
	m, err := c.ServiceMap(ctx, p)
	if err != nil {
		return nil, err
	}
	failed := map[string]bool{}
	via := map[string]string{}
	var start []Node
	for _, ref := range refs {
		n, ok := m.find(ref)
		if !ok {
			return nil, errs.NotFound("%q is not a service or configuration item on the map", ref)
		}
		failed[n.Key()] = true
		start = append(start, n)
	}
	for k, v := range m.Propagate(failed) {
		via[k] = v
	}
	out := &Impact{Failed: start, Affected: []Affected{}, Survivors: []Survivor{}}
	for key, cause := range via {
		a := Affected{Node: m.Nodes[key], Via: m.Nodes[cause]}
		for k := key; k != ""; k = via[k] {
			a.Path = append([]string{m.Nodes[k].Name}, a.Path...)
		}
		out.Affected = append(out.Affected, a)
	}
	for _, d := range m.Dependencies {
		if d.RedundancyGroup == "" || !failed[d.To.Key()] || failed[d.From.Key()] {
			continue
		}
		s := Survivor{Node: d.From, Group: d.RedundancyGroup, Needs: d.Needs, Working: m.working(d.From.Key(), d.RedundancyGroup, failed)}
		if !slices.ContainsFunc(out.Survivors, func(x Survivor) bool { return x.Node.Key() == s.Node.Key() && x.Group == s.Group }) {
			out.Survivors = append(out.Survivors, s)
		}
	}
	sort.Slice(out.Affected, func(i, j int) bool { return out.Affected[i].Node.Name < out.Affected[j].Node.Name })
	sort.Slice(out.Survivors, func(i, j int) bool { return out.Survivors[i].Node.Name < out.Survivors[j].Node.Name })
	return out, nil
}

// Propagate adds to failed every node that fails with them, honouring
// redundancy, and returns each one's cause (the failed node it depends on).
func (m *Map) Propagate(failed map[string]bool) map[string]string {
	// What each node stands on, indexed once: propagation visits every
	// node until nothing changes.
	byFrom := map[string][]*Dependency{}
	for _, d := range m.Dependencies {
		if d.Kind.Acyclic() {
			k := d.From.Key()
			byFrom[k] = append(byFrom[k], d)
		}
	}
	via := map[string]string{}
	// To a fixed point: the map is acyclic for the propagating kinds.
	for changed := true; changed; {
		changed = false
		for key, deps := range byFrom {
			if failed[key] {
				continue
			}
			if cause := fails(deps, failed); cause != "" {
				failed[key], via[key], changed = true, cause, true
			}
		}
	}
	return via
}

// fails returns the failed dependency among a node's deps that takes it
// down, or "": a plain one that failed, or one of a redundancy group left
// with fewer working members than it needs.
func fails(deps []*Dependency, failed map[string]bool) string {
	groups := map[string]bool{}
	for _, d := range deps {
		to := d.To.Key()
		if d.RedundancyGroup == "" {
			if failed[to] {
				return to
			}
			continue
		}
		if failed[to] && !groups[d.RedundancyGroup] {
			groups[d.RedundancyGroup] = true
			working := 0
			for _, x := range deps {
				if x.RedundancyGroup == d.RedundancyGroup && !failed[x.To.Key()] {
					working++
				}
			}
			if working < d.Needs {
				return to
			}
		}
	}
	return ""
}

func (m *Map) working(key, group string, failed map[string]bool) int {
	n := 0
	for _, d := range m.Dependencies {
		if d.From.Key() == key && d.RedundancyGroup == group && !failed[d.To.Key()] {
			n++
		}
	}
	return n
}

func (m *Map) find(ref string) (Node, bool) {
	if n, ok := m.Nodes[ref]; ok {
		return n, true
	}
	for _, n := range m.Nodes {
		if n.Code == ref || n.ID == ref {
			return n, true
		}
	}
	return Node{}, false
}

// Support lists what the node stands on, transitively: every dependency
// reachable from it, each once, nearest first. Callers need service.read.
func (c *Catalog) Support(ctx context.Context, p *access.Principal, ref string) ([]*Dependency, error) {
	m, err := c.ServiceMap(ctx, p)
	if err != nil {
		return nil, err
	}
	n, ok := m.find(ref)
	if !ok {
		return nil, errs.NotFound("%q is not a service or configuration item on the map", ref)
	}
	return m.Supports(n.Key()), nil
}

// Supports lists what the node stands on, transitively, nearest first.
func (m *Map) Supports(key string) []*Dependency {
	return m.reach(key, func(d *Dependency) (string, string) { return d.From.Key(), d.To.Key() })
}

// NodeList is every node of the map, by name.
func (m *Map) NodeList() []Node {
	out := make([]Node, 0, len(m.Nodes))
	for _, n := range m.Nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name+out[i].ID < out[j].Name+out[j].ID })
	return out
}

// Dependents lists what stands on the node, transitively, nearest first.
func (m *Map) Dependents(key string) []*Dependency {
	return m.reach(key, func(d *Dependency) (string, string) { return d.To.Key(), d.From.Key() })
}

// reach walks the standing-on edges (depends_on, runs_on) breadth-first in the direction dir gives (from, next).
// The edges are indexed by where they leave first, so a walk costs the
// size of the map once, not once per node reached.
func (m *Map) reach(start string, dir func(*Dependency) (string, string)) []*Dependency {
	leaving := map[string][]*Dependency{}
	for _, d := range m.Dependencies {
		if d.Kind.Acyclic() {
			from, _ := dir(d)
			leaving[from] = append(leaving[from], d)
		}
	}
	out := []*Dependency{}
	seen := map[string]bool{start: true}
	queue := []string{start}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		for _, d := range leaving[k] {
			out = append(out, d)
			if _, next := dir(d); !seen[next] {
				seen[next] = true
				queue = append(queue, next)
			}
		}
	}
	return out
}

// Describe names a dependency for people: "Email depends on Directory (group dc, needs 1)".
func (d *Dependency) Describe() string {
	s := fmt.Sprintf("%s %s %s", d.From.Name, strings.ReplaceAll(string(d.Kind), "_", " "), d.To.Name)
	if d.RedundancyGroup != "" {
		s += fmt.Sprintf(" (redundancy group %s: needs %d)", d.RedundancyGroup, d.Needs)
	}
	return s
}
