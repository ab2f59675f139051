package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// changeRoutes are change management's pages (issue 20): the change
// calendar with its freezes, a new request for change, the CAB agenda and
// the standard change templates.
func (p *Portal) changeRoutes() []route {
	return []route{
		{"GET /changes", false, func(w http.ResponseWriter, r *http.Request) error {
			pg, err := p.changesView(r)
			if err != nil {
				return err
			}
			return p.render(w, r, statusOf(pg.Page), "changes", pg)
		}},
		{"POST /changes/freezes", false, p.addFreeze},
		{"POST /changes/freezes/{id}/remove", false, p.removeFreeze},
		{"GET /changes/new", false, show(p, "change_new", p.newChangeView)},
		{"POST /changes/new", false, p.raiseChange},
		{"GET /changes/cab", false, show(p, "cab", p.cabView)},
		{"POST /changes/cab/{id}", false, p.decideChange},
		{"GET /changes/templates", false, show(p, "change_templates", p.templatesView)},
		{"POST /changes/templates", false, p.saveTemplate},
	}
}

// calendarDay is one day of the change calendar.
type calendarDay struct {
	Date    time.Time
	Changes []*desk.Ticket
	Windows []desk.Window
	Freezes []*desk.Freeze
}

type changesPage struct {
	Page
	From, Prev, Next, This string
	Days                   []calendarDay
	Freezes                []*desk.Freeze
	Manages, Decides       bool
	Raises                 bool // may raise requests for change
	Conflicts              int
	Form                   struct{ Name, Service, StartsAt, EndsAt, Zone string }
	Services               []desk.Ref
	Zones                  []string
}

// weekOf is the Monday (UTC) of the week holding t.
func weekOf(t time.Time) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

func (p *Portal) changesView(r *http.Request) (changesPage, error) {
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	pg := changesPage{Page: p.pageFor(r, "Change calendar"), Manages: pr.Can(access.ChangeManage, access.Resource{}), Decides: pr.CanAnywhere(access.ChangeApprove),
		Raises: pr.CanAnywhere(access.TicketWork), Zones: formZones}
	if !desk.MayPlanChanges(pr) {
		return pg, access.Forbidden(access.ChangeApprove)
	}
	from := weekOf(p.Now().UTC())
	if s := r.URL.Query().Get("from"); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			pg.Error = "from is a date such as 2026-12-07"
		} else {
			from = weekOf(t)
		}
	}
	to := from.AddDate(0, 0, 7)
	pg.From, pg.Prev, pg.Next, pg.This = from.Format(time.DateOnly), from.AddDate(0, 0, -7).Format(time.DateOnly), to.Format(time.DateOnly),
		weekOf(p.Now().UTC()).Format(time.DateOnly)
	cal, err := p.Desk.Calendar(ctx, pr, from, to)
	if err != nil {
		return pg, err
	}
	pg.Freezes = cal.Freezes
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		end := d.AddDate(0, 0, 1)
		day := calendarDay{Date: d}
		for _, c := range cal.Changes {
			if c.Change.PlannedStart.Before(end) && c.Change.PlannedEnd.After(d) {
				day.Changes = append(day.Changes, c)
			}
		}
		for _, w := range cal.Windows {
			if w.Start.Before(end) && w.End.After(d) {
				day.Windows = append(day.Windows, w)
			}
		}
		for _, f := range cal.Freezes {
			if f.StartsAt.Before(end) && f.EndsAt.After(d) {
				day.Freezes = append(day.Freezes, f)
			}
		}
		pg.Days = append(pg.Days, day)
	}
	for _, c := range cal.Changes {
		if len(c.Change.Conflicts) > 0 {
			pg.Conflicts++
		}
	}
	if pg.Manages {
		if pg.Services, err = p.Desk.Services(ctx, access.System()); err != nil {
			return pg, err
		}
		f := r.PostForm
		pg.Form.Name, pg.Form.Service, pg.Form.StartsAt, pg.Form.EndsAt, pg.Form.Zone = f.Get("name"), f.Get("service"), f.Get("starts_at"), f.Get("ends_at"), f.Get("zone")
		if pg.Form.Zone == "" {
			pg.Form.Zone = "UTC"
		}
	}
	return pg, nil
}

func (p *Portal) addFreeze(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	zone := f.Get("zone")
	fz, err := p.Desk.AddFreeze(r.Context(), middleware.Principal(r.Context()), desk.FreezeInput{Name: f.Get("name"), Service: f.Get("service"),
		StartsAt: localTime(f.Get("starts_at"), zone), EndsAt: localTime(f.Get("ends_at"), zone)})
	if err != nil {
		return reshow(p, w, r, "changes", err, p.changesView)
	}
	return p.redirect(w, r, "/changes?from="+weekOf(fz.StartsAt).Format(time.DateOnly), "Added the freeze "+fz.Name+": changes planned within it are flagged.")
}

func (p *Portal) removeFreeze(w http.ResponseWriter, r *http.Request) error {
	if err := p.Desk.RemoveFreeze(r.Context(), middleware.Principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return p.redirect(w, r, "/changes", "Removed the freeze.")
}

type newChangePage struct {
	Page
	Services  []desk.Ref
	OrgUnits  []*identity.OrgUnit
	Templates []*desk.Template
	Zones     []string
	Risks     []string
	Form      struct {
		Type, Template, Service, OrgUnit, Summary, Description, Risk, Plan, BackoutPlan, Start, End, Zone string
		Impact, Urgency                                                                                   int
	}
}

func (p *Portal) newChangeView(r *http.Request) (newChangePage, error) {
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	pg := newChangePage{Page: p.pageFor(r, "New request for change"), Zones: formZones, Risks: desk.Risks}
	if !pr.CanAnywhere(access.TicketWork) {
		return pg, access.Forbidden(access.TicketWork)
	}
	var err error
	if pg.Services, err = p.Desk.Services(ctx, access.System()); err != nil {
		return pg, err
	}
	if pg.Templates, err = p.Desk.Templates(ctx, pr, false); err != nil {
		return pg, err
	}
	// Whose change it is: the org units the reader may raise tickets for.
	units, err := p.Identity.OrgUnits(ctx, pr)
	if err != nil && !errs.Is(err, errs.CodeForbidden) {
		return pg, err
	}
	for _, u := range units {
		if pr.Can(access.TicketCreate, access.InOrgUnit(u.Path)) {
			pg.OrgUnits = append(pg.OrgUnits, u)
		}
	}
	if err := r.ParseForm(); err != nil {
		return pg, errs.Invalid("the form does not decode: %v", err)
	}
	f := r.Form
	pg.Form.Type, pg.Form.Template, pg.Form.Service, pg.Form.OrgUnit = f.Get("type"), f.Get("template"), f.Get("service"), f.Get("org_unit")
	pg.Form.Summary, pg.Form.Description, pg.Form.Risk = f.Get("summary"), f.Get("description"), f.Get("risk")
	pg.Form.Plan, pg.Form.BackoutPlan, pg.Form.Start, pg.Form.End, pg.Form.Zone = f.Get("plan"), f.Get("backout_plan"), f.Get("planned_start"), f.Get("planned_end"), f.Get("zone")
	pg.Form.Impact, pg.Form.Urgency = formInt(f.Get("impact"), 2), formInt(f.Get("urgency"), 2)
	if pg.Form.Type == "" {
		pg.Form.Type = string(desk.NormalChange)
	}
	if pg.Form.Risk == "" {
		pg.Form.Risk = "medium"
	}
	if pg.Form.Zone == "" {
		pg.Form.Zone = "UTC"
	}
	return pg, nil
}

func (p *Portal) raiseChange(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	zone := f.Get("zone")
	typ := desk.ChangeType(f.Get("type"))
	in := desk.RaiseInput{Kind: desk.Change, Service: f.Get("service"), OrgUnit: f.Get("org_unit"), Summary: f.Get("summary"), Description: f.Get("description"),
		Impact: formInt(f.Get("impact"), 0), Urgency: formInt(f.Get("urgency"), 0),
		Change: &desk.ChangeInput{Type: typ, Risk: f.Get("risk"), Plan: f.Get("plan"), BackoutPlan: f.Get("backout_plan"),
			PlannedStart: localTime(f.Get("planned_start"), zone), PlannedEnd: localTime(f.Get("planned_end"), zone)}}
	if typ == desk.StandardChange {
		// From its template: the template gives what the form leaves empty.
		in.Change.Template, in.Service = f.Get("template"), ""
		in.Change.Risk, in.Change.Plan, in.Change.BackoutPlan, in.Change.PlannedEnd = "", "", "", ""
	}
	t, err := p.Desk.Raise(r.Context(), middleware.Principal(r.Context()), in)
	if err != nil {
		return reshow(p, w, r, "change_new", err, p.newChangeView)
	}
	word := "it waits for the CAB."
	switch {
	case t.Change.Approval == desk.ApprovalApproved:
		word = "pre-approved: a standard change."
	case len(t.Change.Approvals) > 0:
		word = "it waits for " + t.Change.Approvals[0].Approver + " (" + t.Change.Approvals[0].Policy + ")."
	}
	if n := len(t.Change.Conflicts); n > 0 {
		word += " Mind its conflicts."
	}
	return p.redirect(w, r, "/tickets/"+url.PathEscape(t.Reference), "Raised "+t.Reference+": "+word)
}

type cabPage struct {
	Page
	Items  []*desk.AgendaItem
	Cursor string // this page's, kept by its decision forms
	More   string // the next page of the agenda
	Form   struct{ Comment, ID string }
}

// cabPageSize is how many changes a page of the CAB agenda shows.
const cabPageSize = 25

func (p *Portal) cabView(r *http.Request) (cabPage, error) {
	pg := cabPage{Page: p.pageFor(r, "CAB agenda")}
	// A decision that fails shows the page it was taken on again (its
	// form posts the cursor), and More leads to the agenda's next page
	// from either.
	pg.Cursor = r.URL.Query().Get("cursor")
	items, err := p.Desk.Agenda(r.Context(), middleware.Principal(r.Context()), sqldb.Page{Limit: cabPageSize, Cursor: pg.Cursor})
	pg.Items = items.Items
	if items.Next != "" {
		pg.More = "/changes/cab?cursor=" + url.QueryEscape(items.Next)
	}
	pg.Form.Comment, pg.Form.ID = r.PostForm.Get("comment"), r.PathValue("id")
	return pg, err
}

func (p *Portal) decideChange(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	approve := f.Get("decision") == "approve"
	t, err := p.Desk.DecideChange(r.Context(), middleware.Principal(r.Context()), r.PathValue("id"), desk.DecideInput{Approve: approve, Comment: f.Get("comment")})
	if err != nil {
		return reshow(p, w, r, "cab", err, p.cabView)
	}
	word := map[string]string{desk.ApprovalApproved: "approved: it may be implemented in its window.", desk.ApprovalRejected: "rejected and closed.",
		desk.ApprovalPending: "approved at this step; it waits for the next."}[t.Change.Approval]
	return p.redirect(w, r, "/changes/cab", t.Reference+" "+word)
}

type templatesPage struct {
	Page
	Templates []*desk.Template
	Services  []desk.Ref
	Risks     []string
	Manages   bool
	Form      struct {
		Name, Service, Summary, Description, Plan, BackoutPlan, Risk string
		Duration                                                     int
	}
}

func (p *Portal) templatesView(r *http.Request) (templatesPage, error) {
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	pg := templatesPage{Page: p.pageFor(r, "Standard changes"), Risks: desk.Risks, Manages: pr.Can(access.ChangeManage, access.Resource{})}
	var err error
	if pg.Templates, err = p.Desk.Templates(ctx, pr, pg.Manages); err != nil {
		return pg, err
	}
	if pg.Manages {
		if pg.Services, err = p.Desk.Services(ctx, access.System()); err != nil {
			return pg, err
		}
	}
	f := r.PostForm
	pg.Form.Name, pg.Form.Service, pg.Form.Summary, pg.Form.Description = f.Get("name"), f.Get("service"), f.Get("summary"), f.Get("description")
	pg.Form.Plan, pg.Form.BackoutPlan, pg.Form.Risk, pg.Form.Duration = f.Get("plan"), f.Get("backout_plan"), f.Get("risk"), formInt(f.Get("duration_minutes"), 30)
	if pg.Form.Risk == "" {
		pg.Form.Risk = "low"
	}
	return pg, nil
}

func (p *Portal) saveTemplate(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	active := true
	t, err := p.Desk.SaveTemplate(r.Context(), middleware.Principal(r.Context()), strings.TrimSpace(f.Get("id")), desk.TemplateInput{Name: f.Get("name"),
		Service: f.Get("service"), Summary: f.Get("summary"), Description: f.Get("description"), Plan: f.Get("plan"), BackoutPlan: f.Get("backout_plan"),
		Risk: f.Get("risk"), DurationMinutes: formInt(f.Get("duration_minutes"), 0), Active: &active})
	if err != nil {
		return reshow(p, w, r, "change_templates", err, p.templatesView)
	}
	return p.redirect(w, r, "/changes/templates", "Saved the standard change "+t.Name+": it is raised without the CAB.")
}
