package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/broker"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/osb"
)

// benchOSB drives Steward's OSB endpoints as a platform would: concurrent
// provisions (each an order through approval policies, quotas and the
// fulfilment queue, answered 202), then last_operation polls of them, and
// prints requests/s and latency percentiles per operation.
func benchOSB(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Drive the OSB endpoints of a fresh demo Steward and print requests/s and latency.")
	database := fs.String("database", "", "a postgres:// URL of an empty database (default: embedded SQLite in a temporary directory)")
	clients := fs.Int("clients", 16, "concurrent platform clients")
	duration := fs.Duration("duration", 10*time.Second, "how long each phase runs")
	if err := fs.parse(args); err != nil {
		return err
	}
	a, store, done, err := benchApp(ctx, e, *database)
	if err != nil {
		return err
	}
	defer done()
	if _, err := demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing, SLA: a.SLA}); err != nil {
		return err
	}
	sys := access.System()
	off, err := a.Catalog.Offering(ctx, sys, "vm")
	if err != nil {
		return err
	}
	in := off.Input()
	in.Brokered = true
	if off, err = a.Catalog.UpdateOffering(ctx, sys, off.ID, in); err != nil {
		return err
	}
	ou, err := a.Identity.CreateOrgUnit(ctx, sys, identity.CreateOrgUnitInput{Kind: identity.OrgUnitExternalCustomer, Code: "BENCH", Name: "Bench platform"})
	if err != nil {
		return err
	}
	pl, err := a.Broker.Register(ctx, sys, broker.PlatformInput{Name: "bench", OrgUnitID: ou.ID})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String() + "/osb/v2/service_instances/"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}, Timeout: 30 * time.Second}
	plan := off.Plan("bronze").ID
	call := func(method, url string, body []byte, want int) error {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.Header.Set(osb.HeaderVersion, osb.Version)
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(pl.Username, pl.Password)
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			return fmt.Errorf("%s %s = %d, want %d", method, url, res.StatusCode, want)
		}
		return nil
	}
	var mu sync.Mutex
	var made []string
	phase := func(name string, op func(c, seq int) error) error {
		var lat []time.Duration
		var failure error
		var wg sync.WaitGroup
		start := time.Now()
		deadline := start.Add(*duration)
		for c := range *clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var own []time.Duration
				for seq := 0; time.Now().Before(deadline); seq++ {
					t0 := time.Now()
					if err := op(c, seq); err != nil {
						mu.Lock()
						failure = err
						mu.Unlock()
						return
					}
					own = append(own, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, own...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		if failure != nil {
			return fmt.Errorf("%s: %w", name, failure)
		}
		elapsed := time.Since(start)
		pct := percentiles(lat)
		fmt.Fprintf(e.stdout, "osb op=%s requests=%d requests_per_sec=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f store=%s clients=%d\n",
			name, len(lat), float64(len(lat))/elapsed.Seconds(), pct(0.5), pct(0.99), pct(1), store, *clients)
		return nil
	}
	err = phase("provision", func(c, seq int) error {
		id := fmt.Sprintf("bench-%d-%d", c, seq)
		body := fmt.Appendf(nil, `{"service_id":%q,"plan_id":%q,"organization_guid":"o","space_guid":"s","parameters":{"hostname":"h%d-%d"}}`, off.ID, plan, c, seq)
		if err := call("PUT", base+id+"?accepts_incomplete=true", body, http.StatusAccepted); err != nil {
			return err
		}
		mu.Lock()
		made = append(made, id)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	if err := phase("last_operation", func(c, seq int) error {
		return call("GET", base+made[rand.IntN(len(made))]+"/last_operation", nil, http.StatusOK)
	}); err != nil {
		return err
	}
	return phase("catalog", func(c, seq int) error {
		return call("GET", "http://"+ln.Addr().String()+"/osb/v2/catalog", nil, http.StatusOK)
	})
}
