package desk

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Template is a standard change: pre-approved work done the same way each
// time, raised without the CAB.
type Template struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Service         Ref       `json:"service"`
	Summary         string    `json:"summary"`
	Description     string    `json:"description"`
	Plan            string    `json:"plan"`
	BackoutPlan     string    `json:"backout_plan"`
	Risk            string    `json:"risk"`
	DurationMinutes int       `json:"duration_minutes"`
	Active          bool      `json:"active"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// TemplateInput creates or replaces a template.
type TemplateInput struct {
	Name            string `json:"name"`
	Service         string `json:"service"`
	Summary         string `json:"summary"`
	Description     string `json:"description"`
	Plan            string `json:"plan"`
	BackoutPlan     string `json:"backout_plan"`
	Risk            string `json:"risk"`
	DurationMinutes int    `json:"duration_minutes"`
	Active          *bool  `json:"active"`
}

const templateColumns = `ct.id, ct.name, s.id, s.code, s.name, ct.summary, ct.description, ct.plan, ct.backout_plan, ct.risk, ct.duration_minutes,
	ct.active, ct.created_at, ct.updated_at`
const templateFrom = ` FROM change_templates ct JOIN services s ON s.id = ct.service_id`

func scanTemplate(row sqldb.Scanner) (*Template, error) {
	var t Template
	if err := row.Scan(&t.ID, &t.Name, &t.Service.ID, &t.Service.Code, &t.Service.Name, &t.Summary, &t.Description, &t.Plan, &t.BackoutPlan, &t.Risk,
		&t.DurationMinutes, &t.Active, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// mayPlanChanges reports whether p takes part in change management:
// works or reads tickets somewhere (the provider's side), decides changes
// or manages them. Which changes each sees is decided per ticket.
func mayPlanChanges(p *access.Principal) bool {
	return p.CanAnywhere(access.TicketWork) || p.CanAnywhere(access.TicketRead) || p.CanAnywhere(access.ChangeApprove) || p.CanAnywhere(access.ChangeManage)
}

// Templates lists the standard change templates (active ones unless all).
// Callers work tickets or take part in change management.
func (s *Service) Templates(ctx context.Context, p *access.Principal, all bool) ([]*Template, error) {
	if p == nil || !mayPlanChanges(p) {
		return nil, errs.Forbidden("standard change templates are for the people who work tickets or decide changes")
	}
	where := " WHERE ct.active = TRUE"
	if all {
		where = ""
	}
	return sqldb.QueryAll(ctx, s.db.Read(), "change templates", scanTemplate, `SELECT `+templateColumns+templateFrom+where+` ORDER BY ct.name`)
}

// templateOrder is the templates by name (unique).
var templateOrder = sqldb.Order{Name: "name", Columns: []string{"ct.name"}}

// TemplatePage returns a page of the standard change templates, by name:
// the active ones, or all with all. Callers are those Templates allows.
// Returns invalid (field cursor) for a cursor of another list.
func (s *Service) TemplatePage(ctx context.Context, p *access.Principal, all bool, page sqldb.Page) (sqldb.Paged[*Template], error) {
	if p == nil || !mayPlanChanges(p) {
		return sqldb.Paged[*Template]{}, errs.Forbidden("standard change templates are for the people who work tickets or decide changes")
	}
	var args sqldb.Args
	var name string
	seek, err := templateOrder.Seek(&args, page, &name)
	if err != nil {
		return sqldb.Paged[*Template]{}, err
	}
	where := " WHERE " + seek
	if !all {
		where += " AND ct.active = TRUE"
	}
	ts, err := sqldb.QueryAll(ctx, s.db.Read(), "change templates", scanTemplate, `SELECT `+templateColumns+templateFrom+where+templateOrder.By()+templateOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[*Template]{}, err
	}
	return sqldb.PageOf(ts, page, templateOrder, func(t *Template) []any { return []any{t.Name} }), nil
}

// SaveTemplate creates (id "") or replaces a standard change template.
// Callers need change.manage. Errors: invalid, conflict (a name taken).
func (s *Service) SaveTemplate(ctx context.Context, p *access.Principal, id string, in TemplateInput) (*Template, error) {
	if err := p.Require(access.ChangeManage, access.Resource{}); err != nil {
		return nil, err
	}
	in.Name, in.Summary, in.Description = strings.TrimSpace(in.Name), strings.TrimSpace(in.Summary), strings.TrimSpace(in.Description)
	in.Plan, in.BackoutPlan, in.Risk = strings.TrimSpace(in.Plan), strings.TrimSpace(in.BackoutPlan), strings.TrimSpace(in.Risk)
	if in.Risk == "" {
		in.Risk = "low"
	}
	var v errs.Validator
	textCheck(&v, in.Name, "name", MaxSummary, true)
	v.Check(strings.TrimSpace(in.Service) != "", "service", "required", "name the service the template changes")
	textCheck(&v, in.Summary, "summary", MaxSummary, true)
	textCheck(&v, in.Description, "description", MaxDescription, false)
	textCheck(&v, in.Plan, "plan", MaxPlan, true)
	textCheck(&v, in.BackoutPlan, "backout_plan", MaxPlan, true)
	v.Check(slices.Contains(Risks, in.Risk), "risk", "enum", "risk is low, medium or high")
	v.Check(in.DurationMinutes >= 1 && in.DurationMinutes <= int(MaxChangeWindow/time.Minute), "duration_minutes", "range",
		fmt.Sprintf("duration_minutes is from 1 to %d (31 days)", int(MaxChangeWindow/time.Minute)))
	if err := v.Err("the change template is not valid"); err != nil {
		return nil, err
	}
	svc, err := s.service(ctx, in.Service)
	if err != nil {
		return nil, err
	}
	active := in.Active == nil || *in.Active
	var out *Template
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		now := sqldb.Time(s.now())
		var before *Template
		var err error
		if id == "" {
			id = sqldb.NewID()
			_, err = tx.ExecContext(ctx, `INSERT INTO change_templates (id, name, service_id, summary, description, plan, backout_plan, risk, duration_minutes,
				active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
				id, in.Name, svc.ID, in.Summary, in.Description, in.Plan, in.BackoutPlan, in.Risk, in.DurationMinutes, active, now)
		} else {
			if !sqldb.ValidID(id) {
				return errs.NotFound("change template %q not found", id)
			}
			if before, err = scanTemplate(tx.QueryRowContext(ctx, `SELECT `+templateColumns+templateFrom+` WHERE ct.id = $1`, id)); err != nil {
				return sqldb.Err(err, "change template")
			}
			_, err = tx.ExecContext(ctx, `UPDATE change_templates SET name = $1, service_id = $2, summary = $3, description = $4, plan = $5, backout_plan = $6,
				risk = $7, duration_minutes = $8, active = $9, updated_at = $10 WHERE id = $11`,
				in.Name, svc.ID, in.Summary, in.Description, in.Plan, in.BackoutPlan, in.Risk, in.DurationMinutes, active, now, id)
		}
		if err != nil {
			if errs.Is(sqldb.Err(err, "change template"), errs.CodeConflict) {
				return errs.Conflict("a change template named %q already exists", in.Name)
			}
			return sqldb.Err(err, "change template")
		}
		if out, err = scanTemplate(tx.QueryRowContext(ctx, `SELECT `+templateColumns+templateFrom+` WHERE ct.id = $1`, id)); err != nil {
			return sqldb.Err(err, "change template")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "change_template.save", ObjectType: "change_template", ObjectID: id, Before: before, After: out})
	})
	return out, err
}

// Freeze is a span in which no changes should be made: to one service, or
// to all (Service nil), such as the year-end close.
type Freeze struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Service  *Ref      `json:"service,omitempty"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}

// FreezeInput adds a freeze. Times are RFC 3339.
type FreezeInput struct {
	Name     string `json:"name"`
	Service  string `json:"service,omitempty"`
	StartsAt string `json:"starts_at"`
	EndsAt   string `json:"ends_at"`
}

// MaxFreeze is the longest change freeze.
const MaxFreeze = 92 * 24 * time.Hour

const freezeColumns = `f.id, f.name, COALESCE(s.id, ''), COALESCE(s.code, ''), COALESCE(s.name, ''), f.starts_at, f.ends_at`
const freezeFrom = ` FROM change_freezes f LEFT JOIN services s ON s.id = f.service_id`

func scanFreeze(row sqldb.Scanner) (*Freeze, error) {
	var f Freeze
	var svc Ref
	if err := row.Scan(&f.ID, &f.Name, &svc.ID, &svc.Code, &svc.Name, &f.StartsAt, &f.EndsAt); err != nil {
		return nil, err
	}
	if svc.ID != "" {
		f.Service = &svc
	}
	f.StartsAt, f.EndsAt = f.StartsAt.UTC(), f.EndsAt.UTC()
	return &f, nil
}

// AddFreeze adds a change freeze. Callers need change.manage.
func (s *Service) AddFreeze(ctx context.Context, p *access.Principal, in FreezeInput) (*Freeze, error) {
	if err := p.Require(access.ChangeManage, access.Resource{}); err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	var v errs.Validator
	textCheck(&v, in.Name, "name", MaxSummary, true)
	start, okS := parseWhen(&v, "starts_at", in.StartsAt)
	end, okE := parseWhen(&v, "ends_at", in.EndsAt)
	if okS && okE && v.Check(end.After(start), "ends_at", "order", "ends_at is after starts_at") {
		v.Check(end.Sub(start) <= MaxFreeze, "ends_at", "range", "a freeze lasts at most 92 days")
	}
	if err := v.Err("the change freeze is not valid"); err != nil {
		return nil, err
	}
	f := &Freeze{ID: sqldb.NewID(), Name: in.Name, StartsAt: start, EndsAt: end}
	if strings.TrimSpace(in.Service) != "" {
		svc, err := s.service(ctx, in.Service)
		if err != nil {
			return nil, err
		}
		f.Service = &Ref{ID: svc.ID, Code: svc.Code, Name: svc.Name}
	}
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var svc any
		if f.Service != nil {
			svc = f.Service.ID
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO change_freezes (id, name, service_id, starts_at, ends_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			f.ID, f.Name, svc, f.StartsAt, f.EndsAt, sqldb.Time(s.now())); err != nil {
			return sqldb.Err(err, "change freeze")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "change_freeze.add", ObjectType: "change_freeze", ObjectID: f.ID, After: f})
	})
	return f, err
}

// RemoveFreeze removes a change freeze. Callers need change.manage.
func (s *Service) RemoveFreeze(ctx context.Context, p *access.Principal, id string) error {
	if err := p.Require(access.ChangeManage, access.Resource{}); err != nil {
		return err
	}
	if !sqldb.ValidID(id) {
		return errs.NotFound("change freeze %q not found", id)
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM change_freezes WHERE id = $1`, id)
		if err != nil {
			return sqldb.Err(err, "change freeze")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("change freeze %q not found", id)
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "change_freeze.remove", ObjectType: "change_freeze", ObjectID: id})
	})
}

// CalendarEntry is a change on the change calendar.
type CalendarEntry struct {
	Ticket *Ticket `json:"ticket"`
}

// Window is an occurrence of a service's maintenance window.
type Window struct {
	Service Ref       `json:"service"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
}

// ChangeCalendar is the changes planned in a span, against the
// maintenance windows of their services and the freezes.
type ChangeCalendar struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Changes []*Ticket `json:"changes"`
	Windows []Window  `json:"windows"`
	Freezes []*Freeze `json:"freezes"`
}

// Calendar lists the changes p may read whose planned windows overlap
// [from, to) (at most 92 days), each with its conflicts, and the
// maintenance windows of their services and the freezes in the span.
// Callers work tickets or take part in change management.
func (s *Service) Calendar(ctx context.Context, p *access.Principal, from, to time.Time) (*ChangeCalendar, error) {
	if p == nil || !mayPlanChanges(p) {
		return nil, errs.Forbidden("the change calendar is for the people who work tickets or decide changes")
	}
	var v errs.Validator
	if v.Check(to.After(from), "to", "order", "to is after from") {
		v.Check(to.Sub(from) <= MaxCalendarSpan, "to", "range", "the change calendar shows at most 92 days at once")
	}
	if err := v.Err("the span is not valid"); err != nil {
		return nil, err
	}
	q := s.db.Read()
	cal := &ChangeCalendar{From: from.UTC(), To: to.UTC(), Changes: []*Ticket{}, Windows: []Window{}}
	args := sqldb.Args{sqldb.Time(to), sqldb.Time(from), sqldb.Time(from.Add(-MaxChangeWindow))}
	ids, err := sqldb.QueryAll(ctx, q, "changes", scanID, `SELECT c.ticket_id FROM ticket_changes c JOIN tickets t ON t.id = c.ticket_id
		LEFT JOIN org_units ou ON ou.id = t.org_unit_id
		WHERE c.planned_start < $1 AND c.planned_end > $2 AND c.planned_start > $3 AND c.approval NOT IN ('rejected', 'withdrawn') AND `+changeScope(&args, p)+`
		ORDER BY c.planned_start, c.ticket_id LIMIT `+fmt.Sprint(maxCalendar), args...)
	if err != nil {
		return nil, err
	}
	memo := &lookups{viewer: p}
	if cal.Changes, err = s.readableChanges(ctx, q, p, ids, memo); err != nil {
		return nil, err
	}
	services := map[string]Ref{}
	for _, t := range cal.Changes {
		services[t.Service.ID] = t.Service
	}
	for id, ref := range services {
		cals, err := s.calendarsFor(ctx, q, memo, id)
		if err != nil {
			return nil, err
		}
		for _, w := range windowsOf(cals, from, to) {
			cal.Windows = append(cal.Windows, Window{Service: ref, Start: w[0], End: w[1]})
		}
	}
	slices.SortFunc(cal.Windows, func(a, b Window) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.Service.Name, b.Service.Name)
	})
	cal.Freezes, err = sqldb.QueryAll(ctx, q, "change freezes", scanFreeze, `SELECT `+freezeColumns+freezeFrom+` WHERE f.starts_at < $1 AND f.ends_at > $2
		ORDER BY f.starts_at, f.id`, sqldb.Time(to), sqldb.Time(from))
	return cal, err
}

func scanID(row sqldb.Scanner) (string, error) {
	var id string
	return id, row.Scan(&id)
}

// changeScope is readableChanges' test as a condition on tickets t (with
// their org units ou), so that a limit counts only changes p sees: those
// p may read, and those p may decide (change.approve on their org unit or
// service).
func changeScope(args *sqldb.Args, p *access.Principal) string {
	// Decided before any argument is added (PostgreSQL refuses a
	// parameter the query does not use).
	allUnits, paths := p.OrgUnitScope(access.ChangeApprove)
	allServices, services := p.ServiceScope(access.ChangeApprove)
	if allUnits || allServices {
		return "1 = 1"
	}
	ors := []string{scope(args, p)}
	for _, path := range paths {
		ors = append(ors, "ou.path LIKE "+args.Add(path+"%"))
	}
	if len(services) > 0 {
		ors = append(ors, sqldb.In(args, "t.service_id", services))
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// readableChanges reads the changes (ticket IDs, in order) that p may read
// or decide, each with its plan and conflicts.
func (s *Service) readableChanges(ctx context.Context, q sqldb.Querier, p *access.Principal, ids []string, l *lookups) ([]*Ticket, error) {
	out := []*Ticket{}
	for _, id := range ids {
		t, err := get(ctx, q, id)
		if err != nil {
			return nil, err
		}
		if !mayRead(ctx, q, p, t) && !p.Can(access.ChangeApprove, t.Resource()) {
			continue
		}
		if err := s.withChangeFrom(ctx, q, t, l); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// AgendaItem is a change waiting for the CAB, with the decision p may
// take on it now (Yours nil: none).
type AgendaItem struct {
	Ticket *Ticket           `json:"ticket"`
	Yours  *ChangeApproval   `json:"yours,omitempty"`
	Next   []*ChangeApproval `json:"waiting_for"`
}

// Agenda is the CAB agenda: the changes waiting for a decision that p may
// read or decide, soonest planned first, each with the approval p may
// decide at its current step. Callers work tickets or take part in change
// management.
func (s *Service) Agenda(ctx context.Context, p *access.Principal, page sqldb.Page) (sqldb.Paged[*AgendaItem], error) {
	if p == nil || !mayPlanChanges(p) {
		return sqldb.Paged[*AgendaItem]{}, errs.Forbidden("the CAB agenda is for the people who work tickets or decide changes")
	}
	q := s.db.Read()
	var args sqldb.Args
	var k struct {
		start time.Time
		id    string
	}
	seek, err := agendaOrder.Seek(&args, page, &k.start, &k.id)
	if err != nil {
		return sqldb.Paged[*AgendaItem]{}, err
	}
	type key struct {
		id    string
		start time.Time
	}
	keys, err := sqldb.QueryAll(ctx, q, "changes", func(row sqldb.Scanner) (key, error) {
		var k key
		err := row.Scan(&k.id, &k.start)
		k.start = k.start.UTC()
		return k, err
	}, `SELECT c.ticket_id, c.planned_start FROM ticket_changes c JOIN tickets t ON t.id = c.ticket_id
		LEFT JOIN org_units ou ON ou.id = t.org_unit_id
		WHERE c.approval = 'pending' AND t.state <> 'closed' AND `+changeScope(&args, p)+` AND `+seek+agendaOrder.By()+agendaOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[*AgendaItem]{}, err
	}
	// The page is the rows read; the cursor follows the last of them
	// whether or not the caller may read it.
	read := sqldb.PageOf(keys, page, agendaOrder, func(k key) []any { return []any{k.start, k.id} })
	var ids []string
	for _, k := range read.Items {
		ids = append(ids, k.id)
	}
	changes, err := s.readableChanges(ctx, q, p, ids, &lookups{viewer: p})
	if err != nil {
		return sqldb.Paged[*AgendaItem]{}, err
	}
	out := sqldb.Paged[*AgendaItem]{Items: []*AgendaItem{}, Next: read.Next}
	for _, t := range changes {
		it := &AgendaItem{Ticket: t, Next: []*ChangeApproval{}}
		step := 0
		for _, a := range t.Change.Approvals {
			if a.State == ApprovalPending && (step == 0 || a.Step == step) {
				step = a.Step
				it.Next = append(it.Next, a)
				if it.Yours == nil && mayDecideChange(p, t, a) {
					it.Yours = a
				}
			}
		}
		out.Items = append(out.Items, it)
	}
	return out, nil
}

// agendaOrder is the CAB agenda's: soonest planned first.
var agendaOrder = sqldb.Order{Name: "agenda", Columns: []string{"c.planned_start", "c.ticket_id"}}

// Now is the desk's clock.
func (s *Service) Now() time.Time { return s.now() }

// MayPlanChanges reports whether p has the change calendar, the CAB
// agenda and the templates: the provider's side (ticket.read or
// ticket.work somewhere) and change managers. Which changes each sees is
// decided per ticket.
func MayPlanChanges(p *access.Principal) bool { return mayPlanChanges(p) }
