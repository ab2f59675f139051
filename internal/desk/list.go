package desk

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// View is which tickets a list shows.
type View string

// The views.
const (
	// Mine: the tickets the caller raised or watches.
	Mine View = "mine"
	// Queue: the tickets of the caller's assignment groups and of the
	// services where the caller holds ticket.work (an agent's workspace).
	Queue View = "queue"
	// AssignedToMe: the tickets assigned to the caller.
	AssignedToMe View = "assigned"
	// All: every ticket the caller may read (the default).
	All View = "all"
)

// Views lists the views.
var Views = []View{All, Mine, Queue, AssignedToMe}

// Sort orders.
const (
	SortOpened = "opened" // newest first (the default)
	SortDue    = "due"    // least time left first (the resolution due time)
)

// Filter narrows Tickets.
type Filter struct {
	View View
	// State is a state, or "open" (every state but resolved and closed).
	State    string
	Kind     Kind
	Service  string // code or ID
	OrgUnit  string // code or ID: the org unit and those under it
	Group    string // ID or name
	Priority int
	// KnownError lists the known-error database: the problems marked
	// known errors.
	KnownError bool
	// Query matches the summary or the reference.
	Query string
	Sort  string
	Page  sqldb.Page
}

var (
	openedOrder = sqldb.Order{Name: "opened", Columns: []string{"t.opened_at", "t.id"}, Desc: true}
	dueOrder    = sqldb.Order{Name: "due", Columns: []string{"t.resolve_by", "t.id"}}
)

// Validate checks a filter (invalid names the field).
func (f *Filter) Validate() error {
	var v errs.Validator
	if f.View == "" {
		f.View = All
	}
	v.Check(slices.Contains(Views, f.View), "view", "enum", "view is all, mine, queue or assigned")
	v.Check(f.State == "" || f.State == "open" || slices.Contains(States, State(f.State)), "state", "enum",
		"state is open, new, assigned, in_progress, on_hold, resolved or closed")
	v.Check(f.Kind == "" || f.Kind.Valid(), "kind", "enum", "kind is incident, request, problem or change")
	v.Check(f.Priority >= 0 && f.Priority <= 4, "priority", "range", "priority is 1 to 4")
	v.Check(f.Sort == "" || f.Sort == SortOpened || f.Sort == SortDue, "sort", "enum", "sort is opened or due")
	v.Check(len(f.Query) <= 200, "q", "length", "q is at most 200 characters")
	return v.Err("a query parameter is not valid")
}

// scope is mayRead as a condition on t (tickets), ou (their org unit).
func scope(args *sqldb.Args, p *access.Principal) string {
	if p.IsSystem() {
		return "1 = 1"
	}
	// Decided before any argument is added: PostgreSQL refuses a
	// parameter the query does not use.
	all, paths := p.OrgUnitScope(access.TicketRead)
	if all {
		return "1 = 1"
	}
	var ors []string
	if p.CanAnywhere(access.TicketCreate) {
		me := args.Add(p.UserID)
		ors = append(ors, "t.requester_id = "+me, "t.id IN (SELECT ticket_id FROM ticket_watchers WHERE user_id = "+me+")")
	}
	for _, path := range paths {
		ors = append(ors, "ou.path LIKE "+args.Add(path+"%"))
	}
	ors = append(ors, workScope(args, p))
	if _, services := p.ServiceScope(access.TicketRead); len(services) > 0 {
		ors = append(ors, sqldb.In(args, "t.service_id", services))
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// workScope is mayWork as a condition: ticket.work on the ticket's
// service (a global grant covers every service), or membership of its
// group when that counts.
func workScope(args *sqldb.Args, p *access.Principal) string {
	all, services := p.ServiceScope(access.TicketWork)
	if all {
		return "1 = 1"
	}
	var ors []string
	if len(services) > 0 {
		ors = append(ors, sqldb.In(args, "t.service_id", services))
	}
	if worksTickets(p) {
		ors = append(ors, "t.group_id IN "+groupsOf(args.Add(p.UserID)))
	}
	if len(ors) == 0 {
		return "1 = 0"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// Tickets lists a page of the tickets the caller may read, narrowed by the
// filter, newest first or by least time left. Who may read a ticket is
// part of the query. Errors: unauthenticated, invalid.
func (s *Service) Tickets(ctx context.Context, p *access.Principal, f Filter) (sqldb.Paged[*Ticket], error) {
	var none sqldb.Paged[*Ticket]
	if p == nil {
		return none, errs.Unauthenticated("sign in to see tickets")
	}
	if err := f.Validate(); err != nil {
		return none, err
	}
	var args sqldb.Args
	where := []string{"t.requester_id IS NOT NULL"} // incidents recorded as SLA input only are listed by service levels
	switch f.View {
	case Mine:
		if !p.CanAnywhere(access.TicketCreate) {
			return none, access.Forbidden(access.TicketCreate)
		}
		me := args.Add(p.UserID)
		where = append(where, "(t.requester_id = "+me+" OR t.id IN (SELECT ticket_id FROM ticket_watchers WHERE user_id = "+me+"))")
	case Queue:
		where = append(where, workScope(&args, p))
	case AssignedToMe:
		where = append(where, "t.assignee_id = "+args.Add(p.UserID), workScope(&args, p))
	default:
		where = append(where, scope(&args, p))
	}
	switch {
	case f.State == "open":
		where = append(where, "t.state NOT IN ('resolved', 'closed')")
	case f.State != "":
		where = append(where, "t.state = "+args.Add(f.State))
	}
	if f.Kind != "" {
		where = append(where, "t.kind = "+args.Add(f.Kind))
	}
	if f.Priority != 0 {
		where = append(where, "t.priority = "+args.Add(f.Priority))
	}
	if f.KnownError {
		where = append(where, "t.kind = 'problem' AND t.known_error = TRUE")
	}
	if ref := strings.TrimSpace(f.Service); ref != "" {
		a := args.Add(ref)
		where = append(where, "(s.id = "+a+" OR s.code = "+a+")")
	}
	if ref := strings.TrimSpace(f.Group); ref != "" {
		a := args.Add(ref)
		where = append(where, "(g.id = "+a+" OR g.name = "+a+")")
	}
	if ref := strings.TrimSpace(f.OrgUnit); ref != "" {
		var path string
		if s.db.Read().QueryRowContext(ctx, `SELECT path FROM org_units WHERE id = $1 OR code = $1`, ref).Scan(&path) != nil {
			return none, &errs.Error{Code: errs.CodeInvalid, Message: "a query parameter is not valid",
				Fields: []errs.FieldError{{Field: "org_unit", Rule: "exists", Message: "no org unit " + ref}}}
		}
		where = append(where, "ou.path LIKE "+args.Add(path+"%"))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		like := args.Add("%" + strings.ToLower(q) + "%")
		cond := "LOWER(t.summary) LIKE " + like
		if i := strings.LastIndexByte(q, '-'); i >= 0 {
			if n, err := parseNumber(q[i+1:]); err == nil {
				cond += " OR t.number = " + args.Add(n)
			}
		} else if n, err := parseNumber(q); err == nil {
			cond += " OR t.number = " + args.Add(n)
		}
		where = append(where, "("+cond+")")
	}
	order := openedOrder
	var seek string
	var err error
	var at time.Time
	var id string
	if f.Sort == SortDue {
		order = dueOrder
	}
	seek, err = order.Seek(&args, f.Page, &at, &id)
	if err != nil {
		return none, err
	}
	where = append(where, seek)
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "tickets", scanTicket, `SELECT `+ticketColumns+ticketFrom+` WHERE `+strings.Join(where, " AND ")+
		order.By()+order.Limit(&args, f.Page), args...)
	if err != nil {
		return none, err
	}
	return sqldb.PageOf(rows, f.Page, order, func(t *Ticket) []any {
		if order.Name == dueOrder.Name {
			return []any{*t.ResolveBy, t.ID}
		}
		return []any{t.OpenedAt, t.ID}
	}), nil
}
