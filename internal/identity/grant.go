package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Grant gives a user or a group a role on a scope. A group's grant applies
// to each of its members while they are members: listed among a user's
// grants, it names the user and the group it comes through.
type Grant struct {
	ID     string `json:"id"`
	UserID string `json:"user_id,omitempty"`
	// GroupID is the group given the role, or the one a user holds it
	// through; GroupName names it.
	GroupID   string           `json:"group_id,omitempty"`
	GroupName string           `json:"group_name,omitempty"`
	Role      access.Role      `json:"role"`
	ScopeKind access.ScopeKind `json:"scope_kind"`
	// ScopeID is the org unit or service; empty for a global grant.
	ScopeID string `json:"scope_id,omitempty"`
	// ScopeName describes the scope for people ("Retail (business unit)").
	ScopeName string    `json:"scope_name"`
	CreatedAt time.Time `json:"created_at"`

	scopePath string
}

// resource is the scope as an access resource: who may grant on it.
func (g *Grant) resource() access.Resource {
	switch g.ScopeKind {
	case access.ScopeOrgUnit:
		return access.InOrgUnit(g.scopePath)
	case access.ScopeService:
		return access.Resource{ServiceID: g.ScopeID}
	}
	return access.Resource{}
}

// CreateGrantInput gives a role to a user or (GroupID instead) a group.
type CreateGrantInput struct {
	UserID    string           `json:"user_id,omitempty"`
	GroupID   string           `json:"group_id,omitempty"`
	Role      access.Role      `json:"role"`
	ScopeKind access.ScopeKind `json:"scope_kind"`
	ScopeID   string           `json:"scope_id"`
}

// Validate checks the input's fields.
func (in *CreateGrantInput) Validate() error {
	var v errs.Validator
	if in.GroupID != "" {
		v.Check(in.UserID == "", "user_id", "one", "a grant goes to a user or a group: give user_id or group_id, not both")
		v.Check(sqldb.ValidID(in.GroupID), "group_id", "format", "group_id must be a group ID")
		v.Check(!in.Role.ForMachines(), "role", "machine", "role "+string(in.Role)+" is for a machine's API token, never a group's members")
	} else {
		v.Check(sqldb.ValidID(in.UserID), "user_id", "format", "user_id must be a user ID (or give group_id to grant to a group)")
	}
	v.Check(in.Role.Valid(), "role", "enum", "role must be one of the roles listed at GET /api/v1/roles")
	if v.Check(in.ScopeKind.Valid(), "scope_kind", "enum", "scope_kind must be global, org_unit or service") {
		if in.ScopeKind == access.ScopeGlobal {
			v.Check(in.ScopeID == "", "scope_id", "empty", "a global grant has no scope_id")
		} else {
			v.Check(sqldb.ValidID(in.ScopeID), "scope_id", "format", "scope_id must be the ID of the org unit or service")
		}
	}
	return v.Err("the grant is not valid")
}

const grantColumns = `g.id, g.user_id, g.role, g.scope_kind, g.scope_id, g.created_at, COALESCE(ou.path, ''), COALESCE(ou.name, sv.name, ''), COALESCE(ou.kind, '')`

const grantFrom = ` FROM grants g LEFT JOIN org_units ou ON g.scope_kind = 'org_unit' AND ou.id = g.scope_id LEFT JOIN services sv ON g.scope_kind = 'service' AND sv.id = g.scope_id`

// groupGrantColumns and groupGrantFrom read group_grants as grants, with
// the group: the user is the member named by the query, or none.
const groupGrantColumns = `g.id, g.role, g.scope_kind, g.scope_id, g.created_at, COALESCE(ou.path, ''), COALESCE(ou.name, sv.name, ''), COALESCE(ou.kind, ''), g.group_id, ag.name`

const groupGrantFrom = ` FROM group_grants g JOIN assignment_groups ag ON ag.id = g.group_id LEFT JOIN org_units ou ON g.scope_kind = 'org_unit' AND ou.id = g.scope_id LEFT JOIN services sv ON g.scope_kind = 'service' AND sv.id = g.scope_id`

func scanGrant(row sqldb.Scanner) (*Grant, error) {
	var g Grant
	var ouName, ouKind string
	if err := row.Scan(&g.ID, &g.UserID, &g.Role, &g.ScopeKind, &g.ScopeID, &g.CreatedAt, &g.scopePath, &ouName, &ouKind); err != nil {
		return nil, err
	}
	g.describe(ouName, ouKind)
	return &g, nil
}

func scanGroupGrant(row sqldb.Scanner) (*Grant, error) {
	var g Grant
	var ouName, ouKind string
	if err := row.Scan(&g.ID, &g.Role, &g.ScopeKind, &g.ScopeID, &g.CreatedAt, &g.scopePath, &ouName, &ouKind, &g.GroupID, &g.GroupName); err != nil {
		return nil, err
	}
	g.describe(ouName, ouKind)
	return &g, nil
}

// describe sets the scope's name for people from the joined org unit or
// service.
func (g *Grant) describe(ouName, ouKind string) {
	g.CreatedAt = g.CreatedAt.UTC()
	switch g.ScopeKind {
	case access.ScopeGlobal:
		g.ScopeName = "the whole provider"
	case access.ScopeOrgUnit:
		g.ScopeName = fmt.Sprintf("%s (%s)", ouName, strings.ReplaceAll(string(ouKind), "_", " "))
	case access.ScopeService:
		g.ScopeName = ouName + " (service)"
	}
}

// userGrants are the roles a user holds: given to them, then through their
// groups (each naming the group).
func userGrants(ctx context.Context, q sqldb.Querier, userID string) ([]*Grant, error) {
	own, err := sqldb.QueryAll(ctx, q, "grants", scanGrant, `SELECT `+grantColumns+grantFrom+` WHERE g.user_id = $1 ORDER BY g.id`, userID)
	if err != nil {
		return nil, err
	}
	through, err := sqldb.QueryAll(ctx, q, "group grants", scanGroupGrant, `SELECT `+groupGrantColumns+groupGrantFrom+`
		JOIN group_members gm ON gm.group_id = g.group_id WHERE gm.user_id = $1 ORDER BY ag.name, g.id`, userID)
	for _, g := range through {
		g.UserID = userID
	}
	return append(own, through...), err
}

// Grants lists a user's grants, those given to them and those they hold
// through groups. Callers who may read the user may list them.
func (s *Service) Grants(ctx context.Context, p *access.Principal, userID string) ([]*Grant, error) {
	if _, err := s.User(ctx, p, userID); err != nil {
		return nil, err
	}
	return userGrants(ctx, s.db.Read(), userID)
}

// GroupGrants lists the roles granted to a group, which its members hold.
// Callers need group.read somewhere, as for the group.
func (s *Service) GroupGrants(ctx context.Context, p *access.Principal, groupID string) ([]*Grant, error) {
	if _, err := s.Group(ctx, p, groupID); err != nil {
		return nil, err
	}
	return sqldb.QueryAll(ctx, s.db.Read(), "group grants", scanGroupGrant, `SELECT `+groupGrantColumns+groupGrantFrom+` WHERE g.group_id = $1 ORDER BY g.id`, groupID)
}

// CreateGrant gives a user or a group a role on a scope. Callers need
// grant.manage on the scope (globally for a global grant). Granting what
// the user or group already holds is a conflict.
func (s *Service) CreateGrant(ctx context.Context, p *access.Principal, in CreateGrantInput) (*Grant, error) {
	defer s.tokens.forget() // the change reaches cached tokens once it is made
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *Grant
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		g, err := s.createGrant(ctx, tx, p, in)
		out = g
		return err
	})
	return out, err
}

func (s *Service) createGrant(ctx context.Context, tx *sqldb.Tx, p *access.Principal, in CreateGrantInput) (*Grant, error) {
	g := &Grant{ID: sqldb.NewID(), Role: in.Role, ScopeKind: in.ScopeKind, ScopeID: in.ScopeID, CreatedAt: sqldb.Time(s.now())}
	holder := ""
	if in.GroupID != "" {
		gr, err := getGroup(ctx, tx, in.GroupID)
		if errs.Is(err, errs.CodeNotFound) {
			return nil, errs.Invalid("group_id %q is not an existing group", in.GroupID)
		}
		if err != nil {
			return nil, err
		}
		g.GroupID, g.GroupName, holder = gr.ID, gr.Name, "the group "+gr.Name
	} else {
		u, err := getUser(ctx, tx, in.UserID)
		if err != nil {
			return nil, errs.Invalid("user_id %q is not an existing user", in.UserID)
		}
		g.UserID, holder = u.ID, u.Email
	}
	if g.ScopeKind == access.ScopeOrgUnit {
		ou, err := getOrgUnit(ctx, tx, g.ScopeID)
		if err != nil {
			return nil, errs.Invalid("scope_id %q is not an existing org unit", g.ScopeID)
		}
		g.scopePath = ou.Path
		g.ScopeName = fmt.Sprintf("%s (%s)", ou.Name, strings.ReplaceAll(string(ou.Kind), "_", " "))
	}
	if g.ScopeKind == access.ScopeService {
		// Services belong to the portfolio; a grant may only name one that exists.
		var name string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM services WHERE id = $1`, g.ScopeID).Scan(&name); err != nil {
			return nil, errs.Invalid("scope_id %q is not an existing service; find service IDs in the portfolio", g.ScopeID)
		}
		g.ScopeName = name + " (service)"
	}
	if err := p.Require(access.GrantManage, g.resource()); err != nil {
		return nil, err
	}
	table, holderID := "grants (id, user_id", g.UserID
	if g.GroupID != "" {
		table, holderID = "group_grants (id, group_id", g.GroupID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO `+table+`, role, scope_kind, scope_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		g.ID, holderID, g.Role, g.ScopeKind, g.ScopeID, g.CreatedAt)
	if err != nil {
		if errs.Is(sqldb.Err(err, "grant"), errs.CodeConflict) {
			return nil, errs.Conflict("%s already holds the role %s on this scope", holder, g.Role)
		}
		return nil, sqldb.Err(err, "grant")
	}
	return g, s.audit(ctx, tx, p, audit.Entry{Action: "grant.create", ObjectType: "grant", ObjectID: g.ID, After: g})
}

// DeleteGrant takes a role away from a user or a group. Callers need
// grant.manage on the grant's scope. The last global admin grant given to a
// user cannot be removed, so that someone can always administer Steward
// (admins through a group do not count: an identity provider may empty it).
func (s *Service) DeleteGrant(ctx context.Context, p *access.Principal, id string) error {
	defer s.tokens.forget() // the change reaches cached tokens once it is made
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if !sqldb.ValidID(id) {
			return errs.NotFound("grant %q not found", id)
		}
		g, err := scanGrant(tx.QueryRowContext(ctx, `SELECT `+grantColumns+grantFrom+` WHERE g.id = $1`, id))
		table := "grants"
		if errors.Is(err, sql.ErrNoRows) {
			g, err = scanGroupGrant(tx.QueryRowContext(ctx, `SELECT `+groupGrantColumns+groupGrantFrom+` WHERE g.id = $1`, id))
			table = "group_grants"
		}
		if err != nil {
			return sqldb.Err(err, "grant")
		}
		if err := p.Require(access.GrantManage, g.resource()); err != nil {
			return err
		}
		if g.Role == access.RoleAdmin && g.ScopeKind == access.ScopeGlobal && g.GroupID == "" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM grants g JOIN users u ON u.id = g.user_id
				WHERE g.role = 'admin' AND g.scope_kind = 'global' AND NOT u.disabled`).Scan(&n); err != nil {
				return sqldb.Err(err, "grant")
			}
			if n <= 1 {
				return errs.Conflict("this is the last global admin grant; grant admin to someone else first")
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = $1`, id); err != nil {
			return sqldb.Err(err, "grant")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "grant.delete", ObjectType: "grant", ObjectID: id, Before: g})
	})
}

// loadPrincipal builds the principal of a user with the user's grants,
// keeping only the given roles when roles is not empty (API tokens).
func loadPrincipal(ctx context.Context, q sqldb.Querier, u *User, roles []access.Role) (*access.Principal, error) {
	grants, err := userGrants(ctx, q, u.ID)
	if err != nil {
		return nil, err
	}
	p := &access.Principal{UserID: u.ID, Name: u.Name, Email: u.Email, OrgUnitID: u.OrgUnitID, OrgUnitPath: u.orgUnitPath}
	if len(roles) > 0 {
		p.TokenRoles = slices.Clone(roles)
	}
	for _, g := range grants {
		if len(roles) > 0 && !containsRole(roles, g.Role) {
			continue
		}
		p.Grants = append(p.Grants, access.Grant{Role: g.Role, ScopeKind: g.ScopeKind, ScopeID: g.ScopeID, OrgUnitPath: g.scopePath})
	}
	return p, nil
}

func containsRole(roles []access.Role, r access.Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// CreateAdmin creates a user with a global admin grant in one transaction:
// the bootstrap of a new installation (`steward admin create-admin`).
// Callers need user.manage and grant.manage globally (the system principal has them).
func (s *Service) CreateAdmin(ctx context.Context, p *access.Principal, in CreateUserInput) (*User, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.Password == "" {
		return nil, errs.Invalid("an admin needs a password to sign in")
	}
	var out *User
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		u, err := s.createUser(ctx, tx, p, in)
		if err != nil {
			return err
		}
		out = u
		_, err = s.createGrant(ctx, tx, p, CreateGrantInput{UserID: u.ID, Role: access.RoleAdmin, ScopeKind: access.ScopeGlobal})
		return err
	})
	return out, err
}

// Principal returns the principal of a user as the user acts with all their
// grants. The CLI and jobs use it to act on a user's behalf.
func (s *Service) Principal(ctx context.Context, userID string) (*access.Principal, error) {
	u, err := getUser(ctx, s.db.Read(), userID)
	if err != nil {
		return nil, err
	}
	return loadPrincipal(ctx, s.db.Read(), u, nil)
}

// UserByEmail returns a user by email, for the CLI (as the system principal)
// and for callers with user.read on the user.
func (s *Service) UserByEmail(ctx context.Context, p *access.Principal, email string) (*User, error) {
	email = normalizeEmail(email)
	u, err := scanUser(s.db.Read().QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.email = $1`, email))
	if errs.Is(sqldb.Err(err, "user"), errs.CodeNotFound) || (err == nil && !canReadUser(p, u)) {
		return nil, errs.NotFound("there is no user with the email %s", email)
	}
	if err != nil {
		return nil, sqldb.Err(err, "user")
	}
	return u, nil
}
