package provision

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/jobs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/osb"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// OpKind is what an operation does at a provider.
type OpKind string

// The operation kinds. Cleanup is orphan mitigation: deleting what a
// provider may have made when Steward could not tell whether it did.
const (
	OpProvision   OpKind = "provision"
	OpUpdate      OpKind = "update"
	OpDeprovision OpKind = "deprovision"
	OpBind        OpKind = "bind"
	OpUnbind      OpKind = "unbind"
	OpCleanup     OpKind = "cleanup"
)

// OpState is where an operation is.
type OpState string

// The operation states.
const (
	OpPending    OpState = "pending"
	OpInProgress OpState = "in_progress"
	OpSucceeded  OpState = "succeeded"
	OpFailed     OpState = "failed"
)

// Operation is one call (and its polling) at a provider, for an instance
// or a binding. Its history is the instance page's operation list.
type Operation struct {
	ID         string `json:"id"`
	InstanceID string `json:"instance_id"`
	BindingID  string `json:"binding_id,omitempty"`
	// ComponentID and Step name the blueprint component the operation makes or deletes.
	ComponentID     string     `json:"component_id,omitempty"`
	Step            string     `json:"step,omitempty"`
	ItemID          string     `json:"item_id,omitempty"`
	ProviderID      string     `json:"provider_id"`
	ProviderName    string     `json:"provider_name"`
	Kind            OpKind     `json:"kind"`
	State           OpState    `json:"state"`
	RemoteOperation string     `json:"remote_operation,omitempty"`
	PlanID          string     `json:"plan_id"`
	Description     string     `json:"description"`
	Polls           int        `json:"polls"`
	StartedAt       time.Time  `json:"started_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	Deadline        time.Time  `json:"deadline"`
	FinishedAt      *time.Time `json:"finished_at,omitempty"`
}

// Finished reports whether the operation has ended.
func (o *Operation) Finished() bool { return o.State == OpSucceeded || o.State == OpFailed }

const opColumns = `o.id, o.instance_id, COALESCE(o.binding_id, ''), COALESCE(o.item_id, ''), o.provider_id, v.name, o.kind, o.state, o.remote_operation,
	o.plan_id, o.description, o.polls, o.started_at, o.updated_at, o.deadline, o.finished_at, COALESCE(o.component_id, ''), COALESCE(c.step, '')`

const opFrom = ` FROM operations o JOIN providers v ON v.id = o.provider_id LEFT JOIN components c ON c.id = o.component_id`

func scanOp(row sqldb.Scanner) (*Operation, error) {
	var o Operation
	var fin sql.NullTime
	if err := row.Scan(&o.ID, &o.InstanceID, &o.BindingID, &o.ItemID, &o.ProviderID, &o.ProviderName, &o.Kind, &o.State, &o.RemoteOperation, &o.PlanID,
		&o.Description, &o.Polls, &o.StartedAt, &o.UpdatedAt, &o.Deadline, &fin, &o.ComponentID, &o.Step); err != nil {
		return nil, err
	}
	o.StartedAt, o.UpdatedAt, o.Deadline, o.FinishedAt = o.StartedAt.UTC(), o.UpdatedAt.UTC(), o.Deadline.UTC(), sqldb.TimePtr(fin)
	return &o, nil
}

func getOp(ctx context.Context, q sqldb.Querier, id string) (*Operation, error) {
	return sqldb.QueryOne(ctx, q, fmt.Sprintf("operation %q", id), scanOp, `SELECT `+opColumns+opFrom+` WHERE o.id = $1`, id)
}

// operationOrder is the order of Operations: newest first.
var operationOrder = sqldb.Order{Name: "started", Columns: []string{"o.started_at", "o.id"}, Desc: true}

// Operations lists one page of an instance's operations, newest first.
// Callers need to be able to read the instance, else not_found; a cursor
// not of this list is invalid.
func (s *Service) Operations(ctx context.Context, p *access.Principal, instanceID string, page sqldb.Page) (sqldb.Paged[*Operation], error) {
	if _, err := s.orders.Instance(ctx, p, instanceID); err != nil {
		return sqldb.Paged[*Operation]{}, err
	}
	args := sqldb.Args{instanceID}
	var started time.Time
	var id string
	seek, err := operationOrder.Seek(&args, page, &started, &id)
	if err != nil {
		return sqldb.Paged[*Operation]{}, err
	}
	ops, err := sqldb.QueryAll(ctx, s.db.Read(), "operations", scanOp, `SELECT `+opColumns+opFrom+` WHERE o.instance_id = $1 AND `+seek+
		operationOrder.By()+operationOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[*Operation]{}, err
	}
	return sqldb.PageOf(ops, page, operationOrder, func(o *Operation) []any { return []any{o.StartedAt, o.ID} }), nil
}

// LatestOperation is the instance's (or, with bindingID, the binding's)
// newest operation, without an access check: for the broker.
func (s *Service) LatestOperation(ctx context.Context, instanceID, bindingID string) (*Operation, error) {
	q := `SELECT ` + opColumns + opFrom + ` WHERE o.instance_id = $1 AND COALESCE(o.binding_id, '') = $2 AND o.kind <> 'cleanup' ORDER BY o.started_at DESC, o.id DESC`
	return scanOp(s.db.Read().QueryRowContext(ctx, q, instanceID, bindingID))
}

// options are the providers offering a plan, with their offers.
func options(ctx context.Context, q sqldb.Querier, planID string) ([]option, error) {
	offers, err := sqldb.QueryAll(ctx, q, "offers", scanOffer, `SELECT `+offerColumns+offerFrom+` WHERE o.plan_id = $1 AND NOT o.retired`, planID)
	if err != nil {
		return nil, err
	}
	pvs, err := sqldb.QueryAll(ctx, q, "providers", scanProvider, `SELECT `+providerColumns+` FROM providers v
		WHERE v.id IN (SELECT provider_id FROM provider_offers WHERE plan_id = $1 AND NOT retired)`, planID)
	if err != nil {
		return nil, err
	}
	byID := map[string]*Provider{}
	for _, pv := range pvs {
		byID[pv.ID] = pv
	}
	out := make([]option, 0, len(offers))
	for _, of := range offers {
		out = append(out, option{provider: byID[of.ProviderID], offer: of})
	}
	return out, nil
}

func offerFor(ctx context.Context, q sqldb.Querier, providerID, planID string) (*Offer, error) {
	o, err := scanOffer(q.QueryRowContext(ctx, `SELECT `+offerColumns+offerFrom+` WHERE o.provider_id = $1 AND o.plan_id = $2`, providerID, planID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return o, sqldb.Err(err, "offer")
}

// Fulfil takes an approved order item when a provider offers its plan (for
// a provision) or made its instance (for a change or a deprovision). It
// implements orders.Provisioner. A provision's instance is opened in tx and
// its provider chosen by a job queued in tx (placeItem); a blueprint's
// steps are started by jobs the same way (runStep).
func (s *Service) Fulfil(ctx context.Context, tx *sqldb.Tx, o *orders.Order, it *orders.Item) (bool, error) {
	switch o.Kind {
	case orders.KindProvision:
		var bp sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT blueprint_id FROM plans WHERE id = $1`, it.PlanID).Scan(&bp); err != nil {
			return false, sqldb.Err(err, "plan")
		}
		if bp.Valid {
			return true, s.fulfilBlueprint(ctx, tx, o, it, bp.String)
		}
		opts, err := options(ctx, tx, it.PlanID)
		if err != nil || len(opts) == 0 {
			return false, err
		}
		// The instance is opened now, its provider chosen by a job after
		// this transaction, so that no placement policy is evaluated while
		// it holds the write lock.
		if _, err := s.orders.OpenInstance(ctx, tx, o, it, "", nil); err != nil {
			return false, err
		}
		return true, s.queuePlace(ctx, tx, placeJob{ItemID: it.ID})
	case orders.KindDeprovision, orders.KindChange:
		inst, err := orders.GetInstance(ctx, tx, it.InstanceID)
		if err != nil {
			return false, err
		}
		if inst.BlueprintID != "" {
			if o.Kind == orders.KindDeprovision {
				return true, s.undo(ctx, tx, inst.ID, it.ID)
			}
			return true, s.orders.Settle(ctx, tx, access.System(), it.ID, orders.TaskResult{
				Note: inst.Name + " was made by blueprint " + inst.Blueprint + ", whose instances cannot change plan; order the new plan and deprovision this one"})
		}
		if inst.ProviderID == "" {
			return false, nil
		}
		if o.Kind == orders.KindDeprovision {
			of, err := offerFor(ctx, tx, inst.ProviderID, inst.PlanID)
			if err != nil {
				return false, err
			}
			return true, s.startOp(ctx, tx, &Operation{InstanceID: inst.ID, ItemID: it.ID, ProviderID: inst.ProviderID, Kind: OpDeprovision, PlanID: inst.PlanID}, of)
		}
		of, err := offerFor(ctx, tx, inst.ProviderID, it.PlanID)
		if err != nil {
			return false, err
		}
		why := ""
		switch {
		case of == nil || of.Retired:
			why = inst.ProviderName + " does not make " + it.PlanName + "; the instance stays on its plan"
		case it.PlanID != inst.PlanID && !of.PlanUpdateable:
			why = inst.ProviderName + " does not allow plan changes of this service; order the new plan and deprovision this one"
		}
		if why != "" {
			return true, s.orders.Settle(ctx, tx, access.System(), it.ID, orders.TaskResult{Note: why})
		}
		return true, s.startOp(ctx, tx, &Operation{InstanceID: inst.ID, ItemID: it.ID, ProviderID: inst.ProviderID, Kind: OpUpdate, PlanID: it.PlanID}, of)
	}
	return false, nil
}

// startOp records an operation and queues its first step, in tx.
func (s *Service) startOp(ctx context.Context, tx *sqldb.Tx, op *Operation, of *Offer) error {
	now := sqldb.Time(s.now())
	maxPolling := s.DefaultMaxPolling
	if of != nil && of.MaxPolling > 0 {
		maxPolling = time.Duration(of.MaxPolling) * time.Second
	}
	op.ID, op.State, op.StartedAt, op.UpdatedAt, op.Deadline = sqldb.NewID(), OpPending, now, now, now.Add(maxPolling)
	_, err := tx.ExecContext(ctx, `INSERT INTO operations (id, instance_id, binding_id, component_id, item_id, provider_id, kind, state, remote_operation, plan_id,
		description, polls, started_at, updated_at, deadline) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', '', $8, $9, 0, $10, $10, $11)`,
		op.ID, op.InstanceID, nullString(op.BindingID), nullString(op.ComponentID), nullString(op.ItemID), op.ProviderID, op.Kind, op.PlanID, op.Description,
		now, op.Deadline)
	if err != nil {
		return sqldb.Err(err, "operation")
	}
	return s.schedule(ctx, tx, op, 0)
}

// schedule queues the operation's next step after wait.
func (s *Service) schedule(ctx context.Context, tx *sqldb.Tx, op *Operation, wait time.Duration) error {
	payload, _ := json.Marshal(map[string]string{"operation_id": op.ID})
	_, err := s.jobs.EnqueueTx(ctx, tx, jobs.EnqueueInput{Kind: jobOperation, Payload: payload, RunAt: s.now().Add(wait),
		UniqueKey: fmt.Sprintf("op:%s:%d", op.ID, op.Polls), MaxAttempts: 20})
	if err == nil {
		s.jobs.Wake()
	}
	return err
}

// pollWait is how long to wait before the next poll: the provider's
// Retry-After when it sent one, else doubling from MinPoll to MaxPoll.
func (s *Service) pollWait(polls int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, time.Hour)
	}
	d := s.MinPoll
	for i := 0; i < polls && d < s.MaxPoll; i++ {
		d *= 2
	}
	return min(d, s.MaxPoll)
}

func (s *Service) runOperation(ctx context.Context, j *jobs.Job) error {
	var payload struct {
		OperationID string `json:"operation_id"`
	}
	if err := json.Unmarshal(j.Payload, &payload); err != nil {
		return err
	}
	return s.Step(ctx, payload.OperationID)
}

// outcome is how a call or poll ended.
type outcome struct {
	ok           bool
	description  string
	dashboardURL string
	credentials  map[string]any
	// outputs are what a webhook provider reports it made (blueprint steps use them).
	outputs map[string]any
	// orphan: the provider may hold something Steward does not: clean up.
	orphan bool
}

// Step advances an operation by one call or poll. Jobs run it; it is safe
// to run twice (a finished operation is left alone, and every call is
// idempotent at an OSB broker).
func (s *Service) Step(ctx context.Context, id string) error {
	op, err := getOp(ctx, s.db.Read(), id)
	if err != nil || op.Finished() {
		return err
	}
	pv, err := getProvider(ctx, s.db.Read(), op.ProviderID)
	if err != nil {
		return err
	}
	inst, err := orders.GetInstance(ctx, s.db.Read(), op.InstanceID)
	if err != nil {
		return err
	}
	of, err := offerFor(ctx, s.db.Read(), pv.ID, op.PlanID)
	if err != nil {
		return err
	}
	if of == nil {
		return s.finish(ctx, op, outcome{description: pv.Name + " no longer offers this plan"})
	}
	now := s.now()
	if op.State == OpPending {
		res, err := s.call(ctx, pv, of, inst, op)
		var oe *osb.Error
		switch {
		case err == nil && res.async:
			if res.dashboardURL != "" {
				if err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
					q, id := `UPDATE instances SET dashboard_url = $1 WHERE id = $2`, inst.ID
					if op.ComponentID != "" {
						q, id = `UPDATE components SET dashboard_url = $1 WHERE id = $2`, op.ComponentID
					}
					_, err := tx.ExecContext(ctx, q, res.dashboardURL, id)
					return sqldb.Err(err, "instance")
				}); err != nil {
					return err
				}
			}
			return s.advance(ctx, op, OpInProgress, res.operation, "the provider is working on it", s.pollWait(0, res.retryAfter))
		case err == nil:
			return s.finish(ctx, op, res.outcome)
		case errors.As(err, &oe) && oe.Definite:
			return s.finish(ctx, op, outcome{description: err.Error()})
		case op.Kind == OpProvision || op.Kind == OpBind:
			return s.finish(ctx, op, outcome{description: err.Error(), orphan: true})
		case now.After(op.Deadline):
			return s.finish(ctx, op, outcome{description: "gave up at the deadline: " + err.Error()})
		default: // deprovision, unbind, update, cleanup: try again
			return s.advance(ctx, op, OpPending, "", "retrying: "+err.Error(), s.pollWait(op.Polls, 0))
		}
	}
	// In progress: poll (OSB) or wait for the callback (webhook).
	if pv.Kind == KindWebhook {
		if now.Before(op.Deadline) {
			return s.advance(ctx, op, OpInProgress, op.RemoteOperation, op.Description, op.Deadline.Sub(now))
		}
		return s.finish(ctx, op, outcome{description: "the provider did not call back before the deadline", orphan: op.Kind == OpProvision || op.Kind == OpBind})
	}
	c, err := s.client(pv)
	if err != nil {
		return err
	}
	var poll *osb.Poll
	if op.BindingID != "" {
		poll, err = c.BindingLastOperation(ctx, target(inst, op), op.BindingID, of.RemoteServiceID, of.RemotePlanID, op.RemoteOperation)
	} else {
		poll, err = c.LastOperation(ctx, target(inst, op), of.RemoteServiceID, of.RemotePlanID, op.RemoteOperation)
	}
	deleting := op.Kind == OpDeprovision || op.Kind == OpUnbind || op.Kind == OpCleanup
	switch {
	case err != nil && now.After(op.Deadline):
		return s.finish(ctx, op, outcome{description: "the provider took longer than the maximum polling duration: " + err.Error(), orphan: op.Kind == OpProvision})
	case err != nil:
		var oe *osb.Error
		if errors.As(err, &oe) && oe.Definite && oe.Status != 404 {
			return s.finish(ctx, op, outcome{description: err.Error(), orphan: op.Kind == OpProvision})
		}
		return s.advance(ctx, op, OpInProgress, op.RemoteOperation, "polling: "+err.Error(), s.pollWait(op.Polls, 0))
	case poll.Gone && deleting:
		return s.finish(ctx, op, outcome{ok: true, description: "gone at the provider"})
	case poll.Gone:
		return s.finish(ctx, op, outcome{description: "the provider no longer knows it"})
	case poll.State == osb.InProgress && now.After(op.Deadline):
		return s.finish(ctx, op, outcome{description: "the provider took longer than the maximum polling duration", orphan: op.Kind == OpProvision || op.Kind == OpBind})
	case poll.State == osb.InProgress:
		desc := poll.Description
		if desc == "" {
			desc = "the provider is working on it"
		}
		return s.advance(ctx, op, OpInProgress, op.RemoteOperation, desc, s.pollWait(op.Polls, poll.RetryAfter))
	case poll.State == osb.Failed:
		desc := poll.Description
		if desc == "" {
			desc = "the provider reports the operation failed"
		}
		return s.finish(ctx, op, outcome{description: desc})
	}
	out := outcome{ok: true, description: poll.Description}
	if op.Kind == OpBind {
		creds, err := c.FetchBinding(ctx, target(inst, op), op.BindingID, of.RemoteServiceID, of.RemotePlanID)
		if err != nil {
			return s.advance(ctx, op, OpInProgress, op.RemoteOperation, "fetching the credentials: "+err.Error(), s.pollWait(op.Polls, 0))
		}
		out.credentials = creds
	}
	return s.finish(ctx, op, out)
}

// callResult is a provider's answer to a call.
type callResult struct {
	outcome
	async      bool
	operation  string
	retryAfter time.Duration
}

// call makes the operation's request at the provider.
func (s *Service) call(ctx context.Context, pv *Provider, of *Offer, inst *orders.Instance, op *Operation) (*callResult, error) {
	who, err := s.identity(ctx, inst)
	if err != nil {
		return nil, err
	}
	remoteID, params, err := s.subject(ctx, inst, op)
	if err != nil {
		return nil, err
	}
	if pv.Kind == KindWebhook {
		return s.callWebhookOp(ctx, pv, of, op, who, remoteID, params)
	}
	c, err := s.client(pv)
	if err != nil {
		return nil, err
	}
	var res *osb.Result
	switch op.Kind {
	case OpProvision:
		res, err = c.Provision(ctx, remoteID, osb.ProvisionRequest{ServiceID: of.RemoteServiceID, PlanID: of.RemotePlanID, Parameters: params,
			Context:          map[string]any{"platform": osb.OriginatingPlatformName, "org_unit": who.OrgUnit, "instance_name": inst.Name},
			OrganizationGUID: inst.OrgUnitID, SpaceGUID: inst.OrgUnitID}, who)
	case OpUpdate:
		prev, err2 := offerFor(ctx, s.db.Read(), pv.ID, inst.PlanID)
		if err2 != nil {
			return nil, err2
		}
		params, err2 := s.itemParameters(ctx, op.ItemID)
		if err2 != nil {
			return nil, err2
		}
		req := osb.UpdateRequest{ServiceID: of.RemoteServiceID, PlanID: of.RemotePlanID, Parameters: params}
		if prev != nil {
			req.PreviousValues = &osb.PreviousValues{ServiceID: prev.RemoteServiceID, PlanID: prev.RemotePlanID}
		}
		res, err = c.Update(ctx, remoteID, req, who)
	case OpDeprovision, OpCleanup:
		res, err = c.Deprovision(ctx, remoteID, of.RemoteServiceID, of.RemotePlanID, who)
	case OpBind:
		res, err = c.Bind(ctx, remoteID, op.BindingID, osb.BindRequest{ServiceID: of.RemoteServiceID, PlanID: of.RemotePlanID,
			Context: map[string]any{"platform": osb.OriginatingPlatformName, "org_unit": who.OrgUnit}}, who)
	case OpUnbind:
		res, err = c.Unbind(ctx, remoteID, op.BindingID, of.RemoteServiceID, of.RemotePlanID, who)
	default:
		return nil, fmt.Errorf("unknown operation kind %q", op.Kind)
	}
	if err != nil {
		return nil, err
	}
	out := &callResult{async: res.Async, operation: res.Operation, retryAfter: res.RetryAfter,
		outcome: outcome{ok: true, dashboardURL: res.DashboardURL, credentials: res.Credentials}}
	if res.Gone {
		out.description = "gone at the provider"
	}
	return out, nil
}

// itemParameters reads an order item's parameters (a change's new ones);
// none when there is no such item. Stored parameters that do not decode
// are an error.
func (s *Service) itemParameters(ctx context.Context, itemID string) (map[string]any, error) {
	var params sqldb.JSON[map[string]any]
	err := s.db.Read().QueryRowContext(ctx, `SELECT parameters FROM order_items WHERE id = $1`, itemID).Scan(&params)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return params.V, sqldb.Err(err, "order item")
}

// identity is the originating identity of calls about an instance: its owner and org unit.
func (s *Service) identity(ctx context.Context, inst *orders.Instance) (*osb.Identity, error) {
	id := &osb.Identity{UserID: inst.OwnerID}
	err := s.db.Read().QueryRowContext(ctx, `SELECT u.email, ou.code FROM users u, org_units ou WHERE u.id = $1 AND ou.id = $2`, inst.OwnerID, inst.OrgUnitID).
		Scan(&id.Email, &id.OrgUnit)
	return id, sqldb.Err(err, "instance owner")
}

// advance records progress and queues the next step.
func (s *Service) advance(ctx context.Context, op *Operation, state OpState, remote, desc string, wait time.Duration) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE operations SET state = $1, remote_operation = $2, description = $3, polls = polls + 1, updated_at = $4
			WHERE id = $5 AND finished_at IS NULL AND polls = $6`, state, remote, desc, sqldb.Time(s.now()), op.ID, op.Polls)
		if err != nil {
			return sqldb.Err(err, "operation")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // another step got here first
		}
		op.Polls++
		return s.schedule(ctx, tx, op, wait)
	})
}

// finish ends an operation and settles what waited on it, in one transaction.
func (s *Service) finish(ctx context.Context, op *Operation, out outcome) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error { return s.finishTx(ctx, tx, op, out) })
}

func (s *Service) finishTx(ctx context.Context, tx *sqldb.Tx, op *Operation, out outcome) error {
	now := sqldb.Time(s.now())
	state := OpSucceeded
	if !out.ok {
		state = OpFailed
	}
	desc := out.description
	if out.orphan {
		desc += "; Steward asked the provider to delete anything it made (orphan mitigation)"
	}
	if desc == "" {
		desc = "done"
	}
	res, err := tx.ExecContext(ctx, `UPDATE operations SET state = $1, description = $2, updated_at = $3, finished_at = $3 WHERE id = $4 AND finished_at IS NULL`,
		state, desc, now, op.ID)
	if err != nil {
		return sqldb.Err(err, "operation")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	if op.ComponentID != "" {
		if err := s.componentFinished(ctx, tx, op, out, desc); err != nil {
			return err
		}
	}
	switch {
	case op.ComponentID != "":
	case op.Kind == OpProvision || op.Kind == OpUpdate || op.Kind == OpDeprovision:
		if op.ItemID != "" {
			if err := s.orders.Settle(ctx, tx, access.System(), op.ItemID, orders.TaskResult{Done: out.ok, Note: desc, DashboardURL: out.dashboardURL}); err != nil {
				return err
			}
		}
	case op.Kind == OpBind:
		bstate, creds := BindingFailed, ""
		if out.ok {
			bstate, creds = BindingReady, s.box.Seal(marshal(out.credentials))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bindings SET state = $1, credentials = $2, updated_at = $3 WHERE id = $4`, bstate, creds, now, op.BindingID); err != nil {
			return sqldb.Err(err, "binding")
		}
		if out.ok {
			if err := s.emitBinding(ctx, tx, op.BindingID, now); err != nil {
				return err
			}
		}
	case op.Kind == OpUnbind:
		q := `UPDATE bindings SET state = 'ready', updated_at = $1 WHERE id = $2 AND state = 'deleting'`
		if out.ok {
			q = `UPDATE bindings SET state = 'deleted', credentials = '', updated_at = $1, deleted_at = $1 WHERE id = $2`
		}
		if _, err := tx.ExecContext(ctx, q, now, op.BindingID); err != nil {
			return sqldb.Err(err, "binding")
		}
	}
	if out.orphan {
		kind := OpCleanup
		cleanup := &Operation{InstanceID: op.InstanceID, ComponentID: op.ComponentID, ProviderID: op.ProviderID, Kind: kind, PlanID: op.PlanID,
			Description: "orphan mitigation after: " + out.description}
		if op.Kind == OpBind {
			cleanup.Kind, cleanup.BindingID = OpUnbind, op.BindingID
		}
		of, err := offerFor(ctx, tx, op.ProviderID, op.PlanID)
		if err != nil {
			return err
		}
		return s.startOp(ctx, tx, cleanup, of)
	}
	return nil
}

// emitBinding tells whoever asked for a binding that its credentials are
// ready (binding.created; never the credentials themselves).
func (s *Service) emitBinding(ctx context.Context, tx *sqldb.Tx, bindingID string, now time.Time) error {
	var instanceID, instanceName, name, by, orgUnit, service string
	if err := tx.QueryRowContext(ctx, `SELECT b.instance_id, i.name, b.name, b.created_by, i.org_unit_id, i.service_id
		FROM bindings b JOIN instances i ON i.id = b.instance_id WHERE b.id = $1`, bindingID).Scan(&instanceID, &instanceName, &name, &by, &orgUnit, &service); err != nil {
		return sqldb.Err(err, "binding")
	}
	return outbox.Emit(ctx, tx, access.System(), now, outbox.Event{Type: "binding.created", Subject: "instances/" + instanceID,
		OrgUnitID: orgUnit, ServiceID: service,
		Data: map[string]any{"binding_id": bindingID, "instance_id": instanceID, "name": name},
		Notice: &outbox.Notice{Title: fmt.Sprintf("Credentials %s for %s are ready", name, instanceName),
			Link: "/my-services/" + instanceID, Users: []string{by}}})
}
