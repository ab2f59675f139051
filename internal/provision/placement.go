package provision

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/expr"
	"github.com/steward-itaas/steward/internal/jobs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Policy decides among the providers that offer a plan: Filter keeps the
// eligible ones, Rank orders them (lowest first; ties go to the provider
// code). Both are CEL over two maps:
//
//	provider: code, name, kind, region, health ("healthy", "unhealthy",
//	          "unknown"), healthy (not known to be unhealthy), capacity,
//	          used, has_capacity, agreement, price_minor (its price to
//	          Steward, exact), price (the same as a double), currency
//	request:  offering, plan, org_unit (codes), quantity, parameters,
//	          region (the "region" parameter, or "")
//
// A policy applies to one offering; the one with offering "*" to every
// offering without its own.
type Policy struct {
	OfferingID string    `json:"offering_id"`
	Filter     string    `json:"filter"`
	Rank       string    `json:"rank"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// DefaultPolicy is used when no policy is set: healthy providers with room, cheapest first.
var DefaultPolicy = Policy{OfferingID: "*", Filter: "provider.healthy && provider.has_capacity", Rank: "provider.price_minor"}

// Candidate is one provider as placement saw it.
type Candidate struct {
	Provider string `json:"provider"`
	Name     string `json:"name"`
	Eligible bool   `json:"eligible"`
	Rank     string `json:"rank,omitempty"`
	Reason   string `json:"reason"`
}

// Decision is placement's choice, kept with the instance.
type Decision struct {
	Policy     Policy      `json:"policy"`
	Chosen     string      `json:"chosen,omitempty"`
	Reason     string      `json:"reason"`
	Candidates []Candidate `json:"candidates"`
	At         time.Time   `json:"at"`
}

type program struct {
	filter, rank *expr.Program
}

type policyCache struct {
	mu sync.Mutex
	m  map[string]*program
}

var env = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(cel.Variable("provider", cel.MapType(cel.StringType, cel.DynType)), cel.Variable("request", cel.MapType(cel.StringType, cel.DynType)))
})

// compile checks a policy's expressions within package expr's bounds
// (length, and estimated cost over MaxSize-element values) and returns
// their programs. Errors are invalid, on the field.
func compile(ctx context.Context, pol Policy) (*program, error) {
	e, err := env()
	if err != nil {
		return nil, err
	}
	var v errs.Validator
	var out program
	for _, x := range []struct {
		field, src string
		want       []*cel.Type
		dst        **expr.Program
	}{{"filter", pol.Filter, []*cel.Type{cel.BoolType}, &out.filter}, {"rank", pol.Rank, []*cel.Type{cel.IntType, cel.DoubleType, cel.UintType}, &out.rank}} {
		prg, err := expr.Compile(e, x.src)
		if err != nil {
			var xe *expr.Error
			if errors.As(err, &xe) {
				v.Add(x.field, xe.Rule, x.field+": "+xe.Message)
			} else {
				v.Add(x.field, "cel", x.field+" does not compile: "+err.Error())
			}
			continue
		}
		ok := prg.AST.OutputType() == cel.DynType
		for _, t := range x.want {
			ok = ok || prg.AST.OutputType().IsExactType(t)
		}
		if !v.Check(ok, x.field, "type", fmt.Sprintf("%s must be a %s expression; it is %s", x.field, map[string]string{"filter": "true/false", "rank": "number"}[x.field], prg.AST.OutputType())) {
			continue
		}
		*x.dst = prg
	}
	if err := v.Err("the placement policy is not valid"); err != nil {
		return nil, err
	}
	// Try both on a sample, so a filter that is not true/false or a rank
	// that is not a number is refused now, not at the next order.
	sample := map[string]any{"provider": map[string]any{"code": "p", "name": "P", "kind": "osb", "region": "", "health": "healthy", "healthy": true,
		"capacity": int64(0), "used": int64(0), "has_capacity": true, "agreement": "", "price_minor": int64(100), "price": 1.0, "currency": "EUR"},
		"request": map[string]any{"offering": "o", "plan": "p", "org_unit": "u", "quantity": int64(1), "parameters": map[string]any{}, "region": ""}}
	r, err := out.filter.Eval(ctx, sample)
	switch {
	case errors.Is(err, expr.ErrLimit):
		v.Add("filter", "cost", "filter went over its limit on a sample provider: "+err.Error())
	case err == nil:
		if _, ok := r.Value().(bool); !ok {
			v.Add("filter", "type", fmt.Sprintf("filter must be true or false; on a sample provider it is %v", r.Value()))
		}
	}
	r, err = out.rank.Eval(ctx, sample)
	switch {
	case errors.Is(err, expr.ErrLimit):
		v.Add("rank", "cost", "rank went over its limit on a sample provider: "+err.Error())
	case err == nil:
		switch r.Value().(type) {
		case int64, uint64, float64:
		default:
			v.Add("rank", "type", fmt.Sprintf("rank must be a number; on a sample provider it is %v", r.Value()))
		}
	}
	if err := v.Err("the placement policy is not valid"); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *policyCache) get(ctx context.Context, pol Policy) (*program, error) {
	key := pol.Filter + "\x00" + pol.Rank
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*program{}
	}
	if p, ok := c.m[key]; ok {
		return p, nil
	}
	p, err := compile(ctx, pol)
	if err != nil {
		return nil, err
	}
	if len(c.m) >= maxCachedPolicies {
		clear(c.m)
	}
	c.m[key] = p
	return p, nil
}

var programs policyCache

// maxCachedPolicies bounds the compiled policies kept; past it the cache
// starts again.
const maxCachedPolicies = 256

// policyFor returns the offering's policy, else the default one set, else DefaultPolicy.
func policyFor(ctx context.Context, q sqldb.Querier, offeringID string) (Policy, error) {
	var pol Policy
	err := q.QueryRowContext(ctx, `SELECT offering_id, filter, rank, updated_at FROM placement_policies WHERE offering_id IN ($1, '*')
		ORDER BY CASE WHEN offering_id = '*' THEN 1 ELSE 0 END`, offeringID).Scan(&pol.OfferingID, &pol.Filter, &pol.Rank, &pol.UpdatedAt)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return DefaultPolicy, nil
		}
		return pol, sqldb.Err(err, "placement policy")
	}
	return pol, nil
}

// policyOrder is the order of Policies: by offering ID ("*" first).
var policyOrder = sqldb.Order{Name: "offering", Columns: []string{"offering_id"}}

// Policies lists one page of the placement policies set, by offering.
// Callers need provider.read, else forbidden; a cursor not of this list is
// invalid.
func (s *Service) Policies(ctx context.Context, p *access.Principal, page sqldb.Page) (sqldb.Paged[Policy], error) {
	if err := p.RequireAnywhere(access.ProviderRead); err != nil {
		return sqldb.Paged[Policy]{}, err
	}
	var args sqldb.Args
	var after string
	seek, err := policyOrder.Seek(&args, page, &after)
	if err != nil {
		return sqldb.Paged[Policy]{}, err
	}
	pols, err := sqldb.QueryAll(ctx, s.db.Read(), "placement policies", func(r sqldb.Scanner) (Policy, error) {
		var pol Policy
		err := r.Scan(&pol.OfferingID, &pol.Filter, &pol.Rank, &pol.UpdatedAt)
		return pol, err
	}, `SELECT offering_id, filter, rank, updated_at FROM placement_policies WHERE `+seek+policyOrder.By()+policyOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[Policy]{}, err
	}
	return sqldb.PageOf(pols, page, policyOrder, func(pol Policy) []any { return []any{pol.OfferingID} }), nil
}

// SetPolicy sets the placement policy of an offering (its ID), or with
// "*" the default. Callers need provider.manage on the whole provider (a
// policy decides for every org unit's orders), else forbidden.
func (s *Service) SetPolicy(ctx context.Context, p *access.Principal, pol Policy) (*Policy, error) {
	if err := p.Require(access.ProviderManage, access.Resource{}); err != nil {
		return nil, err
	}
	pol.Filter, pol.Rank = strings.TrimSpace(pol.Filter), strings.TrimSpace(pol.Rank)
	if pol.Filter == "" {
		pol.Filter = "true"
	}
	if pol.Rank == "" {
		pol.Rank = DefaultPolicy.Rank
	}
	if _, err := compile(ctx, pol); err != nil {
		return nil, err
	}
	if pol.OfferingID != "*" && !sqldb.ValidID(pol.OfferingID) {
		return nil, errs.Invalid("offering_id must be an offering's ID, or * for the default policy")
	}
	pol.UpdatedAt = sqldb.Time(s.now())
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if pol.OfferingID != "*" {
			var one int
			if tx.QueryRowContext(ctx, `SELECT 1 FROM offerings WHERE id = $1`, pol.OfferingID).Scan(&one) != nil {
				return errs.Invalid("there is no offering %q", pol.OfferingID)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO placement_policies (offering_id, filter, rank, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (offering_id) DO UPDATE SET filter = excluded.filter, rank = excluded.rank, updated_at = excluded.updated_at`,
			pol.OfferingID, pol.Filter, pol.Rank, pol.UpdatedAt)
		if err != nil {
			return sqldb.Err(err, "placement policy")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "placement_policy.set", ObjectType: "offering", ObjectID: pol.OfferingID, After: pol})
	})
	return &pol, err
}

// jobPlace chooses a provision item's provider, or starts a blueprint's
// next step, outside the transaction that asked for it.
const jobPlace = "provision.place"

// placeJob is what jobPlace is asked to do: place the order item (ItemID
// alone), or start step Seq of a blueprint's instance (InstanceID too;
// Seq past the last step renders the outputs and settles the item).
type placeJob struct {
	ItemID     string `json:"item_id"`
	InstanceID string `json:"instance_id,omitempty"`
	Seq        int    `json:"seq,omitempty"`
}

// queuePlace queues a placement in tx: it runs once tx commits.
func (s *Service) queuePlace(ctx context.Context, tx *sqldb.Tx, j placeJob) error {
	key := "place:" + j.ItemID
	if j.InstanceID != "" {
		key = fmt.Sprintf("step:%s:%d", j.InstanceID, j.Seq)
	}
	payload, _ := json.Marshal(j)
	_, err := s.jobs.EnqueueTx(ctx, tx, jobs.EnqueueInput{Kind: jobPlace, Payload: payload, RunAt: s.now(), UniqueKey: key, MaxAttempts: 20})
	if err == nil {
		s.jobs.Wake()
	}
	return err
}

func (s *Service) runPlace(ctx context.Context, j *jobs.Job) error {
	var in placeJob
	if err := json.Unmarshal(j.Payload, &in); err != nil {
		return err
	}
	if in.InstanceID != "" {
		return s.runStep(ctx, in.InstanceID, in.ItemID, in.Seq)
	}
	return s.placeItem(ctx, in.ItemID)
}

// MaxPlacementRounds bounds how many times placeItem evaluates the policy
// for one item when what its choice rested on changed before the choice
// could be written (another placement took the provider's last place, the
// offer was retired, the provider's health or price changed). Past it the
// item fails, saying so.
const MaxPlacementRounds = 5

// placeItem chooses the provider of a provision item Fulfil took (whose
// instance it opened without one). It reads the providers and evaluates the
// policy outside any transaction, then, in a short one and only if the item
// still waits and nothing its choice rested on has changed (recheck),
// records the decision on the instance and starts its provision operation,
// or fails the item with the decision's reason (no provider eligible, or
// the policy failed). When the choice is stale it places again, at most
// MaxPlacementRounds times.
func (s *Service) placeItem(ctx context.Context, itemID string) error {
	q := s.db.Read()
	var orderID string
	if err := q.QueryRowContext(ctx, `SELECT order_id FROM order_items WHERE id = $1`, itemID).Scan(&orderID); err != nil {
		return sqldb.Err(err, "order item")
	}
	o, err := s.orders.Order(ctx, access.System(), orderID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(o.Items, func(it *orders.Item) bool { return it.ID == itemID })
	if i < 0 || o.Items[i].State != orders.ItemPending || o.Items[i].InstanceID == "" {
		return nil
	}
	it := o.Items[i]
	var offering, plan, orgUnit string
	if err := q.QueryRowContext(ctx, `SELECT f.code, p.code, ou.code FROM plans p JOIN offerings f ON f.id = p.offering_id, org_units ou
		WHERE p.id = $1 AND ou.id = $2`, it.PlanID, o.OrgUnitID).Scan(&offering, &plan, &orgUnit); err != nil {
		return sqldb.Err(err, "plan")
	}
	region, _ := it.Parameters["region"].(string)
	params := it.Parameters
	if params == nil {
		params = map[string]any{}
	}
	request := map[string]any{"offering": offering, "plan": plan, "org_unit": orgUnit, "quantity": int64(it.Quantity), "parameters": params, "region": region}
	for round := 1; ; round++ {
		stale, err := s.placeOnce(ctx, it, offering, request, round)
		if err != nil || stale == "" {
			return err
		}
		s.log.Info("placing again: the choice changed before it was written", "item", it.ID, "round", round, "why", stale)
	}
}

// placeOnce is one round of placeItem: read the options, evaluate the
// policy, then write the choice in a short transaction. It returns why the
// choice was stale (and wrote nothing), or "" once the item is placed,
// failed or settled meanwhile. In the last round a stale choice fails the
// item instead.
func (s *Service) placeOnce(ctx context.Context, it *orders.Item, offering string, request map[string]any, round int) (stale string, err error) {
	q := s.db.Read()
	opts, err := options(ctx, q, it.PlanID)
	if err != nil {
		return "", err
	}
	pol, err := policyFor(ctx, q, it.OfferingID)
	if err != nil {
		return "", err
	}
	var chosen *option
	var d *Decision
	var broken error
	if len(opts) > 0 {
		if s.beforePlace != nil {
			s.beforePlace()
		}
		chosen, d, broken = place(ctx, pol, opts, request, s.now().UTC())
	}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var state string
		var provider sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT i.state, n.provider_id FROM order_items i JOIN instances n ON n.id = i.instance_id WHERE i.id = $1`,
			it.ID).Scan(&state, &provider); err != nil {
			return sqldb.Err(err, "order item")
		}
		if state != string(orders.ItemPending) || provider.Valid {
			return nil // settled meanwhile (cancelled), or placed already
		}
		fail := func(note string) error {
			return s.orders.Settle(ctx, tx, access.System(), it.ID, orders.TaskResult{Note: note})
		}
		if chosen != nil {
			why, err := recheck(ctx, tx, chosen)
			if err != nil {
				return err
			}
			if why != "" && round < MaxPlacementRounds {
				stale = why
				return nil // nothing written: place again on what is there now
			}
			if why != "" {
				return fail(fmt.Sprintf("no provider could be chosen: what placement chose on changed before it was written %d times (the last: %s); order again",
					MaxPlacementRounds, why))
			}
		}
		var placement any = map[string]any{}
		if d != nil {
			placement = d
		}
		var providerID any
		if chosen != nil {
			providerID = chosen.provider.ID
		}
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET provider_id = $1, placement = $2, updated_at = $3 WHERE id = $4`,
			providerID, marshal(placement), sqldb.Time(s.now()), it.InstanceID); err != nil {
			return sqldb.Err(err, "instance")
		}
		switch {
		case broken != nil:
			return fail(fmt.Sprintf("the placement policy of %s does not work: %s; ask the supplier manager to fix it", offering, describe(broken)))
		case len(opts) == 0:
			return fail("no provider offers it now")
		case chosen == nil:
			return fail("no provider can make it now: " + d.Reason)
		}
		return s.startOp(ctx, tx, &Operation{InstanceID: it.InstanceID, ItemID: it.ID, ProviderID: chosen.provider.ID, Kind: OpProvision, PlanID: it.PlanID,
			Description: d.Reason}, chosen.offer)
	})
	return stale, err
}

// recheck says, in the transaction that writes a placement, what changed
// since the placement read its chosen option, or "" when nothing its
// choice rested on did. It locks the provider and the offer first (FOR
// UPDATE on PostgreSQL; SQLite's write transaction is exclusive already),
// so that a placement, health check or sync on another replica waits until
// this one commits, then recounts the provider's live instances. A choice
// is stale when the provider or offer is gone, the offer is retired, the
// provider's health, region, kind, agreement or capacity or the offer's
// price changed, or the provider had room and now has none (a policy that
// chose a full provider knowingly is not second-guessed).
func recheck(ctx context.Context, tx *sqldb.Tx, o *option) (string, error) {
	lock := tx.Dialect.ForUpdate()
	seen := o.provider
	var now Provider
	err := tx.QueryRowContext(ctx, `SELECT health, region, kind, agreement, capacity FROM providers WHERE id = $1`+lock, seen.ID).
		Scan(&now.Health, &now.Region, &now.Kind, &now.Agreement, &now.Capacity)
	if errors.Is(err, sql.ErrNoRows) {
		return seen.Name + " is no longer registered", nil
	}
	if err != nil {
		return "", sqldb.Err(err, "provider")
	}
	var retired bool
	var price int64
	var currency string
	err = tx.QueryRowContext(ctx, `SELECT retired, price_minor, currency FROM provider_offers WHERE id = $1`+lock, o.offer.ID).Scan(&retired, &price, &currency)
	if errors.Is(err, sql.ErrNoRows) {
		return seen.Name + " no longer offers the plan", nil
	}
	if err != nil {
		return "", sqldb.Err(err, "offer")
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM instances WHERE provider_id = $1 AND state IN ('provisioning', 'active')`, seen.ID).
		Scan(&now.Used); err != nil {
		return "", sqldb.Err(err, "instances")
	}
	full := func(p *Provider) bool { return p.Capacity > 0 && p.Used >= p.Capacity }
	switch {
	case retired:
		return seen.Name + " retired its offer of the plan", nil
	case now.Health != seen.Health:
		return fmt.Sprintf("%s's health went from %s to %s", seen.Name, seen.Health, now.Health), nil
	case now.Capacity != seen.Capacity:
		return fmt.Sprintf("%s's capacity went from %s to %s", seen.Name, capacityText(seen.Capacity), capacityText(now.Capacity)), nil
	case full(&now) && !full(seen):
		return fmt.Sprintf("%s is full now (%d of %d used; placement saw %d)", seen.Name, now.Used, now.Capacity, seen.Used), nil
	case now.Region != seen.Region || now.Kind != seen.Kind || now.Agreement != seen.Agreement:
		return seen.Name + "'s region, kind or agreement changed", nil
	case price != o.offer.PriceMinor || currency != o.offer.Currency:
		return seen.Name + "'s price for the plan changed", nil
	}
	return "", nil
}

// option is one provider able to make a plan.
type option struct {
	provider *Provider
	offer    *Offer
}

// place runs the policy over the options. It returns the chosen option
// (nil when none is eligible) and the decision with every candidate's
// reason. Each expression runs within package expr's bounds. When the
// filter or the rank fails on any candidate (including going over its
// bounds), placement fails: nothing is chosen, and the decision says which
// candidate and why, rather than choosing among the others as though the
// failed one were not eligible. Callers run it outside any write
// transaction. The error is a policy that does not compile.
func place(ctx context.Context, pol Policy, opts []option, request map[string]any, now time.Time) (*option, *Decision, error) {
	prg, err := programs.get(ctx, pol)
	if err != nil {
		return nil, nil, err
	}
	d := &Decision{Policy: pol, At: now, Candidates: []Candidate{}}
	type ranked struct {
		i    int
		rank float64
	}
	var eligible []ranked
	for _, o := range opts {
		pv := o.provider
		vars := map[string]any{"provider": map[string]any{
			"code": pv.Code, "name": pv.Name, "kind": string(pv.Kind), "region": pv.Region, "health": string(pv.Health),
			"healthy": pv.Health != HealthUnhealthy, "capacity": int64(pv.Capacity), "used": int64(pv.Used),
			"has_capacity": pv.Capacity == 0 || pv.Used < pv.Capacity, "agreement": pv.Agreement,
			"price_minor": o.offer.PriceMinor, "price": float64(o.offer.PriceMinor) / pow10f(o.offer.Currency), "currency": o.offer.Currency,
		}, "request": request}
		c := Candidate{Provider: pv.Code, Name: pv.Name}
		facts := fmt.Sprintf("health %s, %d of %s used, region %q, price %s %s", pv.Health, pv.Used, capacityText(pv.Capacity), pv.Region, o.offer.Price, o.offer.Currency)
		out, err := prg.filter.Eval(ctx, vars)
		if err != nil {
			return nil, failed(d, c, "filter", err), nil
		}
		if ok, _ := out.Value().(bool); !ok {
			c.Reason = "excluded by the filter: " + facts
			d.Candidates = append(d.Candidates, c)
			continue
		}
		rv, err := prg.rank.Eval(ctx, vars)
		if err != nil {
			return nil, failed(d, c, "rank", err), nil
		}
		var r float64
		switch x := rv.Value().(type) {
		case int64:
			r = float64(x)
		case uint64:
			r = float64(x)
		case float64:
			r = x
		default:
			c.Reason = fmt.Sprintf("excluded: the rank is %T, not a number", x)
			d.Candidates = append(d.Candidates, c)
			continue
		}
		c.Eligible, c.Rank, c.Reason = true, fmt.Sprint(r), "eligible: "+facts
		d.Candidates = append(d.Candidates, c)
		eligible = append(eligible, ranked{len(d.Candidates) - 1, r})
	}
	if len(eligible) == 0 {
		d.Reason = "no provider passed the filter " + pol.Filter
		return nil, d, nil
	}
	sort.SliceStable(eligible, func(a, b int) bool {
		if eligible[a].rank != eligible[b].rank {
			return eligible[a].rank < eligible[b].rank
		}
		return d.Candidates[eligible[a].i].Provider < d.Candidates[eligible[b].i].Provider
	})
	best := d.Candidates[eligible[0].i]
	d.Chosen = best.Provider
	d.Reason = fmt.Sprintf("%s ranks lowest (%s by %s) of %d eligible of %d", best.Name, best.Rank, pol.Rank, len(eligible), len(opts))
	d.Candidates[eligible[0].i].Reason = "chosen: " + strings.TrimPrefix(best.Reason, "eligible: ")
	for _, o := range opts {
		if o.provider.Code == best.Provider {
			return &o, d, nil
		}
	}
	return nil, d, nil
}

// failed is the decision of a placement whose policy failed on candidate
// c: nothing is chosen, and the reason names the candidate and the error.
func failed(d *Decision, c Candidate, field string, err error) *Decision {
	c.Reason = fmt.Sprintf("the %s failed on it: %v", field, err)
	d.Candidates = append(d.Candidates, c)
	d.Reason = fmt.Sprintf("the placement policy's %s failed on provider %s (%v); nothing is chosen while the policy fails: ask the supplier manager to fix it",
		field, c.Provider, err)
	return d
}

func capacityText(c int) string {
	if c == 0 {
		return "unlimited"
	}
	return fmt.Sprint(c)
}

func pow10f(currency string) float64 {
	f := 1.0
	for range money.Exponent(currency) {
		f *= 10
	}
	return f
}
