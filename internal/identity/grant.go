package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Grant gives a user a role on a scope.
type Grant struct {
	ID        string           `json:"id"`
	UserID    string           `json:"user_id"`
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

// CreateGrantInput gives a role.
type CreateGrantInput struct {
	UserID    string           `json:"user_id"`
	Role      access.Role      `json:"role"`
	ScopeKind access.ScopeKind `json:"scope_kind"`
	ScopeID   string           `json:"scope_id"`
}

// Validate checks the input's fields.
func (in *CreateGrantInput) Validate() error {
	var v errs.Validator
	v.Check(sqldb.ValidID(in.UserID), "user_id", "format", "user_id must be a user ID")
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

func scanGrant(row sqldb.Scanner) (*Grant, error) {
	var g Grant
	var ouName, ouKind string
	if err := row.Scan(&g.ID, &g.UserID, &g.Role, &g.ScopeKind, &g.ScopeID, &g.CreatedAt, &g.scopePath, &ouName, &ouKind); err != nil {
		return nil, err
	}
	g.CreatedAt = g.CreatedAt.UTC()
	switch g.ScopeKind {
	case access.ScopeGlobal:
		g.ScopeName = "the whole provider"
	case access.ScopeOrgUnit:
		g.ScopeName = fmt.Sprintf("%s (%s)", ouName, strings.ReplaceAll(string(ouKind), "_", " "))
	case access.ScopeService:
		g.ScopeName = ouName + " (service)"
	}
	return &g, nil
}

func userGrants(ctx context.Context, q sqldb.Querier, userID string) ([]*Grant, error) {
	return sqldb.QueryAll(ctx, q, "grants", scanGrant, `SELECT `+grantColumns+grantFrom+` WHERE g.user_id = $1 ORDER BY g.id`, userID)
}

// Grants lists a user's grants. Callers who may read the user may list them.
func (s *Service) Grants(ctx context.Context, p *access.Principal, userID string) ([]*Grant, error) {
	if _, err := s.User(ctx, p, userID); err != nil {
		return nil, err
	}
	return userGrants(ctx, s.db.Read(), userID)
}

// CreateGrant gives a user a role on a scope. Callers need grant.manage on
// the scope (globally for a global grant). Granting what the user already
// holds is a conflict.
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
	u, err := getUser(ctx, tx, in.UserID)
	if err != nil {
		return nil, errs.Invalid("user_id %q is not an existing user", in.UserID)
	}
	g := &Grant{ID: sqldb.NewID(), UserID: u.ID, Role: in.Role, ScopeKind: in.ScopeKind, ScopeID: in.ScopeID, CreatedAt: sqldb.Time(s.now())}
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
	_, err = tx.ExecContext(ctx, `INSERT INTO grants (id, user_id, role, scope_kind, scope_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		g.ID, g.UserID, g.Role, g.ScopeKind, g.ScopeID, g.CreatedAt)
	if err != nil {
		if errs.Is(sqldb.Err(err, "grant"), errs.CodeConflict) {
			return nil, errs.Conflict("%s already holds the role %s on this scope", u.Email, g.Role)
		}
		return nil, sqldb.Err(err, "grant")
	}
	return g, s.audit(ctx, tx, p, audit.Entry{Action: "grant.create", ObjectType: "grant", ObjectID: g.ID, After: g})
}

// DeleteGrant takes a role away. Callers need grant.manage on the grant's
// scope. The last global admin grant cannot be removed, so that someone can
// always administer Steward.
func (s *Service) DeleteGrant(ctx context.Context, p *access.Principal, id string) error {
	defer s.tokens.forget() // the change reaches cached tokens once it is made
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if !sqldb.ValidID(id) {
			return errs.NotFound("grant %q not found", id)
		}
		g, err := scanGrant(tx.QueryRowContext(ctx, `SELECT `+grantColumns+grantFrom+` WHERE g.id = $1`, id))
		if err != nil {
			return sqldb.Err(err, "grant")
		}
		if err := p.Require(access.GrantManage, g.resource()); err != nil {
			return err
		}
		if g.Role == access.RoleAdmin && g.ScopeKind == access.ScopeGlobal {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM grants g JOIN users u ON u.id = g.user_id
				WHERE g.role = 'admin' AND g.scope_kind = 'global' AND NOT u.disabled`).Scan(&n); err != nil {
				return sqldb.Err(err, "grant")
			}
			if n <= 1 {
				return errs.Conflict("this is the last global admin grant; grant admin to someone else first")
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM grants WHERE id = $1`, id); err != nil {
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
