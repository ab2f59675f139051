package orders

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// priced is an item checked against the catalog and priced.
type priced struct {
	offering *catalog.Offering
	plan     *catalog.Plan
	version  *rating.Version
	quote    rating.Quote
	params   map[string]any
	// fees are (plan + add-ons) × quantity: add-ons bill monthly.
	fees fees
}

// price checks an item against the catalog and prices it: (plan + add-ons)
// × quantity, per month, quarter and year, and once. prefix names the item in field errors.
func (s *Service) price(ctx context.Context, tx sqldb.Querier, p *access.Principal, in *ItemInput, prefix string) (*priced, error) {
	var v errs.Validator
	in.Offering, in.Plan = strings.TrimSpace(in.Offering), strings.TrimSpace(in.Plan)
	if in.Quantity == 0 {
		in.Quantity = 1
	}
	v.Check(in.Offering != "", prefix+"offering", "required", "name the offering (its ID or code)")
	v.Check(in.Plan != "", prefix+"plan", "required", "name the plan (its ID or code)")
	v.Check(in.Quantity >= 1 && in.Quantity <= MaxQuantity, prefix+"quantity", "range", fmt.Sprintf("quantity must be from 1 to %d", MaxQuantity))
	if err := v.Err("the order item is not valid"); err != nil {
		return nil, err
	}
	o, err := s.catalog.OfferingForOrder(ctx, tx, p, in.Offering)
	if err != nil {
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the order names an offering you cannot order",
			Fields: []errs.FieldError{{Field: prefix + "offering", Rule: "exists", Message: fmt.Sprintf("there is no offering %q in your catalog", in.Offering)}}}
	}
	if ok, why := o.Orderable(); !ok {
		msg := why
		if o.Service.SuccessorID != "" {
			if succ, err := s.catalog.Service(ctx, access.System(), o.Service.SuccessorID); err == nil {
				msg += "; order from its successor, " + succ.Name + ", instead"
			}
		}
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: o.Name + " takes no new orders",
			Fields: []errs.FieldError{{Field: prefix + "offering", Rule: "orderable", Message: msg}}}
	}
	plan := o.Plan(in.Plan)
	if plan == nil || plan.Retired {
		var active []string
		for _, pl := range o.Plans {
			if !pl.Retired {
				active = append(active, pl.Code)
			}
		}
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the plan cannot be ordered",
			Fields: []errs.FieldError{{Field: prefix + "plan", Rule: "exists", Message: fmt.Sprintf("%s has no orderable plan %q; choose one of %s", o.Name, in.Plan, strings.Join(active, ", "))}}}
	}
	if plan.MaxQuantity > 0 && in.Quantity > plan.MaxQuantity {
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the quantity is too large for the plan",
			Fields: []errs.FieldError{{Field: prefix + "quantity", Rule: "range", Message: fmt.Sprintf("the %s plan allows at most %d per item", plan.Name, plan.MaxQuantity)}}}
	}
	form, err := o.Form()
	if err != nil {
		return nil, errs.Internal(err, "the offering's order form is broken; tell its service owner")
	}
	params, err := form.Validate(in.Parameters)
	if err != nil {
		e := errs.As(err)
		for i := range e.Fields {
			e.Fields[i].Field = prefix + e.Fields[i].Field
		}
		return nil, e
	}
	// The binding quote: the price version in effect now, rated by the
	// engine that will bill the instance at the same version.
	version, err := rating.Current(ctx, tx, plan.ID, s.now())
	if err != nil {
		return nil, err
	}
	q := int64(in.Quantity)
	quote, err := version.QuoteUnits(q)
	if err != nil {
		return nil, err
	}
	var monthly, oneTime int64
	for _, code := range in.Addons {
		a := o.Addon(code)
		if a == nil {
			return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the order names an add-on the offering does not have",
				Fields: []errs.FieldError{{Field: prefix + "addons", Rule: "exists", Message: fmt.Sprintf("%s has no add-on %q", o.Name, code)}}}
		}
		r, t, _ := a.Prices(plan.Currency) // checked when the offering was saved
		monthly, oneTime = monthly+r.Minor, oneTime+t.Minor
	}
	return &priced{offering: o, plan: plan, version: version, quote: quote, params: params,
		fees: fees{monthly: quote.Monthly.Minor + monthly*q, quarterly: quote.Quarterly.Minor, yearly: quote.Yearly.Minor, oneTime: quote.OneTime.Minor + oneTime*q}}, nil
}

// AddItem adds an item to a draft order. Ordering a bundle adds the bundle
// and, under it, each bundled offering's first plan (priced in the bundle).
// Callers need order.create on the order's org unit and to be its
// requester. Errors: invalid for an item that cannot be ordered or an
// order that would hold more than MaxItemsPerOrder items; conflict when
// the order is no longer a draft.
func (s *Service) AddItem(ctx context.Context, p *access.Principal, orderID string, in ItemInput) (*Order, error) {
	o, err := getOrder(ctx, s.db.Read(), orderID)
	if err != nil {
		return nil, err
	}
	if err := s.requireDraft(p, o); err != nil {
		return nil, err
	}
	// Checked and priced before the write transaction, which only writes.
	n, err := s.prepare(ctx, s.db.Read(), p, in, "")
	if err != nil {
		return nil, err
	}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		o, err := s.lockOrder(ctx, tx, orderID)
		if err != nil {
			return err
		}
		if err := s.requireDraft(p, o); err != nil {
			return err
		}
		if rows := len(o.Items) + n.rows(); rows > MaxItemsPerOrder {
			return errs.Invalid("order %s would hold %d items; an order holds at most %d items, counting the items each bundle brings: place another order", o.Reference(), rows, MaxItemsPerOrder)
		}
		if err := s.writeItem(ctx, tx, p, o, n); err != nil {
			return err
		}
		return s.reprice(ctx, tx, o.ID)
	})
	if err != nil {
		return nil, err
	}
	return getOrder(ctx, s.db.Read(), orderID)
}

func (s *Service) requireDraft(p *access.Principal, o *Order) error {
	if err := p.Require(access.OrderCreate, o.Resource()); err != nil {
		return err
	}
	if !p.Owns(o.RequesterID, access.OrderCreate) {
		return errs.Forbidden("only the requester changes a draft order")
	}
	if o.State != StateDraft {
		return errs.Conflict("order %s is %s; only a draft order can be changed", o.Reference(), humanize(o.State))
	}
	return nil
}

// tooManyItems refuses an order of n items, more than MaxItemsPerOrder.
func tooManyItems(n int) error {
	return &errs.Error{Code: errs.CodeInvalid, Message: fmt.Sprintf("an order holds at most %d items", MaxItemsPerOrder),
		Fields: []errs.FieldError{{Field: "items", Rule: "max", Message: fmt.Sprintf(
			"an order holds at most %d items, counting the items each bundle brings; this one would hold %d: place several orders", MaxItemsPerOrder, n)}}}
}

// prepared is an item checked against the catalog and priced, with the
// items its bundle brings, ready to be written.
type prepared struct {
	in     ItemInput
	prefix string
	priced *priced
	bundle []bundled
}

// bundled is an item a bundle brings.
type bundled struct {
	in     ItemInput
	priced *priced
}

// rows is how many order items the item makes.
func (n *prepared) rows() int { return 1 + len(n.bundle) }

// prepare checks and prices an item, and the items of its bundle, on q:
// everything slow about adding an item, done before any write transaction.
func (s *Service) prepare(ctx context.Context, q sqldb.Querier, p *access.Principal, in ItemInput, prefix string) (*prepared, error) {
	pr, err := s.price(ctx, q, p, &in, prefix)
	if err != nil {
		return nil, err
	}
	n := &prepared{in: in, prefix: prefix, priced: pr}
	for _, id := range pr.offering.Bundle {
		child, err := s.catalog.OfferingForOrder(ctx, q, access.System(), id)
		if err != nil {
			return nil, err
		}
		var plan *catalog.Plan
		for _, pl := range child.Plans {
			if !pl.Retired && plan == nil {
				plan = pl
			}
		}
		if plan == nil {
			return nil, errs.Invalid("the bundle %s includes %s, which has no orderable plan", pr.offering.Name, child.Name)
		}
		form, err := child.Form()
		if err != nil {
			return nil, errs.Internal(err, "a bundled offering's form is broken")
		}
		// A bundled offering takes the bundle's parameters that its form knows.
		given := map[string]any{}
		for _, f := range form.Fields {
			if v, ok := pr.params[f.Name]; ok {
				given[f.Name] = v
			}
		}
		params, err := form.Validate(given)
		if err != nil {
			return nil, errs.Invalid("the bundle %s includes %s, whose form needs parameters the bundle's form does not ask for; ask the service owner to add them", pr.offering.Name, child.Name)
		}
		// A bundled item is priced in the bundle: its own version is kept
		// for its usage charges, its fees are the bundle's.
		version, err := rating.Current(ctx, q, plan.ID, s.now())
		if err != nil {
			return nil, err
		}
		n.bundle = append(n.bundle, bundled{in: ItemInput{Offering: child.ID, Plan: plan.ID, Quantity: in.Quantity},
			priced: &priced{offering: child, plan: plan, version: version, params: params}})
	}
	return n, nil
}

// writeItem writes a prepared item (and its bundle's items) into a draft
// order, in the caller's transaction; the caller reprices the order.
func (s *Service) writeItem(ctx context.Context, tx *sqldb.Tx, p *access.Principal, o *Order, n *prepared) error {
	if err := s.checkParties(ctx, tx, p, o, &n.in, n.prefix); err != nil {
		return err
	}
	it, err := s.insertItem(ctx, tx, o, n.in, n.priced, "")
	if err != nil {
		return err
	}
	for _, b := range n.bundle {
		b.in.RequestedFor, b.in.CostCentreID = n.in.RequestedFor, n.in.CostCentreID
		if _, err := s.insertItem(ctx, tx, o, b.in, b.priced, it.ID); err != nil {
			return err
		}
	}
	return nil
}

// checkParties defaults and checks whom the item is for and who pays.
func (s *Service) checkParties(ctx context.Context, tx *sqldb.Tx, p *access.Principal, o *Order, in *ItemInput, prefix string) error {
	if in.RequestedFor == "" {
		in.RequestedFor = p.UserID
	}
	if in.CostCentreID == "" {
		in.CostCentreID = o.OrgUnitID
	}
	var one int
	if !sqldb.ValidID(in.RequestedFor) || tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1`, in.RequestedFor).Scan(&one) != nil {
		return &errs.Error{Code: errs.CodeInvalid, Message: "the item is for someone who does not exist",
			Fields: []errs.FieldError{{Field: prefix + "requested_for", Rule: "exists", Message: "requested_for must be the ID of an existing user"}}}
	}
	path, err := orgUnitPath(ctx, tx, in.CostCentreID, prefix+"cost_centre_id")
	if err != nil {
		return err
	}
	if !p.Can(access.OrderCreate, access.InOrgUnit(path)) {
		return &errs.Error{Code: errs.CodeInvalid, Message: "you may not charge that cost centre",
			Fields: []errs.FieldError{{Field: prefix + "cost_centre_id", Rule: "scope", Message: "charge an org unit you may order for"}}}
	}
	return nil
}

func (s *Service) insertItem(ctx context.Context, tx *sqldb.Tx, o *Order, in ItemInput, pr *priced, bundleItemID string) (*Item, error) {
	var pos int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) + 1 FROM order_items WHERE order_id = $1`, o.ID).Scan(&pos); err != nil {
		return nil, sqldb.Err(err, "order item")
	}
	if in.Addons == nil {
		in.Addons = []string{}
	}
	it := &Item{ID: sqldb.NewID(), Position: pos, OfferingID: pr.offering.ID, PlanID: pr.plan.ID, Quantity: in.Quantity, Parameters: pr.params,
		Addons: in.Addons, RequestedFor: in.RequestedFor, CostCentreID: in.CostCentreID, State: ItemPending}
	it.PriceVersionID = pr.version.ID
	_, err := tx.ExecContext(ctx, `INSERT INTO order_items (id, order_id, position, offering_id, plan_id, quantity, parameters, addons, requested_for,
		cost_centre_id, monthly_minor, one_time_minor, bundle_item_id, state, price_version_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		it.ID, o.ID, pos, it.OfferingID, it.PlanID, it.Quantity, marshal(it.Parameters), marshal(it.Addons), it.RequestedFor, it.CostCentreID,
		pr.fees.monthly, pr.fees.oneTime, nullString(bundleItemID), it.State, it.PriceVersionID)
	return it, sqldb.Err(err, "order item")
}

// reprice sums the items into the order's quote; items must share a currency.
func (s *Service) reprice(ctx context.Context, tx *sqldb.Tx, orderID string) error {
	currencies, err := sqldb.QueryAll(ctx, tx, "order currency", func(row sqldb.Scanner) (string, error) {
		var v string
		return v, row.Scan(&v)
	}, `SELECT DISTINCT p.currency FROM order_items i JOIN plans p ON p.id = i.plan_id WHERE i.order_id = $1`, orderID)
	if err != nil {
		return err
	}
	if len(currencies) > 1 {
		return errs.Invalid("the items of one order must be priced in one currency (this one mixes %s); place a separate order", strings.Join(currencies, " and "))
	}
	currency := ""
	if len(currencies) == 1 {
		currency = currencies[0]
	}
	_, err = tx.ExecContext(ctx, `UPDATE orders SET currency = $1,
		monthly_minor = (SELECT COALESCE(SUM(monthly_minor), 0) FROM order_items WHERE order_id = $2),
		one_time_minor = (SELECT COALESCE(SUM(one_time_minor), 0) FROM order_items WHERE order_id = $2) WHERE id = $2`, currency, orderID)
	return sqldb.Err(err, "order")
}

// RemoveItem takes an item (and, for a bundle, its bundled items) out of a
// draft order. Callers need to be the order's requester.
func (s *Service) RemoveItem(ctx context.Context, p *access.Principal, orderID, itemID string) (*Order, error) {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		o, err := s.lockOrder(ctx, tx, orderID)
		if err != nil {
			return err
		}
		if err := s.requireDraft(p, o); err != nil {
			return err
		}
		found := false
		for _, it := range o.Items {
			found = found || it.ID == itemID
		}
		if !found {
			return errs.NotFound("order %s has no item %q", o.Reference(), itemID)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM order_items WHERE order_id = $1 AND bundle_item_id = $2`, o.ID, itemID); err != nil {
			return sqldb.Err(err, "order item")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM order_items WHERE order_id = $1 AND id = $2`, o.ID, itemID); err != nil {
			return sqldb.Err(err, "order item")
		}
		if err := s.reprice(ctx, tx, o.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "order.item_remove", ObjectType: "order", ObjectID: o.ID, Before: map[string]any{"item_id": itemID}})
	})
	if err != nil {
		return nil, err
	}
	return getOrder(ctx, s.db.Read(), orderID)
}

// QuoteLine is one priced line of a quote.
type QuoteLine struct {
	Offering string `json:"offering"`
	Plan     string `json:"plan"`
	Quantity int    `json:"quantity"`
	Quote    Quote  `json:"quote"`
	// PriceVersionID and PriceVersion are the price version quoted: the
	// one the instance will be billed at.
	PriceVersionID string `json:"price_version_id"`
	PriceVersion   int    `json:"price_version"`
	// Minimum is the monthly minimum commitment on usage charges, if any.
	Minimum string `json:"minimum,omitempty"`
	// Usage lists the usage charges, billed as used.
	Usage []UsageCharge `json:"usage"`
}

// UsageCharge is a usage component of a quoted plan.
type UsageCharge struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Meter string `json:"meter"`
	Rate  string `json:"rate"`
}

// QuoteResult prices items without ordering them.
type QuoteResult struct {
	Lines []QuoteLine `json:"lines"`
	Total Quote       `json:"total"`
}

// QuoteItems prices items as an order would, without saving anything.
// Callers need catalog.read; errors are those of ordering the items.
func (s *Service) QuoteItems(ctx context.Context, p *access.Principal, items []ItemInput) (*QuoteResult, error) {
	if err := p.RequireAnywhere(access.CatalogRead); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, errs.Invalid("send at least one item to quote")
	}
	if len(items) > MaxItemsPerOrder {
		return nil, tooManyItems(len(items))
	}
	out := &QuoteResult{Lines: []QuoteLine{}}
	var currency string
	var total fees
	for i := range items {
		pr, err := s.price(ctx, s.db.Read(), p, &items[i], fmt.Sprintf("items[%d].", i))
		if err != nil {
			return nil, err
		}
		if currency != "" && pr.plan.Currency != currency {
			return nil, errs.Invalid("the items must be priced in one currency to be quoted together")
		}
		currency = pr.plan.Currency
		total = total.plus(pr.fees)
		line := QuoteLine{Offering: pr.offering.Code, Plan: pr.plan.Code, Quantity: items[i].Quantity, Quote: quoteOf(currency, pr.fees),
			PriceVersionID: pr.version.ID, PriceVersion: pr.version.Version, Usage: []UsageCharge{}}
		if pr.quote.Minimum.Minor > 0 {
			line.Minimum = pr.quote.Minimum.Decimal()
		}
		for _, c := range pr.quote.Usage {
			line.Usage = append(line.Usage, UsageCharge{Code: c.Code, Name: c.Name, Meter: c.Meter, Rate: c.Describe("")})
		}
		out.Lines = append(out.Lines, line)
	}
	out.Total = quoteOf(currency, total)
	return out, nil
}

func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // parameters come from JSON and add-ons are strings
	}
	return string(b)
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
