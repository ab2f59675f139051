package orders

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/expr"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// ApproverKind says how a policy's approver is found.
type ApproverKind string

// The approver kinds.
const (
	// ApproverRole: anyone holding ApproverRole on a scope covering the order's org unit (or the item's service).
	ApproverRole ApproverKind = "role"
	// ApproverSponsor: the business sponsor of the item's service.
	ApproverSponsor ApproverKind = "sponsor"
	// ApproverOwner: the owner of the item's service.
	ApproverOwner ApproverKind = "service_owner"
)

// Policy routes orders to approvers: when Expression is true for an order
// and one of its items, the approver must decide the order at Step. Each
// approver decides an order once per step, however many of its items
// match.
//
// The expression is CEL over two maps:
//
//	order: kind, org_unit (code), requester (email), currency, items (count),
//	       total_monthly, total_quarterly, total_yearly, total_one_time
//	       (decimal major units, as doubles), total_monthly_minor,
//	       total_quarterly_minor, total_yearly_minor, total_one_time_minor
//	       (exact integers)
//	item:  offering, plan, service (codes), service_kind, criticality, view,
//	       quantity, monthly, quarterly, yearly, one_time (doubles),
//	       monthly_minor, quarterly_minor, yearly_minor, one_time_minor,
//	       addons (list of codes), parameters (map)
//
// for example order.total_monthly > 1000 or item.plan == "gold". Money is
// compared exactly with the _minor integers; the doubles are for reading.
// The monthly figures are monthly equivalents (Quote.MonthlyEquivalentMinor):
// a yearly fee counts a twelfth of itself toward a monthly threshold, a
// quarterly fee a third, rounded up to the minor unit; the quarterly and
// yearly figures are the fees billed per quarter and per year.
type Policy struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Subject is what the policy routes: orders (the default) or
	// requests for change, whose expression reads one map:
	//
	//	change: type (standard, normal, emergency), risk (low, medium,
	//	        high), impact, urgency, priority (integers), service (code),
	//	        service_kind, criticality, org_unit (code), duration_hours
	//	        (double), outside_window (bool: not within one of the
	//	        service's maintenance windows), conflicts (int: freezes and
	//	        overlapping changes to dependent services)
	//
	// for example change.risk == "high" || change.criticality == "mission_critical".
	Subject      Subject      `json:"subject"`
	Description  string       `json:"description"`
	Expression   string       `json:"expression"`
	Step         int          `json:"step"`
	ApproverKind ApproverKind `json:"approver_kind"`
	ApproverRole access.Role  `json:"approver_role,omitempty"`
	// PerItem asks the approver once for each item the policy matches;
	// otherwise one decision per order, step and approver.
	PerItem   bool      `json:"per_item"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Subject is what a policy routes.
type Subject string

// The subjects.
const (
	SubjectOrder  Subject = "order"
	SubjectChange Subject = "change"
)

// PolicyInput creates or replaces a policy.
type PolicyInput struct {
	// Subject is order (the default) or change.
	Subject      Subject      `json:"subject"`
	Name         string       `json:"name"`
	Description  string       `json:"description"`
	Expression   string       `json:"expression"`
	Step         int          `json:"step"`
	ApproverKind ApproverKind `json:"approver_kind"`
	ApproverRole access.Role  `json:"approver_role"`
	PerItem      bool         `json:"per_item"`
	Active       *bool        `json:"active"`
}

var celEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("order", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("item", cel.MapType(cel.StringType, cel.DynType)),
		cel.CrossTypeNumericComparisons(true),
	)
	if err != nil {
		panic(err)
	}
	return env
}()

var changeEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("change", cel.MapType(cel.StringType, cel.DynType)),
		cel.CrossTypeNumericComparisons(true),
	)
	if err != nil {
		panic(err)
	}
	return env
}()

// compile checks a CEL expression within the bounds of internal/expr
// (length, estimated cost) and prepares it to run within them. Errors are
// *expr.Error.
func compile(subject Subject, src string) (*expr.Program, error) {
	env := celEnv
	if subject == SubjectChange {
		env = changeEnv
	}
	prg, err := expr.Compile(env, src)
	if err != nil {
		return nil, err
	}
	if t := prg.AST.OutputType(); t != cel.BoolType && t != cel.DynType {
		return nil, &expr.Error{Rule: "cel", Message: fmt.Sprintf("the expression must be true or false, not %s", t)}
	}
	return prg, nil
}

// Validate checks the input, compiling the expression: it must type-check
// to true or false, be at most expr.MaxSource characters long and cost at
// most expr.MaxCost units by CEL's estimate (rules cel, length, cost on
// the field expression).
func (in *PolicyInput) Validate() error {
	in.Name, in.Expression = strings.TrimSpace(in.Name), strings.TrimSpace(in.Expression)
	var v errs.Validator
	if in.Subject == "" {
		in.Subject = SubjectOrder
	}
	v.Check(in.Subject == SubjectOrder || in.Subject == SubjectChange, "subject", "enum", "subject is order or change")
	example := "order.total_monthly > 1000"
	if in.Subject == SubjectChange {
		example = `change.risk == "high"`
	}
	v.Check(in.Name != "" && len(in.Name) <= 200, "name", "length", "name is required and must be at most 200 characters")
	if v.Check(in.Expression != "", "expression", "required", "write the condition as a CEL expression, such as "+example) {
		if _, err := compile(in.Subject, in.Expression); err != nil {
			var e *expr.Error
			switch {
			case !errors.As(err, &e):
				v.Add("expression", "cel", "the expression does not compile: "+err.Error())
			case e.Rule == "cel":
				v.Add("expression", "cel", "the expression does not compile: "+e.Message)
			default:
				v.Add("expression", e.Rule, e.Message)
			}
		}
	}
	if in.Step == 0 {
		in.Step = 1
	}
	v.Check(in.Step >= 1 && in.Step <= 20, "step", "range", "step is from 1 to 20; lower steps are decided first")
	v.Check(!in.PerItem || in.Subject == SubjectOrder, "per_item", "subject", "per_item is for policies on orders: a change has no items")
	// Sponsors decide what their business orders, not how IT changes its
	// services: a change goes to a role that decides changes, or the
	// service's owner.
	v.Check(in.Subject != SubjectChange || in.ApproverKind != ApproverSponsor, "approver_kind", "subject",
		"changes go to a role that decides changes or to the service's owner, not to its sponsor")
	switch in.ApproverKind {
	case ApproverRole:
		// Only a role that may approve orders can be sent them: a policy
		// naming consumer (or admin) would let its holders decide orders.
		// Changes go to roles that decide them (change.approve).
		v.Check(in.ApproverRole.Valid() && in.ApproverRole.Allows(in.Subject.action()), "approver_role", "enum",
			fmt.Sprintf("name a role that approves %ss: %s", in.Subject, approverRoles(in.Subject.action())))
	case ApproverSponsor, ApproverOwner:
		v.Check(in.ApproverRole == "", "approver_role", "empty", "approver_role is only for approver_kind role")
	default:
		v.Add("approver_kind", "enum", "approver_kind must be role, sponsor or service_owner")
	}
	return v.Err("the approval policy is not valid")
}

// policyCache keeps compiled programs by expression.
type policyCache struct {
	mu    sync.Mutex
	progs map[string]*expr.Program
}

func newPolicyCache() *policyCache { return &policyCache{progs: map[string]*expr.Program{}} }

// action is what the approvers of the subject's policies must be allowed.
func (s Subject) action() access.Action {
	if s == SubjectChange {
		return access.ChangeApprove
	}
	return access.OrderApprove
}

func (c *policyCache) program(subject Subject, src string) (*expr.Program, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := string(subject) + "\x00" + src
	if p, ok := c.progs[key]; ok {
		return p, nil
	}
	p, err := compile(subject, src)
	if err != nil {
		return nil, err
	}
	if len(c.progs) > 1000 {
		clear(c.progs)
	}
	c.progs[key] = p
	return p, nil
}

const policyColumns = `id, name, description, expression, step, approver_kind, approver_role, per_item, active, created_at, updated_at, subject`

func scanPolicy(row sqldb.Scanner) (*Policy, error) {
	var p Policy
	if err := row.Scan(&p.ID, &p.Name, &p.Description, &p.Expression, &p.Step, &p.ApproverKind, &p.ApproverRole, &p.PerItem, &p.Active, &p.CreatedAt, &p.UpdatedAt, &p.Subject); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

// listPolicies lists the policies on subject (all when empty).
func listPolicies(ctx context.Context, q sqldb.Querier, activeOnly bool, subject Subject) ([]*Policy, error) {
	var args sqldb.Args
	where := " WHERE 1 = 1"
	if activeOnly {
		where += " AND active = TRUE"
	}
	if subject != "" {
		where += " AND subject = " + args.Add(string(subject))
	}
	return sqldb.QueryAll(ctx, q, "approval policies", scanPolicy, `SELECT `+policyColumns+` FROM approval_policies`+where+` ORDER BY step, name`, args...)
}

// ChangePolicies lists the active policies that route requests for change.
func ChangePolicies(ctx context.Context, q sqldb.Querier) ([]*Policy, error) {
	return listPolicies(ctx, q, true, SubjectChange)
}

var changePrograms = newPolicyCache()

// EvaluateChange runs a change policy on a change's variables (the map
// Policy.Subject describes) within the bounds of internal/expr.
func EvaluateChange(ctx context.Context, pol *Policy, change map[string]any) (bool, error) {
	return evaluateWith(ctx, changePrograms, pol, map[string]any{"change": change})
}

// policyOrder is the policies in the order they are applied: by step,
// then by name (unique).
var policyOrder = sqldb.Order{Name: "step", Columns: []string{"step", "name"}}

// PolicyPage returns a page of the approval policies, by step and name.
// Callers need catalog.read: people ordering may see why their order goes
// to whom. Returns invalid (field cursor) for a cursor of another list.
func (s *Service) PolicyPage(ctx context.Context, p *access.Principal, page sqldb.Page) (sqldb.Paged[*Policy], error) {
	if err := p.RequireAnywhere(access.CatalogRead); err != nil {
		return sqldb.Paged[*Policy]{}, err
	}
	var args sqldb.Args
	var step int
	var name string
	seek, err := policyOrder.Seek(&args, page, &step, &name)
	if err != nil {
		return sqldb.Paged[*Policy]{}, err
	}
	pols, err := sqldb.QueryAll(ctx, s.db.Read(), "approval policies", scanPolicy, `SELECT `+policyColumns+` FROM approval_policies WHERE `+seek+policyOrder.By()+policyOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[*Policy]{}, err
	}
	return sqldb.PageOf(pols, page, policyOrder, func(p *Policy) []any { return []any{p.Step, p.Name} }), nil
}

// Policies lists all the approval policies, for the portfolio's export and
// import. Callers need catalog.read.
func (s *Service) Policies(ctx context.Context, p *access.Principal) ([]*Policy, error) {
	if err := p.RequireAnywhere(access.CatalogRead); err != nil {
		return nil, err
	}
	return listPolicies(ctx, s.db.Read(), false, "")
}

// SavePolicy creates a policy (id "") or replaces one. Callers need
// approval_policy.manage. Errors: invalid input (an expression that does
// not compile names its error), conflict on a duplicate name.
func (s *Service) SavePolicy(ctx context.Context, p *access.Principal, id string, in PolicyInput) (*Policy, error) {
	if err := p.Require(access.PolicyManage, access.Resource{}); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	active := in.Active == nil || *in.Active
	var out *Policy
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		now := sqldb.Time(s.now())
		var before *Policy
		var err error
		if id == "" {
			id = sqldb.NewID()
			_, err = tx.ExecContext(ctx, `INSERT INTO approval_policies (`+policyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)`,
				id, in.Name, in.Description, in.Expression, in.Step, in.ApproverKind, in.ApproverRole, in.PerItem, active, now, in.Subject)
		} else {
			if !sqldb.ValidID(id) {
				return errs.NotFound("approval policy %q not found", id)
			}
			if before, err = scanPolicy(tx.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM approval_policies WHERE id = $1`, id)); err != nil {
				return sqldb.Err(err, "approval policy")
			}
			_, err = tx.ExecContext(ctx, `UPDATE approval_policies SET name = $1, description = $2, expression = $3, step = $4, approver_kind = $5,
				approver_role = $6, per_item = $7, active = $8, updated_at = $9, subject = $11 WHERE id = $10`, in.Name, in.Description, in.Expression, in.Step, in.ApproverKind, in.ApproverRole,
				in.PerItem, active, now, id, in.Subject)
		}
		if err != nil {
			if errs.Is(sqldb.Err(err, "approval policy"), errs.CodeConflict) {
				return errs.Conflict("an approval policy named %q already exists", in.Name)
			}
			return sqldb.Err(err, "approval policy")
		}
		if out, err = scanPolicy(tx.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM approval_policies WHERE id = $1`, id)); err != nil {
			return sqldb.Err(err, "approval policy")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "approval_policy.save", ObjectType: "approval_policy", ObjectID: id, Before: before, After: out})
	})
	return out, err
}

// DeletePolicy removes a policy; approvals it created stay. Callers need approval_policy.manage.
func (s *Service) DeletePolicy(ctx context.Context, p *access.Principal, id string) error {
	if err := p.Require(access.PolicyManage, access.Resource{}); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM approval_policies WHERE id = $1`, id)
		if err != nil {
			return sqldb.Err(err, "approval policy")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("approval policy %q not found", id)
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "approval_policy.delete", ObjectType: "approval_policy", ObjectID: id})
	})
}

// major turns minor units into a double of major units for reading in expressions.
func major(minor int64, currency string) float64 {
	f, _ := new(big.Rat).SetFrac64(minor, pow10(money.Exponent(currency))).Float64()
	return f
}

func pow10(n int) int64 {
	out := int64(1)
	for range n {
		out *= 10
	}
	return out
}

// activation builds the CEL variables of an order and one of its items.
func activation(o *Order, orgUnitCode, requesterEmail string, it *Item, serviceKind, criticality, view string) map[string]any {
	cur := o.Quote.Currency
	monthly := o.Quote.MonthlyEquivalentMinor()
	order := map[string]any{
		"kind": string(o.Kind), "org_unit": orgUnitCode, "requester": requesterEmail, "currency": cur, "items": int64(len(o.Items)),
		"total_monthly": major(monthly, cur), "total_one_time": major(o.Quote.OneTimeMinor, cur),
		"total_monthly_minor": monthly, "total_one_time_minor": o.Quote.OneTimeMinor,
		"total_quarterly": major(o.Quote.QuarterlyMinor, cur), "total_yearly": major(o.Quote.YearlyMinor, cur),
		"total_quarterly_minor": o.Quote.QuarterlyMinor, "total_yearly_minor": o.Quote.YearlyMinor,
	}
	itemMonthly := it.Quote.MonthlyEquivalentMinor()
	addons := slices.Clone(it.Addons)
	params := map[string]any{}
	for k, v := range it.Parameters {
		params[k] = celValue(v)
	}
	item := map[string]any{
		"offering": it.offeringCode, "plan": it.planCode, "service": it.serviceCode, "service_kind": serviceKind, "criticality": criticality, "view": view,
		"quantity": int64(it.Quantity), "monthly": major(itemMonthly, cur), "one_time": major(it.Quote.OneTimeMinor, cur),
		"monthly_minor": itemMonthly, "one_time_minor": it.Quote.OneTimeMinor, "addons": addons, "parameters": params,
		"quarterly": major(it.Quote.QuarterlyMinor, cur), "yearly": major(it.Quote.YearlyMinor, cur),
		"quarterly_minor": it.Quote.QuarterlyMinor, "yearly_minor": it.Quote.YearlyMinor,
	}
	return map[string]any{"order": order, "item": item}
}

// celValue gives JSON numbers CEL types: integers as int, others as double.
func celValue(v any) any {
	type number interface{ String() string }
	if n, ok := v.(number); ok {
		if r, ok := new(big.Rat).SetString(n.String()); ok {
			if r.IsInt() && r.Num().IsInt64() {
				return r.Num().Int64()
			}
			f, _ := r.Float64()
			return f
		}
	}
	return v
}

// approverRoles lists the roles a role-kind policy may name.
func approverRoles(a access.Action) string {
	var names []string
	for _, r := range access.RolesAllowing(a) {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}
