package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Kind is what sort of service an entry is.
type Kind string

// The service kinds.
const (
	KindBusiness  Kind = "business"  // customer-facing, named in business terms
	KindTechnical Kind = "technical" // supporting: compute, storage, network, directory…
	KindExternal  Kind = "external"  // bought from a peer provider
)

// Kinds lists the service kinds.
var Kinds = []Kind{KindBusiness, KindTechnical, KindExternal}

// Lifecycle is where a service is in its life.
type Lifecycle string

// The lifecycle states, in their only order.
const (
	LifecycleProposed Lifecycle = "proposed"
	LifecycleApproved Lifecycle = "approved"
	LifecycleInDesign Lifecycle = "in_design"
	LifecycleLive     Lifecycle = "live"
	LifecycleRetiring Lifecycle = "retiring"
	LifecycleRetired  Lifecycle = "retired"
)

// Lifecycles lists the states in order: a service moves one step forward at a time.
var Lifecycles = []Lifecycle{LifecycleProposed, LifecycleApproved, LifecycleInDesign, LifecycleLive, LifecycleRetiring, LifecycleRetired}

// Next is the one state a service may move to from l, or "" from retired.
func (l Lifecycle) Next() Lifecycle {
	i := slices.Index(Lifecycles, l)
	if i < 0 || i == len(Lifecycles)-1 {
		return ""
	}
	return Lifecycles[i+1]
}

// Orderable reports whether a service in this state takes new orders.
func (l Lifecycle) Orderable() bool { return l == LifecycleLive }

// The enumerations of a service's classification.
var (
	Categories    = []string{"strategic", "operational"}
	Classes       = []string{"core_differentiator", "business_function", "utility"}
	ValueKinds    = []string{"lower_cost", "competitive_advantage", "regulatory"}
	Criticalities = []string{"mission_critical", "high", "medium", "low"}
)

// FocusCategories are FOCUS 1.2's ServiceCategory values: the highest-level
// classification of a service by its core function, read by FinOps tools
// in the billing export. FocusOther is for a service none fits.
var FocusCategories = []string{"AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases", "Developer Tools",
	"Identity", "Integration", "Internet of Things", "Management and Governance", "Media", "Migration", "Mobile", "Multicloud", "Networking",
	"Security", "Storage", "Web", FocusOther}

// FocusOther is the FOCUS ServiceCategory of a service no other fits, and
// the default.
const FocusOther = "Other"

// RoadmapEntry is a planned change to a service.
type RoadmapEntry struct {
	Date        string `json:"date" yaml:"date"` // YYYY-MM-DD, or YYYY-MM
	Title       string `json:"title" yaml:"title"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// Manager names who runs a service for one org unit (business unit, cost centre, geography).
type Manager struct {
	OrgUnitID string `json:"org_unit_id"`
	UserID    string `json:"user_id"`
}

// Service is a portfolio entry.
type Service struct {
	ID                    string         `json:"id"`
	Code                  string         `json:"code"`
	Name                  string         `json:"name"`
	Kind                  Kind           `json:"kind"`
	Lifecycle             Lifecycle      `json:"lifecycle"`
	Description           string         `json:"description"`
	OwnerID               string         `json:"owner_id,omitempty"`
	SponsorID             string         `json:"sponsor_id,omitempty"`
	RelationshipManagerID string         `json:"relationship_manager_id,omitempty"`
	AssignmentGroupID     string         `json:"assignment_group_id,omitempty"`
	SuccessorID           string         `json:"successor_id,omitempty"`
	Managers              []Manager      `json:"managers"`
	Outcomes              []string       `json:"outcomes"`
	BusinessFunctions     []string       `json:"business_functions"`
	ValueKind             string         `json:"value_kind,omitempty"`
	ValueStatement        string         `json:"value_statement"`
	Category              string         `json:"category,omitempty"`
	FocusCategory         string         `json:"focus_category"` // FOCUS ServiceCategory in the billing export: one of FocusCategories
	Class                 string         `json:"class,omitempty"`
	Criticality           string         `json:"criticality,omitempty"`
	Roadmap               []RoadmapEntry `json:"roadmap"`
	Help                  string         `json:"help"`
	RPOMinutes            int            `json:"rpo_minutes"`
	RTOMinutes            int            `json:"rto_minutes"`
	Continuity            string         `json:"continuity"`
	ExternalDependencies  []string       `json:"external_dependencies"`
	Calendar              *Calendar      `json:"calendar,omitempty"`
	CreatedAt             time.Time      `json:"created_at"`
	UpdatedAt             time.Time      `json:"updated_at"`
}

// Resource is the service as a scope: service-scoped grants cover it.
func (s *Service) Resource() access.Resource { return access.Resource{ServiceID: s.ID} }

// details is what the services row keeps as JSON.
type details struct {
	Managers             []Manager      `json:"managers"`
	Outcomes             []string       `json:"outcomes"`
	BusinessFunctions    []string       `json:"business_functions"`
	ValueKind            string         `json:"value_kind"`
	Class                string         `json:"class"`
	Roadmap              []RoadmapEntry `json:"roadmap"`
	ExternalDependencies []string       `json:"external_dependencies"`
	Calendar             *Calendar      `json:"calendar"`
}

// ServiceInput creates a service or replaces its details (not its lifecycle,
// which only Transition changes).
type ServiceInput struct {
	Code                  string         `json:"code"`
	Name                  string         `json:"name"`
	Kind                  Kind           `json:"kind"`
	Description           string         `json:"description"`
	OwnerID               string         `json:"owner_id"`
	SponsorID             string         `json:"sponsor_id"`
	RelationshipManagerID string         `json:"relationship_manager_id"`
	AssignmentGroupID     string         `json:"assignment_group_id"`
	Managers              []Manager      `json:"managers"`
	Outcomes              []string       `json:"outcomes"`
	BusinessFunctions     []string       `json:"business_functions"`
	ValueKind             string         `json:"value_kind"`
	ValueStatement        string         `json:"value_statement"`
	Category              string         `json:"category"`
	FocusCategory         string         `json:"focus_category"` // one of FocusCategories; empty is FocusOther
	Class                 string         `json:"class"`
	Criticality           string         `json:"criticality"`
	Roadmap               []RoadmapEntry `json:"roadmap"`
	Help                  string         `json:"help"`
	RPOMinutes            int            `json:"rpo_minutes"`
	RTOMinutes            int            `json:"rto_minutes"`
	Continuity            string         `json:"continuity"`
	ExternalDependencies  []string       `json:"external_dependencies"`
	Calendar              *Calendar      `json:"calendar"`
}

func oneOf(v *errs.Validator, field, value string, allowed []string) {
	if value != "" {
		v.Check(slices.Contains(allowed, value), field, "enum", field+" must be one of "+strings.Join(allowed, ", "))
	}
}

func cleanList(xs []string) []string {
	out := []string{}
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// Validate checks the input's own fields; references are checked against the database on write.
func (in *ServiceInput) Validate() error {
	in.Code, in.Name, in.Description = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name), strings.TrimSpace(in.Description)
	in.Outcomes, in.BusinessFunctions, in.ExternalDependencies = cleanList(in.Outcomes), cleanList(in.BusinessFunctions), cleanList(in.ExternalDependencies)
	var v errs.Validator
	checkCode(&v, "code", in.Code)
	v.Check(in.Name != "" && len(in.Name) <= 200, "name", "length", "name is required and must be at most 200 characters")
	v.Check(slices.Contains(Kinds, in.Kind), "kind", "enum", "kind must be business, technical or external")
	v.Check(len(in.Description) <= 10000, "description", "length", "description must be at most 10000 characters")
	oneOf(&v, "value_kind", in.ValueKind, ValueKinds)
	oneOf(&v, "category", in.Category, Categories)
	if in.FocusCategory = strings.TrimSpace(in.FocusCategory); in.FocusCategory == "" {
		in.FocusCategory = FocusOther
	}
	v.Check(slices.Contains(FocusCategories, in.FocusCategory), "focus_category", "enum",
		"focus_category is one of FOCUS's service categories: "+strings.Join(FocusCategories, ", "))
	oneOf(&v, "class", in.Class, Classes)
	oneOf(&v, "criticality", in.Criticality, Criticalities)
	v.Check(in.RPOMinutes >= 0 && in.RTOMinutes >= 0, "rpo_minutes", "range", "RPO and RTO are minutes, zero or more")
	for i, r := range in.Roadmap {
		_, err1 := time.Parse("2006-01-02", r.Date)
		_, err2 := time.Parse("2006-01", r.Date)
		v.Check(err1 == nil || err2 == nil, "roadmap", "date", "roadmap entry "+strconv.Itoa(i+1)+" needs a date as YYYY-MM-DD or YYYY-MM")
		v.Check(strings.TrimSpace(r.Title) != "", "roadmap", "title", "roadmap entry "+strconv.Itoa(i+1)+" needs a title")
	}
	for _, m := range in.Managers {
		v.Check(sqldb.ValidID(m.OrgUnitID) && sqldb.ValidID(m.UserID), "managers", "format", "each manager needs an org_unit_id and a user_id")
	}
	if in.Calendar != nil {
		in.Calendar.validate(&v)
	}
	return v.Err("the service is not valid")
}

// checkRefs checks that the people, group and org units named exist.
func (in *ServiceInput) checkRefs(ctx context.Context, q sqldb.Querier) error {
	var v errs.Validator
	for field, id := range map[string]string{"owner_id": in.OwnerID, "sponsor_id": in.SponsorID, "relationship_manager_id": in.RelationshipManagerID} {
		if id != "" {
			v.Check(exists(ctx, q, "users", id), field, "exists", field+" must be the ID of an existing user")
		}
	}
	if in.AssignmentGroupID != "" {
		v.Check(exists(ctx, q, "assignment_groups", in.AssignmentGroupID), "assignment_group_id", "exists", "assignment_group_id must be the ID of an existing assignment group")
	}
	for _, m := range in.Managers {
		v.Check(exists(ctx, q, "org_units", m.OrgUnitID) && exists(ctx, q, "users", m.UserID), "managers", "exists", "each manager must name an existing org unit and user")
	}
	return v.Err("the service refers to something that does not exist")
}

const serviceColumns = `id, code, name, kind, lifecycle, description, COALESCE(owner_id, ''), COALESCE(sponsor_id, ''),
	COALESCE(relationship_manager_id, ''), COALESCE(assignment_group_id, ''), COALESCE(successor_id, ''),
	category, focus_category, criticality, value_statement, help, rpo_minutes, rto_minutes, continuity, details, created_at, updated_at`

func scanService(row sqldb.Scanner) (*Service, error) {
	var s Service
	var d string
	err := row.Scan(&s.ID, &s.Code, &s.Name, &s.Kind, &s.Lifecycle, &s.Description, &s.OwnerID, &s.SponsorID,
		&s.RelationshipManagerID, &s.AssignmentGroupID, &s.SuccessorID, &s.Category, &s.FocusCategory, &s.Criticality, &s.ValueStatement,
		&s.Help, &s.RPOMinutes, &s.RTOMinutes, &s.Continuity, &d, &s.CreatedAt, &s.UpdatedAt)
	if err != nil {
		return nil, err
	}
	var dt details
	if err := json.Unmarshal([]byte(d), &dt); err != nil {
		return nil, err
	}
	s.Managers, s.Outcomes, s.BusinessFunctions, s.ValueKind, s.Class = dt.Managers, dt.Outcomes, dt.BusinessFunctions, dt.ValueKind, dt.Class
	s.Roadmap, s.ExternalDependencies, s.Calendar = dt.Roadmap, dt.ExternalDependencies, dt.Calendar
	for _, l := range []*[]string{&s.Outcomes, &s.BusinessFunctions, &s.ExternalDependencies} {
		if *l == nil {
			*l = []string{}
		}
	}
	if s.Managers == nil {
		s.Managers = []Manager{}
	}
	if s.Roadmap == nil {
		s.Roadmap = []RoadmapEntry{}
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return &s, nil
}

// getService finds a service by ID or code.
func getService(ctx context.Context, q sqldb.Querier, ref string) (*Service, error) {
	col := "code"
	if sqldb.ValidID(ref) {
		col = "id"
	}
	return sqldb.QueryOne(ctx, q, fmt.Sprintf("service %q", ref), scanService, `SELECT `+serviceColumns+` FROM services WHERE `+col+` = $1`, ref)
}

// Service returns one service by ID or code. Callers need service.read on it.
func (c *Catalog) Service(ctx context.Context, p *access.Principal, ref string) (*Service, error) {
	s, err := getService(ctx, c.db.Read(), ref)
	if err != nil {
		return nil, err
	}
	if !p.Can(access.ServiceRead, s.Resource()) {
		if p == nil {
			return nil, errs.Unauthenticated("sign in to see the portfolio")
		}
		return nil, errs.NotFound("service %q not found", ref)
	}
	return s, nil
}

// ServiceFilter narrows Services.
type ServiceFilter struct {
	Lifecycle Lifecycle
	Kind      Kind
	Query     string // matched against code, name, description and outcomes
	// Page is the page ServicePage reads.
	Page sqldb.Page
}

func (s *Service) matches(q string) bool {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return true
	}
	text := strings.ToLower(s.Code + " " + s.Name + " " + s.Description + " " + strings.Join(s.Outcomes, " ") + " " + strings.Join(s.BusinessFunctions, " "))
	for _, w := range strings.Fields(q) {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

// Services lists the services the caller may read, by name. Callers need
// service.read (globally, or on the services they are granted).
func (c *Catalog) Services(ctx context.Context, p *access.Principal, f ServiceFilter) ([]*Service, error) {
	if err := p.RequireAnywhere(access.ServiceRead); err != nil {
		return nil, err
	}
	all, err := allServices(ctx, c.db.Read())
	if err != nil {
		return nil, err
	}
	out := []*Service{}
	for _, s := range all {
		if p.Can(access.ServiceRead, s.Resource()) && (f.Lifecycle == "" || s.Lifecycle == f.Lifecycle) &&
			(f.Kind == "" || s.Kind == f.Kind) && s.matches(f.Query) {
			out = append(out, s)
		}
	}
	return out, nil
}

func allServices(ctx context.Context, q sqldb.Querier) ([]*Service, error) {
	return queryServices(ctx, q, "")
}

// queryServices reads the services matching where, by name.
func queryServices(ctx context.Context, q sqldb.Querier, where string, args ...any) ([]*Service, error) {
	return sqldb.QueryAll(ctx, q, "services", scanService, `SELECT `+serviceColumns+` FROM services `+where+` ORDER BY name, code`, args...)
}

func (in *ServiceInput) details() string {
	return marshal(details{Managers: in.Managers, Outcomes: in.Outcomes, BusinessFunctions: in.BusinessFunctions,
		ValueKind: in.ValueKind, Class: in.Class, Roadmap: in.Roadmap, ExternalDependencies: in.ExternalDependencies, Calendar: in.Calendar})
}

// CreateService adds a proposed service to the portfolio. Callers need
// portfolio.manage. Errors: invalid input, a conflict when the code is taken.
func (c *Catalog) CreateService(ctx context.Context, p *access.Principal, in ServiceInput) (*Service, error) {
	if err := p.Require(access.PortfolioManage, access.Resource{}); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *Service
	err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		out, err = c.createService(ctx, tx, p, in, LifecycleProposed, "entered into the portfolio")
		return err
	})
	return out, err
}

// CreateExternalService enters an external service straight into the live
// state, with the reason recorded: a service imported from a peer
// provider's catalog is already live where it is made. Callers need
// portfolio.manage.
func (c *Catalog) CreateExternalService(ctx context.Context, p *access.Principal, in ServiceInput, reason string) (*Service, error) {
	if err := p.Require(access.PortfolioManage, access.Resource{}); err != nil {
		return nil, err
	}
	in.Kind = KindExternal
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *Service
	err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		out, err = c.createService(ctx, tx, p, in, LifecycleLive, reason)
		return err
	})
	return out, err
}

func (c *Catalog) createService(ctx context.Context, tx *sqldb.Tx, p *access.Principal, in ServiceInput, state Lifecycle, reason string) (*Service, error) {
	if err := in.checkRefs(ctx, tx); err != nil {
		return nil, err
	}
	now := sqldb.Time(c.now())
	id := sqldb.NewID()
	_, err := tx.ExecContext(ctx, `INSERT INTO services (id, code, name, kind, lifecycle, description, owner_id, sponsor_id,
		relationship_manager_id, assignment_group_id, category, criticality, value_statement, help, rpo_minutes, rto_minutes,
		continuity, details, focus_category, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20)`,
		id, in.Code, in.Name, in.Kind, state, in.Description, nullString(in.OwnerID), nullString(in.SponsorID),
		nullString(in.RelationshipManagerID), nullString(in.AssignmentGroupID), in.Category, in.Criticality, in.ValueStatement,
		in.Help, in.RPOMinutes, in.RTOMinutes, in.Continuity, in.details(), in.FocusCategory, now)
	if err != nil {
		if errs.Is(sqldb.Err(err, "service"), errs.CodeConflict) {
			return nil, errs.Conflict("a service with the code %q already exists; choose another code", in.Code)
		}
		return nil, sqldb.Err(err, "service")
	}
	if err := c.recordTransition(ctx, tx, p, id, "", state, reason); err != nil {
		return nil, err
	}
	s, err := getService(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	return s, c.audit(ctx, tx, p, audit.Entry{Action: "service.create", ObjectType: "service", ObjectID: id, After: s})
}

// UpdateService replaces a service's details. Callers need service.manage
// on the service (its owner, or a portfolio manager).
func (c *Catalog) UpdateService(ctx context.Context, p *access.Principal, ref string, in ServiceInput) (*Service, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *Service
	err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		before, err := getService(ctx, tx, ref)
		if err != nil {
			return err
		}
		if err := p.Require(access.ServiceManage, before.Resource()); err != nil {
			return err
		}
		out, err = c.updateService(ctx, tx, p, before, in)
		return err
	})
	return out, err
}

func (c *Catalog) updateService(ctx context.Context, tx *sqldb.Tx, p *access.Principal, before *Service, in ServiceInput) (*Service, error) {
	if err := in.checkRefs(ctx, tx); err != nil {
		return nil, err
	}
	_, err := tx.ExecContext(ctx, `UPDATE services SET code = $1, name = $2, kind = $3, description = $4, owner_id = $5, sponsor_id = $6,
		relationship_manager_id = $7, assignment_group_id = $8, category = $9, criticality = $10, value_statement = $11, help = $12,
		rpo_minutes = $13, rto_minutes = $14, continuity = $15, details = $16, updated_at = $17, focus_category = $19 WHERE id = $18`,
		in.Code, in.Name, in.Kind, in.Description, nullString(in.OwnerID), nullString(in.SponsorID), nullString(in.RelationshipManagerID),
		nullString(in.AssignmentGroupID), in.Category, in.Criticality, in.ValueStatement, in.Help, in.RPOMinutes, in.RTOMinutes,
		in.Continuity, in.details(), sqldb.Time(c.now()), before.ID, in.FocusCategory)
	if err != nil {
		if errs.Is(sqldb.Err(err, "service"), errs.CodeConflict) {
			return nil, errs.Conflict("a service with the code %q already exists; choose another code", in.Code)
		}
		return nil, sqldb.Err(err, "service")
	}
	after, err := getService(ctx, tx, before.ID)
	if err != nil {
		return nil, err
	}
	return after, c.audit(ctx, tx, p, audit.Entry{Action: "service.update", ObjectType: "service", ObjectID: before.ID, Before: before, After: after})
}

// Input returns the input that would recreate the service's details.
func (s *Service) Input() ServiceInput {
	return ServiceInput{Code: s.Code, Name: s.Name, Kind: s.Kind, Description: s.Description, OwnerID: s.OwnerID, SponsorID: s.SponsorID,
		RelationshipManagerID: s.RelationshipManagerID, AssignmentGroupID: s.AssignmentGroupID, Managers: s.Managers, Outcomes: s.Outcomes,
		BusinessFunctions: s.BusinessFunctions, ValueKind: s.ValueKind, ValueStatement: s.ValueStatement, Category: s.Category, FocusCategory: s.FocusCategory, Class: s.Class,
		Criticality: s.Criticality, Roadmap: s.Roadmap, Help: s.Help, RPOMinutes: s.RPOMinutes, RTOMinutes: s.RTOMinutes,
		Continuity: s.Continuity, ExternalDependencies: s.ExternalDependencies, Calendar: s.Calendar}
}

// Transition is one recorded lifecycle step.
type Transition struct {
	ID        string    `json:"id"`
	From      Lifecycle `json:"from"`
	To        Lifecycle `json:"to"`
	ActorID   string    `json:"actor_id"`
	ActorName string    `json:"actor_name"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

// TransitionInput moves a service one step on.
type TransitionInput struct {
	To     Lifecycle `json:"to"`
	Reason string    `json:"reason"`
	// SuccessorID names the service that replaces a retiring one (optional).
	SuccessorID string `json:"successor_id"`
}

func (c *Catalog) recordTransition(ctx context.Context, tx *sqldb.Tx, p *access.Principal, serviceID string, from, to Lifecycle, reason string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO service_transitions (id, service_id, from_state, to_state, actor_id, actor_name, reason, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, sqldb.NewID(), serviceID, from, to, p.UserID, p.Name, reason, sqldb.Time(c.now()))
	return sqldb.Err(err, "service transition")
}

// Transition moves a service to the next state of its lifecycle, recording
// who and why. Callers need portfolio.manage. Errors: invalid when the step
// is not the legal next one or no reason is given.
func (c *Catalog) Transition(ctx context.Context, p *access.Principal, ref string, in TransitionInput) (*Service, error) {
	if err := p.Require(access.PortfolioManage, access.Resource{}); err != nil {
		return nil, err
	}
	in.Reason = strings.TrimSpace(in.Reason)
	var out *Service
	err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		before, err := getService(ctx, tx, ref)
		if err != nil {
			return err
		}
		var v errs.Validator
		next := before.Lifecycle.Next()
		if !v.Check(in.To == next && next != "", "to", "transition", illegalTransition(before.Lifecycle, in.To)) {
			return v.Err("that lifecycle step is not allowed")
		}
		v.Check(in.Reason != "" && len(in.Reason) <= 2000, "reason", "required", "say why the service moves on (at most 2000 characters)")
		if in.SuccessorID != "" {
			v.Check(in.To == LifecycleRetiring, "successor_id", "state", "a successor is named when a service starts retiring")
			succ, err := getService(ctx, tx, in.SuccessorID)
			if v.Check(err == nil, "successor_id", "exists", "successor_id must name an existing service") {
				v.Check(succ.ID != before.ID, "successor_id", "self", "a service cannot succeed itself")
				in.SuccessorID = succ.ID
			}
		}
		if err := v.Err("the lifecycle step is not valid"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE services SET lifecycle = $1, successor_id = COALESCE($2, successor_id), updated_at = $3 WHERE id = $4 AND lifecycle = $5`,
			in.To, nullString(in.SuccessorID), sqldb.Time(c.now()), before.ID, before.Lifecycle); err != nil {
			return sqldb.Err(err, "service")
		}
		if err := c.recordTransition(ctx, tx, p, before.ID, before.Lifecycle, in.To, in.Reason); err != nil {
			return err
		}
		if out, err = getService(ctx, tx, before.ID); err != nil {
			return err
		}
		return c.audit(ctx, tx, p, audit.Entry{Action: "service.transition", ObjectType: "service", ObjectID: before.ID,
			Before: map[string]any{"lifecycle": before.Lifecycle}, After: map[string]any{"lifecycle": in.To, "reason": in.Reason, "successor_id": out.SuccessorID}})
	})
	return out, err
}

func illegalTransition(from, to Lifecycle) string {
	next := from.Next()
	if next == "" {
		return "a retired service stays retired"
	}
	if !slices.Contains(Lifecycles, to) {
		return "to must be one of " + strings.Join(lifecycleNames(), ", ")
	}
	return "a " + strings.ReplaceAll(string(from), "_", " ") + " service can only move to " + strings.ReplaceAll(string(next), "_", " ") + ", not to " + strings.ReplaceAll(string(to), "_", " ")
}

func lifecycleNames() []string {
	var out []string
	for _, l := range Lifecycles {
		out = append(out, string(l))
	}
	return out
}

// Transitions lists a service's lifecycle history, oldest first. Callers need service.read on it.
func (c *Catalog) Transitions(ctx context.Context, p *access.Principal, ref string) ([]*Transition, error) {
	s, err := c.Service(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	return sqldb.QueryAll(ctx, c.db.Read(), "service transitions", func(row sqldb.Scanner) (*Transition, error) {
		var t Transition
		err := row.Scan(&t.ID, &t.From, &t.To, &t.ActorID, &t.ActorName, &t.Reason, &t.At)
		t.At = t.At.UTC()
		return &t, err
	}, `SELECT id, from_state, to_state, actor_id, actor_name, reason, at FROM service_transitions WHERE service_id = $1 ORDER BY at, id`, s.ID)
}
