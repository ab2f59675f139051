package identity

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// ExternalSignIn is a person an identity provider vouched for (single
// sign-on), with what the provider's mapping rules made of their claims.
type ExternalSignIn struct {
	// ProviderID and Subject identify the person at the identity provider
	// (the ID token's iss, through the provider, and sub).
	ProviderID, Subject string
	// ProviderCode names the provider in the audit log.
	ProviderCode string
	Email        string
	// EmailVerified says the provider checked the email: only then may a
	// first sign-in take over an existing Steward user with that email.
	EmailVerified bool
	Name          string
	// OrgUnitID is the home org unit the rules give; empty leaves it as it is.
	OrgUnitID string
	// Grants are the roles the rules give now. Grants the provider's rules
	// gave before and no longer give are taken back; grants given by hand
	// are left alone.
	Grants []RuleGrant
}

// RuleGrant is a role on a scope that a mapping rule gives.
type RuleGrant struct {
	Role      access.Role      `json:"role"`
	ScopeKind access.ScopeKind `json:"scope_kind"`
	ScopeID   string           `json:"scope_id,omitempty"`
}

func (g RuleGrant) key() string { return string(g.Role) + "|" + string(g.ScopeKind) + "|" + g.ScopeID }

// Validate checks a rule's grant as CreateGrantInput does, naming fields
// under prefix.
func (g RuleGrant) Validate(v *errs.Validator, prefix string) {
	v.Check(g.Role.Valid(), prefix+".role", "enum", "role must be one of the roles listed at GET /api/v1/roles")
	if v.Check(g.ScopeKind.Valid(), prefix+".scope_kind", "enum", "scope_kind must be global, org_unit or service") {
		if g.ScopeKind == access.ScopeGlobal {
			v.Check(g.ScopeID == "", prefix+".scope_id", "empty", "a global grant has no scope_id")
		} else {
			v.Check(sqldb.ValidID(g.ScopeID), prefix+".scope_id", "format", "scope_id must be the ID of the org unit or service")
		}
	}
}

// ScopeExists reports whether a rule's grant names an org unit or service
// that exists (a global grant always does).
func (s *Service) ScopeExists(ctx context.Context, g RuleGrant) (bool, error) {
	return scopeExists(ctx, s.db.Read(), g)
}

func scopeExists(ctx context.Context, q sqldb.Querier, g RuleGrant) (bool, error) {
	var table string
	switch g.ScopeKind {
	case access.ScopeGlobal:
		return true, nil
	case access.ScopeOrgUnit:
		table = "org_units"
	case access.ScopeService:
		table = "services"
	default:
		return false, nil
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE id = $1`, g.ScopeID).Scan(&n); err != nil {
		return false, sqldb.Err(err, "scope")
	}
	return n > 0, nil
}

// SignInExternal starts a portal session for a person an identity provider
// vouched for. The first sign-in links the provider's subject to the
// Steward user with the same verified email, or creates the user (just in
// time, without a password); every sign-in then applies the mapping: the
// home org unit when the rules give one, and the rules' grants (added and
// taken back; grants given by hand stay). It all happens in one
// transaction with its audit records. Returns unauthenticated for a
// disabled or machine user, and conflict when an unverified email is
// already a Steward user's.
func (s *Service) SignInExternal(ctx context.Context, in ExternalSignIn) (*Session, *User, error) {
	defer s.tokens.forget() // grants may change
	in.Email = normalizeEmail(in.Email)
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		in.Name = in.Email
	}
	// A provider's name claim is not a form's: keep what both databases
	// store as text (valid UTF-8, no NUL), at most 200 bytes of whole
	// characters, as a user's name is.
	in.Name = strings.ReplaceAll(strings.ToValidUTF8(in.Name, ""), "\x00", "")
	for len(in.Name) > 200 {
		_, size := utf8.DecodeLastRuneInString(in.Name)
		in.Name = in.Name[:len(in.Name)-size]
	}
	now := sqldb.Time(s.now())
	sess := &Session{Secret: randomToken(32), CSRFToken: randomToken(32), ExpiresAt: sqldb.Time(now.Add(s.opts.SessionTTL))}
	var out *User
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		u, actor, err := s.externalUser(ctx, tx, in)
		if err != nil {
			return err
		}
		if u.Disabled || u.Machine {
			return errs.Unauthenticated("your Steward account is disabled; ask an administrator")
		}
		if in.OrgUnitID != "" && in.OrgUnitID != u.OrgUnitID {
			ou, err := getOrgUnit(ctx, tx, in.OrgUnitID)
			if err == nil {
				before := *u
				u.OrgUnitID, u.orgUnitPath, u.UpdatedAt = ou.ID, ou.Path, now
				if _, err := tx.ExecContext(ctx, `UPDATE users SET org_unit_id = $1, updated_at = $2 WHERE id = $3`, u.OrgUnitID, now, u.ID); err != nil {
					return sqldb.Err(err, "user")
				}
				if err := s.audit(ctx, tx, actor, audit.Entry{Action: "user.update", ObjectType: "user", ObjectID: u.ID, Before: before, After: u}); err != nil {
					return err
				}
			}
		}
		if err := s.applyRuleGrants(ctx, tx, actor, u, in); err != nil {
			return err
		}
		sess.UserID = u.ID
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			hashSecret(sess.Secret), u.ID, sess.CSRFToken, now, sess.ExpiresAt, now); err != nil {
			return sqldb.Err(err, "session")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET last_login_at = $1 WHERE id = $2`, now, u.ID); err != nil {
			return sqldb.Err(err, "user")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE external_identities SET last_login_at = $1 WHERE provider_id = $2 AND subject = $3`, now, in.ProviderID, in.Subject); err != nil {
			return sqldb.Err(err, "external identity")
		}
		out = u
		return s.audit(ctx, tx, actor, audit.Entry{Action: "session.login", ObjectType: "user", ObjectID: u.ID, After: map[string]any{"identity_provider": in.ProviderCode}})
	})
	if err != nil {
		return nil, nil, err
	}
	return sess, out, nil
}

// externalUser finds the user of an external identity, links one by
// verified email, or creates one.
func (s *Service) externalUser(ctx context.Context, tx *sqldb.Tx, in ExternalSignIn) (*User, *access.Principal, error) {
	var userID string
	err := tx.QueryRowContext(ctx, `SELECT user_id FROM external_identities WHERE provider_id = $1 AND subject = $2`, in.ProviderID, in.Subject).Scan(&userID)
	if err == nil {
		u, err := getUser(ctx, tx, userID)
		if err != nil {
			return nil, nil, err
		}
		actor := &access.Principal{UserID: u.ID, Name: u.Email}
		return u, actor, s.syncExternalProfile(ctx, tx, actor, u, in)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, sqldb.Err(err, "external identity")
	}
	var v errs.Validator
	validateEmail(&v, in.Email)
	if v.Err("") != nil {
		return nil, nil, errs.Invalid("the identity provider sent no usable email for you (got %q); ask an administrator to add the email scope", in.Email)
	}
	now := sqldb.Time(s.now())
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.email = $1`, in.Email))
	switch {
	case err == nil:
		if !in.EmailVerified {
			return nil, nil, errs.Conflict("a Steward user with the email %s exists, and the identity provider has not verified that this email is yours; ask an administrator", in.Email)
		}
	case errors.Is(err, sql.ErrNoRows):
		u = &User{ID: sqldb.NewID(), Email: in.Email, Name: in.Name, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, org_unit_id, password_hash, disabled, machine, created_at, updated_at)
			VALUES ($1, $2, $3, NULL, NULL, $4, $5, $6, $7)`, u.ID, u.Email, u.Name, false, false, now, now); err != nil {
			return nil, nil, sqldb.Err(err, "user")
		}
		if err := s.audit(ctx, tx, &access.Principal{UserID: u.ID, Name: u.Email}, audit.Entry{Action: "user.create", ObjectType: "user", ObjectID: u.ID, After: u}); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, sqldb.Err(err, "user")
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO external_identities (provider_id, subject, user_id, created_at, last_login_at) VALUES ($1, $2, $3, $4, $5)`,
		in.ProviderID, in.Subject, u.ID, now, now); err != nil {
		return nil, nil, sqldb.Err(err, "external identity")
	}
	actor := &access.Principal{UserID: u.ID, Name: u.Email}
	return u, actor, s.audit(ctx, tx, actor, audit.Entry{Action: "user.link_identity", ObjectType: "user", ObjectID: u.ID, After: map[string]any{"identity_provider": in.ProviderCode, "subject": in.Subject}})
}

// syncExternalProfile keeps a linked person's name, and their email when
// the provider has verified it and no other user has it, as the identity
// provider says at each sign-in: a renamed or re-addressed person is
// renamed in Steward too (and mails go to the new address).
func (s *Service) syncExternalProfile(ctx context.Context, tx *sqldb.Tx, actor *access.Principal, u *User, in ExternalSignIn) error {
	before := *u
	if name := strings.TrimSpace(in.Name); name != "" && name != in.Email { // the email stands in when the provider sends no name
		u.Name = name
	}
	if email := normalizeEmail(in.Email); email != u.Email && in.EmailVerified {
		var v errs.Validator
		validateEmail(&v, email)
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE email = $1`, email).Scan(&taken); err != nil {
			return sqldb.Err(err, "user")
		}
		if v.Err("") == nil && taken == 0 {
			u.Email = email
		}
	}
	if u.Name == before.Name && u.Email == before.Email {
		return nil
	}
	u.UpdatedAt = sqldb.Time(s.now())
	if _, err := tx.ExecContext(ctx, `UPDATE users SET name = $1, email = $2, updated_at = $3 WHERE id = $4`, u.Name, u.Email, u.UpdatedAt, u.ID); err != nil {
		return sqldb.Err(err, "user")
	}
	return s.audit(ctx, tx, actor, audit.Entry{Action: "user.update", ObjectType: "user", ObjectID: u.ID, Before: before, After: u})
}

// applyRuleGrants makes the grants the provider's rules gave the user
// what the rules give now.
func (s *Service) applyRuleGrants(ctx context.Context, tx *sqldb.Tx, actor *access.Principal, u *User, in ExternalSignIn) error {
	have, err := sqldb.QueryAll(ctx, tx, "grants", scanGrant, `SELECT `+grantColumns+grantFrom+`
		JOIN rule_grants rg ON rg.grant_id = g.id WHERE g.user_id = $1 AND rg.provider_id = $2 ORDER BY g.id`, u.ID, in.ProviderID)
	if err != nil {
		return err
	}
	want := map[string]RuleGrant{}
	for _, g := range in.Grants {
		want[g.key()] = g
	}
	for _, g := range have {
		k := RuleGrant{Role: g.Role, ScopeKind: g.ScopeKind, ScopeID: g.ScopeID}.key()
		if _, ok := want[k]; ok {
			delete(want, k) // held already
			continue
		}
		if g.Role == access.RoleAdmin && g.ScopeKind == access.ScopeGlobal {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM grants g JOIN users u ON u.id = g.user_id
				WHERE g.role = 'admin' AND g.scope_kind = 'global' AND NOT u.disabled`).Scan(&n); err != nil {
				return sqldb.Err(err, "grant")
			}
			if n <= 1 {
				continue // the last administrator stays one
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM grants WHERE id = $1`, g.ID); err != nil {
			return sqldb.Err(err, "grant")
		}
		if err := s.audit(ctx, tx, actor, audit.Entry{Action: "grant.delete", ObjectType: "grant", ObjectID: g.ID, Before: g}); err != nil {
			return err
		}
	}
	for _, rg := range in.Grants {
		if _, ok := want[rg.key()]; !ok {
			continue
		}
		delete(want, rg.key())
		if ok, err := scopeExists(ctx, tx, rg); err != nil {
			return err
		} else if !ok {
			continue // the rule names a scope deleted since
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM grants WHERE user_id = $1 AND role = $2 AND scope_kind = $3 AND scope_id = $4`,
			u.ID, rg.Role, rg.ScopeKind, rg.ScopeID).Scan(&n); err != nil {
			return sqldb.Err(err, "grant")
		}
		if n > 0 {
			continue // given by hand (or by another provider): left as it is
		}
		g := &Grant{ID: sqldb.NewID(), UserID: u.ID, Role: rg.Role, ScopeKind: rg.ScopeKind, ScopeID: rg.ScopeID, CreatedAt: sqldb.Time(s.now())}
		if _, err := tx.ExecContext(ctx, `INSERT INTO grants (id, user_id, role, scope_kind, scope_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			g.ID, g.UserID, g.Role, g.ScopeKind, g.ScopeID, g.CreatedAt); err != nil {
			return sqldb.Err(err, "grant")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO rule_grants (grant_id, provider_id) VALUES ($1, $2)`, g.ID, in.ProviderID); err != nil {
			return sqldb.Err(err, "grant")
		}
		if err := s.audit(ctx, tx, actor, audit.Entry{Action: "grant.create", ObjectType: "grant", ObjectID: g.ID, After: g}); err != nil {
			return err
		}
	}
	return nil
}

// RuleGrantIDs lists the IDs of a user's grants that mapping rules gave
// (the portal marks them), for callers who may read the user.
func (s *Service) RuleGrantIDs(ctx context.Context, p *access.Principal, userID string) (map[string]string, error) {
	if _, err := s.User(ctx, p, userID); err != nil {
		return nil, err
	}
	type row struct{ grant, provider string }
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "grants", func(r sqldb.Scanner) (row, error) {
		var x row
		return x, r.Scan(&x.grant, &x.provider)
	}, `SELECT rg.grant_id, ip.code FROM rule_grants rg JOIN grants g ON g.id = rg.grant_id JOIN identity_providers ip ON ip.id = rg.provider_id
		WHERE g.user_id = $1`, userID)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.grant] = r.provider
	}
	return out, nil
}

// DropRuleGrants takes back every grant a provider's rules gave, in tx:
// the provider is being deleted. The caller has checked the principal.
func (s *Service) DropRuleGrants(ctx context.Context, tx *sqldb.Tx, p *access.Principal, providerID string) error {
	defer s.tokens.forget()
	gs, err := sqldb.QueryAll(ctx, tx, "grants", scanGrant, `SELECT `+grantColumns+grantFrom+`
		JOIN rule_grants rg ON rg.grant_id = g.id WHERE rg.provider_id = $1 ORDER BY g.id`, providerID)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if _, err := tx.ExecContext(ctx, `DELETE FROM grants WHERE id = $1`, g.ID); err != nil {
			return sqldb.Err(err, "grant")
		}
		if err := s.audit(ctx, tx, p, audit.Entry{Action: "grant.delete", ObjectType: "grant", ObjectID: g.ID, Before: g}); err != nil {
			return err
		}
	}
	return nil
}
