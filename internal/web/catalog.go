package web

import (
	htmltemplate "html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

type catalogPage struct {
	Page
	Offerings []*catalog.Offering
	// Distinct says, by offering ID, what tells an offering apart from
	// another of the same name (its plans and code), as after a peer's
	// catalog is imported next to ours (issue 17, item 11).
	Distinct map[string]string
	Query    string
	View     string
	Views    []viewTab
	Summary  *catalog.Summary
	// Understood is the search as the catalog understood it, when a word
	// was widened for a typo ("bakcup|backup").
	Understood string
	// More links to the next page; Facets narrow the result, shown with
	// a search or a filter; Filtered says a filter is on (Clear links).
	More     string
	Facets   []facetGroup
	Filtered bool
	Service  string
	Category string
	Price    string
	// CanPropose: the reader may add services and offerings (for the
	// empty catalog's advice).
	CanPropose bool
}

type viewTab struct {
	Label, Href string
	Current     bool
}

func (p *Portal) catalogPage(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	q := r.URL.Query()
	pg := catalogPage{Page: p.pageFor(r, "Catalog"), Query: q.Get("q"), View: q.Get("view"), CanPropose: pr.CanAnywhere(access.ServiceRead) && pr.CanAnywhere(access.ServiceManage)}
	for _, t := range []struct{ label, view string }{{"Everything", ""}, {"For me", "end_user"}, {"For my business", "business"},
		{"IT internal", "it_internal"}, {"Executive summary", "summary"}} {
		href := "/catalog"
		if t.view != "" {
			href += "?view=" + t.view
		}
		pg.Views = append(pg.Views, viewTab{Label: t.label, Href: href, Current: t.view == pg.View})
	}
	if pg.View == "summary" {
		sum, err := p.Catalog.ExecutiveSummary(r.Context(), pr)
		if err != nil {
			return err
		}
		pg.Summary = sum
		return p.render(w, r, http.StatusOK, "catalog", pg)
	}
	pg.Service, pg.Category, pg.Price = q.Get("service_id"), q.Get("category"), q.Get("price")
	pg.Filtered = pg.Service != "" || pg.Category != "" || pg.Price != ""
	res, err := p.Catalog.Search(r.Context(), pr, catalog.OfferingFilter{View: catalog.View(pg.View), Query: pg.Query, ServiceID: pg.Service,
		Category: pg.Category, Price: catalog.PriceBand(pg.Price), Page: sqldb.Page{Limit: catalogPageSize, Cursor: q.Get("cursor")},
		Facets: pg.Query != "" || pg.Filtered})
	if err != nil {
		return err
	}
	pg.Offerings = res.Items
	pg.Distinct = distinctTwins(res.Items)
	if strings.Contains(res.Query, "|") {
		pg.Understood = res.Query
	}
	if res.Next != "" {
		pg.More = catalogHref(q, "cursor", res.Next)
	}
	if res.Facets != nil {
		pg.Facets = facetGroups(q, res.Facets)
	}
	return p.render(w, r, http.StatusOK, "catalog", pg)
}

// catalogPageSize is how many offerings a page of the portal's catalog shows.
const catalogPageSize = 24

// facetGroup is one facet as links that narrow the catalog.
type facetGroup struct {
	Name, Param string
	Links       []facetLink
	// Clear is the catalog without this facet's filter, when it is on.
	Clear string
}

type facetLink struct {
	Label, Href string
	Count       int
	Current     bool
}

// catalogHref is the catalog with the query q, key set to value (removed
// when empty) and the page reset to the first unless key is the cursor.
func catalogHref(q url.Values, key, value string) string {
	c := url.Values{}
	for k, vs := range q {
		c[k] = vs
	}
	if key != "cursor" {
		c.Del("cursor")
	}
	if value == "" {
		c.Del(key)
	} else {
		c.Set(key, value)
	}
	if len(c) == 0 {
		return "/catalog"
	}
	return "/catalog?" + c.Encode()
}

func facetGroups(q url.Values, f *catalog.Facets) []facetGroup {
	var out []facetGroup
	for _, g := range []struct {
		name, param string
		facets      []catalog.Facet
	}{{"Service", "service_id", f.Service}, {"Category", "category", f.Category}, {"View", "view", f.View}, {"Price a month", "price", f.Price}} {
		fg := facetGroup{Name: g.name, Param: g.param}
		if q.Get(g.param) != "" {
			fg.Clear = catalogHref(q, g.param, "")
		}
		for _, x := range g.facets {
			fg.Links = append(fg.Links, facetLink{Label: x.Label, Href: catalogHref(q, g.param, x.Value), Count: x.Count, Current: q.Get(g.param) == x.Value})
		}
		if len(fg.Links) > 0 {
			out = append(out, fg)
		}
	}
	return out
}

// suggestions is the fragment the catalog's search box shows as the
// reader types: the best few offerings they may see, matches marked.
var suggestions = htmltemplate.Must(htmltemplate.New("suggest").Parse(`{{if .}}<ul class="suggest-list" role="listbox" aria-label="Suggestions">` +
	`{{range .}}<li role="option"><a href="/catalog/{{.Code}}">{{.Name}}</a></li>{{end}}</ul>{{end}}`))

type suggestion struct {
	Code string
	Name htmltemplate.HTML
}

// suggest answers GET /suggest?q=: an HTML fragment of up to six
// offerings the reader may see, for static/suggest.js. It is authorised
// as the catalog is (catalog.read, the audience inside the search).
func (p *Portal) suggest(w http.ResponseWriter, r *http.Request) error {
	res, err := p.Catalog.Suggest(r.Context(), middleware.Principal(r.Context()), r.URL.Query().Get("q"), 6)
	if err != nil {
		return err
	}
	var out []suggestion
	for _, o := range res.Items {
		name := htmltemplate.HTMLEscapeString(o.Name)
		if o.Highlight != nil {
			name = o.Highlight.Name // escaped by the catalog, with <mark> around matches
		}
		out = append(out, suggestion{Code: o.Code, Name: htmltemplate.HTML(name)})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	return suggestions.Execute(w, out)
}

// distinctTwins describes, for each offering sharing its name with another
// in the list, its plans and its code; offerings with names of their own
// need no such line.
func distinctTwins(os []*catalog.Offering) map[string]string {
	named := map[string]int{}
	for _, o := range os {
		named[strings.ToLower(strings.TrimSpace(o.Name))]++
	}
	d := map[string]string{}
	for _, o := range os {
		if named[strings.ToLower(strings.TrimSpace(o.Name))] < 2 {
			continue
		}
		var plans []string
		for _, pl := range o.Plans {
			if !pl.Retired {
				plans = append(plans, pl.Name)
			}
		}
		s := "code " + o.Code
		if len(plans) > 0 {
			s = "Plans " + strings.Join(plans, ", ") + " · " + s
		}
		d[o.ID] = s
	}
	return d
}

type offeringPage struct {
	Page
	Offering  *catalog.Offering
	Form      *catalog.Form
	Orderable bool
	Why       string
	Successor *catalog.Service
	Bundled   []*catalog.Offering
	CanOrder  bool
	Values    map[string]string
	Plan      string
	Quantity  int
	Addons    map[string]bool
	CanEdit   bool
}

func (p *Portal) offeringView(r *http.Request) (offeringPage, error) {
	pr := middleware.Principal(r.Context())
	o, err := p.Catalog.Offering(r.Context(), pr, r.PathValue("code"))
	if err != nil {
		return offeringPage{}, err
	}
	form, err := o.Form()
	if err != nil {
		return offeringPage{}, err
	}
	pg := offeringPage{Page: p.pageFor(r, o.Name), Offering: o, Form: form, Values: map[string]string{}, Addons: map[string]bool{},
		Quantity: 1, CanOrder: pr.CanAnywhere(access.OrderCreate), CanEdit: o.Service != nil && pr.Can(access.ServiceManage, o.Service.Resource())}
	pg.Orderable, pg.Why = o.Orderable()
	if o.Service.SuccessorID != "" {
		pg.Successor, _ = p.Catalog.Service(r.Context(), access.System(), o.Service.SuccessorID)
	}
	for _, id := range o.Bundle {
		if b, err := p.Catalog.Offering(r.Context(), access.System(), id); err == nil {
			pg.Bundled = append(pg.Bundled, b)
		}
	}
	for _, f := range form.Fields {
		pg.Values[f.Name] = f.DefaultString()
	}
	for _, pl := range o.Plans {
		if !pl.Retired && pg.Plan == "" {
			pg.Plan = pl.Code
		}
	}
	return pg, nil
}

// formValues is what an order form shows again after an error: each field
// as it was typed, and a checkbox as "true" when it was ticked (browsers
// send "on"; the template, like a default of true, says "true"). params are
// the form's values as FromForm read them, so one rule decides what a tick
// is.
func formValues(form *catalog.Form, get func(string) string, params map[string]any) map[string]string {
	out := map[string]string{}
	for _, fld := range form.Fields {
		if fld.Type == "boolean" {
			out[fld.Name] = strconv.FormatBool(params[fld.Name] == true)
			continue
		}
		out[fld.Name] = get("param." + fld.Name)
	}
	return out
}

// cart returns the caller's open draft order, creating one when create is set.
func (p *Portal) cart(r *http.Request, create bool) (*orders.Order, error) {
	pr := middleware.Principal(r.Context())
	drafts, err := p.Orders.Orders(r.Context(), pr, orders.OrderFilter{Mine: true, State: orders.StateDraft, Page: sqldb.Page{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(drafts.Items) > 0 {
		return drafts.Items[0], nil
	}
	if !create {
		return nil, nil
	}
	return p.Orders.CreateOrder(r.Context(), pr, orders.OrderInput{})
}

func (p *Portal) addToCart(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	f := r.PostForm
	o, err := p.Catalog.Offering(r.Context(), pr, r.PathValue("code"))
	if err != nil {
		return err
	}
	form, err := o.Form()
	if err != nil {
		return err
	}
	qty, qerr := strconv.Atoi(strings.TrimSpace(f.Get("quantity")))
	in := orders.ItemInput{Offering: o.ID, Plan: f.Get("plan"), Quantity: qty, Parameters: form.FromForm(f.Get), Addons: f["addon"]}
	if qerr != nil || qty < 1 {
		err = formInvalid("quantity", "quantity must be a whole number, 1 or more")
	} else {
		var cart *orders.Order
		if cart, err = p.cart(r, true); err == nil {
			_, err = p.Orders.AddItem(r.Context(), pr, cart.ID, in)
		}
	}
	if err == nil {
		return p.redirect(w, r, "/cart", "Added "+o.Name+" to your cart.")
	}
	// Field errors name "parameters.x"; the form's inputs are "param.x".
	e := errs.As(err)
	for i := range e.Fields {
		e.Fields[i].Field = strings.Replace(e.Fields[i].Field, "parameters.", "param.", 1)
	}
	return reshow(p, w, r, "offering", e, func(r *http.Request) (offeringPage, error) {
		pg, verr := p.offeringView(r)
		if verr == nil {
			pg.Values = formValues(form, f.Get, in.Parameters)
		}
		pg.Plan, pg.Quantity = in.Plan, max(qty, 1)
		for _, a := range in.Addons {
			pg.Addons[a] = true
		}
		return pg, verr
	})
}

type cartPage struct {
	Page
	Order *orders.Order
}

func (p *Portal) cartPage(w http.ResponseWriter, r *http.Request) error {
	o, err := p.cart(r, false)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "cart", cartPage{Page: p.pageFor(r, "Your cart"), Order: o})
}

func (p *Portal) removeFromCart(w http.ResponseWriter, r *http.Request) error {
	if _, err := p.Orders.RemoveItem(r.Context(), middleware.Principal(r.Context()), r.PostForm.Get("order"), r.PathValue("item")); err != nil {
		return err
	}
	return p.redirect(w, r, "/cart", "Removed.")
}

func (p *Portal) checkout(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	id := r.PostForm.Get("order")
	o, err := p.Orders.Submit(r.Context(), pr, id)
	if err != nil {
		// A double click submits twice: the second finds the order already on its way.
		if prev, perr := p.Orders.Order(r.Context(), pr, id); perr == nil && prev.State != orders.StateDraft && errs.Is(err, errs.CodeConflict) {
			return p.redirect(w, r, "/orders/"+id, "Order "+prev.Reference()+" was already submitted.")
		}
		return reshow(p, w, r, "cart", err, func(r *http.Request) (cartPage, error) {
			o, err := p.cart(r, false)
			return cartPage{Page: p.pageFor(r, "Your cart"), Order: o}, err
		})
	}
	msg := "Order " + o.Reference() + " submitted: " + strings.ReplaceAll(string(o.State), "_", " ") + "."
	return p.redirect(w, r, "/orders/"+o.ID, msg)
}

type ordersPage struct {
	Page
	Orders []*orders.Order
	State  string
	Mine   bool
	States []orders.State
	// More links to the next (older) page, when there is one.
	More string
}

func (p *Portal) ordersPage(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	q := r.URL.Query()
	pg := ordersPage{Page: p.pageFor(r, "Orders"), State: q.Get("state"), Mine: q.Get("mine") == "true", States: orders.States}
	os, err := p.Orders.Orders(r.Context(), pr, orders.OrderFilter{State: orders.State(pg.State), Mine: pg.Mine, Page: sqldb.Page{Limit: 50, Cursor: q.Get("cursor")}})
	if err != nil {
		return err
	}
	pg.Orders, pg.More = os.Items, moreLink(r, os.Next)
	return p.render(w, r, http.StatusOK, "orders", pg)
}

type orderPage struct {
	Page
	Order     *orders.Order
	Events    []*orders.Event
	Approvals []*orders.Approval
	Tasks     []*orders.Task
	CanCancel bool
}

func (p *Portal) orderPage(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	id := r.PathValue("id")
	o, err := p.Orders.Order(r.Context(), pr, id)
	if err != nil {
		return err
	}
	pg := orderPage{Page: p.pageFor(r, o.Reference()), Order: o}
	if pg.Events, err = p.Orders.Events(r.Context(), pr, id); err != nil {
		return err
	}
	if pg.Approvals, err = p.Orders.Approvals(r.Context(), pr, id); err != nil {
		return err
	}
	if pg.Tasks, err = p.Orders.OrderTasks(r.Context(), pr, id); err != nil {
		return err
	}
	pg.CanCancel = orders.CanMove(o.State, orders.StateCancelled) && (pr.Owns(o.RequesterID, access.OrderCreate) || pr.Can(access.OrderCreate, o.Resource()))
	return p.render(w, r, http.StatusOK, "order", pg)
}

func (p *Portal) cancelOrder(w http.ResponseWriter, r *http.Request) error {
	o, err := p.Orders.Cancel(r.Context(), middleware.Principal(r.Context()), r.PathValue("id"), r.PostForm.Get("comment"))
	if err != nil {
		return err
	}
	return p.redirect(w, r, "/orders/"+o.ID, "Order "+o.Reference()+" cancelled.")
}

type approvalsPage struct {
	Page
	Inbox []*orders.InboxItem
	More  string
}

func (p *Portal) approvalsView(r *http.Request) (approvalsPage, error) {
	inbox, err := p.Orders.Inbox(r.Context(), middleware.Principal(r.Context()), sqldb.Page{Cursor: r.URL.Query().Get("cursor")})
	return approvalsPage{Page: p.pageFor(r, "Approvals"), Inbox: inbox.Items, More: moreLink(r, inbox.Next)}, err
}

func (p *Portal) decide(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	approve := f.Get("decision") == "approve"
	_, err := p.Orders.Decide(r.Context(), middleware.Principal(r.Context()), r.PathValue("id"), orders.Decision{Approve: approve, Comment: f.Get("comment")})
	if err == nil {
		word := "Rejected."
		if approve {
			word = "Approved."
		}
		return p.redirect(w, r, "/approvals", word)
	}
	return reshow(p, w, r, "approvals", err, p.approvalsView)
}

type tasksPage struct {
	Page
	Tasks []*orders.Task
	More  string
}

func (p *Portal) tasksView(r *http.Request) (tasksPage, error) {
	ts, err := p.Orders.Tasks(r.Context(), middleware.Principal(r.Context()), orders.TaskFilter{Page: sqldb.Page{Cursor: r.URL.Query().Get("cursor")}})
	return tasksPage{Page: p.pageFor(r, "Task queue"), Tasks: ts.Items, More: moreLink(r, ts.Next)}, err
}

func (p *Portal) completeTask(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	done := f.Get("outcome") == "done"
	_, err := p.Orders.CompleteTask(r.Context(), middleware.Principal(r.Context()), r.PathValue("id"),
		orders.TaskResult{Done: done, Note: f.Get("note"), InstanceName: f.Get("instance_name")})
	if err == nil {
		word := "Task failed; the requester is told."
		if done {
			word = "Task done."
		}
		return p.redirect(w, r, "/tasks", word)
	}
	return reshow(p, w, r, "tasks", err, p.tasksView)
}

type servicesPage struct {
	Page
	Instances []*orders.Instance
	All       bool
	// More opens the next page of instances (empty on the last).
	More string
}

func (p *Portal) myServicesPage(w http.ResponseWriter, r *http.Request) error {
	all := r.URL.Query().Get("all") == "true"
	is, err := p.Orders.Instances(r.Context(), middleware.Principal(r.Context()), orders.InstanceFilter{All: all,
		Page: sqldb.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")}})
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "myservices", servicesPage{Page: p.pageFor(r, "My services"), Instances: is.Items, All: all, More: moreLink(r, is.Next)})
}

func (p *Portal) deprovision(w http.ResponseWriter, r *http.Request) error {
	o, err := p.Orders.RequestDeprovision(r.Context(), middleware.Principal(r.Context()), r.PathValue("id"), r.PostForm.Get("comment"))
	if err != nil {
		return err
	}
	return p.redirect(w, r, "/orders/"+o.ID, "Deprovision requested as order "+o.Reference()+".")
}
