package demo_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestSeed seeds the demo twice: the second time changes nothing, and the
// demo shows an order in every state that lasts.
func TestSeed(t *testing.T) {
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Database: sqldbtest.Config(t), Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s := demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing, SLA: a.SLA}
	if created, err := demo.Seed(ctx, s); err != nil || !created {
		t.Fatalf("first seed: %v %v", created, err)
	}
	if created, err := demo.Seed(ctx, s); err != nil || created {
		t.Fatalf("second seed: %v %v", created, err)
	}
	// The desktop SLA is measured: outages in its window, figures stored.
	c, err := a.SLA.Compliance(ctx, access.System(), "desktop-sla")
	if err != nil {
		t.Fatal(err)
	}
	if av := c.Targets[0].Current; av == nil || av.DowntimeMicros == 0 || av.AgreedMicros == 0 || c.Agreement.UnderpinnedBy[0] != "network-ola" {
		t.Errorf("the demo SLA: %+v", av)
	}
	all, err := a.Orders.Orders(ctx, access.System(), orders.OrderFilter{Page: sqldb.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	states := map[orders.State]int{}
	for _, o := range all.Items {
		states[o.State]++
	}
	for _, st := range []orders.State{orders.StateDraft, orders.StateAwaitingApproval, orders.StateFulfilling, orders.StateCompleted,
		orders.StateRejected, orders.StateCancelled, orders.StateFailed} {
		if states[st] == 0 {
			t.Errorf("the demo has no %s order (%v)", st, states)
		}
	}
	svcs, _ := a.Catalog.Services(ctx, access.System(), catalogFilter())
	if len(svcs) < 10 {
		t.Errorf("the demo portfolio has %d services", len(svcs))
	}
}

func catalogFilter() catalog.ServiceFilter { return catalog.ServiceFilter{} }
