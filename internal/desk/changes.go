package desk

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Change management (issue 20). A request for change is a ticket of kind
// change with a plan: its type, risk, implementation and backout plans and
// the window it is planned for. Standard changes come from pre-approved
// templates and need no decision; normal changes go to the change
// advisory board through the approval policies whose subject is change
// (CEL over the change, as orders' policies are over the order: "risk
// high or a mission-critical service needs the CAB"), and to the change
// authority (a change manager) when no policy matches; emergency changes
// go to the emergency CAB (a change manager) whatever the policies say.
// A change is implemented (in progress, resolved) only once approved.
//
// The change calendar shows the changes planned in a span against the
// services' maintenance windows and the change freezes, and flags
// conflicts: a change outside its service's maintenance windows, within a
// freeze, or overlapping a change to the same service or one it stands on
// or that stands on it (the service map).

// ChangeType is how a change is authorised.
type ChangeType string

// The change types.
const (
	StandardChange  ChangeType = "standard"  // pre-approved, from a template
	NormalChange    ChangeType = "normal"    // decided by the change advisory board
	EmergencyChange ChangeType = "emergency" // decided by the emergency CAB, at once
)

// Risks are a change's risk levels.
var Risks = []string{"low", "medium", "high"}

// Approval states of a change.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
	// ApprovalWithdrawn: its requester (or those who work it) withdrew
	// it before it was implemented.
	ApprovalWithdrawn = "withdrawn"
)

// Bounds of changes (docs/limits.md).
const (
	MaxPlan = 20000
	// MaxChangeWindow is the longest planned window of one change.
	MaxChangeWindow = 31 * 24 * time.Hour
	// MaxCalendarSpan is the longest span the change calendar shows at once.
	MaxCalendarSpan = 92 * 24 * time.Hour
)

// maxCalendar is the most changes the change calendar lists over its
// span, at most MaxCalendarSpan (a variable for the test that fills it).
var maxCalendar = 1000

// The emergency CAB and the change authority: who decides changes that
// no policy routes.
const (
	emergencyCAB    = "Emergency CAB"
	changeAuthority = "Change authority"
)

// ChangeInput is the plan of a request for change (RaiseInput.Change).
// Times are RFC 3339.
type ChangeInput struct {
	// Type is standard (with Template), normal (the default) or emergency.
	Type ChangeType `json:"type"`
	// Template (ID or name) raises a standard change from a pre-approved
	// template: its service, texts, plans and risk, and its duration from
	// PlannedStart.
	Template     string `json:"template,omitempty"`
	Risk         string `json:"risk"`
	Plan         string `json:"plan"`
	BackoutPlan  string `json:"backout_plan"`
	PlannedStart string `json:"planned_start"`
	PlannedEnd   string `json:"planned_end"`
}

// ChangePlan is a change's plan and where its approval stands.
type ChangePlan struct {
	Type         ChangeType `json:"type"`
	Risk         string     `json:"risk"`
	Plan         string     `json:"plan"`
	BackoutPlan  string     `json:"backout_plan"`
	PlannedStart time.Time  `json:"planned_start"`
	PlannedEnd   time.Time  `json:"planned_end"`
	Template     *Ref       `json:"template,omitempty"`
	// Approval is pending, approved or rejected.
	Approval  string     `json:"approval"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	// ImplementedAt is when work on it first started (in progress).
	ImplementedAt *time.Time        `json:"implemented_at,omitempty"`
	Approvals     []*ChangeApproval `json:"approvals,omitempty"`
	Conflicts     []Conflict        `json:"conflicts"`

	raisedBy string // who raised it (the requester may be someone else)
}

// ChangeApproval is one decision a change waits for or got.
type ChangeApproval struct {
	ID     string `json:"id"`
	Step   int    `json:"step"`
	Policy string `json:"policy"`
	// Approver says who decides, in words ("a change manager", "the owner of Email").
	Approver     string     `json:"approver"`
	ApproverKind string     `json:"approver_kind"`
	ApproverRole string     `json:"approver_role,omitempty"`
	State        string     `json:"state"`
	DecidedBy    string     `json:"decided_by,omitempty"`
	Comment      string     `json:"comment,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	DecidedAt    *time.Time `json:"decided_at,omitempty"`

	approverUser string
}

// Conflict is why a change's window is a worry.
type Conflict struct {
	// Kind is outside_window, freeze or overlap.
	Kind    string `json:"kind"`
	Message string `json:"message"`
	// With is the other change of an overlap, or the freeze.
	With string `json:"with,omitempty"`
}

// parseWhen reads an RFC 3339 time into v's field.
func parseWhen(v *errs.Validator, field, s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		v.Add(field, "required", field+" is required (RFC 3339, such as 2026-12-05T22:00:00Z)")
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		v.Add(field, "format", field+" is a time in RFC 3339, such as 2026-12-05T22:00:00Z")
		return time.Time{}, false
	}
	if t.Year() < 2000 || t.Year() > 9000 {
		v.Add(field, "range", field+" is between the years 2000 and 9000")
		return time.Time{}, false
	}
	return sqldb.Time(t), true
}

// planned is a checked change plan, ready to be written.
type planned struct {
	ChangePlan
	templateID string
	routes     []*ChangeApproval
}

// template is a standard change template as raising reads it.
func templateByRef(ctx context.Context, q sqldb.Querier, ref string) (*Template, error) {
	ref = strings.TrimSpace(ref)
	t, err := scanTemplate(q.QueryRowContext(ctx, `SELECT `+templateColumns+templateFrom+` WHERE ct.id = $1 OR LOWER(ct.name) = LOWER($1)`, ref))
	if err != nil {
		if err == sql.ErrNoRows {
			return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the ticket is not valid",
				Fields: []errs.FieldError{{Field: "change.template", Rule: "exists", Message: fmt.Sprintf("no standard change template %q", ref)}}}
		}
		return nil, sqldb.Err(err, "change template")
	}
	if !t.Active {
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the ticket is not valid",
			Fields: []errs.FieldError{{Field: "change.template", Rule: "active", Message: fmt.Sprintf("the template %q is retired", t.Name)}}}
	}
	return t, nil
}

// fromTemplate fills a standard change's texts and plan from its template
// where the input leaves them empty.
func (s *Service) fromTemplate(ctx context.Context, in *RaiseInput) (*Template, error) {
	if in.Kind != Change || in.Change == nil || strings.TrimSpace(in.Change.Template) == "" {
		return nil, nil
	}
	tpl, err := templateByRef(ctx, s.db.Read(), in.Change.Template)
	if err != nil {
		return nil, err
	}
	c := in.Change
	if c.Type == "" {
		c.Type = StandardChange
	}
	if strings.TrimSpace(in.Service) == "" {
		in.Service = tpl.Service.ID
	}
	if strings.TrimSpace(in.Summary) == "" {
		in.Summary = tpl.Summary
	}
	if strings.TrimSpace(in.Description) == "" {
		in.Description = tpl.Description
	}
	// What was pre-approved is the template's plan, risk and duration: a
	// standard change does exactly that, or it is a normal change.
	var v errs.Validator
	differs := func(got, want, field, what string) {
		got = strings.TrimSpace(got)
		v.Check(got == "" || got == want, field, "template", fmt.Sprintf("a standard change follows its template's %s: raise a normal change to do otherwise", what))
	}
	differs(c.Plan, tpl.Plan, "change.plan", "plan")
	differs(c.BackoutPlan, tpl.BackoutPlan, "change.backout_plan", "backout plan")
	differs(c.Risk, tpl.Risk, "change.risk", "risk")
	c.Plan, c.BackoutPlan, c.Risk = tpl.Plan, tpl.BackoutPlan, tpl.Risk
	if start, err := time.Parse(time.RFC3339, strings.TrimSpace(c.PlannedStart)); err == nil {
		end := start.Add(time.Duration(tpl.DurationMinutes) * time.Minute)
		if e, err := time.Parse(time.RFC3339, strings.TrimSpace(c.PlannedEnd)); strings.TrimSpace(c.PlannedEnd) != "" && (err != nil || !e.Equal(end)) {
			v.Add("change.planned_end", "template", fmt.Sprintf("a standard change takes its template's %d minutes: leave planned_end empty", tpl.DurationMinutes))
		}
		c.PlannedEnd = end.Format(time.RFC3339)
	}
	return tpl, v.Err("the ticket is not valid")
}

// planChange checks a change's plan, finds its conflicts and routes it:
// from the read pool, before the write transaction.
func (s *Service) planChange(ctx context.Context, q sqldb.Querier, p *access.Principal, requesterID string, svc *serviceRow, in *RaiseInput, tpl *Template, ouCode string, priority int) (*planned, error) {
	c := in.Change
	if c == nil {
		c = &ChangeInput{}
	}
	var v errs.Validator
	if c.Type == "" {
		c.Type = NormalChange
	}
	c.Risk, c.Plan, c.BackoutPlan = strings.TrimSpace(c.Risk), strings.TrimSpace(c.Plan), strings.TrimSpace(c.BackoutPlan)
	if c.Risk == "" {
		c.Risk = "medium"
	}
	v.Check(slices.Contains([]ChangeType{StandardChange, NormalChange, EmergencyChange}, c.Type), "change.type", "enum", "change.type is standard, normal or emergency")
	if c.Type == StandardChange {
		v.Check(tpl != nil, "change.template", "required", "a standard change is raised from a pre-approved template: name it in change.template")
	}
	if tpl != nil {
		v.Check(c.Type == StandardChange, "change.type", "template", "a change from a template is a standard change")
		v.Check(tpl.Service.ID == svc.ID, "change.template", "service", fmt.Sprintf("the template %q is for %s, not %s", tpl.Name, tpl.Service.Name, svc.Name))
	}
	v.Check(slices.Contains(Risks, c.Risk), "change.risk", "enum", "change.risk is low, medium or high")
	textCheck(&v, c.Plan, "change.plan", MaxPlan, c.Type != EmergencyChange)
	// An emergency may be done before its implementation plan is written,
	// never without knowing how to back it out.
	textCheck(&v, c.BackoutPlan, "change.backout_plan", MaxPlan, true)
	start, okStart := parseWhen(&v, "change.planned_start", c.PlannedStart)
	end, okEnd := parseWhen(&v, "change.planned_end", c.PlannedEnd)
	if okStart && okEnd {
		if v.Check(end.After(start), "change.planned_end", "order", "change.planned_end is after change.planned_start") {
			v.Check(end.Sub(start) <= MaxChangeWindow, "change.planned_end", "range", "a change is planned for at most 31 days: split longer work into several changes")
		}
	}
	if err := v.Err("the ticket is not valid"); err != nil {
		return nil, err
	}
	pl := &planned{ChangePlan: ChangePlan{Type: c.Type, Risk: c.Risk, Plan: c.Plan, BackoutPlan: c.BackoutPlan, PlannedStart: start, PlannedEnd: end, Approval: ApprovalPending}}
	if tpl != nil {
		pl.templateID, pl.Template = tpl.ID, &Ref{ID: tpl.ID, Name: tpl.Name}
	}
	cals, err := s.calendarsOf(ctx, q, svc.ID)
	if err != nil {
		return nil, err
	}
	conflicts, err := s.conflicts(ctx, q, svc.ID, cals, start, end, "", &lookups{viewer: p})
	if err != nil {
		return nil, err
	}
	pl.Conflicts = conflicts
	switch c.Type {
	case StandardChange:
		pl.Approval = ApprovalApproved
	case EmergencyChange:
		pl.routes = []*ChangeApproval{{Step: 1, Policy: emergencyCAB, ApproverKind: string(orders.ApproverRole), ApproverRole: string(access.RoleChangeManager)}}
	default:
		if pl.routes, err = s.routeChange(ctx, q, p, requesterID, svc, in, ouCode, priority, pl); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

// changeVars is what change policies read (orders.Policy.Subject).
func changeVars(pl *planned, svcCode, svcKind, criticality, ouCode string, in *RaiseInput, priority int) map[string]any {
	outside := false
	for _, c := range pl.Conflicts {
		outside = outside || c.Kind == "outside_window"
	}
	return map[string]any{
		"type": string(pl.Type), "risk": pl.Risk, "impact": int64(in.Impact), "urgency": int64(in.Urgency), "priority": int64(priority),
		"service": svcCode, "service_kind": svcKind, "criticality": criticality, "org_unit": ouCode,
		"duration_hours": pl.PlannedEnd.Sub(pl.PlannedStart).Hours(), "outside_window": outside, "conflicts": int64(len(pl.Conflicts)),
	}
}

// routeChange runs the change policies: each that matches asks its
// approver at its step (one decision per step and approver); a policy that
// fails, or names a sponsor or owner the service lacks (or who raised the
// change), sends its step to a change manager. No match: the change
// authority (a change manager) decides.
func (s *Service) routeChange(ctx context.Context, q sqldb.Querier, p *access.Principal, requesterID string, svc *serviceRow, in *RaiseInput, ouCode string, priority int, pl *planned) ([]*ChangeApproval, error) {
	policies, err := orders.ChangePolicies(ctx, q)
	if err != nil {
		return nil, err
	}
	var kind, crit, sponsor, owner string
	if err := q.QueryRowContext(ctx, `SELECT kind, criticality, COALESCE(sponsor_id, ''), COALESCE(owner_id, '') FROM services WHERE id = $1`, svc.ID).
		Scan(&kind, &crit, &sponsor, &owner); err != nil {
		return nil, sqldb.Err(err, "service")
	}
	vars := changeVars(pl, svc.Code, kind, crit, ouCode, in, priority)
	type key struct {
		step       int
		role, user string
	}
	seen := map[key]bool{}
	var out []*ChangeApproval
	for _, pol := range policies {
		match, err := orders.EvaluateChange(ctx, pol, vars)
		a := &ChangeApproval{Step: pol.Step, Policy: pol.Name, ApproverKind: string(pol.ApproverKind), ApproverRole: string(pol.ApproverRole)}
		switch {
		case err != nil:
			a.Policy = fmt.Sprintf("%s (failed: a change manager decides)", pol.Name)
			a.ApproverKind, a.ApproverRole = string(orders.ApproverRole), string(access.RoleChangeManager)
		case !match:
			continue
		case pol.ApproverKind == orders.ApproverSponsor || pol.ApproverKind == orders.ApproverOwner:
			a.approverUser, a.ApproverRole = sponsor, ""
			if pol.ApproverKind == orders.ApproverOwner {
				a.approverUser = owner
			}
			if a.approverUser == "" || a.approverUser == p.UserID || a.approverUser == requesterID {
				a.approverUser = ""
				a.ApproverKind, a.ApproverRole = string(orders.ApproverRole), string(access.RoleChangeManager)
			}
		}
		k := key{a.Step, a.ApproverRole, a.approverUser}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, a)
	}
	if len(out) == 0 {
		out = []*ChangeApproval{{Step: 1, Policy: changeAuthority, ApproverKind: string(orders.ApproverRole), ApproverRole: string(access.RoleChangeManager)}}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out, nil
}

// insertChange writes a change's plan and the approvals it waits for, in
// the transaction that raises it, and asks the first step's approvers.
func (s *Service) insertChange(ctx context.Context, tx *sqldb.Tx, p *access.Principal, t *Ticket, pl *planned, now time.Time) error {
	var decided any
	if pl.Approval == ApprovalApproved {
		decided, pl.DecidedAt = now, &now
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_changes (ticket_id, change_type, risk, plan, backout_plan, planned_start, planned_end, template_id, approval, decided_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, t.ID, pl.Type, pl.Risk, pl.Plan, pl.BackoutPlan, pl.PlannedStart, pl.PlannedEnd,
		nilIfEmpty(pl.templateID), pl.Approval, decided); err != nil {
		return sqldb.Err(err, "change")
	}
	for _, a := range pl.routes {
		a.ID, a.State, a.CreatedAt = sqldb.NewID(), ApprovalPending, now
		if _, err := tx.ExecContext(ctx, `INSERT INTO change_approvals (id, ticket_id, step, policy_name, approver_kind, approver_role, approver_user_id, state,
			decided_by_id, decided_by_name, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', '', '', '', $8)`,
			a.ID, t.ID, a.Step, a.Policy, a.ApproverKind, a.ApproverRole, nilIfEmpty(a.approverUser), now); err != nil {
			return sqldb.Err(err, "change approval")
		}
	}
	plan := pl.ChangePlan
	plan.Approvals = pl.routes
	for _, a := range plan.Approvals {
		a.Approver = approverLabel(a, "")
	}
	t.Change = &plan
	if pl.Approval == ApprovalApproved {
		return addComment(ctx, tx, t.ID, p.UserID, false, fmt.Sprintf("Standard change from the template %q: pre-approved.", pl.Template.Name), now)
	}
	return s.askStep(ctx, tx, p, t, pl.routes)
}

// askStep tells the approvers of the lowest pending step.
func (s *Service) askStep(ctx context.Context, tx *sqldb.Tx, p *access.Principal, t *Ticket, as []*ChangeApproval) error {
	step := 0
	n := &outbox.Notice{Title: fmt.Sprintf("Change %s waits for your decision: %s", t.Reference, t.Summary), Link: "/changes/cab",
		Body: fmt.Sprintf("%s change to %s, planned %s.", t.Service.Name, t.Service.Name, t.Change.PlannedStart.Format("2 Jan 2006 15:04 MST"))}
	if t.Requester != nil {
		n.Except = []string{t.Requester.ID}
	}
	for _, a := range as {
		if a.State != ApprovalPending || (step != 0 && a.Step != step) {
			continue
		}
		step = a.Step
		if a.approverUser != "" {
			n.Users = append(n.Users, a.approverUser)
		} else if a.ApproverRole != "" {
			n.Roles = append(n.Roles, access.Role(a.ApproverRole))
		}
	}
	if step == 0 {
		return nil
	}
	n.Body = fmt.Sprintf("A %s-risk %s change to %s, planned from %s.", t.Change.Risk, t.Change.Type, t.Service.Name, t.Change.PlannedStart.Format("2 Jan 2006 15:04 MST"))
	return s.emit(ctx, tx, p, t, "change.approval_requested", n)
}

const approvalColumns = `ca.id, ca.step, ca.policy_name, ca.approver_kind, ca.approver_role, COALESCE(ca.approver_user_id, ''), COALESCE(au.name, ''),
	ca.state, ca.decided_by_name, ca.comment, ca.created_at, ca.decided_at`

func scanApproval(row sqldb.Scanner) (*ChangeApproval, error) {
	var a ChangeApproval
	var userName string
	var decided sql.NullTime
	if err := row.Scan(&a.ID, &a.Step, &a.Policy, &a.ApproverKind, &a.ApproverRole, &a.approverUser, &userName, &a.State, &a.DecidedBy, &a.Comment,
		&a.CreatedAt, &decided); err != nil {
		return nil, err
	}
	a.CreatedAt = a.CreatedAt.UTC()
	if decided.Valid {
		d := decided.Time.UTC()
		a.DecidedAt = &d
	}
	a.Approver = approverLabel(&a, userName)
	return &a, nil
}

// approverLabel says who decides, in words.
func approverLabel(a *ChangeApproval, userName string) string {
	switch {
	case a.approverUser != "" && userName != "":
		return userName
	case a.ApproverKind == string(orders.ApproverSponsor):
		return "the service's sponsor"
	case a.ApproverKind == string(orders.ApproverOwner):
		return "the service's owner"
	case a.ApproverRole == string(access.RoleChangeManager):
		return "a change manager"
	default:
		return "a " + strings.ReplaceAll(a.ApproverRole, "_", " ")
	}
}

func changeApprovals(ctx context.Context, q sqldb.Querier, ticketID string) ([]*ChangeApproval, error) {
	return sqldb.QueryAll(ctx, q, "change approvals", scanApproval, `SELECT `+approvalColumns+` FROM change_approvals ca LEFT JOIN users au ON au.id = ca.approver_user_id
		WHERE ca.ticket_id = $1 ORDER BY ca.step, ca.created_at, ca.id`, ticketID)
}

// changePlan reads a change's plan and approvals (nil for other kinds).
func changePlan(ctx context.Context, q sqldb.Querier, t *Ticket) (*ChangePlan, error) {
	if t.Kind != Change {
		return nil, nil
	}
	var c ChangePlan
	var tplID, tplName sql.NullString
	var decided, implemented sql.NullTime
	err := q.QueryRowContext(ctx, `SELECT c.change_type, c.risk, c.plan, c.backout_plan, c.planned_start, c.planned_end, c.template_id, ct.name, c.approval,
		c.decided_at, c.implemented_at, t.recorded_by FROM ticket_changes c JOIN tickets t ON t.id = c.ticket_id LEFT JOIN change_templates ct ON ct.id = c.template_id
		WHERE c.ticket_id = $1`, t.ID).
		Scan(&c.Type, &c.Risk, &c.Plan, &c.BackoutPlan, &c.PlannedStart, &c.PlannedEnd, &tplID, &tplName, &c.Approval, &decided, &implemented, &c.raisedBy)
	if err == sql.ErrNoRows {
		return nil, nil // a change raised before change management
	}
	if err != nil {
		return nil, sqldb.Err(err, "change")
	}
	c.PlannedStart, c.PlannedEnd = c.PlannedStart.UTC(), c.PlannedEnd.UTC()
	if tplID.Valid {
		c.Template = &Ref{ID: tplID.String, Name: tplName.String}
	}
	if decided.Valid {
		d := decided.Time.UTC()
		c.DecidedAt = &d
	}
	if implemented.Valid {
		d := implemented.Time.UTC()
		c.ImplementedAt = &d
	}
	if c.Approvals, err = changeApprovals(ctx, q, t.ID); err != nil {
		return nil, err
	}
	c.Conflicts = []Conflict{}
	return &c, nil
}

// withChange reads the change plan of t, and its conflicts while it is
// still to be done.
func (s *Service) withChange(ctx context.Context, q sqldb.Querier, t *Ticket, viewer *access.Principal) error {
	return s.withChangeFrom(ctx, q, t, &lookups{viewer: viewer})
}

// lookups keeps what checking many changes reads once: the service map
// and each service's calendars (the change calendar, the CAB agenda).
type lookups struct {
	m    *catalog.Map
	cals map[string][]*catalog.Calendar
	// viewer reads the conflicts: another change they may not read is
	// named by its service only.
	viewer *access.Principal
}

func (s *Service) withChangeFrom(ctx context.Context, q sqldb.Querier, t *Ticket, l *lookups) error {
	c, err := changePlan(ctx, q, t)
	if err != nil || c == nil {
		return err
	}
	t.Change = c
	if t.State.Open() && c.Approval != ApprovalRejected {
		cals, err := s.calendarsFor(ctx, q, l, t.Service.ID)
		if err != nil {
			return err
		}
		if c.Conflicts, err = s.conflicts(ctx, q, t.Service.ID, cals, c.PlannedStart, c.PlannedEnd, t.ID, l); err != nil {
			return err
		}
	}
	return nil
}

// calendarsFor is calendarsOf, read once per service for l (nil: every time).
func (s *Service) calendarsFor(ctx context.Context, q sqldb.Querier, l *lookups, serviceID string) ([]*catalog.Calendar, error) {
	if l == nil {
		return s.calendarsOf(ctx, q, serviceID)
	}
	if cals, ok := l.cals[serviceID]; ok {
		return cals, nil
	}
	cals, err := s.calendarsOf(ctx, q, serviceID)
	if err != nil {
		return nil, err
	}
	if l.cals == nil {
		l.cals = map[string][]*catalog.Calendar{}
	}
	l.cals[serviceID] = cals
	return cals, nil
}

// calendarsOf lists the calendars whose maintenance windows a change to
// the service should keep to: the service's own and those of the active
// agreements covering it.
func (s *Service) calendarsOf(ctx context.Context, q sqldb.Querier, serviceID string) ([]*catalog.Calendar, error) {
	svc, err := s.cat.Service(ctx, access.System(), serviceID)
	if err != nil {
		return nil, err
	}
	cals, err := sla.MaintenanceCalendars(ctx, q, serviceID)
	if err != nil {
		return nil, err
	}
	if svc.Calendar != nil && len(svc.Calendar.Maintenance) > 0 {
		cals = append([]*catalog.Calendar{svc.Calendar}, cals...)
	}
	return cals, nil
}

// windowsOf lists the occurrences of the calendars' maintenance windows
// that overlap [from, to), in order, each once.
func windowsOf(cals []*catalog.Calendar, from, to time.Time) [][2]time.Time {
	var out [][2]time.Time
	seen := map[[2]time.Time]bool{}
	for _, cal := range cals {
		for _, w := range calendarWindows(cal, from, to) {
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0].Before(out[j][0]) })
	return out
}

func calendarWindows(cal *catalog.Calendar, from, to time.Time) [][2]time.Time {
	if cal == nil || len(cal.Maintenance) == 0 {
		return nil
	}
	loc := cal.Location()
	var out [][2]time.Time
	for i := range cal.Maintenance {
		m := &cal.Maintenance[i]
		starts, err := m.Occurrences(loc, from.In(loc).AddDate(0, 0, -1), to.In(loc))
		if err != nil {
			continue
		}
		for _, at := range starts {
			s, e := m.Span(at.In(loc))
			if e.After(from) && s.Before(to) {
				out = append(out, [2]time.Time{s.UTC(), e.UTC()})
			}
		}
	}
	return out
}

// conflicts finds what is wrong with changing the service from start to
// end: outside its maintenance windows (where it has any), within a
// freeze, or overlapping another change (not rejected, not closed) to the
// same service or one connected to it on the service map. except is the
// change itself; l, when not nil, keeps the map for the next check.
func (s *Service) conflicts(ctx context.Context, q sqldb.Querier, serviceID string, cals []*catalog.Calendar, start, end time.Time, except string, l *lookups) ([]Conflict, error) {
	out := []Conflict{}
	if len(cals) > 0 {
		// Windows that touch or overlap are one (Saturday 20:00–24:00 and
		// Sunday 00:00–04:00 hold a change across midnight).
		var merged [][2]time.Time
		for _, w := range windowsOf(cals, start.Add(-MaxChangeWindow), end.Add(MaxChangeWindow)) {
			if n := len(merged); n > 0 && !w[0].After(merged[n-1][1]) {
				if w[1].After(merged[n-1][1]) {
					merged[n-1][1] = w[1]
				}
				continue
			}
			merged = append(merged, w)
		}
		inside := false
		for _, w := range merged {
			inside = inside || (!start.Before(w[0]) && !end.After(w[1]))
		}
		if !inside {
			out = append(out, Conflict{Kind: "outside_window", Message: "planned outside the service's maintenance windows"})
		}
	}
	freezes, err := sqldb.QueryAll(ctx, q, "change freezes", scanFreeze, `SELECT `+freezeColumns+freezeFrom+`
		WHERE f.starts_at < $1 AND f.ends_at > $2 AND (f.service_id IS NULL OR f.service_id = $3) ORDER BY f.starts_at`, end, start, serviceID)
	if err != nil {
		return nil, err
	}
	for _, f := range freezes {
		out = append(out, Conflict{Kind: "freeze", With: f.ID, Message: fmt.Sprintf("within the change freeze %q (%s – %s)", f.Name,
			f.StartsAt.Format("2 Jan 15:04"), f.EndsAt.Format("2 Jan 15:04 MST"))})
	}
	// Services connected to this one on the map: what it stands on and
	// what stands on it, transitively.
	var m *catalog.Map
	if l != nil {
		m = l.m
	}
	if m == nil {
		if m, err = catalog.LoadMap(ctx, q); err != nil {
			return nil, err
		}
		if l != nil {
			l.m = m
		}
	}
	related := map[string]string{serviceID: ""}
	key := "service:" + serviceID
	for _, d := range m.Supports(key) {
		if d.To.Type == "service" {
			related[d.To.ID] = "which " + d.To.Name + " supports"
		}
	}
	for _, d := range m.Dependents(key) {
		if d.From.Type == "service" {
			related[d.From.ID] = "which stands on this service"
		}
	}
	ids := make([]string, 0, len(related))
	for id := range related {
		ids = append(ids, id)
	}
	args := sqldb.Args{end, start, except}
	in := sqldb.In(&args, "t.service_id", ids)
	type other struct {
		ref, summary, service, serviceID, path, requester string
		kind                                              Kind
		number                                            int64
		start, end                                        time.Time
	}
	rows, err := sqldb.QueryAll(ctx, q, "changes", func(row sqldb.Scanner) (other, error) {
		var o other
		err := row.Scan(&o.number, &o.kind, &o.summary, &o.serviceID, &o.service, &o.start, &o.end, &o.path, &o.requester)
		o.ref = reference(o.kind, o.number)
		return o, err
	}, `SELECT t.number, t.kind, t.summary, t.service_id, s.name, c.planned_start, c.planned_end, COALESCE(ou.path, ''), COALESCE(t.requester_id, '')
		FROM ticket_changes c JOIN tickets t ON t.id = c.ticket_id JOIN services s ON s.id = t.service_id LEFT JOIN org_units ou ON ou.id = t.org_unit_id
		WHERE c.planned_start < $1 AND c.planned_end > $2 AND c.planned_start > `+args.Add(start.Add(-MaxChangeWindow))+` AND t.id <> $3 AND c.approval NOT IN ('rejected', 'withdrawn')
		AND t.state <> 'closed' AND `+in+`
		ORDER BY c.planned_start, t.number LIMIT 20`, args...)
	if err != nil {
		return nil, err
	}
	for _, o := range rows {
		var v *access.Principal
		if l != nil {
			v = l.viewer
		}
		svc := access.Resource{ServiceID: o.serviceID}
		reads := v != nil && (v.Can(access.TicketRead, access.Resource{OrgUnitPath: o.path, ServiceID: o.serviceID}) || v.Can(access.TicketWork, svc) ||
			v.Can(access.ChangeApprove, svc) || o.requester == v.UserID)
		what, with := fmt.Sprintf("%s (%s)", o.ref, o.summary), o.ref
		if !reads {
			what, with = "another change", ""
		}
		msg := fmt.Sprintf("overlaps %s on the same service", what)
		if o.serviceID != serviceID {
			msg = fmt.Sprintf("overlaps %s on %s, connected on the service map", what, o.service)
		}
		out = append(out, Conflict{Kind: "overlap", With: with, Message: msg})
	}
	return out, nil
}

// mayDecideChange reports whether p decides the approval: not who raised
// the change nor its requester; the named owner; or someone holding the
// approver role (which allows change.approve) on a scope covering the
// change's service (everywhere, or the service: an org unit's change
// manager decides no change to a service others share).
func mayDecideChange(p *access.Principal, t *Ticket, a *ChangeApproval) bool {
	if raisedIt(p, t) {
		return false
	}
	if a.approverUser != "" {
		// The service's owner, deciding with a role that decides changes
		// (an API token's only if limited to one).
		return a.approverUser == p.UserID && p.Can(access.ChangeApprove, access.Resource{ServiceID: t.Service.ID})
	}
	for _, g := range p.Grants {
		if string(g.Role) == a.ApproverRole && g.Role.Allows(access.ChangeApprove) && g.Covers(access.Resource{ServiceID: t.Service.ID}) {
			return true
		}
	}
	return false
}

// raisedIt reports whether p raised the change or is its requester.
func raisedIt(p *access.Principal, t *Ticket) bool {
	return t.Requester != nil && t.Requester.ID == p.UserID || t.Change != nil && t.Change.raisedBy == p.UserID
}

// DecideInput decides a change approval.
type DecideInput struct {
	Approve bool   `json:"approve"`
	Comment string `json:"comment"`
}

// DecideChange approves or rejects a change at the step it waits at.
// When every step is approved the change may be implemented; a rejection
// (with a comment) closes it. Errors: not_found (an approval p may not
// see), forbidden (not p's to decide), conflict (decided already, or a
// later step), invalid (a rejection without a comment).
func (s *Service) DecideChange(ctx context.Context, p *access.Principal, approvalID string, in DecideInput) (*Ticket, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to decide changes")
	}
	in.Comment = strings.TrimSpace(in.Comment)
	var v errs.Validator
	textCheck(&v, in.Comment, "comment", MaxComment, !in.Approve)
	if err := v.Err("the decision is not valid"); err != nil {
		return nil, err
	}
	if !sqldb.ValidID(approvalID) {
		return nil, errs.NotFound("change approval %q not found", approvalID)
	}
	var ticketID string
	if err := s.db.Read().QueryRowContext(ctx, `SELECT ticket_id FROM change_approvals WHERE id = $1`, approvalID).Scan(&ticketID); err != nil {
		if err == sql.ErrNoRows {
			return nil, errs.NotFound("change approval %q not found", approvalID)
		}
		return nil, sqldb.Err(err, "change approval")
	}
	var out *Ticket
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		t, err := lock(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		if !mayRead(ctx, tx, p, t) && !p.Can(access.ChangeApprove, t.Resource()) {
			return errs.NotFound("change approval %q not found", approvalID)
		}
		c, err := changePlan(ctx, tx, t)
		if err != nil {
			return err
		}
		if c == nil {
			return errs.NotFound("change approval %q not found", approvalID)
		}
		t.Change = c
		var a *ChangeApproval
		step := 0
		for _, x := range c.Approvals {
			if x.ID == approvalID {
				a = x
			}
			if x.State == ApprovalPending && (step == 0 || x.Step < step) {
				step = x.Step
			}
		}
		switch {
		case a == nil:
			return errs.NotFound("change approval %q not found", approvalID)
		case a.State != ApprovalPending || c.Approval != ApprovalPending:
			return errs.Conflict("this approval was decided already (%s)", a.State)
		case a.Step != step:
			return errs.Conflict("step %d of %s is not decided yet: this approval is for step %d", step, t.Reference, a.Step)
		case !mayDecideChange(p, t, a):
			if raisedIt(p, t) {
				return errs.Forbidden("you raised %s: someone else decides it", t.Reference)
			}
			return errs.Forbidden("this decision is for %s (change.approve on %s)", a.Approver, t.Service.Name)
		}
		now := sqldb.Time(s.now())
		state := ApprovalApproved
		if !in.Approve {
			state = ApprovalRejected
		}
		if _, err := tx.ExecContext(ctx, `UPDATE change_approvals SET state = $1, decided_by_id = $2, decided_by_name = $3, comment = $4, decided_at = $5 WHERE id = $6`,
			state, p.UserID, p.Name, in.Comment, now, a.ID); err != nil {
			return sqldb.Err(err, "change approval")
		}
		a.State, a.DecidedBy = state, p.Name
		note := fmt.Sprintf("%s %s the change (%s, step %d)", p.Name, state, a.Policy, a.Step)
		if in.Comment != "" {
			note += ": " + in.Comment
		}
		if err := addComment(ctx, tx, t.ID, p.UserID, false, note+".", now); err != nil {
			return err
		}
		pending := 0
		for _, x := range c.Approvals {
			if x.State == ApprovalPending {
				pending++
			}
		}
		typ := ""
		switch {
		case !in.Approve:
			typ = "change.rejected"
			if _, err := tx.ExecContext(ctx, `UPDATE change_approvals SET state = 'skipped' WHERE ticket_id = $1 AND state = 'pending'`, t.ID); err != nil {
				return sqldb.Err(err, "change approval")
			}
			if err := endChange(ctx, tx, t, ApprovalRejected, "Rejected: "+in.Comment, now); err != nil {
				return err
			}
		case pending == 0:
			typ = "change.approved"
			if _, err := tx.ExecContext(ctx, `UPDATE ticket_changes SET approval = 'approved', decided_at = $1 WHERE ticket_id = $2`, now, t.ID); err != nil {
				return sqldb.Err(err, "change")
			}
		default:
			if err := s.askStep(ctx, tx, p, t, c.Approvals); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET updated_at = $1 WHERE id = $2`, now, t.ID); err != nil {
			return sqldb.Err(err, "ticket")
		}
		after, err := get(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		if err := s.withChange(ctx, tx, after, p); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, p, audit.Entry{Action: "change.decide", ObjectType: "change_approval", ObjectID: a.ID, After: a}); err != nil {
			return err
		}
		if typ != "" {
			n := &outbox.Notice{Title: fmt.Sprintf("Change %s %s: %s", t.Reference, strings.TrimPrefix(typ, "change."), t.Summary), Link: "/tickets/" + t.Reference}
			if t.Requester != nil {
				n.Users = []string{t.Requester.ID}
			}
			if t.groupID != "" {
				n.Groups = []string{t.groupID}
			}
			if err := s.emit(ctx, tx, p, after, typ, n); err != nil {
				return err
			}
		}
		out = after
		return nil
	})
	return out, err
}

// withdrawer reports whether p may withdraw the change t (its plan
// read): its requester, whoever raised it, whoever works it (works) or a
// change manager over it.
func withdrawer(p *access.Principal, t *Ticket, works bool) bool {
	if t.Change == nil {
		return false
	}
	owns := t.Requester != nil && p.Owns(t.Requester.ID, access.TicketCreate) || p.Owns(t.Change.raisedBy, access.TicketCreate)
	return owns || works || p.Can(access.ChangeManage, t.Resource())
}

// mayWithdraw reports whether p may withdraw t now.
func mayWithdraw(p *access.Principal, t *Ticket, works bool) bool {
	c := t.Change
	return c != nil && c.ImplementedAt == nil && (c.Approval == ApprovalPending || c.Approval == ApprovalApproved) && t.State.Open() &&
		withdrawer(p, t, works)
}

// endChange records that a change will not be implemented (approval
// rejected or withdrawn) and closes it, any hold ended, with why as its
// resolution.
func endChange(ctx context.Context, tx *sqldb.Tx, t *Ticket, approval, why string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE ticket_changes SET approval = $1, decided_at = $2 WHERE ticket_id = $3`, approval, now, t.ID); err != nil {
		return sqldb.Err(err, "change")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE ticket_holds SET ended_at = $1 WHERE ticket_id = $2 AND ended_at IS NULL`, now, t.ID); err != nil {
		return sqldb.Err(err, "hold")
	}
	_, err := tx.ExecContext(ctx, `UPDATE tickets SET state = 'closed', closed_at = $1, resolution = $2, hold_reason = '' WHERE id = $3`, now, excerpt(why), t.ID)
	return sqldb.Err(err, "ticket")
}

// WithdrawInput withdraws a change: why, for its record.
type WithdrawInput struct {
	Reason string `json:"reason"`
}

// WithdrawChange withdraws a change that is not implemented yet, pending
// its decision or approved: its open decisions are withdrawn with it, it
// is closed, and those it concerns are told. Its requester, who raised it,
// whoever works it and change managers (change.manage) may. Errors:
// not_found, forbidden, conflict (work on it started, or it is decided
// against or closed already), invalid (no reason).
func (s *Service) WithdrawChange(ctx context.Context, p *access.Principal, ref string, in WithdrawInput) (*Ticket, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	var v errs.Validator
	textCheck(&v, in.Reason, "reason", MaxComment, true)
	if err := v.Err("the withdrawal is not valid"); err != nil {
		return nil, err
	}
	after, err := s.change(ctx, p, ref, "change.withdraw", false, func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
		c, err := changePlan(ctx, tx, t)
		if err != nil {
			return err
		}
		if c == nil {
			return errs.Conflict("%s is not a request for change", t.Reference)
		}
		t.Change = c
		if !withdrawer(p, t, mayWork(ctx, tx, p, t)) {
			return errs.Forbidden("a change is withdrawn by its requester, whoever raised it, those who work it or a change manager")
		}
		switch {
		case c.ImplementedAt != nil:
			return errs.Conflict("work on %s started %s: back it out and resolve it instead", t.Reference, c.ImplementedAt.Format(time.RFC3339))
		case c.Approval != ApprovalPending && c.Approval != ApprovalApproved:
			return errs.Conflict("%s is %s already", t.Reference, c.Approval)
		case !t.State.Open():
			return errs.Conflict("%s is %s", t.Reference, t.State)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE change_approvals SET state = 'withdrawn', decided_by_id = $1, decided_by_name = $2, comment = $3, decided_at = $4
			WHERE ticket_id = $5 AND state = 'pending'`, p.UserID, p.Name, in.Reason, now, t.ID); err != nil {
			return sqldb.Err(err, "change approval")
		}
		if err := endChange(ctx, tx, t, ApprovalWithdrawn, "Withdrawn: "+in.Reason, now); err != nil {
			return err
		}
		if err := addComment(ctx, tx, t.ID, p.UserID, false, fmt.Sprintf("%s withdrew the change: %s", p.Name, in.Reason), now); err != nil {
			return err
		}
		// Those still asked to decide it, the requester and the group.
		n := &outbox.Notice{Title: fmt.Sprintf("Change %s withdrawn: %s", t.Reference, t.Summary), Link: "/tickets/" + t.Reference, Body: in.Reason}
		if t.Requester != nil {
			n.Users = []string{t.Requester.ID}
		}
		if t.groupID != "" {
			n.Groups = []string{t.groupID}
		}
		for _, a := range c.Approvals {
			if a.State != ApprovalPending {
				continue
			}
			if a.approverUser != "" {
				n.Users = append(n.Users, a.approverUser)
			} else if a.ApproverRole != "" {
				n.Roles = append(n.Roles, access.Role(a.ApproverRole))
			}
		}
		t.State = StateClosed
		return s.emit(ctx, tx, p, t, "change.withdrawn", n)
	})
	if err != nil {
		return nil, err
	}
	return after, s.withChange(ctx, s.db.Read(), after, p)
}

// implementing refuses to implement (start or resolve) a change that is
// not approved, and records when work on an approved one first started.
func implementing(ctx context.Context, q sqldb.Querier, t *Ticket, to State, now time.Time) error {
	if t.Kind != Change || (to != StateInProgress && to != StateResolved) {
		return nil
	}
	var approval string
	err := q.QueryRowContext(ctx, `SELECT approval FROM ticket_changes WHERE ticket_id = $1`, t.ID).Scan(&approval)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return sqldb.Err(err, "change")
	}
	if approval != ApprovalApproved {
		return errs.Conflict("%s is not approved (%s): the CAB decides it before it is implemented", t.Reference, approval)
	}
	if to == StateInProgress {
		_, err = q.ExecContext(ctx, `UPDATE ticket_changes SET implemented_at = $1 WHERE ticket_id = $2 AND implemented_at IS NULL`, now, t.ID)
		return sqldb.Err(err, "change")
	}
	return nil
}

// plannedOutage records the outage a change in progress causes, as
// planned: from now until the change is resolved (as an incident's
// outage ends with it), announced when the change was approved and put on
// the change calendar. Service level management excuses it where it falls
// in a maintenance window announced with the calendar's notice
// (docs/service-levels.md); otherwise it counts as any outage.
func (s *Service) plannedOutage(ctx context.Context, tx *sqldb.Tx, p *access.Principal, t *Ticket, in OutageInput, now time.Time) error {
	c, err := changePlan(ctx, tx, t)
	if err != nil {
		return err
	}
	if c == nil || c.DecidedAt == nil || c.Approval != ApprovalApproved {
		return errs.Conflict("%s is not approved: only an approved change causes a planned outage", t.Reference)
	}
	if t.State != StateInProgress {
		return errs.Conflict("%s is %s: a change causes its outage while it is in progress", t.Reference, t.State)
	}
	started, outageID := now, t.OutageID
	if c.ImplementedAt != nil {
		started = *c.ImplementedAt
	}
	if outageID != "" {
		prev, err := s.SLA.Outage(ctx, access.System(), outageID)
		if err != nil {
			return err
		}
		if prev.Ended != nil {
			outageID = ""
		} else {
			started = prev.Started
		}
	}
	o, err := s.SLA.IncidentOutage(ctx, tx, p, t.ID, outageID, outageOf(t, sla.OutageInput{Started: started.Format(time.RFC3339Nano),
		Impact: in.Impact, Share: in.SharePercent, Planned: true, AnnouncedAt: c.DecidedAt.Format(time.RFC3339Nano), Summary: outageSummary("Change", t)}))
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE tickets SET outage_id = $1 WHERE id = $2`, o.ID, t.ID)
	return sqldb.Err(err, "ticket")
}
