package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/provision"
)

// automationSecret signs what Steward sends the demo's automation. Like
// Password, it is for trying Steward on one machine, never for production.
const automationSecret = "steward-demo-automation"

// An automated provider is one the demo's automation plays, under its own
// path, and the plans it makes, each at its price to Steward.
type automated struct {
	code, name, path, region string
	plans                    []automatedPlan
}

type automatedPlan struct {
	offering, plan, price string
	bindable              bool
}

// automatedProviders are what ConnectAutomation registers: bronze VMs and
// standard buckets, the plans of the README's example blueprint
// (internal/blueprint/testdata/web-stack.yaml).
// Silver and gold VMs, and everything else, stay made by hand: a task for
// the service's group.
var automatedProviders = []automated{
	{code: "internal-vms", name: "Contoso VM automation", path: "/vms", region: "paris",
		plans: []automatedPlan{{offering: "vm", plan: "bronze", price: "18.00"}}},
	{code: "internal-storage", name: "Contoso storage automation", path: "/storage", region: "paris",
		plans: []automatedPlan{{offering: "bucket", plan: "standard", price: "2.50", bindable: true}}},
}

// Automation is Contoso IT's own automation in the demo: a webhook
// provider (docs/provisioning.md, "Webhook providers") that makes at once
// whatever it is asked, so that ordering what the demo's providers offer,
// and running a blueprint over them, works on one machine. Under /vms it
// is the provider internal-vms, under /storage internal-storage. It
// refuses a request whose signature does not verify, and makes nothing
// real: its hosts and endpoints are under contoso.example.
type Automation struct {
	// Now is the clock signatures are checked against.
	Now func() time.Time
}

// ServeHTTP answers one signed webhook request.
func (a Automation) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	answer := func(status int, v provision.WebhookAnswer) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	if r.Method != http.MethodPost || (r.URL.Path != "/vms" && r.URL.Path != "/storage") {
		answer(http.StatusNotFound, provision.WebhookAnswer{State: "failed", Description: "the demo's automation answers POST /vms and POST /storage"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		answer(http.StatusRequestEntityTooLarge, provision.WebhookAnswer{State: "failed", Description: err.Error()})
		return
	}
	if err := provision.Verify(automationSecret, r.Header.Get(provision.SignatureHeader), body, a.Now()); err != nil {
		answer(http.StatusUnauthorized, provision.WebhookAnswer{State: "failed", Description: err.Error()})
		return
	}
	var req struct {
		Type       string         `json:"type"`
		InstanceID string         `json:"instance_id"`
		BindingID  string         `json:"binding_id"`
		Parameters map[string]any `json:"parameters"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		answer(http.StatusBadRequest, provision.WebhookAnswer{State: "failed", Description: "the request is not JSON: " + err.Error()})
		return
	}
	done := provision.WebhookAnswer{State: "succeeded", Description: "done by the demo's automation"}
	switch req.Type {
	case "health", "update", "deprovision", "unbind", "cleanup":
		answer(http.StatusOK, done)
	case "provision":
		answer(http.StatusOK, made(r.URL.Path, req.InstanceID, req.Parameters))
	case "bind":
		key := make([]byte, 16)
		rand.Read(key)
		done.Credentials = map[string]any{"access_key": "demo-" + short(req.BindingID), "secret_key": hex.EncodeToString(key)}
		answer(http.StatusOK, done)
	default:
		answer(http.StatusBadRequest, provision.WebhookAnswer{State: "failed", Description: fmt.Sprintf("the demo's automation does not know requests of type %q", req.Type)})
	}
}

// made is the answer to a provision: where the VM or bucket is, as
// outputs later blueprint steps may use.
func made(path, instanceID string, params map[string]any) provision.WebhookAnswer {
	name := func(key string) string {
		if s, ok := params[key].(string); ok && s != "" {
			return s
		}
		return "demo-" + short(instanceID)
	}
	a := provision.WebhookAnswer{State: "succeeded"}
	if path == "/vms" {
		host := name("hostname") + ".vms.contoso.example"
		a.Description = "VM " + host + " made by the demo's automation"
		a.DashboardURL = "https://console.contoso.example/vms/" + instanceID
		a.Outputs = map[string]any{"hostname": host}
		return a
	}
	bucket := name("bucket_name")
	a.Description = "bucket " + bucket + " made by the demo's automation"
	a.DashboardURL = "https://console.contoso.example/buckets/" + bucket
	a.Outputs = map[string]any{"bucket": bucket, "endpoint": "https://s3.paris.contoso.example/" + bucket}
	return a
}

func short(id string) string {
	if len(id) > 8 {
		return strings.ToLower(id[len(id)-8:])
	}
	return strings.ToLower(id)
}

// ConnectAutomation registers the demo's automation, served at url, as
// the providers internal-vms (bronze VMs) and internal-storage (standard
// buckets), each with its offers, and checks their health. A provider that
// exists already keeps its offers and is only pointed at url (the
// automation listens on a new port at each start). A plan the demo's
// portfolio no longer has is not offered. It runs after Seed, so the
// demo's own orders were made by hand, as tasks.
func ConnectAutomation(ctx context.Context, prov *provision.Service, cat *catalog.Catalog, url string) error {
	sys := access.System()
	for _, ap := range automatedProviders {
		in := provision.ProviderInput{Code: ap.code, Name: ap.name, Kind: provision.KindWebhook, URL: strings.TrimRight(url, "/") + ap.path,
			Secret: automationSecret, Region: ap.region}
		pv, err := prov.Provider(ctx, sys, ap.code)
		switch {
		case errs.Is(err, errs.CodeNotFound):
			if _, err := prov.CreateProvider(ctx, sys, in); err != nil {
				return fmt.Errorf("demo provider %s: %w", ap.code, err)
			}
			for _, p := range ap.plans {
				o, err := cat.Offering(ctx, sys, p.offering)
				if errs.Is(err, errs.CodeNotFound) {
					continue // the demo's portfolio was changed: nothing to offer
				}
				if err != nil {
					return fmt.Errorf("demo offer of %s/%s: %w", p.offering, p.plan, err)
				}
				pl := o.Plan(p.plan)
				if pl == nil {
					continue
				}
				if _, err := prov.SetOffer(ctx, sys, ap.code, provision.OfferInput{Plan: pl.ID, Currency: pl.Currency, Price: p.price, Bindable: p.bindable}); err != nil {
					return fmt.Errorf("demo offer of %s/%s: %w", p.offering, p.plan, err)
				}
			}
		case err != nil:
			return err
		case pv.URL != in.URL:
			in = provision.ProviderInput{Code: pv.Code, Name: pv.Name, Kind: pv.Kind, URL: in.URL, Username: pv.Username, Secret: automationSecret,
				Region: pv.Region, Capacity: pv.Capacity, Agreement: pv.Agreement, Markup: pv.Markup}
			if _, err := prov.UpdateProvider(ctx, sys, pv.ID, in); err != nil {
				return fmt.Errorf("demo provider %s: %w", ap.code, err)
			}
		}
		if _, err := prov.Check(ctx, sys, ap.code); err != nil {
			return fmt.Errorf("demo provider %s: %w", ap.code, err)
		}
	}
	return nil
}
