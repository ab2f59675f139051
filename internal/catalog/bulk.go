package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Bulk writes (issue 18): catalog import writes thousands of services and
// offerings. CreateServices, TransitionServices, CreateOfferings and
// UpdateOfferings write many in one transaction, each input checked and
// authorised as the single call checks it (CreateService, Transition,
// CreateOffering, UpdateOffering), with the same rows, price versions,
// audit records (audit.WriteAll, in the same order) and search index
// (the same triggers). A batch is all or nothing: when one input is
// wrong, nothing of the batch is written and the error is an *ItemError
// naming the input.

// ItemError is the error of the Index-th input of a bulk write; nothing of
// its batch was written.
type ItemError struct {
	Index int
	Err   error
}

func (e *ItemError) Error() string { return fmt.Sprintf("item %d: %v", e.Index+1, e.Err) }

// Unwrap is the input's own error.
func (e *ItemError) Unwrap() error { return e.Err }

func itemErr(i int, err error) error {
	if err == nil {
		return nil
	}
	return &ItemError{Index: i, Err: err}
}

// lookupChunk is how many IDs a lookup names in one statement (SQLite
// parses numbered parameters in time quadratic in their number).
const lookupChunk = 500

// existing returns which of ids are rows of table (a fixed name).
func existing(ctx context.Context, q sqldb.Querier, table, column string, ids []string) (map[string]bool, error) {
	found := map[string]bool{}
	var want []string
	seen := map[string]bool{}
	for _, id := range ids {
		if id != "" && !seen[id] && (column != "id" || sqldb.ValidID(id)) {
			seen[id] = true
			want = append(want, id)
		}
	}
	for start := 0; start < len(want); start += lookupChunk {
		var args sqldb.Args
		got, err := sqldb.QueryAll(ctx, q, table, func(row sqldb.Scanner) (string, error) {
			var s string
			return s, row.Scan(&s)
		}, `SELECT `+column+` FROM `+table+` WHERE `+sqldb.In(&args, column, want[start:min(start+lookupChunk, len(want))]), args...)
		if err != nil {
			return nil, err
		}
		for _, s := range got {
			found[s] = true
		}
	}
	return found, nil
}

// servicesByID reads services by ID, in chunks.
func servicesByID(ctx context.Context, q sqldb.Querier, ids []string) (map[string]*Service, error) {
	out := map[string]*Service{}
	for start := 0; start < len(ids); start += lookupChunk {
		var args sqldb.Args
		ss, err := queryServices(ctx, q, `WHERE `+sqldb.In(&args, "id", ids[start:min(start+lookupChunk, len(ids))]), args...)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			out[s.ID] = s
		}
	}
	return out, nil
}

// CreateOfferings adds many offerings with their plans, in one
// transaction, as CreateOffering adds each: the same checks, rights
// (service.manage on each offering's service), rows, price versions and
// audit records. It returns them in the order given, or an *ItemError
// naming the first input that is wrong, with nothing written.
func (c *Catalog) CreateOfferings(ctx context.Context, p *access.Principal, ins []OfferingInput) ([]*Offering, error) {
	ins = slices.Clone(ins)
	for i := range ins {
		if err := ins[i].Validate(); err != nil {
			return nil, itemErr(i, err)
		}
	}
	if len(ins) == 0 {
		return nil, nil
	}
	var out []*Offering
	err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		out, err = c.createOfferings(ctx, tx, p, ins)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// newPlan is a plan row to insert with its first price version.
type newPlan struct {
	id, offeringID string
	position       int
	in             PlanInput
	blueprint      string
	version        *rating.Version
	components     string // the version's, as stored
	rec, one       money.Amount
}

// written is an offering as loadOfferings reads what saveOffering wrote
// of in at the time now (plans and service aside).
func written(in *OfferingInput, id string, now time.Time) (*Offering, error) {
	o := &Offering{ID: id, Code: in.Code, ServiceID: in.ServiceID, Name: in.Name, Summary: in.Summary, Description: in.Description, View: in.View,
		FormSchema: json.RawMessage(string(in.FormSchema)), Brokered: in.Brokered, CreatedAt: now, UpdatedAt: now, Plans: []*Plan{}}
	var aud sqldb.JSON[Audience]
	var addons sqldb.JSON[[]Addon]
	var bundle sqldb.JSON[[]string]
	for _, x := range []struct {
		dst interface{ Scan(any) error }
		v   any
	}{{&aud, in.Audience}, {&addons, in.Addons}, {&bundle, in.Bundle}} {
		if err := x.dst.Scan(marshal(x.v)); err != nil {
			return nil, errs.Internal(err, "offering %s", in.Code)
		}
	}
	o.Audience, o.Addons, o.Bundle = aud.V, addons.V, bundle.V
	if o.Addons == nil {
		o.Addons = []Addon{}
	}
	if o.Bundle == nil {
		o.Bundle = []string{}
	}
	if o.Audience.OrgUnitIDs == nil {
		o.Audience.OrgUnitIDs = []string{}
	}
	if o.Audience.Roles == nil {
		o.Audience.Roles = []access.Role{}
	}
	return o, nil
}

func (c *Catalog) createOfferings(ctx context.Context, tx *sqldb.Tx, p *access.Principal, ins []OfferingInput) ([]*Offering, error) {
	for i, in := range ins {
		if err := p.Require(access.ServiceManage, access.Resource{ServiceID: in.ServiceID}); err != nil {
			return nil, itemErr(i, err)
		}
	}
	// What the inputs refer to, read once for all of them.
	var svcIDs, unitIDs, bundleIDs, codes []string
	var needMeters bool
	for _, in := range ins {
		svcIDs = append(svcIDs, in.ServiceID)
		unitIDs = append(unitIDs, in.Audience.OrgUnitIDs...)
		bundleIDs = append(bundleIDs, in.Bundle...)
		codes = append(codes, in.Code)
		for _, pl := range in.Plans {
			needMeters = needMeters || len(pl.Prices) > 0
		}
	}
	svcs, err := existing(ctx, tx, "services", "id", svcIDs)
	if err != nil {
		return nil, err
	}
	units, err := existing(ctx, tx, "org_units", "id", unitIDs)
	if err != nil {
		return nil, err
	}
	bundled, err := existing(ctx, tx, "offerings", "id", bundleIDs)
	if err != nil {
		return nil, err
	}
	taken, err := existing(ctx, tx, "offerings", "code", codes)
	if err != nil {
		return nil, err
	}
	var meters map[string]bool
	if needMeters {
		if meters, err = rating.MeterCodes(ctx, tx); err != nil {
			return nil, err
		}
	}
	now := sqldb.Time(c.now())
	ids := make([]string, len(ins))
	var plans []newPlan
	for i := range ins {
		in := &ins[i]
		var v errs.Validator
		v.Check(svcs[in.ServiceID], "service_id", "exists", "service_id must name an existing service")
		for _, id := range in.Audience.OrgUnitIDs {
			v.Check(units[id], "audience.org_unit_ids", "exists", "audience org unit "+id+" does not exist")
		}
		for _, id := range in.Bundle {
			v.Check(bundled[id], "bundle", "exists", "bundled offering "+id+" does not exist (an offering cannot bundle itself)")
		}
		blueprints, err := planBlueprints(ctx, tx, &v, *in)
		if err != nil {
			return nil, err
		}
		if err := v.Err("the offering refers to something that does not exist"); err != nil {
			return nil, itemErr(i, err)
		}
		if taken[in.Code] {
			return nil, itemErr(i, errs.Conflict("an offering with the code %q already exists; choose another code", in.Code))
		}
		taken[in.Code] = true
		if in.Bundle == nil {
			in.Bundle = []string{}
		}
		if in.Addons == nil {
			in.Addons = []Addon{}
		}
		if in.Audience.OrgUnitIDs == nil {
			in.Audience.OrgUnitIDs = []string{}
		}
		if in.Audience.Roles == nil {
			in.Audience.Roles = []access.Role{}
		}
		ids[i] = sqldb.NewID()
		for j, pl := range in.Plans {
			if len(pl.Prices) > 0 {
				var v errs.Validator
				rating.Validate(&v, "plans.prices", pl.Currency, pl.Prices, meters)
				if err := v.Err("plan " + pl.Code + " charges for usage no meter measures"); err != nil {
					return nil, itemErr(i, err)
				}
			}
			np := newPlan{id: sqldb.NewID(), offeringID: ids[i], position: j, in: pl, blueprint: blueprints[j]}
			rec, _ := price(pl.Recurring, pl.Currency)
			one, _ := price(pl.OneTime, pl.Currency)
			// The first price version, as rating.SyncCatalog writes it for a new plan.
			cs := []rating.Component{}
			if rec.Minor > 0 {
				cs = append(cs, rating.Component{Code: rating.BaseCode, Name: "Monthly fee", Kind: rating.Flat, Price: rec.Decimal()})
			}
			if one.Minor > 0 {
				cs = append(cs, rating.Component{Code: rating.SetupCode, Name: "Setup fee", Kind: rating.OneTime, Price: one.Decimal()})
			}
			for _, x := range pl.Prices {
				if x.Code != rating.BaseCode && x.Code != rating.SetupCode {
					cs = append(cs, x)
				}
			}
			np.version = &rating.Version{ID: sqldb.NewID(), PlanID: np.id, Version: 1, EffectiveFrom: now, Currency: pl.Currency, Components: cs,
				Note: "from the catalog", CreatedBy: p.Name, CreatedAt: now}
			np.rec, np.one = np.version.ListPrice()
			plans = append(plans, np)
		}
	}
	err = sqldb.Bulk{Object: "offering", Head: `INSERT INTO offerings (id, code, service_id, name, summary, description, view, form_schema, audience, addons, bundle, brokered, created_at, updated_at)`,
		Cols: 14, Rows: len(ins), Args: func(i int, args []any) []any {
			in := &ins[i]
			return append(args, ids[i], in.Code, in.ServiceID, in.Name, in.Summary, in.Description, in.View, string(in.FormSchema),
				marshal(in.Audience), marshal(in.Addons), marshal(in.Bundle), in.Brokered, now, now)
		}}.Insert(ctx, tx)
	if err != nil {
		return nil, err
	}
	err = sqldb.Bulk{Object: "plan", Head: `INSERT INTO plans (id, offering_id, code, name, description, currency, recurring_minor, one_time_minor, agreement, max_quantity,
		retired, position, blueprint_id, price_version_id, created_at, updated_at)`, Cols: 16, Rows: len(plans), Args: func(i int, args []any) []any {
		np := &plans[i]
		return append(args, np.id, np.offeringID, np.in.Code, np.in.Name, np.in.Description, np.in.Currency, np.rec.Minor, np.one.Minor, np.in.Agreement,
			np.in.MaxQuantity, np.in.Retired, np.position, nullString(np.blueprint), np.version.ID, now, now)
	}}.Insert(ctx, tx)
	if err != nil {
		return nil, err
	}
	err = sqldb.Bulk{Object: "price version", Head: `INSERT INTO price_versions (id, plan_id, version, effective_from, currency, components, note, created_by, created_at)`,
		Cols: 9, Rows: len(plans), Args: func(i int, args []any) []any {
			v := plans[i].version
			b, _ := json.Marshal(v.Components)
			plans[i].components = string(b)
			return append(args, v.ID, v.PlanID, v.Version, v.EffectiveFrom, v.Currency, plans[i].components, v.Note, v.CreatedBy, v.CreatedAt)
		}}.Insert(ctx, tx)
	if err != nil {
		return nil, err
	}
	// The offerings as written, as loadOfferings reads them back (the
	// stored JSON decoded, the plans priced from their versions), without
	// reading them: only their services are read.
	services, err := servicesByID(ctx, tx, svcIDs)
	if err != nil {
		return nil, err
	}
	out := make([]*Offering, len(ins))
	entries := make([]audit.Entry, 0, len(ins)+len(plans))
	k := 0
	for i, id := range ids {
		o, err := written(&ins[i], id, now)
		if err != nil {
			return nil, err
		}
		o.Service = services[o.ServiceID]
		for ; k < len(plans) && plans[k].offeringID == id; k++ {
			np := &plans[k]
			entries = append(entries, audit.Entry{Action: "price_version.create", ObjectType: "plan", ObjectID: np.id, After: np.version})
			pl := &Plan{ID: np.id, Code: np.in.Code, Name: np.in.Name, Description: np.in.Description, Currency: np.in.Currency,
				Recurring: money.Amount{Minor: np.rec.Minor, Currency: np.in.Currency}, OneTime: money.Amount{Minor: np.one.Minor, Currency: np.in.Currency},
				Agreement: np.in.Agreement, MaxQuantity: np.in.MaxQuantity, Retired: np.in.Retired, Blueprint: np.in.Blueprint,
				PriceVersionID: np.version.ID, PriceVersion: np.version.Version}
			var comps sqldb.JSON[[]rating.Component]
			if err := comps.Scan(np.components); err != nil {
				return nil, errs.Internal(err, "price version of plan %s", np.in.Code)
			}
			pl.price(comps.V)
			o.Plans = append(o.Plans, pl)
		}
		out[i] = o
		entries = append(entries, audit.Entry{Action: "offering.create", ObjectType: "offering", ObjectID: id, After: o})
	}
	return out, audit.WriteAll(ctx, tx, p, c.now(), entries)
}

// OfferingUpdate is one offering UpdateOfferings replaces: Ref is its ID or code.
type OfferingUpdate struct {
	Ref string
	In  OfferingInput
}

// UpdateOfferings replaces many offerings and their plans in one
// transaction, each as UpdateOffering replaces it (the same checks,
// rights, rows, price versions and audit records). It returns them in the
// order given, or an *ItemError naming the first one that is wrong, with
// nothing written.
func (c *Catalog) UpdateOfferings(ctx context.Context, p *access.Principal, ups []OfferingUpdate) ([]*Offering, error) {
	ups = slices.Clone(ups)
	for i := range ups {
		if err := ups[i].In.Validate(); err != nil {
			return nil, itemErr(i, err)
		}
	}
	if len(ups) == 0 {
		return nil, nil
	}
	out := make([]*Offering, len(ups))
	err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		for i, up := range ups {
			before, err := offering(ctx, tx, up.Ref)
			if err != nil {
				return itemErr(i, err)
			}
			if err := p.Require(access.ServiceManage, access.Resource{ServiceID: before.ServiceID}); err != nil {
				return itemErr(i, err)
			}
			if err := p.Require(access.ServiceManage, access.Resource{ServiceID: up.In.ServiceID}); err != nil {
				return itemErr(i, err)
			}
			if out[i], err = c.saveOffering(ctx, tx, p, before, up.In); err != nil {
				return itemErr(i, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CreateServices enters many services into the portfolio (proposed), in
// one transaction, as CreateService enters each: the same checks, right
// (portfolio.manage), rows, first transition and audit records. It returns
// them in the order given, or an *ItemError naming the first input that is
// wrong, with nothing written.
func (c *Catalog) CreateServices(ctx context.Context, p *access.Principal, ins []ServiceInput) ([]*Service, error) {
	if err := p.Require(access.PortfolioManage, access.Resource{}); err != nil {
		return nil, err
	}
	ins = slices.Clone(ins)
	for i := range ins {
		if err := ins[i].Validate(); err != nil {
			return nil, itemErr(i, err)
		}
	}
	if len(ins) == 0 {
		return nil, nil
	}
	var out []*Service
	err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		out, err = c.createServices(ctx, tx, p, ins)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Catalog) createServices(ctx context.Context, tx *sqldb.Tx, p *access.Principal, ins []ServiceInput) ([]*Service, error) {
	var userIDs, groupIDs, unitIDs, codes []string
	for _, in := range ins {
		userIDs = append(userIDs, in.OwnerID, in.SponsorID, in.RelationshipManagerID)
		groupIDs = append(groupIDs, in.AssignmentGroupID)
		for _, m := range in.Managers {
			userIDs, unitIDs = append(userIDs, m.UserID), append(unitIDs, m.OrgUnitID)
		}
		codes = append(codes, in.Code)
	}
	users, err := existing(ctx, tx, "users", "id", userIDs)
	if err != nil {
		return nil, err
	}
	groups, err := existing(ctx, tx, "assignment_groups", "id", groupIDs)
	if err != nil {
		return nil, err
	}
	units, err := existing(ctx, tx, "org_units", "id", unitIDs)
	if err != nil {
		return nil, err
	}
	taken, err := existing(ctx, tx, "services", "code", codes)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ins))
	for i, in := range ins {
		// As checkRefs checks one service.
		var v errs.Validator
		for _, ref := range []struct{ field, id string }{{"owner_id", in.OwnerID}, {"sponsor_id", in.SponsorID}, {"relationship_manager_id", in.RelationshipManagerID}} {
			if ref.id != "" {
				v.Check(users[ref.id], ref.field, "exists", ref.field+" must be the ID of an existing user")
			}
		}
		if in.AssignmentGroupID != "" {
			v.Check(groups[in.AssignmentGroupID], "assignment_group_id", "exists", "assignment_group_id must be the ID of an existing assignment group")
		}
		for _, m := range in.Managers {
			v.Check(units[m.OrgUnitID] && users[m.UserID], "managers", "exists", "each manager must name an existing org unit and user")
		}
		if err := v.Err("the service refers to something that does not exist"); err != nil {
			return nil, itemErr(i, err)
		}
		if taken[in.Code] {
			return nil, itemErr(i, errs.Conflict("a service with the code %q already exists; choose another code", in.Code))
		}
		taken[in.Code] = true
		ids[i] = sqldb.NewID()
	}
	now := sqldb.Time(c.now())
	err = sqldb.Bulk{Object: "service", Head: `INSERT INTO services (id, code, name, kind, lifecycle, description, owner_id, sponsor_id,
		relationship_manager_id, assignment_group_id, category, criticality, value_statement, help, rpo_minutes, rto_minutes,
		continuity, details, focus_category, created_at, updated_at)`, Cols: 21, Rows: len(ins), Args: func(i int, args []any) []any {
		in := &ins[i]
		return append(args, ids[i], in.Code, in.Name, in.Kind, LifecycleProposed, in.Description, nullString(in.OwnerID), nullString(in.SponsorID),
			nullString(in.RelationshipManagerID), nullString(in.AssignmentGroupID), in.Category, in.Criticality, in.ValueStatement,
			in.Help, in.RPOMinutes, in.RTOMinutes, in.Continuity, in.details(), in.FocusCategory, now, now)
	}}.Insert(ctx, tx)
	if err != nil {
		return nil, err
	}
	at := sqldb.Time(c.now())
	err = sqldb.Bulk{Object: "service transition", Head: `INSERT INTO service_transitions (id, service_id, from_state, to_state, actor_id, actor_name, reason, at)`,
		Cols: 8, Rows: len(ins), Args: func(i int, args []any) []any {
			return append(args, sqldb.NewID(), ids[i], Lifecycle(""), LifecycleProposed, p.UserID, p.Name, "entered into the portfolio", at)
		}}.Insert(ctx, tx)
	if err != nil {
		return nil, err
	}
	after, err := servicesByID(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*Service, len(ins))
	entries := make([]audit.Entry, len(ins))
	for i, id := range ids {
		if out[i] = after[id]; out[i] == nil {
			return nil, errs.Internal(nil, "service %s was written and cannot be read", id)
		}
		entries[i] = audit.Entry{Action: "service.create", ObjectType: "service", ObjectID: id, After: out[i]}
	}
	return out, audit.WriteAll(ctx, tx, p, c.now(), entries)
}

// ServiceStep is one lifecycle step TransitionServices makes: Ref is the
// service's ID or code.
type ServiceStep struct {
	Ref string
	In  TransitionInput
}

// TransitionServices makes many lifecycle steps, in the order given, in
// one transaction, each as Transition makes it (the same checks, right,
// rows and audit records); a service may take several steps. It returns
// the services after their steps (one per step), or an *ItemError naming
// the first step that is wrong, with nothing written.
func (c *Catalog) TransitionServices(ctx context.Context, p *access.Principal, steps []ServiceStep) ([]*Service, error) {
	if err := p.Require(access.PortfolioManage, access.Resource{}); err != nil {
		return nil, err
	}
	if len(steps) == 0 {
		return nil, nil
	}
	out := make([]*Service, len(steps))
	err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		// Every service the steps name, read once: by ID, and the rest by code.
		byRef := map[string]*Service{}
		var ids, codes []string
		for _, st := range steps {
			for _, ref := range []string{st.Ref, st.In.SuccessorID} {
				if ref == "" {
					continue
				}
				if sqldb.ValidID(ref) {
					ids = append(ids, ref)
				} else {
					codes = append(codes, ref)
				}
			}
		}
		read := func(col string, refs []string) error {
			slices.Sort(refs)
			refs = slices.Compact(refs)
			for start := 0; start < len(refs); start += lookupChunk {
				var args sqldb.Args
				ss, err := queryServices(ctx, tx, `WHERE `+sqldb.In(&args, col, refs[start:min(start+lookupChunk, len(refs))]), args...)
				if err != nil {
					return err
				}
				for _, s := range ss {
					byRef[s.ID], byRef[s.Code] = s, s
				}
			}
			return nil
		}
		if err := read("id", ids); err != nil {
			return err
		}
		if err := read("code", codes); err != nil {
			return err
		}
		now := sqldb.Time(c.now())
		type move struct {
			from, to  Lifecycle
			successor string
		}
		first := map[string]Lifecycle{} // each service's state before the batch
		var order []string
		var entries []audit.Entry
		type row struct{ serviceID, from, to, reason string }
		var rows []row
		for i, st := range steps {
			in := st.In
			in.Reason = strings.TrimSpace(in.Reason)
			s := byRef[st.Ref]
			if s == nil {
				return itemErr(i, errs.NotFound("service %q not found", st.Ref))
			}
			var v errs.Validator
			next := s.Lifecycle.Next()
			if !v.Check(in.To == next && next != "", "to", "transition", illegalTransition(s.Lifecycle, in.To)) {
				return itemErr(i, v.Err("that lifecycle step is not allowed"))
			}
			v.Check(in.Reason != "" && len(in.Reason) <= 2000, "reason", "required", "say why the service moves on (at most 2000 characters)")
			if in.SuccessorID != "" {
				v.Check(in.To == LifecycleRetiring, "successor_id", "state", "a successor is named when a service starts retiring")
				succ := byRef[in.SuccessorID]
				if v.Check(succ != nil, "successor_id", "exists", "successor_id must name an existing service") {
					v.Check(succ.ID != s.ID, "successor_id", "self", "a service cannot succeed itself")
					in.SuccessorID = succ.ID
				}
			}
			if err := v.Err("the lifecycle step is not valid"); err != nil {
				return itemErr(i, err)
			}
			if _, ok := first[s.ID]; !ok {
				first[s.ID] = s.Lifecycle
				order = append(order, s.ID)
			}
			before := s.Lifecycle
			moved := *s
			moved.Lifecycle, moved.UpdatedAt = in.To, now
			if in.SuccessorID != "" {
				moved.SuccessorID = in.SuccessorID
			}
			byRef[s.ID], byRef[s.Code] = &moved, &moved
			out[i] = &moved
			rows = append(rows, row{s.ID, string(before), string(in.To), in.Reason})
			entries = append(entries, audit.Entry{Action: "service.transition", ObjectType: "service", ObjectID: s.ID,
				Before: map[string]any{"lifecycle": before}, After: map[string]any{"lifecycle": in.To, "reason": in.Reason, "successor_id": moved.SuccessorID}})
		}
		// Each service moves from where it was to where its last step
		// leaves it, services that move alike in one statement.
		groups := map[move][]string{}
		var keys []move
		for _, id := range order {
			s := byRef[id]
			m := move{from: first[id], to: s.Lifecycle, successor: s.SuccessorID}
			if len(groups[m]) == 0 {
				keys = append(keys, m)
			}
			groups[m] = append(groups[m], id)
		}
		for _, m := range keys {
			g := groups[m]
			for start := 0; start < len(g); start += lookupChunk {
				args := sqldb.Args{m.to, nullString(m.successor), now, m.from}
				if _, err := tx.ExecContext(ctx, `UPDATE services SET lifecycle = $1, successor_id = COALESCE($2, successor_id), updated_at = $3
					WHERE lifecycle = $4 AND `+sqldb.In(&args, "id", g[start:min(start+lookupChunk, len(g))]), args...); err != nil {
					return sqldb.Err(err, "service")
				}
			}
		}
		err := sqldb.Bulk{Object: "service transition", Head: `INSERT INTO service_transitions (id, service_id, from_state, to_state, actor_id, actor_name, reason, at)`,
			Cols: 8, Rows: len(rows), Args: func(i int, args []any) []any {
				r := rows[i]
				return append(args, sqldb.NewID(), r.serviceID, r.from, r.to, p.UserID, p.Name, r.reason, now)
			}}.Insert(ctx, tx)
		if err != nil {
			return err
		}
		return audit.WriteAll(ctx, tx, p, c.now(), entries)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
