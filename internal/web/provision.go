package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/broker"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/sqldb"
)

type instancePage struct {
	Page
	MoreOperations string // older operations
	Instance       *orders.Instance
	Placement      *provision.Decision
	Operations     []*provision.Operation
	Components     []*provision.Component
	Bindings       []*provision.Binding
	// Revealed is a binding whose credentials this page shows, once.
	Revealed    *provision.Binding
	RevealedRaw string
	Plans       []*catalog.Plan
	CanAct      bool
	// CanSeeBlueprints links the blueprint that made it.
	CanSeeBlueprints bool
}

func (p *Portal) instanceView(r *http.Request) (instancePage, error) {
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	inst, err := p.Orders.Instance(ctx, pr, r.PathValue("id"))
	if err != nil {
		return instancePage{}, err
	}
	pg := instancePage{Page: p.pageFor(r, inst.Name), Instance: inst,
		CanAct:           pr.Owns(inst.OwnerID, access.OrderCreate) || pr.Can(access.OrderCreate, access.InOrgUnit(inst.OrgUnitPath())),
		CanSeeBlueprints: pr.CanAnywhere(access.ProviderRead)}
	if len(inst.Placement) > 0 {
		var d provision.Decision
		if json.Unmarshal(inst.Placement, &d) == nil {
			pg.Placement = &d
		}
	}
	// The newest operations, a page at a time; every component and
	// binding (an instance has few).
	ops, err := p.Provision.Operations(ctx, pr, inst.ID, sqldb.Page{Limit: 50, Cursor: r.URL.Query().Get("ops_cursor")})
	if err != nil {
		return pg, err
	}
	cs, err := p.Provision.Components(ctx, pr, inst.ID, sqldb.Page{Limit: sqldb.MaxLimit})
	if err != nil {
		return pg, err
	}
	bs, err := p.Provision.Bindings(ctx, pr, inst.ID, sqldb.Page{Limit: sqldb.MaxLimit})
	if err != nil {
		return pg, err
	}
	pg.Operations, pg.Components, pg.Bindings = ops.Items, cs.Items, bs.Items
	pg.MoreOperations = moreLinkAs(r, "ops_cursor", ops.Next, "reveal")
	if b := r.URL.Query().Get("reveal"); b != "" && pg.CanAct {
		rb, err := p.Provision.Binding(ctx, pr, inst.ID, b)
		if err != nil {
			return pg, err
		}
		if rb.Credentials != nil {
			pg.Revealed = rb
			raw, _ := json.MarshalIndent(rb.Credentials, "", "  ")
			pg.RevealedRaw = string(raw)
		}
	}
	if off, err := p.Catalog.Offering(ctx, pr, inst.OfferingID); err == nil {
		for _, pl := range off.Plans {
			if !pl.Retired && pl.ID != inst.PlanID {
				pg.Plans = append(pg.Plans, pl)
			}
		}
	}
	return pg, nil
}

func (p *Portal) instancePage(w http.ResponseWriter, r *http.Request) error {
	pg, err := p.instanceView(r)
	if err != nil {
		return err
	}
	if pg.Revealed != nil { // credentials are not cached anywhere
		w.Header().Set("Cache-Control", "no-store")
	}
	return p.render(w, r, http.StatusOK, "instance", pg)
}

func (p *Portal) changeInstance(w http.ResponseWriter, r *http.Request) error {
	o, err := p.Orders.RequestChange(r.Context(), middleware.Principal(r.Context()), r.PathValue("id"),
		orders.ChangeInput{Plan: r.PostForm.Get("plan"), Note: r.PostForm.Get("note")})
	if err != nil {
		return reshow(p, w, r, "instance", err, p.instanceView)
	}
	return p.redirect(w, r, "/orders/"+o.ID, "Plan change requested as order "+o.Reference()+".")
}

func (p *Portal) createBinding(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	b, err := p.Provision.CreateBinding(r.Context(), middleware.Principal(r.Context()), id, provision.BindingInput{Name: r.PostForm.Get("name")})
	if err != nil {
		return reshow(p, w, r, "instance", err, p.instanceView)
	}
	return p.redirect(w, r, "/my-services/"+id, "Asked the provider for credentials for "+b.Name+"; they are shown once, when ready.")
}

func (p *Portal) deleteBinding(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := p.Provision.DeleteBinding(r.Context(), middleware.Principal(r.Context()), id, r.PathValue("binding")); err != nil {
		return reshow(p, w, r, "instance", err, p.instanceView)
	}
	return p.redirect(w, r, "/my-services/"+id, "Asked the provider to delete the binding.")
}

type providersPage struct {
	Page
	Providers []*provision.Provider
	// More opens the next page of providers (empty on the last).
	More      string
	Policies  []provision.Policy
	Default   provision.Policy
	CanManage bool
}

func (p *Portal) providersView(r *http.Request) (providersPage, error) {
	pr := middleware.Principal(r.Context())
	pg := providersPage{Page: p.pageFor(r, "Providers"), CanManage: pr.CanAnywhere(access.ProviderManage), Default: provision.DefaultPolicy}
	pvs, err := p.Provision.Providers(r.Context(), pr, provision.ProviderFilter{Page: sqldb.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")}})
	if err != nil {
		return pg, err
	}
	pg.Providers, pg.More = pvs.Items, moreLink(r, pvs.Next)
	// The default policy ("*") comes first in offering order: a page of one.
	pols, err := p.Provision.Policies(r.Context(), pr, sqldb.Page{Limit: 1})
	if err != nil {
		return pg, err
	}
	pg.Policies = pols.Items
	for _, pol := range pg.Policies {
		if pol.OfferingID == "*" {
			pg.Default = pol
		}
	}
	return pg, nil
}

func providerInput(r *http.Request) provision.ProviderInput {
	f := r.PostForm
	capacity, _ := strconv.Atoi(strings.TrimSpace(f.Get("capacity")))
	return provision.ProviderInput{Code: f.Get("code"), Name: f.Get("name"), Kind: provision.Kind(f.Get("kind")), URL: f.Get("url"),
		Username: f.Get("username"), Secret: f.Get("secret"), Region: f.Get("region"), Capacity: capacity, Agreement: f.Get("agreement"), Markup: f.Get("markup")}
}

func (p *Portal) createProvider(w http.ResponseWriter, r *http.Request) error {
	pv, err := p.Provision.CreateProvider(r.Context(), middleware.Principal(r.Context()), providerInput(r))
	if err != nil {
		return reshow(p, w, r, "providers", err, p.providersView)
	}
	return p.redirect(w, r, "/admin/providers/"+pv.Code, "Registered "+pv.Name+". Check it, then import its catalog or give it offers.")
}

func (p *Portal) setDefaultPolicy(w http.ResponseWriter, r *http.Request) error {
	_, err := p.Provision.SetPolicy(r.Context(), middleware.Principal(r.Context()), provision.Policy{OfferingID: "*", Filter: r.PostForm.Get("filter"), Rank: r.PostForm.Get("rank")})
	if err != nil {
		return reshow(p, w, r, "providers", err, p.providersView)
	}
	return p.redirect(w, r, "/admin/providers", "Saved the default placement policy.")
}

type providerPage struct {
	Page
	Provider  *provision.Provider
	Offerings []*catalog.Offering
	CanManage bool
}

func (p *Portal) providerView(r *http.Request) (providerPage, error) {
	pr := middleware.Principal(r.Context())
	pv, err := p.Provision.Provider(r.Context(), pr, r.PathValue("code"))
	if err != nil {
		return providerPage{}, err
	}
	pg := providerPage{Page: p.pageFor(r, pv.Name), Provider: pv, CanManage: pr.CanAnywhere(access.ProviderManage)}
	if pg.CanManage {
		pg.Offerings, err = p.Catalog.Offerings(r.Context(), pr, catalog.OfferingFilter{})
	}
	return pg, err
}

func (p *Portal) providerAction(w http.ResponseWriter, r *http.Request) error {
	ctx, pr, code := r.Context(), middleware.Principal(r.Context()), r.PathValue("code")
	back := "/admin/providers/" + code
	switch r.PathValue("action") {
	case "check":
		pv, err := p.Provision.Check(ctx, pr, code)
		if err != nil {
			return reshow(p, w, r, "provider", err, p.providerView)
		}
		msg := pv.Name + " is " + string(pv.Health) + "."
		if pv.HealthError != "" {
			msg += " " + pv.HealthError
		}
		return p.redirect(w, r, back, msg)
	case "sync":
		rep, err := p.Provision.Sync(ctx, pr, code)
		if err != nil {
			return reshow(p, w, r, "provider", err, p.providerView)
		}
		return p.redirect(w, r, back, "Imported "+strconv.Itoa(rep.Plans)+" plans of "+strconv.Itoa(rep.Services)+" services; "+
			strconv.Itoa(len(rep.Retired))+" retired upstream.")
	case "edit":
		if _, err := p.Provision.UpdateProvider(ctx, pr, code, providerInput(r)); err != nil {
			return reshow(p, w, r, "provider", err, p.providerView)
		}
		return p.redirect(w, r, "/admin/providers/"+r.PostForm.Get("code"), "Saved.")
	case "offers":
		f := r.PostForm
		maxPolling, _ := strconv.Atoi(strings.TrimSpace(f.Get("max_polling_seconds")))
		_, err := p.Provision.SetOffer(ctx, pr, code, provision.OfferInput{Plan: f.Get("plan"), RemoteServiceID: f.Get("remote_service_id"),
			RemotePlanID: f.Get("remote_plan_id"), Currency: f.Get("currency"), Price: f.Get("price"), Bindable: f.Get("bindable") == "on",
			PlanUpdateable: f.Get("plan_updateable") == "on", MaxPolling: maxPolling})
		if err != nil {
			return reshow(p, w, r, "provider", err, p.providerView)
		}
		return p.redirect(w, r, back, "Saved the offer.")
	}
	return p.redirect(w, r, back, "")
}

type platformsPage struct {
	Page
	More      string
	Platforms []*broker.Platform
	OrgUnits  []orgUnitOption
	// Created is a platform just registered, with its password (shown once).
	Created *broker.Platform
}

type orgUnitOption struct{ ID, Label string }

func (p *Portal) platformsView(r *http.Request) (platformsPage, error) {
	pr := middleware.Principal(r.Context())
	pg := platformsPage{Page: p.pageFor(r, "Platforms")}
	pls, err := p.Broker.Platforms(r.Context(), pr, sqldb.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return pg, err
	}
	pg.Platforms, pg.More = pls.Items, moreLink(r, pls.Next)
	units, err := p.Identity.OrgUnits(r.Context(), pr)
	for _, u := range units {
		pg.OrgUnits = append(pg.OrgUnits, orgUnitOption{u.ID, u.Code + " · " + u.Name})
	}
	return pg, err
}

func (p *Portal) registerPlatform(w http.ResponseWriter, r *http.Request) error {
	pl, err := p.Broker.Register(r.Context(), middleware.Principal(r.Context()), broker.PlatformInput{Name: r.PostForm.Get("name"), OrgUnitID: r.PostForm.Get("org_unit_id")})
	if err != nil {
		return reshow(p, w, r, "platforms", err, p.platformsView)
	}
	pg, err := p.platformsView(r)
	if err != nil {
		return err
	}
	pg.Created = pl
	w.Header().Set("Cache-Control", "no-store")
	return p.render(w, r, http.StatusCreated, "platforms", pg)
}
