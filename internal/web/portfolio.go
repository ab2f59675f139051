package web

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sqldb"
)

type boardColumn struct {
	Lifecycle catalog.Lifecycle
	Services  []*catalog.Service // a page of them, by name
	Count     int                // all of them
	More      string             // the column's next page
}

// boardColumnPage is how many services a column of the board shows at a time.
const boardColumnPage = 50

type boardPage struct {
	Page
	Columns   []boardColumn
	Query     string
	CanCreate bool
	Form      catalog.ServiceInput
}

func (p *Portal) boardView(r *http.Request) (boardPage, error) {
	pr := middleware.Principal(r.Context())
	q := r.URL.Query().Get("q")
	counts, err := p.Catalog.ServiceCounts(r.Context(), pr, catalog.ServiceFilter{Query: q})
	if err != nil {
		return boardPage{}, err
	}
	pg := boardPage{Page: p.pageFor(r, "Portfolio"), Query: q, CanCreate: pr.Can(access.PortfolioManage, access.Resource{})}
	// Each column pages on its own: ?lifecycle=live&cursor=… moves that
	// column on and leaves the others at their first page.
	paged := catalog.Lifecycle(r.URL.Query().Get("lifecycle"))
	for _, l := range catalog.Lifecycles {
		col := boardColumn{Lifecycle: l, Count: counts[l]}
		if col.Count > 0 {
			page := sqldb.Page{Limit: boardColumnPage}
			if l == paged {
				page.Cursor = r.URL.Query().Get("cursor")
			}
			svcs, err := p.Catalog.ServicePage(r.Context(), pr, catalog.ServiceFilter{Lifecycle: l, Query: q, Page: page})
			if err != nil {
				return boardPage{}, err
			}
			col.Services = svcs.Items
			if svcs.Next != "" {
				v := url.Values{"lifecycle": {string(l)}, "cursor": {svcs.Next}}
				if q != "" {
					v.Set("q", q)
				}
				col.More = "/portfolio?" + v.Encode() + "#col-" + string(l)
			}
		}
		pg.Columns = append(pg.Columns, col)
	}
	return pg, nil
}

func (p *Portal) createService(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	in := catalog.ServiceInput{Code: f.Get("code"), Name: f.Get("name"), Kind: catalog.Kind(f.Get("kind")), Description: f.Get("description")}
	s, err := p.Catalog.CreateService(r.Context(), middleware.Principal(r.Context()), in)
	if err == nil {
		return p.redirect(w, r, "/portfolio/"+s.Code, "Proposed "+s.Name+". Fill in its details below.")
	}
	return reshow(p, w, r, "portfolio", err, func(r *http.Request) (boardPage, error) {
		pg, err := p.boardView(r)
		pg.Form = in
		return pg, err
	})
}

// mapNode is a box of the drawn service map.
type mapNode struct {
	X, Y, W  int
	Label    string
	Kind     string
	Href     string
	Class    string
	TextX    int
	TextY    int
	KindY    int
	Key      string
	Centre   bool
	Dependee bool
}

// mapEdge is a line from a dependent down to what it stands on.
type mapEdge struct {
	X1, Y1, X2, Y2 int
	Dashed         bool
	Label          string
}

// mapDrawing is the neighbourhood of a service, in layers: what stands on
// it above, what it stands on below.
type mapDrawing struct {
	Width, Height int
	Nodes         []mapNode
	Edges         []mapEdge
	Lines         []string // the same as text, for screen readers and for reading
}

const (
	boxW, boxH, gapX, gapY = 170, 46, 24, 56
)

func drawMap(m *catalog.Map, centre string) *mapDrawing {
	level := map[string]int{centre: 0}
	var deps []*catalog.Dependency
	// Below: what the centre stands on (BFS gives the nearest level).
	for _, d := range m.Dependents(centre) {
		deps = append(deps, d)
		if _, ok := level[d.From.Key()]; !ok {
			level[d.From.Key()] = level[d.To.Key()] - 1
		}
	}
	for _, d := range m.Supports(centre) {
		deps = append(deps, d)
		if _, ok := level[d.To.Key()]; !ok {
			level[d.To.Key()] = level[d.From.Key()] + 1
		}
	}
	rows := map[int][]string{}
	minL, maxL := 0, 0
	for k, l := range level {
		rows[l] = append(rows[l], k)
		minL, maxL = min(minL, l), max(maxL, l)
	}
	widest := 1
	for _, r := range rows {
		widest = max(widest, len(r))
	}
	d := &mapDrawing{Width: widest*(boxW+gapX) + gapX, Height: (maxL-minL+1)*(boxH+gapY) + gapY}
	pos := map[string][2]int{}
	for l := minL; l <= maxL; l++ {
		keys := rows[l]
		sort.Slice(keys, func(i, j int) bool { return m.Nodes[keys[i]].Name < m.Nodes[keys[j]].Name })
		offset := (d.Width - len(keys)*(boxW+gapX) + gapX) / 2
		for i, k := range keys {
			n := m.Nodes[k]
			x, y := offset+i*(boxW+gapX), gapY/2+(l-minL)*(boxH+gapY)
			pos[k] = [2]int{x, y}
			node := mapNode{X: x, Y: y, W: boxW, Label: truncate(n.Name, 24), Kind: n.Kind, TextX: x + boxW/2, TextY: y + 19, KindY: y + 36,
				Key: k, Centre: k == centre, Class: "map-" + n.Type}
			if k == centre {
				node.Class += " map-centre"
			}
			if n.Type == "service" {
				node.Href = "/portfolio/" + n.Code
			}
			d.Nodes = append(d.Nodes, node)
		}
	}
	seen := map[string]bool{}
	for _, dep := range deps {
		if seen[dep.ID] {
			continue
		}
		seen[dep.ID] = true
		a, b := pos[dep.From.Key()], pos[dep.To.Key()]
		d.Edges = append(d.Edges, mapEdge{X1: a[0] + boxW/2, Y1: a[1] + boxH, X2: b[0] + boxW/2, Y2: b[1], Dashed: dep.RedundancyGroup != "",
			Label: dep.Describe()})
		d.Lines = append(d.Lines, dep.Describe())
	}
	sort.Strings(d.Lines)
	return d
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

type servicePage struct {
	Page
	Service     *catalog.Service
	People      map[string]string
	Map         *mapDrawing
	Offerings   []*catalog.Offering
	Transitions []*catalog.Transition
	Successor   *catalog.Service
	Next        catalog.Lifecycle
	CanMove     bool
	CanEdit     bool
	Services    []*catalog.Service
	// Direct are the service's own dependencies, which its managers edit here.
	Direct  []*catalog.Dependency
	Targets []catalog.Node
	Kinds   []catalog.DependencyKind
	// Routes send the service's tickets of an org unit to another group
	// (desk routes), shown to those who manage the service or work its
	// tickets; RouteOrgUnits and RouteGroups are the add form's choices.
	Routes        []*desk.Route
	ReadsRoutes   bool
	RouteOrgUnits []*identity.OrgUnit
	RouteGroups   []*identity.Group
	// RouteOrgUnit and RouteGroup keep the add form's choices after an error.
	RouteOrgUnit, RouteGroup string
}

func (p *Portal) serviceView(r *http.Request) (servicePage, error) {
	pr := middleware.Principal(r.Context())
	s, err := p.Catalog.Service(r.Context(), pr, r.PathValue("code"))
	if err != nil {
		return servicePage{}, err
	}
	pg := servicePage{Page: p.pageFor(r, s.Name), Service: s, People: map[string]string{}, Next: s.Lifecycle.Next(),
		CanMove: pr.Can(access.PortfolioManage, access.Resource{}), CanEdit: pr.Can(access.ServiceManage, s.Resource())}
	for _, id := range []string{s.OwnerID, s.SponsorID, s.RelationshipManagerID} {
		if id != "" {
			if u, err := p.Identity.User(r.Context(), access.System(), id); err == nil {
				pg.People[id] = u.Name
			}
		}
	}
	if s.AssignmentGroupID != "" {
		if g, err := p.Identity.Group(r.Context(), access.System(), s.AssignmentGroupID); err == nil {
			pg.People[s.AssignmentGroupID] = g.Name
		}
	}
	// The service's surroundings, not the whole map: the map of a large
	// portfolio is read whole only to offer every node to its editors.
	m, err := p.Catalog.Around(r.Context(), pr, catalog.Node{Type: "service", ID: s.ID, Code: s.Code, Name: s.Name, Kind: string(s.Kind)})
	if err != nil {
		return pg, err
	}
	pg.Map = drawMap(m, "service:"+s.ID)
	for _, d := range m.Dependencies {
		if d.From.Key() == "service:"+s.ID {
			pg.Direct = append(pg.Direct, d)
		}
	}
	if pg.CanEdit {
		pg.Kinds = catalog.DependencyKinds
		whole, err := p.Catalog.ServiceMap(r.Context(), pr)
		if err != nil {
			return pg, err
		}
		for _, n := range whole.NodeList() {
			if n.Key() != "service:"+s.ID {
				pg.Targets = append(pg.Targets, n)
			}
		}
	}
	if pg.Offerings, err = p.Catalog.Offerings(r.Context(), pr, catalog.OfferingFilter{ServiceID: s.ID}); err != nil {
		return pg, err
	}
	if p.Desk != nil && (pg.CanEdit || pr.Can(access.TicketWork, access.Resource{ServiceID: s.ID})) {
		pg.ReadsRoutes = true
		pg.RouteOrgUnit, pg.RouteGroup = r.FormValue("org_unit"), r.FormValue("group")
		if pg.Routes, err = p.Desk.Routes(r.Context(), pr, s.ID); err != nil {
			return pg, err
		}
		if pg.CanEdit {
			// The choices name org units and groups, as the service's
			// other facts do (its assignment group above).
			if pg.RouteOrgUnits, err = p.Identity.OrgUnits(r.Context(), access.System()); err != nil {
				return pg, err
			}
			if pg.RouteGroups, err = p.Identity.Groups(r.Context(), access.System()); err != nil {
				return pg, err
			}
		}
	}
	if pg.Transitions, err = p.Catalog.Transitions(r.Context(), pr, s.ID); err != nil {
		return pg, err
	}
	if s.SuccessorID != "" {
		pg.Successor, _ = p.Catalog.Service(r.Context(), access.System(), s.SuccessorID)
	}
	if pg.Next == catalog.LifecycleRetiring {
		pg.Services, _ = p.Catalog.Services(r.Context(), pr, catalog.ServiceFilter{})
	}
	return pg, nil
}

// setRoute sends the service's tickets of an org unit to a group.
func (p *Portal) setRoute(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	rt, err := p.Desk.SetRoute(r.Context(), middleware.Principal(r.Context()), r.PathValue("code"), f.Get("org_unit"), desk.RouteInput{Group: f.Get("group")})
	if err != nil {
		return reshow(p, w, r, "service", err, p.serviceView)
	}
	return p.redirect(w, r, "/portfolio/"+rt.Service.Code, rt.OrgUnit.Name+"'s tickets about "+rt.Service.Name+" now go to "+rt.Group.Name+".")
}

// removeRoute sends an org unit's tickets back to the service's group.
func (p *Portal) removeRoute(w http.ResponseWriter, r *http.Request) error {
	if err := p.Desk.RemoveRoute(r.Context(), middleware.Principal(r.Context()), r.PathValue("code"), r.PathValue("org_unit")); err != nil {
		return err
	}
	return p.redirect(w, r, "/portfolio/"+r.PathValue("code"), "Route removed: the org unit's tickets go to the service's group again.")
}

func (p *Portal) transitionService(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	s, err := p.Catalog.Transition(r.Context(), middleware.Principal(r.Context()), r.PathValue("code"),
		catalog.TransitionInput{To: catalog.Lifecycle(f.Get("to")), Reason: f.Get("reason"), SuccessorID: f.Get("successor_id")})
	if err == nil {
		return p.redirect(w, r, "/portfolio/"+s.Code, s.Name+" is now "+strings.ReplaceAll(string(s.Lifecycle), "_", " ")+".")
	}
	return reshow(p, w, r, "service", err, p.serviceView)
}

type serviceEditPage struct {
	Page
	Service  *catalog.Service
	Form     catalog.ServiceInput
	Users    []*identity.User
	Groups   []*identity.Group
	Lists    map[string]string
	Kinds    []catalog.Kind
	Enums    map[string][]string
	Focus    []string // the FOCUS service categories to choose from
	Calendar calendarForm
}

type personField struct{ Field, Label string }

// PersonFields are the people of a service, as the form asks for them.
func (pg serviceEditPage) PersonFields() []personField {
	return []personField{{"owner_id", "Owner"}, {"sponsor_id", "Business sponsor"}, {"relationship_manager_id", "Relationship manager"}}
}

// Current is the form's value of each select.
func (pg serviceEditPage) Current() map[string]string {
	f := pg.Form
	return map[string]string{"owner_id": f.OwnerID, "sponsor_id": f.SponsorID, "relationship_manager_id": f.RelationshipManagerID,
		"value_kind": f.ValueKind, "category": f.Category, "class": f.Class, "criticality": f.Criticality}
}

func (p *Portal) serviceEditView(r *http.Request) (serviceEditPage, error) {
	pr := middleware.Principal(r.Context())
	s, err := p.Catalog.Service(r.Context(), pr, r.PathValue("code"))
	if err != nil {
		return serviceEditPage{}, err
	}
	if err := pr.Require(access.ServiceManage, s.Resource()); err != nil {
		return serviceEditPage{}, err
	}
	pg := serviceEditPage{Page: p.pageFor(r, "Edit "+s.Name), Service: s, Kinds: catalog.Kinds, Focus: catalog.FocusCategories,
		Enums: map[string][]string{"value_kind": catalog.ValueKinds, "category": catalog.Categories, "class": catalog.Classes, "criticality": catalog.Criticalities}}
	users, _ := p.Identity.Users(r.Context(), access.System(), identity.UserFilter{Page: sqldb.Page{Limit: sqldb.MaxLimit}})
	pg.Users = users.Items
	pg.Groups, _ = p.Identity.Groups(r.Context(), access.System())
	pg.fill(s.Input())
	return pg, nil
}

// fill puts a service's input in the form: as stored, or as typed when
// the form comes back refused.
func (pg *serviceEditPage) fill(in catalog.ServiceInput) {
	pg.Form = in
	pg.Lists = map[string]string{
		"outcomes": strings.Join(in.Outcomes, "\n"), "business_functions": strings.Join(in.BusinessFunctions, "\n"),
		"external_dependencies": strings.Join(in.ExternalDependencies, "\n"),
	}
	var roadmap []string
	for _, e := range in.Roadmap {
		roadmap = append(roadmap, roadmapLine(e))
	}
	pg.Lists["roadmap"] = strings.Join(roadmap, "\n")
	var cal catalog.Calendar
	if in.Calendar != nil {
		cal = *in.Calendar
	}
	pg.Calendar = newCalendarForm(cal, pg.Fields)
	pg.Calendar.Optional = true
}

// roadmapSep parts a roadmap line's title from its description.
const roadmapSep = " — "

// roadmapLine writes a roadmap entry as a line of the form: the date, the
// title and, when there is one, " — " and the description.
func roadmapLine(e catalog.RoadmapEntry) string {
	l := e.Date + " " + e.Title
	if e.Description != "" {
		l += roadmapSep + e.Description
	}
	return l
}

// parseRoadmap reads a line roadmapLine wrote.
func parseRoadmap(l string) catalog.RoadmapEntry {
	date, rest, _ := strings.Cut(strings.TrimSpace(l), " ")
	title, desc, _ := strings.Cut(rest, roadmapSep)
	return catalog.RoadmapEntry{Date: date, Title: strings.TrimSpace(title), Description: strings.TrimSpace(desc)}
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (p *Portal) updateService(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	f := r.PostForm
	s, err := p.Catalog.Service(r.Context(), pr, r.PathValue("code"))
	if err != nil {
		return err
	}
	in := s.Input()
	in.Name, in.Description, in.Kind = f.Get("name"), f.Get("description"), catalog.Kind(f.Get("kind"))
	in.OwnerID, in.SponsorID, in.RelationshipManagerID, in.AssignmentGroupID = f.Get("owner_id"), f.Get("sponsor_id"), f.Get("relationship_manager_id"), f.Get("assignment_group_id")
	in.ValueKind, in.ValueStatement, in.Category, in.Class, in.Criticality = f.Get("value_kind"), f.Get("value_statement"), f.Get("category"), f.Get("class"), f.Get("criticality")
	in.Help, in.Continuity, in.FocusCategory = f.Get("help"), f.Get("continuity"), f.Get("focus_category")
	in.RPOMinutes, _ = strconv.Atoi(f.Get("rpo_minutes"))
	in.RTOMinutes, _ = strconv.Atoi(f.Get("rto_minutes"))
	in.Outcomes, in.BusinessFunctions, in.ExternalDependencies = lines(f.Get("outcomes")), lines(f.Get("business_functions")), lines(f.Get("external_dependencies"))
	in.Roadmap = nil
	for _, l := range lines(f.Get("roadmap")) {
		in.Roadmap = append(in.Roadmap, parseRoadmap(l))
	}
	// No time zone and nothing else is a service without set hours; hours
	// without a zone are the calendar's to refuse.
	in.Calendar = nil
	if cal := readCalendar(f); strings.TrimSpace(cal.TimeZone) != "" || len(cal.Weekly)+len(cal.Holidays)+len(cal.Seasons)+len(cal.Maintenance) > 0 {
		in.Calendar = &cal
	}
	out, err := p.Catalog.UpdateService(r.Context(), pr, s.ID, in)
	if err == nil {
		return p.redirect(w, r, "/portfolio/"+out.Code, "Saved.")
	}
	return reshow(p, w, r, "service_edit", err, func(r *http.Request) (serviceEditPage, error) {
		pg, err := p.serviceEditView(r)
		pg.fill(in)
		return pg, err
	})
}
