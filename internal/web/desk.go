package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/knowledge"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// deskRoutes are the service desk's pages (issue 20): get help, the
// ticket lists and a ticket.
func (p *Portal) deskRoutes() []route {
	return append([]route{
		{"GET /help", false, show(p, "help", p.helpView)},
		{"POST /help", false, p.raiseTicket},
		{"GET /tickets", false, show(p, "tickets", p.ticketsView)},
		{"GET /tickets/report", false, func(w http.ResponseWriter, r *http.Request) error {
			pg, err := p.ticketReportView(r)
			if err != nil {
				return err
			}
			return p.render(w, r, statusOf(pg.Page), "ticket_report", pg)
		}},
		{"GET /tickets/report.csv", false, p.ticketReportCSV},
		{"GET /tickets/{ref}", false, show(p, "ticket", p.ticketView)},
		{"POST /tickets/{ref}/{action}", false, p.ticketAction},
		{"POST /tickets/assign", false, p.assignTickets},
	}, p.deskRelatedRoutes()...)
}

// mayUseDesk reports whether the reader has a ticket list: raising,
// reading or working tickets.
func mayUseDesk(pr *access.Principal) bool {
	return pr.CanAnywhere(access.TicketCreate) || pr.CanAnywhere(access.TicketRead) || pr.CanAnywhere(access.TicketWork)
}

type helpPage struct {
	Page
	Services []desk.Ref
	Form     struct {
		Kind, Service, Summary, Description string
		Impact, Urgency                     int
	}
	Recent []*desk.Ticket
	// Suggestions are the services the description is about, best first
	// (after "Suggest services"); Chosen the one picked.
	Suggestions []desk.Suggestion
	Suggested   bool
	// Articles are the knowledge articles that may answer the description
	// (deflection; static/knowledge.js asks again as the reader types).
	Articles []knowledge.Suggestion
}

func formInt(v string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return def
	}
	return n
}

func (p *Portal) helpView(r *http.Request) (helpPage, error) {
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	pg := helpPage{Page: p.pageFor(r, "Get help")}
	if err := r.ParseForm(); err != nil { // "Suggest the service" sends the form by GET
		return pg, errs.Invalid("the form does not decode: %v", err)
	}
	if err := pr.RequireAnywhere(access.TicketCreate); err != nil {
		return pg, err
	}
	var err error
	if pg.Services, err = p.Desk.Services(ctx, pr); err != nil {
		return pg, err
	}
	f := r.Form
	pg.Form.Kind, pg.Form.Service, pg.Form.Summary, pg.Form.Description = f.Get("kind"), f.Get("service"), f.Get("summary"), f.Get("description")
	pg.Form.Impact, pg.Form.Urgency = formInt(f.Get("impact"), 2), formInt(f.Get("urgency"), 2)
	if pg.Form.Kind == "" {
		pg.Form.Kind = string(desk.Incident)
	}
	if pg.Form.Service == "" {
		pg.Form.Service = f.Get("other_service")
	}
	if d := strings.TrimSpace(pg.Form.Description + " " + pg.Form.Summary); d != "" && (f.Has("suggest") || f.Has("service")) {
		if pg.Suggestions, err = p.Desk.Suggest(ctx, pr, d, 3); err != nil {
			return pg, err
		}
		pg.Suggested = true
		if pg.Form.Service == "" && len(pg.Suggestions) > 0 {
			pg.Form.Service = pg.Suggestions[0].Service.Code
		}
	}
	pg.Articles = p.helpArticles(r, pg.Form.Summary+"\n"+pg.Form.Description)
	mine, err := p.Desk.Tickets(ctx, pr, desk.Filter{View: desk.Mine, Page: sqldb.Page{Limit: 5}})
	pg.Recent = mine.Items
	return pg, err
}

func (p *Portal) raiseTicket(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	svc := f.Get("service")
	if svc == "" {
		svc = f.Get("other_service")
	}
	t, err := p.Desk.Raise(r.Context(), middleware.Principal(r.Context()), desk.RaiseInput{Kind: desk.Kind(f.Get("kind")), Service: svc,
		Summary: f.Get("summary"), Description: f.Get("description"), Impact: formInt(f.Get("impact"), 0), Urgency: formInt(f.Get("urgency"), 0)})
	if err != nil {
		return reshow(p, w, r, "help", err, p.helpView)
	}
	return p.redirect(w, r, "/tickets/"+t.Reference, "Raised "+t.Reference+": the "+refName(t.Group, "service desk")+" has it.")
}

func refName(r *desk.Ref, none string) string {
	if r == nil {
		return none
	}
	return r.Name
}

type ticketTab struct {
	Label, Href string
	Current     bool
}

type ticketsPage struct {
	Page
	Tabs    []ticketTab
	View    desk.View
	State   string
	Kind    string
	Query   string
	Tickets []*desk.Ticket
	More    string
	States  []desk.State
	Kinds   []desk.Kind
	Works   bool
	// KnownError shows the known-error database.
	KnownError bool
}

func (p *Portal) ticketsView(r *http.Request) (ticketsPage, error) {
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	q := r.URL.Query()
	works := pr.CanAnywhere(access.TicketWork)
	pg := ticketsPage{Page: p.pageFor(r, "Tickets"), View: desk.View(q.Get("view")), State: q.Get("state"), Kind: q.Get("kind"), Query: q.Get("q"),
		States: desk.States, Kinds: desk.Kinds, Works: works, KnownError: q.Get("known_error") == "true"}
	if !mayUseDesk(pr) {
		return pg, access.Forbidden(access.TicketCreate)
	}
	type tab struct {
		view  desk.View
		label string
		show  bool
	}
	tabs := []tab{
		{desk.Queue, "My groups' queue", works},
		{desk.AssignedToMe, "Assigned to me", works},
		{desk.Mine, "Raised or watched by me", pr.CanAnywhere(access.TicketCreate)},
		{desk.All, "All I may see", true},
	}
	if pg.View == "" {
		for _, t := range tabs {
			if t.show {
				pg.View = t.view
				break
			}
		}
		if pg.State == "" && pg.View == desk.Queue {
			pg.State = "open"
		}
	}
	for _, t := range tabs {
		if t.show {
			pg.Tabs = append(pg.Tabs, ticketTab{Label: t.label, Href: "/tickets?view=" + string(t.view), Current: t.view == pg.View})
		}
	}
	sort := desk.SortOpened
	if pg.View == desk.Queue || pg.View == desk.AssignedToMe {
		sort = desk.SortDue
	}
	list, err := p.Desk.Tickets(ctx, pr, desk.Filter{View: pg.View, State: pg.State, Kind: desk.Kind(pg.Kind), Query: pg.Query, Sort: sort, KnownError: pg.KnownError,
		Page: sqldb.Page{Cursor: q.Get("cursor")}})
	if err != nil {
		if errs.Is(err, errs.CodeInvalid) {
			pg.Error = errs.As(err).Message
			return pg, nil
		}
		return pg, err
	}
	pg.Tickets, pg.More = list.Items, moreLink(r, list.Next)
	return pg, nil
}

type ticketPage struct {
	Page
	T        *desk.Detail
	Comments []*desk.Comment
	More     string
	Groups   []*identity.Group
	Services []desk.Ref
	Form     struct {
		Body, Resolution, Note, HoldReason, Group, Assignee, Service, RatingComment, Reason, ConfigItem string
		Choice, OrderNote                                                                               string
		Internal, FirstContact                                                                          bool
		Tier, Impact, Urgency, Rating                                                                   int
	}
	Reasons []string
	// Elsewhere are the other services the ticket's words suggest, for
	// one-click reclassification (which teaches the suggestion).
	Elsewhere []desk.Suggestion
	// DeclaresOutage: the reader may declare the incident's outage;
	// ReadsOutages: the reader may open the outages page.
	DeclaresOutage, ReadsOutages bool
	Impacts                      []sla.Impact
	// Implementable: not a change waiting for (or refused by) the CAB.
	Implementable bool
	// PlansChanges: the reader has the change calendar and the CAB agenda.
	PlansChanges bool
	// Articles are the knowledge articles linked to the ticket.
	Articles ticketArticles
	// Related: the ticket's files, problem, parent and merges (desk_related.go).
	Related ticketRelated
	// Context: the service's map, the requester's instances and the other
	// open incidents, for those who work it (desk_context.go).
	Context ticketContext
	// Orderable: the offering plans of the ticket's service the reader may
	// order, for a service request the reader may turn into an order.
	Orderable []orderChoice
}

func (p *Portal) ticketView(r *http.Request) (ticketPage, error) {
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	pg := ticketPage{Page: p.pageFor(r, "Ticket"), Reasons: desk.HoldReasons, Impacts: sla.Impacts, ReadsOutages: sla.MayReadOutages(pr)}
	d, err := p.Desk.Detail(ctx, pr, r.PathValue("ref"))
	if err != nil {
		return pg, err
	}
	pg.T, pg.Title = d, d.Reference+": "+d.Summary
	pg.Implementable = d.Change == nil || d.Change.Approval == desk.ApprovalApproved
	pg.PlansChanges = desk.MayPlanChanges(pr)
	outage := d.Kind == desk.Incident && d.State.Open() || d.Kind == desk.Change && d.State == desk.StateInProgress && pg.Implementable
	pg.DeclaresOutage = d.Access.Work && outage && pr.Can(access.OutageRecord, access.Resource{ServiceID: d.Service.ID})
	cs, err := p.Desk.Comments(ctx, pr, d.ID, sqldb.Page{Limit: sqldb.MaxLimit, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return pg, err
	}
	pg.Comments, pg.More = cs.Items, moreLink(r, cs.Next)
	if pg.Articles, err = p.ticketArticles(r, d); err != nil {
		return pg, err
	}
	if pg.Related, err = p.ticketRelated(r, d); err != nil {
		return pg, err
	}
	if d.Access.Order {
		if pg.Orderable, err = p.orderChoices(r, d); err != nil {
			return pg, err
		}
	}
	if d.Access.Work {
		if pg.Context, err = p.ticketContext(r, d); err != nil {
			return pg, err
		}
		if pr.CanAnywhere(access.GroupRead) {
			if pg.Groups, err = p.Identity.Groups(ctx, pr); err != nil {
				return pg, err
			}
		}
		if pr.CanAnywhere(access.TicketCreate) {
			if pg.Services, err = p.Desk.Services(ctx, pr); err != nil {
				return pg, err
			}
		}
		if d.State.Open() {
			sg, err := p.Desk.Suggest(ctx, pr, d.Summary+"\n"+d.Description, 3)
			if err != nil {
				return pg, err
			}
			for _, x := range sg {
				if x.Service.ID != d.Service.ID {
					pg.Elsewhere = append(pg.Elsewhere, x)
				}
			}
		}
	}
	f := r.Form
	pg.Form.Body, pg.Form.Resolution, pg.Form.Note, pg.Form.HoldReason = f.Get("body"), f.Get("resolution"), f.Get("note"), f.Get("hold_reason")
	pg.Form.Group, pg.Form.Assignee, pg.Form.Service, pg.Form.RatingComment = f.Get("group"), f.Get("assignee"), f.Get("service"), f.Get("rating_comment")
	pg.Form.Reason, pg.Form.ConfigItem = f.Get("reason"), f.Get("config_item")
	pg.Form.Choice, pg.Form.OrderNote = f.Get("choice"), f.Get("order_note")
	if !f.Has("config_item") && d.ConfigItem != nil {
		pg.Form.ConfigItem = d.ConfigItem.ID
	}
	pg.Form.Internal, pg.Form.FirstContact = f.Get("internal") == "on", f.Get("first_contact") == "on"
	pg.Form.Tier, pg.Form.Impact, pg.Form.Urgency, pg.Form.Rating = formInt(f.Get("tier"), d.Tier), formInt(f.Get("impact"), d.Impact),
		formInt(f.Get("urgency"), d.Urgency), formInt(f.Get("rating"), 0)
	if pg.Form.Service == "" {
		pg.Form.Service = d.Service.ID
	}
	return pg, nil
}

// orderChoice is an offering's plan a request may be ordered as.
type orderChoice struct {
	Value, Label string
}

// orderChoices are the plans of the ticket's service's offerings the
// reader may see, for the request's "order it" form.
func (p *Portal) orderChoices(r *http.Request, d *desk.Detail) ([]orderChoice, error) {
	os, err := p.Catalog.Offerings(r.Context(), middleware.Principal(r.Context()), catalog.OfferingFilter{ServiceID: d.Service.ID})
	if err != nil {
		return nil, err
	}
	var out []orderChoice
	for _, o := range os {
		for _, pl := range o.Plans {
			out = append(out, orderChoice{Value: o.Code + "/" + pl.Code, Label: o.Name + ": " + pl.Name})
		}
	}
	return out, nil
}

func (p *Portal) ticketAction(w http.ResponseWriter, r *http.Request) error {
	ctx, pr, ref := r.Context(), middleware.Principal(r.Context()), r.PathValue("ref")
	f := r.PostForm
	var t *desk.Ticket
	var err error
	word := "Saved."
	switch r.PathValue("action") {
	case "comment":
		internal := f.Get("internal") == "on"
		t, err = p.Desk.Comment(ctx, pr, ref, desk.CommentInput{Body: f.Get("body"), Internal: internal})
		word = "Comment added."
		if internal {
			word = "Work note added."
		}
	case "take":
		t, err = p.Desk.Take(ctx, pr, ref)
		word = "It is yours."
	case "move":
		to := desk.State(f.Get("to"))
		t, err = p.Desk.Move(ctx, pr, ref, desk.MoveInput{To: to, HoldReason: f.Get("hold_reason"), Resolution: f.Get("resolution"), Note: f.Get("note"),
			FirstContact: f.Get("first_contact") == "on"})
		word = map[desk.State]string{desk.StateInProgress: "In progress.", desk.StateOnHold: "On hold: the clocks stand still.",
			desk.StateResolved: "Resolved; the requester is told.", desk.StateClosed: "Closed."}[to]
	case "assign":
		t, err = p.Desk.Assign(ctx, pr, ref, desk.AssignInput{Group: f.Get("group"), Tier: formInt(f.Get("tier"), 0), Assignee: f.Get("assignee"), Note: f.Get("note")})
		word = "Assigned."
	case "classify":
		in := desk.ClassifyInput{Service: f.Get("service"), Impact: formInt(f.Get("impact"), 0), Urgency: formInt(f.Get("urgency"), 0)}
		// The items offered are the current service's: moved to another
		// service, the ticket keeps its item only if it is on that map too.
		if ci := f.Get("config_item"); f.Has("config_item") && (in.Service == "" || in.Service == f.Get("current_service")) {
			in.ConfigItem = &ci
		}
		t, err = p.Desk.Classify(ctx, pr, ref, in)
		word = "Reclassified."
	case "outage":
		t, err = p.Desk.DeclareOutage(ctx, pr, ref, desk.OutageInput{Impact: sla.Impact(f.Get("impact")), SharePercent: formInt(f.Get("share_percent"), 0)})
		word = "Outage declared: it counts against the service's availability until the incident is resolved."
		if err == nil && t.Kind == desk.Change {
			word = "Planned outage recorded until the change is resolved: service levels excuse it where it is in a maintenance window announced in time."
		}
	case "rate":
		t, err = p.Desk.Rate(ctx, pr, ref, desk.RateInput{Rating: formInt(f.Get("rating"), 0), Comment: f.Get("rating_comment")})
		word = "Thank you for rating."
	case "withdraw":
		t, err = p.Desk.WithdrawChange(ctx, pr, ref, desk.WithdrawInput{Reason: f.Get("reason")})
		word = "Withdrawn, and its open decisions with it."
	case "order":
		offering, plan, _ := strings.Cut(f.Get("choice"), "/")
		var o *orders.Order
		o, t, err = p.Desk.Order(ctx, pr, ref, desk.OrderInput{Note: f.Get("order_note"), Items: []orders.ItemInput{{Offering: offering, Plan: plan, Quantity: 1}}})
		if err == nil {
			word = "Ordered as " + o.Reference() + ": the request is resolved when the order is fulfilled."
			if t.State == desk.StateResolved {
				word = "Ordered as " + o.Reference() + ", and fulfilled: the request is resolved."
			}
		}
	case "watch", "unwatch":
		t, err = p.Desk.Watch(ctx, pr, ref, r.PathValue("action") == "watch")
		word = map[bool]string{true: "Watching: you will be told of comments and the resolution.", false: "No longer watching."}[r.PathValue("action") == "watch"]
	default:
		return errs.NotFound("no action %q on tickets", r.PathValue("action"))
	}
	if err != nil {
		return reshow(p, w, r, "ticket", err, p.ticketView)
	}
	if _, err := p.Desk.Ticket(ctx, pr, t.ID); errs.Is(err, errs.CodeNotFound) {
		// Escalated or reclassified out of the reader's reach: back to the queue.
		return p.redirect(w, r, "/tickets", t.Reference+": "+word+" It is no longer in your queues.")
	}
	return p.redirect(w, r, "/tickets/"+url.PathEscape(t.Reference), word)
}

// assignTickets assigns the tickets selected in a queue: all or none.
func (p *Portal) assignTickets(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	ts, err := p.Desk.AssignAll(r.Context(), middleware.Principal(r.Context()), f["ticket"],
		desk.AssignInput{Assignee: f.Get("assignee"), Tier: formInt(f.Get("tier"), 0), Note: f.Get("note")})
	if err != nil {
		return reshow(p, w, r, "tickets", err, p.ticketsView)
	}
	word := "tickets"
	if len(ts) == 1 {
		word = "ticket"
	}
	return p.redirect(w, r, "/tickets", fmt.Sprintf("Assigned %d %s.", len(ts), word))
}

type ticketReportPage struct {
	Page
	From, To, By, Kind string
	Rows               []*desk.ReportRow
	CSV                string
}

// reportFilter reads a report's period (months, the last three by
// default), grouping and kind from the query.
func (p *Portal) reportFilter(r *http.Request) (desk.ReportFilter, ticketReportPage, error) {
	q := r.URL.Query()
	now := p.Now().UTC()
	pg := ticketReportPage{From: q.Get("from"), To: q.Get("to"), By: q.Get("by"), Kind: q.Get("kind")}
	if pg.From == "" {
		pg.From = time.Date(now.Year(), now.Month()-2, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
	}
	if pg.To == "" {
		pg.To = time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
	}
	if pg.By == "" {
		pg.By = string(desk.ByService)
	}
	var v errs.Validator
	from, ferr := time.Parse("2006-01", pg.From)
	v.Check(ferr == nil, "from", "format", "from is a month such as 2026-11")
	to, terr := time.Parse("2006-01", pg.To)
	v.Check(terr == nil, "to", "format", "to is a month such as 2026-12")
	pg.CSV = "/tickets/report.csv?" + url.Values{"from": {pg.From}, "to": {pg.To}, "by": {pg.By}, "kind": {pg.Kind}}.Encode()
	return desk.ReportFilter{From: from, To: to, By: desk.ReportBy(pg.By), Kind: desk.Kind(pg.Kind)}, pg, v.Err("the report is not valid")
}

func (p *Portal) ticketReportView(r *http.Request) (ticketReportPage, error) {
	f, pg, err := p.reportFilter(r)
	pg.Page = p.pageFor(r, "Service desk report")
	if err == nil {
		pg.Rows, err = p.Desk.Report(r.Context(), middleware.Principal(r.Context()), f)
	}
	if err != nil {
		return pg, formError(&pg.Page, err)
	}
	return pg, nil
}

func (p *Portal) ticketReportCSV(w http.ResponseWriter, r *http.Request) error {
	f, _, err := p.reportFilter(r)
	if err != nil {
		return err
	}
	rows, err := p.Desk.Report(r.Context(), middleware.Principal(r.Context()), f)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="tickets-by-`+string(f.By)+`.csv"`)
	return desk.WriteCSV(w, f.By, rows)
}
