package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// RaiseInput raises a ticket.
type RaiseInput struct {
	// Kind is incident (the default), request, problem or change; problems
	// and changes are raised by those who work the service's tickets.
	Kind Kind `json:"kind"`
	// Service is the service (code or ID) the ticket is about.
	Service string `json:"service"`
	// ConfigItem (code or ID) narrows it to a configuration item on the
	// service's map; with Service empty, the nearest service standing on
	// the configuration item is the ticket's.
	ConfigItem string `json:"config_item,omitempty"`
	// OrgUnit (code or ID) is whose ticket it is: the requester's org unit
	// when empty.
	OrgUnit string `json:"org_unit"`
	// Requester (ID or e-mail) raises it on someone's behalf: for those who
	// work the service's tickets (the service desk taking a call).
	Requester   string `json:"requester"`
	Summary     string `json:"summary"`
	Description string `json:"description"`
	// Impact and Urgency: 1 high, 2 medium (the default), 3 low.
	Impact  int `json:"impact"`
	Urgency int `json:"urgency"`
	// Parent is a ticket (a major incident) this one is a child of.
	Parent string `json:"parent,omitempty"`
	// Change is the plan of a request for change (kind change).
	Change *ChangeInput `json:"change,omitempty"`
}

// Default times, in service minutes by priority, for tickets no agreement
// sets a target for (docs/service-desk.md).
var (
	defaultRespond = map[int]int{1: 15, 2: 60, 3: 240, 4: 480}
	defaultResolve = map[int]int{1: 240, 2: 480, 3: 1440, 4: 2400}
)

func textCheck(v *errs.Validator, s, field string, maxLen int, required bool) {
	if required && s == "" {
		v.Add(field, "required", field+" is required")
		return
	}
	if utf8.RuneCountInString(s) > maxLen {
		v.Add(field, "length", fmt.Sprintf("%s is at most %d characters", field, maxLen))
		return
	}
	v.Text(s, field)
}

func levelCheck(v *errs.Validator, n *int, field string) {
	if *n == 0 {
		*n = 2
	}
	v.Check(*n >= 1 && *n <= 3, field, "range", field+" is 1 (high), 2 (medium) or 3 (low)")
}

// serviceRow is what raising needs of a service.
type serviceRow struct {
	ID, Code, Name, Lifecycle, GroupID string
	Calendar                           *catalog.Calendar
}

func (s *Service) service(ctx context.Context, ref string) (*serviceRow, error) {
	svc, err := s.cat.Service(ctx, access.System(), strings.TrimSpace(ref))
	if err != nil {
		if errs.Is(err, errs.CodeNotFound) {
			return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the ticket is not valid",
				Fields: []errs.FieldError{{Field: "service", Rule: "exists", Message: fmt.Sprintf("no service %q: name the service by code or ID", ref)}}}
		}
		return nil, err
	}
	return &serviceRow{ID: svc.ID, Code: svc.Code, Name: svc.Name, Lifecycle: string(svc.Lifecycle), GroupID: svc.AssignmentGroupID, Calendar: svc.Calendar}, nil
}

// Raise raises a ticket. Callers need ticket.create on the ticket's org
// unit; raising for someone else, or a problem or change, takes
// ticket.work on the service. The ticket goes to the service's assignment
// group at the first tier. It answers the ticket as Detail reads it for
// the raiser. Errors: invalid, forbidden.
func (s *Service) Raise(ctx context.Context, p *access.Principal, in RaiseInput) (*Detail, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to raise a ticket")
	}
	if err := p.RequireAnywhere(access.TicketCreate); err != nil {
		return nil, err
	}
	if in.Kind == "" {
		in.Kind = Incident
	}
	tpl, err := s.fromTemplate(ctx, &in)
	if err != nil {
		return nil, err
	}
	in.Summary, in.Description = strings.TrimSpace(in.Summary), strings.TrimSpace(in.Description)
	var v errs.Validator
	v.Check(in.Change == nil || in.Kind == Change, "change", "kind", "a change plan is for tickets of kind change")
	v.Check(in.Kind.Valid(), "kind", "enum", "kind is incident, request, problem or change")
	v.Check(strings.TrimSpace(in.Service) != "" || strings.TrimSpace(in.ConfigItem) != "", "service", "required",
		"name the service the ticket is about (or a configuration item on its map)")
	textCheck(&v, in.Summary, "summary", MaxSummary, true)
	textCheck(&v, in.Description, "description", MaxDescription, false)
	levelCheck(&v, &in.Impact, "impact")
	levelCheck(&v, &in.Urgency, "urgency")
	if err := v.Err("the ticket is not valid"); err != nil {
		return nil, err
	}
	var ci *Ref
	var m *catalog.Map
	if strings.TrimSpace(in.ConfigItem) != "" {
		if m, err = s.serviceMap(ctx); err != nil {
			return nil, err
		}
		if strings.TrimSpace(in.Service) == "" {
			if ci, in.Service, err = configItem(m, in.ConfigItem, ""); err != nil {
				return nil, err
			}
		}
	}
	svc, err := s.service(ctx, in.Service)
	if err != nil {
		return nil, err
	}
	if m != nil && ci == nil {
		if ci, _, err = configItem(m, in.ConfigItem, svc.ID); err != nil {
			return nil, err
		}
	}
	// Those who work the service's tickets anywhere (ticket.work on it, or
	// a group it routes to) raise tickets about a service not live yet;
	// what they may do with this ticket is decided below, by its group.
	if svc.Lifecycle != string(catalog.LifecycleLive) && svc.Lifecycle != string(catalog.LifecycleRetiring) &&
		!p.Can(access.TicketWork, access.Resource{ServiceID: svc.ID}) && !inServiceGroup(ctx, s.db.Read(), p, svc) {
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the ticket is not valid",
			Fields: []errs.FieldError{{Field: "service", Rule: "live", Message: "tickets are raised about live services; this one is " + svc.Lifecycle}}}
	}
	// What the ticket needs is read first, from the read pool: the write
	// transaction (SQLite's one writer) holds only the writes.
	q := s.db.Read()
	requester := Ref{ID: p.UserID}
	if r := strings.TrimSpace(in.Requester); r != "" {
		if q.QueryRowContext(ctx, `SELECT id FROM users WHERE (id = $1 OR LOWER(email) = LOWER($1)) AND disabled = FALSE`, r).Scan(&requester.ID) != nil {
			return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the ticket is not valid",
				Fields: []errs.FieldError{{Field: "requester", Rule: "exists", Message: fmt.Sprintf("no active user %q", r)}}}
		}
	}
	var home string
	if err := q.QueryRowContext(ctx, `SELECT name, COALESCE(org_unit_id, '') FROM users WHERE id = $1`, requester.ID).Scan(&requester.Name, &home); err != nil {
		return nil, sqldb.Err(err, "requester")
	}
	ou, ouPath := Ref{}, ""
	ouRef := strings.TrimSpace(in.OrgUnit)
	if ouRef == "" {
		if home == "" {
			return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the ticket is not valid",
				Fields: []errs.FieldError{{Field: "org_unit", Rule: "required", Message: "the requester belongs to no org unit: name the org unit the ticket is for"}}}
		}
		ouRef = home
	}
	if q.QueryRowContext(ctx, `SELECT id, code, name, path FROM org_units WHERE id = $1 OR code = $1`, ouRef).Scan(&ou.ID, &ou.Code, &ou.Name, &ouPath) != nil {
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the ticket is not valid",
			Fields: []errs.FieldError{{Field: "org_unit", Rule: "exists", Message: fmt.Sprintf("no org unit %q", ouRef)}}}
	}
	if err := p.Require(access.TicketCreate, access.InOrgUnit(ouPath)); err != nil {
		return nil, err
	}
	groupID, err := routeOf(ctx, q, svc, ouPath)
	if err != nil {
		return nil, err
	}
	// Who works this ticket: ticket.work on the service, or its group
	// (the service's, or the org unit's route's).
	works := p.Can(access.TicketWork, access.Resource{ServiceID: svc.ID}) || (groupID != "" && worksTickets(p) && inGroup(ctx, q, groupID, p.UserID))
	if (in.Kind == Problem || in.Kind == Change) && !works {
		return nil, errs.Forbidden("problems and requests for change are raised by the people who work the service's tickets (ticket.work on the service, or the assignment group its tickets of this org unit go to)")
	}
	if requester.ID != p.UserID && !works {
		return nil, errs.Forbidden("only the people who work the service's tickets raise them on someone else's behalf")
	}
	var parentID any
	var parent string
	var parentLink *Link
	if in.Parent != "" && in.Kind == Change {
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the ticket is not valid",
			Fields: []errs.FieldError{{Field: "parent", Rule: "kind", Message: "a request for change has no parent: its own approval decides it"}}}
	}
	if in.Parent != "" {
		par, err := get(ctx, q, in.Parent)
		if err != nil || !mayRead(ctx, q, p, par) {
			return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the ticket is not valid",
				Fields: []errs.FieldError{{Field: "parent", Rule: "exists", Message: fmt.Sprintf("no ticket %q to be a child of", in.Parent)}}}
		}
		parentID, parent = par.ID, par.ID
		parentLink = &Link{ID: par.ID, Reference: par.Reference, Kind: par.Kind, State: par.State, Summary: par.Summary}
	}
	priority, err := priorityOf(ctx, q, in.Impact, in.Urgency)
	if err != nil {
		return nil, err
	}
	var group *Ref
	if groupID != "" {
		group = &Ref{ID: groupID}
		if err := q.QueryRowContext(ctx, `SELECT name FROM assignment_groups WHERE id = $1`, groupID).Scan(&group.Name); err != nil {
			return nil, sqldb.Err(err, "assignment group")
		}
	}
	var plan *planned
	if in.Kind == Change {
		if plan, err = s.planChange(ctx, q, p, requester.ID, svc, &in, tpl, ou.Code, priority); err != nil {
			return nil, err
		}
	}
	now := sqldb.Time(s.now())
	tt, err := sla.ForTicket(ctx, q, svc.ID, ouPath, priority, svc.Calendar, now)
	if err != nil {
		return nil, err
	}
	respondBy, resolveBy, warnBy := schedule(in.Kind, priority, tt, now, nil)
	if resolveBy == nil {
		resolveBy = &neverDue
	}
	var ciID any
	if ci != nil {
		ciID = ci.ID
	}
	t := &Ticket{ID: sqldb.NewID(), Kind: in.Kind, State: StateNew, Service: Ref{ID: svc.ID, Code: svc.Code, Name: svc.Name}, ConfigItem: ci, OrgUnit: &ou, Requester: &requester,
		Summary: in.Summary, Description: in.Description, Impact: in.Impact, Urgency: in.Urgency, Priority: priority, Group: group, Tier: 1,
		OpenedAt: now, RespondBy: respondBy, ResolveBy: resolveBy, ParentID: parent, UpdatedAt: now, orgUnitPath: ouPath, groupID: groupID}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if t.Number, err = tx.Next(ctx, "ticket"); err != nil {
			return err
		}
		t.Reference = reference(t.Kind, t.Number)
		if _, err := tx.ExecContext(ctx, `INSERT INTO tickets (id, number, kind, state, service_id, org_unit_id, requester_id, summary, description,
			impact, urgency, priority, group_id, tier, opened_at, respond_by, resolve_by, parent_id, recorded_by, created_at, updated_at, ci_id, warn_by)
			VALUES ($1, $2, $3, 'new', $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $14, $15, $16, $17, $13, $13, $18, $19)`,
			t.ID, t.Number, t.Kind, svc.ID, ou.ID, requester.ID, t.Summary, t.Description, t.Impact, t.Urgency, priority, nilIfEmpty(groupID),
			now, sqldb.NullTime(respondBy), sqldb.Time(*resolveBy), parentID, p.UserID, ciID, sqldb.NullTime(warnBy)); err != nil {
			return sqldb.Err(err, "ticket")
		}
		if requester.ID != p.UserID {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_watchers (ticket_id, user_id) VALUES ($1, $2)`, t.ID, p.UserID); err != nil {
				return sqldb.Err(err, "watcher")
			}
		}
		if plan != nil {
			if err := s.insertChange(ctx, tx, p, t, plan, now); err != nil {
				return err
			}
		}
		n := &outbox.Notice{Title: fmt.Sprintf("New %s %s: %s", t.Kind, t.Reference, t.Summary), Link: "/tickets/" + t.Reference,
			Body: fmt.Sprintf("P%d on %s for %s.", t.Priority, t.Service.Name, refName(t.OrgUnit))}
		if t.groupID != "" {
			n.Groups = []string{t.groupID}
		} else {
			n.Roles = []access.Role{access.RoleAgent}
		}
		if err := s.emit(ctx, tx, p, t, "ticket.created", n); err != nil {
			return err
		}
		if err := s.changed(ctx, tx, t); err != nil {
			return err
		}
		// The audit chain's head is one row every audited write takes: last,
		// so that it is held only until the commit.
		return s.audit(ctx, tx, p, audit.Entry{Action: "ticket.raise", ObjectType: "ticket", ObjectID: t.ID, After: t})
	})
	if err != nil {
		return nil, err
	}
	if t.Kind == Incident || t.Kind == Request {
		s.learned(ticketText(t.Summary, t.Description), "", t.Service.ID)
	}
	if t.Kind == Change {
		// A change's detail names its conflicts as the raiser may see them.
		return s.Detail(ctx, p, t.ID)
	}
	// What Detail would read back, known already: the raise is the
	// desk's busiest write, and reading the ticket again would cost as
	// much as writing it.
	d := &Detail{Ticket: t, Related: Related{Parent: parentLink}, Access: accessOf(p, t, works, requester.ID != p.UserID && !p.IsSystem())}
	d.Response, d.Resolution = s.clocks(t, tt, nil)
	return d, nil
}

func refName(r *Ref) string {
	if r == nil {
		return "—"
	}
	return r.Name
}

// priorityOf looks up the priority matrix.
func priorityOf(ctx context.Context, q sqldb.Querier, impact, urgency int) (int, error) {
	var p int
	if err := q.QueryRowContext(ctx, `SELECT priority FROM ticket_priorities WHERE impact = $1 AND urgency = $2`, impact, urgency).Scan(&p); err != nil {
		return 0, sqldb.Err(err, "priority matrix")
	}
	return p, nil
}

// neverDue is the resolution due time of a ticket with none: problems and
// changes (no target times them), tickets whose service hours never come,
// and tickets on hold (their clocks stand still): last in the queue.
var neverDue = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// schedule finds when a ticket's response and resolution are due: the
// covering agreement's targets (or the desk's defaults for the priority)
// in its service hours, holds added.
func schedule(kind Kind, priority int, tt *sla.TicketTargets, opened time.Time, held []sla.Span) (respondBy, resolveBy, warnBy *time.Time) {
	if kind == Problem || kind == Change {
		return nil, nil, nil // no target times them
	}
	respond, resolve := defaultRespond[priority], defaultResolve[priority]
	rcal, scal := tt.Calendar, tt.Calendar
	if tt.Respond != nil {
		respond, rcal = tt.Respond.Minutes, tt.Respond.Calendar
	}
	if tt.Resolve != nil {
		resolve, scal = tt.Resolve.Minutes, tt.Resolve.Calendar
	}
	if d, ok := sla.Due(rcal, opened, respond, held); ok {
		respondBy = &d
	}
	if d, ok := sla.Due(scal, opened, resolve, held); ok {
		resolveBy = &d
	}
	// Warned when three quarters of the resolution time are used (the
	// clock's Warning), to the minute.
	if d, ok := sla.Due(scal, opened, (resolve*3+3)/4, held); ok {
		warnBy = &d
	}
	return respondBy, resolveBy, warnBy
}

// Clocks are a ticket's response and resolution clocks as they stand.
func (s *Service) Clocks(ctx context.Context, t *Ticket) (response, resolution Clock, err error) {
	q := s.db.Read()
	svc, err := s.service(ctx, t.Service.ID)
	if err != nil {
		return response, resolution, err
	}
	tt, err := sla.ForTicket(ctx, q, t.Service.ID, t.orgUnitPath, t.Priority, svc.Calendar, t.OpenedAt)
	if err != nil {
		return response, resolution, err
	}
	held, err := holds(ctx, q, t.ID)
	if err != nil {
		return response, resolution, err
	}
	response, resolution = s.clocks(t, tt, held)
	return response, resolution, nil
}

// clocks are the ticket's clocks now, under its targets tt, on hold in
// held.
func (s *Service) clocks(t *Ticket, tt *sla.TicketTargets, held []sla.Span) (response, resolution Clock) {
	now := s.now()
	paused := t.State == StateOnHold
	mk := func(target *sla.ClockTarget, def int, cal *catalog.Calendar, done *time.Time, due *time.Time) Clock {
		c := Clock{TargetMinutes: def, Due: due, Paused: paused && done == nil}
		if c.Paused || (due != nil && due.Equal(neverDue)) {
			c.Due = nil // standing still, or nothing times it
		}
		if target != nil {
			c.TargetMinutes, c.Agreement, cal = target.Minutes, target.Agreement.Name, target.Calendar
		}
		end := now
		if done != nil {
			end, c.Stopped, c.Paused = *done, true, false
		}
		el := sla.Elapsed(cal, t.OpenedAt, end, held)
		c.ElapsedMinutes = int(el / time.Minute)
		c.LeftMinutes = c.TargetMinutes - c.ElapsedMinutes
		c.Late = el > time.Duration(c.TargetMinutes)*time.Minute
		c.Warning = c.TargetMinutes > 0 && !c.Stopped && !c.Late && el*4 >= time.Duration(c.TargetMinutes)*time.Minute*3
		return c
	}
	if t.Kind == Problem || t.Kind == Change {
		// No target times them: the clocks only count.
		response, resolution = mk(nil, 0, tt.Calendar, t.RespondedAt, nil), mk(nil, 0, tt.Calendar, t.ResolvedAt, nil)
		response.Late, response.LeftMinutes, resolution.Late, resolution.LeftMinutes = false, 0, false, 0
		return response, resolution
	}
	response = mk(tt.Respond, defaultRespond[t.Priority], tt.Calendar, t.RespondedAt, t.RespondBy)
	resolution = mk(tt.Resolve, defaultResolve[t.Priority], tt.Calendar, t.ResolvedAt, t.ResolveBy)
	return response, resolution
}

// lock takes the ticket's row for the transaction and reads it.
func lock(ctx context.Context, tx *sqldb.Tx, ref string) (*Ticket, error) {
	t, err := get(ctx, tx, ref)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tickets SET updated_at = updated_at WHERE id = $1`, t.ID); err != nil {
		return nil, sqldb.Err(err, "ticket")
	}
	return get(ctx, tx, t.ID)
}

// change runs fn on the ticket locked in a transaction, after checking
// that p may read it (not_found otherwise) and, with work set, work it
// (forbidden otherwise); then writes the audit record and returns the
// ticket as it is after.
func (s *Service) change(ctx context.Context, p *access.Principal, ref, action string, work bool, fn func(tx *sqldb.Tx, t *Ticket, now time.Time) error) (*Ticket, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to work tickets")
	}
	var out *Ticket
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		out, err = s.changeIn(ctx, tx, p, ref, action, work, fn)
		return err
	})
	return out, err
}

// changeIn is change in the caller's transaction.
func (s *Service) changeIn(ctx context.Context, tx *sqldb.Tx, p *access.Principal, ref, action string, work bool, fn func(tx *sqldb.Tx, t *Ticket, now time.Time) error) (*Ticket, error) {
	var out *Ticket
	err := func() error {
		t, err := lock(ctx, tx, ref)
		if err != nil {
			return err
		}
		if !mayRead(ctx, tx, p, t) {
			return errs.NotFound("ticket %q not found", ref)
		}
		if work && !mayWork(ctx, tx, p, t) {
			return errs.Forbidden("this ticket is in another team's queue: join its assignment group (%s) or ask for ticket.work on %s", refName(t.Group), t.Service.Name)
		}
		if t.MergedIntoID != "" && action != "ticket.comment" {
			return errs.Conflict("this ticket was merged into another; work that one")
		}
		now := sqldb.Time(s.now())
		if err := fn(tx, t, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET updated_at = $1 WHERE id = $2`, now, t.ID); err != nil {
			return sqldb.Err(err, "ticket")
		}
		after, err := get(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		if err := s.audit(ctx, tx, p, audit.Entry{Action: action, ObjectType: "ticket", ObjectID: t.ID, Before: t, After: after}); err != nil {
			return err
		}
		out = after
		return s.changed(ctx, tx, after)
	}()
	return out, err
}

// respond records the first response, if none was.
func respond(ctx context.Context, tx *sqldb.Tx, t *Ticket, now time.Time) error {
	if t.RespondedAt != nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE tickets SET responded_at = $1 WHERE id = $2 AND responded_at IS NULL`, now, t.ID)
	return sqldb.Err(err, "ticket")
}

// Take assigns the ticket to the caller, who must be able to work it. Of
// two agents taking the same ticket at once one wins; the other gets a
// conflict naming who has it.
func (s *Service) Take(ctx context.Context, p *access.Principal, ref string) (*Ticket, error) {
	return s.change(ctx, p, ref, "ticket.take", true, func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
		if !t.State.Open() {
			return errs.Conflict("%s is %s: reopen it first", t.Reference, t.State)
		}
		if t.Assignee != nil {
			if t.Assignee.ID == p.UserID {
				return nil
			}
			return errs.Conflict("%s is already taken by %s", t.Reference, t.Assignee.Name)
		}
		state := t.State
		if state == StateNew {
			state = StateAssigned
		}
		res, err := tx.ExecContext(ctx, `UPDATE tickets SET assignee_id = $1, state = $2 WHERE id = $3 AND assignee_id IS NULL`, p.UserID, state, t.ID)
		if err != nil {
			return sqldb.Err(err, "ticket")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.Conflict("%s was just taken by someone else", t.Reference)
		}
		return respond(ctx, tx, t, now)
	})
}

// AssignInput routes a ticket: to another group (escalation, with its
// tier), and to a person in it (or nobody: back to the group's queue).
type AssignInput struct {
	Group    string `json:"group"`    // group ID or name; empty keeps the group
	Tier     int    `json:"tier"`     // 1, 2 or 3; 0 keeps the tier
	Assignee string `json:"assignee"` // user ID or e-mail; empty leaves it to the group
	Note     string `json:"note"`     // a work note saying why
}

// Assign routes the ticket. Callers must be able to work it; the assignee
// must be a member of the ticket's group (when it has one).
func (s *Service) Assign(ctx context.Context, p *access.Principal, ref string, in AssignInput) (*Ticket, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	return s.change(ctx, p, ref, "ticket.assign", true, s.assign(ctx, p, in))
}

func (in *AssignInput) validate() error {
	var v errs.Validator
	v.Check(in.Tier >= 0 && in.Tier <= 3, "tier", "range", "tier is 1, 2 or 3 (first, second or third line)")
	in.Note = strings.TrimSpace(in.Note)
	textCheck(&v, in.Note, "note", MaxComment, false)
	return v.Err("the assignment is not valid")
}

// MaxBulk is the most tickets one bulk assignment takes.
const MaxBulk = 100

// AssignAll assigns several tickets at once (the workspace's bulk
// assignment): all of them, in one transaction, or none — the error
// names the ticket that refused. Each is assigned as Assign would.
func (s *Service) AssignAll(ctx context.Context, p *access.Principal, refs []string, in AssignInput) ([]*Ticket, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to work tickets")
	}
	var v errs.Validator
	seen := map[string]bool{}
	for _, r := range refs {
		v.Check(!seen[r], "tickets", "unique", fmt.Sprintf("%s is named twice", r))
		seen[r] = true
	}
	v.Check(len(refs) >= 1 && len(refs) <= MaxBulk, "tickets", "range", fmt.Sprintf("name 1 to %d tickets", MaxBulk))
	if err := v.Err("the assignment is not valid"); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	var out []*Ticket
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		for _, ref := range refs {
			t, err := s.changeIn(ctx, tx, p, ref, "ticket.assign", true, s.assign(ctx, p, in))
			if err != nil {
				var e *errs.Error
				if errors.As(err, &e) {
					named := *e
					named.Message = ref + ": " + e.Message
					return &named
				}
				return err
			}
			out = append(out, t)
		}
		return nil
	})
	return out, err
}

// assign is what assigning does to one locked ticket.
func (s *Service) assign(ctx context.Context, p *access.Principal, in AssignInput) func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
	return func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
		if !t.State.Open() {
			return errs.Conflict("%s is %s: reopen it first", t.Reference, t.State)
		}
		group, tier := t.groupID, t.Tier
		if g := strings.TrimSpace(in.Group); g != "" {
			if tx.QueryRowContext(ctx, `SELECT id FROM assignment_groups WHERE id = $1 OR name = $1`, g).Scan(&group) != nil {
				return &errs.Error{Code: errs.CodeInvalid, Message: "the assignment is not valid",
					Fields: []errs.FieldError{{Field: "group", Rule: "exists", Message: fmt.Sprintf("no assignment group %q", g)}}}
			}
		}
		if in.Tier != 0 {
			tier = in.Tier
		}
		var assignee any
		state := t.State
		if a := strings.TrimSpace(in.Assignee); a != "" {
			var id string
			if tx.QueryRowContext(ctx, `SELECT id FROM users WHERE (id = $1 OR LOWER(email) = LOWER($1)) AND disabled = FALSE`, a).Scan(&id) != nil {
				return &errs.Error{Code: errs.CodeInvalid, Message: "the assignment is not valid",
					Fields: []errs.FieldError{{Field: "assignee", Rule: "exists", Message: fmt.Sprintf("no active user %q", a)}}}
			}
			if group != "" {
				if !inGroup(ctx, tx, group, id) {
					return &errs.Error{Code: errs.CodeInvalid, Message: "the assignment is not valid",
						Fields: []errs.FieldError{{Field: "assignee", Rule: "member", Message: "the assignee must be a member (or the manager) of the ticket's assignment group"}}}
				}
			} else {
				// No group: the assignee must work the service's tickets.
				var one int
				args := sqldb.Args{id, t.Service.ID}
				roles := sqldb.In(&args, "role", access.RolesAllowing(access.TicketWork))
				if tx.QueryRowContext(ctx, `SELECT 1 FROM effective_grants WHERE user_id = $1 AND `+roles+`
					AND (scope_kind = 'global' OR (scope_kind = 'service' AND scope_id = $2))`, args...).Scan(&one) != nil {
					return &errs.Error{Code: errs.CodeInvalid, Message: "the assignment is not valid",
						Fields: []errs.FieldError{{Field: "assignee", Rule: "works", Message: "the ticket has no group: the assignee must hold ticket.work on its service"}}}
				}
			}
			assignee = id
			if state == StateNew {
				state = StateAssigned
			}
		} else if state == StateAssigned {
			state = StateNew
		}
		var g any
		if group != "" {
			g = group
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET group_id = $1, tier = $2, assignee_id = $3, state = $4 WHERE id = $5`, g, tier, assignee, state, t.ID); err != nil {
			return sqldb.Err(err, "ticket")
		}
		if in.Note != "" {
			if err := addComment(ctx, tx, t.ID, p.UserID, true, in.Note, now); err != nil {
				return err
			}
		}
		if assignee != nil {
			if err := respond(ctx, tx, t, now); err != nil {
				return err
			}
		}
		after, err := get(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		n := &outbox.Notice{Title: fmt.Sprintf("%s assigned: %s", after.Reference, after.Summary), Link: "/tickets/" + after.Reference,
			Body: fmt.Sprintf("To %s, tier %d.", refName(after.Group), after.Tier)}
		if after.Assignee != nil {
			n.Users = []string{after.Assignee.ID}
			n.Body = fmt.Sprintf("To you (%s, tier %d).", refName(after.Group), after.Tier)
		} else if after.groupID != "" {
			n.Groups = []string{after.groupID}
		}
		return s.emit(ctx, tx, p, after, "ticket.assigned", n)
	}
}

// MoveInput moves a ticket to another state.
type MoveInput struct {
	To State `json:"to"`
	// HoldReason is why it waits (on_hold): customer, supplier or change.
	HoldReason string `json:"hold_reason"`
	// Resolution says how it was resolved (resolved); Note is a comment
	// the requester sees with the move (why it waits, why it reopens).
	Resolution string `json:"resolution"`
	Note       string `json:"note"`
	// FirstContact marks a resolution at the first contact.
	FirstContact bool `json:"first_contact"`
}

// moves is the state machine: where each state may go.
var moves = map[State][]State{
	StateNew:        {StateInProgress, StateOnHold, StateResolved},
	StateAssigned:   {StateInProgress, StateOnHold, StateResolved},
	StateInProgress: {StateOnHold, StateResolved},
	StateOnHold:     {StateInProgress, StateResolved},
	StateResolved:   {StateClosed, StateInProgress},
}

// Move moves a ticket: start work (in_progress), hold it (on_hold, with a
// reason: the clocks stand still), resume (in_progress), resolve it (with
// a resolution), close it, or reopen a resolved one (in_progress) within
// the reopening time. Who works it may do all of these; its requester
// may close or reopen it. Errors: conflict for a move the state machine
// has not, invalid, forbidden.
func (s *Service) Move(ctx context.Context, p *access.Principal, ref string, in MoveInput) (*Ticket, error) {
	in.Resolution, in.Note, in.HoldReason = strings.TrimSpace(in.Resolution), strings.TrimSpace(in.Note), strings.TrimSpace(in.HoldReason)
	var v errs.Validator
	v.Check(slices.Contains(States, in.To) && in.To != StateNew && in.To != StateAssigned, "to", "enum", "to is in_progress, on_hold, resolved or closed")
	if in.To == StateOnHold {
		v.Check(slices.Contains(HoldReasons, in.HoldReason), "hold_reason", "enum", "hold_reason is customer, supplier or change")
	}
	if in.To == StateResolved {
		textCheck(&v, in.Resolution, "resolution", MaxComment, true)
	}
	textCheck(&v, in.Note, "note", MaxComment, false)
	if err := v.Err("the move is not valid"); err != nil {
		return nil, err
	}
	return s.change(ctx, p, ref, "ticket."+moveVerb(in.To), false, func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
		if !slices.Contains(moves[t.State], in.To) {
			return errs.Conflict("%s is %s and cannot move to %s", t.Reference, t.State, in.To)
		}
		if err := implementing(ctx, tx, t, in.To, now); err != nil {
			return err
		}
		works := mayWork(ctx, tx, p, t)
		requester := t.Requester != nil && p.Owns(t.Requester.ID, access.TicketCreate)
		reopen := t.State == StateResolved && in.To == StateInProgress
		switch {
		case works:
		case requester && (in.To == StateClosed || reopen):
		default:
			return errs.Forbidden("this ticket is in another team's queue: join its assignment group (%s) or ask for ticket.work on %s", refName(t.Group), t.Service.Name)
		}
		if reopen && t.ResolvedAt != nil {
			days, err := s.reopenDays(ctx, tx)
			if err != nil {
				return err
			}
			if !now.Before(t.ResolvedAt.AddDate(0, 0, days)) {
				return errs.Conflict("%s was resolved more than %d days ago: raise a new ticket", t.Reference, days)
			}
		}
		// A hold ends with any move out of on_hold.
		if t.State == StateOnHold {
			if _, err := tx.ExecContext(ctx, `UPDATE ticket_holds SET ended_at = $1 WHERE ticket_id = $2 AND ended_at IS NULL`, now, t.ID); err != nil {
				return sqldb.Err(err, "hold")
			}
		}
		state := in.To
		switch in.To {
		case StateOnHold:
			if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_holds (ticket_id, started_at, reason) VALUES ($1, $2, $3)`, t.ID, now, in.HoldReason); err != nil {
				return sqldb.Err(err, "hold")
			}
			// Its clocks stand still: last in the queue until it moves on
			// (reschedule sets the due times again).
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET state = 'on_hold', hold_reason = $1, resolve_by = $2, warn_by = NULL WHERE id = $3`, in.HoldReason, neverDue, t.ID); err != nil {
				return sqldb.Err(err, "ticket")
			}
		case StateInProgress:
			if reopen {
				// The clocks stood still while it was resolved.
				if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_holds (ticket_id, started_at, ended_at, reason) VALUES ($1, $2, $3, 'resolved')`,
					t.ID, sqldb.Time(*t.ResolvedAt), now); err != nil {
					return sqldb.Err(err, "hold")
				}
			}
			if t.Assignee == nil && works && !reopen {
				if _, err := tx.ExecContext(ctx, `UPDATE tickets SET assignee_id = $1 WHERE id = $2`, p.UserID, t.ID); err != nil {
					return sqldb.Err(err, "ticket")
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET state = 'in_progress', hold_reason = '', resolved_at = NULL, resolution = CASE WHEN $1 THEN '' ELSE resolution END,
				reopened = reopened + CASE WHEN $1 THEN 1 ELSE 0 END, rating = CASE WHEN $1 THEN NULL ELSE rating END WHERE id = $2`, reopen, t.ID); err != nil {
				return sqldb.Err(err, "ticket")
			}
		case StateResolved:
			if t.Assignee == nil && works {
				// Resolved at once: it was the resolver's.
				if _, err := tx.ExecContext(ctx, `UPDATE tickets SET assignee_id = $1 WHERE id = $2`, p.UserID, t.ID); err != nil {
					return sqldb.Err(err, "ticket")
				}
			}
			if t.OutageID != "" && s.SLA != nil {
				// The outage the incident declared ends with it.
				if err := s.SLA.EndIncidentOutage(ctx, tx, t.OutageID, now); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET state = 'resolved', hold_reason = '', resolution = $1, resolved_at = $2, first_contact = $3 WHERE id = $4`,
				in.Resolution, now, in.FirstContact && t.RespondedAt == nil && t.Tier == 1, t.ID); err != nil {
				return sqldb.Err(err, "ticket")
			}
			// Its open children (a major incident's) are resolved with it.
			if err := s.resolveChildren(ctx, tx, p, t, in.Resolution, now, 1); err != nil {
				return err
			}
		case StateClosed:
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET state = 'closed', closed_at = $1 WHERE id = $2`, now, t.ID); err != nil {
				return sqldb.Err(err, "ticket")
			}
		}
		if works && in.To != StateClosed {
			if err := respond(ctx, tx, t, now); err != nil {
				return err
			}
		}
		if in.Note != "" {
			if err := addComment(ctx, tx, t.ID, p.UserID, false, in.Note, now); err != nil {
				return err
			}
		}
		// Due times move with what held the clocks.
		if t.State == StateOnHold || reopen {
			if err := s.reschedule(ctx, tx, t); err != nil {
				return err
			}
		}
		after, err := get(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		return s.emitMove(ctx, tx, p, after, t.State, state, reopen)
	})
}

func moveVerb(to State) string {
	switch to {
	case StateOnHold:
		return "hold"
	case StateInProgress:
		return "progress"
	case StateResolved:
		return "resolve"
	case StateClosed:
		return "close"
	}
	return "move"
}

// reschedule sets the ticket's due times again from its holds.
func (s *Service) reschedule(ctx context.Context, tx *sqldb.Tx, t *Ticket) error {
	svc, err := s.service(ctx, t.Service.ID)
	if err != nil {
		return err
	}
	held, err := holds(ctx, tx, t.ID)
	if err != nil {
		return err
	}
	tt, err := sla.ForTicket(ctx, tx, t.Service.ID, t.orgUnitPath, t.Priority, svc.Calendar, t.OpenedAt)
	if err != nil {
		return err
	}
	respondBy, resolveBy, warnBy := schedule(t.Kind, t.Priority, tt, t.OpenedAt, held)
	if resolveBy == nil {
		resolveBy = &neverDue
	}
	_, err = tx.ExecContext(ctx, `UPDATE tickets SET respond_by = $1, resolve_by = $2, warn_by = $3 WHERE id = $4`,
		sqldb.NullTime(respondBy), sqldb.Time(*resolveBy), sqldb.NullTime(warnBy), t.ID)
	return sqldb.Err(err, "ticket")
}

func (s *Service) emitMove(ctx context.Context, tx *sqldb.Tx, p *access.Principal, t *Ticket, from, to State, reopen bool) error {
	n := &outbox.Notice{Link: "/tickets/" + t.Reference}
	typ := ""
	switch {
	case to == StateResolved:
		typ, n.Title, n.Body = "ticket.resolved", fmt.Sprintf("%s resolved: %s", t.Reference, t.Summary), t.Resolution
		n.Users = requesterAndWatchers(ctx, tx, t)
	case reopen:
		typ, n.Title = "ticket.reopened", fmt.Sprintf("%s reopened: %s", t.Reference, t.Summary)
		if t.Assignee != nil {
			n.Users = []string{t.Assignee.ID}
		} else if t.groupID != "" {
			n.Groups = []string{t.groupID}
		}
	case to == StateOnHold:
		typ, n.Title, n.Body = "ticket.on_hold", fmt.Sprintf("%s waits for the %s: %s", t.Reference, t.HoldReason, t.Summary), "Reply on the ticket to move it on."
		if t.HoldReason == "customer" {
			n.Users = requesterAndWatchers(ctx, tx, t)
		}
	case to == StateClosed:
		typ, n.Title = "ticket.closed", fmt.Sprintf("%s closed: %s", t.Reference, t.Summary)
	default:
		return nil
	}
	if len(n.Users) == 0 && len(n.Groups) == 0 {
		n = nil
	}
	return s.emit(ctx, tx, p, t, typ, n)
}

func requesterAndWatchers(ctx context.Context, q sqldb.Querier, t *Ticket) []string {
	var users []string
	if t.Requester != nil {
		users = append(users, t.Requester.ID)
	}
	w, _ := sqldb.QueryAll(ctx, q, "watchers", func(row sqldb.Scanner) (string, error) {
		var id string
		return id, row.Scan(&id)
	}, `SELECT user_id FROM ticket_watchers WHERE ticket_id = $1 ORDER BY user_id`, t.ID)
	for _, id := range w {
		if !slices.Contains(users, id) {
			users = append(users, id)
		}
	}
	return users
}

func addComment(ctx context.Context, tx *sqldb.Tx, ticketID, author string, internal bool, body string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO ticket_comments (id, ticket_id, author_id, internal, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		sqldb.NewID(), ticketID, author, internal, body, now)
	return sqldb.Err(err, "comment")
}

// CommentInput adds a comment: customer-visible, or an internal work note.
type CommentInput struct {
	Body     string `json:"body"`
	Internal bool   `json:"internal"`
}

// Comment adds a comment to a ticket. The requester, watchers and whoever
// works it comment; only those who work it write work notes. A comment
// from whoever works the ticket is its first response; one from the
// requester on a ticket waiting for the customer moves it on (in
// progress, the hold ended).
func (s *Service) Comment(ctx context.Context, p *access.Principal, ref string, in CommentInput) (*Ticket, error) {
	in.Body = strings.TrimSpace(in.Body)
	var v errs.Validator
	textCheck(&v, in.Body, "body", MaxComment, true)
	if err := v.Err("the comment is not valid"); err != nil {
		return nil, err
	}
	return s.change(ctx, p, ref, "ticket.comment", false, func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
		works := mayWork(ctx, tx, p, t)
		requester := t.Requester != nil && p.Owns(t.Requester.ID, access.TicketCreate)
		if !works && !requester && !isWatcher(ctx, tx, p, t) {
			return errs.Forbidden("only the requester, watchers and the people who work this ticket comment on it")
		}
		if in.Internal && !works {
			return errs.Forbidden("work notes are for the people who work this ticket")
		}
		if t.State == StateClosed {
			return errs.Conflict("%s is closed: raise a new ticket", t.Reference)
		}
		if err := addComment(ctx, tx, t.ID, p.UserID, in.Internal, in.Body, now); err != nil {
			return err
		}
		if works && !in.Internal {
			if err := respond(ctx, tx, t, now); err != nil {
				return err
			}
		}
		if requester && !works && t.State == StateOnHold && t.HoldReason == "customer" {
			if _, err := tx.ExecContext(ctx, `UPDATE ticket_holds SET ended_at = $1 WHERE ticket_id = $2 AND ended_at IS NULL`, now, t.ID); err != nil {
				return sqldb.Err(err, "hold")
			}
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET state = 'in_progress', hold_reason = '' WHERE id = $1`, t.ID); err != nil {
				return sqldb.Err(err, "ticket")
			}
			if err := s.reschedule(ctx, tx, t); err != nil {
				return err
			}
		}
		if in.Internal {
			return nil
		}
		n := &outbox.Notice{Title: fmt.Sprintf("%s: a new comment", t.Reference), Body: excerpt(in.Body), Link: "/tickets/" + t.Reference}
		if works {
			n.Users = requesterAndWatchers(ctx, tx, t)
		} else if t.Assignee != nil {
			n.Users = []string{t.Assignee.ID}
		} else if t.groupID != "" {
			n.Groups = []string{t.groupID}
		}
		return s.emit(ctx, tx, p, t, "ticket.commented", n)
	})
}

func excerpt(s string) string {
	if utf8.RuneCountInString(s) <= 300 {
		return s
	}
	r := []rune(s)
	return string(r[:300]) + "…"
}

// RateInput rates a resolved ticket: 1 (poor) to 5 (excellent).
type RateInput struct {
	Rating  int    `json:"rating"`
	Comment string `json:"comment"`
}

// Rate records the requester's satisfaction with a resolved or closed
// ticket (once more replaces it). Only the requester rates.
func (s *Service) Rate(ctx context.Context, p *access.Principal, ref string, in RateInput) (*Ticket, error) {
	in.Comment = strings.TrimSpace(in.Comment)
	var v errs.Validator
	v.Check(in.Rating >= 1 && in.Rating <= 5, "rating", "range", "rating is 1 (poor) to 5 (excellent)")
	textCheck(&v, in.Comment, "comment", 2000, false)
	if err := v.Err("the rating is not valid"); err != nil {
		return nil, err
	}
	return s.change(ctx, p, ref, "ticket.rate", false, func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
		if t.Requester == nil || !p.Owns(t.Requester.ID, access.TicketCreate) {
			return errs.Forbidden("only the person who raised the ticket rates it")
		}
		if t.Kind != Incident && t.Kind != Request {
			return errs.Conflict("%s is a %s: the people helped rate incidents and requests", t.Reference, t.Kind)
		}
		if t.State != StateResolved && t.State != StateClosed {
			return errs.Conflict("%s is %s: it is rated once resolved", t.Reference, t.State)
		}
		_, err := tx.ExecContext(ctx, `UPDATE tickets SET rating = $1, rating_comment = $2 WHERE id = $3`, in.Rating, in.Comment, t.ID)
		return sqldb.Err(err, "ticket")
	})
}

// Watch adds (on) or removes the caller as a watcher of a ticket the
// caller may read.
func (s *Service) Watch(ctx context.Context, p *access.Principal, ref string, on bool) (*Ticket, error) {
	return s.change(ctx, p, ref, "ticket.watch", false, func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
		if !p.CanAnywhere(access.TicketCreate) && !mayWork(ctx, tx, p, t) {
			return access.Forbidden(access.TicketCreate)
		}
		if !on {
			_, err := tx.ExecContext(ctx, `DELETE FROM ticket_watchers WHERE ticket_id = $1 AND user_id = $2`, t.ID, p.UserID)
			return sqldb.Err(err, "watcher")
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ticket_watchers WHERE ticket_id = $1`, t.ID).Scan(&n); err != nil {
			return sqldb.Err(err, "watchers")
		}
		if n >= MaxWatchers {
			return errs.Invalid("a ticket has at most %d watchers", MaxWatchers)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ticket_watchers (ticket_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, t.ID, p.UserID)
		return sqldb.Err(err, "watcher")
	})
}

// ClassifyInput changes what a ticket is about and how urgent it is.
type ClassifyInput struct {
	Service string `json:"service,omitempty"` // code or ID; empty keeps it
	// ConfigItem (code or ID) narrows it to a configuration item on the
	// service's map; "" clears it; nil keeps it (a move to another service
	// clears one not on the new service's map).
	ConfigItem *string `json:"config_item,omitempty"`
	Impact     int     `json:"impact,omitempty"`  // 0 keeps it
	Urgency    int     `json:"urgency,omitempty"` // 0 keeps it
}

// Classify moves a ticket to another service (reclassification: it goes
// to that service's group) or changes its impact and urgency (its
// priority and due times follow). Callers must be able to work it.
func (s *Service) Classify(ctx context.Context, p *access.Principal, ref string, in ClassifyInput) (*Ticket, error) {
	var v errs.Validator
	v.Check(in.Impact >= 0 && in.Impact <= 3, "impact", "range", "impact is 1 (high), 2 (medium) or 3 (low)")
	v.Check(in.Urgency >= 0 && in.Urgency <= 3, "urgency", "range", "urgency is 1 (high), 2 (medium) or 3 (low)")
	if err := v.Err("the classification is not valid"); err != nil {
		return nil, err
	}
	var svc *serviceRow
	if strings.TrimSpace(in.Service) != "" {
		var err error
		if svc, err = s.service(ctx, in.Service); err != nil {
			return nil, err
		}
	}
	// The map a configuration item is checked against, read before the
	// transaction: when one is named, or the service may change.
	var m *catalog.Map
	if in.ConfigItem != nil && strings.TrimSpace(*in.ConfigItem) != "" || svc != nil {
		var err error
		if m, err = s.serviceMap(ctx); err != nil {
			return nil, err
		}
	}
	var text, from string
	out, err := s.change(ctx, p, ref, "ticket.classify", true, func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
		text, from = ticketText(t.Summary, t.Description), t.Service.ID
		if !t.State.Open() {
			return errs.Conflict("%s is %s: reopen it first", t.Reference, t.State)
		}
		if t.Kind == Change && svc != nil && svc.ID != t.Service.ID {
			// Its approval was routed, and its conflicts found, for its
			// service: a change to another is another request for change.
			return errs.Conflict("%s was planned and decided for %s: raise a new request for change for %s", t.Reference, t.Service.Name, svc.Name)
		}
		impact, urgency := t.Impact, t.Urgency
		if in.Impact != 0 {
			impact = in.Impact
		}
		if in.Urgency != 0 {
			urgency = in.Urgency
		}
		priority, err := priorityOf(ctx, tx, impact, urgency)
		if err != nil {
			return err
		}
		serviceID, group, assignee := t.Service.ID, any(nilIfEmpty(t.groupID)), any(nil)
		if t.Assignee != nil {
			assignee = t.Assignee.ID
		}
		if svc != nil && svc.ID != t.Service.ID {
			routed, err := routeOf(ctx, tx, svc, t.orgUnitPath)
			if err != nil {
				return err
			}
			serviceID, group, assignee = svc.ID, nilIfEmpty(routed), nil
		}
		var ciID any
		switch {
		case in.ConfigItem != nil && strings.TrimSpace(*in.ConfigItem) != "":
			ci, _, err := configItem(m, *in.ConfigItem, serviceID)
			if err != nil {
				return err
			}
			ciID = ci.ID
		case in.ConfigItem != nil:
		case t.ConfigItem != nil && serviceID == t.Service.ID:
			ciID = t.ConfigItem.ID
		case t.ConfigItem != nil:
			if ci, _, err := configItem(m, t.ConfigItem.ID, serviceID); err == nil {
				ciID = ci.ID // on the new service's map too
			}
		}
		state := t.State
		if assignee == nil && (state == StateAssigned || (state == StateInProgress && svc != nil && svc.ID != t.Service.ID)) {
			state = StateNew // back in a group's queue, nobody's yet
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET service_id = $1, group_id = $2, assignee_id = $3, impact = $4, urgency = $5, priority = $6, state = $7,
			ci_id = $8 WHERE id = $9`, serviceID, group, assignee, impact, urgency, priority, state, ciID, t.ID); err != nil {
			return sqldb.Err(err, "ticket")
		}
		moved, err := get(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		if err := s.reschedule(ctx, tx, moved); err != nil {
			return err
		}
		if serviceID != t.Service.ID && moved.groupID != "" {
			return s.emit(ctx, tx, p, moved, "ticket.assigned", &outbox.Notice{Title: fmt.Sprintf("%s assigned: %s", moved.Reference, moved.Summary),
				Link: "/tickets/" + moved.Reference, Groups: []string{moved.groupID}, Body: "Reclassified to " + moved.Service.Name + "."})
		}
		return nil
	})
	if err == nil && out.Service.ID != from && out.Kind != Problem && out.Kind != Change {
		// Reclassification teaches the suggestion: this text is about the
		// service the agent settled on, not the one it was raised against.
		s.learned(text, from, out.Service.ID)
	}
	return out, err
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// emit stores a ticket event in the outbox (n nil: no notification).
func (s *Service) emit(ctx context.Context, tx *sqldb.Tx, p *access.Principal, t *Ticket, typ string, n *outbox.Notice) error {
	ou := ""
	if t.OrgUnit != nil {
		ou = t.OrgUnit.ID
	}
	return outbox.Emit(ctx, tx, p, s.now(), outbox.Event{Type: typ, Subject: "tickets/" + t.Reference, OrgUnitID: ou, ServiceID: t.Service.ID, Notice: n,
		Data: map[string]any{"ticket_id": t.ID, "reference": t.Reference, "kind": t.Kind, "state": t.State, "service": t.Service.Code,
			"org_unit_id": ou, "priority": t.Priority, "summary": t.Summary, "group": refName(t.Group), "assignee": refName(t.Assignee)}})
}

// changed tells service level management that an incident changed.
func (s *Service) changed(ctx context.Context, tx *sqldb.Tx, t *Ticket) error {
	if t.Kind != Incident || s.slaChanged == nil {
		return nil
	}
	return s.slaChanged(ctx, tx)
}

// outageSummary is the summary of the outage a ticket declares: "Incident
// INC-000042: …", cut to fit the outage's 500 bytes.
func outageSummary(what string, t *Ticket) string {
	summary := fmt.Sprintf("%s %s: %s", what, t.Reference, t.Summary)
	for len(summary) > 480 {
		r := []rune(summary)
		summary = string(r[:len(r)-1])
	}
	return summary
}

// OutageInput declares the outage an incident is: full, partial (a share
// of the service's users or units) or degraded.
type OutageInput struct {
	Impact       sla.Impact `json:"impact"`
	SharePercent int        `json:"share_percent,omitempty"`
}

// DeclareOutage records the outage an open incident is, of its service,
// from when the incident was opened until it is resolved (or changes the
// one it declared): it carries along the service map and counts against
// availability as any outage does (internal/sla). Callers must work the
// incident and hold outage.record on its service.
func (s *Service) DeclareOutage(ctx context.Context, p *access.Principal, ref string, in OutageInput) (*Ticket, error) {
	if s.SLA == nil {
		return nil, errs.Unavailable("service level management is not running here")
	}
	return s.change(ctx, p, ref, "ticket.outage", true, func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
		if t.Kind == Change {
			return s.plannedOutage(ctx, tx, p, t, in, now)
		}
		if t.Kind != Incident {
			return errs.Conflict("%s is a %s: incidents declare outages, changes announce planned ones", t.Reference, t.Kind)
		}
		if !t.State.Open() {
			return errs.Conflict("%s is %s: reopen it first", t.Reference, t.State)
		}
		started, outageID := t.OpenedAt, t.OutageID
		if outageID != "" {
			if prev, err := s.SLA.Outage(ctx, access.System(), outageID); err != nil {
				return err
			} else if prev.Ended != nil {
				// Reopened after its outage ended: a new outage from now, not
				// the old one stretched over the time it stood resolved.
				started, outageID = now, ""
			}
		}
		o, err := s.SLA.IncidentOutage(ctx, tx, p, t.ID, outageID, outageOf(t, sla.OutageInput{Started: started.Format(time.RFC3339Nano),
			Impact: in.Impact, Share: in.SharePercent, Summary: outageSummary("Incident", t)}))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE tickets SET outage_id = $1 WHERE id = $2`, o.ID, t.ID)
		return sqldb.Err(err, "ticket")
	})
}
