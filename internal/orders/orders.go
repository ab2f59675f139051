package orders

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// The bounds of an order (docs/limits.md lists them).
const (
	// MaxItemsPerOrder is the most items an order holds, counting the
	// items each bundle brings: an order is placed, priced and approved in
	// one piece, so a bigger one would hold the database's write lock for
	// long. Policies' cost estimates (internal/expr) assume it.
	MaxItemsPerOrder = 100
	// MaxQuantity is the largest quantity of one item.
	MaxQuantity = 100000
)

// State is where an order is.
type State string

// The order states.
const (
	StateDraft            State = "draft"
	StateSubmitted        State = "submitted"
	StateAwaitingApproval State = "awaiting_approval"
	StateApproved         State = "approved"
	StateRejected         State = "rejected"
	StateFulfilling       State = "fulfilling"
	StateCompleted        State = "completed"
	StateFailed           State = "failed"
	StateCancelled        State = "cancelled"
)

// States lists every state.
var States = []State{StateDraft, StateSubmitted, StateAwaitingApproval, StateApproved, StateRejected, StateFulfilling, StateCompleted, StateFailed, StateCancelled}

// transitions is the whole state machine.
var transitions = map[State][]State{
	StateDraft:            {StateSubmitted, StateCancelled},
	StateSubmitted:        {StateAwaitingApproval, StateApproved, StateCancelled},
	StateAwaitingApproval: {StateApproved, StateRejected, StateCancelled},
	StateApproved:         {StateFulfilling, StateCancelled},
	StateFulfilling:       {StateCompleted, StateFailed},
}

// CanMove reports whether the state machine allows from → to.
func CanMove(from, to State) bool { return slices.Contains(transitions[from], to) }

// Open reports whether an order in this state still holds its reservations.
func (s State) Open() bool {
	return s == StateSubmitted || s == StateAwaitingApproval || s == StateApproved || s == StateFulfilling
}

// Kind is what an order asks for.
type Kind string

// The order kinds.
const (
	KindProvision   Kind = "provision"
	KindDeprovision Kind = "deprovision"
	// KindChange changes a running instance's plan or parameters (day 2).
	KindChange Kind = "change"
)

// Order is a request for services, charged to org units.
type Order struct {
	ID          string     `json:"id"`
	Number      int64      `json:"number"`
	Kind        Kind       `json:"kind"`
	OrgUnitID   string     `json:"org_unit_id"`
	RequesterID string     `json:"requester_id"`
	State       State      `json:"state"`
	Note        string     `json:"note"`
	Quote       Quote      `json:"quote"`
	Items       []*Item    `json:"items"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`

	orgUnitPath string
}

// Reference is how people name the order: "ORD-000042".
func (o *Order) Reference() string { return fmt.Sprintf("ORD-%06d", o.Number) }

// Resource is the order as a scope: its org unit.
func (o *Order) Resource() access.Resource { return access.InOrgUnit(o.orgUnitPath) }

// Quote is what an order costs: the fees billed per month, per quarter
// and per year (each per its own interval: a yearly fee is in Yearly
// only), and once.
type Quote struct {
	Currency  string `json:"currency"`
	Monthly   string `json:"monthly"`
	Quarterly string `json:"quarterly"`
	Yearly    string `json:"yearly"`
	OneTime   string `json:"one_time"`
	// The same in minor units, for exact arithmetic.
	MonthlyMinor   int64 `json:"monthly_minor"`
	QuarterlyMinor int64 `json:"quarterly_minor"`
	YearlyMinor    int64 `json:"yearly_minor"`
	OneTimeMinor   int64 `json:"one_time_minor"`
}

// fees are amounts in minor units: billed monthly, quarterly, yearly and
// once.
type fees struct{ monthly, quarterly, yearly, oneTime int64 }

func (f fees) plus(g fees) fees {
	return fees{f.monthly + g.monthly, f.quarterly + g.quarterly, f.yearly + g.yearly, f.oneTime + g.oneTime}
}

func (q Quote) fees() fees {
	return fees{q.MonthlyMinor, q.QuarterlyMinor, q.YearlyMinor, q.OneTimeMinor}
}

func quoteOf(currency string, f fees) Quote {
	d := func(minor int64) string { return money.New(minor, currency).Decimal() }
	return Quote{Currency: currency, MonthlyMinor: f.monthly, QuarterlyMinor: f.quarterly, YearlyMinor: f.yearly, OneTimeMinor: f.oneTime,
		Monthly: d(f.monthly), Quarterly: d(f.quarterly), Yearly: d(f.yearly), OneTime: d(f.oneTime)}
}

// MonthlyEquivalentMinor is what the quote's recurring fees come to per
// month, in minor units: the monthly fees, a third of the quarterly and a
// twelfth of the yearly ones, rounded up to the minor unit (so an order
// over a whole threshold is never read as under it). Approval policies
// compare it (docs/catalog.md, "Orders").
func (q Quote) MonthlyEquivalentMinor() int64 {
	n := q.MonthlyMinor*12 + q.QuarterlyMinor*4 + q.YearlyMinor
	if n <= 0 {
		return n / 12
	}
	return (n + 11) / 12
}

// HasQuarterlyOrYearly reports whether the quote has fees billed per quarter or
// year (pages show those columns only then).
func (q Quote) HasQuarterlyOrYearly() bool { return q.QuarterlyMinor != 0 || q.YearlyMinor != 0 }

// ItemState is where one item is.
type ItemState string

// The item states.
const (
	ItemPending   ItemState = "pending"
	ItemFulfilled ItemState = "fulfilled"
	ItemFailed    ItemState = "failed"
	ItemCancelled ItemState = "cancelled"
)

// Item is one line of an order.
type Item struct {
	ID           string         `json:"id"`
	Position     int            `json:"position"`
	OfferingID   string         `json:"offering_id"`
	OfferingName string         `json:"offering_name"`
	PlanID       string         `json:"plan_id"`
	PlanName     string         `json:"plan_name"`
	ServiceID    string         `json:"service_id"`
	Quantity     int            `json:"quantity"`
	Parameters   map[string]any `json:"parameters"`
	Addons       []string       `json:"addons"`
	RequestedFor string         `json:"requested_for"`
	CostCentreID string         `json:"cost_centre_id"`
	Quote        Quote          `json:"quote"`
	// PriceVersionID is the price version the item was quoted at; its
	// instance is billed at it.
	PriceVersionID string    `json:"price_version_id,omitempty"`
	InstanceID     string    `json:"instance_id,omitempty"`
	BundleItemID   string    `json:"bundle_item_id,omitempty"`
	State          ItemState `json:"state"`
	offeringCode   string
	planCode       string
	serviceCode    string
	serviceGroup   string
	serviceName    string
}

// ItemInput adds an item to a draft order.
type ItemInput struct {
	// Offering and Plan are IDs or codes.
	Offering   string         `json:"offering"`
	Plan       string         `json:"plan"`
	Quantity   int            `json:"quantity"`
	Parameters map[string]any `json:"parameters"`
	Addons     []string       `json:"addons"`
	// RequestedFor is the user the item is for (default: the requester).
	RequestedFor string `json:"requested_for"`
	// CostCentreID is the org unit charged (default: the order's org unit).
	CostCentreID string `json:"cost_centre_id"`
}

// MaxNote is the longest note of an order.
const MaxNote = 2000

// OrderInput creates an order, optionally with items.
type OrderInput struct {
	// OrgUnitID is the org unit the order is for and owns what it creates
	// (default: the requester's own).
	OrgUnitID string      `json:"org_unit_id"`
	Note      string      `json:"note"`
	Items     []ItemInput `json:"items"`
}

// Event is one recorded step of an order.
type Event struct {
	From      State     `json:"from"`
	To        State     `json:"to"`
	ActorID   string    `json:"actor_id"`
	ActorName string    `json:"actor_name"`
	Comment   string    `json:"comment"`
	At        time.Time `json:"at"`
}

// Service is the orders domain.
type Service struct {
	db       *sqldb.DB
	now      func() time.Time
	catalog  *catalog.Catalog
	policies *policyCache
	// Provisioner fulfils items whose plans a provider makes; nil: every
	// item becomes a manual task.
	Provisioner Provisioner
	// beforeSlowWork, when set (by tests), is called before each item is
	// priced and each approval policy is evaluated: work that must run
	// outside the write transaction (issue 15, findings 8 and 9).
	beforeSlowWork func(what string)
}

// NewService returns the orders service.
func NewService(db *sqldb.DB, now func() time.Time, cat *catalog.Catalog) *Service {
	return &Service{db: db, now: now, catalog: cat, policies: newPolicyCache()}
}

func (s *Service) audit(ctx context.Context, tx *sqldb.Tx, p *access.Principal, e audit.Entry) error {
	return audit.Write(ctx, tx, p, s.now(), e)
}

const orderColumns = `o.id, o.number, o.kind, o.org_unit_id, o.requester_id, o.state, o.currency, o.monthly_minor, o.one_time_minor, o.note,
	o.created_at, o.updated_at, o.submitted_at, ou.path`

const orderFrom = ` FROM orders o JOIN org_units ou ON ou.id = o.org_unit_id`

func scanOrder(row sqldb.Scanner) (*Order, error) {
	var o Order
	var currency string
	var monthly, oneTime int64
	var submitted sql.NullTime
	if err := row.Scan(&o.ID, &o.Number, &o.Kind, &o.OrgUnitID, &o.RequesterID, &o.State, &currency, &monthly, &oneTime, &o.Note,
		&o.CreatedAt, &o.UpdatedAt, &submitted, &o.orgUnitPath); err != nil {
		return nil, err
	}
	o.Quote = quoteOf(currency, fees{monthly: monthly, oneTime: oneTime})
	o.CreatedAt, o.UpdatedAt, o.SubmittedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC(), sqldb.TimePtr(submitted)
	o.Items = []*Item{}
	return &o, nil
}

func getOrder(ctx context.Context, q sqldb.Querier, id string) (*Order, error) {
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("order %q not found", id)
	}
	o, err := sqldb.QueryOne(ctx, q, fmt.Sprintf("order %q", id), scanOrder, `SELECT `+orderColumns+orderFrom+` WHERE o.id = $1`, id)
	if err != nil {
		return nil, err
	}
	return o, loadItems(ctx, q, []*Order{o})
}

func loadItems(ctx context.Context, q sqldb.Querier, orders []*Order) error {
	if len(orders) == 0 {
		return nil
	}
	byID := map[string]*Order{}
	ids := make([]string, len(orders))
	for i, o := range orders {
		byID[o.ID] = o
		ids[i] = o.ID
	}
	type itemOf struct {
		*Item
		orderID string
	}
	var args sqldb.Args
	items, err := sqldb.QueryAll(ctx, q, "order items", func(row sqldb.Scanner) (itemOf, error) {
		it := itemOf{Item: &Item{}}
		var params sqldb.JSON[map[string]any]
		var addons sqldb.JSON[[]string]
		var currency string
		var monthly, oneTime int64
		if err := row.Scan(&it.ID, &it.orderID, &it.Position, &it.OfferingID, &it.OfferingName, &it.offeringCode, &it.PlanID, &it.PlanName, &it.planCode,
			&it.ServiceID, &it.serviceCode, &it.serviceName, &it.serviceGroup, &it.Quantity, &params, &addons, &it.RequestedFor, &it.CostCentreID,
			&currency, &monthly, &oneTime, &it.InstanceID, &it.BundleItemID, &it.State, &it.PriceVersionID); err != nil {
			return it, err
		}
		it.Parameters, it.Addons = params.V, addons.V
		if it.Addons == nil {
			it.Addons = []string{}
		}
		if it.Parameters == nil {
			it.Parameters = map[string]any{}
		}
		it.Quote = quoteOf(currency, fees{monthly: monthly, oneTime: oneTime})
		return it, nil
	}, `SELECT i.id, i.order_id, i.position, i.offering_id, f.name, f.code, i.plan_id, p.name, p.code, s.id, s.code, s.name,
		COALESCE(s.assignment_group_id, ''), i.quantity, i.parameters, i.addons, i.requested_for, i.cost_centre_id, p.currency, i.monthly_minor, i.one_time_minor,
		COALESCE(i.instance_id, ''), COALESCE(i.bundle_item_id, ''), i.state, COALESCE(i.price_version_id, '')
		FROM order_items i JOIN offerings f ON f.id = i.offering_id JOIN plans p ON p.id = i.plan_id JOIN services s ON s.id = f.service_id
		WHERE `+sqldb.In(&args, "i.order_id", ids)+` ORDER BY i.order_id, i.position`, args...)
	if err != nil {
		return err
	}
	for _, it := range items {
		if o := byID[it.orderID]; o != nil {
			o.Items = append(o.Items, it.Item)
		}
	}
	return intervalFees(ctx, q, orders)
}

// intervalFees fills in the items' and orders' quarterly and yearly fees:
// an item's are its price version's (immutable) × its quantity, as when
// it was priced; a bundled item's fees are the bundle's, and a
// deprovision has none. Monthly and one-time fees are stored as quoted
// (with the add-ons').
func intervalFees(ctx context.Context, q sqldb.Querier, orders []*Order) error {
	var ids []string
	for _, o := range orders {
		for _, it := range o.Items {
			if it.BundleItemID == "" && it.PriceVersionID != "" {
				ids = append(ids, it.PriceVersionID)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	versions, err := rating.GetMany(ctx, q, ids)
	if err != nil {
		return err
	}
	for _, o := range orders {
		var quarterly, yearly int64
		for _, it := range o.Items {
			if v := versions[it.PriceVersionID]; v != nil && it.BundleItemID == "" {
				vq, err := v.QuoteUnits(int64(it.Quantity))
				if err != nil {
					return errs.Internal(err, "a price version could not be rated")
				}
				f := it.Quote.fees()
				f.quarterly, f.yearly = vq.Quarterly.Minor, vq.Yearly.Minor
				it.Quote = quoteOf(it.Quote.Currency, f)
			}
			quarterly, yearly = quarterly+it.Quote.QuarterlyMinor, yearly+it.Quote.YearlyMinor
		}
		f := o.Quote.fees()
		f.quarterly, f.yearly = quarterly, yearly
		o.Quote = quoteOf(o.Quote.Currency, f)
	}
	return nil
}

// Order returns one order with its items. Callers need order.read on its
// org unit, or to be its requester, or to have an approval on it while they
// approve for its org unit or service, or a task on it.
func (s *Service) Order(ctx context.Context, p *access.Principal, id string) (*Order, error) {
	o, err := getOrder(ctx, s.db.Read(), id)
	if err != nil {
		return nil, err
	}
	if !s.canRead(ctx, p, o) {
		if p == nil {
			return nil, errs.Unauthenticated("sign in to see orders")
		}
		return nil, errs.NotFound("order %q not found", id)
	}
	return o, nil
}

func (s *Service) canRead(ctx context.Context, p *access.Principal, o *Order) bool {
	if p == nil {
		return false
	}
	// Ownership counts only through a role that reads orders: a token
	// limited to other roles does not read its owner's orders.
	if p.Owns(o.RequesterID, access.OrderRead) || p.Can(access.OrderRead, o.Resource()) {
		return true
	}
	for _, it := range o.Items {
		if p.Can(access.OrderRead, access.Resource{ServiceID: it.ServiceID}) {
			return true
		}
	}
	// Approvers and sponsors routed to it, while they approve for the order
	// (as deciding it needs); agents with a task on it. Fallback approvers
	// hold roles that read the order's org unit or service already.
	approvals, _ := s.approvals(ctx, s.db.Read(), o.ID)
	for _, a := range approvals {
		if (p.Owns(a.ApproverUserID, access.OrderApprove) || p.Owns(a.DecidedByID, access.OrderApprove)) && approvesFor(p, o, a.ServiceID) {
			return true
		}
		if a.ApproverKind == ApproverRole && s.holdsRole(p, access.Role(a.ApproverRole), o, a.ServiceID) {
			return true
		}
	}
	if !worksTasks(p) {
		return false
	}
	var one int
	return s.db.Read().QueryRowContext(ctx, `SELECT 1 FROM tasks t LEFT JOIN group_members m ON m.group_id = t.group_id AND m.user_id = $2
		WHERE t.order_id = $1 AND (m.user_id IS NOT NULL OR t.assignee_id = $2)`, o.ID, p.UserID).Scan(&one) == nil
}

// OrderFilter narrows Orders and asks for one page of them.
type OrderFilter struct {
	State State
	// Mine limits the list to the caller's own orders.
	Mine bool
	// OrgUnitID (an ID or code) limits the list to the orders of an org
	// unit and of the org units under it.
	OrgUnitID string
	// ServiceID and OfferingID (IDs or codes) limit the list to orders
	// with an item of the service or offering.
	ServiceID  string
	OfferingID string
	// RequesterID limits the list to one person's orders.
	RequesterID string
	// From and To bound when the orders were created: From ≤ created < To.
	From, To *time.Time
	// Sort is newest (the default) or oldest, by when they were made.
	Sort string
	Page sqldb.Page
}

// The orders list's orders: newest first, or oldest first.
var (
	ordersNewest = sqldb.Order{Name: "newest", Columns: []string{"o.created_at", "o.id"}, Desc: true}
	ordersOldest = ordersNewest.Reversed("oldest")
)

// Orders lists one page of orders, newest first: the caller's own, and
// those of the org units where the caller has order.read, narrowed by f.
// The scope is part of the query, so every page is full and a cursor shows
// nothing the caller may not see. Errors: unauthenticated without a
// principal; invalid for a cursor that is not one of this list's or an org
// unit that does not exist.
func (s *Service) Orders(ctx context.Context, p *access.Principal, f OrderFilter) (sqldb.Paged[*Order], error) {
	if p == nil {
		return sqldb.Paged[*Order]{}, errs.Unauthenticated("sign in to see orders")
	}
	orderOrder, err := sqldb.SortBy(f.Sort, ordersNewest, ordersOldest)
	if err != nil {
		return sqldb.Paged[*Order]{}, err
	}
	q := s.db.Read()
	args := sqldb.Args{}
	sides, err := orderScope(ctx, q, &args, p, f.Mine)
	if err != nil {
		return sqldb.Paged[*Order]{}, err
	}
	if len(sides) == 0 {
		return sqldb.Paged[*Order]{Items: []*Order{}}, nil
	}
	var where []string
	if f.State != "" {
		where = append(where, "o.state = "+args.Add(f.State))
	}
	if f.OrgUnitID != "" {
		var path string
		if q.QueryRowContext(ctx, `SELECT path FROM org_units WHERE id = $1 OR code = $1`, f.OrgUnitID).Scan(&path) != nil {
			return sqldb.Paged[*Order]{}, &errs.Error{Code: errs.CodeInvalid, Message: "a query parameter is not valid",
				Fields: []errs.FieldError{{Field: "org_unit", Rule: "exists", Message: "org_unit must be the ID or code of an existing org unit"}}}
		}
		units, err := unitsUnder(ctx, q, &args, []string{path})
		if err != nil {
			return sqldb.Paged[*Order]{}, err
		}
		where = append(where, units)
	}
	if f.RequesterID != "" {
		where = append(where, "o.requester_id = "+args.Add(f.RequesterID))
	}
	if f.ServiceID != "" {
		where = append(where, "EXISTS (SELECT 1 FROM order_items i JOIN offerings f ON f.id = i.offering_id JOIN services s ON s.id = f.service_id"+
			" WHERE i.order_id = o.id AND (s.id = "+args.Add(f.ServiceID)+" OR s.code = "+args.Add(f.ServiceID)+"))")
	}
	if f.OfferingID != "" {
		where = append(where, "EXISTS (SELECT 1 FROM order_items i JOIN offerings f ON f.id = i.offering_id"+
			" WHERE i.order_id = o.id AND (f.id = "+args.Add(f.OfferingID)+" OR f.code = "+args.Add(f.OfferingID)+"))")
	}
	if f.From != nil {
		where = append(where, "o.created_at >= "+args.Add(sqldb.Time(*f.From)))
	}
	if f.To != nil {
		where = append(where, "o.created_at < "+args.Add(sqldb.Time(*f.To)))
	}
	var at time.Time
	var id string
	seek, err := orderOrder.Seek(&args, f.Page, &at, &id)
	if err != nil {
		return sqldb.Paged[*Order]{}, err
	}
	where = append(where, seek)
	filters, limit := strings.Join(where, " AND "), orderOrder.Limit(&args, f.Page)
	query := `SELECT ` + orderColumns + orderFrom + ` WHERE ` + sides[0] + ` AND ` + filters + orderOrder.By() + limit
	if len(sides) > 1 {
		// One branch per side of the scope, each a page of IDs read in
		// order from its own index; the page is the first of their union.
		var branches []string
		for n, side := range sides {
			branches = append(branches, fmt.Sprintf(`SELECT id FROM (SELECT o.id FROM orders o WHERE %s AND %s%s%s) b%d`, side, filters, orderOrder.By(), limit, n))
		}
		query = `SELECT ` + orderColumns + orderFrom + ` WHERE o.id IN (` + strings.Join(branches, " UNION ") + `)` + orderOrder.By() + limit
	}
	rows, err := sqldb.QueryAll(ctx, q, "orders", scanOrder, query, args...)
	if err != nil {
		return sqldb.Paged[*Order]{}, err
	}
	out := sqldb.PageOf(rows, f.Page, orderOrder, func(o *Order) []any { return []any{o.CreatedAt, o.ID} })
	return out, loadItems(ctx, q, out.Items)
}

// orderScope is the sides of the condition of the orders p may list, any
// of which admits an order: p's own (when one of p's roles reads orders at
// all, as access.Principal.Owns has it) and, unless mine, those of the org
// units where p holds order.read. Each side reads its own index of orders
// (by org unit, by requester) in the list's order. None: p lists nothing.
func orderScope(ctx context.Context, q sqldb.Querier, args *sqldb.Args, p *access.Principal, mine bool) ([]string, error) {
	all, paths := p.OrgUnitScope(access.OrderRead)
	if mine {
		all, paths = false, nil
	}
	if all {
		return []string{"1 = 1"}, nil
	}
	var sides []string
	if len(paths) > 0 {
		units, err := unitsUnder(ctx, q, args, paths)
		if err != nil {
			return nil, err
		}
		sides = append(sides, units)
	}
	if p.Owns(p.UserID, access.OrderRead) {
		sides = append(sides, "o.requester_id = "+args.Add(p.UserID))
	}
	return sides, nil
}

// maxNamedUnits is the most org units unitsUnder names one by one.
const maxNamedUnits = 500

// unitsUnder is the condition that an order (o) belongs to one of the org
// units under paths. A few units (a consumer's, a department's) are named
// by ID, so that both planners see how few orders match and read them by
// the org unit index (PostgreSQL, given a subquery, guesses that half the
// orders match and walks them all newest first, filtering); beyond
// maxNamedUnits the scope covers much of the organisation and the
// subquery, read alongside the newest-first index, is the better plan.
func unitsUnder(ctx context.Context, q sqldb.Querier, args *sqldb.Args, paths []string) (string, error) {
	var likes []string
	qa := sqldb.Args{}
	for _, path := range paths {
		likes = append(likes, "path LIKE "+qa.Add(path+"%"))
	}
	cond := strings.Join(likes, " OR ")
	ids, err := sqldb.QueryAll(ctx, q, "org units", func(r sqldb.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT id FROM org_units WHERE `+cond+` LIMIT `+qa.Add(maxNamedUnits+1), qa...)
	if err != nil {
		return "", err
	}
	if len(ids) <= maxNamedUnits {
		return sqldb.In(args, "o.org_unit_id", ids), nil
	}
	likes = likes[:0]
	for _, path := range paths {
		likes = append(likes, "path LIKE "+args.Add(path+"%"))
	}
	return "o.org_unit_id IN (SELECT id FROM org_units WHERE " + strings.Join(likes, " OR ") + ")", nil
}

// Events lists an order's history, oldest first. Callers need to be able to read the order.
func (s *Service) Events(ctx context.Context, p *access.Principal, id string) ([]*Event, error) {
	o, err := s.Order(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return sqldb.QueryAll(ctx, s.db.Read(), "order events", func(r sqldb.Scanner) (*Event, error) {
		var e Event
		err := r.Scan(&e.From, &e.To, &e.ActorID, &e.ActorName, &e.Comment, &e.At)
		e.At = e.At.UTC()
		return &e, err
	}, `SELECT from_state, to_state, actor_id, actor_name, comment, at FROM order_events WHERE order_id = $1 ORDER BY at, id`, o.ID)
}

// orgUnitPath finds an org unit's path, or an invalid error naming the field.
func orgUnitPath(ctx context.Context, q sqldb.Querier, id, field string) (string, error) {
	var path string
	if !sqldb.ValidID(id) || q.QueryRowContext(ctx, `SELECT path FROM org_units WHERE id = $1`, id).Scan(&path) != nil {
		return "", &errs.Error{Code: errs.CodeInvalid, Message: "the order names an org unit that does not exist",
			Fields: []errs.FieldError{{Field: field, Rule: "exists", Message: field + " must be the ID of an existing org unit"}}}
	}
	return path, nil
}

// CreateOrder starts a draft order (a cart), with items if given. Callers
// need order.create on the org unit. Errors: invalid input (including more
// than MaxItemsPerOrder items), not found for offerings the caller may not
// see. The items are checked and priced before the write transaction,
// which only writes them.
func (s *Service) CreateOrder(ctx context.Context, p *access.Principal, in OrderInput) (*Order, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to order")
	}
	if in.OrgUnitID == "" {
		in.OrgUnitID = p.OrgUnitID
	}
	if in.OrgUnitID == "" {
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "say which org unit the order is for",
			Fields: []errs.FieldError{{Field: "org_unit_id", Rule: "required", Message: "you belong to no org unit: set org_unit_id"}}}
	}
	if len(in.Items) > MaxItemsPerOrder {
		return nil, tooManyItems(len(in.Items))
	}
	path, err := orgUnitPath(ctx, s.db.Read(), in.OrgUnitID, "org_unit_id")
	if err != nil {
		return nil, err
	}
	if err := p.Require(access.OrderCreate, access.InOrgUnit(path)); err != nil {
		return nil, err
	}
	items := make([]*prepared, len(in.Items))
	rows := 0
	for i, item := range in.Items {
		if items[i], err = s.prepare(ctx, s.db.Read(), p, item, fmt.Sprintf("items[%d].", i)); err != nil {
			return nil, err
		}
		rows += items[i].rows()
	}
	if rows > MaxItemsPerOrder {
		return nil, tooManyItems(rows)
	}
	var id string
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		o, err := s.createOrder(ctx, tx, p, KindProvision, in.OrgUnitID, in.Note)
		if err != nil {
			return err
		}
		id = o.ID
		for _, n := range items {
			if err := s.writeItem(ctx, tx, p, o, n); err != nil {
				return err
			}
		}
		return s.reprice(ctx, tx, o.ID)
	})
	if err != nil {
		return nil, err
	}
	return getOrder(ctx, s.db.Read(), id)
}

func (s *Service) createOrder(ctx context.Context, tx *sqldb.Tx, p *access.Principal, kind Kind, orgUnitID, note string) (*Order, error) {
	number, err := tx.Next(ctx, "order")
	if err != nil {
		return nil, err
	}
	now := sqldb.Time(s.now())
	o := &Order{ID: sqldb.NewID(), Number: number, Kind: kind, OrgUnitID: orgUnitID, RequesterID: p.UserID, State: StateDraft,
		Note: strings.TrimSpace(note), CreatedAt: now, UpdatedAt: now, Items: []*Item{}}
	if len(o.Note) > MaxNote {
		return nil, errs.Invalid("the note must be at most %d characters", MaxNote)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO orders (id, number, kind, org_unit_id, requester_id, state, currency, monthly_minor, one_time_minor, note, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, '', 0, 0, $7, $8, $8)`, o.ID, o.Number, o.Kind, o.OrgUnitID, o.RequesterID, o.State, o.Note, now)
	if err != nil {
		return nil, sqldb.Err(err, "order")
	}
	if err := s.event(ctx, tx, p, o.ID, "", StateDraft, ""); err != nil {
		return nil, err
	}
	o.orgUnitPath, _ = orgUnitPath(ctx, tx, orgUnitID, "org_unit_id")
	return o, s.audit(ctx, tx, p, audit.Entry{Action: "order.create", ObjectType: "order", ObjectID: o.ID, After: o})
}

func (s *Service) event(ctx context.Context, tx *sqldb.Tx, p *access.Principal, orderID string, from, to State, comment string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO order_events (id, order_id, from_state, to_state, actor_id, actor_name, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		sqldb.NewID(), orderID, from, to, p.UserID, p.Name, comment, sqldb.Time(s.now()))
	return sqldb.Err(err, "order event")
}

// move changes an order's state when the machine allows it, guarded by the
// state it leaves: if someone else moved it first, the caller gets a
// conflict naming the state it is in now.
func (s *Service) move(ctx context.Context, tx *sqldb.Tx, p *access.Principal, o *Order, to State, comment string) error {
	if !CanMove(o.State, to) {
		return errs.Conflict("order %s is %s and cannot become %s", o.Reference(), humanize(o.State), humanize(to))
	}
	now := sqldb.Time(s.now())
	res, err := tx.ExecContext(ctx, `UPDATE orders SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4`, to, now, o.ID, o.State)
	if err != nil {
		return sqldb.Err(err, "order")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.Conflict("order %s changed while you were acting on it; reload it and try again", o.Reference())
	}
	from := o.State
	o.State, o.UpdatedAt = to, now
	if err := s.event(ctx, tx, p, o.ID, from, to, comment); err != nil {
		return err
	}
	if err := s.emitMove(ctx, tx, p, o, comment); err != nil {
		return err
	}
	return s.audit(ctx, tx, p, audit.Entry{Action: "order." + string(to), ObjectType: "order", ObjectID: o.ID,
		Before: map[string]any{"state": from}, After: map[string]any{"state": to, "comment": comment}})
}

// orderTold are the order states the requester is told of, with how.
var orderTold = map[State]string{
	StateApproved:  "is approved",
	StateRejected:  "was rejected",
	StateCompleted: "is complete",
	StateFailed:    "failed",
	StateCancelled: "was cancelled",
}

// emitMove writes the outbox event of an order's move to its state, for
// the states outbox.Types names, telling the requester where one is told.
func (s *Service) emitMove(ctx context.Context, tx *sqldb.Tx, p *access.Principal, o *Order, comment string) error {
	typ := "order." + string(o.State)
	if !outbox.Known(typ) {
		return nil
	}
	e := outbox.Event{Type: typ, Subject: "orders/" + o.Reference(), OrgUnitID: o.OrgUnitID, Data: orderData(o, comment)}
	if how, ok := orderTold[o.State]; ok {
		e.Notice = &outbox.Notice{Title: fmt.Sprintf("Order %s %s", o.Reference(), how), Body: comment,
			Link: "/orders/" + o.ID, Users: []string{o.RequesterID}}
	}
	return outbox.Emit(ctx, tx, p, s.now(), e)
}

func orderData(o *Order, comment string) map[string]any {
	return map[string]any{"order_id": o.ID, "number": o.Reference(), "org_unit_id": o.OrgUnitID,
		"requester_id": o.RequesterID, "state": o.State, "comment": comment}
}

func humanize(s State) string { return strings.ReplaceAll(string(s), "_", " ") }

// lockOrder reads an order for change, first touching its row so that, on
// PostgreSQL, concurrent decisions on the same order queue behind each other
// (SQLite has one writer anyway).
func (s *Service) lockOrder(ctx context.Context, tx *sqldb.Tx, id string) (*Order, error) {
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("order %q not found", id)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET updated_at = updated_at WHERE id = $1`, id); err != nil {
		return nil, sqldb.Err(err, "order")
	}
	return getOrder(ctx, tx, id)
}

// ownScope is the SQL condition of a list of things that belong to org units
// (ou.path) and to people (ownerCol): the caller's own (when one of the
// caller's roles allows the action at all, as access.Principal.Owns has
// it), and, unless mine, those of the org units where the caller holds the
// action.
func ownScope(p *access.Principal, a access.Action, mine bool, ownerCol string) (string, []any) {
	all, paths := p.OrgUnitScope(a)
	if mine {
		all, paths = false, nil
	}
	where, args := sqldb.PathScope(all, paths, "ou.path", nil)
	if !p.Owns(p.UserID, a) {
		return where, args
	}
	args = append(args, p.UserID)
	return "(" + where + " OR " + ownerCol + " = $" + strconv.Itoa(len(args)) + ")", args
}

// worksTasks reports whether p's membership of assignment groups counts:
// always for a person signed in or with a full token, and for a token
// limited to some roles only when one of them works tasks.
func worksTasks(p *access.Principal) bool {
	return p != nil && (!p.Limited() || p.CanAnywhere(access.TaskWork))
}
