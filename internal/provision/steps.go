package provision

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/blueprint"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// ComponentState is where one step's component is.
type ComponentState string

// The component states. A blueprint's components are made in order; when
// one fails, the later ones are skipped and the ready ones are deleted in
// reverse order (compensation). Deprovisioning deletes them the same way.
const (
	ComponentPending      ComponentState = "pending"
	ComponentProvisioning ComponentState = "provisioning"
	ComponentReady        ComponentState = "ready"
	ComponentFailed       ComponentState = "failed"
	ComponentSkipped      ComponentState = "skipped"
	ComponentDeleting     ComponentState = "deleting"
	ComponentDeleted      ComponentState = "deleted"
)

// Component is what one step of a blueprint made (or is making) for an
// instance. Its ID is its instance ID at the provider.
type Component struct {
	ID           string          `json:"id"`
	InstanceID   string          `json:"instance_id"`
	Seq          int             `json:"seq"`
	Step         string          `json:"step"`
	ProviderID   string          `json:"provider_id,omitempty"`
	Provider     string          `json:"provider,omitempty"`
	ProviderName string          `json:"provider_name,omitempty"`
	PlanID       string          `json:"plan_id"`
	Plan         string          `json:"plan"` // offering/plan
	Parameters   map[string]any  `json:"parameters"`
	State        ComponentState  `json:"state"`
	Note         string          `json:"note"`
	DashboardURL string          `json:"dashboard_url,omitempty"`
	Outputs      map[string]any  `json:"outputs"`
	Placement    json.RawMessage `json:"placement,omitempty"`
	UpdatedAt    time.Time       `json:"updated_at"`
}

const componentColumns = `c.id, c.instance_id, c.seq, c.step, COALESCE(c.provider_id, ''), COALESCE(v.code, ''), COALESCE(v.name, ''), c.plan_id,
	f.code || '/' || p.code, c.parameters, c.state, c.note, c.dashboard_url, c.outputs, c.placement, c.updated_at`

const componentFrom = ` FROM components c JOIN plans p ON p.id = c.plan_id JOIN offerings f ON f.id = p.offering_id LEFT JOIN providers v ON v.id = c.provider_id`

func scanComponent(row sqldb.Scanner) (*Component, error) {
	var c Component
	var placement string
	var params, outputs sqldb.JSON[map[string]any]
	if err := row.Scan(&c.ID, &c.InstanceID, &c.Seq, &c.Step, &c.ProviderID, &c.Provider, &c.ProviderName, &c.PlanID, &c.Plan, &params, &c.State,
		&c.Note, &c.DashboardURL, &outputs, &placement, &c.UpdatedAt); err != nil {
		return nil, err
	}
	c.Parameters, c.Outputs = params.V, outputs.V
	if placement != "{}" && placement != "" {
		c.Placement = json.RawMessage(placement)
	}
	c.UpdatedAt = c.UpdatedAt.UTC()
	return &c, nil
}

func components(ctx context.Context, q sqldb.Querier, instanceID string) ([]*Component, error) {
	return sqldb.QueryAll(ctx, q, "components", scanComponent, `SELECT `+componentColumns+componentFrom+` WHERE c.instance_id = $1 ORDER BY c.seq`, instanceID)
}

// Components lists one page of what the steps of an instance's blueprint
// made, in step order (a blueprint's steps bound the list; it is read
// whole and paged in memory). Callers need to be able to read the
// instance, else not_found; a cursor not of this list is invalid.
func (s *Service) Components(ctx context.Context, p *access.Principal, instanceID string, page sqldb.Page) (sqldb.Paged[*Component], error) {
	if _, err := s.orders.Instance(ctx, p, instanceID); err != nil {
		return sqldb.Paged[*Component]{}, err
	}
	cs, err := components(ctx, s.db.Read(), instanceID)
	if err != nil {
		return sqldb.Paged[*Component]{}, err
	}
	return sqldb.PageSlice(cs, page)
}

// fulfilBlueprint opens the instance of a plan made by a blueprint, with a
// pending component per step, and starts the first step, in tx.
func (s *Service) fulfilBlueprint(ctx context.Context, tx *sqldb.Tx, o *orders.Order, it *orders.Item, blueprintID string) error {
	b, err := s.parsed(ctx, tx, blueprintID)
	if err != nil {
		return err
	}
	instanceID, err := s.orders.OpenInstance(ctx, tx, o, it, "", nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE instances SET blueprint_id = $1 WHERE id = $2`, blueprintID, instanceID); err != nil {
		return sqldb.Err(err, "instance")
	}
	fail := func(note string) error {
		return s.orders.Settle(ctx, tx, access.System(), it.ID, orders.TaskResult{Note: note})
	}
	if _, err := b.Resolve(it.Parameters); err != nil {
		return fail(fmt.Sprintf("the order's parameters do not fit blueprint %s: %s", b.Code, describe(err)))
	}
	plans := make([]string, len(b.Steps))
	providers := make([]string, len(b.Steps))
	for i, st := range b.Steps {
		var problem *errs.FieldError
		if plans[i], providers[i], problem, err = s.stepTarget(ctx, tx, st); err != nil {
			return err
		}
		if problem != nil {
			return fail(fmt.Sprintf("step %s of blueprint %s cannot run: %s", st.Name, b.Code, problem.Message))
		}
	}
	now := sqldb.Time(s.now())
	for i, st := range b.Steps {
		if _, err := tx.ExecContext(ctx, `INSERT INTO components (id, instance_id, seq, step, provider_id, plan_id, parameters, state, note, dashboard_url,
			outputs, placement, updated_at) VALUES ($1, $2, $3, $4, $5, $6, '{}', 'pending', '', '', '{}', '{}', $7)`,
			sqldb.NewID(), instanceID, i, st.Name, nullString(providers[i]), plans[i], now); err != nil {
			return sqldb.Err(err, "component")
		}
	}
	return s.startStep(ctx, tx, instanceID, it.ID, 0)
}

func describe(err error) string {
	e := errs.As(err)
	if len(e.Fields) == 0 {
		return e.Message
	}
	msgs := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		msgs = append(msgs, f.Message)
	}
	return strings.Join(msgs, "; ")
}

// vars are what a blueprint's templates see for an instance: its inputs,
// the instance, and the results of its ready components.
func (s *Service) vars(ctx context.Context, q sqldb.Querier, inst *orders.Instance, b *blueprint.Blueprint, comps []*Component) (blueprint.Vars, error) {
	inputs, err := b.Resolve(inst.Parameters)
	if err != nil {
		return blueprint.Vars{}, err
	}
	var orgUnit, owner string
	if err := q.QueryRowContext(ctx, `SELECT ou.code, u.email FROM org_units ou, users u WHERE ou.id = $1 AND u.id = $2`, inst.OrgUnitID, inst.OwnerID).
		Scan(&orgUnit, &owner); err != nil {
		return blueprint.Vars{}, sqldb.Err(err, "instance owner")
	}
	v := blueprint.Vars{Inputs: inputs, Steps: map[string]blueprint.StepResult{},
		Instance: map[string]any{"id": inst.ID, "name": inst.Name, "org_unit": orgUnit, "owner": owner, "offering": inst.OfferingName, "plan": inst.PlanName}}
	for _, c := range comps {
		if c.State == ComponentReady {
			v.Steps[c.Step] = blueprint.StepResult{ID: c.ID, Provider: c.Provider, DashboardURL: c.DashboardURL, Outputs: c.Outputs}
		}
	}
	return v, nil
}

// blueprintRun reads an instance made by a blueprint, the blueprint and
// its components.
func (s *Service) blueprintRun(ctx context.Context, q sqldb.Querier, instanceID string) (*orders.Instance, *blueprint.Blueprint, []*Component, error) {
	inst, err := orders.GetInstance(ctx, q, instanceID)
	if err != nil {
		return nil, nil, nil, err
	}
	b, err := s.parsed(ctx, q, inst.BlueprintID)
	if err != nil {
		return nil, nil, nil, err
	}
	comps, err := components(ctx, q, instanceID)
	return inst, b, comps, err
}

// startStep asks, in tx, for step seq of the instance's blueprint to be
// started (or, past the last step, for its outputs) by a job once tx
// commits: runStep.
func (s *Service) startStep(ctx context.Context, tx *sqldb.Tx, instanceID, itemID string, seq int) error {
	return s.queuePlace(ctx, tx, placeJob{ItemID: itemID, InstanceID: instanceID, Seq: seq})
}

// runStep renders step seq's parameters from what the steps before it
// made and picks its provider (the one it names, or by placement), outside
// any transaction; then, in a short one and only if the step is still
// pending, records them and starts its provision operation. A step that
// cannot start fails the blueprint. Past the last step it settles the
// item with the blueprint's outputs.
func (s *Service) runStep(ctx context.Context, instanceID, itemID string, seq int) error {
	for round := 1; ; round++ {
		stale, err := s.runStepOnce(ctx, instanceID, itemID, seq, round)
		if err != nil || stale == "" {
			return err
		}
		s.log.Info("placing a step again: the choice changed before it was written", "instance", instanceID, "step", seq, "round", round, "why", stale)
	}
}

// runStepOnce is one round of runStep. It returns why the provider chosen
// for the step was stale (and wrote nothing), or "" once the step started,
// failed or was no longer pending. In the last round (MaxPlacementRounds) a
// stale choice fails the step instead.
func (s *Service) runStepOnce(ctx context.Context, instanceID, itemID string, seq, round int) (stale string, err error) {
	q := s.db.Read()
	inst, b, comps, err := s.blueprintRun(ctx, q, instanceID)
	if err != nil {
		return "", err
	}
	if seq >= len(comps) {
		return "", s.made(ctx, inst, b, comps, itemID)
	}
	c := comps[seq]
	if c.State != ComponentPending {
		return "", nil
	}
	vars, err := s.vars(ctx, q, inst, b, comps)
	if err != nil {
		return "", s.failStep(ctx, c, itemID, describe(err))
	}
	params, err := b.Parameters(ctx, seq, vars)
	if err != nil {
		return "", s.failStep(ctx, c, itemID, "its parameters could not be worked out: "+err.Error())
	}
	var chosen *option
	var decision *Decision
	if c.ProviderID != "" {
		pv, err := getProvider(ctx, q, c.ProviderID)
		if err != nil {
			return "", err
		}
		of, err := offerFor(ctx, q, pv.ID, c.PlanID)
		if err != nil {
			return "", err
		}
		if of == nil || of.Retired {
			return "", s.failStep(ctx, c, itemID, pv.Name+" no longer offers "+c.Plan)
		}
		chosen = &option{provider: pv, offer: of}
	} else {
		opts, err := options(ctx, q, c.PlanID)
		if err != nil {
			return "", err
		}
		var offeringID string
		if err := q.QueryRowContext(ctx, `SELECT offering_id FROM plans WHERE id = $1`, c.PlanID).Scan(&offeringID); err != nil {
			return "", sqldb.Err(err, "plan")
		}
		pol, err := policyFor(ctx, q, offeringID)
		if err != nil {
			return "", err
		}
		offering, plan, _ := strings.Cut(c.Plan, "/")
		region, _ := params["region"].(string)
		request := map[string]any{"offering": offering, "plan": plan, "org_unit": vars.Instance["org_unit"], "quantity": int64(inst.Quantity),
			"parameters": params, "region": region}
		if s.beforePlace != nil {
			s.beforePlace()
		}
		chosen, decision, err = place(ctx, pol, opts, request, s.now().UTC())
		if err != nil {
			return "", s.failStep(ctx, c, itemID, "the placement policy does not work: "+describe(err))
		}
		if chosen == nil {
			return "", s.failStep(ctx, c, itemID, "no provider can make it now: "+decision.Reason)
		}
	}
	var placement any = map[string]any{}
	desc := "step " + c.Step + ": " + chosen.provider.Name + " makes " + c.Plan
	if decision != nil {
		placement, desc = decision, "step "+c.Step+": "+decision.Reason
	}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		// What the choice rested on may have changed since it was read:
		// recheck locks the provider and offer and says so.
		why, err := recheck(ctx, tx, chosen)
		if err != nil || why != "" {
			stale = why
			return err // nothing written
		}
		res, err := tx.ExecContext(ctx, `UPDATE components SET provider_id = $1, parameters = $2, placement = $3, state = 'provisioning', note = '', updated_at = $4
			WHERE id = $5 AND state = 'pending'`, chosen.provider.ID, marshal(params), marshal(placement), sqldb.Time(s.now()), c.ID)
		if err != nil {
			return sqldb.Err(err, "component")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // no longer pending: started already, or skipped
		}
		return s.startOp(ctx, tx, &Operation{InstanceID: instanceID, ItemID: itemID, ComponentID: c.ID, ProviderID: chosen.provider.ID, Kind: OpProvision,
			PlanID: c.PlanID, Description: desc}, chosen.offer)
	})
	if stale != "" && round >= MaxPlacementRounds {
		return "", s.failStep(ctx, c, itemID, fmt.Sprintf("no provider could be chosen: what placement chose on changed before it was written %d times (the last: %s)",
			MaxPlacementRounds, stale))
	}
	return stale, err
}

// failStep fails a pending step that could not start, in its own
// transaction (stepFailed).
func (s *Service) failStep(ctx context.Context, c *Component, itemID, why string) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var state ComponentState
		if err := tx.QueryRowContext(ctx, `SELECT state FROM components WHERE id = $1`, c.ID).Scan(&state); err != nil {
			return sqldb.Err(err, "component")
		}
		if state != ComponentPending {
			return nil
		}
		return s.stepFailed(ctx, tx, c, itemID, why)
	})
}

// stepFailed records why a step failed, skips the steps after it and
// starts undoing the ones before it.
func (s *Service) stepFailed(ctx context.Context, tx *sqldb.Tx, c *Component, itemID, why string) error {
	now := sqldb.Time(s.now())
	if _, err := tx.ExecContext(ctx, `UPDATE components SET state = 'failed', note = $1, updated_at = $2 WHERE id = $3`, why, now, c.ID); err != nil {
		return sqldb.Err(err, "component")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE components SET state = 'skipped', note = 'not run: an earlier step failed', updated_at = $1
		WHERE instance_id = $2 AND state = 'pending'`, now, c.InstanceID); err != nil {
		return sqldb.Err(err, "component")
	}
	return s.undo(ctx, tx, c.InstanceID, itemID)
}

// undo deletes the instance's last ready component, or, when none is
// left, settles the order item: a provision that failed (after
// compensation) or a deprovision that is done.
func (s *Service) undo(ctx context.Context, tx *sqldb.Tx, instanceID, itemID string) error {
	comps, err := components(ctx, tx, instanceID)
	if err != nil {
		return err
	}
	for i := len(comps) - 1; i >= 0; i-- {
		c := comps[i]
		if c.State != ComponentReady {
			continue
		}
		of, err := offerFor(ctx, tx, c.ProviderID, c.PlanID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE components SET state = 'deleting', updated_at = $1 WHERE id = $2`, sqldb.Time(s.now()), c.ID); err != nil {
			return sqldb.Err(err, "component")
		}
		return s.startOp(ctx, tx, &Operation{InstanceID: instanceID, ItemID: itemID, ComponentID: c.ID, ProviderID: c.ProviderID, Kind: OpDeprovision,
			PlanID: c.PlanID, Description: "step " + c.Step + ": deleting"}, of)
	}
	var kind orders.Kind
	if err := tx.QueryRowContext(ctx, `SELECT o.kind FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.id = $1`, itemID).Scan(&kind); err != nil {
		return sqldb.Err(err, "order item")
	}
	var failed, deleted []string
	for _, c := range comps {
		switch c.State {
		case ComponentFailed:
			failed = append(failed, "step "+c.Step+" failed: "+c.Note)
		case ComponentDeleted:
			deleted = append([]string{c.Step}, deleted...)
		}
	}
	note := strings.Join(failed, "; ")
	if len(deleted) > 0 {
		if note != "" {
			note += "; "
		}
		note += "deleted in reverse order: " + strings.Join(deleted, ", ")
	}
	done := kind == orders.KindDeprovision && len(failed) == 0
	return s.orders.Settle(ctx, tx, access.System(), itemID, orders.TaskResult{Done: done, Note: note})
}

// componentFinished moves a blueprint on when one of its operations ends.
func (s *Service) componentFinished(ctx context.Context, tx *sqldb.Tx, op *Operation, out outcome, desc string) error {
	now := sqldb.Time(s.now())
	switch op.Kind {
	case OpProvision:
		if !out.ok {
			c := &Component{ID: op.ComponentID, InstanceID: op.InstanceID}
			return s.stepFailed(ctx, tx, c, op.ItemID, desc)
		}
		if out.outputs == nil {
			out.outputs = map[string]any{}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE components SET state = 'ready', outputs = $1, note = $2, updated_at = $3 WHERE id = $4`,
			marshal(out.outputs), desc, now, op.ComponentID); err != nil {
			return sqldb.Err(err, "component")
		}
		if out.dashboardURL != "" { // else the one the provider gave when it accepted the request
			if _, err := tx.ExecContext(ctx, `UPDATE components SET dashboard_url = $1 WHERE id = $2`, out.dashboardURL, op.ComponentID); err != nil {
				return sqldb.Err(err, "component")
			}
		}
		var next int // steps run in order: the first pending one is next
		err := tx.QueryRowContext(ctx, `SELECT seq FROM components WHERE instance_id = $1 AND state = 'pending' ORDER BY seq LIMIT 1`, op.InstanceID).Scan(&next)
		if err == nil {
			return s.startStep(ctx, tx, op.InstanceID, op.ItemID, next)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return sqldb.Err(err, "component")
		}
		var n int // none pending: the outputs, past the last step
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM components WHERE instance_id = $1`, op.InstanceID).Scan(&n); err != nil {
			return sqldb.Err(err, "component")
		}
		return s.startStep(ctx, tx, op.InstanceID, op.ItemID, n)
	case OpDeprovision:
		state, note := ComponentDeleted, desc
		if !out.ok {
			state, note = ComponentFailed, "could not be deleted, it may be left at the provider: "+desc
		}
		if _, err := tx.ExecContext(ctx, `UPDATE components SET state = $1, note = $2, updated_at = $3 WHERE id = $4`, state, note, now, op.ComponentID); err != nil {
			return sqldb.Err(err, "component")
		}
		return s.undo(ctx, tx, op.InstanceID, op.ItemID)
	}
	return nil // cleanup: orphan mitigation of a failed step, recorded in its operation
}

// made settles a blueprint's provision item when its last step is done,
// with the blueprint's outputs (an output that cannot be worked out is
// reported, not fatal: what was made works). The outputs are rendered
// before the transaction that settles the item.
func (s *Service) made(ctx context.Context, inst *orders.Instance, b *blueprint.Blueprint, comps []*Component, itemID string) error {
	note := fmt.Sprintf("made by blueprint %s in %d steps", b.Code, len(comps))
	vars, err := s.vars(ctx, s.db.Read(), inst, b, comps)
	var outputs map[string]any
	if err == nil {
		outputs, err = b.Render(ctx, vars)
	}
	if err != nil {
		note += "; " + err.Error()
	}
	dash, _ := outputs["dashboard_url"].(string)
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		return s.orders.Settle(ctx, tx, access.System(), itemID, orders.TaskResult{Done: true, Note: note, DashboardURL: dash, Outputs: outputs})
	})
}

// target is what an operation acts on at its provider: the instance, or
// the blueprint component it makes (whose ID is its ID there).
func target(inst *orders.Instance, op *Operation) string {
	if op.ComponentID == "" {
		return inst.ID
	}
	return op.ComponentID
}

// subject is the operation's target with the parameters to send it.
func (s *Service) subject(ctx context.Context, inst *orders.Instance, op *Operation) (string, map[string]any, error) {
	if op.ComponentID == "" {
		return inst.ID, inst.Parameters, nil
	}
	var params sqldb.JSON[map[string]any]
	if err := s.db.Read().QueryRowContext(ctx, `SELECT parameters FROM components WHERE id = $1`, op.ComponentID).Scan(&params); err != nil {
		return "", nil, sqldb.Err(err, "component")
	}
	if params.V == nil {
		params.V = map[string]any{}
	}
	return op.ComponentID, params.V, nil
}
