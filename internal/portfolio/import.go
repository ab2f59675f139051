package portfolio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
)

// Change is one thing Import does (or, in a dry run, would do), or, from
// Preview, an entity of the file that is left as it is.
type Change struct {
	Op     string `json:"op"`   // create, update, transition, add, remove, unchanged
	Kind   string `json:"kind"` // service, config item, dependency, offering, approval policy, quota
	Name   string `json:"name"`
	Detail string `json:"detail,omitempty"`
	// Fields are what an update changes, field by field, old → new.
	Fields []FieldChange `json:"fields,omitempty"`
}

// OpUnchanged is the Op of an entity the file leaves as it is.
const OpUnchanged = "unchanged"

// String is the change on one line ("~ offering vm"); its Fields are
// lines of their own.
func (c Change) String() string {
	sign := map[string]string{"create": "+", "add": "+", "update": "~", "transition": ">", "remove": "-", OpUnchanged: "="}[c.Op]
	s := fmt.Sprintf("%s %s %s", sign, c.Kind, c.Name)
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// placeholderID stands in for services the file creates while inputs are validated.
const placeholderID = "00000000-0000-7000-8000-000000000000"

type plan struct {
	d        *Document
	names    *names
	problems Problems
	// existing state by code or name
	services  map[string]*catalog.Service
	cis       map[string]*catalog.ConfigItem
	offerings map[string]*catalog.Offering
	policies  map[string]*orders.Policy
	inputs    []catalog.ServiceInput
	offers    []catalog.OfferingInput
	inFile    map[string]bool // the codes of the file's services
}

// add reports a problem with the field (a path such as owner or
// plans[1].code; "" for the whole element) of the i-th element of section,
// on that field's line.
func (pl *plan) add(section string, i int, field string, format string, args ...any) {
	line := pl.d.line(section, i)
	if field != "" {
		line = pl.d.fieldLine(section, i, field, nil)
	}
	pl.problems = append(pl.problems, Problem{File: pl.d.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// numbered finds the elements a validation message numbers from 1
// ("holiday 3", "season 2: weekly entry 1") by their list's name in the file.
var numbered = regexp.MustCompile(`(roadmap entry|holiday|season|maintenance|weekly entry) (\d+)`)

var numberedList = map[string]string{"roadmap entry": "roadmap", "holiday": "holidays", "season": "seasons", "maintenance": "maintenance", "weekly entry": "weekly"}

// addErr reports a validation error, each field error on its field's line.
// locate, when not nil, says which element of a list (by its name in the
// file) the k-th occurrence of a field error is about.
func (pl *plan) addErr(section string, i int, what string, err error, locate func(f errs.FieldError, k int) map[string]int) {
	e := errs.As(err)
	if len(e.Fields) == 0 {
		pl.add(section, i, "", "%s: %s", what, e.Message)
	}
	seen := map[errs.FieldError]int{}
	for _, f := range e.Fields {
		index := map[string]int{}
		if locate != nil {
			index = locate(f, seen[f])
		}
		seen[f]++
		for _, m := range numbered.FindAllStringSubmatch(f.Message, -1) {
			n, _ := strconv.Atoi(m[2])
			index[numberedList[m[1]]] = n - 1
		}
		pl.problems = append(pl.problems, Problem{File: pl.d.file, Line: pl.d.fieldLine(section, i, f.Field, index),
			Message: fmt.Sprintf("%s: %s: %s", what, f.Field, f.Message)})
	}
}

// locatePlan says which plan (and add-on) of an offering the k-th
// occurrence of a field error is about: the first plan whose inclusion
// makes the error appear k+1 times when only the plans up to it are
// checked, which also finds the second of two plans with one code. Each
// prefix is checked once, and only for lists of at most maxLocate
// elements (a longer list's errors are on the list's line), so a file
// cannot make this take long.
func locatePlan(in catalog.OfferingInput) func(f errs.FieldError, k int) map[string]int {
	checked := map[string][]error{}
	prefix := func(list string, j int) error {
		if done := checked[list]; j < len(done) {
			return done[j]
		}
		for j2 := len(checked[list]); j2 <= j; j2++ {
			try := in
			try.Plans = slices.Clone(in.Plans)
			try.Addons = slices.Clone(in.Addons)
			if list == "plans" {
				try.Plans = try.Plans[:j2+1]
			} else {
				try.Addons = try.Addons[:j2+1]
			}
			checked[list] = append(checked[list], try.Validate())
		}
		return checked[list][j]
	}
	return func(f errs.FieldError, k int) map[string]int {
		for list, n := range map[string]int{"plans": len(in.Plans), "addons": len(in.Addons)} {
			if !strings.HasPrefix(f.Field, list+".") || n > maxLocate {
				continue
			}
			for j := 0; j < n; j++ {
				if count(prefix(list, j), f) > k {
					return map[string]int{list: j}
				}
			}
		}
		return map[string]int{}
	}
}

// maxLocate is the longest list of plans or add-ons whose errors are
// traced to their element.
const maxLocate = 64

func count(err error, f errs.FieldError) int {
	if err == nil {
		return 0
	}
	n := 0
	for _, x := range errs.As(err).Fields {
		if x == f {
			n++
		}
	}
	return n
}

// Import applies a file (or, with dryRun, only reports what it would
// change). It returns the changes, or Problems naming every line that is
// wrong (Parse's limits included), in which case nothing was changed.
// Callers need the rights of each change (a portfolio manager has them).
// A cancelled ctx stops it before the next change with ctx's error; the
// changes made so far stay and a second import completes the file.
func Import(ctx context.Context, s Services, p *access.Principal, file string, data []byte, dryRun bool) ([]Change, error) {
	all, err := importFile(ctx, s, p, file, data, dryRun)
	changes := slices.DeleteFunc(all, func(c Change) bool { return c.Op == OpUnchanged })
	if len(changes) == 0 {
		changes = nil
	}
	return changes, err
}

// Preview is a dry run of Import that lists every entity of the file:
// what would be created, updated (with each field's old and new value),
// moved through its lifecycle, added or removed, and what is left
// unchanged (Op OpUnchanged). It changes nothing. It returns Problems,
// as Import does, for a file that is wrong.
func Preview(ctx context.Context, s Services, p *access.Principal, file string, data []byte) ([]Change, error) {
	return importFile(ctx, s, p, file, data, true)
}

func importFile(ctx context.Context, s Services, p *access.Principal, file string, data []byte, dryRun bool) ([]Change, error) {
	d, err := Parse(file, data)
	if err != nil {
		return nil, err
	}
	n, err := newNames(ctx, s, p)
	if err != nil {
		return nil, err
	}
	pl := &plan{d: d, names: n, services: map[string]*catalog.Service{}, cis: map[string]*catalog.ConfigItem{},
		offerings: map[string]*catalog.Offering{}, policies: map[string]*orders.Policy{}}
	if err := pl.load(ctx, s, p); err != nil {
		return nil, err
	}
	pl.check(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err // the checks looked names up in vain
	}
	if len(pl.problems) > 0 {
		return nil, pl.problems
	}
	return pl.apply(ctx, s, p, dryRun)
}

func (pl *plan) load(ctx context.Context, s Services, p *access.Principal) error {
	svcs, err := s.Catalog.Services(ctx, p, catalog.ServiceFilter{})
	if err != nil {
		return err
	}
	for _, sv := range svcs {
		pl.services[sv.Code] = sv
	}
	cis, err := s.Catalog.ConfigItems(ctx, p)
	if err != nil {
		return err
	}
	for _, ci := range cis {
		pl.cis[ci.Code] = ci
	}
	offs, err := s.Catalog.Offerings(ctx, p, catalog.OfferingFilter{})
	if err != nil {
		return err
	}
	for _, o := range offs {
		pl.offerings[o.Code] = o
	}
	pols, err := s.Orders.Policies(ctx, p)
	if err != nil {
		return err
	}
	for _, pol := range pols {
		pl.policies[pol.Name] = pol
	}
	return nil
}

func (pl *plan) serviceID(code string) (string, bool) {
	if sv, ok := pl.services[code]; ok {
		return sv.ID, true
	}
	if pl.inFile == nil {
		pl.inFile = map[string]bool{}
		for _, sv := range pl.d.Services {
			pl.inFile[sv.Code] = true
		}
	}
	if pl.inFile[code] {
		return placeholderID, true
	}
	return "", false
}

func (pl *plan) check(ctx context.Context) {
	d, n := pl.d, pl.names
	seen := map[string]bool{}
	for i, sv := range d.Services {
		if seen[sv.Code] {
			pl.add("services", i, "code", "service %s is listed twice", sv.Code)
		}
		seen[sv.Code] = true
		in := catalog.ServiceInput{Code: sv.Code, Name: sv.Name, Kind: sv.Kind, Description: sv.Description, Outcomes: sv.Outcomes,
			BusinessFunctions: sv.BusinessFunctions, ValueKind: sv.ValueKind, ValueStatement: sv.ValueStatement, Category: sv.Category,
			FocusCategory: sv.FocusCategory, Class: sv.Class, Criticality: sv.Criticality, Roadmap: sv.Roadmap, Help: sv.Help, RPOMinutes: sv.RPOMinutes, RTOMinutes: sv.RTOMinutes,
			Continuity: sv.Continuity, ExternalDependencies: sv.ExternalDependencies, Calendar: sv.Calendar}
		for _, ref := range []struct {
			field, email string
			id           *string
		}{{"owner", sv.Owner, &in.OwnerID}, {"sponsor", sv.Sponsor, &in.SponsorID}, {"relationship_manager", sv.RelationshipManager, &in.RelationshipManagerID}} {
			id, ok := n.userID(ctx, ref.email)
			if !ok {
				pl.add("services", i, ref.field, "service %s: %s %q is not a user", sv.Code, ref.field, ref.email)
			}
			*ref.id = id
		}
		if sv.AssignmentGroup != "" {
			if in.AssignmentGroupID = n.groupID[sv.AssignmentGroup]; in.AssignmentGroupID == "" {
				pl.add("services", i, "assignment_group", "service %s: assignment_group %q is not a group", sv.Code, sv.AssignmentGroup)
			}
		}
		for j, m := range sv.Managers {
			uid, ok := n.userID(ctx, m.User)
			if !ok || n.unitID[m.OrgUnit] == "" {
				pl.add("services", i, fmt.Sprintf("managers[%d]", j), "service %s: manager %s for %s: unknown user or org unit", sv.Code, m.User, m.OrgUnit)
			}
			in.Managers = append(in.Managers, catalog.Manager{OrgUnitID: n.unitID[m.OrgUnit], UserID: uid})
		}
		if !slices.Contains(catalog.Lifecycles, sv.Lifecycle) {
			pl.add("services", i, "lifecycle", "service %s: lifecycle must be one of proposed, approved, in_design, live, retiring, retired", sv.Code)
		} else if old, ok := pl.services[sv.Code]; ok && slices.Index(catalog.Lifecycles, sv.Lifecycle) < slices.Index(catalog.Lifecycles, old.Lifecycle) {
			pl.add("services", i, "lifecycle", "service %s is %s here and cannot move back to %s", sv.Code, old.Lifecycle, sv.Lifecycle)
		}
		if sv.Successor != "" {
			if _, ok := pl.serviceID(sv.Successor); !ok {
				pl.add("services", i, "successor", "service %s: successor %q is not a service", sv.Code, sv.Successor)
			}
		}
		if err := in.Validate(); err != nil {
			pl.addErr("services", i, "service "+sv.Code, err, nil)
		}
		pl.inputs = append(pl.inputs, in)
	}
	for i, ci := range d.ConfigItems {
		in := catalog.ConfigItemInput{Code: ci.Code, Name: ci.Name, Kind: ci.Kind, Description: ci.Description}
		if err := in.Validate(); err != nil {
			pl.addErr("config_items", i, "configuration item "+ci.Code, err, nil)
		}
		if old, ok := pl.cis[ci.Code]; ok && (old.Name != in.Name || old.Kind != in.Kind || old.Description != in.Description) {
			pl.add("config_items", i, "", "configuration item %s differs from the one in Steward; changing configuration items is not supported by import", ci.Code)
		}
	}
	ciInFile := func(code string) bool {
		if _, ok := pl.cis[code]; ok {
			return true
		}
		return slices.ContainsFunc(d.ConfigItems, func(c ConfigItem) bool { return c.Code == code })
	}
	for i, dep := range d.Dependencies {
		for _, ref := range []struct{ svc, ci, end string }{{dep.FromService, dep.FromCI, "from"}, {dep.ToService, dep.ToCI, "to"}} {
			switch {
			case (ref.svc == "") == (ref.ci == ""):
				pl.add("dependencies", i, "", "dependency: give exactly one of %s_service and %s_ci", ref.end, ref.end)
			case ref.svc != "":
				if _, ok := pl.serviceID(ref.svc); !ok {
					pl.add("dependencies", i, ref.end+"_service", "dependency: %s_service %q is not a service", ref.end, ref.svc)
				}
			case !ciInFile(ref.ci):
				pl.add("dependencies", i, ref.end+"_ci", "dependency: %s_ci %q is not a configuration item", ref.end, ref.ci)
			}
		}
		in := catalog.DependencyInput{FromServiceID: nz(dep.FromService, 1), FromCIID: nz(dep.FromCI, 1), ToServiceID: nz(dep.ToService, 2), ToCIID: nz(dep.ToCI, 2),
			Kind: dep.Kind, RedundancyGroup: dep.RedundancyGroup, Needs: dep.Needs}
		if dep.FromService != "" && dep.FromService == dep.ToService || dep.FromCI != "" && dep.FromCI == dep.ToCI {
			pl.add("dependencies", i, "", "dependency: a node cannot depend on itself")
		} else if err := in.Validate(); err != nil {
			pl.addErr("dependencies", i, "dependency", err, nil)
		}
	}
	for i, o := range d.Offerings {
		in, ok := pl.offeringInput(i, o)
		if ok {
			if err := in.Validate(); err != nil {
				pl.addErr("offerings", i, "offering "+o.Code, err, locatePlan(in))
			}
		}
		pl.offers = append(pl.offers, in)
	}
	for i, pol := range d.Policies {
		in := policyInput(pol)
		if err := in.Validate(); err != nil {
			pl.addErr("approval_policies", i, "approval policy "+pol.Name, err, nil)
		}
	}
	for i, q := range d.Quotas {
		_, known := pl.offerings[q.Offering]
		known = known || slices.ContainsFunc(d.Offerings, func(o Offering) bool { return o.Code == q.Offering })
		switch {
		case n.unitID[q.OrgUnit] == "":
			pl.add("quotas", i, "org_unit", "quota: org unit %q does not exist", q.OrgUnit)
		case !known:
			pl.add("quotas", i, "offering", "quota: offering %q does not exist", q.Offering)
		}
	}
}

// nz gives a reference a placeholder ID (n tells the two ends apart) for shape validation.
func nz(code string, n int) string {
	if code == "" {
		return ""
	}
	return fmt.Sprintf("00000000-0000-7000-8000-%012d", n)
}

func policyInput(pol Policy) orders.PolicyInput {
	active := pol.Active
	return orders.PolicyInput{Subject: pol.Subject, Name: pol.Name, Description: pol.Description, Expression: pol.Expression, Step: pol.Step,
		ApproverKind: pol.ApproverKind, ApproverRole: pol.ApproverRole, PerItem: pol.PerItem, Active: &active}
}

func (pl *plan) offeringInput(i int, o Offering) (catalog.OfferingInput, bool) {
	in := catalog.OfferingInput{Code: o.Code, Name: o.Name, Summary: o.Summary, Description: o.Description, View: o.View, Addons: o.Addons, Brokered: o.Brokered}
	ok := true
	if id, found := pl.serviceID(o.Service); found {
		in.ServiceID = id
	} else {
		pl.add("offerings", i, "service", "offering %s: service %q is not a service", o.Code, o.Service)
		ok = false
	}
	if !o.Form.IsZero() {
		raw, err := nodeToJSON(&o.Form)
		if err != nil {
			pl.add("offerings", i, "form", "offering %s: form: %v", o.Code, err)
			ok = false
		}
		in.FormSchema = raw
	}
	if o.Audience != nil {
		in.Audience.Roles = o.Audience.Roles
		for k, code := range o.Audience.OrgUnits {
			if id := pl.names.unitID[code]; id != "" {
				in.Audience.OrgUnitIDs = append(in.Audience.OrgUnitIDs, id)
			} else {
				pl.add("offerings", i, fmt.Sprintf("audience.org_units[%d]", k), "offering %s: audience org unit %q does not exist", o.Code, code)
			}
		}
	}
	for k, code := range o.Bundle {
		if old, found := pl.offerings[code]; found {
			in.Bundle = append(in.Bundle, old.ID)
		} else if slices.ContainsFunc(pl.d.Offerings, func(x Offering) bool { return x.Code == code }) {
			in.Bundle = append(in.Bundle, "code:"+code)
		} else {
			pl.add("offerings", i, fmt.Sprintf("bundle[%d]", k), "offering %s: bundled offering %q does not exist", o.Code, code)
		}
	}
	for _, p := range o.Plans {
		in.Plans = append(in.Plans, catalog.PlanInput{Code: p.Code, Name: p.Name, Description: p.Description, Currency: p.Currency,
			Recurring: p.Recurring, OneTime: p.OneTime, Agreement: p.Agreement, MaxQuantity: p.MaxQuantity, Retired: p.Retired,
			Blueprint: p.Blueprint, Prices: p.Prices})
	}
	return in, ok
}

// canon is a comparable form of an input: JSON with empty values (nil or
// empty lists, empty strings, zeros, nulls) left out, so that "not given"
// and "given empty" compare equal.
func canon(v any) string {
	b, _ := json.Marshal(v)
	var x any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.Decode(&x)
	out, _ := json.Marshal(prune(x))
	return string(out)
}

func prune(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			if x = prune(x); x != nil {
				out[k] = x
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		var out []any
		for _, x := range t {
			out = append(out, prune(x))
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if t == "" {
			return nil
		}
	case json.Number:
		if t.String() == "0" {
			return nil
		}
	case bool:
		if !t {
			return nil
		}
	}
	return v
}

func (pl *plan) apply(ctx context.Context, s Services, p *access.Principal, dry bool) ([]Change, error) {
	var changes []Change
	do := func(c Change, f func() error) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped before %s: %w", c, err) // what is applied stays applied; importing again resumes
		}
		changes = append(changes, c)
		if dry {
			return nil
		}
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
		return nil
	}
	// Services: create or update, then move forward. New services are
	// written in batches (catalog.CreateServices), in the file's order.
	var creates []Change
	var createIns []catalog.ServiceInput
	var createCodes []string
	flush := func() error {
		err := pl.batches(ctx, dry, &changes, creates, func(lo, hi int) error {
			out, err := s.Catalog.CreateServices(ctx, p, createIns[lo:hi])
			for k, sv := range out {
				pl.services[createCodes[lo+k]] = sv
			}
			return err
		})
		creates, createIns, createCodes = nil, nil, nil
		return err
	}
	for i, sv := range pl.d.Services {
		in := pl.inputs[i]
		old, exists := pl.services[sv.Code]
		if !exists {
			creates = append(creates, Change{Op: "create", Kind: "service", Name: sv.Code})
			createIns, createCodes = append(createIns, in), append(createCodes, sv.Code)
			continue
		}
		if err := flush(); err != nil {
			return changes, err
		}
		oldIn := old.Input()
		oldIn.Validate()
		if canon(oldIn) == canon(in) {
			if old.Lifecycle == sv.Lifecycle {
				changes = append(changes, Change{Op: OpUnchanged, Kind: "service", Name: sv.Code})
			}
		} else {
			was := pl.names.fileService(ctx, old, pl.serviceCodes())
			now := sv
			now.Code, now.Name, now.Description, now.Outcomes, now.BusinessFunctions, now.ExternalDependencies =
				in.Code, in.Name, in.Description, in.Outcomes, in.BusinessFunctions, in.ExternalDependencies
			if now.FocusCategory = in.FocusCategory; now.FocusCategory == catalog.FocusOther {
				now.FocusCategory = ""
			}
			now.Lifecycle, now.Successor = was.Lifecycle, was.Successor // moves are changes of their own
			if err := do(Change{Op: "update", Kind: "service", Name: sv.Code, Fields: diffFields(was, now)}, func() error {
				_, err := s.Catalog.UpdateService(ctx, p, old.ID, in)
				return err
			}); err != nil {
				return changes, err
			}
		}
	}
	if err := flush(); err != nil {
		return changes, err
	}
	// Lifecycle steps, in batches (catalog.TransitionServices).
	var moves []Change
	type step struct{ code, successor string }
	var steps []step
	var stepIns []catalog.TransitionInput
	for _, sv := range pl.d.Services {
		from := catalog.LifecycleProposed
		if old, ok := pl.services[sv.Code]; ok && old.ID != "" {
			from = old.Lifecycle
		}
		for l := from; l != sv.Lifecycle && l != ""; l = l.Next() {
			next := l.Next()
			in := catalog.TransitionInput{To: next, Reason: "imported from " + pl.d.file}
			st := step{code: sv.Code}
			if next == catalog.LifecycleRetiring && sv.Successor != "" {
				st.successor = sv.Successor
			}
			moves = append(moves, Change{Op: "transition", Kind: "service", Name: sv.Code, Detail: string(l) + " → " + string(next)})
			steps, stepIns = append(steps, st), append(stepIns, in)
		}
	}
	if err := pl.batches(ctx, dry, &changes, moves, func(lo, hi int) error {
		batch := make([]catalog.ServiceStep, 0, hi-lo)
		for k := lo; k < hi; k++ {
			in := stepIns[k]
			if steps[k].successor != "" {
				in.SuccessorID = pl.services[steps[k].successor].ID
			}
			batch = append(batch, catalog.ServiceStep{Ref: pl.services[steps[k].code].ID, In: in})
		}
		_, err := s.Catalog.TransitionServices(ctx, p, batch)
		return err
	}); err != nil {
		return changes, err
	}
	for _, ci := range pl.d.ConfigItems {
		if _, ok := pl.cis[ci.Code]; ok {
			changes = append(changes, Change{Op: OpUnchanged, Kind: "config item", Name: ci.Code})
			continue
		}
		if err := do(Change{Op: "create", Kind: "config item", Name: ci.Code}, func() error {
			created, err := s.Catalog.CreateConfigItem(ctx, p, catalog.ConfigItemInput{Code: ci.Code, Name: ci.Name, Kind: ci.Kind, Description: ci.Description})
			if err == nil {
				pl.cis[ci.Code] = created
			}
			return err
		}); err != nil {
			return changes, err
		}
	}
	// Dependencies: the file's map is the map.
	m, err := s.Catalog.ServiceMap(ctx, p)
	if err != nil {
		return changes, err
	}
	want := map[string]bool{}
	for _, dep := range pl.d.Dependencies {
		want[dep.key()] = true
	}
	have := map[string]bool{}
	for _, dep := range m.Dependencies {
		fd := fileDependency(dep)
		have[fd.key()] = true
		if !want[fd.key()] {
			if err := do(Change{Op: "remove", Kind: "dependency", Name: describe(fd)}, func() error {
				return s.Catalog.RemoveDependency(ctx, p, dep.ID)
			}); err != nil {
				return changes, err
			}
		}
	}
	for _, dep := range pl.d.Dependencies {
		if have[dep.key()] {
			changes = append(changes, Change{Op: OpUnchanged, Kind: "dependency", Name: describe(dep)})
			continue
		}
		if err := do(Change{Op: "add", Kind: "dependency", Name: describe(dep)}, func() error {
			in := catalog.DependencyInput{Kind: dep.Kind, RedundancyGroup: dep.RedundancyGroup, Needs: dep.Needs}
			if dep.FromService != "" {
				in.FromServiceID = pl.services[dep.FromService].ID
			} else {
				in.FromCIID = pl.cis[dep.FromCI].ID
			}
			if dep.ToService != "" {
				in.ToServiceID = pl.services[dep.ToService].ID
			} else {
				in.ToCIID = pl.cis[dep.ToCI].ID
			}
			_, err := s.Catalog.AddDependency(ctx, p, in)
			return err
		}); err != nil {
			return changes, err
		}
	}
	// Offerings, bundled ones after those they bundle, written in batches
	// (catalog.CreateOfferings, UpdateOfferings) of consecutive creations
	// or updates in the file's order. A batch ends before an offering
	// that refers to one of it (a bundle), or has the code of one of it.
	var run []Change
	var runIns []catalog.OfferingInput
	var runIDs []string
	inRun := map[string]bool{}
	flushOfferings := func() error {
		err := pl.batches(ctx, dry, &changes, run, func(lo, hi int) error {
			var out []*catalog.Offering
			var err error
			if run[lo].Op == "update" {
				ups := make([]catalog.OfferingUpdate, 0, hi-lo)
				for k := lo; k < hi; k++ {
					ups = append(ups, catalog.OfferingUpdate{Ref: runIDs[k], In: runIns[k]})
				}
				out, err = s.Catalog.UpdateOfferings(ctx, p, ups)
			} else {
				out, err = s.Catalog.CreateOfferings(ctx, p, runIns[lo:hi])
			}
			for k, o := range out {
				pl.offerings[run[lo+k].Name] = o
			}
			return err
		})
		run, runIns, runIDs = nil, nil, nil
		clear(inRun)
		return err
	}
	for pass := 0; pass < 2; pass++ {
		for i, o := range pl.d.Offerings {
			in := pl.offers[i]
			if (len(o.Bundle) > 0) != (pass == 1) {
				continue
			}
			refers := inRun[o.Code]
			for _, ref := range in.Bundle {
				code, ok := strings.CutPrefix(ref, "code:")
				refers = refers || ok && inRun[code]
			}
			if refers {
				if err := flushOfferings(); err != nil {
					return changes, err
				}
			}
			if svc, ok := pl.services[o.Service]; ok {
				in.ServiceID = svc.ID
			}
			in.Bundle = slices.Clone(in.Bundle)
			for j, ref := range in.Bundle {
				if code, ok := strings.CutPrefix(ref, "code:"); ok && pl.offerings[code] != nil {
					in.Bundle[j] = pl.offerings[code].ID
				}
			}
			in.Validate()
			old, exists := pl.offerings[o.Code]
			c, id := Change{Op: "create", Kind: "offering", Name: o.Code}, ""
			if exists {
				oldIn := old.Input()
				oldIn.Validate()
				if canon(oldIn) == canon(in) {
					if err := flushOfferings(); err != nil {
						return changes, err
					}
					changes = append(changes, Change{Op: OpUnchanged, Kind: "offering", Name: o.Code})
					continue
				}
				c.Op, c.Fields, id = "update", pl.offeringFields(old, o, in), old.ID
			}
			if len(run) > 0 && run[0].Op != c.Op {
				if err := flushOfferings(); err != nil {
					return changes, err
				}
			}
			run, runIns, runIDs = append(run, c), append(runIns, in), append(runIDs, id)
			inRun[o.Code] = true
		}
		if err := flushOfferings(); err != nil {
			return changes, err
		}
	}
	for _, pol := range pl.d.Policies {
		in := policyInput(pol)
		in.Validate()
		old, exists := pl.policies[pol.Name]
		now := Policy{Subject: fileSubject(in.Subject), Name: in.Name, Description: in.Description, Expression: in.Expression, Step: in.Step, ApproverKind: in.ApproverKind,
			ApproverRole: in.ApproverRole, PerItem: in.PerItem, Active: *in.Active}
		c, id := Change{Op: "create", Kind: "approval policy", Name: pol.Name}, ""
		if exists {
			was := filePolicy(old)
			if canon(was) == canon(now) {
				changes = append(changes, Change{Op: OpUnchanged, Kind: "approval policy", Name: pol.Name})
				continue
			}
			c.Op, c.Fields, id = "update", diffFields(was, now), old.ID
		}
		if err := do(c, func() error {
			_, err := s.Orders.SavePolicy(ctx, p, id, in)
			return err
		}); err != nil {
			return changes, err
		}
	}
	quotas, err := s.Catalog.Quotas(ctx, p, "")
	if err != nil {
		return changes, err
	}
	for _, q := range pl.d.Quotas {
		unit := pl.names.unitID[q.OrgUnit]
		c := Change{Op: "create", Kind: "quota", Name: q.OrgUnit + "/" + q.Offering}
		for _, old := range quotas {
			if o := pl.offerings[q.Offering]; o != nil && old.OrgUnitID == unit && old.OfferingID == o.ID {
				c.Op, c.Fields = "update", diffFields(Quota{MaxInstances: old.MaxInstances, MaxQuantity: old.MaxQuantity}, Quota{MaxInstances: q.MaxInstances, MaxQuantity: q.MaxQuantity})
			}
		}
		if c.Op == "update" && len(c.Fields) == 0 {
			changes = append(changes, Change{Op: OpUnchanged, Kind: "quota", Name: c.Name})
			continue
		}
		if err := do(c, func() error {
			_, err := s.Catalog.SetQuota(ctx, p, catalog.QuotaInput{OrgUnitID: unit, OfferingID: pl.offerings[q.Offering].ID, MaxInstances: q.MaxInstances, MaxQuantity: q.MaxQuantity})
			return err
		}); err != nil {
			return changes, err
		}
	}
	return changes, nil
}

// batchSize is how many changes of one kind are written in one transaction.
const batchSize = 2000

// batches applies changes of one kind batchSize at a time (in a dry run,
// only lists them): write(lo, hi) writes cs[lo:hi] in one transaction, all
// or nothing, and names a wrong one with a *catalog.ItemError. When a
// change fails, the changes before it are written, the import stops with
// an error naming it, and changes has every change made and the one that
// failed, as if they were written one at a time: what is applied stays
// applied, and importing again resumes. A cancelled ctx stops it before
// the next batch.
func (pl *plan) batches(ctx context.Context, dry bool, changes *[]Change, cs []Change, write func(lo, hi int) error) error {
	// upTo writes cs[lo:hi] and returns how far it got, and the error of
	// the change there.
	var upTo func(lo, hi int) (int, error)
	upTo = func(lo, hi int) (int, error) {
		err := write(lo, hi)
		if err == nil {
			return hi, nil
		}
		var ie *catalog.ItemError
		if errors.As(err, &ie) && ie.Index >= 0 && lo+ie.Index < hi {
			bad := lo + ie.Index
			if bad > lo {
				if n, err := upTo(lo, bad); err != nil {
					return n, err
				}
			}
			return bad, fmt.Errorf("%s: %w", cs[bad], ie.Err)
		}
		if ctx.Err() != nil {
			return lo, errStopped{fmt.Errorf("stopped before %s: %w", cs[lo], ctx.Err())}
		}
		if hi-lo == 1 {
			return lo, fmt.Errorf("%s: %w", cs[lo], err)
		}
		// Not one change's error: one at a time, to find whose it is.
		for i := lo; i < hi; i++ {
			if n, err := upTo(i, i+1); err != nil {
				return n, err
			}
		}
		return hi, nil
	}
	for lo := 0; lo < len(cs); lo += batchSize {
		hi := min(lo+batchSize, len(cs))
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped before %s: %w", cs[lo], err) // what is applied stays applied; importing again resumes
		}
		if dry {
			*changes = append(*changes, cs[lo:hi]...)
			continue
		}
		n, err := upTo(lo, hi)
		*changes = append(*changes, cs[lo:n]...)
		var stopped errStopped
		if errors.As(err, &stopped) {
			return stopped.error
		}
		if err != nil {
			*changes = append(*changes, cs[n])
			return err
		}
	}
	return nil
}

// errStopped is a batch cut short by its context: no change failed.
type errStopped struct{ error }

// serviceCodes maps the services' IDs to their codes.
func (pl *plan) serviceCodes() map[string]string {
	codes := map[string]string{}
	for code, sv := range pl.services {
		codes[sv.ID] = code
	}
	return codes
}

// offeringFields is what an update of an offering changes, as the file
// names its fields.
func (pl *plan) offeringFields(old *catalog.Offering, o Offering, in catalog.OfferingInput) []FieldChange {
	offeringCode := map[string]string{}
	for code, x := range pl.offerings {
		offeringCode[x.ID] = code
	}
	was, err := pl.names.fileOffering(old, pl.serviceCodes(), offeringCode)
	if err != nil {
		return []FieldChange{{Field: "form", Old: err.Error()}}
	}
	now := o
	now.Code, now.Name, now.Summary, now.View = in.Code, in.Name, in.Summary, in.View
	now.Plans = slices.Clone(o.Plans)
	for j := range now.Plans {
		p := in.Plans[j]
		now.Plans[j].Code, now.Plans[j].Name, now.Plans[j].Currency, now.Plans[j].Blueprint = p.Code, p.Name, p.Currency, p.Blueprint
	}
	return diffFields(was, now)
}

func describe(d Dependency) string {
	from, to := d.FromService, d.ToService
	if from == "" {
		from = "ci " + d.FromCI
	}
	if to == "" {
		to = "ci " + d.ToCI
	}
	s := from + " " + strings.ReplaceAll(string(d.Kind), "_", " ") + " " + to
	if d.RedundancyGroup != "" {
		s += fmt.Sprintf(" (group %s, needs %d)", d.RedundancyGroup, d.Needs)
	}
	return s
}
