package webhook

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/secret"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Subscription is a receiver of events.
type Subscription struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	Description string `json:"description"`
	// EventTypes are the outbox event types sent; empty means all.
	EventTypes []string `json:"event_types"`
	// OrgUnitID, when set, limits the events to that org unit's subtree.
	OrgUnitID string `json:"org_unit_id,omitempty"`
	Enabled   bool   `json:"enabled"`
	// DisabledReason says why Steward disabled the subscription.
	DisabledReason string `json:"disabled_reason,omitempty"`
	OwnerID        string `json:"owner_id"`
	// FailingSince is the first failed attempt since the last delivery.
	FailingSince *time.Time `json:"failing_since,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`

	orgUnitPath string
	sealed      string
}

// WithSecret is a subscription with its secret, answered once: at creation
// and at a rotation.
type WithSecret struct {
	*Subscription
	// Secret is whsec_ and the base64 of the signing key.
	Secret string `json:"secret"`
}

// Input creates or replaces a subscription.
type Input struct {
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	OrgUnitID   string   `json:"org_unit_id"`
	// Enabled defaults to true; enabling a disabled subscription clears
	// its failure record.
	Enabled *bool `json:"enabled"`
}

// Validate checks the input's shape; the URL's host is checked against
// private ranges by the service, which knows whether they are allowed.
func (in *Input) Validate() error {
	var v errs.Validator
	in.URL = strings.TrimSpace(in.URL)
	if v.Check(in.URL != "", "url", "required", "url is required: the receiver's http or https URL") &&
		v.Check(len(in.URL) <= 2000, "url", "length", "url must be at most 2000 characters") {
		u, err := url.Parse(in.URL)
		if v.Check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Hostname() != "",
			"url", "format", "url must be an absolute http or https URL such as https://hooks.example.com/steward") {
			v.Check(u.User == nil, "url", "format", "url must not carry a user name or password; authenticate the receiver by the signature")
			v.Check(u.Fragment == "", "url", "format", "url must not have a #fragment")
		}
	}
	v.Check(len(in.Description) <= 500, "description", "length", "description must be at most 500 characters")
	v.Text(in.Description, "description")
	v.Check(len(in.EventTypes) <= len(outbox.Types()), "event_types", "length", "event_types lists each type at most once")
	for _, t := range in.EventTypes {
		if !outbox.Known(t) {
			v.Add("event_types", "enum", fmt.Sprintf("event type %.100q is not one of GET /api/v1/event-types", t))
			break
		}
	}
	slices.Sort(in.EventTypes)
	in.EventTypes = slices.Compact(in.EventTypes)
	if in.OrgUnitID != "" {
		v.Check(sqldb.ValidID(in.OrgUnitID), "org_unit_id", "format", "org_unit_id must be an org unit's ID")
	}
	return v.Err("the webhook subscription is not valid")
}

// Options tune delivery. The zero value of each field is its default.
type Options struct {
	// AllowPrivate lets subscriptions reach loopback, private and
	// link-local addresses (serve --webhook-allow-private).
	AllowPrivate bool
	// ConnectTimeout bounds connecting (5 s); Timeout one whole attempt (15 s).
	ConnectTimeout, Timeout time.Duration
	// Lease is how long a claimed delivery stays with its deliverer (1 min,
	// more than an attempt can take): a deliverer that dies mid-attempt
	// leaves its claims to expire, and another sends them again.
	Lease time.Duration
	// RetryFor is how long a delivery is retried before it is dead-lettered (24 h).
	RetryFor time.Duration
	// Backoff is the delay before retry n (n from 1): 5 s doubling, at most
	// an hour, with ±20 % jitter.
	Backoff func(n int) time.Duration
	// DisableAfter disables a subscription at a dead letter when nothing
	// was delivered to it for this long (24 h).
	DisableAfter time.Duration
	// Poll is how often an idle deliverer looks for work (1 s); Parallel how
	// many deliveries it sends at once (8).
	Poll     time.Duration
	Parallel int
	// WorkerID names this process in claims.
	WorkerID string
	// Source is the CloudEvents source of every event ("steward" without).
	Source string
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ConnectTimeout, 5*time.Second)
	def(&o.Timeout, 15*time.Second)
	def(&o.Lease, time.Minute)
	def(&o.RetryFor, 24*time.Hour)
	def(&o.DisableAfter, 24*time.Hour)
	def(&o.Poll, time.Second)
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.Source == "" {
		o.Source = "steward"
	}
	if o.WorkerID == "" {
		o.WorkerID = "webhook"
	}
}

// DefaultBackoff is 5 s doubling per retry, at most an hour, ±20 % jitter.
func DefaultBackoff(n int) time.Duration {
	d := min(5*time.Second<<min(max(n-1, 0), 12), time.Hour)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Service manages subscriptions, takes events from the outbox and delivers them.
type Service struct {
	db   *sqldb.DB
	now  func() time.Time
	box  *secret.Box
	log  *slog.Logger
	opt  Options
	wake chan struct{}
	// shared is DeliverDue's client, made once so its connections are reused.
	once   sync.Once
	shared *http.Client
}

var _ outbox.Sink = (*Service)(nil)

// New returns the service.
func New(db *sqldb.DB, now func() time.Time, box *secret.Box, log *slog.Logger, opt Options) *Service {
	if now == nil {
		now = time.Now
	}
	opt.defaults()
	return &Service{db: db, now: now, box: box, log: log, opt: opt, wake: make(chan struct{}, 1)}
}

// resource is what a subscription is, for scope decisions: provider-wide
// without an org unit, else its org unit's subtree.
func (s *Subscription) resource() access.Resource {
	if s.OrgUnitID == "" {
		return access.Resource{}
	}
	return access.InOrgUnit(s.orgUnitPath)
}

const subColumns = `w.id, w.url, w.description, w.event_types_json, COALESCE(w.org_unit_id, ''), w.enabled, w.disabled_reason,
	w.owner_id, w.failing_since, w.created_at, w.updated_at, COALESCE(ou.path, ''), w.secret_sealed`

const subFrom = ` FROM webhook_subscriptions w LEFT JOIN org_units ou ON ou.id = w.org_unit_id`

func scanSub(row sqldb.Scanner) (*Subscription, error) {
	var s Subscription
	var types sqldb.JSON[[]string]
	var failing sql.NullTime
	if err := row.Scan(&s.ID, &s.URL, &s.Description, &types, &s.OrgUnitID, &s.Enabled, &s.DisabledReason,
		&s.OwnerID, &failing, &s.CreatedAt, &s.UpdatedAt, &s.orgUnitPath, &s.sealed); err != nil {
		return nil, err
	}
	s.EventTypes = types.V
	if s.EventTypes == nil {
		s.EventTypes = []string{}
	}
	s.FailingSince = sqldb.TimePtr(failing)
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return &s, nil
}

func (s *Service) get(ctx context.Context, q sqldb.Querier, id string) (*Subscription, error) {
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("webhook subscription %q not found", id)
	}
	return sqldb.QueryOne(ctx, q, "webhook subscription", scanSub, `SELECT `+subColumns+subFrom+` WHERE w.id = $1`, id)
}

// readable returns the subscription if p may read it; one it may not is
// not found, so its existence is not told.
func (s *Service) readable(ctx context.Context, q sqldb.Querier, p *access.Principal, id string) (*Subscription, error) {
	sub, err := s.get(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, access.Forbidden(access.WebhookRead)
	}
	if !p.Can(access.WebhookRead, sub.resource()) && !p.Can(access.WebhookManage, sub.resource()) {
		return nil, errs.NotFound("webhook subscription %q not found", id)
	}
	return sub, nil
}

// manageable returns the subscription if p may change it.
func (s *Service) manageable(ctx context.Context, tx *sqldb.Tx, p *access.Principal, id string) (*Subscription, error) {
	sub, err := s.readable(ctx, tx, p, id)
	if err != nil {
		return nil, err
	}
	return sub, p.Require(access.WebhookManage, sub.resource())
}

// Subscription returns one subscription. Callers need webhook.read (or
// webhook.manage) on its org unit, or provider-wide for one without.
func (s *Service) Subscription(ctx context.Context, p *access.Principal, id string) (*Subscription, error) {
	return s.readable(ctx, s.db.Read(), p, id)
}

// Filter narrows a subscription list.
type Filter struct {
	Page sqldb.Page
}

var subOrder = sqldb.Order{Name: "webhooks", Columns: []string{"w.id"}}

// Subscriptions lists the subscriptions p may read, oldest first.
func (s *Service) Subscriptions(ctx context.Context, p *access.Principal, f Filter) (sqldb.Paged[*Subscription], error) {
	var none sqldb.Paged[*Subscription]
	if p == nil {
		return none, errs.Unauthenticated("sign in or send an API token to do this")
	}
	all, paths := p.OrgUnitScope(access.WebhookRead)
	allM, pathsM := p.OrgUnitScope(access.WebhookManage)
	all = all || allM
	paths = append(paths, pathsM...)
	if !all && len(paths) == 0 {
		return none, access.Forbidden(access.WebhookRead)
	}
	var args sqldb.Args
	var cond string
	if all {
		cond = "1 = 1"
	} else {
		c, a := sqldb.PathScope(false, paths, "ou.path", args)
		cond, args = "(w.org_unit_id IS NOT NULL AND "+c+")", a
	}
	var after string
	seek, err := subOrder.Seek(&args, f.Page, &after)
	if err != nil {
		return none, err
	}
	q := `SELECT ` + subColumns + subFrom + ` WHERE ` + cond + ` AND ` + seek + subOrder.By() + subOrder.Limit(&args, f.Page)
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "webhook subscriptions", scanSub, q, args...)
	return sqldb.PageOf(rows, f.Page, subOrder, func(x *Subscription) []any { return []any{x.ID} }), err
}

// orgUnitPath returns the path of an org unit, or invalid naming the field.
func orgUnitPath(ctx context.Context, tx *sqldb.Tx, id string) (string, error) {
	var path string
	err := tx.QueryRowContext(ctx, `SELECT path FROM org_units WHERE id = $1`, id).Scan(&path)
	if err == sql.ErrNoRows {
		var v errs.Validator
		v.Add("org_unit_id", "exists", "org_unit_id must be an existing org unit")
		return "", v.Err("the webhook subscription is not valid")
	}
	return path, sqldb.Err(err, "org unit")
}

// checkURL refuses a URL whose host is a literal address (or localhost) in
// a range subscriptions may not reach. Names are checked again at each
// connection, where they resolve.
func (s *Service) checkURL(raw string) error {
	if s.opt.AllowPrivate {
		return nil
	}
	u, _ := url.Parse(raw)
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	bad := host == "localhost" || strings.HasSuffix(host, ".localhost")
	if ip, err := netip.ParseAddr(host); err == nil {
		bad = bad || Forbidden(ip)
	}
	if bad {
		var v errs.Validator
		v.Add("url", "private", "url must reach a public address: loopback, private, link-local and unspecified addresses are refused unless the server runs with --webhook-allow-private")
		return v.Err("the webhook subscription is not valid")
	}
	return nil
}

// specialRanges are ranges that are not the public internet beyond those
// netip names: "this network", shared address space (carrier-grade NAT),
// IETF protocol assignments, benchmarking, reserved and broadcast, NAT64
// (which could reach IPv4 private addresses through a translator).
var specialRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// Forbidden reports whether ip is in a range a webhook may not reach
// without AllowPrivate: loopback, private, link-local, multicast,
// unspecified, and the special ranges above.
func Forbidden(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range specialRanges {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// authorise checks that p may own a subscription with in's org unit: an
// org-unit subscription needs webhook.manage on that org unit, one without
// needs it provider-wide. It returns the org unit's path.
func (s *Service) authorise(ctx context.Context, tx *sqldb.Tx, p *access.Principal, in Input) (string, error) {
	if in.OrgUnitID == "" {
		return "", p.Require(access.WebhookManage, access.Resource{})
	}
	if p == nil {
		return "", errs.Unauthenticated("sign in or send an API token to do this")
	}
	if !p.CanAnywhere(access.WebhookManage) {
		return "", access.Forbidden(access.WebhookManage)
	}
	path, err := orgUnitPath(ctx, tx, in.OrgUnitID)
	if err != nil {
		return "", err
	}
	return path, p.Require(access.WebhookManage, access.InOrgUnit(path))
}

// Create adds a subscription and answers its secret, the only time but a
// rotation that it is shown. Callers need webhook.manage on the org unit of
// the filter (provider-wide for a subscription without one).
func (s *Service) Create(ctx context.Context, p *access.Principal, in Input) (*WithSecret, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in or send an API token to do this")
	}
	if !p.CanAnywhere(access.WebhookManage) {
		return nil, access.Forbidden(access.WebhookManage)
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkURL(in.URL); err != nil {
		return nil, err
	}
	sec := NewSecret()
	now := sqldb.Time(s.now())
	sub := &Subscription{ID: sqldb.NewID(), URL: in.URL, Description: in.Description, EventTypes: in.EventTypes,
		OrgUnitID: in.OrgUnitID, Enabled: in.Enabled == nil || *in.Enabled, OwnerID: p.UserID, CreatedAt: now, UpdatedAt: now}
	if sub.EventTypes == nil {
		sub.EventTypes = []string{}
	}
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		path, err := s.authorise(ctx, tx, p, in)
		if err != nil {
			return err
		}
		sub.orgUnitPath = path
		_, err = tx.ExecContext(ctx, `INSERT INTO webhook_subscriptions (id, url, description, event_types_json, org_unit_id, secret_sealed,
			enabled, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			sub.ID, sub.URL, sub.Description, sqldb.JSONOf(sub.EventTypes), nullable(sub.OrgUnitID), s.box.Seal(sec),
			sub.Enabled, sub.OwnerID, now, now)
		if err != nil {
			return sqldb.Err(err, "webhook subscription")
		}
		return audit.Write(ctx, tx, p, now, audit.Entry{Action: "webhook.create", ObjectType: "webhook", ObjectID: sub.ID, After: sub})
	})
	if err != nil {
		return nil, err
	}
	return &WithSecret{Subscription: sub, Secret: sec}, nil
}

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// Update replaces a subscription's URL, types, org unit, description and
// enabled flag. Callers need webhook.manage on its org unit before and
// after. Enabling it clears its failure record.
func (s *Service) Update(ctx context.Context, p *access.Principal, id string, in Input) (*Subscription, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkURL(in.URL); err != nil {
		return nil, err
	}
	var sub *Subscription
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		before, err := s.manageable(ctx, tx, p, id)
		if err != nil {
			return err
		}
		path, err := s.authorise(ctx, tx, p, in)
		if err != nil {
			return err
		}
		now := sqldb.Time(s.now())
		after := *before
		after.URL, after.Description, after.EventTypes, after.OrgUnitID, after.orgUnitPath = in.URL, in.Description, in.EventTypes, in.OrgUnitID, path
		if after.EventTypes == nil {
			after.EventTypes = []string{}
		}
		if in.Enabled != nil {
			after.Enabled = *in.Enabled
		}
		if after.Enabled && !before.Enabled {
			after.DisabledReason, after.FailingSince = "", nil
		}
		after.UpdatedAt = now
		_, err = tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET url = $1, description = $2, event_types_json = $3, org_unit_id = $4,
			enabled = $5, disabled_reason = $6, failing_since = $7, updated_at = $8 WHERE id = $9`,
			after.URL, after.Description, sqldb.JSONOf(after.EventTypes), nullable(after.OrgUnitID), after.Enabled, after.DisabledReason,
			sqldb.NullTime(after.FailingSince), now, id)
		if err != nil {
			return sqldb.Err(err, "webhook subscription")
		}
		sub = &after
		return audit.Write(ctx, tx, p, now, audit.Entry{Action: "webhook.update", ObjectType: "webhook", ObjectID: id, Before: before, After: sub})
	})
	if err == nil {
		s.Wake()
	}
	return sub, err
}

// Delete removes a subscription and its delivery log.
func (s *Service) Delete(ctx context.Context, p *access.Principal, id string) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		before, err := s.manageable(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE subscription_id = $1`, id); err != nil {
			return sqldb.Err(err, "webhook deliveries")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_subscriptions WHERE id = $1`, id); err != nil {
			return sqldb.Err(err, "webhook subscription")
		}
		return audit.Write(ctx, tx, p, s.now(), audit.Entry{Action: "webhook.delete", ObjectType: "webhook", ObjectID: id, Before: before})
	})
}

// RotateSecret replaces the secret and answers the new one. Deliveries
// sent from then on, retries included, are signed with it.
func (s *Service) RotateSecret(ctx context.Context, p *access.Principal, id string) (*WithSecret, error) {
	sec := NewSecret()
	var sub *Subscription
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if sub, err = s.manageable(ctx, tx, p, id); err != nil {
			return err
		}
		now := sqldb.Time(s.now())
		sub.UpdatedAt = now
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET secret_sealed = $1, updated_at = $2 WHERE id = $3`, s.box.Seal(sec), now, id); err != nil {
			return sqldb.Err(err, "webhook subscription")
		}
		return audit.Write(ctx, tx, p, now, audit.Entry{Action: "webhook.rotate_secret", ObjectType: "webhook", ObjectID: id})
	})
	if err != nil {
		return nil, err
	}
	return &WithSecret{Subscription: sub, Secret: sec}, nil
}
