package orders

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TaskState is where a fulfilment task is.
type TaskState string

// The task states.
const (
	TaskOpen      TaskState = "open"
	TaskDone      TaskState = "done"
	TaskFailed    TaskState = "failed"
	TaskCancelled TaskState = "cancelled"
)

// Task is manual fulfilment work for one order item, in the queue of the
// service's assignment group.
type Task struct {
	ID           string     `json:"id"`
	OrderID      string     `json:"order_id"`
	OrderNumber  int64      `json:"order_number"`
	ItemID       string     `json:"item_id"`
	ServiceID    string     `json:"service_id"`
	ServiceName  string     `json:"service_name"`
	OfferingName string     `json:"offering_name"`
	PlanName     string     `json:"plan_name"`
	Quantity     int        `json:"quantity"`
	Parameters   any        `json:"parameters"`
	GroupID      string     `json:"group_id,omitempty"`
	Kind         Kind       `json:"kind"`
	State        TaskState  `json:"state"`
	AssigneeID   string     `json:"assignee_id,omitempty"`
	InstanceID   string     `json:"instance_id,omitempty"`
	Note         string     `json:"note"`
	CreatedAt    time.Time  `json:"created_at"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
}

// InstanceState is where a service instance is.
type InstanceState string

// The instance states.
const (
	// InstanceProvisioning: a provider is making it.
	InstanceProvisioning  InstanceState = "provisioning"
	InstanceActive        InstanceState = "active"
	InstanceDeprovisioned InstanceState = "deprovisioned"
	// InstanceFailed: its provider could not make it; nothing is left at the provider.
	InstanceFailed InstanceState = "failed"
)

// Instance is a service made for an org unit: a subscription.
type Instance struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	ServiceID    string         `json:"service_id"`
	ServiceName  string         `json:"service_name"`
	OfferingID   string         `json:"offering_id"`
	OfferingName string         `json:"offering_name"`
	PlanID       string         `json:"plan_id"`
	PlanName     string         `json:"plan_name"`
	PlanRetired  bool           `json:"plan_retired"`
	OrgUnitID    string         `json:"org_unit_id"`
	OwnerID      string         `json:"owner_id"`
	OrderID      string         `json:"order_id"`
	Parameters   map[string]any `json:"parameters"`
	Quantity     int            `json:"quantity"`
	State        InstanceState  `json:"state"`
	// ProviderID is the provider that made it (empty: made by hand).
	ProviderID   string `json:"provider_id,omitempty"`
	ProviderName string `json:"provider_name,omitempty"`
	// Placement is why that provider was chosen.
	Placement    json.RawMessage `json:"placement,omitempty"`
	DashboardURL string          `json:"dashboard_url,omitempty"`
	// PlatformID is the OSB platform that ordered it, if one did.
	PlatformID string `json:"platform_id,omitempty"`
	// BlueprintID and Blueprint (code@version) name the blueprint that made
	// it, in steps; Outputs are what the blueprint reported.
	BlueprintID string         `json:"blueprint_id,omitempty"`
	Blueprint   string         `json:"blueprint,omitempty"`
	Outputs     map[string]any `json:"outputs"`
	CreatedAt   time.Time      `json:"created_at"`
	EndedAt     *time.Time     `json:"ended_at,omitempty"`

	orgUnitPath string
}

// Live reports whether the instance exists at its provider and is billed.
func (i *Instance) Live() bool { return i.State == InstanceActive }

// OrgUnitPath is the materialised path of the org unit that owns it.
func (i *Instance) OrgUnitPath() string { return i.orgUnitPath }

// Provisioner makes what orders ask for when a provider, not a person,
// makes it. Fulfil starts one item inside the order's transaction and
// reports whether it took it; false leaves the item to a manual task. The
// provisioner later reports the outcome with Settle.
type Provisioner interface {
	Fulfil(ctx context.Context, tx *sqldb.Tx, o *Order, it *Item) (bool, error)
}

// Resource is the instance as a scope.
func (i *Instance) Resource() access.Resource {
	return access.Resource{OrgUnitPath: i.orgUnitPath, ServiceID: i.ServiceID}
}

// fulfil moves an approved order to fulfilling and queues a task per item.
func (s *Service) fulfil(ctx context.Context, tx *sqldb.Tx, o *Order) error {
	if err := s.move(ctx, tx, access.System(), o, StateFulfilling, "queued for fulfilment"); err != nil {
		return err
	}
	now := sqldb.Time(s.now())
	for _, it := range o.Items {
		if it.State != ItemPending {
			continue
		}
		if s.Provisioner != nil {
			took, err := s.Provisioner.Fulfil(ctx, tx, o, it)
			if err != nil {
				return err
			}
			if took {
				continue
			}
		}
		taskID := sqldb.NewID()
		_, err := tx.ExecContext(ctx, `INSERT INTO tasks (id, order_id, item_id, service_id, group_id, kind, state, note, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'open', '', $7, $7)`, taskID, o.ID, it.ID, it.ServiceID, nullString(it.serviceGroup), o.Kind, now)
		if err != nil {
			return sqldb.Err(err, "task")
		}
		if err := s.emitTask(ctx, tx, o, it, taskID); err != nil {
			return err
		}
	}
	return nil
}

// emitTask tells the item's assignment group (or, when its service has
// none, the agents of the service) that a fulfilment task waits.
func (s *Service) emitTask(ctx context.Context, tx *sqldb.Tx, o *Order, it *Item, taskID string) error {
	var group string
	if it.serviceGroup != "" {
		if err := tx.QueryRowContext(ctx, `SELECT name FROM assignment_groups WHERE id = $1`, it.serviceGroup).Scan(&group); err != nil {
			return sqldb.Err(err, "assignment group")
		}
	}
	title := fmt.Sprintf("%s %s for order %s", o.Kind, it.OfferingName, o.Reference())
	n := &outbox.Notice{Title: "New task: " + title, Link: "/tasks"}
	if group != "" {
		n.Groups = []string{it.serviceGroup}
		n.Body = "For the group " + group + "."
	} else {
		n.Roles = []access.Role{access.RoleAgent}
	}
	return outbox.Emit(ctx, tx, access.System(), s.now(), outbox.Event{Type: "task.created", Subject: "orders/" + o.Reference(),
		OrgUnitID: o.OrgUnitID, ServiceID: it.ServiceID, Notice: n,
		Data: map[string]any{"task_id": taskID, "order_id": o.ID, "order_number": o.Reference(), "title": title, "group_id": it.serviceGroup, "group": group}})
}

// emitInstance tells whoever the item was requested for, and the
// requester, that their instance is ready (instance.ready) or failed.
func (s *Service) emitInstance(ctx context.Context, tx *sqldb.Tx, p *access.Principal, o *Order, it *Item, id string, state InstanceState, problem string) error {
	var name string
	if err := tx.QueryRowContext(ctx, `SELECT name FROM instances WHERE id = $1`, id).Scan(&name); err != nil {
		return sqldb.Err(err, "instance")
	}
	typ, n := "instance.ready", &outbox.Notice{Title: name + " is ready", Link: "/my-services/" + id, Users: []string{o.RequesterID}}
	if state == InstanceFailed {
		typ, n.Title, n.Body, n.Link = "instance.failed", name+" could not be made", problem, "/orders/"+o.ID
	}
	if it.RequestedFor != "" && it.RequestedFor != o.RequesterID {
		n.Users = append(n.Users, it.RequestedFor)
	}
	return outbox.Emit(ctx, tx, p, s.now(), outbox.Event{Type: typ, Subject: "instances/" + id, OrgUnitID: o.OrgUnitID, ServiceID: it.ServiceID, Notice: n,
		Data: map[string]any{"instance_id": id, "name": name, "org_unit_id": o.OrgUnitID, "offering": it.offeringCode, "plan": it.planCode,
			"state": state, "error": problem}})
}

const taskColumns = `t.id, t.order_id, o.number, t.item_id, t.service_id, s.name, f.name, p.name, i.quantity, i.parameters, COALESCE(t.group_id, ''), t.kind, t.state,
	COALESCE(t.assignee_id, ''), COALESCE(i.instance_id, ''), t.note, t.created_at, t.closed_at`

const taskFrom = ` FROM tasks t JOIN orders o ON o.id = t.order_id JOIN order_items i ON i.id = t.item_id JOIN services s ON s.id = t.service_id
	JOIN offerings f ON f.id = i.offering_id JOIN plans p ON p.id = i.plan_id`

func scanTask(row sqldb.Scanner) (*Task, error) {
	var t Task
	var params sqldb.JSON[map[string]any]
	var closed sql.NullTime
	if err := row.Scan(&t.ID, &t.OrderID, &t.OrderNumber, &t.ItemID, &t.ServiceID, &t.ServiceName, &t.OfferingName, &t.PlanName, &t.Quantity, &params,
		&t.GroupID, &t.Kind, &t.State, &t.AssigneeID, &t.InstanceID, &t.Note, &t.CreatedAt, &closed); err != nil {
		return nil, err
	}
	t.Parameters = params.V
	t.CreatedAt, t.ClosedAt = t.CreatedAt.UTC(), sqldb.TimePtr(closed)
	return &t, nil
}

// mayWork reports whether p may work a task: a member of its group, or
// task.work on its service.
func (s *Service) mayWork(ctx context.Context, q sqldb.Querier, p *access.Principal, t *Task) bool {
	if p == nil {
		return false
	}
	if p.Can(access.TaskWork, access.Resource{ServiceID: t.ServiceID}) {
		return true
	}
	var one int
	return t.GroupID != "" && worksTasks(p) && q.QueryRowContext(ctx, `SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2`, t.GroupID, p.UserID).Scan(&one) == nil
}

// TaskFilter narrows Tasks and asks for one page of them.
type TaskFilter struct {
	State TaskState // default open
	Page  sqldb.Page
}

// taskOrder is the queue's order: oldest first.
var taskOrder = sqldb.Order{Name: "created", Columns: []string{"t.created_at", "t.id"}}

// Tasks is one page of the caller's queue: tasks of the groups the caller
// belongs to and of the services where the caller holds task.work, oldest
// first. Who may work a task (mayWork) is part of the query. Errors:
// unauthenticated without a principal; invalid for a bad cursor.
func (s *Service) Tasks(ctx context.Context, p *access.Principal, f TaskFilter) (sqldb.Paged[*Task], error) {
	if p == nil {
		return sqldb.Paged[*Task]{}, errs.Unauthenticated("sign in to see your queue")
	}
	if f.State == "" {
		f.State = TaskOpen
	}
	args := sqldb.Args{}
	where := []string{"t.state = " + args.Add(f.State), taskScope(&args, p)}
	var at time.Time
	var id string
	seek, err := taskOrder.Seek(&args, f.Page, &at, &id)
	if err != nil {
		return sqldb.Paged[*Task]{}, err
	}
	where = append(where, seek)
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "tasks", scanTask, `SELECT `+taskColumns+taskFrom+` WHERE `+strings.Join(where, " AND ")+
		taskOrder.By()+taskOrder.Limit(&args, f.Page), args...)
	if err != nil {
		return sqldb.Paged[*Task]{}, err
	}
	return sqldb.PageOf(rows, f.Page, taskOrder, func(t *Task) []any { return []any{t.CreatedAt, t.ID} }), nil
}

// taskScope is mayWork as a condition: task.work on the task's service (a
// global grant covers every service, an org-unit grant none), or
// membership of its group when that counts (worksTasks).
func taskScope(args *sqldb.Args, p *access.Principal) string {
	all, services := p.ServiceScope(access.TaskWork)
	if all {
		return "1 = 1"
	}
	var ors []string
	if len(services) > 0 {
		ors = append(ors, sqldb.In(args, "t.service_id", services))
	}
	if worksTasks(p) {
		ors = append(ors, "t.group_id IN (SELECT group_id FROM group_members WHERE user_id = "+args.Add(p.UserID)+")")
	}
	if len(ors) == 0 {
		return "1 = 0"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// OrderTasks lists the tasks of an order. Callers need to be able to read the order.
func (s *Service) OrderTasks(ctx context.Context, p *access.Principal, orderID string) ([]*Task, error) {
	o, err := s.Order(ctx, p, orderID)
	if err != nil {
		return nil, err
	}
	return sqldb.QueryAll(ctx, s.db.Read(), "tasks", scanTask, `SELECT `+taskColumns+taskFrom+` WHERE t.order_id = $1 ORDER BY i.position`, o.ID)
}

// TaskResult closes a task.
type TaskResult struct {
	// Done reports success; false fails the item.
	Done bool   `json:"done"`
	Note string `json:"note"`
	// InstanceName names the instance a provision task creates (default: offering and order number).
	InstanceName string `json:"instance_name"`
	// DashboardURL is where the owner manages what was made (providers report it).
	DashboardURL string `json:"dashboard_url,omitempty"`
	// Outputs are what a blueprint reports it made (not for manual tasks).
	Outputs map[string]any `json:"-"`
}

// CompleteTask closes a task. Done on a provision task creates the service
// instance, owned by the order's org unit; on a deprovision task it ends the
// instance and gives its quota back. Failing a task fails its item (and
// gives its quota back). When the order's last task closes, the order is
// completed, or failed if any item failed. Callers need to be able to work
// the task. Errors: conflict when the task is already closed.
func (s *Service) CompleteTask(ctx context.Context, p *access.Principal, taskID string, r TaskResult) (*Task, error) {
	r.Note, r.InstanceName = strings.TrimSpace(r.Note), strings.TrimSpace(r.InstanceName)
	if !r.Done && r.Note == "" {
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "say why the task failed",
			Fields: []errs.FieldError{{Field: "note", Rule: "required", Message: "a failed task needs a note for the requester"}}}
	}
	if !sqldb.ValidID(taskID) {
		return nil, errs.NotFound("task %q not found", taskID)
	}
	var out *Task
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		t, err := sqldb.QueryOne(ctx, tx, fmt.Sprintf("task %q", taskID), scanTask, `SELECT `+taskColumns+taskFrom+` WHERE t.id = $1`, taskID)
		if err != nil {
			return err
		}
		if !s.mayWork(ctx, tx, p, t) {
			return errs.Forbidden("this task is in another team's queue; join its assignment group or ask for task.work on the service")
		}
		o, err := s.lockOrder(ctx, tx, t.OrderID)
		if err != nil {
			return err
		}
		now := sqldb.Time(s.now())
		state := TaskDone
		if !r.Done {
			state = TaskFailed
		}
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET state = $1, note = $2, assignee_id = $3, updated_at = $4, closed_at = $4 WHERE id = $5 AND state = 'open'`,
			state, r.Note, p.UserID, now, t.ID)
		if err != nil {
			return sqldb.Err(err, "task")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.Conflict("this task is already closed")
		}
		var item *Item
		for _, it := range o.Items {
			if it.ID == t.ItemID {
				item = it
			}
		}
		if err := s.closeItem(ctx, tx, p, o, item, r, now); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, p, audit.Entry{Action: "task." + string(state), ObjectType: "task", ObjectID: t.ID,
			After: map[string]any{"order_id": o.ID, "note": r.Note}}); err != nil {
			return err
		}
		if err := s.finishOrder(ctx, tx, p, o, r.Note); err != nil {
			return err
		}
		out, err = scanTask(tx.QueryRowContext(ctx, `SELECT `+taskColumns+taskFrom+` WHERE t.id = $1`, taskID))
		return sqldb.Err(err, "task")
	})
	return out, err
}

// finishOrder completes the order when none of its items is pending, or
// fails it when any failed; the note of the item settled last (why it
// failed, or how it was made) ends the event's comment.
func (s *Service) finishOrder(ctx context.Context, tx *sqldb.Tx, p *access.Principal, o *Order, note string) error {
	var pending, failed int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) FROM order_items WHERE order_id = $1`, o.ID).Scan(&pending, &failed); err != nil {
		return sqldb.Err(err, "order items")
	}
	if pending > 0 || o.State != StateFulfilling {
		return nil
	}
	to, comment := StateCompleted, "every item fulfilled"
	if failed > 0 {
		to, comment = StateFailed, fmt.Sprintf("%d of %d items failed", failed, len(o.Items))
	}
	if note = strings.TrimSpace(note); note != "" {
		comment += ": " + note
	}
	return s.move(ctx, tx, p, o, to, comment)
}

// Settle records how a provider's fulfilment of an order item ended, in
// the provisioner's transaction: as CompleteTask does for a manual task.
// Settling an item that is no longer pending does nothing.
func (s *Service) Settle(ctx context.Context, tx *sqldb.Tx, p *access.Principal, itemID string, r TaskResult) error {
	var orderID string
	if err := tx.QueryRowContext(ctx, `SELECT order_id FROM order_items WHERE id = $1`, itemID).Scan(&orderID); err != nil {
		return sqldb.Err(err, "order item")
	}
	o, err := s.lockOrder(ctx, tx, orderID)
	if err != nil {
		return err
	}
	var item *Item
	for _, it := range o.Items {
		if it.ID == itemID {
			item = it
		}
	}
	if item == nil || item.State != ItemPending {
		return nil
	}
	if err := s.closeItem(ctx, tx, p, o, item, r, sqldb.Time(s.now())); err != nil {
		return err
	}
	return s.finishOrder(ctx, tx, p, o, r.Note)
}

// OpenInstance records the instance a provider is about to make for a
// provision item, in state provisioning, with the provider chosen and why.
// It is billed from when Settle makes it active.
func (s *Service) OpenInstance(ctx context.Context, tx *sqldb.Tx, o *Order, it *Item, providerID string, placement any) (string, error) {
	id, err := insertInstance(ctx, tx, o, it, defaultName(it, o), InstanceProvisioning, providerID, placement, sqldb.Time(s.now()))
	if err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE order_items SET instance_id = $1 WHERE id = $2`, id, it.ID); err != nil {
		return "", sqldb.Err(err, "order item")
	}
	it.InstanceID = id
	return id, s.audit(ctx, tx, access.System(), audit.Entry{Action: "instance.create", ObjectType: "instance", ObjectID: id,
		After: map[string]any{"order_id": o.ID, "plan_id": it.PlanID, "org_unit_id": o.OrgUnitID, "provider_id": providerID, "state": InstanceProvisioning}})
}

// insertInstance records the instance an order item makes, with the
// provider and placement when a provider makes it, and the OSB platform
// that ordered it, if one did.
func insertInstance(ctx context.Context, tx *sqldb.Tx, o *Order, it *Item, name string, state InstanceState, providerID string, placement any, now time.Time) (string, error) {
	id := sqldb.NewID()
	var platform sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT platform_id FROM broker_instances WHERE order_id = $1`, o.ID).Scan(&platform); err != nil && err != sql.ErrNoRows {
		return "", sqldb.Err(err, "broker instance")
	}
	if placement == nil {
		placement = map[string]any{}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO instances (id, name, service_id, offering_id, plan_id, org_unit_id, owner_id, order_id, parameters, quantity, state,
		provider_id, placement, platform_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)`, id, name, it.ServiceID, it.OfferingID, it.PlanID,
		o.OrgUnitID, it.RequestedFor, o.ID, marshal(it.Parameters), it.Quantity, state, nullString(providerID), marshal(placement), platform, now)
	return id, sqldb.Err(err, "instance")
}

func (s *Service) closeItem(ctx context.Context, tx *sqldb.Tx, p *access.Principal, o *Order, it *Item, r TaskResult, now time.Time) error {
	if !r.Done {
		if o.Kind == KindProvision {
			if err := catalog.Release(ctx, tx, o.OrgUnitID, it.OfferingID, 1, it.Quantity); err != nil {
				return err
			}
			if it.InstanceID != "" {
				res, err := tx.ExecContext(ctx, `UPDATE instances SET state = 'failed', ended_at = $1, updated_at = $1 WHERE id = $2 AND state = 'provisioning'`,
					now, it.InstanceID)
				if err != nil {
					return sqldb.Err(err, "instance")
				}
				if n, _ := res.RowsAffected(); n == 1 {
					if err := s.emitInstance(ctx, tx, p, o, it, it.InstanceID, InstanceFailed, r.Note); err != nil {
						return err
					}
				}
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE order_items SET state = 'failed' WHERE id = $1`, it.ID)
		return sqldb.Err(err, "order item")
	}
	switch o.Kind {
	case KindDeprovision:
		inst, err := getInstance(ctx, tx, it.InstanceID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE instances SET state = 'deprovisioned', ended_at = $1, updated_at = $1 WHERE id = $2 AND state = 'active'`, now, inst.ID)
		if err != nil {
			return sqldb.Err(err, "instance")
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if err := catalog.Release(ctx, tx, inst.OrgUnitID, inst.OfferingID, 1, inst.Quantity); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE instance_segments SET ended_at = $1 WHERE instance_id = $2 AND ended_at IS NULL`, now, inst.ID); err != nil {
				return sqldb.Err(err, "instance segment")
			}
		}
		if _, err = tx.ExecContext(ctx, `UPDATE order_items SET state = 'fulfilled' WHERE id = $1`, it.ID); err != nil {
			return sqldb.Err(err, "order item")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "instance.deprovision", ObjectType: "instance", ObjectID: inst.ID, Before: inst})
	case KindChange:
		inst, err := getInstance(ctx, tx, it.InstanceID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET plan_id = $1, parameters = $2, updated_at = $3 WHERE id = $4`,
			it.PlanID, marshal(it.Parameters), now, inst.ID); err != nil {
			return sqldb.Err(err, "instance")
		}
		var seq int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM instance_segments WHERE instance_id = $1`, inst.ID).Scan(&seq); err != nil {
			return sqldb.Err(err, "instance segment")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE instance_segments SET ended_at = $1 WHERE instance_id = $2 AND ended_at IS NULL`, now, inst.ID); err != nil {
			return sqldb.Err(err, "instance segment")
		}
		if err := s.startSegment(ctx, tx, inst.ID, seq+1, it, now); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `UPDATE order_items SET state = 'fulfilled' WHERE id = $1`, it.ID); err != nil {
			return sqldb.Err(err, "order item")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "instance.change_plan", ObjectType: "instance", ObjectID: inst.ID,
			Before: map[string]any{"plan_id": inst.PlanID}, After: map[string]any{"plan_id": it.PlanID, "order_id": o.ID}})
	}
	id := it.InstanceID
	if id != "" { // opened by a provisioner: it is now made
		var was InstanceState
		if err := tx.QueryRowContext(ctx, `SELECT state FROM instances WHERE id = $1`, id).Scan(&was); err != nil {
			return sqldb.Err(err, "instance")
		}
		set, args := `state = 'active', updated_at = $1`, sqldb.Args{now, id}
		if r.InstanceName != "" {
			set += `, name = ` + args.Add(r.InstanceName)
		}
		if r.DashboardURL != "" {
			set += `, dashboard_url = ` + args.Add(r.DashboardURL)
		}
		if r.Outputs != nil {
			set += `, outputs = ` + args.Add(marshal(r.Outputs))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET `+set+` WHERE id = $2`, args...); err != nil {
			return sqldb.Err(err, "instance")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE order_items SET state = 'fulfilled' WHERE id = $1`, it.ID); err != nil {
			return sqldb.Err(err, "order item")
		}
		if err := s.startSegment(ctx, tx, id, 1, it, now); err != nil {
			return err
		}
		if was == InstanceProvisioning { // told once, however often a provider reports it made
			if err := s.emitInstance(ctx, tx, p, o, it, id, InstanceActive, ""); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "instance.activate", ObjectType: "instance", ObjectID: id, After: map[string]any{"order_id": o.ID}})
	}
	name := r.InstanceName
	if name == "" {
		name = defaultName(it, o)
	}
	id, err := insertInstance(ctx, tx, o, it, name, InstanceActive, "", nil, now)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE order_items SET state = 'fulfilled', instance_id = $1 WHERE id = $2`, id, it.ID); err != nil {
		return sqldb.Err(err, "order item")
	}
	if err := s.startSegment(ctx, tx, id, 1, it, now); err != nil {
		return err
	}
	if err := s.emitInstance(ctx, tx, p, o, it, id, InstanceActive, ""); err != nil {
		return err
	}
	return s.audit(ctx, tx, p, audit.Entry{Action: "instance.create", ObjectType: "instance", ObjectID: id,
		After: map[string]any{"name": name, "order_id": o.ID, "plan_id": it.PlanID, "org_unit_id": o.OrgUnitID}})
}

// SegmentAddon is an add-on as an instance segment bills it: its prices
// when the instance started.
type SegmentAddon struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	Recurring string `json:"recurring"`
	OneTime   string `json:"one_time"`
}

// startSegment opens the instance's billable life: its plan, the price
// version it was quoted at, its quantity, the cost centre charged and its
// add-ons' prices, from now.
func (s *Service) startSegment(ctx context.Context, tx *sqldb.Tx, instanceID string, seq int, it *Item, now time.Time) error {
	versionID := it.PriceVersionID
	if versionID == "" { // items quoted before price versions existed
		v, err := rating.Current(ctx, tx, it.PlanID, now)
		if err != nil {
			return err
		}
		versionID = v.ID
	}
	addons := []SegmentAddon{}
	if len(it.Addons) > 0 {
		var all sqldb.JSON[[]catalog.Addon]
		if err := tx.QueryRowContext(ctx, `SELECT addons FROM offerings WHERE id = $1`, it.OfferingID).Scan(&all); err != nil {
			return sqldb.Err(err, "offering")
		}
		for _, a := range all.V {
			if slices.Contains(it.Addons, a.Code) {
				addons = append(addons, SegmentAddon{Code: a.Code, Name: a.Name, Recurring: a.Recurring, OneTime: a.OneTime})
			}
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO instance_segments (instance_id, seq, plan_id, price_version_id, quantity, cost_centre_id, addons, started_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, instanceID, seq, it.PlanID, versionID, it.Quantity, it.CostCentreID, marshal(addons), now)
	return sqldb.Err(err, "instance segment")
}

const instanceColumns = `n.id, n.name, n.service_id, s.name, n.offering_id, f.name, n.plan_id, p.name, p.retired, n.org_unit_id, n.owner_id, n.order_id,
	n.parameters, n.quantity, n.state, COALESCE(n.provider_id, ''), COALESCE(pv.name, ''), n.placement, n.dashboard_url, COALESCE(n.platform_id, ''),
	COALESCE(n.blueprint_id, ''), COALESCE(b.code, ''), COALESCE(b.version, 0), n.outputs, n.created_at, n.ended_at, ou.path`

const instanceFrom = ` FROM instances n JOIN services s ON s.id = n.service_id JOIN offerings f ON f.id = n.offering_id JOIN plans p ON p.id = n.plan_id
	JOIN org_units ou ON ou.id = n.org_unit_id LEFT JOIN providers pv ON pv.id = n.provider_id LEFT JOIN blueprints b ON b.id = n.blueprint_id`

func scanInstance(row sqldb.Scanner) (*Instance, error) {
	var i Instance
	var placement, bpCode string
	var params, outputs sqldb.JSON[map[string]any]
	var bpVersion int
	var ended sql.NullTime
	if err := row.Scan(&i.ID, &i.Name, &i.ServiceID, &i.ServiceName, &i.OfferingID, &i.OfferingName, &i.PlanID, &i.PlanName, &i.PlanRetired,
		&i.OrgUnitID, &i.OwnerID, &i.OrderID, &params, &i.Quantity, &i.State, &i.ProviderID, &i.ProviderName, &placement, &i.DashboardURL, &i.PlatformID,
		&i.BlueprintID, &bpCode, &bpVersion, &outputs, &i.CreatedAt, &ended, &i.orgUnitPath); err != nil {
		return nil, err
	}
	if bpCode != "" {
		i.Blueprint = fmt.Sprintf("%s@%d", bpCode, bpVersion)
	}
	i.Outputs, i.Parameters = outputs.V, params.V
	if i.Outputs == nil {
		i.Outputs = map[string]any{}
	}
	if placement != "{}" && placement != "" && placement != "null" {
		i.Placement = json.RawMessage(placement)
	}
	if i.Parameters == nil {
		i.Parameters = map[string]any{}
	}
	i.CreatedAt, i.EndedAt = i.CreatedAt.UTC(), sqldb.TimePtr(ended)
	return &i, nil
}

// GetInstance reads an instance without checking who asks: for the
// provisioner and the broker, which check for themselves.
func GetInstance(ctx context.Context, q sqldb.Querier, id string) (*Instance, error) {
	return getInstance(ctx, q, id)
}

func getInstance(ctx context.Context, q sqldb.Querier, id string) (*Instance, error) {
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("instance %q not found", id)
	}
	return sqldb.QueryOne(ctx, q, fmt.Sprintf("instance %q", id), scanInstance, `SELECT `+instanceColumns+instanceFrom+` WHERE n.id = $1`, id)
}

// Instance returns one instance. Callers need instance.read on its org unit
// or service, or to own it.
func (s *Service) Instance(ctx context.Context, p *access.Principal, id string) (*Instance, error) {
	i, err := getInstance(ctx, s.db.Read(), id)
	if err != nil {
		return nil, err
	}
	if p == nil || (!p.Owns(i.OwnerID, access.InstanceRead) && !p.Can(access.InstanceRead, i.Resource())) {
		return nil, errs.NotFound("instance %q not found", id)
	}
	return i, nil
}

// InstanceFilter narrows Instances and asks for one page of it.
type InstanceFilter struct {
	// Mine limits the list to instances the caller owns.
	Mine bool
	// All includes deprovisioned instances (State overrides it).
	All bool
	// State keeps the instances in that state.
	State InstanceState
	// OrgUnitID keeps the instances of that org unit (ID or code) and
	// those under it.
	OrgUnitID string
	// ServiceID and OfferingID keep the instances of that service or
	// offering (ID or code).
	ServiceID, OfferingID string
	// OwnerID keeps the instances that user owns (an agent looking at
	// what a ticket's requester holds), within what the caller may read.
	OwnerID string
	// From and To keep the instances created in [From, To).
	From, To time.Time
	// Sort is newest (the default) or oldest, by when they were made.
	Sort string
	sqldb.Page
}

// The orders of Instances: newest first (IDs sort by creation time), or
// oldest first.
var (
	instancesNewest = sqldb.Order{Name: "newest", Columns: []string{"i.id"}, Desc: true}
	instancesOldest = instancesNewest.Reversed("oldest")
)

// Instances lists one page of the instances the caller may read (their
// org units' and their own), newest first. The scope is part of the
// query, in two steps: the page's IDs are the union of the newest of
// each of the caller's org units' instances and of their own (each
// branch walks its index, instances(org_unit_id, id, state) or
// instances(owner_id, id, state), and stops at a page), and only those
// rows are joined for their names. Someone who reads everything walks the
// primary key. Errors:
// unauthenticated without a caller; invalid for an unknown state or a
// cursor not of this list.
func (s *Service) Instances(ctx context.Context, p *access.Principal, f InstanceFilter) (sqldb.Paged[*Instance], error) {
	if p == nil {
		return sqldb.Paged[*Instance]{}, errs.Unauthenticated("sign in to see services")
	}
	instanceOrder, err := sqldb.SortBy(f.Sort, instancesNewest, instancesOldest)
	if err != nil {
		return sqldb.Paged[*Instance]{}, err
	}
	var args sqldb.Args
	filters, err := instanceFilters(&args, f)
	if err != nil {
		return sqldb.Paged[*Instance]{}, err
	}
	all, paths := p.OrgUnitScope(access.InstanceRead)
	if f.Mine {
		all, paths = false, nil
	}
	var scopes []string
	switch {
	case all:
		scopes = append(scopes, "1 = 1")
	case len(paths) > 0:
		units, err := scopeUnits(ctx, s.db.Read(), paths)
		if err != nil {
			return sqldb.Paged[*Instance]{}, err
		}
		if len(units) > maxUnitBranches {
			scopes = append(scopes, sqldb.In(&args, "i.org_unit_id", units))
			break
		}
		for _, u := range units {
			scopes = append(scopes, "i.org_unit_id = "+args.Add(u))
		}
	}
	if p.Owns(p.UserID, access.InstanceRead) && !all {
		scopes = append(scopes, "i.owner_id = "+args.Add(p.UserID))
	}
	if len(scopes) == 0 {
		var after string
		if _, err := instanceOrder.Seek(&sqldb.Args{}, f.Page, &after); err != nil {
			return sqldb.Paged[*Instance]{}, err // a bad cursor is refused whoever asks
		}
		return sqldb.Paged[*Instance]{Items: []*Instance{}}, nil
	}
	// One branch per side of the scope, each a page of IDs in order.
	var branches []string
	for n, scope := range scopes {
		var after string
		seek, err := instanceOrder.Seek(&args, f.Page, &after)
		if err != nil {
			return sqldb.Paged[*Instance]{}, err
		}
		branches = append(branches, fmt.Sprintf(`SELECT id FROM (SELECT i.id FROM instances i WHERE %s AND %s AND %s%s%s) b%d`,
			scope, filters, seek, instanceOrder.By(), instanceOrder.Limit(&args, f.Page), n))
	}
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "instances", scanInstance, `SELECT `+instanceListColumns+instanceListFrom+` WHERE n.id IN (`+
		strings.Join(branches, " UNION ")+`)`+strings.ReplaceAll(instanceOrder.By(), "i.id", "n.id")+instanceOrder.Limit(&args, f.Page), args...)
	if err != nil {
		return sqldb.Paged[*Instance]{}, err
	}
	return sqldb.PageOf(rows, f.Page, instanceOrder, func(i *Instance) []any { return []any{i.ID} }), nil
}

// instanceListColumns and instanceListFrom read what instanceColumns and
// instanceFrom do, the names by subqueries instead of joins: a join of
// seven tables costs PostgreSQL more to plan (10 ms and more) than a page
// costs to read.
var instanceListColumns = strings.NewReplacer(
	"s.name", "(SELECT name FROM services WHERE id = n.service_id)",
	"f.name", "(SELECT name FROM offerings WHERE id = n.offering_id)",
	"pv.name", "(SELECT name FROM providers WHERE id = n.provider_id)",
	"ou.path", "(SELECT path FROM org_units WHERE id = n.org_unit_id)").Replace(instanceColumns)

const instanceListFrom = ` FROM instances n JOIN plans p ON p.id = n.plan_id LEFT JOIN blueprints b ON b.id = n.blueprint_id`

// maxUnitBranches is how many org units of a caller's scope Instances
// walks one by one (each an ordered walk of its index that stops at a
// page); a wider scope is one branch that sorts its IDs.
const maxUnitBranches = 50

// scopeUnits returns the IDs of the org units under paths.
func scopeUnits(ctx context.Context, q sqldb.Querier, paths []string) ([]string, error) {
	var args sqldb.Args
	var likes []string
	for _, path := range paths {
		likes = append(likes, "path LIKE "+args.Add(path+"%"))
	}
	return sqldb.QueryAll(ctx, q, "org units", func(row sqldb.Scanner) (string, error) {
		var id string
		return id, row.Scan(&id)
	}, `SELECT id FROM org_units WHERE `+strings.Join(likes, " OR ")+` ORDER BY id`, args...)
}

// instanceFilters is the condition of f's filters on instances i.
func instanceFilters(args *sqldb.Args, f InstanceFilter) (string, error) {
	where := "1 = 1"
	switch f.State {
	case "":
		if !f.All {
			where = "i.state <> 'deprovisioned'"
		}
	case InstanceProvisioning, InstanceActive, InstanceDeprovisioned, InstanceFailed:
		where = "i.state = " + args.Add(string(f.State))
	default:
		return "", &errs.Error{Code: errs.CodeInvalid, Message: "a query parameter is not valid",
			Fields: []errs.FieldError{{Field: "state", Rule: "enum", Message: "state is one of provisioning, active, deprovisioned, failed"}}}
	}
	if f.OrgUnitID != "" {
		ref := args.Add(f.OrgUnitID)
		where += " AND i.org_unit_id IN (SELECT u.id FROM org_units u JOIN org_units top ON u.path LIKE top.path || '%' WHERE top.id = " + ref + " OR top.code = " + ref + ")"
	}
	if f.ServiceID != "" {
		ref := args.Add(f.ServiceID)
		where += " AND i.service_id = (SELECT id FROM services WHERE id = " + ref + " OR code = " + ref + ")"
	}
	if f.OwnerID != "" {
		where += " AND i.owner_id = " + args.Add(f.OwnerID)
	}
	if f.OfferingID != "" {
		ref := args.Add(f.OfferingID)
		where += " AND i.offering_id = (SELECT id FROM offerings WHERE id = " + ref + " OR code = " + ref + ")"
	}
	if !f.From.IsZero() {
		where += " AND i.created_at >= " + args.Add(sqldb.Time(f.From))
	}
	if !f.To.IsZero() {
		where += " AND i.created_at < " + args.Add(sqldb.Time(f.To))
	}
	return where, nil
}

// RequestDeprovision orders the end of an instance: a deprovision order
// through the same approval policies and fulfilment queue. Callers need
// order.create on the instance's org unit, or to own it. Errors: conflict
// when the instance is already ended or has a deprovision order on the way.
func (s *Service) RequestDeprovision(ctx context.Context, p *access.Principal, instanceID, note string) (*Order, error) {
	inst, err := dayTwo(ctx, s.db.Read(), p, instanceID, "deprovision")
	if err != nil {
		return nil, err
	}
	return s.dayTwoOrder(ctx, p, KindDeprovision, "deprovision", inst, note, dayTwoItem{planID: inst.PlanID, params: inst.Parameters, costCentre: inst.OrgUnitID})
}

// dayTwo reads an instance for a day-2 order (verb: deprovision, change):
// the caller must own it or order for its org unit, it must be active, and
// no other day-2 order may be on its way.
func dayTwo(ctx context.Context, q sqldb.Querier, p *access.Principal, instanceID, verb string) (*Instance, error) {
	inst, err := getInstance(ctx, q, instanceID)
	if err != nil {
		return nil, err
	}
	if p == nil || (!p.Owns(inst.OwnerID, access.OrderCreate) && !p.Can(access.OrderCreate, access.InOrgUnit(inst.orgUnitPath))) {
		if p != nil && p.Can(access.InstanceRead, inst.Resource()) {
			return nil, errs.Forbidden("only the owner or someone who orders for its org unit may %s %s", verb, inst.Name)
		}
		return nil, errs.NotFound("instance %q not found", instanceID)
	}
	if inst.State != InstanceActive {
		return nil, errs.Conflict("%s is %s; only an active instance can be %s", inst.Name, inst.State, map[string]string{"deprovision": "deprovisioned", "change": "changed"}[verb])
	}
	return inst, dayTwoFree(ctx, q, inst)
}

// dayTwoItem is the one item of a day-2 order.
type dayTwoItem struct {
	planID, costCentre, versionID string
	params                        map[string]any
	fees                          fees
}

// dayTwoOrder places a day-2 order for the instance and submits it: the
// same approval policies and fulfilment as any order. The policies are
// evaluated on the order as it will be, before the write transaction,
// which checks the instance again and writes. It returns the order.
func (s *Service) dayTwoOrder(ctx context.Context, p *access.Principal, kind Kind, verb string, inst *Instance, note string, it dayTwoItem) (*Order, error) {
	draft := &Order{Kind: kind, OrgUnitID: inst.OrgUnitID, RequesterID: p.UserID, orgUnitPath: inst.orgUnitPath}
	item := &Item{OfferingID: inst.OfferingID, PlanID: it.planID, ServiceID: inst.ServiceID, Quantity: inst.Quantity, Parameters: it.params,
		Addons: []string{}, Position: 1, State: ItemPending}
	var currency string
	if err := s.db.Read().QueryRowContext(ctx, `SELECT f.code, f.name, p.code, p.name, p.currency, s.code, s.name, COALESCE(s.assignment_group_id, '')
		FROM offerings f JOIN services s ON s.id = f.service_id JOIN plans p ON p.id = $2 WHERE f.id = $1`, inst.OfferingID, it.planID).Scan(
		&item.offeringCode, &item.OfferingName, &item.planCode, &item.PlanName, &currency, &item.serviceCode, &item.serviceName, &item.serviceGroup); err != nil {
		return nil, sqldb.Err(err, "offering")
	}
	item.Quote = quoteOf(currency, fees{monthly: it.fees.monthly, quarterly: it.fees.quarterly, yearly: it.fees.yearly})
	draft.Items, draft.Quote = []*Item{item}, item.Quote
	routes, err := s.routes(ctx, s.db.Read(), draft)
	if err != nil {
		return nil, err
	}
	var id string
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		now, err := dayTwo(ctx, tx, p, inst.ID, verb)
		if err != nil {
			return err
		}
		if now.PlanID != inst.PlanID {
			return errs.Conflict("%s changed plan while the order was being placed; look at it again and order again", inst.Name)
		}
		o, err := s.createOrder(ctx, tx, p, kind, inst.OrgUnitID, note)
		if err != nil {
			return err
		}
		id = o.ID
		_, err = tx.ExecContext(ctx, `INSERT INTO order_items (id, order_id, position, offering_id, plan_id, quantity, parameters, addons, requested_for,
			cost_centre_id, monthly_minor, one_time_minor, instance_id, state, price_version_id) VALUES ($1, $2, 1, $3, $4, $5, $6, '[]', $7, $8, $9, 0, $10, 'pending', $11)`,
			sqldb.NewID(), o.ID, inst.OfferingID, it.planID, inst.Quantity, marshal(it.params), inst.OwnerID, it.costCentre, it.fees.monthly, inst.ID, nullString(it.versionID))
		if err != nil {
			return sqldb.Err(err, "order item")
		}
		if err := s.reprice(ctx, tx, o.ID); err != nil {
			return err
		}
		if o, err = getOrder(ctx, tx, o.ID); err != nil {
			return err
		}
		return s.submit(ctx, tx, p, o, routes)
	})
	if err != nil {
		return nil, err
	}
	return getOrder(ctx, s.db.Read(), id)
}

// dayTwoFree refuses a second day-2 order for an instance while one is on its way.
func dayTwoFree(ctx context.Context, q sqldb.Querier, inst *Instance) error {
	var kind string
	err := q.QueryRowContext(ctx, `SELECT o.kind FROM order_items i JOIN orders o ON o.id = i.order_id
		WHERE i.instance_id = $1 AND o.kind IN ('deprovision', 'change') AND o.state IN ('draft', 'submitted', 'awaiting_approval', 'approved', 'fulfilling')`, inst.ID).Scan(&kind)
	if err == nil {
		return errs.Conflict("%s already has a %s order on its way; wait for it to finish", inst.Name, kind)
	}
	if err != sql.ErrNoRows {
		return sqldb.Err(err, "orders")
	}
	return nil
}

// ChangeInput asks for a running instance's plan or parameters to change.
type ChangeInput struct {
	// Plan is the new plan (ID or code) of the same offering; empty keeps the plan.
	Plan string `json:"plan"`
	// Parameters replace the instance's parameters; nil keeps them.
	Parameters map[string]any `json:"parameters"`
	Note       string         `json:"note"`
}

// RequestChange orders a change of a running instance's plan or
// parameters: a change order through the same approval policies (which
// see order.kind == "change" and the new plan as item.plan) and
// fulfilment (the instance's provider, or a manual task). When it is
// fulfilled the instance's billing moves to the new plan from that moment.
// Callers need order.create on the instance's org unit, or to own it.
func (s *Service) RequestChange(ctx context.Context, p *access.Principal, instanceID string, in ChangeInput) (*Order, error) {
	inst, err := dayTwo(ctx, s.db.Read(), p, instanceID, "change")
	if err != nil {
		return nil, err
	}
	plan := strings.TrimSpace(in.Plan)
	if plan == "" {
		plan = inst.PlanID
	}
	params := in.Parameters
	if params == nil {
		params = inst.Parameters
	}
	item := ItemInput{Offering: inst.OfferingID, Plan: plan, Quantity: inst.Quantity, Parameters: params}
	pr, err := s.price(ctx, s.db.Read(), p, &item, "")
	if err != nil {
		return nil, err
	}
	if pr.plan.ID == inst.PlanID && in.Parameters == nil {
		return nil, errs.Invalid("the change changes nothing: name another plan or give new parameters")
	}
	var costCentre string
	if err := s.db.Read().QueryRowContext(ctx, `SELECT cost_centre_id FROM instance_segments WHERE instance_id = $1 ORDER BY seq DESC LIMIT 1`, inst.ID).Scan(&costCentre); err != nil {
		costCentre = inst.OrgUnitID
	}
	return s.dayTwoOrder(ctx, p, KindChange, "change", inst, in.Note, dayTwoItem{planID: pr.plan.ID, params: pr.params, costCentre: costCentre,
		fees: pr.fees, versionID: pr.version.ID})
}

// defaultName names an instance the agent did not name: after a parameter
// that names it ("name", "hostname", "bucket_name"…), else after the
// offering, the order and the item.
func defaultName(it *Item, o *Order) string {
	var keys []string
	for k := range it.Parameters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v, ok := it.Parameters[k].(string); ok && v != "" && (k == "name" || strings.HasSuffix(k, "name")) {
			return v
		}
	}
	return it.offeringCode + "-" + strconv.FormatInt(o.Number, 10) + "-" + strconv.Itoa(it.Position)
}
