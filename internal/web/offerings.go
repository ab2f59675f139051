package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
)

// spareRows is how many empty plan rows the offering form offers for new plans.
const spareRows = 2

type offeringEditPage struct {
	Page
	Service   *catalog.Service
	Offering  *catalog.Offering // nil when creating
	Form      catalog.OfferingInput
	Schema    string // the order form's JSON Schema, indented
	Addons    string // one add-on per line
	Plans     []catalog.PlanInput
	Views     []catalog.View
	Roles     []access.Role
	OrgUnits  []*identity.OrgUnit
	Offerings []*catalog.Offering // candidates for the bundle
}

// Action is where the form posts.
func (pg offeringEditPage) Action() string {
	if pg.Offering != nil {
		return "/catalog/" + pg.Offering.Code + "/edit"
	}
	return "/portfolio/" + pg.Service.Code + "/offerings"
}

// HasRole and InAudience and Bundles tell the template which boxes are ticked.
func (pg offeringEditPage) HasRole(r access.Role) bool {
	return slices.Contains(pg.Form.Audience.Roles, r)
}

// InAudience reports whether the org unit is in the audience.
func (pg offeringEditPage) InAudience(id string) bool {
	return slices.Contains(pg.Form.Audience.OrgUnitIDs, id)
}

// Bundles reports whether the offering is bundled.
func (pg offeringEditPage) Bundles(id string) bool { return slices.Contains(pg.Form.Bundle, id) }

// offeringTarget finds what the form edits: a new offering of the service
// in the path ({code} of /portfolio) or the offering in the path ({code} of
// /catalog). Only those who may manage the service get it; the offering is
// read whatever its audience, since its owners edit it.
func (p *Portal) offeringTarget(r *http.Request, editing bool) (offeringEditPage, error) {
	pr := middleware.Principal(r.Context())
	var pg offeringEditPage
	if editing {
		if err := pr.RequireAnywhere(access.ServiceManage); err != nil {
			return pg, err
		}
		o, err := p.Catalog.Offering(r.Context(), access.System(), r.PathValue("code"))
		if err != nil {
			return pg, err
		}
		pg.Offering, pg.Service, pg.Form = o, o.Service, o.Input()
	} else {
		s, err := p.Catalog.Service(r.Context(), pr, r.PathValue("code"))
		if err != nil {
			return pg, err
		}
		pg.Service = s
		pg.Form = catalog.OfferingInput{ServiceID: s.ID, View: catalog.ViewEndUser, FormSchema: json.RawMessage(catalog.EmptyForm)}
	}
	return pg, pr.Require(access.ServiceManage, pg.Service.Resource())
}

// offeringEditView builds the form: the target, and the choices the form offers.
func (p *Portal) offeringEditView(editing bool) func(*http.Request) (offeringEditPage, error) {
	return func(r *http.Request) (offeringEditPage, error) {
		pg, err := p.offeringTarget(r, editing)
		if err != nil {
			return pg, err
		}
		return pg, p.offeringChoices(r, &pg)
	}
}

// offeringChoices fills in the page around pg.Form: title, views, roles,
// org units and the offerings it may bundle.
func (p *Portal) offeringChoices(r *http.Request, pg *offeringEditPage) error {
	title := "New offering of " + pg.Service.Name
	if pg.Offering != nil {
		title = "Edit " + pg.Offering.Name
	}
	pg.Page, pg.Views, pg.Roles = p.pageFor(r, title), catalog.Views, access.Roles
	pg.OrgUnits, _ = p.Identity.OrgUnits(r.Context(), access.System())
	all, err := p.Catalog.Offerings(r.Context(), access.System(), catalog.OfferingFilter{})
	if err != nil {
		return err
	}
	for _, o := range all {
		if pg.Offering == nil || o.ID != pg.Offering.ID {
			pg.Offerings = append(pg.Offerings, o)
		}
	}
	// What it bundles comes first, in the bundle's order, which the form
	// posts back as it shows it (issue 17, item 1: a save keeps the order).
	rank := func(o *catalog.Offering) int {
		if i := slices.Index(pg.Form.Bundle, o.ID); i >= 0 {
			return i
		}
		return len(pg.Form.Bundle)
	}
	slices.SortStableFunc(pg.Offerings, func(a, b *catalog.Offering) int { return rank(a) - rank(b) })
	pg.fill()
	return nil
}

// fill derives the textual fields of the form from pg.Form.
func (pg *offeringEditPage) fill() {
	var b bytes.Buffer
	if json.Indent(&b, pg.Form.FormSchema, "", "  ") == nil {
		pg.Schema = b.String()
	} else {
		pg.Schema = string(pg.Form.FormSchema)
	}
	var addons []string
	for _, a := range pg.Form.Addons {
		addons = append(addons, strings.Join([]string{a.Code, a.Name, a.Recurring, a.OneTime, a.Description}, " | "))
	}
	pg.Addons = strings.Join(addons, "\n")
	pg.Plans = append(slices.Clone(pg.Form.Plans), make([]catalog.PlanInput, spareRows)...)
	for i := range pg.Plans {
		if pg.Plans[i].Currency == "" && len(pg.Form.Plans) > 0 {
			pg.Plans[i].Currency = pg.Form.Plans[0].Currency
		}
	}
}

// offeringInput reads the posted form. Plan rows with neither code nor
// name are the spare rows left empty.
func offeringInput(f url.Values, serviceID string) catalog.OfferingInput {
	in := catalog.OfferingInput{ServiceID: serviceID, Code: f.Get("code"), Name: f.Get("name"), Summary: f.Get("summary"),
		Description: f.Get("description"), View: catalog.View(f.Get("view")), Bundle: f["bundle"], Brokered: f.Get("brokered") != "",
		FormSchema: json.RawMessage(strings.TrimSpace(f.Get("form_schema")))}
	// The form shows the schema indented: store it as compact as it came
	// (a schema that is not JSON goes on as typed, to be refused by name).
	var compact bytes.Buffer
	if json.Compact(&compact, in.FormSchema) == nil {
		in.FormSchema = compact.Bytes()
	}
	in.Audience.OrgUnitIDs = f["audience_org_unit_ids"]
	for _, r := range f["audience_roles"] {
		in.Audience.Roles = append(in.Audience.Roles, access.Role(r))
	}
	for _, l := range lines(f.Get("addons")) {
		parts := strings.Split(l, "|")
		for len(parts) < 5 {
			parts = append(parts, "")
		}
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		in.Addons = append(in.Addons, catalog.Addon{Code: parts[0], Name: parts[1], Recurring: parts[2], OneTime: parts[3],
			Description: strings.Join(parts[4:], " | ")})
	}
	for i := 0; f.Has("plan." + strconv.Itoa(i) + ".code"); i++ {
		get := func(k string) string { return strings.TrimSpace(f.Get("plan." + strconv.Itoa(i) + "." + k)) }
		if get("code") == "" && get("name") == "" {
			continue
		}
		pl := catalog.PlanInput{Code: get("code"), Name: get("name"), Description: get("description"), Currency: get("currency"),
			Recurring: get("recurring"), OneTime: get("one_time"), Agreement: get("agreement"), Blueprint: get("blueprint"), Retired: get("retired") != ""}
		if q := get("max_quantity"); q != "" {
			var err error
			if pl.MaxQuantity, err = strconv.Atoi(q); err != nil {
				pl.MaxQuantity = -1 // refused by validation with the rule's own message
			}
		}
		in.Plans = append(in.Plans, pl)
	}
	return in
}

func (p *Portal) saveOffering(editing bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		pr := middleware.Principal(r.Context())
		pg, err := p.offeringTarget(r, editing)
		if err != nil {
			return err
		}
		in := offeringInput(r.PostForm, pg.Service.ID)
		var o *catalog.Offering
		if editing {
			o, err = p.Catalog.UpdateOffering(r.Context(), pr, pg.Offering.ID, in)
		} else {
			o, err = p.Catalog.CreateOffering(r.Context(), pr, in)
		}
		if err == nil {
			return p.redirect(w, r, "/catalog/"+o.Code, "Saved "+o.Name+".")
		}
		return reshow(p, w, r, "offering_edit", err, func(r *http.Request) (offeringEditPage, error) {
			pg.Form = in
			return pg, p.offeringChoices(r, &pg)
		})
	}
}

// addDependency adds an edge from the service in the path to the node chosen.
func (p *Portal) addDependency(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	f := r.PostForm
	s, err := p.Catalog.Service(r.Context(), pr, r.PathValue("code"))
	if err != nil {
		return err
	}
	in := catalog.DependencyInput{FromServiceID: s.ID, Kind: catalog.DependencyKind(f.Get("kind")), RedundancyGroup: f.Get("redundancy_group")}
	switch typ, id, _ := strings.Cut(f.Get("to"), ":"); typ {
	case "service":
		in.ToServiceID = id
	case "ci":
		in.ToCIID = id
	}
	if n := strings.TrimSpace(f.Get("needs")); n != "" {
		if in.Needs, err = strconv.Atoi(n); err != nil {
			in.Needs = -1
		}
	}
	if _, err = p.Catalog.AddDependency(r.Context(), pr, in); err == nil {
		return p.redirect(w, r, "/portfolio/"+s.Code, "Dependency added.")
	}
	return reshow(p, w, r, "service", err, p.serviceView)
}

func (p *Portal) removeDependency(w http.ResponseWriter, r *http.Request) error {
	if err := p.Catalog.RemoveDependency(r.Context(), middleware.Principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return p.redirect(w, r, "/portfolio/"+r.PathValue("code"), "Dependency removed.")
}
