package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestAutomationRunsTheExampleBlueprint: issue 17, item 16: on the demo,
// with its automation connected as `serve --demo` connects it, the
// README's example blueprint (internal/blueprint/testdata/web-stack.yaml)
// checks, uploads and runs: both steps are made by the demo's providers,
// its outputs reach the instance, and deprovisioning deletes them. The
// automation refuses an unsigned request, and connecting it again at a
// new address moves the providers there and keeps their offers.
func TestAutomationRunsTheExampleBlueprint(t *testing.T) {
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Database: sqldbtest.Config(t), SecretKey: bytes.Repeat([]byte{7}, 32),
		Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Provision.MinPoll, a.Provision.MaxPoll = time.Millisecond, 5*time.Millisecond
	if _, err := demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing, SLA: a.SLA}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(demo.Automation{Now: time.Now})
	defer srv.Close()
	if err := demo.ConnectAutomation(ctx, a.Provision, a.Catalog, srv.URL); err != nil {
		t.Fatal(err)
	}
	sys := access.System()
	for _, code := range []string{"internal-vms", "internal-storage"} {
		pv, err := a.Provision.Provider(ctx, sys, code)
		if err != nil || pv.Health != provision.HealthHealthy || len(pv.Offers) != 1 {
			t.Fatalf("provider %s: %+v, %v", code, pv, err)
		}
	}
	if res, err := http.Post(srv.URL+"/vms", "application/json", bytes.NewReader([]byte(`{"type":"provision"}`))); err != nil || res.StatusCode != 401 {
		t.Errorf("an unsigned request: %v %v", res, err)
	}

	source, err := os.ReadFile("../blueprint/testdata/web-stack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Provision.ValidateBlueprint(ctx, sys, string(source)); err != nil {
		t.Fatalf("validate: %v", err)
	}
	sofia := principal(t, a, "sofia@it.contoso.example")
	bp, created, err := a.Provision.UploadBlueprint(ctx, sofia, provision.BlueprintInput{Source: string(source)})
	if err != nil || !created || bp.Ref() != "web-stack@1" {
		t.Fatalf("upload: %+v %v %v", bp, created, err)
	}
	vm, err := a.Catalog.Offering(ctx, sys, "vm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Catalog.CreateOffering(ctx, principal(t, a, "petra@it.contoso.example"), catalog.OfferingInput{Code: "web-stack", ServiceID: vm.ServiceID,
		Name: "Web application stack", FormSchema: json.RawMessage(`{"type":"object","required":["app_name"],"properties":{"app_name":{"type":"string","title":"Application name"}}}`),
		Plans: []catalog.PlanInput{{Code: "standard", Name: "Standard", Currency: "EUR", Recurring: "60.00", Blueprint: "web-stack@1"}}}); err != nil {
		t.Fatal(err)
	}

	dana := principal(t, a, "dana@contoso.example")
	o, err := a.Orders.CreateOrder(ctx, dana, orders.OrderInput{Items: []orders.ItemInput{{Offering: "web-stack", Plan: "standard", Parameters: map[string]any{"app_name": "shop"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if o, err = a.Orders.Submit(ctx, dana, o.ID); err != nil {
		t.Fatal(err)
	}
	o = untilSettled(t, a, o.ID)
	if o.State != orders.StateCompleted {
		t.Fatalf("the blueprint's order is %s: %+v", o.State, o.Items[0])
	}
	inst, err := a.Orders.Instance(ctx, sys, o.Items[0].InstanceID)
	if err != nil {
		t.Fatal(err)
	}
	csPage, err := a.Provision.Components(ctx, sys, inst.ID, sqldb.Page{})
	cs := csPage.Items
	if err != nil || len(cs) != 2 || cs[0].Provider != "internal-storage" || cs[1].Provider != "internal-vms" ||
		cs[0].State != provision.ComponentReady || cs[1].State != provision.ComponentReady {
		t.Fatalf("components: %+v %v", cs, err)
	}
	if inst.State != orders.InstanceActive || inst.Outputs["url"] != "https://console.contoso.example/vms/"+cs[1].ID ||
		inst.Outputs["database_id"] != cs[0].ID || inst.Outputs["summary"] != "shop on 1 replica(s)" {
		t.Fatalf("instance: %s %v", inst.State, inst.Outputs)
	}

	d, err := a.Orders.RequestDeprovision(ctx, dana, inst.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if d = untilSettled(t, a, d.ID); d.State != orders.StateCompleted {
		t.Fatalf("deprovision: %s", d.State)
	}
	if csPage, _ = a.Provision.Components(ctx, sys, inst.ID, sqldb.Page{}); csPage.Items[0].State != provision.ComponentDeleted || csPage.Items[1].State != provision.ComponentDeleted {
		t.Fatalf("after deprovision: %+v", cs)
	}

	// The next start listens elsewhere: the providers follow, their offers stay.
	srv2 := httptest.NewServer(demo.Automation{Now: time.Now})
	defer srv2.Close()
	if err := demo.ConnectAutomation(ctx, a.Provision, a.Catalog, srv2.URL); err != nil {
		t.Fatal(err)
	}
	allPage, err := a.Provision.Providers(ctx, sys, provision.ProviderFilter{})
	all := allPage.Items
	if err != nil || len(all) != 2 {
		t.Fatalf("providers after a restart: %d %v", len(all), err)
	}
	for _, pv := range all {
		if pv.URL != srv2.URL+"/vms" && pv.URL != srv2.URL+"/storage" || len(pv.Offers) != 1 || pv.Health != provision.HealthHealthy {
			t.Errorf("after a restart, %s: %s, %d offers, %s", pv.Code, pv.URL, len(pv.Offers), pv.Health)
		}
	}
}

func principal(t *testing.T, a *app.App, email string) *access.Principal {
	t.Helper()
	u, err := a.Identity.UserByEmail(context.Background(), access.System(), email)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Identity.Principal(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// untilSettled runs jobs until the order is completed or failed, failing
// after a generous deadline.
func untilSettled(t *testing.T, a *app.App, id string) *orders.Order {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(2 * time.Minute); ; {
		o, err := a.Orders.Order(ctx, access.System(), id)
		if err != nil {
			t.Fatal(err)
		}
		if o.State == orders.StateCompleted || o.State == orders.StateFailed {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs ran for 2 minutes and order %s is still %s", o.Reference(), o.State)
		}
		ran, err := a.Jobs.RunOne(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			time.Sleep(5 * time.Millisecond)
		}
	}
}
