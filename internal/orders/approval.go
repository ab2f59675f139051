package orders

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// ApprovalState is where one approval is.
type ApprovalState string

// The approval states.
const (
	ApprovalPending   ApprovalState = "pending"
	ApprovalApproved  ApprovalState = "approved"
	ApprovalRejected  ApprovalState = "rejected"
	ApprovalCancelled ApprovalState = "cancelled" // the order was cancelled or rejected at another approval
)

// Approval is one decision an order needs.
type Approval struct {
	ID             string        `json:"id"`
	OrderID        string        `json:"order_id"`
	Step           int           `json:"step"`
	PolicyName     string        `json:"policy_name"`
	ApproverKind   ApproverKind  `json:"approver_kind"`
	ApproverRole   string        `json:"approver_role,omitempty"`
	ApproverUserID string        `json:"approver_user_id,omitempty"`
	ServiceID      string        `json:"service_id,omitempty"`
	State          ApprovalState `json:"state"`
	DecidedByID    string        `json:"decided_by_id,omitempty"`
	DecidedByName  string        `json:"decided_by_name,omitempty"`
	// Comment is why the approval went to a fallback approver, if it did
	// ("policy "X" failed …"), then the decision's comment.
	Comment   string     `json:"comment"`
	CreatedAt time.Time  `json:"created_at"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
}

const approvalColumns = `a.id, a.order_id, a.step, a.policy_name, a.approver_kind, a.approver_role, COALESCE(a.approver_user_id, ''), COALESCE(a.service_id, ''),
	a.state, a.decided_by_id, a.decided_by_name, a.comment, a.created_at, a.decided_at`

func scanApproval(row sqldb.Scanner) (*Approval, error) {
	var a Approval
	var decided sql.NullTime
	if err := row.Scan(&a.ID, &a.OrderID, &a.Step, &a.PolicyName, &a.ApproverKind, &a.ApproverRole, &a.ApproverUserID, &a.ServiceID,
		&a.State, &a.DecidedByID, &a.DecidedByName, &a.Comment, &a.CreatedAt, &decided); err != nil {
		return nil, err
	}
	a.CreatedAt, a.DecidedAt = a.CreatedAt.UTC(), sqldb.TimePtr(decided)
	return &a, nil
}

func (s *Service) approvals(ctx context.Context, q sqldb.Querier, orderID string) ([]*Approval, error) {
	return sqldb.QueryAll(ctx, q, "approvals", scanApproval, `SELECT `+approvalColumns+` FROM approvals a WHERE a.order_id = $1 ORDER BY a.step, a.id`, orderID)
}

// Approvals lists an order's approvals. Callers need to be able to read the order.
func (s *Service) Approvals(ctx context.Context, p *access.Principal, orderID string) ([]*Approval, error) {
	o, err := s.Order(ctx, p, orderID)
	if err != nil {
		return nil, err
	}
	return s.approvals(ctx, s.db.Read(), o.ID)
}

// coversOrder reports whether g's scope covers the order's org unit or the
// item's service: where an approver must hold their role to decide for the
// order. mayApprove applies the same rule, in SQL, to a user's grants.
func coversOrder(g access.Grant, o *Order, serviceID string) bool {
	return g.Covers(o.Resource()) || serviceID != "" && g.Covers(access.Resource{ServiceID: serviceID})
}

// holdsRole reports whether p holds the role on a scope covering the order
// (its org unit) or the item's service.
func (s *Service) holdsRole(p *access.Principal, role access.Role, o *Order, serviceID string) bool {
	for _, g := range p.Grants {
		if g.Role == role && coversOrder(g, o, serviceID) {
			return true
		}
	}
	return false
}

// approvesFor reports whether p holds a role allowing order.approve on a
// scope covering the order or the item's service: the rule routing applies
// to a sponsor or owner (mayApprove), applied to the caller's own grants
// (an API token's only for the roles it is limited to).
func approvesFor(p *access.Principal, o *Order, serviceID string) bool {
	for _, g := range p.Grants {
		if g.Role.Allows(access.OrderApprove) && coversOrder(g, o, serviceID) {
			return true
		}
	}
	return false
}

// decider says who decides a pending approval now: the approver it was
// routed to, unless a sponsor or owner named by it no longer approves for
// the order (a grant revoked, the user disabled since it was routed); then
// the fallback role routing would pick today, with a note saying why. So
// no approval waits for someone who cannot decide it.
func (s *Service) decider(ctx context.Context, q sqldb.Querier, a *Approval, o *Order) (route, error) {
	r := route{step: a.Step, kind: a.ApproverKind, role: a.ApproverRole, user: a.ApproverUserID, service: a.ServiceID, policy: a.PolicyName}
	if a.ApproverKind == ApproverRole || a.State != ApprovalPending {
		return r, nil
	}
	if a.ApproverUserID != "" {
		ok, err := s.mayApprove(ctx, q, o, a.ApproverUserID, access.RolesAllowing(access.OrderApprove), a.ServiceID)
		if err != nil || ok {
			return r, err
		}
	}
	r.note = fmt.Sprintf("the service's %s no longer approves for this org unit, so a fallback approver decides", approverNoun(a.ApproverKind))
	r, _, err := s.fallback(ctx, q, o, r)
	return r, err
}

// askDeciders tells whoever decides each pending approval of the order's
// current step that it waits for them (approval.requested), never the
// requester, who may not decide their own order.
func (s *Service) askDeciders(ctx context.Context, tx *sqldb.Tx, p *access.Principal, o *Order) error {
	all, err := s.approvals(ctx, tx, o.ID)
	if err != nil {
		return err
	}
	step := currentStep(all)
	for _, a := range all {
		if a.State != ApprovalPending || a.Step != step {
			continue
		}
		r, err := s.decider(ctx, tx, a, o)
		if err != nil {
			return err
		}
		who := approverLabel(r.kind, r.role)
		n := &outbox.Notice{Title: fmt.Sprintf("Order %s waits for your approval", o.Reference()),
			Body: fmt.Sprintf("Step %d (%s) waits for %s.", a.Step, a.PolicyName, who),
			Link: "/approvals", Except: []string{o.RequesterID}, Approval: a.ID}
		if r.kind == ApproverRole {
			n.Roles = []access.Role{access.Role(r.role)}
		} else {
			n.Users = []string{r.user}
		}
		data := orderData(o, "")
		data["approval_id"], data["step"], data["approver"] = a.ID, a.Step, who
		if err := outbox.Emit(ctx, tx, p, s.now(), outbox.Event{Type: "approval.requested", Subject: "orders/" + o.Reference(),
			OrgUnitID: o.OrgUnitID, ServiceID: r.service, Data: data, Notice: n}); err != nil {
			return err
		}
	}
	return nil
}

// mayDecide says whether p is the approver r (from decider) waits for: a
// holder of its role on a scope covering the order, or the sponsor or owner
// it names while p approves for the order (access.Principal.Owns alone
// would accept order.approve on any org unit).
func (s *Service) mayDecide(p *access.Principal, r route, o *Order) bool {
	if p == nil || p.IsSystem() {
		return false
	}
	if r.kind == ApproverRole {
		return s.holdsRole(p, access.Role(r.role), o, r.service)
	}
	return p.Owns(r.user, access.OrderApprove) && approvesFor(p, o, r.service)
}

// currentStep is the lowest step with pending approvals, or 0.
func currentStep(as []*Approval) int {
	step := 0
	for _, a := range as {
		if a.State == ApprovalPending && (step == 0 || a.Step < step) {
			step = a.Step
		}
	}
	return step
}

// Submit sends a draft order on: every item is checked and priced again,
// quota is reserved, and the approval policies decide whether it awaits
// approval or goes straight to fulfilment. Callers must be the requester.
// Errors: conflict when the order is not a draft (a double submit), changed
// while it was being submitted, or a quota would be exceeded; invalid when
// an item can no longer be ordered.
//
// The slow part (pricing each item against the catalog, its form and the
// rating engine; evaluating every approval policy for every item) runs on
// a read before the write transaction; the transaction re-checks that the
// draft is still the one priced and only writes.
func (s *Service) Submit(ctx context.Context, p *access.Principal, orderID string) (*Order, error) {
	o, err := getOrder(ctx, s.db.Read(), orderID)
	if err != nil {
		return nil, err
	}
	if err := s.requireDraft(p, o); err != nil {
		return nil, err
	}
	if len(o.Items) == 0 {
		return nil, errs.Invalid("order %s has no items; add something from the catalog first", o.Reference())
	}
	prices, err := s.checkItems(ctx, s.db.Read(), p, o)
	if err != nil {
		return nil, err
	}
	routes, err := s.routes(ctx, s.db.Read(), o)
	if err != nil {
		return nil, err
	}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		now, err := s.lockOrder(ctx, tx, orderID)
		if err != nil {
			return err
		}
		if err := s.requireDraft(p, now); err != nil {
			return err
		}
		if !sameItems(o, now) {
			return errs.Conflict("order %s changed while it was being submitted; look at it again and submit it", o.Reference())
		}
		for _, pr := range prices {
			if _, err := tx.ExecContext(ctx, `UPDATE order_items SET monthly_minor = $1, one_time_minor = $2, parameters = $3, price_version_id = $4 WHERE id = $5`,
				pr.fees.monthly, pr.fees.oneTime, marshal(pr.params), pr.versionID, pr.itemID); err != nil {
				return sqldb.Err(err, "order item")
			}
		}
		if err := s.reprice(ctx, tx, o.ID); err != nil {
			return err
		}
		if now, err = getOrder(ctx, tx, o.ID); err != nil {
			return err
		}
		return s.submit(ctx, tx, p, now, routes)
	})
	if err != nil {
		return nil, err
	}
	return getOrder(ctx, s.db.Read(), orderID)
}

// sameItems reports whether two reads of a draft hold the same items
// (items are added and removed, never edited, so their IDs say it).
func sameItems(a, b *Order) bool {
	if len(a.Items) != len(b.Items) {
		return false
	}
	for i := range a.Items {
		if a.Items[i].ID != b.Items[i].ID {
			return false
		}
	}
	return true
}

// repriced is an item's price as it is now in the catalog, at the price
// version in effect now (the one its instance will be billed at).
type repriced struct {
	itemID, versionID string
	fees              fees
	params            map[string]any
}

// checkItems re-prices each top-level item as it is now in the catalog,
// and sets the order's items and quote (in memory, for the policies) to
// what Submit will write.
func (s *Service) checkItems(ctx context.Context, q sqldb.Querier, p *access.Principal, o *Order) ([]repriced, error) {
	var out []repriced
	var total fees
	for _, it := range o.Items {
		if it.BundleItemID == "" {
			if s.beforeSlowWork != nil {
				s.beforeSlowWork("price")
			}
			in := ItemInput{Offering: it.OfferingID, Plan: it.PlanID, Quantity: it.Quantity, Parameters: it.Parameters, Addons: it.Addons}
			pr, err := s.price(ctx, q, p, &in, fmt.Sprintf("items[%d].", it.Position-1))
			if err != nil {
				return nil, err
			}
			out = append(out, repriced{itemID: it.ID, versionID: pr.version.ID, fees: pr.fees, params: pr.params})
			it.Quote, it.Parameters, it.PriceVersionID = quoteOf(it.Quote.Currency, pr.fees), pr.params, pr.version.ID
		}
		total = total.plus(it.Quote.fees())
	}
	o.Quote = quoteOf(o.Quote.Currency, total)
	return out, nil
}

// submit moves a priced draft on, in the caller's transaction: quota,
// then the approvals routes asks for (none: approved and fulfilled).
func (s *Service) submit(ctx context.Context, tx *sqldb.Tx, p *access.Principal, o *Order, routes []route) error {
	if o.Kind == KindProvision {
		for _, it := range o.Items {
			if err := catalog.Reserve(ctx, tx, o.OrgUnitID, it.OfferingID, 1, it.Quantity); err != nil {
				return err
			}
		}
	}
	now := sqldb.Time(s.now())
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET submitted_at = $1 WHERE id = $2`, now, o.ID); err != nil {
		return sqldb.Err(err, "order")
	}
	if err := s.move(ctx, tx, p, o, StateSubmitted, ""); err != nil {
		return err
	}
	var notes []string
	for _, r := range routes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO approvals (id, order_id, step, policy_name, approver_kind, approver_role, approver_user_id, service_id,
			state, decided_by_id, decided_by_name, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', '', '', $9, $10)`,
			sqldb.NewID(), o.ID, r.step, r.policy, r.kind, r.role, nullString(r.user), nullString(r.service), r.note, now); err != nil {
			return sqldb.Err(err, "approval")
		}
		if r.note != "" && !slices.Contains(notes, r.note) {
			notes = append(notes, r.note)
		}
	}
	if len(routes) > 0 {
		comment := fmt.Sprintf("%d approvals needed by policy", len(routes))
		if len(notes) > 0 {
			comment += "; " + strings.Join(notes, "; ")
		}
		if err := s.move(ctx, tx, access.System(), o, StateAwaitingApproval, comment); err != nil {
			return err
		}
		return s.askDeciders(ctx, tx, p, o)
	}
	if err := s.move(ctx, tx, access.System(), o, StateApproved, "no approval policy applies"); err != nil {
		return err
	}
	return s.fulfil(ctx, tx, o)
}

// route is one approval an order needs: found, and its policies
// evaluated, before the write transaction that records it.
type route struct {
	step    int
	kind    ApproverKind
	role    string
	user    string
	service string // the item's service
	policy  string
	// note says why the approval goes where it goes when that is not
	// where the policy says (the policy failed, its approver cannot
	// decide for the order); it starts the approval's comment.
	note string
}

// maxPolicyNames bounds the policy names one approval lists.
const maxPolicyNames = 500

// merge folds another policy's match for the same approver and step into
// r: the approver decides once, seeing every policy that asked and every
// reason it came to them.
func (r route) merge(other route) route {
	names := strings.Split(r.policy, "; ")
	if !slices.Contains(names, other.policy) && len(r.policy)+len(other.policy) < maxPolicyNames {
		r.policy += "; " + other.policy
	}
	if other.note != "" && !strings.Contains(r.note, other.note) && len(r.note)+len(other.note) < maxNote {
		if r.note != "" {
			r.note += "; "
		}
		r.note += other.note
	}
	return r
}

// fallbackRoles are the roles an approval falls back to, tried in order,
// when a policy fails or names an approver who cannot decide for the
// order: the first that someone other than the requester holds on a scope
// covering the order's org unit (or the item's service). When nobody holds
// any, the order is not submitted (nobodyApproves); an approval already
// waiting whose sponsor lost the right waits for the first, which an
// administrator can grant.
var fallbackRoles = []access.Role{access.RoleApprover, access.RoleFinancialManager}

// maxNote bounds the note of a route (a policy's error can be long).
const maxNote = 500

// routes evaluates the active policies against the order and each item and
// says which approvals they ask for. Every policy that matches, and every
// policy that fails (an error, its cost or time limit, a result that is
// not true or false), needs an approval: a failing policy fails closed, to
// a fallback approver, with the reason in the approval's comment. No
// approval is routed to someone who cannot decide it for this order: a
// sponsor or owner needs a role allowing order.approve on a scope covering
// the order's org unit or the item's service, and never is the requester.
func (s *Service) routes(ctx context.Context, q sqldb.Querier, o *Order) ([]route, error) {
	policies, err := listPolicies(ctx, q, true, SubjectOrder)
	if err != nil || len(policies) == 0 {
		return nil, err
	}
	var orgCode, email string
	if err := q.QueryRowContext(ctx, `SELECT code FROM org_units WHERE id = $1`, o.OrgUnitID).Scan(&orgCode); err != nil {
		return nil, sqldb.Err(err, "org unit")
	}
	if err := q.QueryRowContext(ctx, `SELECT email FROM users WHERE id = $1`, o.RequesterID).Scan(&email); err != nil {
		return nil, sqldb.Err(err, "requester")
	}
	// One decision per order, step and approver (issue 17, item 3): a
	// policy on the order's total matches every item, and a sponsor of
	// two services ordered together decides once, not once per item. The
	// approval keeps the service of the first item that asked for it. A
	// policy marked per item asks once for each item it matches.
	type key struct {
		step             int
		kind             ApproverKind
		role, user, item string
	}
	made := map[key]int{} // the index in out of each approver's approval
	var out []route
	for _, it := range o.Items {
		var kind, crit, view, sponsor, owner string
		if err := q.QueryRowContext(ctx, `SELECT s.kind, s.criticality, f.view, COALESCE(s.sponsor_id, ''), COALESCE(s.owner_id, '')
			FROM offerings f JOIN services s ON s.id = f.service_id WHERE f.id = $1`, it.OfferingID).Scan(&kind, &crit, &view, &sponsor, &owner); err != nil {
			return nil, sqldb.Err(err, "offering")
		}
		vars := activation(o, orgCode, email, it, kind, crit, view)
		for _, pol := range policies {
			r := route{step: pol.Step, kind: pol.ApproverKind, service: it.ServiceID, policy: pol.Name}
			match, err := s.evaluate(ctx, pol, vars)
			switch {
			case err != nil:
				r.note = fmt.Sprintf("policy %q failed for %s, so a fallback approver decides: %v", pol.Name, it.OfferingName, err)
			case !match:
				continue
			case pol.ApproverKind == ApproverRole:
				r.role = string(pol.ApproverRole)
				if ok, err := s.mayApprove(ctx, q, o, "", []access.Role{pol.ApproverRole}, it.ServiceID); err != nil {
					return nil, err
				} else if !ok {
					r.note = fmt.Sprintf("nobody but the requester holds the role %s for this order, so a fallback approver decides", pol.ApproverRole)
				}
			default:
				r.user, r.note = sponsor, "the service has no sponsor, so a fallback approver decides"
				if pol.ApproverKind == ApproverOwner {
					r.user, r.note = owner, "the service has no owner, so a fallback approver decides"
				}
				if r.user != "" {
					r.note = ""
					if ok, err := s.mayApprove(ctx, q, o, r.user, access.RolesAllowing(access.OrderApprove), it.ServiceID); err != nil {
						return nil, err
					} else if !ok {
						r.note = fmt.Sprintf("the service's %s is the requester or does not approve for this org unit, so a fallback approver decides", approverNoun(pol.ApproverKind))
					}
				}
			}
			if r.note != "" {
				var found bool
				if r, found, err = s.fallback(ctx, q, o, r); err != nil {
					return nil, err
				} else if !found {
					return nil, nobodyApproves(o, orgCode, r.note)
				}
			}
			k := key{step: r.step, kind: r.kind, role: r.role, user: r.user}
			if pol.PerItem {
				k.item = it.ID
				r.policy = fmt.Sprintf("%s (item %d: %s)", pol.Name, it.Position, it.OfferingName)
			}
			if i, ok := made[k]; ok {
				out[i] = out[i].merge(r)
				continue
			}
			made[k] = len(out)
			out = append(out, r)
		}
	}
	return out, nil
}

// evaluate runs a policy on an item within the bounds of internal/expr.
func (s *Service) evaluate(ctx context.Context, pol *Policy, vars map[string]any) (bool, error) {
	if s.beforeSlowWork != nil {
		s.beforeSlowWork("policy")
	}
	return evaluateWith(ctx, s.policies, pol, vars)
}

func evaluateWith(ctx context.Context, cache *policyCache, pol *Policy, vars map[string]any) (bool, error) {
	prg, err := cache.program(pol.Subject, pol.Expression)
	if err != nil {
		return false, fmt.Errorf("it no longer compiles: %w", err)
	}
	out, err := prg.Eval(ctx, vars)
	if err != nil {
		return false, err
	}
	match, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("it gave %v, not true or false", out.Value())
	}
	return match, nil
}

// nobodyApproves refuses to submit an order that would wait for an
// approval nobody may decide: nobody but the requester holds a fallback
// role for the order (issue 15: never leave an order without an eligible
// approver). The order stays a draft, and the error says who must act.
func nobodyApproves(o *Order, orgCode, why string) error {
	names := make([]string, len(fallbackRoles))
	for i, r := range fallbackRoles {
		names[i] = string(r)
	}
	return errs.Conflict("order %s needs an approval (%s) and nobody but its requester may give it for %s: an administrator must grant %s on %s or above before it can be submitted",
		o.Reference(), why, orgCode, strings.Join(names, " or "), orgCode)
}

// fallback sends r to the first fallback role someone may decide with, and
// says whether anyone may.
func (s *Service) fallback(ctx context.Context, q sqldb.Querier, o *Order, r route) (route, bool, error) {
	r.kind, r.user, r.role = ApproverRole, "", string(fallbackRoles[0])
	found := false
	for _, role := range fallbackRoles {
		ok, err := s.mayApprove(ctx, q, o, "", []access.Role{role}, r.service)
		if err != nil {
			return r, false, err
		}
		if ok {
			r.role, found = string(role), true
			break
		}
	}
	if !found {
		r.note += "; nobody may decide it yet: an administrator must grant the role " + r.role + " for the order's org unit"
	}
	if len(r.note) > maxNote {
		r.note = r.note[:maxNote-3] + "..."
	}
	return r, found, nil
}

// mayApprove reports whether someone other than the order's requester (or
// user, when not empty) holds one of the roles on a scope covering the
// order's org unit or the service, and is not disabled.
func (s *Service) mayApprove(ctx context.Context, q sqldb.Querier, o *Order, user string, roles []access.Role, serviceID string) (bool, error) {
	args := sqldb.Args{o.RequesterID, o.orgUnitPath, serviceID}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	roleIn := sqldb.In(&args, "g.role", names)
	where := ""
	if user != "" {
		where = " AND g.user_id = " + args.Add(user)
	}
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM effective_grants g JOIN users u ON u.id = g.user_id LEFT JOIN org_units gu ON gu.id = g.scope_id
		WHERE g.user_id <> $1 AND u.disabled = FALSE AND `+roleIn+where+`
		AND (g.scope_kind = 'global' OR (g.scope_kind = 'org_unit' AND $2 LIKE gu.path || '%') OR (g.scope_kind = 'service' AND g.scope_id = $3))`, args...).Scan(&n)
	return n > 0, sqldb.Err(err, "grants")
}

func approverNoun(k ApproverKind) string {
	if k == ApproverOwner {
		return "owner"
	}
	return "sponsor"
}

// Decision approves or rejects.
type Decision struct {
	Approve bool   `json:"approve"`
	Comment string `json:"comment"`
}

// Decide records an approver's decision. The last approval of the last
// step approves the order and starts fulfilment; a rejection rejects the
// order and gives its quota back. Callers must be the approver the approval
// waits for, and not the order's requester. Errors: conflict when someone
// decided first, or the step is not yet open; forbidden otherwise.
func (s *Service) Decide(ctx context.Context, p *access.Principal, approvalID string, d Decision) (*Approval, error) {
	d.Comment = strings.TrimSpace(d.Comment)
	if !d.Approve && d.Comment == "" {
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "say why you reject the order",
			Fields: []errs.FieldError{{Field: "comment", Rule: "required", Message: "a rejection needs a comment for the requester"}}}
	}
	if len(d.Comment) > 2000 {
		return nil, errs.Invalid("the comment must be at most 2000 characters")
	}
	if !sqldb.ValidID(approvalID) {
		return nil, errs.NotFound("approval %q not found", approvalID)
	}
	var out *Approval
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		a, err := sqldb.QueryOne(ctx, tx, fmt.Sprintf("approval %q", approvalID), scanApproval, `SELECT `+approvalColumns+` FROM approvals a WHERE a.id = $1`, approvalID)
		if err != nil {
			return err
		}
		o, err := s.lockOrder(ctx, tx, a.OrderID)
		if err != nil {
			return err
		}
		r, err := s.decider(ctx, tx, a, o)
		if err != nil {
			return err
		}
		if !s.mayDecide(p, r, o) {
			if !s.canRead(ctx, p, o) {
				return errs.NotFound("approval %q not found", approvalID)
			}
			return errs.Forbidden("this approval waits for %s; you are not that approver", approverLabel(r.kind, r.role))
		}
		// A refusal, not a right: compared by user ID, whatever the token's
		// roles (access.Principal.Owns would let a token without
		// order.approve past it).
		if o.RequesterID == p.UserID {
			return errs.Forbidden("you requested order %s, so someone else must approve it", o.Reference())
		}
		if a, err = scanApproval(tx.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals a WHERE a.id = $1`, approvalID)); err != nil {
			return sqldb.Err(err, "approval")
		}
		if a.State != ApprovalPending {
			by := ""
			if a.DecidedByName != "" {
				by = " by " + a.DecidedByName
			}
			return errs.Conflict("this approval was already %s%s; nothing to do", a.State, by)
		}
		if o.State != StateAwaitingApproval {
			return errs.Conflict("order %s is %s and no longer awaits approval", o.Reference(), humanize(o.State))
		}
		all, err := s.approvals(ctx, tx, o.ID)
		if err != nil {
			return err
		}
		if step := currentStep(all); a.Step != step {
			return errs.Conflict("this approval is at step %d; step %d must be decided first", a.Step, step)
		}
		state := ApprovalApproved
		if !d.Approve {
			state = ApprovalRejected
		}
		now := sqldb.Time(s.now())
		// Routing notes (why the approval came to this approver, and why
		// it fell to a fallback since) stay before the decision's comment.
		var parts []string
		for _, c := range []string{a.Comment, r.note, d.Comment} {
			if c != "" {
				parts = append(parts, c)
			}
		}
		comment := strings.Join(parts, " | ")
		res, err := tx.ExecContext(ctx, `UPDATE approvals SET state = $1, decided_by_id = $2, decided_by_name = $3, comment = $4, decided_at = $5 WHERE id = $6 AND state = 'pending'`,
			state, p.UserID, p.Name, comment, now, a.ID)
		if err != nil {
			return sqldb.Err(err, "approval")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.Conflict("this approval was decided by someone else a moment ago; reload to see the decision")
		}
		if err := s.audit(ctx, tx, p, audit.Entry{Action: "approval." + string(state), ObjectType: "approval", ObjectID: a.ID,
			After: map[string]any{"order_id": o.ID, "comment": d.Comment}}); err != nil {
			return err
		}
		if !d.Approve {
			if err := s.closeApprovals(ctx, tx, o.ID); err != nil {
				return err
			}
			if err := s.release(ctx, tx, o); err != nil {
				return err
			}
			if err := s.move(ctx, tx, p, o, StateRejected, d.Comment); err != nil {
				return err
			}
		} else if currentStep(mark(all, a.ID, state)) == 0 {
			if err := s.move(ctx, tx, p, o, StateApproved, d.Comment); err != nil {
				return err
			}
			if err := s.fulfil(ctx, tx, o); err != nil {
				return err
			}
		} else if currentStep(mark(all, a.ID, state)) != a.Step {
			if err := s.askDeciders(ctx, tx, p, o); err != nil {
				return err
			}
		}
		out, err = scanApproval(tx.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals a WHERE a.id = $1`, approvalID))
		return sqldb.Err(err, "approval")
	})
	return out, err
}

func mark(as []*Approval, id string, state ApprovalState) []*Approval {
	for _, a := range as {
		if a.ID == id {
			a.State = state
		}
	}
	return as
}

func approverLabel(kind ApproverKind, role string) string {
	switch kind {
	case ApproverSponsor:
		return "the service's sponsor"
	case ApproverOwner:
		return "the service's owner"
	}
	return "someone with the role " + strings.ReplaceAll(role, "_", " ") + " for the ordering org unit"
}

// closeApprovals cancels an order's pending approvals.
func (s *Service) closeApprovals(ctx context.Context, tx *sqldb.Tx, orderID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE approvals SET state = 'cancelled', decided_at = $1 WHERE order_id = $2 AND state = 'pending'`, sqldb.Time(s.now()), orderID)
	return sqldb.Err(err, "approvals")
}

// release gives back the quota of an order's pending provision items and marks them cancelled.
func (s *Service) release(ctx context.Context, tx *sqldb.Tx, o *Order) error {
	for _, it := range o.Items {
		if it.State != ItemPending {
			continue
		}
		if o.Kind == KindProvision && o.State != StateDraft {
			if err := catalog.Release(ctx, tx, o.OrgUnitID, it.OfferingID, 1, it.Quantity); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE order_items SET state = 'cancelled' WHERE id = $1`, it.ID); err != nil {
			return sqldb.Err(err, "order item")
		}
	}
	return nil
}

// Cancel withdraws an order before fulfilment starts. Callers must be the
// requester, or hold order.create on the order's org unit. Errors: conflict
// when the order is already being fulfilled or closed.
func (s *Service) Cancel(ctx context.Context, p *access.Principal, orderID, comment string) (*Order, error) {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		o, err := s.lockOrder(ctx, tx, orderID)
		if err != nil {
			return err
		}
		if p == nil || (!p.Owns(o.RequesterID, access.OrderCreate) && !p.Can(access.OrderCreate, o.Resource())) {
			if s.canRead(ctx, p, o) {
				return errs.Forbidden("only the requester or someone who orders for %s may cancel order %s", "its org unit", o.Reference())
			}
			return errs.NotFound("order %q not found", orderID)
		}
		if !CanMove(o.State, StateCancelled) {
			return errs.Conflict("order %s is %s and can no longer be cancelled", o.Reference(), humanize(o.State))
		}
		if err := s.closeApprovals(ctx, tx, o.ID); err != nil {
			return err
		}
		if err := s.release(ctx, tx, o); err != nil {
			return err
		}
		return s.move(ctx, tx, p, o, StateCancelled, strings.TrimSpace(comment))
	})
	if err != nil {
		return nil, err
	}
	return getOrder(ctx, s.db.Read(), orderID)
}

// InboxItem is an approval waiting for the caller, with its order.
type InboxItem struct {
	Approval *Approval `json:"approval"`
	Order    *Order    `json:"order"`
}

// inboxOrder is the inbox's order: oldest approval first.
var inboxOrder = sqldb.Order{Name: "created", Columns: []string{"a.created_at", "a.id"}}

// Inbox lists one page of the approvals waiting for the caller now (the
// current step of orders awaiting approval), oldest first. The query keeps
// only pending approvals at their order's current step, of others' orders,
// routed to the caller or to a role the caller holds (or to a sponsor or
// owner, when the caller holds a fallback role that might decide in their
// stead); who decides each one now (decider, which may route to a
// fallback) is then checked one by one, reading further until the page is
// full, so a page is never short of what the caller may decide. Errors:
// unauthenticated without a principal; invalid for a bad cursor.
func (s *Service) Inbox(ctx context.Context, p *access.Principal, page sqldb.Page) (sqldb.Paged[*InboxItem], error) {
	if p == nil {
		return sqldb.Paged[*InboxItem]{}, errs.Unauthenticated("sign in to see your approvals")
	}
	q := s.db.Read()
	orders := map[string]*Order{}
	var out []*InboxItem
	batch := sqldb.Page{Limit: max(page.Size(), 100), Cursor: page.Cursor}
	for {
		args := sqldb.Args{}
		var at time.Time
		var id string
		seek, err := inboxOrder.Seek(&args, batch, &at, &id)
		if err != nil {
			return sqldb.Paged[*InboxItem]{}, err
		}
		as, err := sqldb.QueryAll(ctx, q, "approvals", scanApproval, `SELECT `+approvalColumns+` FROM approvals a JOIN orders o ON o.id = a.order_id
			WHERE a.state = 'pending' AND o.state = 'awaiting_approval' AND o.requester_id <> `+args.Add(p.UserID)+`
			AND NOT EXISTS (SELECT 1 FROM approvals b WHERE b.order_id = a.order_id AND b.state = 'pending' AND b.step < a.step)
			AND `+inboxScope(&args, p)+` AND `+seek+inboxOrder.By()+inboxOrder.Limit(&args, batch), args...)
		if err != nil {
			return sqldb.Paged[*InboxItem]{}, err
		}
		for _, a := range as[:min(len(as), batch.Size())] {
			o := orders[a.OrderID]
			if o == nil {
				if o, err = getOrder(ctx, q, a.OrderID); err != nil {
					return sqldb.Paged[*InboxItem]{}, err
				}
				orders[a.OrderID] = o
			}
			r, err := s.decider(ctx, q, a, o)
			if err != nil {
				return sqldb.Paged[*InboxItem]{}, err
			}
			if s.mayDecide(p, r, o) {
				out = append(out, &InboxItem{Approval: a, Order: o})
				if len(out) > page.Size() {
					break
				}
			}
		}
		if len(out) > page.Size() || len(as) <= batch.Size() {
			break
		}
		last := as[batch.Size()-1]
		batch.Cursor = inboxOrder.Cursor(last.CreatedAt, last.ID)
	}
	return sqldb.PageOf(out, page, inboxOrder, func(it *InboxItem) []any { return []any{it.Approval.CreatedAt, it.Approval.ID} }), nil
}

// Approval returns one approval with its order, as the inbox shows it, for
// a caller who may read the order; Decidable says whether the caller is
// the one it waits for now (a mail's link opens it before asking to
// confirm).
func (s *Service) Approval(ctx context.Context, p *access.Principal, approvalID string) (*InboxItem, bool, error) {
	if !sqldb.ValidID(approvalID) {
		return nil, false, errs.NotFound("approval %q not found", approvalID)
	}
	q := s.db.Read()
	a, err := sqldb.QueryOne(ctx, q, fmt.Sprintf("approval %q", approvalID), scanApproval, `SELECT `+approvalColumns+` FROM approvals a WHERE a.id = $1`, approvalID)
	if err != nil {
		return nil, false, err
	}
	o, err := getOrder(ctx, q, a.OrderID)
	if err != nil {
		return nil, false, err
	}
	r, err := s.decider(ctx, q, a, o)
	if err != nil {
		return nil, false, err
	}
	may := s.mayDecide(p, r, o) && o.RequesterID != p.UserID
	if !may && !s.canRead(ctx, p, o) {
		return nil, false, errs.NotFound("approval %q not found", approvalID)
	}
	all, err := s.approvals(ctx, q, o.ID)
	if err != nil {
		return nil, false, err
	}
	may = may && a.State == ApprovalPending && o.State == StateAwaitingApproval && a.Step == currentStep(all)
	return &InboxItem{Approval: a, Order: o}, may, nil
}

// inboxScope narrows the inbox's candidates to approvals p might decide:
// routed to p, to a role p holds, or to a sponsor or owner when p holds a
// fallback role. mayDecide has the last word.
func inboxScope(args *sqldb.Args, p *access.Principal) string {
	var roles []string
	fallback := false
	for _, g := range p.Grants {
		roles = append(roles, string(g.Role))
		fallback = fallback || slices.Contains(fallbackRoles, g.Role)
	}
	ors := []string{"a.approver_user_id = " + args.Add(p.UserID)}
	if len(roles) > 0 {
		ors = append(ors, "(a.approver_kind = 'role' AND "+sqldb.In(args, "a.approver_role", roles)+")")
	}
	if fallback {
		ors = append(ors, "a.approver_kind <> 'role'")
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}
