// Package broker is Steward as an Open Service Broker (API v2.17) under
// /osb: registered platforms (Cloud Foundry, Kubernetes, another Steward)
// list the offerings marked brokered and provision, update, bind, unbind
// and deprovision them. Every request becomes what a person would do in
// the portal: an order through the same approval policies, quotas and
// fulfilment, an instance billed to an org unit, a binding from the
// instance's provider. The platform authenticates with HTTP basic auth; the
// originating identity (or the request's context) picks the org unit,
// within the platform's own.
package broker

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Platform is a registered OSB client. It orders as its own user, which
// holds the consumer role on the platform's org unit.
type Platform struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Username    string    `json:"username"`
	OrgUnitID   string    `json:"org_unit_id"`
	OrgUnitCode string    `json:"org_unit_code"`
	UserID      string    `json:"user_id"`
	CreatedAt   time.Time `json:"created_at"`
	// Password is set only in the answer to registering the platform.
	Password string `json:"password,omitempty"`

	orgUnitPath string
}

// PlatformInput registers a platform.
type PlatformInput struct {
	Name string `json:"name"`
	// OrgUnitID is the org unit the platform orders for (and everything under it).
	OrgUnitID string `json:"org_unit_id"`
}

// Broker is Steward's OSB API.
type Broker struct {
	db        *sqldb.DB
	now       func() time.Time
	identity  *identity.Service
	orders    *orders.Service
	catalog   *catalog.Catalog
	provision *provision.Service
	log       *slog.Logger

	// ClientAddr returns a request's client address (app sets it to the
	// trusted-proxy aware middleware.ClientAddr); nil means the peer's.
	ClientAddr func(*http.Request) string

	mu     sync.Mutex
	cache  map[string]cached // by username
	flight singleflight.Group
}

type cached struct {
	hash      string
	platform  *Platform
	principal *access.Principal
	until     time.Time
}

// cacheTTL bounds how long a platform's credentials and grants are
// trusted without reading them again.
const cacheTTL = 5 * time.Second

// New returns the broker; log receives its internal errors.
func New(db *sqldb.DB, now func() time.Time, id *identity.Service, ord *orders.Service, cat *catalog.Catalog, prov *provision.Service, log *slog.Logger) *Broker {
	return &Broker{db: db, now: now, identity: id, orders: ord, catalog: cat, provision: prov, log: log, cache: map[string]cached{}}
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

const platformColumns = `p.id, p.name, p.username, p.org_unit_id, ou.code, ou.path, p.user_id, p.created_at`
const platformFrom = ` FROM platforms p JOIN org_units ou ON ou.id = p.org_unit_id`

func scanPlatform(row sqldb.Scanner) (*Platform, error) {
	var p Platform
	if err := row.Scan(&p.ID, &p.Name, &p.Username, &p.OrgUnitID, &p.OrgUnitCode, &p.orgUnitPath, &p.UserID, &p.CreatedAt); err != nil {
		return nil, err
	}
	p.CreatedAt = p.CreatedAt.UTC()
	return &p, nil
}

// platformOrder is the order of Platforms: by name (names are unique).
var platformOrder = sqldb.Order{Name: "name", Columns: []string{"p.name"}}

// Platforms lists one page of the registered platforms whose org units the
// caller may manage platforms of, by name; the scope is part of the
// query. Callers need platform.manage somewhere, else forbidden; a cursor
// not of this list is invalid.
func (b *Broker) Platforms(ctx context.Context, p *access.Principal, page sqldb.Page) (sqldb.Paged[*Platform], error) {
	if err := p.RequireAnywhere(access.PlatformManage); err != nil {
		return sqldb.Paged[*Platform]{}, err
	}
	all, paths := p.OrgUnitScope(access.PlatformManage)
	where, scopeArgs := sqldb.PathScope(all, paths, "ou.path", nil)
	args := sqldb.Args(scopeArgs)
	var after string
	seek, err := platformOrder.Seek(&args, page, &after)
	if err != nil {
		return sqldb.Paged[*Platform]{}, err
	}
	pls, err := sqldb.QueryAll(ctx, b.db.Read(), "platforms", scanPlatform, `SELECT `+platformColumns+platformFrom+` WHERE `+where+` AND `+seek+
		platformOrder.By()+platformOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[*Platform]{}, err
	}
	return sqldb.PageOf(pls, page, platformOrder, func(pl *Platform) []any { return []any{pl.Name} }), nil
}

// Register adds a platform: a machine user for it (consumer on its org
// unit, with no portal password) and basic-auth credentials, whose password
// is in this answer only. Callers need platform.manage on the org unit the
// platform orders for; returns invalid for bad input or an unknown org
// unit, forbidden out of the caller's scope, conflict for a taken name.
func (b *Broker) Register(ctx context.Context, p *access.Principal, in PlatformInput) (*Platform, error) {
	if err := p.RequireAnywhere(access.PlatformManage); err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	var v errs.Validator
	v.Check(len(in.Name) >= 2 && len(in.Name) <= 63 && strings.Trim(strings.ToLower(in.Name), "abcdefghijklmnopqrstuvwxyz0123456789-") == "", "name", "format",
		"name must be 2 to 63 letters, digits and hyphens, such as cf-prod")
	v.Check(sqldb.ValidID(in.OrgUnitID), "org_unit_id", "format", "org_unit_id must be the ID of the org unit the platform orders for")
	if err := v.Err("the platform is not valid"); err != nil {
		return nil, err
	}
	name := strings.ToLower(in.Name)
	var ouPath string
	if err := b.db.Read().QueryRowContext(ctx, `SELECT path FROM org_units WHERE id = $1`, in.OrgUnitID).Scan(&ouPath); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.Invalid("org_unit_id %q is not an existing org unit", in.OrgUnitID)
		}
		return nil, sqldb.Err(err, "org unit")
	}
	// A platform acts as a consumer of its org unit: only those who manage
	// platforms there may make one (issue 15: scope on create, not only on read).
	if err := p.Require(access.PlatformManage, access.InOrgUnit(ouPath)); err != nil {
		return nil, err
	}
	raw := make([]byte, 24)
	rand.Read(raw)
	password := base64.RawURLEncoding.EncodeToString(raw)
	// The machine user, its grant and the platform commit together: a
	// failure leaves no user with a consumer grant behind (issue 15).
	id := sqldb.NewID()
	err := b.db.Tx(ctx, func(tx *sqldb.Tx) error {
		u, err := b.identity.CreateUserWith(ctx, tx, access.System(), identity.CreateUserInput{Email: "platform+" + name + "@osb.steward.example", Name: "Platform " + name,
			OrgUnitID: in.OrgUnitID, Machine: true}, identity.CreateGrantInput{Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit, ScopeID: in.OrgUnitID})
		if err != nil {
			if errs.Is(err, errs.CodeConflict) {
				return errs.Conflict("a platform named %s is registered already", name)
			}
			return err
		}
		now := sqldb.Time(b.now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO platforms (id, name, username, password_hash, org_unit_id, user_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, id, name, name, hashSecret(password), in.OrgUnitID, u.ID, now); err != nil {
			if errs.Is(sqldb.Err(err, "platform"), errs.CodeConflict) {
				return errs.Conflict("a platform named %s is registered already", name)
			}
			return sqldb.Err(err, "platform")
		}
		return audit.Write(ctx, tx, p, b.now(), audit.Entry{Action: "platform.register", ObjectType: "platform", ObjectID: id,
			After: map[string]any{"name": name, "org_unit_id": in.OrgUnitID}})
	})
	if err != nil {
		return nil, err
	}
	out, err := scanPlatform(b.db.Read().QueryRowContext(ctx, `SELECT `+platformColumns+platformFrom+` WHERE p.id = $1`, id))
	if err != nil {
		return nil, sqldb.Err(err, "platform")
	}
	out.Password = password
	return out, nil
}

// authenticate checks basic-auth credentials from the client at addr and
// returns the platform and the principal it acts as. Failures count in the
// same sign-in throttle as the portal's (account "osb:" and the username):
// a guesser gets too_many_requests, slowed, not locked out.
func (b *Broker) authenticate(ctx context.Context, username, password, addr string) (*Platform, *access.Principal, error) {
	if len(username) > 63 || len(password) > 256 {
		return nil, nil, errs.Unauthenticated("unknown platform or wrong password")
	}
	h := hashSecret(password)
	b.mu.Lock()
	c, ok := b.cache[username]
	b.mu.Unlock()
	if ok && b.now().Before(c.until) && subtle.ConstantTimeCompare([]byte(c.hash), []byte(h)) == 1 {
		return c.platform, c.principal, nil
	}
	// Concurrent requests with the same credentials from the same address
	// (a platform's parallel calls when the cache has expired) share one
	// sign-in: one attempt counted, not one per request.
	type result struct {
		pl *Platform
		pr *access.Principal
	}
	v, err, _ := b.flight.Do(username+"\x00"+h+"\x00"+addr, func() (any, error) {
		pl, pr, err := b.signIn(ctx, username, h, addr)
		return result{pl, pr}, err
	})
	if err != nil {
		return nil, nil, err
	}
	r := v.(result)
	return r.pl, r.pr, nil
}

// signIn checks a platform's credentials (h is the password's hash) in
// the sign-in throttle and caches the platform and its principal.
func (b *Broker) signIn(ctx context.Context, username, h, addr string) (*Platform, *access.Principal, error) {
	account := "osb:" + username
	if err := b.identity.BeginSignIn(ctx, account, addr); err != nil {
		return nil, nil, err
	}
	var stored string
	pl, err := func() (*Platform, error) {
		row := b.db.Read().QueryRowContext(ctx, `SELECT `+platformColumns+`, p.password_hash`+platformFrom+` WHERE p.username = $1`, username)
		var p Platform
		if err := row.Scan(&p.ID, &p.Name, &p.Username, &p.OrgUnitID, &p.OrgUnitCode, &p.orgUnitPath, &p.UserID, &p.CreatedAt, &stored); err != nil {
			return nil, err
		}
		return &p, nil
	}()
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, sqldb.Err(err, "platform")
	}
	if err != nil || subtle.ConstantTimeCompare([]byte(stored), []byte(h)) != 1 {
		return nil, nil, errs.Unauthenticated("unknown platform or wrong password")
	}
	if err := b.identity.SignedIn(ctx, account, addr); err != nil {
		return nil, nil, err
	}
	pr, err := b.identity.Principal(ctx, pl.UserID)
	if err != nil {
		return nil, nil, err
	}
	b.mu.Lock()
	b.cache[username] = cached{hash: h, platform: pl, principal: pr, until: b.now().Add(cacheTTL)}
	b.mu.Unlock()
	return pl, pr, nil
}
