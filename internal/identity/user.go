package identity

import (
	"context"
	"database/sql"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// User is a person who signs in to Steward.
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	// OrgUnitID is the user's home org unit; empty for IT staff who belong
	// to the provider rather than a customer unit.
	OrgUnitID   string `json:"org_unit_id,omitempty"`
	Disabled    bool   `json:"disabled"`
	HasPassword bool   `json:"has_password"`
	// Machine users (an OSB platform's) never sign in to the portal: they
	// have no password and none can be set.
	Machine     bool       `json:"machine,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	LastLoginAt *time.Time `json:"last_login_at,omitempty"`

	orgUnitPath string
}

// Resource is the user as an access resource: it belongs to its home org unit.
func (u *User) Resource() access.Resource { return access.InOrgUnit(u.orgUnitPath) }

// CreateUserInput is a new user. Password may be empty for a user who will
// be given one later (or sign in through a future identity provider).
type CreateUserInput struct {
	Email     string `json:"email"`
	Name      string `json:"name"`
	OrgUnitID string `json:"org_unit_id"`
	Password  string `json:"password"`
	// Machine makes a machine user, which may have no password (for the
	// broker's platforms; not offered through the API).
	Machine bool `json:"-"`
}

// Validate checks the input's fields and normalises the email.
func (in *CreateUserInput) Validate() error {
	in.Email = normalizeEmail(in.Email)
	in.Name = strings.TrimSpace(in.Name)
	var v errs.Validator
	validateEmail(&v, in.Email)
	v.Check(in.Name != "" && len(in.Name) <= 200, "name", "length", "name is required and must be at most 200 characters")
	v.Check(in.OrgUnitID == "" || sqldb.ValidID(in.OrgUnitID), "org_unit_id", "format", "org_unit_id must be an org unit ID")
	if in.Password != "" {
		validatePassword(&v, "password", in.Password)
	}
	v.Check(!in.Machine || in.Password == "", "password", "machine", "a machine user has no password")
	return v.Err("the user is not valid")
}

func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func validateEmail(v *errs.Validator, email string) {
	a, err := mail.ParseAddress(email)
	v.Check(err == nil && a.Address == email && len(email) <= 254, "email", "format", "email must be a plain address such as ana@example.com")
}

// UpdateUserInput changes a user; nil fields stay as they are.
type UpdateUserInput struct {
	Name      *string `json:"name"`
	OrgUnitID *string `json:"org_unit_id"`
	Disabled  *bool   `json:"disabled"`
	Password  *string `json:"password"`
}

const userColumns = `u.id, u.email, u.name, COALESCE(u.org_unit_id, ''), COALESCE(ou.path, ''), u.disabled,
	u.password_hash IS NOT NULL, u.machine, u.created_at, u.updated_at, u.last_login_at`

const userFrom = ` FROM users u LEFT JOIN org_units ou ON ou.id = u.org_unit_id`

func scanUser(row sqldb.Scanner) (*User, error) {
	var u User
	var last sql.NullTime
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.OrgUnitID, &u.orgUnitPath, &u.Disabled, &u.HasPassword,
		&u.Machine, &u.CreatedAt, &u.UpdatedAt, &last); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC(), sqldb.TimePtr(last)
	return &u, nil
}

func getUser(ctx context.Context, q sqldb.Querier, id string) (*User, error) {
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("user %q not found", id)
	}
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.id = $1`, id))
	if err != nil {
		return nil, sqldb.Err(err, "user")
	}
	return u, nil
}

// canReadUser: users always see themselves; others need user.read on the
// user's org unit (provider staff without one need it globally).
func canReadUser(p *access.Principal, u *User) bool {
	return p != nil && (p.UserID == u.ID || p.Can(access.UserRead, u.Resource()))
}

// User returns one user. Callers see themselves, and others where they hold
// user.read; anything else is not found.
func (s *Service) User(ctx context.Context, p *access.Principal, id string) (*User, error) {
	u, err := getUser(ctx, s.db.Read(), id)
	if err != nil {
		return nil, err
	}
	if !canReadUser(p, u) {
		return nil, errs.NotFound("user %q not found", id)
	}
	return u, nil
}

// UserFilter narrows a user listing.
type UserFilter struct {
	OrgUnitID string // only this org unit's users (not its subtree)
	Query     string // case-insensitive match on name or email
	Page      sqldb.Page
}

// userOrder is the order of user lists: by ID, which is the order of creation.
var userOrder = sqldb.Order{Name: "users", Columns: []string{"u.id"}}

// Users lists the users the caller may read, oldest first, a page at a time.
func (s *Service) Users(ctx context.Context, p *access.Principal, f UserFilter) (sqldb.Paged[*User], error) {
	if p == nil {
		return sqldb.Paged[*User]{}, access.Forbidden(access.UserRead)
	}
	where, scopeArgs := scopeWhere(p, access.UserRead, "ou.path", []any{p.UserID})
	args := sqldb.Args(scopeArgs)
	if all, _ := p.OrgUnitScope(access.UserRead); !all {
		where = "(" + where + " OR u.id = $1)"
	} else {
		where = "(" + where + " OR u.id = $1 OR u.org_unit_id IS NULL)"
	}
	if f.OrgUnitID != "" {
		where += " AND u.org_unit_id = " + args.Add(f.OrgUnitID)
	}
	if q := strings.ToLower(strings.TrimSpace(f.Query)); q != "" {
		like := args.Add("%" + q + "%")
		where += " AND (LOWER(u.name) LIKE " + like + " OR u.email LIKE " + like + ")"
	}
	var after string
	seek, err := userOrder.Seek(&args, f.Page, &after)
	if err != nil {
		return sqldb.Paged[*User]{}, err
	}
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "users", scanUser, `SELECT `+userColumns+userFrom+` WHERE `+where+
		` AND `+seek+userOrder.By()+userOrder.Limit(&args, f.Page), args...)
	return sqldb.PageOf(rows, f.Page, userOrder, func(u *User) []any { return []any{u.ID} }), err
}

// CreateUser adds a user. Callers need user.manage on the user's org unit
// (globally for a user without one). Returns conflict when the email is taken.
func (s *Service) CreateUser(ctx context.Context, p *access.Principal, in CreateUserInput) (*User, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *User
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		u, err := s.createUser(ctx, tx, p, in)
		out = u
		return err
	})
	return out, err
}

// CreateUserWith adds a user and their grants in the caller's transaction,
// so another domain's record of the user (a platform, say) and the user
// commit or roll back together. The rules are CreateUser's and
// CreateGrant's; each grant's UserID is set to the new user.
func (s *Service) CreateUserWith(ctx context.Context, tx *sqldb.Tx, p *access.Principal, in CreateUserInput, grants ...CreateGrantInput) (*User, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	u, err := s.createUser(ctx, tx, p, in)
	if err != nil {
		return nil, err
	}
	if len(grants) > 0 {
		defer s.tokens.forget()
	}
	for _, g := range grants {
		g.UserID = u.ID
		if err := g.Validate(); err != nil {
			return nil, err
		}
		if _, err := s.createGrant(ctx, tx, p, g); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func (s *Service) createUser(ctx context.Context, tx *sqldb.Tx, p *access.Principal, in CreateUserInput) (*User, error) {
	now := sqldb.Time(s.now())
	u := &User{ID: sqldb.NewID(), Email: in.Email, Name: in.Name, OrgUnitID: in.OrgUnitID, CreatedAt: now, UpdatedAt: now}
	if in.OrgUnitID != "" {
		ou, err := getOrgUnit(ctx, tx, in.OrgUnitID)
		if err != nil {
			return nil, errs.Invalid("org_unit_id %q is not an existing org unit", in.OrgUnitID)
		}
		u.orgUnitPath = ou.Path
	}
	if err := p.Require(access.UserManage, u.Resource()); err != nil {
		return nil, err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE email = $1`, u.Email).Scan(&n); err != nil {
		return nil, sqldb.Err(err, "user")
	}
	if n > 0 {
		return nil, &errs.Error{Code: errs.CodeConflict, Message: fmt.Sprintf("a user with email %s already exists", u.Email),
			Fields: []errs.FieldError{{Field: "email", Rule: "unique", Message: "email is already in use"}}}
	}
	var hash sql.NullString
	if in.Password != "" {
		hash = sql.NullString{String: hashPassword(in.Password, s.opts.Argon2), Valid: true}
		u.HasPassword = true
	}
	u.Machine = in.Machine
	_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, org_unit_id, password_hash, disabled, machine, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.Email, u.Name, nullString(u.OrgUnitID), hash, false, u.Machine, u.CreatedAt, u.UpdatedAt)
	if err != nil {
		return nil, sqldb.Err(err, "user")
	}
	return u, s.audit(ctx, tx, p, audit.Entry{Action: "user.create", ObjectType: "user", ObjectID: u.ID, After: u})
}

// UpdateUser changes a user. Callers need user.manage on the user's org unit
// (and on the new one when moving the user); users may change their own
// name (their own password goes through ChangePassword), though not with an
// API token limited to some roles. Disabling a user,
// or setting their password, ends their sessions.
func (s *Service) UpdateUser(ctx context.Context, p *access.Principal, id string, in UpdateUserInput) (*User, error) {
	defer s.tokens.forget() // the change reaches cached tokens once it is made
	var out *User
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		before, err := getUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if !canReadUser(p, before) {
			return errs.NotFound("user %q not found", id)
		}
		self := p.UserID == id && in.OrgUnitID == nil && in.Disabled == nil && in.Password == nil
		if self && p.Limited() {
			return errLimitedToken("change its owner")
		}
		if !self {
			if err := p.Require(access.UserManage, before.Resource()); err != nil {
				return err
			}
		}
		u := *before
		var v errs.Validator
		if in.Name != nil {
			u.Name = strings.TrimSpace(*in.Name)
			v.Check(u.Name != "" && len(u.Name) <= 200, "name", "length", "name is required and must be at most 200 characters")
		}
		if in.Password != nil {
			validatePassword(&v, "password", *in.Password)
			v.Check(!before.Machine, "password", "machine", "a machine user (an OSB platform's) never signs in to the portal and has no password")
		}
		if in.OrgUnitID != nil && *in.OrgUnitID != before.OrgUnitID {
			u.OrgUnitID, u.orgUnitPath = *in.OrgUnitID, ""
			if u.OrgUnitID != "" {
				ou, err := getOrgUnit(ctx, tx, u.OrgUnitID)
				if err != nil {
					v.Add("org_unit_id", "exists", "org_unit_id must be an existing org unit")
				} else {
					u.orgUnitPath = ou.Path
				}
			}
		}
		if err := v.Err("the user is not valid"); err != nil {
			return err
		}
		if u.orgUnitPath != before.orgUnitPath {
			if err := p.Require(access.UserManage, u.Resource()); err != nil {
				return err
			}
		}
		if in.Disabled != nil {
			u.Disabled = *in.Disabled
		}
		u.UpdatedAt = sqldb.Time(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE users SET name = $1, org_unit_id = $2, disabled = $3, updated_at = $4 WHERE id = $5`,
			u.Name, nullString(u.OrgUnitID), u.Disabled, u.UpdatedAt, u.ID); err != nil {
			return sqldb.Err(err, "user")
		}
		action := "user.update"
		if in.Password != nil {
			u.HasPassword = true
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hashPassword(*in.Password, s.opts.Argon2), u.ID); err != nil {
				return sqldb.Err(err, "user")
			}
			action = "user.password_change"
		}
		if u.Disabled || in.Password != nil {
			// A disabled user, or one whose password changed, starts over.
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID); err != nil {
				return sqldb.Err(err, "session")
			}
		}
		out = &u
		return s.audit(ctx, tx, p, audit.Entry{Action: action, ObjectType: "user", ObjectID: u.ID, Before: before, After: u})
	})
	return out, err
}

// ChangePassword sets the caller's own password after checking the current
// one. A wrong current password is invalid (and counts as a failed sign-in
// for throttling). The caller's other sessions end; keep names the session
// to keep, by its secret, or "" for none.
func (s *Service) ChangePassword(ctx context.Context, p *access.Principal, current, next, keep string) error {
	if p == nil || p.IsSystem() {
		return errs.Unauthenticated("sign in to change your password")
	}
	if p.Limited() {
		return errLimitedToken("change its owner's password")
	}
	var v errs.Validator
	validatePassword(&v, "new_password", next)
	if err := v.Err("the new password is not valid"); err != nil {
		return err
	}
	now := s.now()
	if err := s.checkOwnPassword(ctx, p, current, "current_password"); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`,
			hashPassword(next, s.opts.Argon2), sqldb.Time(now), p.UserID); err != nil {
			return sqldb.Err(err, "user")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, p.UserID, hashSecret(keep)); err != nil {
			return sqldb.Err(err, "session")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "user.password_change", ObjectType: "user", ObjectID: p.UserID})
	})
}

// checkOwnPassword checks the caller's current password before a change
// that needs it, counted as a sign-in attempt for throttling. A wrong one
// is invalid, naming field.
func (s *Service) checkOwnPassword(ctx context.Context, p *access.Principal, password, field string) error {
	if err := s.BeginSignIn(ctx, normalizeEmail(p.Email), "change-password:"+p.UserID); err != nil {
		return err
	}
	var hash string
	if err := s.db.Read().QueryRowContext(ctx, `SELECT COALESCE(password_hash, '') FROM users WHERE id = $1`, p.UserID).Scan(&hash); err != nil {
		return sqldb.Err(err, "user")
	}
	if hash == "" || !checkPassword(password, hash) {
		return &errs.Error{Code: errs.CodeInvalid, Message: "the current password is not correct",
			Fields: []errs.FieldError{{Field: field, Rule: "match", Message: "enter your current password"}}}
	}
	return s.SignedIn(ctx, normalizeEmail(p.Email), "change-password:"+p.UserID)
}
