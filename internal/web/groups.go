package web

import (
	"net/http"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sqldb"
)

type groupsPage struct {
	Page
	Groups    []*identity.Group
	More      string
	CanManage bool
	Form      identity.GroupInput
}

func (p *Portal) groupsView(r *http.Request) (groupsPage, error) {
	pr := middleware.Principal(r.Context())
	gs, err := p.Identity.GroupPage(r.Context(), pr, sqldb.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")})
	return groupsPage{Page: p.pageFor(r, "Assignment groups"), Groups: gs.Items, More: moreLink(r, gs.Next), CanManage: pr.CanAnywhere(access.GroupManage)}, err
}

func groupInput(r *http.Request) identity.GroupInput {
	f := r.PostForm
	return identity.GroupInput{Name: f.Get("name"), Description: f.Get("description"), Email: f.Get("email")}
}

func (p *Portal) createGroup(w http.ResponseWriter, r *http.Request) error {
	in := groupInput(r)
	g, err := p.Identity.CreateGroup(r.Context(), middleware.Principal(r.Context()), in)
	if err == nil {
		return p.redirect(w, r, "/admin/groups/"+g.ID, "Created "+g.Name+". Add members below.")
	}
	return reshow(p, w, r, "groups", err, func(r *http.Request) (groupsPage, error) {
		pg, err := p.groupsView(r)
		pg.Form = in
		return pg, err
	})
}

type groupPage struct {
	Page
	Group     *identity.Group
	Members   []*identity.User
	CanManage bool
	// Grants are the roles granted to the group, which its members hold.
	Grants   []*identity.Grant
	Units    []*identity.OrgUnit
	Roles    []access.Role
	CanGrant bool
	// Manager is the group's manager, if any (by ID only when the reader
	// may not read them); ManagerEmail is the edit form's value, and
	// ManagerHidden says the reader may not see (so not change) them.
	Manager       *identity.User
	ManagerEmail  string
	ManagerHidden bool
	// Form is the edit form's values: the group's, or what was posted.
	Form identity.GroupInput
}

func (p *Portal) groupView(r *http.Request) (groupPage, error) {
	pr := middleware.Principal(r.Context())
	g, err := p.Identity.Group(r.Context(), pr, r.PathValue("id"))
	if err != nil {
		return groupPage{}, err
	}
	pg := groupPage{Page: p.pageFor(r, g.Name), Group: g, CanManage: pr.CanAnywhere(access.GroupManage), Roles: peopleRoles(), CanGrant: pr.CanAnywhere(access.GrantManage)}
	if pg.Grants, err = p.Identity.GroupGrants(r.Context(), pr, g.ID); err != nil {
		return groupPage{}, err
	}
	if pg.CanGrant {
		if pg.Units, err = p.Identity.OrgUnits(r.Context(), pr); err != nil {
			return groupPage{}, err
		}
	}
	if g.ManagerID != "" {
		if pg.Manager, err = p.Identity.User(r.Context(), pr, g.ManagerID); err != nil {
			pg.Manager, pg.ManagerHidden = &identity.User{ID: g.ManagerID, Name: "(not visible to you)"}, true
		}
		pg.ManagerEmail = pg.Manager.Email
	}
	pg.Form = identity.GroupInput{Name: g.Name, Description: g.Description, Email: g.Email}
	if f := r.PostForm; f.Has("name") {
		pg.Form = groupInput(r)
	}
	if r.PostForm.Has("manager_email") {
		pg.ManagerEmail = r.PostForm.Get("manager_email")
	}
	for _, id := range g.MemberIDs {
		u, err := p.Identity.User(r.Context(), pr, id)
		if err != nil {
			// A member the caller may not read shows by ID only.
			u = &identity.User{ID: id, Name: "(not visible to you)"}
		}
		pg.Members = append(pg.Members, u)
	}
	return pg, nil
}

func (p *Portal) groupFormResult(w http.ResponseWriter, r *http.Request, err error, flash string) error {
	if err == nil {
		return p.redirect(w, r, "/admin/groups/"+r.PathValue("id"), flash)
	}
	return reshow(p, w, r, "group", err, p.groupView)
}

func (p *Portal) updateGroup(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	in := groupInput(r)
	if f := r.PostForm; f.Has("manager_email") {
		// The manager by email; empty: none.
		id := ""
		if email := strings.TrimSpace(f.Get("manager_email")); email != "" {
			u, err := p.Identity.UserByEmail(r.Context(), pr, email)
			if err != nil {
				return p.groupFormResult(w, r, formInvalid("manager_email", "no user with this email is visible to you"), "")
			}
			id = u.ID
		}
		in.ManagerID = &id
	}
	_, err := p.Identity.UpdateGroup(r.Context(), pr, r.PathValue("id"), in)
	return p.groupFormResult(w, r, err, "Saved.")
}

func (p *Portal) addMember(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	u, err := p.Identity.UserByEmail(r.Context(), pr, r.PostForm.Get("email"))
	if err == nil {
		_, err = p.Identity.SetMember(r.Context(), pr, r.PathValue("id"), u.ID, true)
	} else {
		err = formInvalid("email", "no user with this email is visible to you")
	}
	return p.groupFormResult(w, r, err, "Member added.")
}

func (p *Portal) removeMember(w http.ResponseWriter, r *http.Request) error {
	_, err := p.Identity.SetMember(r.Context(), middleware.Principal(r.Context()), r.PathValue("id"), r.PathValue("user_id"), false)
	return p.groupFormResult(w, r, err, "Member removed.")
}

func (p *Portal) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	if err := p.Identity.DeleteGroup(r.Context(), middleware.Principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return p.redirect(w, r, "/admin/groups", "Group deleted.")
}

func (p *Portal) createGroupGrant(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	in := identity.CreateGrantInput{GroupID: r.PathValue("id"), Role: access.Role(f.Get("role")), ScopeKind: access.ScopeGlobal}
	if scope := f.Get("scope"); scope != "global" {
		in.ScopeKind, in.ScopeID = access.ScopeOrgUnit, scope
	}
	_, err := p.Identity.CreateGrant(r.Context(), middleware.Principal(r.Context()), in)
	return p.groupFormResult(w, r, err, "Granted "+humanize(in.Role)+" to the group's members.")
}

// peopleRoles are the roles a group's members may hold: not machines'.
func peopleRoles() []access.Role {
	var out []access.Role
	for _, r := range access.Roles {
		if !r.ForMachines() {
			out = append(out, r)
		}
	}
	return out
}
