// Package provision is where ordered things get made: providers (Open
// Service Brokers, including peer Stewards, and webhooks), what each offers
// at what price, the placement policy that picks one, and the operations
// that provision, change, bind and deprovision at a provider, asynchronous
// and resumable across restarts (they are jobs).
//
// Flow: the orders domain asks Fulfil for each approved item. When a
// provider offers the item's plan, placement picks one and records why, an
// instance is opened in state provisioning and an operation is queued. The
// operation job calls the provider, polls it (honouring Retry-After and
// the plan's maximum polling duration) and settles the order item. Anything
// the provider may have made when the outcome is unknown is deleted again
// (orphan mitigation).
package provision

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/jobs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/osb"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/secret"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Kind is how Steward talks to a provider.
type Kind string

// The provider kinds. Manual fulfilment (a task for the service's
// assignment group) needs no provider: it is what happens when none offers
// the plan.
const (
	KindOSB     Kind = "osb"
	KindWebhook Kind = "webhook"
)

// Health is what the last health check found.
type Health string

// The health states.
const (
	HealthUnknown   Health = "unknown"
	HealthHealthy   Health = "healthy"
	HealthUnhealthy Health = "unhealthy"
)

// Provider is somewhere things are made.
type Provider struct {
	ID       string `json:"id"`
	Code     string `json:"code"`
	Name     string `json:"name"`
	Kind     Kind   `json:"kind"`
	URL      string `json:"url"`
	Username string `json:"username,omitempty"`
	// HasSecret says a password (OSB) or signing secret (webhook) is set;
	// the secret itself is never shown.
	HasSecret bool   `json:"has_secret"`
	Region    string `json:"region"`
	// Capacity caps the live instances placed here (0: no cap); Used counts them.
	Capacity  int    `json:"capacity"`
	Used      int    `json:"used"`
	Agreement string `json:"agreement"`
	// Markup is the percentage added to the provider's prices when its
	// catalog is imported, such as "15" or "7.5".
	Markup      string     `json:"markup"`
	Health      Health     `json:"health"`
	HealthError string     `json:"health_error,omitempty"`
	HealthAt    *time.Time `json:"health_at,omitempty"`
	SyncedAt    *time.Time `json:"synced_at,omitempty"`
	SyncError   string     `json:"sync_error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	Offers      []*Offer   `json:"offers"`

	secret string // sealed
}

// ProviderInput registers or changes a provider.
type ProviderInput struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Kind     Kind   `json:"kind"`
	URL      string `json:"url"`
	Username string `json:"username"`
	// Secret is the OSB password or the webhook signing secret; empty on
	// an update keeps the one set.
	Secret    string `json:"secret"`
	Region    string `json:"region"`
	Capacity  int    `json:"capacity"`
	Agreement string `json:"agreement"`
	Markup    string `json:"markup"`
}

var codePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func (in *ProviderInput) validate(creating bool) error {
	in.Code, in.Name, in.URL = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name), strings.TrimSpace(in.URL)
	in.Markup = strings.TrimSpace(in.Markup)
	if in.Markup == "" {
		in.Markup = "0"
	}
	var v errs.Validator
	v.Check(codePattern.MatchString(in.Code), "code", "format", "code must be 1 to 63 lower-case letters, digits and hyphens (such as \"peer-cloud\")")
	v.Check(in.Name != "" && len(in.Name) <= 200, "name", "length", "name is required and must be at most 200 characters")
	v.Check(in.Kind == KindOSB || in.Kind == KindWebhook, "kind", "enum", "kind must be osb (an Open Service Broker) or webhook")
	u, err := url.Parse(in.URL)
	v.Check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "url", "format",
		"url must be the provider's http(s) base URL, such as https://broker.example.com (for OSB, without /v2)")
	if creating && in.Kind == KindWebhook {
		v.Check(len(in.Secret) >= 16, "secret", "length", "a webhook provider needs a signing secret of at least 16 characters")
	}
	v.Check(in.Capacity >= 0, "capacity", "range", "capacity is 0 (no cap) or more")
	m, ok := new(big.Rat).SetString(in.Markup)
	v.Check(ok && m.Sign() >= 0 && len(in.Markup) <= 12, "markup", "format", "markup is a percentage such as 15 or 7.5, not negative")
	return v.Err("the provider is not valid")
}

// Service runs providers, placement and operations.
type Service struct {
	db     *sqldb.DB
	now    func() time.Time
	box    *secret.Box
	jobs   *jobs.Runner
	orders *orders.Service
	cat    *catalog.Catalog
	log    *slog.Logger
	// blueprints caches parsed blueprint versions by ID (they never change).
	blueprints sync.Map
	// HTTP calls providers; its timeout bounds each call.
	HTTP *http.Client
	// PublicURL is where webhook providers call back (Steward's base URL).
	PublicURL string
	// MinPoll and MaxPoll bound the wait between polls of an operation
	// when the provider sends no Retry-After.
	MinPoll, MaxPoll time.Duration
	// DefaultMaxPolling is an operation's deadline when the plan sets none.
	DefaultMaxPolling time.Duration
	// beforePlace, when set (by tests), is called before each placement
	// policy is evaluated.
	beforePlace func()
}

// New returns the provisioning service and registers its jobs. It does
// not make itself ord's Provisioner: the composition root (app.New) wires
// that seam, so one place shows which domain calls which.
func New(db *sqldb.DB, now func() time.Time, box *secret.Box, runner *jobs.Runner, ord *orders.Service, cat *catalog.Catalog, log *slog.Logger) *Service {
	s := &Service{db: db, now: now, box: box, jobs: runner, orders: ord, cat: cat, log: log,
		HTTP: &http.Client{Timeout: 30 * time.Second}, MinPoll: 2 * time.Second, MaxPoll: 60 * time.Second, DefaultMaxPolling: 24 * time.Hour}
	runner.Handle(jobOperation, s.runOperation)
	runner.Handle(jobPlace, s.runPlace)
	return s
}

// jobOperation advances one operation; the composition root schedules
// CheckAll and SyncAll.
const jobOperation = "provision.operation"

func (s *Service) audit(ctx context.Context, tx *sqldb.Tx, p *access.Principal, e audit.Entry) error {
	return audit.Write(ctx, tx, p, s.now(), e)
}

const providerColumns = `v.id, v.code, v.name, v.kind, v.url, v.username, v.secret, v.region, v.capacity, v.agreement, v.markup, v.health, v.health_error,
	v.health_at, v.synced_at, v.sync_error, v.created_at, v.updated_at,
	(SELECT COUNT(*) FROM instances n WHERE n.provider_id = v.id AND n.state IN ('provisioning', 'active'))`

func scanProvider(row sqldb.Scanner) (*Provider, error) {
	var p Provider
	var healthAt, syncedAt sql.NullTime
	if err := row.Scan(&p.ID, &p.Code, &p.Name, &p.Kind, &p.URL, &p.Username, &p.secret, &p.Region, &p.Capacity, &p.Agreement, &p.Markup, &p.Health,
		&p.HealthError, &healthAt, &syncedAt, &p.SyncError, &p.CreatedAt, &p.UpdatedAt, &p.Used); err != nil {
		return nil, err
	}
	p.HasSecret = p.secret != ""
	p.HealthAt, p.SyncedAt = sqldb.TimePtr(healthAt), sqldb.TimePtr(syncedAt)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	p.Offers = []*Offer{}
	return &p, nil
}

func getProvider(ctx context.Context, q sqldb.Querier, ref string) (*Provider, error) {
	return sqldb.QueryOne(ctx, q, fmt.Sprintf("provider %q", ref), scanProvider, `SELECT `+providerColumns+` FROM providers v WHERE v.id = $1 OR v.code = $1`, ref)
}

// ProviderFilter narrows Providers and asks for one page of it.
type ProviderFilter struct {
	// Kind keeps the providers of that kind.
	Kind Kind
	sqldb.Page
}

// providerOrder is the order of Providers: by name (codes are unique).
var providerOrder = sqldb.Order{Name: "name", Columns: []string{"v.name", "v.code"}}

// Providers lists one page of the providers, by name, each with its
// offers. Callers need provider.read, else forbidden; a cursor not of this
// list is invalid.
func (s *Service) Providers(ctx context.Context, p *access.Principal, f ProviderFilter) (sqldb.Paged[*Provider], error) {
	if err := p.RequireAnywhere(access.ProviderRead); err != nil {
		return sqldb.Paged[*Provider]{}, err
	}
	var args sqldb.Args
	where := "1 = 1"
	if f.Kind != "" {
		where = "v.kind = " + args.Add(string(f.Kind))
	}
	var name, code string
	seek, err := providerOrder.Seek(&args, f.Page, &name, &code)
	if err != nil {
		return sqldb.Paged[*Provider]{}, err
	}
	pvs, err := sqldb.QueryAll(ctx, s.db.Read(), "providers", scanProvider, `SELECT `+providerColumns+` FROM providers v WHERE `+where+` AND `+seek+
		providerOrder.By()+providerOrder.Limit(&args, f.Page), args...)
	if err != nil {
		return sqldb.Paged[*Provider]{}, err
	}
	page := sqldb.PageOf(pvs, f.Page, providerOrder, func(pv *Provider) []any { return []any{pv.Name, pv.Code} })
	for _, pv := range page.Items {
		if pv.Offers, err = loadOffers(ctx, s.db.Read(), pv.ID); err != nil {
			return sqldb.Paged[*Provider]{}, err
		}
	}
	return page, nil
}

// Provider returns one provider (by ID or code) with its offers.
func (s *Service) Provider(ctx context.Context, p *access.Principal, ref string) (*Provider, error) {
	if err := p.RequireAnywhere(access.ProviderRead); err != nil {
		return nil, err
	}
	pv, err := getProvider(ctx, s.db.Read(), ref)
	if err != nil {
		return nil, err
	}
	if pv.Offers, err = loadOffers(ctx, s.db.Read(), pv.ID); err != nil {
		return nil, err
	}
	return pv, nil
}

// CreateProvider registers a provider; its secret is sealed at rest.
// Callers need provider.manage on the whole provider, else forbidden.
func (s *Service) CreateProvider(ctx context.Context, p *access.Principal, in ProviderInput) (*Provider, error) {
	if err := p.Require(access.ProviderManage, access.Resource{}); err != nil {
		return nil, err
	}
	if err := in.validate(true); err != nil {
		return nil, err
	}
	id := sqldb.NewID()
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		now := sqldb.Time(s.now())
		_, err := tx.ExecContext(ctx, `INSERT INTO providers (id, code, name, kind, url, username, secret, region, capacity, agreement, markup, health, health_error,
			sync_error, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'unknown', '', '', $12, $12)`,
			id, in.Code, in.Name, in.Kind, strings.TrimRight(in.URL, "/"), in.Username, s.box.Seal(in.Secret), in.Region, in.Capacity, in.Agreement, in.Markup, now)
		if err != nil {
			if errs.Is(sqldb.Err(err, "provider"), errs.CodeConflict) {
				return errs.Conflict("a provider with the code %q exists; choose another code", in.Code)
			}
			return sqldb.Err(err, "provider")
		}
		in.Secret = ""
		return s.audit(ctx, tx, p, audit.Entry{Action: "provider.create", ObjectType: "provider", ObjectID: id, After: in})
	})
	if err != nil {
		return nil, err
	}
	return s.Provider(ctx, p, id)
}

// UpdateProvider changes a provider; an empty secret keeps the one set.
// Callers need provider.manage on the whole provider, else forbidden.
func (s *Service) UpdateProvider(ctx context.Context, p *access.Principal, ref string, in ProviderInput) (*Provider, error) {
	if err := p.Require(access.ProviderManage, access.Resource{}); err != nil {
		return nil, err
	}
	if err := in.validate(false); err != nil {
		return nil, err
	}
	var id string
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		before, err := getProvider(ctx, tx, ref)
		if err != nil {
			return err
		}
		id = before.ID
		sealed := before.secret
		if in.Secret != "" {
			sealed = s.box.Seal(in.Secret)
		}
		_, err = tx.ExecContext(ctx, `UPDATE providers SET code = $1, name = $2, kind = $3, url = $4, username = $5, secret = $6, region = $7, capacity = $8,
			agreement = $9, markup = $10, updated_at = $11 WHERE id = $12`, in.Code, in.Name, in.Kind, strings.TrimRight(in.URL, "/"), in.Username, sealed,
			in.Region, in.Capacity, in.Agreement, in.Markup, sqldb.Time(s.now()), id)
		if err != nil {
			return sqldb.Err(err, "provider")
		}
		in.Secret = ""
		return s.audit(ctx, tx, p, audit.Entry{Action: "provider.update", ObjectType: "provider", ObjectID: id, Before: before, After: in})
	})
	if err != nil {
		return nil, err
	}
	return s.Provider(ctx, p, id)
}

// client is an OSB client for the provider.
func (s *Service) client(pv *Provider) (*osb.Client, error) {
	pw, err := s.box.Open(pv.secret)
	if err != nil {
		return nil, err
	}
	return &osb.Client{URL: pv.URL, Username: pv.Username, Password: pw, HTTP: s.HTTP}, nil
}

// Check asks the provider whether it is well (OSB: its catalog answers;
// webhook: a signed health request answers 2xx) and records the answer.
// Callers need provider.read.
func (s *Service) Check(ctx context.Context, p *access.Principal, ref string) (*Provider, error) {
	if err := p.RequireAnywhere(access.ProviderRead); err != nil {
		return nil, err
	}
	pv, err := getProvider(ctx, s.db.Read(), ref)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, pv); err != nil {
		return nil, err
	}
	return s.Provider(ctx, p, pv.ID)
}

func (s *Service) check(ctx context.Context, pv *Provider) error {
	var problem error
	switch pv.Kind {
	case KindOSB:
		c, err := s.client(pv)
		if err == nil {
			_, err = c.Catalog(ctx)
		}
		problem = err
	case KindWebhook:
		_, problem = s.callWebhook(ctx, pv, webhookRequest{Type: "health"})
	}
	health, msg := HealthHealthy, ""
	if problem != nil {
		health, msg = HealthUnhealthy, problem.Error()
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var was Health
		lock := tx.Dialect.ForUpdate() // two checks at once on PostgreSQL: the second sees the first's health
		if err := tx.QueryRowContext(ctx, `SELECT health FROM providers WHERE id = $1`+lock, pv.ID).Scan(&was); err != nil {
			return sqldb.Err(err, "provider")
		}
		_, err := tx.ExecContext(ctx, `UPDATE providers SET health = $1, health_error = $2, health_at = $3 WHERE id = $4`,
			health, msg, sqldb.Time(s.now()), pv.ID)
		if err != nil || health != HealthUnhealthy || was == HealthUnhealthy {
			return sqldb.Err(err, "provider")
		}
		return outbox.Emit(ctx, tx, access.System(), s.now(), outbox.Event{Type: "provider.unhealthy", Subject: "providers/" + pv.ID,
			Data: map[string]any{"provider_id": pv.ID, "provider": pv.Name, "error": msg},
			Notice: &outbox.Notice{Title: pv.Name + " is unhealthy", Body: msg, Link: "/admin/providers/" + pv.Code,
				Roles: []access.Role{access.RoleSupplierManager, access.RoleAdmin}}})
	})
}

// CheckAll checks every provider (the providers.check job).
func (s *Service) CheckAll(ctx context.Context) error {
	all, err := sqldb.QueryAll(ctx, s.db.Read(), "providers", scanProvider, `SELECT `+providerColumns+` FROM providers v`)
	if err != nil {
		return err
	}
	for _, pv := range all {
		if err := s.check(ctx, pv); err != nil {
			return err
		}
	}
	return nil
}

// Offer is a provider's offer to make a plan of Steward's catalog: its
// own identifiers for it and its price to Steward.
type Offer struct {
	ID              string `json:"id"`
	ProviderID      string `json:"provider_id"`
	PlanID          string `json:"plan_id"`
	PlanName        string `json:"plan_name"`
	OfferingCode    string `json:"offering_code"`
	RemoteServiceID string `json:"remote_service_id"`
	RemotePlanID    string `json:"remote_plan_id"`
	RemoteName      string `json:"remote_name"`
	Currency        string `json:"currency"`
	// Price is the provider's monthly price to Steward (its cost), as a decimal.
	Price          string    `json:"price"`
	PriceMinor     int64     `json:"price_minor"`
	Bindable       bool      `json:"bindable"`
	PlanUpdateable bool      `json:"plan_updateable"`
	MaxPolling     int       `json:"max_polling_seconds"`
	Retired        bool      `json:"retired"`
	UpdatedAt      time.Time `json:"updated_at"`
}

const offerColumns = `o.id, o.provider_id, o.plan_id, p.name, f.code, o.remote_service_id, o.remote_plan_id, o.remote_name, o.currency, o.price_minor,
	o.bindable, o.plan_updateable, o.max_polling, o.retired, o.updated_at`

const offerFrom = ` FROM provider_offers o JOIN plans p ON p.id = o.plan_id JOIN offerings f ON f.id = p.offering_id`

func scanOffer(row sqldb.Scanner) (*Offer, error) {
	var o Offer
	if err := row.Scan(&o.ID, &o.ProviderID, &o.PlanID, &o.PlanName, &o.OfferingCode, &o.RemoteServiceID, &o.RemotePlanID, &o.RemoteName, &o.Currency,
		&o.PriceMinor, &o.Bindable, &o.PlanUpdateable, &o.MaxPolling, &o.Retired, &o.UpdatedAt); err != nil {
		return nil, err
	}
	o.Price = money.New(o.PriceMinor, o.Currency).Decimal()
	o.UpdatedAt = o.UpdatedAt.UTC()
	return &o, nil
}

func loadOffers(ctx context.Context, q sqldb.Querier, providerID string) ([]*Offer, error) {
	if providerID == "" {
		return sqldb.QueryAll(ctx, q, "offers", scanOffer, `SELECT `+offerColumns+offerFrom+` ORDER BY f.code, p.position`)
	}
	return sqldb.QueryAll(ctx, q, "offers", scanOffer, `SELECT `+offerColumns+offerFrom+` WHERE o.provider_id = $1 ORDER BY f.code, p.position`, providerID)
}

// OfferInput is a supplier manager's statement that a provider makes a
// plan, at a price.
type OfferInput struct {
	// Plan is the plan's ID.
	Plan            string `json:"plan"`
	RemoteServiceID string `json:"remote_service_id"`
	RemotePlanID    string `json:"remote_plan_id"`
	Currency        string `json:"currency"`
	Price           string `json:"price"`
	Bindable        bool   `json:"bindable"`
	PlanUpdateable  bool   `json:"plan_updateable"`
	// MaxPolling is how long an operation may take, in seconds (0: a day).
	MaxPolling int  `json:"max_polling_seconds"`
	Retired    bool `json:"retired"`
}

// SetOffer records (or replaces) that the provider makes a plan, at a
// price: how a webhook provider is given plans, and how a second broker is
// offered for a plan another already makes (so placement can choose).
// Callers need provider.manage on the whole provider, else forbidden.
func (s *Service) SetOffer(ctx context.Context, p *access.Principal, providerRef string, in OfferInput) (*Offer, error) {
	if err := p.Require(access.ProviderManage, access.Resource{}); err != nil {
		return nil, err
	}
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	var v errs.Validator
	v.Check(sqldb.ValidID(in.Plan), "plan", "format", "plan must be the ID of a plan in the catalog")
	if in.Price = strings.TrimSpace(in.Price); in.Price == "" {
		in.Price = "0"
	}
	price, err := money.Parse(in.Price, in.Currency)
	minor := price.Minor
	v.Check(err == nil && minor >= 0, "price", "money", "price is the provider's monthly price as a decimal in currency, such as 12.50 EUR")
	v.Check(in.MaxPolling >= 0, "max_polling_seconds", "range", "max_polling_seconds is 0 (a day) or more")
	if err := v.Err("the offer is not valid"); err != nil {
		return nil, err
	}
	var id string
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		pv, err := getProvider(ctx, tx, providerRef)
		if err != nil {
			return err
		}
		if pv.Kind == KindOSB && (in.RemoteServiceID == "" || in.RemotePlanID == "") {
			return errs.Invalid("an OSB provider's offer names the broker's service and plan IDs (remote_service_id, remote_plan_id)")
		}
		var one int
		if tx.QueryRowContext(ctx, `SELECT 1 FROM plans WHERE id = $1`, in.Plan).Scan(&one) != nil {
			return errs.Invalid("there is no plan %q in the catalog", in.Plan)
		}
		id, err = s.upsertOffer(ctx, tx, pv.ID, in.Plan, in, minor, "")
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "provider.offer", ObjectType: "provider", ObjectID: pv.ID, After: in})
	})
	if err != nil {
		return nil, err
	}
	return scanOffer(s.db.Read().QueryRowContext(ctx, `SELECT `+offerColumns+offerFrom+` WHERE o.id = $1`, id))
}

func (s *Service) upsertOffer(ctx context.Context, tx *sqldb.Tx, providerID, planID string, in OfferInput, minor int64, remoteName string) (string, error) {
	now := sqldb.Time(s.now())
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM provider_offers WHERE provider_id = $1 AND plan_id = $2`, providerID, planID).Scan(&id)
	if err == sql.ErrNoRows {
		id = sqldb.NewID()
		_, err = tx.ExecContext(ctx, `INSERT INTO provider_offers (id, provider_id, plan_id, remote_service_id, remote_plan_id, remote_name, currency, price_minor,
			bindable, plan_updateable, max_polling, retired, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			id, providerID, planID, in.RemoteServiceID, in.RemotePlanID, remoteName, in.Currency, minor, in.Bindable, in.PlanUpdateable, in.MaxPolling, in.Retired, now)
		return id, sqldb.Err(err, "offer")
	}
	if err != nil {
		return "", sqldb.Err(err, "offer")
	}
	_, err = tx.ExecContext(ctx, `UPDATE provider_offers SET remote_service_id = $1, remote_plan_id = $2, remote_name = $3, currency = $4, price_minor = $5,
		bindable = $6, plan_updateable = $7, max_polling = $8, retired = $9, updated_at = $10 WHERE id = $11`,
		in.RemoteServiceID, in.RemotePlanID, remoteName, in.Currency, minor, in.Bindable, in.PlanUpdateable, in.MaxPolling, in.Retired, now, id)
	return id, sqldb.Err(err, "offer")
}

// markedUp is a price plus a percentage markup, rounded as all money is
// (money.RoundMinor: half away from zero, to the minor unit).
func markedUp(price money.Amount, markup string) (money.Amount, error) {
	m, ok := new(big.Rat).SetString(markup)
	if !ok {
		return price, fmt.Errorf("markup %q is not a percentage", markup)
	}
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(money.Exponent(price.Currency))), nil)
	major := new(big.Rat).SetFrac(big.NewInt(price.Minor), scale)
	factor := new(big.Rat).Add(big.NewRat(1, 1), new(big.Rat).Quo(m, big.NewRat(100, 1)))
	return money.RoundMinor(major.Mul(major, factor), price.Currency)
}

func marshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
