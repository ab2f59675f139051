package catalog

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// View is the catalog an offering is shown in.
type View string

// The catalog views. The executive summary is an aggregate of all of them.
const (
	ViewEndUser    View = "end_user"    // what people order for themselves
	ViewBusiness   View = "business"    // what business units order as units
	ViewITInternal View = "it_internal" // technical services other IT teams order
)

// Views lists the views.
var Views = []View{ViewEndUser, ViewBusiness, ViewITInternal}

// Audience says who may see and order an offering: members of the listed
// org units' subtrees, and holders of the listed roles. Empty lists mean
// everyone with catalog.read.
type Audience struct {
	OrgUnitIDs []string      `json:"org_unit_ids"`
	Roles      []access.Role `json:"roles"`
}

// Addon is an optional extra at additional cost.
type Addon struct {
	Code        string `json:"code" yaml:"code"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Recurring and OneTime are prices per unit ordered, in the plan's currency, as decimals ("4.50").
	Recurring string `json:"recurring" yaml:"recurring"`
	OneTime   string `json:"one_time" yaml:"one_time"`
}

// Plan is a tier of an offering with its price, quota and agreement.
type Plan struct {
	ID          string `json:"id"`
	Code        string `json:"code"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Currency    string `json:"currency"`
	// Recurring is the base fee per unit per RecurringInterval (a month
	// unless the price version says otherwise), billed in arrears unless
	// RecurringTiming says advance; OneTime is the setup fee, charged once
	// per unit. Other fees are among Prices.
	Recurring         money.Amount    `json:"-"`
	RecurringInterval rating.Interval `json:"recurring_interval"`
	RecurringTiming   rating.Timing   `json:"recurring_timing,omitempty"`
	OneTime           money.Amount    `json:"-"`
	// Agreement references the agreement the plan comes with (filled in by service level management).
	Agreement string `json:"agreement"`
	// MaxQuantity caps the quantity of one order item (0: no cap).
	MaxQuantity int  `json:"max_quantity"`
	Retired     bool `json:"retired"`
	// Blueprint names the blueprint version (code@version) that makes the
	// plan's instances in steps; empty: a provider offering the plan, or a
	// manual task, makes them.
	Blueprint string `json:"blueprint,omitempty"`
	// PriceVersionID and PriceVersion name the price version in effect;
	// Prices are its components besides the base and setup fees.
	PriceVersionID string             `json:"price_version_id"`
	PriceVersion   int                `json:"price_version"`
	Prices         []rating.Component `json:"prices"`
}

// price fills the plan's prices from the components of its price version
// in effect: recurring and one_time are the base and setup fees alone
// (what a catalog save writes them as, rating.SyncCatalog), the interval
// and timing are the base fee's, and every other component is among
// Prices. A plan without a version keeps its list price.
func (p *Plan) price(cs []rating.Component) {
	v := &rating.Version{Currency: p.Currency, Components: cs}
	iv, _ := v.RecurringInterval()
	p.RecurringInterval, p.RecurringTiming = iv, ""
	p.Prices = []rating.Component{}
	if p.PriceVersionID == "" {
		return
	}
	p.Recurring, p.OneTime = v.ListPrice()
	for _, c := range cs {
		switch {
		case c.Code == rating.BaseCode && c.Kind == rating.Flat:
			p.RecurringTiming = c.Timing
		case c.Code == rating.SetupCode && c.Kind == rating.OneTime:
		default:
			p.Prices = append(p.Prices, c)
		}
	}
}

// Per says in words how often the base fee bills, after its amount: "a
// month", "per quarter", "per year, in advance".
func (p *Plan) Per() string {
	return Per(p.RecurringInterval, p.RecurringTiming)
}

// Per says in words how often a flat fee of the interval and timing bills:
// "a month", "per quarter", "per year, in advance".
func Per(iv rating.Interval, tm rating.Timing) string {
	out := "a month"
	if iv == rating.Quarter || iv == rating.Year {
		out = "per " + string(iv)
	}
	if tm == rating.Advance {
		out += ", in advance"
	}
	return out
}

// MarshalJSON writes prices as decimal strings.
func (p Plan) MarshalJSON() ([]byte, error) {
	type plain Plan
	return json.Marshal(struct {
		plain
		Recurring string `json:"recurring"`
		OneTime   string `json:"one_time"`
	}{plain(p), p.Recurring.Decimal(), p.OneTime.Decimal()})
}

// Offering is a live service as customers order it.
type Offering struct {
	ID          string          `json:"id"`
	Code        string          `json:"code"`
	ServiceID   string          `json:"service_id"`
	Name        string          `json:"name"`
	Summary     string          `json:"summary"`
	Description string          `json:"description"`
	View        View            `json:"view"`
	FormSchema  json.RawMessage `json:"form_schema"`
	Audience    Audience        `json:"audience"`
	Addons      []Addon         `json:"addons"`
	// Bundle lists the offerings (IDs) this one bundles; ordering it orders them.
	Bundle []string `json:"bundle"`
	// Brokered offerings are in Steward's OSB catalog, for registered platforms.
	Brokered  bool      `json:"brokered"`
	Plans     []*Plan   `json:"plans"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// Highlight marks the words a search matched; set by Search alone.
	Highlight *Highlight `json:"highlight,omitempty"`

	// Service is the offering's portfolio entry (not in JSON: see service_id).
	Service *Service `json:"-"`
}

// Orderable says whether new orders are taken, and why not.
func (o *Offering) Orderable() (bool, string) {
	if o.Service == nil {
		return false, "the offering's service is missing"
	}
	if !o.Service.Lifecycle.Orderable() {
		return false, "the service " + o.Service.Name + " is " + strings.ReplaceAll(string(o.Service.Lifecycle), "_", " ") + " and takes no new orders"
	}
	return true, ""
}

// Plan returns the offering's plan by ID or code.
func (o *Offering) Plan(ref string) *Plan {
	for _, p := range o.Plans {
		if p.ID == ref || p.Code == ref {
			return p
		}
	}
	return nil
}

// Addon returns the add-on by code.
func (o *Offering) Addon(code string) *Addon {
	for i := range o.Addons {
		if o.Addons[i].Code == code {
			return &o.Addons[i]
		}
	}
	return nil
}

// Form parses the offering's order form.
func (o *Offering) Form() (*Form, error) { return ParseForm(o.FormSchema) }

// PlanInput is a plan as written.
type PlanInput struct {
	Code        string `json:"code"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Currency    string `json:"currency"`
	Recurring   string `json:"recurring"`
	OneTime     string `json:"one_time"`
	Agreement   string `json:"agreement"`
	MaxQuantity int    `json:"max_quantity"`
	Retired     bool   `json:"retired"`
	// Blueprint is the blueprint version (code@version) that makes the
	// plan's instances; empty for none.
	Blueprint string `json:"blueprint,omitempty"`
	// Prices are the plan's price components besides its recurring (base)
	// and one-time (setup) fees: usage charges, tiers, minimums. Nil keeps
	// the ones the plan has.
	Prices []rating.Component `json:"prices,omitempty"`
}

// OfferingInput creates an offering or replaces it whole, with its plans
// (matched by code: plans no longer listed are retired, never deleted, so
// instances of them keep working).
type OfferingInput struct {
	Code        string          `json:"code"`
	ServiceID   string          `json:"service_id"`
	Name        string          `json:"name"`
	Summary     string          `json:"summary"`
	Description string          `json:"description"`
	View        View            `json:"view"`
	FormSchema  json.RawMessage `json:"form_schema"`
	Audience    Audience        `json:"audience"`
	Addons      []Addon         `json:"addons"`
	Bundle      []string        `json:"bundle"`
	Brokered    bool            `json:"brokered"`
	Plans       []PlanInput     `json:"plans"`
}

// Validate checks the input's own fields.
func (in *OfferingInput) Validate() error {
	in.Code, in.Name, in.Summary = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name), strings.TrimSpace(in.Summary)
	var v errs.Validator
	checkCode(&v, "code", in.Code)
	v.Check(sqldb.ValidID(in.ServiceID), "service_id", "format", "service_id must be the ID of the service offered")
	v.Check(in.Name != "" && len(in.Name) <= 200, "name", "length", "name is required and must be at most 200 characters")
	v.Check(len(in.Summary) <= 500, "summary", "length", "summary must be at most 500 characters")
	if in.View == "" {
		in.View = ViewEndUser
	}
	v.Check(slices.Contains(Views, in.View), "view", "enum", "view must be end_user, business or it_internal")
	if _, err := ParseForm(in.FormSchema); err != nil {
		for _, f := range errs.As(err).Fields {
			v.Add(f.Field, f.Rule, f.Message)
		}
	}
	if len(in.FormSchema) == 0 {
		in.FormSchema = json.RawMessage(EmptyForm)
	}
	for _, r := range in.Audience.Roles {
		v.Check(r.Valid(), "audience.roles", "enum", "audience role "+string(r)+" is not a role")
	}
	v.Check(len(in.Plans) > 0, "plans", "required", "an offering needs at least one plan")
	codes := map[string]bool{}
	currency := ""
	for i := range in.Plans {
		pl := &in.Plans[i]
		pl.Code, pl.Name, pl.Currency = strings.TrimSpace(pl.Code), strings.TrimSpace(pl.Name), strings.ToUpper(strings.TrimSpace(pl.Currency))
		checkCode(&v, "plans.code", pl.Code)
		v.Check(!codes[pl.Code], "plans.code", "unique", "plan code "+pl.Code+" is listed twice")
		codes[pl.Code] = true
		v.Check(pl.Name != "", "plans.name", "required", "every plan needs a name")
		if v.Check(money.ValidCurrency(pl.Currency), "plans.currency", "format", "currency must be an ISO 4217 code such as EUR") {
			_, err1 := price(pl.Recurring, pl.Currency)
			_, err2 := price(pl.OneTime, pl.Currency)
			v.Check(err1 == nil && err2 == nil && !strings.HasPrefix(pl.Recurring, "-") && !strings.HasPrefix(pl.OneTime, "-"),
				"plans.recurring", "money", "plan "+pl.Code+": prices are decimals such as 25.00, not negative, with at most the currency's decimals")
			if currency == "" {
				currency = pl.Currency
			}
			v.Check(pl.Currency == currency, "plans.currency", "same", "every plan of an offering is priced in the same currency")
		}
		v.Check(pl.MaxQuantity >= 0, "plans.max_quantity", "range", "max_quantity is 0 (no cap) or more")
		pl.Blueprint = strings.TrimSpace(pl.Blueprint)
		v.Check(pl.Blueprint == "" || blueprintRef.MatchString(pl.Blueprint), "plans.blueprint", "format",
			"plan "+pl.Code+": blueprint names a version as code@version, such as web-stack@2")
		if money.ValidCurrency(pl.Currency) {
			rating.Validate(&v, "plans.prices", pl.Currency, pl.Prices, nil)
		}
		for _, c := range pl.Prices {
			v.Check(c.Code != rating.BaseCode && c.Code != rating.SetupCode, "plans.prices.code", "reserved",
				"plan "+pl.Code+": components base and setup are the plan's recurring and one_time prices; give other components other codes")
		}
	}
	acodes := map[string]bool{}
	for _, a := range in.Addons {
		checkCode(&v, "addons.code", a.Code)
		v.Check(!acodes[a.Code], "addons.code", "unique", "add-on code "+a.Code+" is listed twice")
		acodes[a.Code] = true
		v.Check(strings.TrimSpace(a.Name) != "", "addons.name", "required", "every add-on needs a name")
		if currency != "" {
			_, _, err := a.Prices(currency)
			v.Check(err == nil, "addons.recurring", "money", "add-on "+a.Code+": prices are decimals in the plans' currency")
		}
	}
	return v.Err("the offering is not valid")
}

// price reads a decimal price in the currency; an empty price is zero.
func price(s, currency string) (money.Amount, error) {
	if s = strings.TrimSpace(s); s == "" {
		s = "0"
	}
	return money.Parse(s, currency)
}

// Prices reads the add-on's per-unit prices in the plans' currency.
func (a Addon) Prices(currency string) (recurring, oneTime money.Amount, err error) {
	if recurring, err = price(a.Recurring, currency); err != nil {
		return recurring, oneTime, err
	}
	oneTime, err = price(a.OneTime, currency)
	return recurring, oneTime, err
}

const offeringColumns = `id, code, service_id, name, summary, description, view, form_schema, audience, addons, bundle, brokered, created_at, updated_at`

func scanOffering(row sqldb.Scanner) (*Offering, error) {
	var o Offering
	var form string
	var aud sqldb.JSON[Audience]
	var addons sqldb.JSON[[]Addon]
	var bundle sqldb.JSON[[]string]
	if err := row.Scan(&o.ID, &o.Code, &o.ServiceID, &o.Name, &o.Summary, &o.Description, &o.View, &form, &aud, &addons, &bundle, &o.Brokered, &o.CreatedAt, &o.UpdatedAt); err != nil {
		return nil, err
	}
	o.FormSchema = json.RawMessage(form)
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
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return &o, nil
}

// loadOfferings reads offerings (all, or those matching where) with their plans and services.
func loadOfferings(ctx context.Context, q sqldb.Querier, where string, args ...any) ([]*Offering, error) {
	out, err := sqldb.QueryAll(ctx, q, "offerings", scanOffering, `SELECT `+offeringColumns+` FROM offerings `+where+` ORDER BY name, code`, args...)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	byID := map[string]*Offering{}
	for _, o := range out {
		o.Plans = []*Plan{}
		byID[o.ID] = o
	}
	type planOf struct {
		*Plan
		offeringID string
	}
	plans, err := sqldb.QueryAll(ctx, q, "plans", func(row sqldb.Scanner) (planOf, error) {
		p := planOf{Plan: &Plan{}}
		var comps sqldb.JSON[[]rating.Component]
		var bpCode string
		var bpVersion int
		if err := row.Scan(&p.ID, &p.offeringID, &p.Code, &p.Name, &p.Description, &p.Currency, &p.Recurring.Minor, &p.OneTime.Minor, &p.Agreement,
			&p.MaxQuantity, &p.Retired, &p.PriceVersionID, &p.PriceVersion, &comps, &bpCode, &bpVersion); err != nil {
			return p, err
		}
		if bpCode != "" {
			p.Blueprint = bpCode + "@" + strconv.Itoa(bpVersion)
		}
		p.Recurring.Currency, p.OneTime.Currency = p.Currency, p.Currency
		p.price(comps.V)
		return p, nil
	}, `SELECT p.id, p.offering_id, p.code, p.name, p.description, p.currency, p.recurring_minor, p.one_time_minor, p.agreement,
			p.max_quantity, p.retired, COALESCE(v.id, ''), COALESCE(v.version, 0), COALESCE(v.components, '[]'), COALESCE(b.code, ''), COALESCE(b.version, 0)
		FROM plans p LEFT JOIN price_versions v ON v.id = p.price_version_id LEFT JOIN blueprints b ON b.id = p.blueprint_id
		WHERE p.offering_id IN (SELECT id FROM offerings `+where+`) ORDER BY p.offering_id, p.position`, args...)
	if err != nil {
		return nil, err
	}
	for _, p := range plans {
		if o := byID[p.offeringID]; o != nil {
			o.Plans = append(o.Plans, p.Plan)
		}
	}
	services, err := queryServices(ctx, q, `WHERE id IN (SELECT service_id FROM offerings `+where+`)`, args...)
	if err != nil {
		return nil, err
	}
	byService := map[string]*Service{}
	for _, s := range services {
		byService[s.ID] = s
	}
	for _, o := range out {
		o.Service = byService[o.ServiceID]
	}
	return out, nil
}

// offering finds one offering by ID or code.
func offering(ctx context.Context, q sqldb.Querier, ref string) (*Offering, error) {
	col := "code"
	if sqldb.ValidID(ref) {
		col = "id"
	}
	os, err := loadOfferings(ctx, q, `WHERE `+col+` = $1`, ref)
	if err != nil {
		return nil, err
	}
	if len(os) == 0 {
		return nil, errs.NotFound("offering %q not found", ref)
	}
	return os[0], nil
}

// visible reports whether the principal may see and order the offering:
// provider-side readers of its service see every offering; others need
// catalog.read and to be in its audience (one of its org units' subtrees,
// or one of its roles), and the service must be live or retiring. paths
// maps the audience's org unit IDs to their paths (audiencePaths).
func visible(p *access.Principal, o *Offering, paths map[string]string) bool {
	if p.Can(access.ServiceRead, access.Resource{ServiceID: o.ServiceID}) {
		return true
	}
	if !p.CanAnywhere(access.CatalogRead) || o.Service == nil ||
		(o.Service.Lifecycle != LifecycleLive && o.Service.Lifecycle != LifecycleRetiring) {
		return false
	}
	if len(o.Audience.OrgUnitIDs) == 0 && len(o.Audience.Roles) == 0 {
		return true
	}
	for _, r := range o.Audience.Roles {
		if p.HasRole(r) {
			return true
		}
	}
	for _, id := range o.Audience.OrgUnitIDs {
		path, ok := paths[id]
		if ok && (p.Can(access.CatalogRead, access.InOrgUnit(path)) || p.OrgUnitPath != "" && strings.HasPrefix(p.OrgUnitPath, path)) {
			return true
		}
	}
	return false
}

// audiencePaths reads, in one query, the paths of the org units the
// offerings' audiences name.
func audiencePaths(ctx context.Context, q sqldb.Querier, os []*Offering) (map[string]string, error) {
	paths := map[string]string{}
	var ids []string
	for _, o := range os {
		for _, id := range o.Audience.OrgUnitIDs {
			if _, seen := paths[id]; !seen && sqldb.ValidID(id) {
				paths[id] = ""
				ids = append(ids, id)
			}
		}
	}
	clear(paths)
	if len(ids) == 0 {
		return paths, nil
	}
	var args sqldb.Args
	units, err := sqldb.QueryAll(ctx, q, "org units", func(row sqldb.Scanner) ([2]string, error) {
		var u [2]string
		return u, row.Scan(&u[0], &u[1])
	}, `SELECT id, path FROM org_units WHERE `+sqldb.In(&args, "id", ids), args...)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		paths[u[0]] = u[1]
	}
	return paths, nil
}

// visibleOffering finds an offering by ID or code if p may see it, on q
// (the read pool, or the caller's transaction).
func visibleOffering(ctx context.Context, q sqldb.Querier, p *access.Principal, ref string) (*Offering, error) {
	o, err := offering(ctx, q, ref)
	if err != nil {
		return nil, err
	}
	paths, err := audiencePaths(ctx, q, []*Offering{o})
	if err != nil {
		return nil, err
	}
	if !visible(p, o, paths) {
		return nil, errs.NotFound("offering %q not found", ref)
	}
	return o, nil
}

// Offering returns one offering by ID or code, if the caller may see it.
func (c *Catalog) Offering(ctx context.Context, p *access.Principal, ref string) (*Offering, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to see the catalog")
	}
	return visibleOffering(ctx, c.db.Read(), p, ref)
}

// OfferingFilter narrows the catalog.
type OfferingFilter struct {
	View      View
	ServiceID string
	// Category is the service's FOCUS category (Search only).
	Category string
	// Price is the band of the offering's lowest recurring price (Search only).
	Price PriceBand
	// Query matches offering and service names, summaries, descriptions and the service's outcomes.
	Query string
	// Page is the page Search reads; Facets asks it to count the facets.
	Page   sqldb.Page
	Facets bool
}

func (o *Offering) matches(q string) bool {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return true
	}
	text := strings.ToLower(o.Code + " " + o.Name + " " + o.Summary + " " + o.Description)
	if o.Service != nil {
		text += " " + strings.ToLower(o.Service.Name+" "+o.Service.Description+" "+strings.Join(o.Service.Outcomes, " ")+" "+strings.Join(o.Service.BusinessFunctions, " "))
	}
	for _, w := range strings.Fields(q) {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

// Offerings lists the offerings the caller may see, by name.
func (c *Catalog) Offerings(ctx context.Context, p *access.Principal, f OfferingFilter) ([]*Offering, error) {
	if err := p.RequireAnywhere(access.CatalogRead); err != nil {
		return nil, err
	}
	all, err := loadOfferings(ctx, c.db.Read(), "")
	if err != nil {
		return nil, err
	}
	paths, err := audiencePaths(ctx, c.db.Read(), all)
	if err != nil {
		return nil, err
	}
	out := []*Offering{}
	for _, o := range all {
		if (f.View == "" || o.View == f.View) && (f.ServiceID == "" || o.ServiceID == f.ServiceID) && o.matches(f.Query) && visible(p, o, paths) {
			out = append(out, o)
		}
	}
	return out, nil
}

// CreateOffering adds an offering with its plans to a service. Callers need
// service.manage on the service.
func (c *Catalog) CreateOffering(ctx context.Context, p *access.Principal, in OfferingInput) (*Offering, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *Offering
	err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := p.Require(access.ServiceManage, access.Resource{ServiceID: in.ServiceID}); err != nil {
			return err
		}
		var err error
		out, err = c.saveOffering(ctx, tx, p, nil, in)
		return err
	})
	return out, err
}

// UpdateOffering replaces an offering and its plans. Callers need
// service.manage on its service (and on the new one, if it moves).
func (c *Catalog) UpdateOffering(ctx context.Context, p *access.Principal, ref string, in OfferingInput) (*Offering, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *Offering
	err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		before, err := offering(ctx, tx, ref)
		if err != nil {
			return err
		}
		if err := p.Require(access.ServiceManage, access.Resource{ServiceID: before.ServiceID}); err != nil {
			return err
		}
		if err := p.Require(access.ServiceManage, access.Resource{ServiceID: in.ServiceID}); err != nil {
			return err
		}
		out, err = c.saveOffering(ctx, tx, p, before, in)
		return err
	})
	return out, err
}

func (c *Catalog) saveOffering(ctx context.Context, tx *sqldb.Tx, p *access.Principal, before *Offering, in OfferingInput) (*Offering, error) {
	var v errs.Validator
	v.Check(exists(ctx, tx, "services", in.ServiceID), "service_id", "exists", "service_id must name an existing service")
	for _, id := range in.Audience.OrgUnitIDs {
		v.Check(exists(ctx, tx, "org_units", id), "audience.org_unit_ids", "exists", "audience org unit "+id+" does not exist")
	}
	for _, id := range in.Bundle {
		v.Check(exists(ctx, tx, "offerings", id) && (before == nil || id != before.ID), "bundle", "exists", "bundled offering "+id+" does not exist (an offering cannot bundle itself)")
	}
	blueprints, err := planBlueprints(ctx, tx, &v, in)
	if err != nil {
		return nil, err
	}
	if err := v.Err("the offering refers to something that does not exist"); err != nil {
		return nil, err
	}
	now := sqldb.Time(c.now())
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
	id := sqldb.NewID()
	if before == nil {
		_, err = tx.ExecContext(ctx, `INSERT INTO offerings (id, code, service_id, name, summary, description, view, form_schema, audience, addons, bundle, brokered, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`, id, in.Code, in.ServiceID, in.Name, in.Summary, in.Description, in.View,
			string(in.FormSchema), marshal(in.Audience), marshal(in.Addons), marshal(in.Bundle), in.Brokered, now)
	} else {
		id = before.ID
		_, err = tx.ExecContext(ctx, `UPDATE offerings SET code = $1, service_id = $2, name = $3, summary = $4, description = $5, view = $6, form_schema = $7,
			audience = $8, addons = $9, bundle = $10, brokered = $11, updated_at = $12 WHERE id = $13`, in.Code, in.ServiceID, in.Name, in.Summary, in.Description, in.View,
			string(in.FormSchema), marshal(in.Audience), marshal(in.Addons), marshal(in.Bundle), in.Brokered, now, id)
	}
	if err != nil {
		if errs.Is(sqldb.Err(err, "offering"), errs.CodeConflict) {
			return nil, errs.Conflict("an offering with the code %q already exists; choose another code", in.Code)
		}
		return nil, sqldb.Err(err, "offering")
	}
	// Plans: update by code, add new ones, retire the ones no longer listed.
	listed := map[string]bool{}
	var meters map[string]bool // the meters usage prices may charge, read once if needed
	for i, pl := range in.Plans {
		listed[pl.Code] = true
		rec, _ := price(pl.Recurring, pl.Currency)
		one, _ := price(pl.OneTime, pl.Currency)
		var existing *Plan
		if before != nil {
			existing = before.Plan(pl.Code)
		}
		var planID string
		if existing == nil {
			planID = sqldb.NewID()
			_, err = tx.ExecContext(ctx, `INSERT INTO plans (id, offering_id, code, name, description, currency, recurring_minor, one_time_minor, agreement, max_quantity,
				retired, position, blueprint_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)`, planID, id,
				pl.Code, pl.Name, pl.Description, pl.Currency, rec.Minor, one.Minor, pl.Agreement, pl.MaxQuantity, pl.Retired, i, nullString(blueprints[i]), now)
		} else {
			planID = existing.ID
			_, err = tx.ExecContext(ctx, `UPDATE plans SET name = $1, description = $2, currency = $3, recurring_minor = $4, one_time_minor = $5, agreement = $6,
				max_quantity = $7, retired = $8, position = $9, blueprint_id = $10, updated_at = $11 WHERE id = $12`, pl.Name, pl.Description, pl.Currency,
				rec.Minor, one.Minor, pl.Agreement, pl.MaxQuantity, pl.Retired, i, nullString(blueprints[i]), now, existing.ID)
		}
		if err != nil {
			return nil, sqldb.Err(err, "plan")
		}
		if len(pl.Prices) > 0 && meters == nil {
			if meters, err = rating.MeterCodes(ctx, tx); err != nil {
				return nil, err
			}
		}
		if err := syncPrice(ctx, tx, p, planID, pl, rec, one, meters, now); err != nil {
			return nil, err
		}
	}
	if before != nil {
		for _, pl := range before.Plans {
			if !listed[pl.Code] && !pl.Retired {
				if _, err := tx.ExecContext(ctx, `UPDATE plans SET retired = $1, position = $2, updated_at = $3 WHERE id = $4`, true, len(in.Plans)+1, now, pl.ID); err != nil {
					return nil, sqldb.Err(err, "plan")
				}
			}
		}
	}
	after, err := offering(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	action := "offering.create"
	if before != nil {
		action = "offering.update"
	}
	return after, c.audit(ctx, tx, p, audit.Entry{Action: action, ObjectType: "offering", ObjectID: id, Before: before, After: after})
}

// syncPrice writes a new price version of a saved plan when its prices
// changed; usage components must charge meters that exist.
func syncPrice(ctx context.Context, tx *sqldb.Tx, p *access.Principal, planID string, pl PlanInput, rec, one money.Amount, meters map[string]bool, now time.Time) error {
	if len(pl.Prices) > 0 {
		var v errs.Validator
		rating.Validate(&v, "plans.prices", pl.Currency, pl.Prices, meters)
		if err := v.Err("plan " + pl.Code + " charges for usage no meter measures"); err != nil {
			return err
		}
	}
	return rating.SyncCatalog(ctx, tx, p, planID, pl.Currency, rec, one, pl.Prices, now)
}

// Input returns the input that recreates the offering.
func (o *Offering) Input() OfferingInput {
	in := OfferingInput{Code: o.Code, ServiceID: o.ServiceID, Name: o.Name, Summary: o.Summary, Description: o.Description, View: o.View,
		FormSchema: o.FormSchema, Audience: o.Audience, Addons: o.Addons, Bundle: o.Bundle, Brokered: o.Brokered}
	for _, p := range o.Plans {
		in.Plans = append(in.Plans, PlanInput{Code: p.Code, Name: p.Name, Description: p.Description, Currency: p.Currency,
			Recurring: p.Recurring.Decimal(), OneTime: p.OneTime.Decimal(), Agreement: p.Agreement, MaxQuantity: p.MaxQuantity, Retired: p.Retired,
			Blueprint: p.Blueprint, Prices: p.Prices})
	}
	return in
}

// Summary is the executive view: the catalog in numbers, per service.
type Summary struct {
	Services []ServiceSummary `json:"services"`
	ByView   map[View]int     `json:"by_view"`
	Total    int              `json:"offerings"`
}

// ServiceSummary counts one service's offerings and plans.
type ServiceSummary struct {
	ServiceID   string    `json:"service_id"`
	Name        string    `json:"name"`
	Lifecycle   Lifecycle `json:"lifecycle"`
	Criticality string    `json:"criticality,omitempty"`
	Offerings   int       `json:"offerings"`
	Plans       int       `json:"plans"`
}

// ExecutiveSummary aggregates the catalog the caller sees: counted in the
// database over the offerings the caller's audience allows (as Search
// decides it), never read one by one, so it costs the same for a catalog
// of 100,000 offerings as a page of them does (issue 18).
func (c *Catalog) ExecutiveSummary(ctx context.Context, p *access.Principal) (*Summary, error) {
	if err := p.RequireAnywhere(access.CatalogRead); err != nil {
		return nil, err
	}
	q := c.db.Read()
	s := searcher{db: c.db, q: q}
	var args sqldb.Args
	from := s.from(&args, p, false, false)
	type count struct {
		service          ServiceSummary
		view             View
		offerings, plans int
	}
	counts, err := sqldb.QueryAll(ctx, q, "catalog summary", func(row sqldb.Scanner) (count, error) {
		var x count
		return x, row.Scan(&x.service.ServiceID, &x.service.Name, &x.service.Lifecycle, &x.service.Criticality, &x.view, &x.offerings, &x.plans)
	}, `SELECT s.id, s.name, s.lifecycle, s.criticality, m.view, m.n, m.plans
		FROM (SELECT d.service_id, d.view, COUNT(*) AS n,
			CAST(SUM((SELECT COUNT(*) FROM plans pl WHERE pl.offering_id = d.offering_id AND NOT pl.retired)) AS BIGINT) AS plans`+from+`
			GROUP BY d.service_id, d.view) m
		JOIN services s ON s.id = m.service_id ORDER BY s.name, s.id, m.view`, args...)
	if err != nil {
		return nil, sqldb.Err(err, "catalog summary")
	}
	sum := &Summary{ByView: map[View]int{}, Services: []ServiceSummary{}}
	for _, x := range counts {
		sum.Total += x.offerings
		sum.ByView[x.view] += x.offerings
		if n := len(sum.Services); n == 0 || sum.Services[n-1].ServiceID != x.service.ServiceID {
			sum.Services = append(sum.Services, x.service)
		}
		last := &sum.Services[len(sum.Services)-1]
		last.Offerings += x.offerings
		last.Plans += x.plans
	}
	return sum, nil
}
