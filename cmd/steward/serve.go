package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// durations is a repeatable kind=duration flag.
type durations map[string]time.Duration

func (d durations) String() string { return fmt.Sprint(map[string]time.Duration(d)) }

func (d durations) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	dur, err := time.ParseDuration(v)
	if !ok || err != nil || dur <= 0 {
		return fmt.Errorf("want kind=duration, such as sessions.purge=10m")
	}
	d[k] = dur
	return nil
}

func serve(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Serve the REST API (/api/v1), the portal (/), /healthz, /readyz and /metrics, and run background jobs.")
	addr := fs.string("addr", "127.0.0.1:8080", "address to listen on")
	db := addDBFlags(fs)
	logf := addLogFlags(fs)
	demoFlag := fs.bool("demo", false, "create the demo organisation (once) and print its sign-ins")
	publicURL := fs.string("public-url", "", "the URL people use to reach Steward; https:// makes cookies Secure behind a TLS proxy")
	workerID := fs.string("worker-id", "", "name of this replica in job claims (default host:pid)")
	proxies := fs.string("trusted-proxies", "", "comma-separated addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For names the client")
	metricsToken := fs.string("metrics-token", "", "bearer token that /metrics asks for on --addr (without it /metrics is served only on --metrics-addr)")
	metricsAddr := fs.string("metrics-addr", "", "a separate, internal address that serves /metrics without a token, such as 127.0.0.1:9090")
	allowPrivate := fs.bool("webhook-allow-private", false, "let webhook subscriptions reach loopback, private and link-local addresses (refused otherwise: server-side request forgery)")
	mailf := addMailFlags(fs)
	intervals := durations{}
	fs.Var(intervals, "job-interval", "override a scheduled job's interval, kind=duration (repeatable)")
	if err := fs.parse(args); err != nil {
		return err
	}
	log, err := logf.logger(e)
	if err != nil {
		return err
	}
	key, err := db.key(true)
	if err != nil {
		return err
	}
	trusted, err := middleware.ParseProxies(*proxies)
	if err != nil {
		return err
	}
	smtp, err := mailf.config()
	if err != nil {
		return err
	}
	a, err := app.New(ctx, app.Config{Database: db.config(), WorkerID: *workerID,
		PublicURL: *publicURL, JobIntervals: intervals, SecretKey: key, TrustedProxies: trusted, Mail: smtp, WebhookAllowPrivate: *allowPrivate, MetricsToken: *metricsToken}, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if *demoFlag {
		created, err := demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing, SLA: a.SLA})
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if created {
			log.Info("created the demo organisation")
		}
		stop, err := serveAutomation(ctx, a)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer stop()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --addr)", *addr, err)
	}
	if *metricsAddr != "" {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s: %w (choose another with --metrics-addr)", *metricsAddr, err)
		}
		go serveMetrics(ctx, mln, a.MetricsHandler())
		fmt.Fprintf(e.stdout, "Metrics at http://%s/metrics\n", mln.Addr())
	}
	url := "http://" + ln.Addr().String()
	if *demoFlag {
		// The service desk's history takes some seconds to write: the
		// portal serves meanwhile, and its tickets appear as they are made.
		var seeding sync.WaitGroup
		seedCtx, stopSeeding := context.WithCancel(ctx)
		defer func() { stopSeeding(); seeding.Wait() }() // before a.Close
		seeding.Add(1)
		go func() {
			defer seeding.Done()
			start := time.Now()
			err := demo.SeedDesk(seedCtx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing,
				SLA: a.SLA, DB: a.DB})
			switch {
			case err != nil && seedCtx.Err() == nil:
				log.Warn("the demo's service desk history", "error", err)
			case err == nil:
				log.Info("the demo's service desk history is in place", "took", time.Since(start).Round(time.Millisecond))
			}
			if err == nil {
				if err := demo.SeedKnowledge(seedCtx, a.Identity, a.Knowledge, a.Desk); err != nil && seedCtx.Err() == nil {
					log.Warn("the demo's knowledge base", "error", err)
				}
			}
		}()
		printDemo(e, url)
	} else if users, _ := a.Identity.Users(ctx, access.System(), identity.UserFilter{Page: sqldb.Page{Limit: 1}}); len(users.Items) == 0 {
		fmt.Fprintf(e.stdout, "\nSteward is running at %s but has no users yet. Create the first admin:\n  steward admin create-admin --email you@example.com --name \"Your Name\"\nor start with --demo for a demo organisation.\n\n", url)
	} else {
		fmt.Fprintf(e.stdout, "Steward is running at %s\n", url)
	}
	return a.Serve(ctx, ln)
}

func printDemo(e env, url string) {
	// One write, so that whoever reads the output sees the whole table.
	var b bytes.Buffer
	fmt.Fprintf(&b, "\nSteward demo is running at %s\nSign in as any of these users with the password %q:\n\n", url, demo.Password)
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ROLE\tEMAIL\tSCOPE")
	for _, c := range demo.Credentials() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Role, c.Email, c.Scope)
	}
	tw.Flush()
	b.WriteByte('\n')
	e.stdout.Write(b.Bytes())
}

// serveAutomation serves the demo's automation (a webhook provider that
// makes bronze VMs and buckets at once) on a loopback port of its own and
// points the demo's providers at it; stop closes it.
func serveAutomation(ctx context.Context, a *app.App) (stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the demo's automation: %w", err)
	}
	srv := &http.Server{Handler: demo.Automation{Now: time.Now}, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	if err := demo.ConnectAutomation(ctx, a.Provision, a.Catalog, "http://"+ln.Addr().String()); err != nil {
		srv.Close()
		return nil, err
	}
	return func() { srv.Close() }, nil
}

// serveMetrics serves /metrics on its own listener until ctx ends.
func serveMetrics(ctx context.Context, ln net.Listener, h http.Handler) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	srv.Serve(ln)
}
