package api

import (
	"net/http"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sqldb"
)

type meResponse struct {
	User    *identity.User    `json:"user"`
	Grants  []*identity.Grant `json:"grants"`
	TokenID string            `json:"token_id,omitempty"`
	// TwoStepSignIn says whether signing in with a password asks for a
	// code (set up in the portal: it needs a person and their phone).
	TwoStepSignIn bool `json:"two_step_sign_in"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	u, err := s.Identity.User(ctx(r), p, p.UserID)
	if err != nil {
		return err
	}
	grants, err := s.Identity.Grants(ctx(r), p, p.UserID)
	if err != nil {
		return err
	}
	if grants == nil {
		grants = []*identity.Grant{}
	}
	st, err := s.Identity.TOTPStatus(ctx(r), p, p.UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, meResponse{User: u, Grants: grants, TokenID: p.TokenID, TwoStepSignIn: st.Enabled})
}

// resetTOTP turns off another user's two-step sign-in and ends their
// sessions (user.manage on the user).
func (s *Server) resetTOTP(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.ResetTOTP(ctx(r), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in passwordChange
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := s.Identity.ChangePassword(ctx(r), principal(r), in.CurrentPassword, in.NewPassword, ""); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type roleInfo struct {
	Name        access.Role     `json:"name"`
	Description string          `json:"description"`
	Actions     []access.Action `json:"actions"`
}

func (s *Server) roles(w http.ResponseWriter, r *http.Request) error {
	out := make([]roleInfo, 0, len(access.Roles))
	for _, role := range access.Roles {
		out = append(out, roleInfo{Name: role, Description: role.Description(), Actions: role.Allowed()})
	}
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	l, err := sqldb.PageSlice(out, pg)
	if err != nil {
		return err
	}
	return writeList(w, r, l)
}

func (s *Server) listOrgUnits(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	l, err := s.Identity.OrgUnitPage(ctx(r), principal(r), identity.OrgUnitFilter{Under: q.Get("under"), Query: q.Get("q"), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, l)
}

func (s *Server) createOrgUnit(w http.ResponseWriter, r *http.Request) error {
	var in identity.CreateOrgUnitInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	o, err := s.Identity.CreateOrgUnit(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/org-units/"+o.ID)
	return writeJSON(w, http.StatusCreated, o)
}

func (s *Server) getOrgUnit(w http.ResponseWriter, r *http.Request) error {
	o, err := s.Identity.OrgUnit(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, o)
}

func (s *Server) updateOrgUnit(w http.ResponseWriter, r *http.Request) error {
	var in identity.UpdateOrgUnitInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	o, err := s.Identity.UpdateOrgUnit(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, o)
}

func (s *Server) deleteOrgUnit(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.DeleteOrgUnit(ctx(r), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	users, err := s.Identity.Users(ctx(r), principal(r), identity.UserFilter{OrgUnitID: q.Get("org_unit_id"), Query: q.Get("q"), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, users)
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var in identity.CreateUserInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, err := s.Identity.CreateUser(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/users/"+u.ID)
	return writeJSON(w, http.StatusCreated, u)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.Identity.User(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	var in identity.UpdateUserInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, err := s.Identity.UpdateUser(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

func (s *Server) listGrants(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	gs, err := s.Identity.Grants(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	l, err := sqldb.PageSlice(gs, pg) // a user holds a few grants
	if err != nil {
		return err
	}
	return writeList(w, r, l)
}

func (s *Server) listGroupGrants(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	gs, err := s.Identity.GroupGrants(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	l, err := sqldb.PageSlice(gs, pg) // a group holds a few grants
	if err != nil {
		return err
	}
	return writeList(w, r, l)
}

func (s *Server) createGrant(w http.ResponseWriter, r *http.Request) error {
	var in identity.CreateGrantInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	g, err := s.Identity.CreateGrant(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, g)
}

func (s *Server) deleteGrant(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.DeleteGrant(ctx(r), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	gs, err := s.Identity.GroupPage(ctx(r), principal(r), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, gs)
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) error {
	var in identity.GroupInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	g, err := s.Identity.CreateGroup(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/groups/"+g.ID)
	return writeJSON(w, http.StatusCreated, g)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := s.Identity.Group(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request) error {
	var in identity.GroupInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	g, err := s.Identity.UpdateGroup(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.DeleteGroup(ctx(r), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) setMember(member bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		g, err := s.Identity.SetMember(ctx(r), principal(r), r.PathValue("id"), r.PathValue("user_id"), member)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, g)
	}
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	ts, err := s.Identity.Tokens(ctx(r), principal(r), r.URL.Query().Get("user_id"), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, ts)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in identity.CreateTokenInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := s.Identity.CreateToken(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, t)
}

func (s *Server) listDirectoryTokens(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	ts, err := s.Identity.DirectoryTokens(ctx(r), principal(r), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, ts)
}

func (s *Server) createDirectoryToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name      string    `json:"name"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := s.Identity.CreateDirectoryToken(ctx(r), principal(r), in.Name, in.ExpiresAt)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, t)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Identity.RevokeToken(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}
