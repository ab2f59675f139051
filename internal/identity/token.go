package identity

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TokenPrefix starts every API token, so that secret scanners can find leaked ones.
const TokenPrefix = "stw_"

// MaxTokenLifetime is the longest an API token may live.
const MaxTokenLifetime = 366 * 24 * time.Hour

// Token is an API token as listed: never its secret.
type Token struct {
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	// Prefix is the first characters of the secret, to recognise it.
	Prefix string `json:"prefix"`
	// Roles limits the token to some of the user's roles; empty means all.
	Roles      []access.Role `json:"roles"`
	CreatedAt  time.Time     `json:"created_at"`
	ExpiresAt  time.Time     `json:"expires_at"`
	LastUsedAt *time.Time    `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time    `json:"revoked_at,omitempty"`
}

// NewToken is a token just created: the only time its secret is seen.
type NewToken struct {
	Token
	Secret string `json:"secret"`
}

// CreateTokenInput asks for a token.
type CreateTokenInput struct {
	// UserID is the token's owner; empty means the caller.
	UserID string        `json:"user_id"`
	Name   string        `json:"name"`
	Roles  []access.Role `json:"roles"`
	// ExpiresAt must be in the future and within MaxTokenLifetime.
	ExpiresAt time.Time `json:"expires_at"`
}

func (in *CreateTokenInput) validate(now time.Time) error {
	in.Name = strings.TrimSpace(in.Name)
	var v errs.Validator
	v.Check(in.Name != "" && len(in.Name) <= 100, "name", "length", "name is required and must be at most 100 characters; say what the token is for")
	v.Check(in.ExpiresAt.After(now) && in.ExpiresAt.Sub(now) <= MaxTokenLifetime, "expires_at", "range",
		"expires_at must be in the future and at most 366 days away")
	for _, r := range in.Roles {
		v.Check(r.Valid(), "roles", "enum", "roles must be role names such as consumer or admin: unknown role "+string(r))
	}
	return v.Err("the token is not valid")
}

const tokenColumns = `id, user_id, name, prefix, roles, created_at, expires_at, last_used_at, revoked_at`

func scanToken(row sqldb.Scanner) (*Token, error) {
	var t Token
	var roles string
	var used, revoked sql.NullTime
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &roles, &t.CreatedAt, &t.ExpiresAt, &used, &revoked); err != nil {
		return nil, err
	}
	t.Roles = []access.Role{}
	for _, r := range strings.Split(roles, ",") {
		if r != "" {
			t.Roles = append(t.Roles, access.Role(r))
		}
	}
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	t.LastUsedAt, t.RevokedAt = sqldb.TimePtr(used), sqldb.TimePtr(revoked)
	return &t, nil
}

// CreateToken makes an API token and returns its secret, once. Anyone may
// make tokens for themselves, limited to roles they hold; making one for
// another user needs user.manage on that user. A token limited to some
// roles may make no tokens at all (returns forbidden), and a token made
// with a full token expires no later than it (invalid): a token is never a
// way to widen, or outlive, the token it was made with. A token's principal
// has the owner's grants of its roles at the time of each request.
func (s *Service) CreateToken(ctx context.Context, p *access.Principal, in CreateTokenInput) (*NewToken, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to create a token")
	}
	if p.Limited() {
		return nil, errLimitedToken("create tokens")
	}
	now := s.now()
	if in.UserID == "" {
		in.UserID = p.UserID
	}
	if err := in.validate(now); err != nil {
		return nil, err
	}
	var out *NewToken
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		u, err := getUser(ctx, tx, in.UserID)
		if err != nil {
			return err
		}
		if u.ID != p.UserID {
			if !canReadUser(p, u) {
				return errs.NotFound("user %q not found", in.UserID)
			}
			if err := p.Require(access.UserManage, u.Resource()); err != nil {
				return err
			}
		}
		if p.TokenID != "" {
			// A token made with a token dies with it at the latest: a
			// stolen token cannot outlive its own expiry this way.
			var parent time.Time
			if err := tx.QueryRowContext(ctx, `SELECT expires_at FROM api_tokens WHERE id = $1`, p.TokenID).Scan(&parent); err != nil {
				return sqldb.Err(err, "token")
			}
			if in.ExpiresAt.After(parent) {
				return &errs.Error{Code: errs.CodeInvalid, Message: "a token made with a token may not outlive it",
					Fields: []errs.FieldError{{Field: "expires_at", Rule: "range",
						Message: "expires_at must be at most " + parent.UTC().Format(time.RFC3339) + ", when the token you are using expires"}}}
			}
		}
		if u.Machine {
			return errs.Invalid("%s is a machine user (an OSB platform's): it acts with its own credentials and has no API tokens", u.Email)
		}
		owner, err := loadPrincipal(ctx, tx, u, nil)
		if err != nil {
			return err
		}
		var names []string
		for _, r := range in.Roles {
			if !owner.HasRole(r) {
				return &errs.Error{Code: errs.CodeInvalid, Message: "a token can only carry roles its owner holds",
					Fields: []errs.FieldError{{Field: "roles", Rule: "held", Message: u.Email + " does not hold the role " + string(r)}}}
			}
			names = append(names, string(r))
		}
		secret := TokenPrefix + randomToken(32)
		t := &NewToken{Secret: secret, Token: Token{
			ID: sqldb.NewID(), UserID: u.ID, Name: in.Name, Prefix: secret[:12], Roles: append([]access.Role{}, in.Roles...),
			CreatedAt: sqldb.Time(now), ExpiresAt: sqldb.Time(in.ExpiresAt),
		}}
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, user_id, name, prefix, hash, roles, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			t.ID, t.UserID, t.Name, t.Prefix, hashSecret(secret), strings.Join(names, ","), t.CreatedAt, t.ExpiresAt); err != nil {
			return sqldb.Err(err, "token")
		}
		out = t
		return s.audit(ctx, tx, p, audit.Entry{Action: "token.create", ObjectType: "token", ObjectID: t.ID, After: t.Token})
	})
	return out, err
}

// Tokens lists a user's tokens, newest first. Users list their own (not
// with a token limited to some roles); others need user.manage on the user.
func (s *Service) Tokens(ctx context.Context, p *access.Principal, userID string, pg sqldb.Page) (sqldb.Paged[*Token], error) {
	var none sqldb.Paged[*Token]
	if p == nil {
		return none, errs.Unauthenticated("sign in to list tokens")
	}
	if userID == "" {
		userID = p.UserID
	}
	if p.Limited() {
		return none, errLimitedToken("list tokens")
	}
	if userID != p.UserID {
		u, err := s.User(ctx, p, userID)
		if err != nil {
			return none, err
		}
		if err := p.Require(access.UserManage, u.Resource()); err != nil {
			return none, err
		}
	}
	args := sqldb.Args{userID}
	var before string
	seek, err := tokenOrder.Seek(&args, pg, &before)
	if err != nil {
		return none, err
	}
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "tokens", scanToken, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = $1 AND `+seek+tokenOrder.By()+tokenOrder.Limit(&args, pg), args...)
	return sqldb.PageOf(rows, pg, tokenOrder, func(t *Token) []any { return []any{t.ID} }), err
}

// tokenOrder lists a user's tokens newest first.
var tokenOrder = sqldb.Order{Name: "tokens", Columns: []string{"id"}, Desc: true}

// RevokeToken ends a token at once. Owners revoke their own; others need
// user.manage on the owner. A token limited to some roles may revoke only
// itself. Revoking twice is not an error.
func (s *Service) RevokeToken(ctx context.Context, p *access.Principal, id string) (*Token, error) {
	defer s.tokens.forget() // the change reaches cached tokens once it is made
	if p == nil {
		return nil, errs.Unauthenticated("sign in to revoke a token")
	}
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("token %q not found", id)
	}
	var out *Token
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		before, err := scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1`, id))
		if err != nil {
			return sqldb.Err(err, "token")
		}
		if p.Limited() && before.ID != p.TokenID {
			return errLimitedToken("revoke other tokens")
		}
		if before.UserID != p.UserID {
			u, err := getUser(ctx, tx, before.UserID)
			if err != nil {
				return err
			}
			if !canReadUser(p, u) {
				return errs.NotFound("token %q not found", id)
			}
			if err := p.Require(access.UserManage, u.Resource()); err != nil {
				return err
			}
		}
		t := *before
		if t.RevokedAt != nil {
			out = &t
			return nil
		}
		now := sqldb.Time(s.now())
		t.RevokedAt = &now
		if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2`, now, id); err != nil {
			return sqldb.Err(err, "token")
		}
		out = &t
		return s.audit(ctx, tx, p, audit.Entry{Action: "token.revoke", ObjectType: "token", ObjectID: id, Before: before, After: t})
	})
	return out, err
}

var errBadToken = errs.Unauthenticated("the API token is not valid, has expired or was revoked; create a new one")

// errLimitedToken refuses a token limited to some roles what only its
// owner, signed in or with a full token, may do.
func errLimitedToken(what string) error {
	return errs.Forbidden("an API token limited to some roles may not %s; sign in, or use a token with all your roles", what)
}

// TokenPrincipal authenticates an API token and returns its principal.
func (s *Service) TokenPrincipal(ctx context.Context, secret string) (*access.Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 100 {
		return nil, errBadToken
	}
	hash := hashSecret(secret)
	gen := s.tokens.generation()
	if p := s.tokens.get(hash, s.now()); p != nil {
		return p, nil
	}
	t, err := scanToken(s.db.Read().QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, sqldb.Err(err, "token")
	}
	now := s.now()
	if t.RevokedAt != nil || !now.Before(t.ExpiresAt) {
		return nil, errBadToken
	}
	u, err := getUser(ctx, s.db.Read(), t.UserID)
	if err != nil || u.Disabled || u.Machine { // machine users act only through their own credentials
		return nil, errBadToken
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		if err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, sqldb.Time(now), t.ID)
			return sqldb.Err(err, "token")
		}); err != nil {
			return nil, err
		}
	}
	p, err := loadPrincipal(ctx, s.db.Read(), u, t.Roles)
	if err != nil {
		return nil, err
	}
	if p.Limited() && len(p.Grants) == 0 {
		// Every role the token was limited to has been taken from its owner:
		// what is left is no token at all (an empty list would mean all roles).
		return nil, errBadToken
	}
	p.TokenID = t.ID
	s.tokens.put(hash, p, now, t.ExpiresAt, gen)
	return p, nil
}

// tokenCache keeps recently authenticated API tokens' principals for a
// few seconds: a metering agent sending thousands of requests a second
// does not read its token, user and grants each time.
type tokenCache struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]cachedToken
	// gen counts forgets: a principal read before a change committed is
	// not kept after the change's forget (put checks the generation its
	// reader started in).
	gen uint64
}

// generation is the cache's generation, read before reading a token.
func (c *tokenCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

type cachedToken struct {
	p     *access.Principal
	until time.Time
}

func (c *tokenCache) get(hash string, now time.Time) *access.Principal {
	if c.ttl < 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || !now.Before(e.until) {
		return nil
	}
	p := *e.p // callers get their own copy; the grants are never changed
	return &p
}

func (c *tokenCache) put(hash string, p *access.Principal, now, expires time.Time, gen uint64) {
	if c.ttl < 0 {
		return
	}
	until := now.Add(c.ttl)
	if expires.Before(until) {
		until = expires
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return // something changed while the token was read: read it again next time
	}
	if len(c.m) > 10000 { // many distinct tokens: start again rather than grow
		clear(c.m)
	}
	cp := *p
	c.m[hash] = cachedToken{p: &cp, until: until}
}

// forget drops every cached token: after a change to tokens, users, grants
// or org units, the next request reads them again.
func (c *tokenCache) forget() {
	c.mu.Lock()
	clear(c.m)
	c.gen++
	c.mu.Unlock()
}
