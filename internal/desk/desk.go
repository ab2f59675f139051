// Package desk is the service desk (issue 20): tickets (incidents, service
// requests, problems and requests for change), each about a catalog
// service and an org unit, routed to the service's assignment group, with
// priority from impact × urgency, states, comments and work notes,
// watchers, and response and resolution clocks that run in the service
// hours of the agreement that covers the ticket and stand still while it
// is on hold. Incidents are the tickets service level management measures
// (internal/sla reads them and their holds).
//
// Who may do what is decided here: the requester and watchers read their
// ticket and its customer-visible comments; ticket.read on the ticket's
// org unit or service reads it too; ticket.work on its service, or
// membership of its assignment group, works it (and reads the work notes).
package desk

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Kind is what a ticket is.
type Kind string

// The ticket kinds.
const (
	Incident Kind = "incident" // something does not work as it should
	Request  Kind = "request"  // "ask IT": a request outside the catalog
	Problem  Kind = "problem"  // the unknown cause of one or more incidents
	Change   Kind = "change"   // a request for change
)

// Kinds lists the kinds.
var Kinds = []Kind{Incident, Request, Problem, Change}

// prefix is how a kind's references start: INC-000042.
var prefix = map[Kind]string{Incident: "INC", Request: "REQ", Problem: "PRB", Change: "CHG"}

// Valid reports whether k is a kind.
func (k Kind) Valid() bool { _, ok := prefix[k]; return ok }

// State is where a ticket is.
type State string

// The ticket states.
const (
	StateNew        State = "new"
	StateAssigned   State = "assigned" // to a person
	StateInProgress State = "in_progress"
	StateOnHold     State = "on_hold" // awaiting the customer, a supplier or a change: the clocks stand still
	StateResolved   State = "resolved"
	StateClosed     State = "closed"
)

// States lists the states in their order.
var States = []State{StateNew, StateAssigned, StateInProgress, StateOnHold, StateResolved, StateClosed}

// Open reports whether the ticket is still being worked.
func (s State) Open() bool { return s != StateResolved && s != StateClosed }

// HoldReasons are why a ticket may wait.
var HoldReasons = []string{"customer", "supplier", "change"}

// Levels of impact and urgency: 1 high, 2 medium, 3 low.
var Levels = map[int]string{1: "high", 2: "medium", 3: "low"}

// The bounds of a ticket's texts (docs/limits.md).
const (
	MaxSummary     = 200
	MaxDescription = 20000
	MaxComment     = 20000
	// MaxWatchers is the most people watching one ticket.
	MaxWatchers = 50
)

// Ref names a service, org unit, group or person on a ticket.
type Ref struct {
	ID   string `json:"id"`
	Code string `json:"code,omitempty"`
	Name string `json:"name"`
}

// Ticket is an incident, request, problem or change.
type Ticket struct {
	ID        string `json:"id"`
	Number    int64  `json:"number"`
	Reference string `json:"reference"`
	Kind      Kind   `json:"kind"`
	State     State  `json:"state"`
	Service   Ref    `json:"service"`
	// ConfigItem narrows the service to one configuration item on its map.
	ConfigItem    *Ref       `json:"config_item,omitempty"`
	OrgUnit       *Ref       `json:"org_unit,omitempty"`
	Requester     *Ref       `json:"requester,omitempty"`
	Summary       string     `json:"summary"`
	Description   string     `json:"description"`
	Impact        int        `json:"impact"`
	Urgency       int        `json:"urgency"`
	Priority      int        `json:"priority"`
	Group         *Ref       `json:"group,omitempty"`
	Tier          int        `json:"tier"`
	Assignee      *Ref       `json:"assignee,omitempty"`
	HoldReason    string     `json:"hold_reason,omitempty"`
	Resolution    string     `json:"resolution,omitempty"`
	OpenedAt      time.Time  `json:"opened_at"`
	RespondedAt   *time.Time `json:"responded_at,omitempty"`
	ResolvedAt    *time.Time `json:"resolved_at,omitempty"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
	RespondBy     *time.Time `json:"respond_by,omitempty"`
	ResolveBy     *time.Time `json:"resolve_by,omitempty"`
	ParentID      string     `json:"parent_id,omitempty"`
	MergedIntoID  string     `json:"merged_into_id,omitempty"`
	Rating        *int       `json:"rating,omitempty"`
	RatingComment string     `json:"rating_comment,omitempty"`
	Reopened      int        `json:"reopened"`
	OutageID      string     `json:"outage_id,omitempty"`
	UpdatedAt     time.Time  `json:"updated_at"`
	// Change is a request for change's plan and approvals (read with the
	// ticket, not in lists).
	Change *ChangePlan `json:"change,omitempty"`

	orgUnitPath string
	groupID     string
}

// Resource is the ticket as a scope: its org unit and its service.
func (t *Ticket) Resource() access.Resource {
	return access.Resource{OrgUnitPath: t.orgUnitPath, ServiceID: t.Service.ID}
}

// reference formats a ticket reference: INC-000042.
func reference(k Kind, n int64) string {
	p, ok := prefix[k]
	if !ok {
		p = "TKT"
	}
	return fmt.Sprintf("%s-%06d", p, n)
}

// Clock is a ticket's response or resolution clock as it stands.
type Clock struct {
	// Target is the service time allowed, 0 when no agreement sets one
	// (the desk's default for the priority is then used for Due).
	TargetMinutes int    `json:"target_minutes"`
	Agreement     string `json:"agreement,omitempty"`
	// Elapsed is the service time it has run (holds left out).
	ElapsedMinutes int `json:"elapsed_minutes"`
	// Left is the service time left, negative when late.
	LeftMinutes int        `json:"left_minutes"`
	Due         *time.Time `json:"due,omitempty"`
	Stopped     bool       `json:"stopped"` // responded, or resolved
	Paused      bool       `json:"paused"`  // on hold
	Late        bool       `json:"late"`
	// Warning is set when a running clock has used 75 % of its target.
	Warning bool `json:"warning"`
}

// Comment is a customer-visible comment or an internal work note.
type Comment struct {
	ID        string    `json:"id"`
	Author    Ref       `json:"author"`
	Internal  bool      `json:"internal"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// Service is the service desk.
type Service struct {
	db  *sqldb.DB
	now func() time.Time
	cat *catalog.Catalog
	// slaChanged asks service level management to measure again, in the
	// transaction that changed an incident.
	slaChanged func(context.Context, *sqldb.Tx) error
	suggest    suggester
	// SLA records the outages incidents declare (nil: they declare none).
	SLA *sla.Service
	// Orders places the orders service requests turn into (nil: they
	// turn into none).
	Orders *orders.Service
}

// New returns the service desk; slaChanged (sla.Service.Changed) is
// called in the transaction of every change to an incident.
func New(db *sqldb.DB, now func() time.Time, cat *catalog.Catalog, slaChanged func(context.Context, *sqldb.Tx) error) *Service {
	return &Service{db: db, now: now, cat: cat, slaChanged: slaChanged}
}

func (s *Service) audit(ctx context.Context, tx *sqldb.Tx, p *access.Principal, e audit.Entry) error {
	return audit.Write(ctx, tx, p, s.now(), e)
}

const ticketColumns = `t.id, t.number, t.kind, t.state, s.id, s.code, s.name, COALESCE(ou.id, ''), COALESCE(ou.code, ''), COALESCE(ou.name, ''), COALESCE(ou.path, ''),
	COALESCE(rq.id, ''), COALESCE(rq.name, ''), t.summary, t.description, t.impact, t.urgency, t.priority,
	COALESCE(g.id, ''), COALESCE(g.name, ''), t.tier, COALESCE(asg.id, ''), COALESCE(asg.name, ''), t.hold_reason, t.resolution,
	t.opened_at, t.responded_at, t.resolved_at, t.closed_at, t.respond_by, t.resolve_by, COALESCE(t.parent_id, ''), COALESCE(t.merged_into_id, ''),
	t.rating, t.rating_comment, t.reopened, COALESCE(t.outage_id, ''), t.updated_at, COALESCE(ci.id, ''), COALESCE(ci.code, ''), COALESCE(ci.name, '')`

const ticketFrom = ` FROM tickets t JOIN services s ON s.id = t.service_id LEFT JOIN org_units ou ON ou.id = t.org_unit_id
	LEFT JOIN users rq ON rq.id = t.requester_id LEFT JOIN assignment_groups g ON g.id = t.group_id LEFT JOIN users asg ON asg.id = t.assignee_id
	LEFT JOIN config_items ci ON ci.id = t.ci_id`

func scanTicket(row sqldb.Scanner) (*Ticket, error) {
	var t Ticket
	var ou, rq, g, asg, ci Ref
	var responded, resolved, closed, respondBy, resolveBy sql.NullTime
	var rating sql.NullInt64
	if err := row.Scan(&t.ID, &t.Number, &t.Kind, &t.State, &t.Service.ID, &t.Service.Code, &t.Service.Name, &ou.ID, &ou.Code, &ou.Name, &t.orgUnitPath,
		&rq.ID, &rq.Name, &t.Summary, &t.Description, &t.Impact, &t.Urgency, &t.Priority,
		&g.ID, &g.Name, &t.Tier, &asg.ID, &asg.Name, &t.HoldReason, &t.Resolution,
		&t.OpenedAt, &responded, &resolved, &closed, &respondBy, &resolveBy, &t.ParentID, &t.MergedIntoID,
		&rating, &t.RatingComment, &t.Reopened, &t.OutageID, &t.UpdatedAt, &ci.ID, &ci.Code, &ci.Name); err != nil {
		return nil, err
	}
	t.Reference = reference(t.Kind, t.Number)
	t.OpenedAt, t.UpdatedAt = t.OpenedAt.UTC(), t.UpdatedAt.UTC()
	t.RespondedAt, t.ResolvedAt, t.ClosedAt = sqldb.TimePtr(responded), sqldb.TimePtr(resolved), sqldb.TimePtr(closed)
	t.RespondBy, t.ResolveBy = sqldb.TimePtr(respondBy), sqldb.TimePtr(resolveBy)
	ref := func(r Ref) *Ref {
		if r.ID == "" {
			return nil
		}
		return &r
	}
	t.OrgUnit, t.Requester, t.Group, t.Assignee, t.ConfigItem = ref(ou), ref(rq), ref(g), ref(asg), ref(ci)
	t.groupID = g.ID
	if rating.Valid {
		r := int(rating.Int64)
		t.Rating = &r
	}
	return &t, nil
}

// get reads a ticket by ID or reference ("INC-000042", or the number).
func get(ctx context.Context, q sqldb.Querier, ref string) (*Ticket, error) {
	ref = strings.TrimSpace(ref)
	if sqldb.ValidID(ref) {
		return sqldb.QueryOne(ctx, q, fmt.Sprintf("ticket %q", ref), scanTicket, `SELECT `+ticketColumns+ticketFrom+` WHERE t.id = $1`, ref)
	}
	num := ref
	if i := strings.LastIndexByte(ref, '-'); i >= 0 {
		num = ref[i+1:]
	}
	n, err := parseNumber(num)
	if err != nil {
		return nil, errs.NotFound("ticket %q not found", ref)
	}
	t, err := sqldb.QueryOne(ctx, q, fmt.Sprintf("ticket %q", ref), scanTicket, `SELECT `+ticketColumns+ticketFrom+` WHERE t.number = $1`, n)
	if err != nil {
		return nil, err
	}
	if i := strings.LastIndexByte(ref, '-'); i >= 0 && !strings.EqualFold(ref[:i], prefix[t.Kind]) {
		return nil, errs.NotFound("ticket %q not found", ref)
	}
	return t, nil
}

// worksTickets reports whether p's membership of assignment groups counts:
// always for a person signed in or with a full token, and for a token
// limited to some roles only when one of them works tickets.
func worksTickets(p *access.Principal) bool {
	return p != nil && (!p.Limited() || p.CanAnywhere(access.TicketWork))
}

// mayWork reports whether p may work the ticket: ticket.work on its
// service (or everywhere), or membership of its assignment group.
func mayWork(ctx context.Context, q sqldb.Querier, p *access.Principal, t *Ticket) bool {
	if p == nil {
		return false
	}
	if p.Can(access.TicketWork, access.Resource{ServiceID: t.Service.ID}) {
		return true
	}
	return t.groupID != "" && worksTickets(p) && inGroup(ctx, q, t.groupID, p.UserID)
}

// inGroup reports whether the user is a member of the group or its
// manager: either works the group's tickets.
func inGroup(ctx context.Context, q sqldb.Querier, groupID, userID string) bool {
	var one int
	return q.QueryRowContext(ctx, `SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2
		UNION ALL SELECT 1 FROM assignment_groups WHERE id = $1 AND manager_id = $2`, groupID, userID).Scan(&one) == nil
}

// groupsOf is the SQL of the groups a user (the argument) is a member or
// the manager of.
func groupsOf(user string) string {
	return "(SELECT group_id FROM group_members WHERE user_id = " + user + " UNION SELECT id FROM assignment_groups WHERE manager_id = " + user + ")"
}

// isWatcher reports whether p watches the ticket (as a person who may
// raise tickets: a limited token of another role does not).
func isWatcher(ctx context.Context, q sqldb.Querier, p *access.Principal, t *Ticket) bool {
	if p == nil || p.IsSystem() || !p.CanAnywhere(access.TicketCreate) {
		return false
	}
	var one int
	return q.QueryRowContext(ctx, `SELECT 1 FROM ticket_watchers WHERE ticket_id = $1 AND user_id = $2`, t.ID, p.UserID).Scan(&one) == nil
}

// mayRead reports whether p may read the ticket and its customer-visible
// comments: its requester or a watcher, ticket.read on its org unit or
// service, or whoever may work it.
func mayRead(ctx context.Context, q sqldb.Querier, p *access.Principal, t *Ticket) bool {
	if p == nil {
		return false
	}
	if t.Requester != nil && p.Owns(t.Requester.ID, access.TicketCreate) {
		return true
	}
	if p.Can(access.TicketRead, t.Resource()) {
		return true
	}
	return mayWork(ctx, q, p, t) || isWatcher(ctx, q, p, t)
}

// readsNotes reports whether p reads a ticket's internal work notes:
// whoever may work it, and auditors.
func readsNotes(ctx context.Context, q sqldb.Querier, p *access.Principal, t *Ticket) bool {
	return p.Can(access.AuditRead, access.Resource{}) || mayWork(ctx, q, p, t)
}

// Ticket reads one ticket (by ID or reference) that p may read; not_found
// otherwise, so a ticket of another org unit is not told from none.
func (s *Service) Ticket(ctx context.Context, p *access.Principal, ref string) (*Ticket, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to see tickets")
	}
	t, err := get(ctx, s.db.Read(), ref)
	if err != nil {
		return nil, err
	}
	if !mayRead(ctx, s.db.Read(), p, t) {
		return nil, errs.NotFound("ticket %q not found", ref)
	}
	if err := s.withChange(ctx, s.db.Read(), t, p); err != nil {
		return nil, err
	}
	return t, nil
}

// Access says what p may do with a ticket, for the portal and the API.
type Access struct {
	Work      bool `json:"work"`       // take, assign, hold, resolve, work notes
	Notes     bool `json:"notes"`      // read the work notes
	Requester bool `json:"requester"`  // p raised it: may rate, reopen, comment
	Comment   bool `json:"comment"`    // add a customer-visible comment
	Watching  bool `json:"watching"`   // p watches it
	MayReopen bool `json:"may_reopen"` // a resolved ticket within the reopening time
	// Withdraw: a change not implemented yet that p may withdraw.
	Withdraw bool `json:"withdraw"`
	// Order: an open service request p may turn into an order (placing
	// it also needs order.create on its org unit: the orders service
	// decides).
	Order bool `json:"order"`
}

// AccessTo says what p may do with a ticket p may read.
func (s *Service) AccessTo(ctx context.Context, p *access.Principal, t *Ticket) Access {
	q := s.db.Read()
	a := accessOf(p, t, mayWork(ctx, q, p, t), isWatcher(ctx, q, p, t))
	if a.Order {
		// One order at a time: not while one is under way.
		under, err := orderUnderWay(ctx, q, t.ID)
		a.Order = err == nil && under == ""
	}
	if t.State == StateResolved && (a.Requester || a.Work) && t.ResolvedAt != nil {
		days, _ := s.reopenDays(ctx, q)
		a.MayReopen = s.now().Before(t.ResolvedAt.AddDate(0, 0, days))
	}
	return a
}

// accessOf is p's access to t given whether p works it and watches it
// (what AccessTo reads; a raise knows both), all but the reopening.
func accessOf(p *access.Principal, t *Ticket, works, watching bool) Access {
	a := Access{Work: works, Notes: works || p.Can(access.AuditRead, access.Resource{}),
		Requester: t.Requester != nil && p.Owns(t.Requester.ID, access.TicketCreate), Watching: watching}
	a.Comment = a.Work || a.Requester || a.Watching
	a.Withdraw = mayWithdraw(p, t, works)
	a.Order = orderable(t) == nil && (a.Requester || works) && t.OrgUnit != nil && p.Can(access.OrderCreate, access.InOrgUnit(t.orgUnitPath))
	return a
}

// reopenDays is how long a resolved ticket may be reopened
// (desk_settings).
func (s *Service) reopenDays(ctx context.Context, q sqldb.Querier) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT reopen_days FROM desk_settings WHERE id = 1`).Scan(&n); err != nil {
		return 7, sqldb.Err(err, "desk settings")
	}
	return n, nil
}

var commentOrder = sqldb.Order{Name: "comments", Columns: []string{"c.created_at", "c.id"}}

// Comments lists a page of a ticket's comments, oldest first: the work
// notes too for those who read them.
func (s *Service) Comments(ctx context.Context, p *access.Principal, ref string, pg sqldb.Page) (sqldb.Paged[*Comment], error) {
	var none sqldb.Paged[*Comment]
	t, err := s.Ticket(ctx, p, ref)
	if err != nil {
		return none, err
	}
	q := s.db.Read()
	args := sqldb.Args{t.ID}
	cond := " AND c.internal = FALSE"
	if readsNotes(ctx, q, p, t) {
		cond = ""
	}
	var at time.Time
	var id string
	seek, err := commentOrder.Seek(&args, pg, &at, &id)
	if err != nil {
		return none, err
	}
	rows, err := sqldb.QueryAll(ctx, q, "comments", func(row sqldb.Scanner) (*Comment, error) {
		var c Comment
		if err := row.Scan(&c.ID, &c.Author.ID, &c.Author.Name, &c.Internal, &c.Body, &c.CreatedAt); err != nil {
			return nil, err
		}
		c.CreatedAt = c.CreatedAt.UTC()
		return &c, nil
	}, `SELECT c.id, u.id, u.name, c.internal, c.body, c.created_at FROM ticket_comments c JOIN users u ON u.id = c.author_id
		WHERE c.ticket_id = $1`+cond+` AND `+seek+commentOrder.By()+commentOrder.Limit(&args, pg), args...)
	if err != nil {
		return none, err
	}
	return sqldb.PageOf(rows, pg, commentOrder, func(c *Comment) []any { return []any{c.CreatedAt, c.ID} }), nil
}

// holds reads a ticket's holds as spans (a running one lasts).
func holds(ctx context.Context, q sqldb.Querier, ticketID string) ([]sla.Span, error) {
	return sqldb.QueryAll(ctx, q, "ticket holds", func(row sqldb.Scanner) (sla.Span, error) {
		var start time.Time
		var end sql.NullTime
		if err := row.Scan(&start, &end); err != nil {
			return sla.Span{}, err
		}
		sp := sla.Span{Start: sla.Micros(start), End: sla.Ongoing}
		if end.Valid {
			sp.End = sla.Micros(end.Time)
		}
		return sp, nil
	}, `SELECT started_at, ended_at FROM ticket_holds WHERE ticket_id = $1 ORDER BY started_at`, ticketID)
}

// parseNumber reads a ticket number ("000042").
func parseNumber(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err == nil && n <= 0 {
		err = strconv.ErrRange
	}
	return n, err
}

// Detail is a ticket with its clocks and what the reader may do with it.
type Detail struct {
	*Ticket
	Response   Clock  `json:"response_clock"`
	Resolution Clock  `json:"resolution_clock"`
	Access     Access `json:"access"`
	// Related: the problem's record, and the tickets around it (problems.go).
	Related
	// OutageImpact: what an incident's declared outage takes down, for
	// those who work it (impact.go).
	OutageImpact *TicketImpact `json:"outage_impact,omitempty"`
	// Orders: the orders a service request turned into (requestorder.go).
	Orders []OrderRef `json:"orders,omitempty"`
}

// Detail reads a ticket p may read with its clocks and p's access to it.
func (s *Service) Detail(ctx context.Context, p *access.Principal, ref string) (*Detail, error) {
	t, err := s.Ticket(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	d := &Detail{Ticket: t, Access: s.AccessTo(ctx, p, t)}
	if d.Response, d.Resolution, err = s.Clocks(ctx, t); err != nil {
		return nil, err
	}
	if d.Related, err = s.related(ctx, p, t); err != nil {
		return nil, err
	}
	q := s.db.Read()
	if d.OutageImpact, err = s.impact(ctx, q, t, readsNotes(ctx, q, p, t)); err != nil {
		return nil, err
	}
	if t.Kind == Request {
		if d.Orders, err = ordersOf(ctx, q, t.ID); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Services lists the services tickets may be raised about (live and
// retiring), by name, for whoever may raise tickets: the choice the
// "get help" form offers, which names no more than the catalog does.
func (s *Service) Services(ctx context.Context, p *access.Principal) ([]Ref, error) {
	if err := p.RequireAnywhere(access.TicketCreate); err != nil {
		return nil, err
	}
	return sqldb.QueryAll(ctx, s.db.Read(), "services", func(row sqldb.Scanner) (Ref, error) {
		var r Ref
		return r, row.Scan(&r.ID, &r.Code, &r.Name)
	}, `SELECT id, code, name FROM services WHERE lifecycle IN ('live', 'retiring') ORDER BY name, code LIMIT 5000`)
}
