package web

import (
	"net/http"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sqldb"
)

type orgUnitsPage struct {
	Page
	Units     []*identity.OrgUnit // a page of them, each parent before its children
	Parents   []*identity.OrgUnit // the new unit's possible parents
	Query     string
	More      string
	Kinds     []identity.OrgUnitKind
	CanManage bool
	Form      identity.CreateOrgUnitInput
}

func (p *Portal) orgUnitsView(r *http.Request) (orgUnitsPage, error) {
	pr := middleware.Principal(r.Context())
	q := r.URL.Query()
	pg := orgUnitsPage{Page: p.pageFor(r, "Org units"), Kinds: identity.OrgUnitKinds, CanManage: pr.CanAnywhere(access.OrgUnitManage), Query: q.Get("q")}
	units, err := p.Identity.OrgUnitPage(r.Context(), pr, identity.OrgUnitFilter{Query: pg.Query, Page: sqldb.Page{Limit: 100, Cursor: q.Get("cursor")}})
	if err != nil {
		return pg, err
	}
	pg.Units, pg.More = units.Items, moreLink(r, units.Next)
	if pg.CanManage {
		// The parents a new unit may have are those the manager may
		// manage under; org units number in the thousands at most.
		if pg.Parents, err = p.Identity.OrgUnits(r.Context(), pr); err != nil {
			return pg, err
		}
	}
	return pg, nil
}

func (p *Portal) createOrgUnit(w http.ResponseWriter, r *http.Request) error {
	in := identity.CreateOrgUnitInput{ParentID: r.PostForm.Get("parent_id"), Kind: identity.OrgUnitKind(r.PostForm.Get("kind")),
		Code: r.PostForm.Get("code"), Name: r.PostForm.Get("name")}
	o, err := p.Identity.CreateOrgUnit(r.Context(), middleware.Principal(r.Context()), in)
	if err == nil {
		return p.redirect(w, r, "/admin/org-units", "Created org unit "+o.Name+".")
	}
	return reshow(p, w, r, "orgunits", err, func(r *http.Request) (orgUnitsPage, error) {
		pg, err := p.orgUnitsView(r)
		pg.Form = in
		return pg, err
	})
}

type orgUnitPage struct {
	Page
	Unit      *identity.OrgUnit
	Units     []*identity.OrgUnit
	Kinds     []identity.OrgUnitKind
	Users     []*identity.User
	CanManage bool
}

func (p *Portal) orgUnitView(r *http.Request) (orgUnitPage, error) {
	pr := middleware.Principal(r.Context())
	o, err := p.Identity.OrgUnit(r.Context(), pr, r.PathValue("id"))
	if err != nil {
		return orgUnitPage{}, err
	}
	units, err := p.Identity.OrgUnits(r.Context(), pr)
	if err != nil {
		return orgUnitPage{}, err
	}
	var users []*identity.User
	if pr.Can(access.UserRead, o.Resource()) {
		l, err := p.Identity.Users(r.Context(), pr, identity.UserFilter{OrgUnitID: o.ID, Page: sqldb.Page{Limit: 200}})
		if err != nil {
			return orgUnitPage{}, err
		}
		users = l.Items
	}
	return orgUnitPage{Page: p.pageFor(r, o.Name), Unit: o, Units: units, Kinds: identity.OrgUnitKinds, Users: users,
		CanManage: pr.Can(access.OrgUnitManage, o.Resource())}, nil
}

func (p *Portal) updateOrgUnit(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	kind, code, name, parent := identity.OrgUnitKind(f.Get("kind")), f.Get("code"), f.Get("name"), f.Get("parent_id")
	o, err := p.Identity.UpdateOrgUnit(r.Context(), middleware.Principal(r.Context()), r.PathValue("id"),
		identity.UpdateOrgUnitInput{Kind: &kind, Code: &code, Name: &name, ParentID: &parent})
	if err == nil {
		return p.redirect(w, r, "/admin/org-units/"+o.ID, "Saved.")
	}
	return reshow(p, w, r, "orgunit", err, p.orgUnitView)
}

func (p *Portal) deleteOrgUnit(w http.ResponseWriter, r *http.Request) error {
	err := p.Identity.DeleteOrgUnit(r.Context(), middleware.Principal(r.Context()), r.PathValue("id"))
	if err == nil {
		return p.redirect(w, r, "/admin/org-units", "Deleted.")
	}
	return reshow(p, w, r, "orgunit", err, p.orgUnitView)
}
