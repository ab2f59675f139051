package web

import (
	"net/http"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sqldb"
)

type usersPage struct {
	Page
	Users     []*identity.User
	UnitNames map[string]string
	Units     []*identity.OrgUnit
	Query     string
	More      string
	CanManage bool
	Form      identity.CreateUserInput
}

func (p *Portal) usersView(r *http.Request) (usersPage, error) {
	pr := middleware.Principal(r.Context())
	q := r.URL.Query()
	users, err := p.Identity.Users(r.Context(), pr, identity.UserFilter{Query: q.Get("q"), Page: sqldb.Page{Limit: 100, Cursor: q.Get("cursor")}})
	if err != nil {
		return usersPage{}, err
	}
	units, err := p.Identity.OrgUnits(r.Context(), pr)
	if err != nil {
		return usersPage{}, err
	}
	pg := usersPage{Page: p.pageFor(r, "Users"), Users: users.Items, Units: units, Query: q.Get("q"), UnitNames: map[string]string{},
		CanManage: pr.CanAnywhere(access.UserManage)}
	for _, u := range units {
		pg.UnitNames[u.ID] = u.Name
	}
	pg.More = moreLink(r, users.Next)
	return pg, nil
}

func (p *Portal) createUser(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	in := identity.CreateUserInput{Email: f.Get("email"), Name: f.Get("name"), OrgUnitID: f.Get("org_unit_id"), Password: f.Get("password")}
	u, err := p.Identity.CreateUser(r.Context(), middleware.Principal(r.Context()), in)
	if err == nil {
		return p.redirect(w, r, "/admin/users/"+u.ID, "Created "+u.Email+". Grant roles below.")
	}
	in.Password = ""
	return reshow(p, w, r, "users", err, func(r *http.Request) (usersPage, error) {
		pg, err := p.usersView(r)
		pg.Form = in
		return pg, err
	})
}

type userPage struct {
	Page
	User      *identity.User
	Grants    []*identity.Grant
	Units     []*identity.OrgUnit
	Roles     []access.Role
	CanManage bool
	CanGrant  bool
	Self      bool
	// ByRule names, by grant ID, the identity provider whose mapping rules
	// gave the grant (and will take it back when they no longer do).
	ByRule map[string]string
	// TwoStep is the user's two-step sign-in, which CanManage may reset.
	TwoStep *identity.TOTPStatus
}

func (p *Portal) userView(r *http.Request) (userPage, error) {
	pr := middleware.Principal(r.Context())
	u, err := p.Identity.User(r.Context(), pr, r.PathValue("id"))
	if err != nil {
		return userPage{}, err
	}
	grants, err := p.Identity.Grants(r.Context(), pr, u.ID)
	if err != nil {
		return userPage{}, err
	}
	units, err := p.Identity.OrgUnits(r.Context(), pr)
	if err != nil {
		return userPage{}, err
	}
	byRule, err := p.Identity.RuleGrantIDs(r.Context(), pr, u.ID)
	if err != nil {
		return userPage{}, err
	}
	twoStep, err := p.Identity.TOTPStatus(r.Context(), pr, u.ID)
	if err != nil {
		return userPage{}, err
	}
	return userPage{Page: p.pageFor(r, u.Name), User: u, Grants: grants, Units: units, Roles: access.Roles,
		CanManage: pr.Can(access.UserManage, u.Resource()), CanGrant: pr.CanAnywhere(access.GrantManage), Self: pr.UserID == u.ID, ByRule: byRule,
		TwoStep: twoStep}, nil
}

func (p *Portal) updateUser(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	var in identity.UpdateUserInput
	switch f.Get("action") {
	case "disable", "enable":
		d := f.Get("action") == "disable"
		in.Disabled = &d
	case "password":
		pw := f.Get("password")
		in.Password = &pw
	default:
		name, unit := f.Get("name"), f.Get("org_unit_id")
		in.Name, in.OrgUnitID = &name, &unit
	}
	u, err := p.Identity.UpdateUser(r.Context(), middleware.Principal(r.Context()), r.PathValue("id"), in)
	if err == nil {
		return p.redirect(w, r, "/admin/users/"+u.ID, "Saved.")
	}
	return reshow(p, w, r, "user", err, p.userView)
}

func (p *Portal) createGrant(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	in := identity.CreateGrantInput{UserID: r.PathValue("id"), Role: access.Role(f.Get("role"))}
	switch scope := f.Get("scope"); scope {
	case "global":
		in.ScopeKind = access.ScopeGlobal
	default:
		in.ScopeKind, in.ScopeID = access.ScopeOrgUnit, scope
	}
	_, err := p.Identity.CreateGrant(r.Context(), middleware.Principal(r.Context()), in)
	if err == nil {
		return p.redirect(w, r, "/admin/users/"+in.UserID, "Granted "+humanize(in.Role)+".")
	}
	return reshow(p, w, r, "user", err, p.userView)
}

// deleteGrant takes a role from a user, or from a group when the form
// comes from the group's page (group_id).
func (p *Portal) deleteGrant(w http.ResponseWriter, r *http.Request) error {
	err := p.Identity.DeleteGrant(r.Context(), middleware.Principal(r.Context()), r.PathValue("id"))
	if groupID := r.PostForm.Get("group_id"); groupID != "" {
		r.SetPathValue("id", groupID)
		return p.groupFormResult(w, r, err, "Role removed from the group.")
	}
	userID := r.PostForm.Get("user_id")
	if err == nil {
		return p.redirect(w, r, "/admin/users/"+userID, "Role removed.")
	}
	r.SetPathValue("id", userID)
	return reshow(p, w, r, "user", err, p.userView)
}
