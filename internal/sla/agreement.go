package sla

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Kind is the sort of agreement.
type Kind string

// The agreement kinds.
const (
	SLA Kind = "sla" // IT ↔ a business customer
	OLA Kind = "ola" // IT team ↔ IT team, under a technical service
	UC  Kind = "uc"  // underpinning contract with a supplier
)

// Kinds lists the agreement kinds.
var Kinds = []Kind{SLA, OLA, UC}

// State is where an agreement is in its life.
type State string

// The states. Only active agreements within their effective dates are
// measured.
const (
	Draft   State = "draft"
	Active  State = "active"
	Retired State = "retired"
)

// States lists the states.
var States = []State{Draft, Active, Retired}

// Ref names a service, offering, plan or org unit in an agreement's scope.
type Ref struct {
	ID   string `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
	path string
}

// Scope is what an agreement covers: services (required), optionally
// narrowed to offerings or plans (which decide the units a rebate counts
// and the charge it is a share of), and for an SLA the org units it is
// made with.
type Scope struct {
	Services  []Ref `json:"services"`
	Offerings []Ref `json:"offerings"`
	Plans     []Ref `json:"plans"`
	OrgUnits  []Ref `json:"org_units"`
}

// Service is the ID of the one service the scope covers, which a rebate
// relates to; empty when the agreement covers several (the rebate then
// relates to the account as a whole).
func (sc Scope) Service() string {
	if len(sc.Services) == 1 {
		return sc.Services[0].ID
	}
	return ""
}

// RebateKind is how a rebate is reckoned.
type RebateKind string

// The rebate kinds.
const (
	// PerHour: Amount per hour of downtime beyond the allowance per affected
	// unit (the customer's instances in scope, or Units when set).
	PerHour RebateKind = "per_hour"
	// PercentOfCharge: Percent of what the window's invoices charged for the
	// scope.
	PercentOfCharge RebateKind = "percent_of_charge"
)

// Rebate is what a breach of a target costs the provider, capped.
type Rebate struct {
	Target  string     `json:"target" yaml:"target"`
	Kind    RebateKind `json:"kind" yaml:"kind"`
	Amount  string     `json:"amount,omitempty" yaml:"amount,omitempty"`
	Units   int        `json:"units,omitempty" yaml:"units,omitempty"`
	Percent string     `json:"percent,omitempty" yaml:"percent,omitempty"`
	Cap     string     `json:"cap,omitempty" yaml:"cap,omitempty"`
}

// Describe says the rule in words.
func (r *Rebate) Describe(currency string) string {
	s := ""
	if r.Kind == PerHour {
		unit := "per affected unit"
		if r.Units > 0 {
			unit = fmt.Sprintf("× %d units", r.Units)
		}
		s = fmt.Sprintf("%s %s per hour beyond the allowance %s", r.Amount, currency, unit)
	} else {
		s = fmt.Sprintf("%s %% of the window's charge", r.Percent)
	}
	if r.Cap != "" {
		s += fmt.Sprintf(", at most %s %s", r.Cap, currency)
	}
	return s
}

// Agreement is an SLA, OLA or UC with its targets.
type Agreement struct {
	ID            string           `json:"id"`
	Code          string           `json:"code"`
	Name          string           `json:"name"`
	Kind          Kind             `json:"kind"`
	State         State            `json:"state"`
	Provider      string           `json:"provider"`
	Customer      string           `json:"customer"`
	Description   string           `json:"description"`
	EffectiveFrom time.Time        `json:"effective_from"`
	EffectiveTo   *time.Time       `json:"effective_to,omitempty"`
	ReviewOn      string           `json:"review_on,omitempty"`
	Currency      string           `json:"currency"`
	Scope         Scope            `json:"scope"`
	Calendar      catalog.Calendar `json:"calendar"`
	Targets       []Target         `json:"targets"`
	Rebates       []Rebate         `json:"rebates"`
	UnderpinnedBy []string         `json:"underpinned_by"`
	CreatedAt     time.Time        `json:"created_at"`
	UpdatedAt     time.Time        `json:"updated_at"`
}

// Target returns the agreement's target with the code.
func (a *Agreement) Target(code string) *Target {
	for i := range a.Targets {
		if a.Targets[i].Code == code {
			return &a.Targets[i]
		}
	}
	return nil
}

// ReviewDue reports whether the review date has come.
func (a *Agreement) ReviewDue(now time.Time) bool {
	return a.ReviewOn != "" && a.ReviewOn <= now.In(a.Calendar.Location()).Format("2006-01-02")
}

// visible reports whether p may read the agreement: provider-wide
// readers see all; others see SLAs made with their org units.
func (a *Agreement) visible(p *access.Principal) bool {
	if p.Can(access.AgreementRead, access.Resource{}) {
		return true
	}
	for _, o := range a.Scope.OrgUnits {
		if p.Can(access.AgreementRead, access.InOrgUnit(o.path)) {
			return true
		}
	}
	return false
}

// AgreementInput defines an agreement (JSON from the API, YAML from the
// CLI, the portal's form). References are codes or IDs.
type AgreementInput struct {
	Code          string           `json:"code" yaml:"code"`
	Name          string           `json:"name" yaml:"name"`
	Kind          Kind             `json:"kind" yaml:"kind"`
	State         State            `json:"state" yaml:"state"`
	Provider      string           `json:"provider" yaml:"provider"`
	Customer      string           `json:"customer" yaml:"customer"`
	Description   string           `json:"description" yaml:"description"`
	EffectiveFrom string           `json:"effective_from" yaml:"effective_from"`
	EffectiveTo   string           `json:"effective_to" yaml:"effective_to"`
	ReviewOn      string           `json:"review_on" yaml:"review_on"`
	Currency      string           `json:"currency" yaml:"currency"`
	Services      []string         `json:"services" yaml:"services"`
	Offerings     []string         `json:"offerings" yaml:"offerings"`
	Plans         []string         `json:"plans" yaml:"plans"` // offering/plan codes or IDs
	OrgUnits      []string         `json:"org_units" yaml:"org_units"`
	Calendar      catalog.Calendar `json:"calendar" yaml:"calendar"`
	Targets       []Target         `json:"targets" yaml:"targets"`
	Rebates       []Rebate         `json:"rebates" yaml:"rebates"`
	UnderpinnedBy []string         `json:"underpinned_by" yaml:"underpinned_by"`
}

// Input returns the agreement as input, for editing.
func (a *Agreement) Input() AgreementInput {
	in := AgreementInput{Code: a.Code, Name: a.Name, Kind: a.Kind, State: a.State, Provider: a.Provider, Customer: a.Customer,
		Description: a.Description, EffectiveFrom: a.EffectiveFrom.In(a.Calendar.Location()).Format("2006-01-02"), ReviewOn: a.ReviewOn,
		Currency: a.Currency, Calendar: a.Calendar, Targets: slices.Clone(a.Targets), Rebates: slices.Clone(a.Rebates), UnderpinnedBy: slices.Clone(a.UnderpinnedBy)}
	if a.EffectiveTo != nil {
		in.EffectiveTo = a.EffectiveTo.In(a.Calendar.Location()).Format("2006-01-02")
	}
	for _, r := range a.Scope.Services {
		in.Services = append(in.Services, r.Code)
	}
	for _, r := range a.Scope.Offerings {
		in.Offerings = append(in.Offerings, r.Code)
	}
	for _, r := range a.Scope.Plans {
		in.Plans = append(in.Plans, r.Code)
	}
	for _, r := range a.Scope.OrgUnits {
		in.OrgUnits = append(in.OrgUnits, r.Code)
	}
	return in
}

// The limits of an agreement. Saving resolves each reference with a
// query inside the write transaction and every pass measures each target
// over up to fourteen windows, so both are bounded.
const (
	// MaxTargets is the most targets (and rebates) an agreement has.
	MaxTargets = 50
	// MaxRefs is the most services, offerings, plans, org units or
	// underpinning agreements an agreement names, each.
	MaxRefs = 100
	// MaxDescription is the longest description, in bytes.
	MaxDescription = 10000
)

var codePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// decimalIn reports whether s is a plain decimal in (lo, hi], or [lo, hi]
// when inclusiveLo.
func decimalIn(s string, lo, hi int64, inclusiveLo bool) bool {
	if strings.ContainsAny(s, "eE/") || len(s) > 40 { // before parsing: 1e999999 is a megabyte
		return false
	}
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok {
		return false
	}
	c := r.Cmp(big.NewRat(lo, 1))
	return (c > 0 || inclusiveLo && c == 0) && r.Cmp(big.NewRat(hi, 1)) <= 0
}

// validate checks the input's shape; references are resolved after.
func (in *AgreementInput) validate() (from time.Time, to *time.Time, err error) {
	in.Code, in.Name = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name)
	in.Provider, in.Customer, in.Currency = strings.TrimSpace(in.Provider), strings.TrimSpace(in.Customer), strings.ToUpper(strings.TrimSpace(in.Currency))
	if in.State == "" {
		in.State = Draft
	}
	var v errs.Validator
	v.Check(codePattern.MatchString(in.Code), "code", "format", "code is 1–63 lower-case letters, digits and dashes, such as desktop-sla")
	v.Check(in.Name != "" && len(in.Name) <= 200, "name", "length", "name is required and must be at most 200 characters")
	v.Check(slices.Contains(Kinds, in.Kind), "kind", "enum", "kind must be sla, ola or uc")
	v.Check(slices.Contains(States, in.State), "state", "enum", "state must be draft, active or retired")
	v.Check(in.Provider != "", "provider", "required", "provider is the party that promises: an IT team, or the supplier of a UC")
	v.Check(in.Customer != "", "customer", "required", "customer is the party promised to: a business unit, or the IT team a UC or OLA serves")
	v.Check(money.ValidCurrency(in.Currency), "currency", "format", "currency is an ISO 4217 code such as USD; rebates are in it")
	v.Check(len(in.Services) > 0, "services", "required", "name at least one service the agreement covers")
	for _, l := range []struct {
		field string
		n     int
	}{{"services", len(in.Services)}, {"offerings", len(in.Offerings)}, {"plans", len(in.Plans)}, {"org_units", len(in.OrgUnits)}, {"underpinned_by", len(in.UnderpinnedBy)}} {
		v.Check(l.n <= MaxRefs, l.field, "count", fmt.Sprintf("%s names at most %d entries", l.field, MaxRefs))
	}
	v.Check(len(in.Targets) <= MaxTargets, "targets", "count", fmt.Sprintf("an agreement has at most %d targets", MaxTargets))
	v.Check(len(in.Rebates) <= MaxTargets, "rebates", "count", fmt.Sprintf("an agreement has at most %d rebates", MaxTargets))
	v.Check(len(in.Description) <= MaxDescription, "description", "length", fmt.Sprintf("description is at most %d characters", MaxDescription))
	v.Check(len(in.Provider) <= 200, "provider", "length", "provider is at most 200 characters")
	v.Check(len(in.Customer) <= 200, "customer", "length", "customer is at most 200 characters")
	v.Check(in.Kind != SLA || len(in.OrgUnits) > 0, "org_units", "required", "an SLA is made with org units: name at least one")
	in.Calendar.Validate(&v, "calendar.")
	loc := in.Calendar.Location()
	f, err1 := time.ParseInLocation("2006-01-02", strings.TrimSpace(in.EffectiveFrom), loc)
	v.Check(err1 == nil, "effective_from", "format", "effective_from is a date, YYYY-MM-DD")
	if s := strings.TrimSpace(in.EffectiveTo); s != "" {
		t, err := time.ParseInLocation("2006-01-02", s, loc)
		v.Check(err == nil && t.After(f), "effective_to", "format", "effective_to is a date (YYYY-MM-DD) after effective_from, or empty for open-ended")
		to = &t
	}
	if in.ReviewOn = strings.TrimSpace(in.ReviewOn); in.ReviewOn != "" {
		_, err := time.Parse("2006-01-02", in.ReviewOn)
		v.Check(err == nil, "review_on", "format", "review_on is a date, YYYY-MM-DD")
	}
	codes := map[string]bool{}
	for i := range in.Targets {
		t := &in.Targets[i]
		t.Code = strings.TrimSpace(t.Code)
		field := fmt.Sprintf("targets[%d]", i)
		v.Check(codePattern.MatchString(t.Code) && !codes[t.Code], field+".code", "format", fmt.Sprintf("target %d: code is unique in the agreement, lower-case letters, digits and dashes", i+1))
		codes[t.Code] = true
		v.Check(slices.Contains(TargetKinds, t.Kind), field+".kind", "enum", fmt.Sprintf("target %d: kind is availability, reliability, response, resolution, fulfilment or meter", i+1))
		v.Check(slices.Contains(WindowKinds, t.Window.Kind), field+".window", "enum", fmt.Sprintf("target %d: window is month, quarter, year, rolling_days or rolling_months", i+1))
		if t.Window.Rolling() {
			v.Check(t.Window.N >= 1 && (t.Window.Kind == RollingMonths && t.Window.N <= 36 || t.Window.Kind == RollingDays && t.Window.N <= 1100), field+".window", "n",
				fmt.Sprintf("target %d: a rolling window needs n: 1–1100 days or 1–36 months", i+1))
		} else {
			t.Window.N = 0
		}
		v.Check(t.AtRiskPercent >= 0 && t.AtRiskPercent <= 100, field+".at_risk_percent", "range", fmt.Sprintf("target %d: at_risk_percent is 1–100 (0 means 75)", i+1))
		switch t.Kind {
		case Availability, Response, Resolution, Fulfilment:
			v.Check(decimalIn(t.Objective, 0, 100, false), field+".objective", "range", fmt.Sprintf("target %d: objective is a percentage above 0 and at most 100, such as 99.5", i+1))
		}
		switch t.Kind {
		case Response, Resolution:
			v.Check(t.Priority >= 0 && t.Priority <= 4, field+".priority", "range", fmt.Sprintf("target %d: priority is 1 (highest) to 4, or none for incidents of every priority", i+1))
			fallthrough
		case Fulfilment:
			v.Check(t.WithinMinutes >= 1, field+".within_minutes", "range", fmt.Sprintf("target %d: within_minutes is the service time allowed, at least 1", i+1))
		case Reliability:
			v.Check(t.MaxBreaks >= 0, field+".max_breaks", "range", fmt.Sprintf("target %d: max_breaks is 0 or more", i+1))
		case Meter:
			t.Meter = strings.TrimSpace(t.Meter)
			v.Check(t.Meter != "", field+".meter", "required", fmt.Sprintf("target %d: meter is the code of the meter measured", i+1))
			v.Check(decimalIn(t.Limit, 0, 1<<40, true), field+".limit", "format", fmt.Sprintf("target %d: limit is a decimal number of the meter's unit", i+1))
		}
	}
	v.Check(len(in.Rebates) == 0 || in.Kind != OLA, "rebates", "kind", "an OLA is between IT teams and carries no rebates; put rebates on the SLA or UC")
	for i := range in.Rebates {
		r := &in.Rebates[i]
		field := fmt.Sprintf("rebates[%d]", i)
		v.Check(in.Kind != UC || r.Kind == PerHour, field+".kind", "uc", fmt.Sprintf("rebate %d: a UC's claim is per_hour (Steward does not hold the supplier's charge)", i+1))
		v.Check(codes[r.Target], field+".target", "unknown", fmt.Sprintf("rebate %d: target must be the code of one of the agreement's targets", i+1))
		switch r.Kind {
		case PerHour:
			_, err := money.Parse(r.Amount, in.Currency)
			v.Check(err == nil && rat(r.Amount).Sign() > 0, field+".amount", "format", fmt.Sprintf("rebate %d: amount per hour is a positive decimal in %s, such as 50.00", i+1, in.Currency))
			v.Check(r.Units >= 0, field+".units", "range", fmt.Sprintf("rebate %d: units is 0 (count the customer's instances) or more", i+1))
			if t := findTarget(in.Targets, r.Target); t != nil && t.Kind != Availability {
				v.Add(field+".kind", "target", fmt.Sprintf("rebate %d: per_hour rebates follow availability targets (hours of downtime); use percent_of_charge for %s", i+1, t.Kind))
			}
		case PercentOfCharge:
			v.Check(decimalIn(r.Percent, 0, 100, false), field+".percent", "range", fmt.Sprintf("rebate %d: percent is above 0 and at most 100", i+1))
		default:
			v.Add(field+".kind", "enum", fmt.Sprintf("rebate %d: kind is per_hour or percent_of_charge", i+1))
		}
		if r.Cap != "" {
			_, err := money.Parse(r.Cap, in.Currency)
			v.Check(err == nil && rat(r.Cap).Sign() > 0, field+".cap", "format", fmt.Sprintf("rebate %d: cap is a positive amount in %s, or empty", i+1, in.Currency))
		}
	}
	v.Check(in.Kind == SLA || len(in.UnderpinnedBy) == 0 || in.Kind == OLA, "underpinned_by", "kind", "only SLAs and OLAs are underpinned by other agreements")
	return f, to, v.Err("the agreement is not valid")
}

func findTarget(ts []Target, code string) *Target {
	for i := range ts {
		if ts[i].Code == code {
			return &ts[i]
		}
	}
	return nil
}

// resolve turns the input's references into the scope, inside tx.
func resolve(ctx context.Context, q sqldb.Querier, in *AgreementInput, selfCode string) (Scope, error) {
	var sc Scope
	var v errs.Validator
	one := func(table, field, ref string, extra string) (Ref, bool) {
		var r Ref
		err := q.QueryRowContext(ctx, `SELECT id, code, name`+extra+` FROM `+table+` WHERE id = $1 OR code = $1`, strings.TrimSpace(ref)).Scan(scanRef(&r, extra != "")...)
		if err != nil {
			v.Add(field, "unknown", fmt.Sprintf("%s: no %s %q", field, strings.TrimSuffix(table, "s"), ref))
			return r, false
		}
		return r, true
	}
	for _, ref := range in.Services {
		if r, ok := one("services", "services", ref, ""); ok {
			sc.Services = append(sc.Services, r)
		}
	}
	for _, ref := range in.Offerings {
		if r, ok := one("offerings", "offerings", ref, ""); ok {
			sc.Offerings = append(sc.Offerings, r)
		}
	}
	for _, ref := range in.Plans {
		var r Ref
		ref = strings.TrimSpace(ref)
		if err := q.QueryRowContext(ctx, `SELECT p.id, f.code || '/' || p.code, f.name || ' ' || p.name FROM plans p JOIN offerings f ON f.id = p.offering_id
			WHERE p.id = $1 OR f.code || '/' || p.code = $1`, ref).Scan(&r.ID, &r.Code, &r.Name); err != nil {
			v.Add("plans", "unknown", fmt.Sprintf("plans: no plan %q (name it offering/plan, such as laptop/standard)", ref))
			continue
		}
		sc.Plans = append(sc.Plans, r)
	}
	for _, ref := range in.OrgUnits {
		if r, ok := one("org_units", "org_units", ref, ", path"); ok {
			sc.OrgUnits = append(sc.OrgUnits, r)
		}
	}
	for i, code := range in.UnderpinnedBy {
		code = strings.TrimSpace(code)
		in.UnderpinnedBy[i] = code
		var kind string
		err := q.QueryRowContext(ctx, `SELECT kind FROM agreements WHERE code = $1`, code).Scan(&kind)
		switch {
		case code == selfCode || code == in.Code:
			v.Add("underpinned_by", "self", "an agreement cannot underpin itself")
		case err != nil:
			v.Add("underpinned_by", "unknown", fmt.Sprintf("underpinned_by: no agreement %q (define the OLA or UC first)", code))
		case kind == string(SLA):
			v.Add("underpinned_by", "kind", fmt.Sprintf("underpinned_by: %s is an SLA; SLAs are underpinned by OLAs and UCs", code))
		}
	}
	if sc.Services == nil {
		sc.Services = []Ref{}
	}
	if sc.Offerings == nil {
		sc.Offerings = []Ref{}
	}
	if sc.Plans == nil {
		sc.Plans = []Ref{}
	}
	if sc.OrgUnits == nil {
		sc.OrgUnits = []Ref{}
	}
	return sc, v.Err("the agreement is not valid")
}

func scanRef(r *Ref, path bool) []any {
	if path {
		return []any{&r.ID, &r.Code, &r.Name, &r.path}
	}
	return []any{&r.ID, &r.Code, &r.Name}
}

const agreementColumns = `id, code, name, kind, state, provider, customer, description, effective_from, effective_to, review_on, currency,
	scope, calendar, targets, rebates, underpinned_by, created_at, updated_at`

func scanAgreement(row sqldb.Scanner) (*Agreement, error) {
	var a Agreement
	var to sql.NullTime
	var scope, cal, targets, rebates, under string
	if err := row.Scan(&a.ID, &a.Code, &a.Name, &a.Kind, &a.State, &a.Provider, &a.Customer, &a.Description, &a.EffectiveFrom, &to, &a.ReviewOn,
		&a.Currency, &scope, &cal, &targets, &rebates, &under, &a.CreatedAt, &a.UpdatedAt); err != nil {
		return nil, err
	}
	a.EffectiveFrom, a.EffectiveTo = a.EffectiveFrom.UTC(), sqldb.TimePtr(to)
	var stored struct {
		Services, Offerings, Plans, OrgUnits []storedRef
	}
	for _, x := range []struct {
		s string
		v any
	}{{scope, &stored}, {cal, &a.Calendar}, {targets, &a.Targets}, {rebates, &a.Rebates}, {under, &a.UnderpinnedBy}} {
		if err := json.Unmarshal([]byte(x.s), x.v); err != nil {
			return nil, fmt.Errorf("agreement %s: %w", a.Code, err)
		}
	}
	conv := func(in []storedRef) []Ref {
		out := make([]Ref, len(in))
		for i, r := range in {
			out[i] = Ref{ID: r.ID, Code: r.Code, Name: r.Name, path: r.Path}
		}
		return out
	}
	a.Scope = Scope{Services: conv(stored.Services), Offerings: conv(stored.Offerings), Plans: conv(stored.Plans), OrgUnits: conv(stored.OrgUnits)}
	return &a, nil
}

// storedRef keeps an org unit's path with the reference, for visibility.
type storedRef struct {
	ID, Code, Name, Path string
}

func storeScope(sc Scope) string {
	conv := func(in []Ref) []storedRef {
		out := make([]storedRef, len(in))
		for i, r := range in {
			out[i] = storedRef{r.ID, r.Code, r.Name, r.path}
		}
		return out
	}
	b, _ := json.Marshal(map[string][]storedRef{"Services": conv(sc.Services), "Offerings": conv(sc.Offerings), "Plans": conv(sc.Plans), "OrgUnits": conv(sc.OrgUnits)})
	return string(b)
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Agreements lists the agreements the caller may read, by code.
func (s *Service) Agreements(ctx context.Context, p *access.Principal) ([]*Agreement, error) {
	if err := p.RequireAnywhere(access.AgreementRead); err != nil {
		return nil, err
	}
	all, err := sqldb.QueryAll(ctx, s.db.Read(), "agreements", scanAgreement, `SELECT `+agreementColumns+` FROM agreements ORDER BY code`)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(a *Agreement) bool { return !a.visible(p) }), nil
}

// Agreement returns one agreement by ID or code.
func (s *Service) Agreement(ctx context.Context, p *access.Principal, ref string) (*Agreement, error) {
	if err := p.RequireAnywhere(access.AgreementRead); err != nil {
		return nil, err
	}
	a, err := getAgreement(ctx, s.db.Read(), ref)
	if err != nil {
		return nil, err
	}
	if !a.visible(p) {
		return nil, errs.NotFound("agreement %q not found", ref)
	}
	return a, nil
}

func getAgreement(ctx context.Context, q sqldb.Querier, ref string) (*Agreement, error) {
	return sqldb.QueryOne(ctx, q, fmt.Sprintf("agreement %q", ref), scanAgreement, `SELECT `+agreementColumns+` FROM agreements WHERE id = $1 OR code = $1`, ref)
}

// SaveAgreement creates the agreement with the input's code or replaces
// it. Callers need agreement.manage. The compliance engine re-measures it
// at once.
func (s *Service) SaveAgreement(ctx context.Context, p *access.Principal, in AgreementInput) (*Agreement, bool, error) {
	if err := p.Require(access.AgreementManage, access.Resource{}); err != nil {
		return nil, false, err
	}
	from, to, err := in.validate()
	if err != nil {
		return nil, false, err
	}
	created := false
	var out *Agreement
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		before, err := getAgreement(ctx, tx, in.Code)
		if err != nil && !errs.Is(err, errs.CodeNotFound) {
			return err
		}
		sc, err := resolve(ctx, tx, &in, in.Code)
		if err != nil {
			return err
		}
		now := sqldb.Time(s.now())
		if in.Targets == nil {
			in.Targets = []Target{}
		}
		if in.Rebates == nil {
			in.Rebates = []Rebate{}
		}
		if in.UnderpinnedBy == nil {
			in.UnderpinnedBy = []string{}
		}
		args := []any{in.Name, in.Kind, in.State, in.Provider, in.Customer, strings.TrimSpace(in.Description), sqldb.Time(from), sqldb.NullTime(to), in.ReviewOn, in.Currency,
			storeScope(sc), jsonText(in.Calendar), jsonText(in.Targets), jsonText(in.Rebates), jsonText(in.UnderpinnedBy), now}
		if before == nil {
			created = true
			_, err = tx.ExecContext(ctx, `INSERT INTO agreements (name, kind, state, provider, customer, description, effective_from, effective_to, review_on, currency,
				scope, calendar, targets, rebates, underpinned_by, updated_at, created_at, id, code, created_by)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18, $19)`,
				append(args, sqldb.NewID(), in.Code, p.UserID)...)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE agreements SET name = $1, kind = $2, state = $3, provider = $4, customer = $5, description = $6, effective_from = $7,
				effective_to = $8, review_on = $9, currency = $10, scope = $11, calendar = $12, targets = $13, rebates = $14, underpinned_by = $15, updated_at = $16
				WHERE id = $17`, append(args, before.ID)...)
		}
		if err != nil {
			return sqldb.Err(err, "agreement")
		}
		if out, err = getAgreement(ctx, tx, in.Code); err != nil {
			return err
		}
		if err := storeScopeRows(ctx, tx, out.ID, sc); err != nil {
			return err
		}
		e := audit.Entry{Action: "agreement.create", ObjectType: "agreement", ObjectID: out.ID, After: out}
		if !created {
			e.Action, e.Before = "agreement.update", before
		}
		if err := s.audit(ctx, tx, p, e); err != nil {
			return err
		}
		return s.changed(ctx, tx)
	})
	if err != nil {
		return nil, false, err
	}
	return out, created, nil
}
