// Package app is Steward's composition root: it opens the database, builds
// every service by hand, wires the HTTP server (API, portal, health,
// metrics) and the job runner, and runs them until the context ends.
//
// Lifecycle: New opens and migrates the database and builds everything;
// Serve runs the HTTP server and the job runner on a listener until ctx is
// cancelled, then stops accepting requests, lets running requests and the
// job in hand finish (up to ShutdownTimeout) and returns; Close releases the
// database. Nothing here is global: tests build as many Apps as they like.
package app

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	openapi "github.com/steward-itaas/steward/api"
	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/api"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/broker"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/idempotency"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/jobs"
	"github.com/steward-itaas/steward/internal/knowledge"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/notify"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/scim"
	"github.com/steward-itaas/steward/internal/secret"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sso"
	"github.com/steward-itaas/steward/internal/web"
	"github.com/steward-itaas/steward/internal/webhook"
)

// Seams wired here, between a domain and one above it in the import graph.
var _ orders.Provisioner = (*provision.Service)(nil)

// Config is everything Steward is told at start. cmd/steward fills it from
// flags and STEWARD_* environment variables.
type Config struct {
	Database sqldb.Config
	// WorkerID names this process in job claims; default host:pid.
	WorkerID string
	// PublicURL is where people reach Steward, such as https://steward.example.com;
	// an https URL makes every cookie Secure (behind a TLS-terminating proxy).
	PublicURL       string
	ShutdownTimeout time.Duration
	// JobIntervals overrides the interval of scheduled jobs by kind.
	JobIntervals map[string]time.Duration
	// Identity tunes password hashing and sessions (zero: defaults).
	Identity identity.Options
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TrustedProxies are the reverse proxies whose X-Forwarded-For gives
	// the client address (sign-in throttling, access logs); none means the
	// peer is the client.
	TrustedProxies middleware.Proxies
	// MetricsToken, when set, is the bearer token /metrics asks for on the
	// main address. Without it /metrics is not served there; serve it on a
	// separate (internal) address with MetricsHandler instead.
	MetricsToken string
	// SecretKey seals provider and binding credentials at rest (32 bytes).
	// Nil makes a key for this process only: sealed secrets will not open
	// after a restart (fine for tests, not for a deployment).
	SecretKey []byte
	// Mail is the SMTP server notifications are mailed through; without
	// one, people find them in the portal's inbox only.
	Mail notify.SMTP
	// WebhookAllowPrivate lets webhook subscriptions reach loopback,
	// private and link-local addresses (serve --webhook-allow-private).
	WebhookAllowPrivate bool
}

// App is a built Steward.
type App struct {
	cfg      Config
	log      *slog.Logger
	DB       *sqldb.DB
	Identity *identity.Service
	Audit    *audit.Service
	Jobs     *jobs.Runner
	Catalog  *catalog.Catalog
	Orders   *orders.Service
	Metering *metering.Service
	Rating   *rating.Service
	Billing  *billing.Service
	// Provision runs providers, placement, provider operations and bindings.
	Provision *provision.Service
	// Broker is Steward's Open Service Broker API under /osb.
	Broker *broker.Broker
	// SLA is service level management: agreements, outages, compliance, rebates.
	SLA *sla.Service
	// Desk is the service desk: tickets, their queues and clocks.
	Desk *desk.Service
	// Knowledge is the desk's knowledge base: articles per service.
	Knowledge *knowledge.Service
	// Idempotency keeps the answers to API requests sent with an Idempotency-Key.
	Idempotency *idempotency.Store
	// SSO is single sign-on through OpenID Connect identity providers.
	SSO *sso.Service
	// Outbox hands the domain events services emit to its sinks
	// (notifications, webhooks).
	Outbox *outbox.Dispatcher
	// Notify is the notification centre, an outbox sink, and its mailer (a
	// worker).
	Notify *notify.Service
	// Webhooks are the outbound webhook subscriptions, an outbox sink, and
	// their deliverer (a worker).
	Webhooks *webhook.Service
	// workers run beside the job runner while serving (the outbox
	// dispatcher, the mailer, webhook delivery).
	workers []func(context.Context)
	handler http.Handler
	metrics http.Handler
}

// New opens and migrates the database and builds every service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 15 * time.Second
	}
	if cfg.WorkerID == "" {
		host, _ := os.Hostname()
		cfg.WorkerID = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	db, err := sqldb.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	n, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if n > 0 {
		log.Info("database migrated", "applied", n, "dialect", db.Dialect)
	}
	if cfg.SecretKey == nil {
		log.Warn("no secret key configured: credentials and two-step sign-in secrets sealed now will not open after a restart; set STEWARD_SECRET_KEY")
		cfg.SecretKey = secret.NewKey()
	}
	box, err := secret.New(cfg.SecretKey)
	if err != nil {
		db.Close()
		return nil, err
	}
	cfg.Identity.Box = box // two-step sign-in secrets, under the one key
	a := &App{cfg: cfg, log: log, DB: db}
	a.Identity = identity.NewService(db, cfg.Now, cfg.Identity)
	a.Audit = audit.NewService(db)
	if db.Dialect == sqldb.Postgres {
		// Records a writer's own seal left queued (internal/audit, seal.go).
		a.workers = append(a.workers, func(ctx context.Context) {
			a.Audit.RunSealer(ctx, 500*time.Millisecond, func(err error) { log.Error("audit: sealing the queue", "err", err) })
		})
	}
	a.Jobs = jobs.NewRunner(db, cfg.Now, log, cfg.WorkerID)
	a.Catalog = catalog.New(db, cfg.Now)
	a.Orders = orders.NewService(db, cfg.Now, a.Catalog)
	a.Idempotency = idempotency.NewStore(db, cfg.Now)
	a.Metering = metering.New(db, cfg.Now)
	a.Rating = rating.New(db, cfg.Now)
	if err := a.Rating.Backfill(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("price versions: %w", err)
	}
	a.Billing = billing.New(db, cfg.Now, a.Jobs, a.Metering)
	a.Provision = provision.New(db, cfg.Now, box, a.Jobs, a.Orders, a.Catalog, log)
	a.Provision.PublicURL = cfg.PublicURL
	a.SSO = sso.New(db, cfg.Now, box, a.Identity, log)
	// The seam between orders and provisioning: orders hands each item a
	// provider makes to provisioning, which settles it later. Orders sits
	// below provisioning in the import graph, so it knows only the interface.
	a.Orders.Provisioner = a.Provision
	a.Broker = broker.New(db, cfg.Now, a.Identity, a.Orders, a.Catalog, a.Provision, log)
	a.SLA = sla.New(db, cfg.Now, a.Jobs, a.Catalog, a.Metering, log)
	a.Desk = desk.New(db, cfg.Now, a.Catalog, a.SLA.Changed)
	a.Desk.SLA = a.SLA
	a.Desk.Orders = a.Orders
	a.Knowledge = knowledge.New(db, cfg.Now, a.Catalog, a.Desk)
	a.Outbox = outbox.NewDispatcher(db, cfg.Now, log)
	a.workers = append(a.workers, func(ctx context.Context) { a.Outbox.Run(ctx, time.Second) })
	if err := cfg.Mail.Validate(); err != nil {
		db.Close()
		return nil, err
	}
	a.Notify = notify.New(db, cfg.Now, log, cfg.SecretKey)
	a.Notify.Mail, a.Notify.PublicURL = cfg.Mail, cfg.PublicURL
	a.Outbox.Add("notifications", a.Notify)
	a.workers = append(a.workers, func(ctx context.Context) { a.Notify.RunMailer(ctx, time.Second) })
	a.Webhooks = webhook.New(db, cfg.Now, box, log, webhook.Options{AllowPrivate: cfg.WebhookAllowPrivate, WorkerID: cfg.WorkerID, Source: cfg.PublicURL})
	a.Outbox.Add("webhooks", a.Webhooks)
	a.Outbox.Add("desk", a.Desk.FollowOrders()) // requests follow the orders they turned into
	a.workers = append(a.workers, a.Webhooks.Run)
	a.registerJobs()
	if a.handler, err = a.buildHandler(); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// registerJobs adds the platform's own scheduled jobs.
func (a *App) registerJobs() {
	every := func(kind string, d time.Duration, h jobs.Handler) {
		if o, ok := a.cfg.JobIntervals[kind]; ok {
			d = o
		}
		a.Jobs.HandleWithoutArguments(kind, h)
		if d > 0 {
			a.Jobs.Every(kind, d)
		}
	}
	every("sessions.purge", time.Hour, func(ctx context.Context, j *jobs.Job) error {
		n, err := a.Identity.PurgeSessions(ctx)
		if err == nil && n > 0 {
			a.log.Info("purged sessions", "count", n)
		}
		return err
	})
	every("jobs.purge", 24*time.Hour, func(ctx context.Context, j *jobs.Job) error {
		_, err := a.Jobs.Purge(ctx, 30*24*time.Hour)
		return err
	})
	every("usage.purge", time.Hour, func(ctx context.Context, j *jobs.Job) error {
		n, err := a.Metering.Purge(ctx)
		if err == nil && n > 0 {
			a.log.Info("purged usage events past the deduplication window", "count", n)
		}
		return err
	})
	// Compliance is re-measured every minute (and soon after any change);
	// sla.New registered the handler.
	if d, ok := a.cfg.JobIntervals[sla.EvaluateJob]; !ok || d > 0 {
		if !ok {
			d = time.Minute
		}
		a.Jobs.Every(sla.EvaluateJob, d)
	}
	every(desk.WarnJob, time.Minute, func(ctx context.Context, j *jobs.Job) error {
		n, err := a.Desk.Warn(ctx)
		if err == nil && n > 0 {
			a.log.Info("told of tickets about to miss their resolution time", "count", n)
		}
		return err
	})
	every("providers.check", 5*time.Minute, func(ctx context.Context, j *jobs.Job) error { return a.Provision.CheckAll(ctx) })
	every("providers.sync", time.Hour, func(ctx context.Context, j *jobs.Job) error { return a.Provision.SyncAll(ctx) })
	every("prices.activate", time.Hour, func(ctx context.Context, j *jobs.Job) error {
		_, err := a.Rating.ActivateListPrices(ctx)
		return err
	})
	every("outbox.purge", 24*time.Hour, func(ctx context.Context, j *jobs.Job) error {
		_, err := outbox.Purge(ctx, a.DB, a.cfg.Now().Add(-30*24*time.Hour))
		return err
	})
	every("webhooks.purge", 24*time.Hour, func(ctx context.Context, j *jobs.Job) error {
		_, err := webhook.Purge(ctx, a.DB, a.cfg.Now().Add(-30*24*time.Hour))
		return err
	})
	every("notifications.purge", 24*time.Hour, func(ctx context.Context, j *jobs.Job) error {
		_, err := a.Notify.Purge(ctx)
		return err
	})
	every("idempotency.purge", time.Hour, func(ctx context.Context, j *jobs.Job) error {
		_, err := a.Idempotency.Purge(ctx)
		return err
	})
	every("audit.verify", 24*time.Hour, func(ctx context.Context, j *jobs.Job) error {
		v, err := a.Audit.Verify(ctx, access.System())
		if err != nil {
			return err
		}
		if !v.OK {
			return fmt.Errorf("the audit chain is broken at record %d: %s", v.BrokenAt, v.Problem)
		}
		return nil
	})
}

func (a *App) buildHandler() (http.Handler, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := middleware.NewMetrics(reg)
	specJSON, err := openapi.JSON()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	(&api.Server{Identity: a.Identity, Audit: a.Audit, Jobs: a.Jobs, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Rating: a.Rating, Billing: a.Billing, Provision: a.Provision, Broker: a.Broker, SLA: a.SLA, Desk: a.Desk, Idempotency: a.Idempotency, Notify: a.Notify, Webhooks: a.Webhooks, SSO: a.SSO, Log: a.log, Metrics: metrics,
		SpecYAML: openapi.YAML, SpecJSON: specJSON, Knowledge: a.Knowledge}).Register(mux)
	portal := &web.Portal{Webhooks: a.Webhooks, Identity: a.Identity, Audit: a.Audit, Jobs: a.Jobs, Catalog: a.Catalog, Orders: a.Orders,
		Metering: a.Metering, Rating: a.Rating, Billing: a.Billing, Provision: a.Provision, Broker: a.Broker, SLA: a.SLA, Desk: a.Desk, Notify: a.Notify, Log: a.log, Metrics: metrics,
		Now: a.cfg.Now, SecureCookies: strings.HasPrefix(a.cfg.PublicURL, "https://"), SSO: a.SSO, SSOPublicURL: a.cfg.PublicURL, Knowledge: a.Knowledge}
	if err := portal.Register(mux); err != nil {
		return nil, err
	}
	a.Broker.ClientAddr = middleware.ClientAddr
	a.Broker.Mount(mux, metrics.Wrap)
	directory, err := scim.Handler(a.Identity, a.cfg.PublicURL, "/scim", a.log)
	if err != nil {
		return nil, err
	}
	mux.Handle("/scim/", metrics.Wrap("/scim/v2", directory))
	mux.Handle("GET /healthz", metrics.Wrap("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})))
	mux.Handle("GET /readyz", metrics.Wrap("GET /readyz", http.HandlerFunc(a.ready)))
	a.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if a.cfg.MetricsToken != "" {
		mux.Handle("GET /metrics", bearer(a.cfg.MetricsToken, a.metrics))
	}
	// Refuse cross-site unsafe requests (CSRF) before anything else sees them.
	return a.cfg.TrustedProxies.Handler(middleware.Outer(a.log, http.NewCrossOriginProtection().Handler(mux))), nil
}

// MetricsHandler serves the Prometheus metrics without authentication,
// for a listener on an internal address (serve --metrics-addr).
func (a *App) MetricsHandler() http.Handler { return a.metrics }

// bearer lets through requests that carry the token.
func bearer(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "send the metrics token (--metrics-token) as a bearer token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ready answers 200 when the database answers and its schema is current.
func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.DB.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("database unavailable\n"))
		return
	}
	ms, _ := sqldb.Migrations(a.DB.Dialect)
	if v, err := a.DB.Version(ctx); err != nil || v < len(ms) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("database schema is not current; run steward migrate\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

// Handler is the whole HTTP surface, for tests that serve it themselves.
func (a *App) Handler() http.Handler { return a.handler }

// Serve runs the HTTP server on ln and the job runner until ctx ends, then
// shuts both down gracefully.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	jobsDone := make(chan struct{})
	var background sync.WaitGroup
	for _, w := range a.workers {
		background.Go(func() { w(jobsCtx) })
	}
	go func() {
		defer close(jobsDone)
		a.Jobs.Run(jobsCtx)
		background.Wait()
	}()
	if a.Provision.PublicURL == "" { // webhook providers call back here
		a.Provision.PublicURL = "http://" + ln.Addr().String()
	}
	if a.Notify.PublicURL == "" { // mails link here
		a.Notify.PublicURL = "http://" + ln.Addr().String()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	a.log.Info("steward is serving", "addr", ln.Addr().String(), "database", a.DB.Dialect, "worker", a.cfg.WorkerID)

	var err error
	select {
	case err = <-serveErr:
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(shutCtx); serr != nil && err == nil {
		err = serr
	}
	stopJobs()
	select {
	case <-jobsDone:
	case <-shutCtx.Done():
		a.log.Warn("a job was still running at shutdown; its lease will let another runner take it over")
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close stops ingest (after committing what it holds) and releases the database.
func (a *App) Close() error {
	a.Metering.Close()
	return a.DB.Close()
}
