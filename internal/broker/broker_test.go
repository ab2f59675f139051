package broker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/broker"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/osb"
	"github.com/steward-itaas/steward/internal/osb/osbtest"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

var testKey = bytes.Repeat([]byte{9}, 32)

func seeded(t *testing.T, cfg sqldb.Config) *app.App {
	t.Helper()
	return seededLogging(t, cfg, slog.New(slog.DiscardHandler))
}

// seededLogging is seeded with the app's log going to log.
func seededLogging(t *testing.T, cfg sqldb.Config, log *slog.Logger) *app.App {
	t.Helper()
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Database: cfg, SecretKey: testKey, WorkerID: t.Name()}, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing, SLA: a.SLA}); err != nil {
		t.Fatal(err)
	}
	a.Provision.MinPoll, a.Provision.MaxPoll = 20*time.Millisecond, 100*time.Millisecond
	return a
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

// platformUnit makes an org unit with a chargeback account and registers a platform on it.
func platformUnit(t *testing.T, a *app.App, code, name string) (*broker.Platform, string) {
	t.Helper()
	ctx := context.Background()
	ou, err := a.Identity.CreateOrgUnit(ctx, access.System(), identity.CreateOrgUnitInput{Kind: identity.OrgUnitExternalCustomer, Code: code, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Billing.SaveAccount(ctx, access.System(), billing.AccountInput{OrgUnit: ou.ID, Mode: billing.Chargeback, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	pl, err := a.Broker.Register(ctx, principal(t, a, "admin@it.contoso.example"), broker.PlatformInput{Name: strings.ToLower(code), OrgUnitID: ou.ID})
	if err != nil {
		t.Fatal(err)
	}
	return pl, ou.ID
}

func broker_(t *testing.T, a *app.App, code string) *catalog.Offering {
	t.Helper()
	ctx := context.Background()
	off, err := a.Catalog.Offering(ctx, access.System(), code)
	if err != nil {
		t.Fatal(err)
	}
	in := off.Input()
	in.Brokered = true
	if off, err = a.Catalog.UpdateOffering(ctx, access.System(), off.ID, in); err != nil {
		t.Fatal(err)
	}
	return off
}

// platform is an OSB platform talking to Steward's /osb, checking every
// exchange against the OSB spec (osbtest.Validator: the spec's openapi.yaml
// with the answers its prose adds).
type platform struct {
	t          *testing.T
	base       string
	user, pass string
	v          *osbtest.Validator
	identity   string
	// version is the X-Broker-API-Version sent; "" sends osb.Version, "-" none.
	version string
}

type answer struct {
	status int
	body   map[string]any
	header http.Header
}

// call sends a request the spec allows and checks the answer's status and
// that the answer is one the spec allows.
func (p *platform) call(method, path string, body any, want int) answer {
	p.t.Helper()
	return p.exchange(method, path, body, want, true)
}

// bad sends a request the spec forbids (by its openapi.yaml or by its
// prose, which is stricter in places: a REQUIRED string "MUST be a
// non-empty string"), and checks the answer as call does.
func (p *platform) bad(method, path string, body any, want int) answer {
	p.t.Helper()
	return p.exchange(method, path, body, want, false)
}

func (p *platform) exchange(method, path string, body any, want int, inSpec bool) answer {
	p.t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, p.base+path, bytes.NewReader(raw))
	switch p.version {
	case "":
		req.Header.Set(osb.HeaderVersion, osb.Version)
	case "-":
	default:
		req.Header.Set(osb.HeaderVersion, p.version)
	}
	req.Header.Set(osb.HeaderRequestIdentity, "req-1")
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if p.identity != "" {
		req.Header.Set(osb.HeaderOriginatingID, p.identity)
	}
	req.SetBasicAuth(p.user, p.pass)
	if err := p.v.Request(req, raw); inSpec && err != nil {
		p.t.Fatalf("%s %s: the request breaks the OSB spec: %v", method, path, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		p.t.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, got, want)
	}
	if err := p.v.Response(req, raw, res.StatusCode, res.Header, got); err != nil {
		p.t.Fatalf("%s %s: the %d answer breaks the OSB spec: %v\n%s", method, path, res.StatusCode, err, got)
	}
	if res.Header.Get(osb.HeaderRequestIdentity) != "req-1" {
		p.t.Fatalf("%s %s: the request identity was not echoed", method, path)
	}
	var m map[string]any
	json.Unmarshal(got, &m)
	return answer{res.StatusCode, m, res.Header}
}

// fixture is Steward serving over HTTP with the offering peer-test-db
// brokered (a peer broker makes its instances) and a platform registered
// for the org unit K8S.
type fixture struct {
	t            *testing.T
	a            *app.App
	peer         *osbtest.Broker
	off          *catalog.Offering
	pl           *broker.Platform
	unit         string
	p            *platform
	small, large string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	a := seeded(t, sqldbtest.Config(t))
	t.Cleanup(func() { a.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	peer := osbtest.NewBroker(t, osbtest.Behaviour{Polls: 1})
	sofia := principal(t, a, "sofia@it.contoso.example")
	pv, err := a.Provision.CreateProvider(ctx, sofia, provision.ProviderInput{Code: "peer", Name: "Peer", Kind: provision.KindOSB, URL: peer.URL,
		Username: peer.Username, Secret: peer.Password})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Provision.Sync(ctx, sofia, pv.ID); err != nil {
		t.Fatal(err)
	}
	off := broker_(t, a, "peer-test-db")
	pl, unit := platformUnit(t, a, "K8S", "Kubernetes tenants")
	p := &platform{t: t, base: srv.URL + "/osb", user: pl.Username, pass: pl.Password, v: osbtest.NewValidator(t, srv.URL+"/osb")}
	return &fixture{t: t, a: a, peer: peer, off: off, pl: pl, unit: unit, p: p, small: off.Plan("small").ID, large: off.Plan("large").ID}
}

// provisionBody is a provision request for the plan, as a platform sends it.
func (f *fixture) provisionBody(plan string) map[string]any {
	return map[string]any{"service_id": f.off.ID, "plan_id": plan, "organization_guid": "org-1", "space_guid": "space-1",
		"context": map[string]any{"platform": "kubernetes", "namespace": "shop"}}
}

// provisioned provisions instance id on the small plan and waits for it.
func (f *fixture) provisioned(id string) {
	f.t.Helper()
	f.p.call("PUT", "/v2/service_instances/"+id+"?accepts_incomplete=true", f.provisionBody(f.small), 202)
	runJobs(f.t, f.a)
	if lo := f.p.call("GET", "/v2/service_instances/"+id+"/last_operation", nil, 200); lo.body["state"] != "succeeded" {
		f.t.Fatalf("provisioning %s: last_operation = %v", id, lo.body)
	}
}

// bound binds b to instance id and waits for the binding.
func (f *fixture) bound(id, b string) {
	f.t.Helper()
	f.p.call("PUT", "/v2/service_instances/"+id+"/service_bindings/"+b+"?accepts_incomplete=true", map[string]any{"service_id": f.off.ID, "plan_id": f.small}, 202)
	runJobs(f.t, f.a)
	f.p.call("GET", "/v2/service_instances/"+id+"/service_bindings/"+b, nil, 200)
}

func runJobs(t *testing.T, a *app.App) {
	t.Helper()
	for idle := 0; idle < 10; {
		ran, err := a.Jobs.RunOne(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ran {
			idle = 0
		} else {
			idle++
			time.Sleep(25 * time.Millisecond)
		}
	}
}

// TestBrokerConformsToOSB is a platform provisioning, binding, updating and
// deprovisioning through Steward's /osb, every exchange checked against the
// OSB 2.17 openapi.yaml; the instance is made by a peer broker over HTTP,
// and its usage lands on the platform's org unit's bill.
func TestBrokerConformsToOSB(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a, p, off, peer, pl, unit := f.a, f.p, f.off, f.peer, f.pl, f.unit

	cat := p.call("GET", "/v2/catalog", nil, 200)
	var listed map[string]any
	names := []string{}
	for _, s := range cat.body["services"].([]any) {
		svc := s.(map[string]any)
		names = append(names, svc["name"].(string))
		if svc["id"] == off.ID {
			listed = svc
		}
	}
	// The demo brokers its VMs and buckets; the file shares are not brokered.
	if listed == nil || !listed["bindable"].(bool) || strings.Join(names, ",") != "bucket,vm,peer-test-db" {
		t.Fatalf("catalog lists %v; want the brokered offerings, the peer's bindable", names)
	}
	small, large := f.small, f.large
	prov := f.provisionBody(small)

	p.call("PUT", "/v2/service_instances/inst-1", prov, 422) // no accepts_incomplete
	op := p.call("PUT", "/v2/service_instances/inst-1?accepts_incomplete=true", prov, 202).body["operation"].(string)
	p.call("PUT", "/v2/service_instances/inst-1?accepts_incomplete=true", prov, 202)
	other := map[string]any{"service_id": off.ID, "plan_id": large, "organization_guid": "org-1", "space_guid": "space-1"}
	p.call("PUT", "/v2/service_instances/inst-1?accepts_incomplete=true", other, 409)
	p.call("PUT", "/v2/service_instances/inst-x?accepts_incomplete=true", map[string]any{"service_id": "nope", "plan_id": small,
		"organization_guid": "o", "space_guid": "s"}, 400)
	lo := p.call("GET", "/v2/service_instances/inst-1/last_operation?operation="+op, nil, 200)
	if lo.body["state"] != "in progress" {
		t.Fatalf("last_operation before the peer finished = %v", lo.body)
	}
	p.call("GET", "/v2/service_instances/inst-1", nil, 404)
	p.call("GET", "/v2/service_instances/nope/last_operation", nil, 404)
	runJobs(t, a)
	if lo = p.call("GET", "/v2/service_instances/inst-1/last_operation", nil, 200); lo.body["state"] != "succeeded" {
		t.Fatalf("last_operation after = %v", lo.body)
	}
	got := p.call("GET", "/v2/service_instances/inst-1", nil, 200)
	instanceID := got.body["metadata"].(map[string]any)["labels"].(map[string]any)["steward_instance_id"].(string)
	if got.body["plan_id"] != small {
		t.Fatalf("fetched instance = %v", got.body)
	}
	p.call("PUT", "/v2/service_instances/inst-1?accepts_incomplete=true", prov, 200)
	inst, err := a.Orders.Instance(ctx, access.System(), instanceID)
	if err != nil || inst.OrgUnitID != unit || inst.PlatformID != pl.ID {
		t.Fatalf("the instance is for org unit %s (platform %q), want the platform's %s: %v", inst.OrgUnitID, inst.PlatformID, unit, err)
	}

	// Bind, through the peer.
	bind := map[string]any{"service_id": off.ID, "plan_id": small}
	p.call("PUT", "/v2/service_instances/inst-1/service_bindings/b-1", bind, 422)
	p.call("PUT", "/v2/service_instances/inst-1/service_bindings/b-1?accepts_incomplete=true", bind, 202)
	if lo = p.call("GET", "/v2/service_instances/inst-1/service_bindings/b-1/last_operation", nil, 200); lo.body["state"] != "in progress" {
		t.Fatalf("binding last_operation = %v", lo.body)
	}
	p.call("GET", "/v2/service_instances/inst-1/service_bindings/b-1", nil, 404)
	runJobs(t, a)
	p.call("GET", "/v2/service_instances/inst-1/service_bindings/b-1/last_operation", nil, 200)
	creds := p.call("GET", "/v2/service_instances/inst-1/service_bindings/b-1", nil, 200).body["credentials"].(map[string]any)
	if !strings.HasPrefix(creds["uri"].(string), "postgres://") {
		t.Fatalf("credentials = %v", creds)
	}
	p.call("PUT", "/v2/service_instances/inst-1/service_bindings/b-1?accepts_incomplete=true", bind, 200)

	// Usage of the instance lands on the platform's org unit's bill.
	ev := map[string]any{"specversion": "1.0", "id": "u-1", "source": "k8s/meter", "type": "com.contoso.api.called", "subject": instanceID,
		"time": time.Now().UTC().Format(time.RFC3339), "datacontenttype": "application/json", "data": map[string]any{"calls": 5000, "method": "GET"}}
	body, _ := json.Marshal(ev)
	h := http.Header{"Content-Type": {"application/cloudevents+json"}}
	reqs, err := a.Metering.Parse(h, body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Metering.Ingest(ctx, access.System(), reqs); err != nil {
		t.Fatal(err)
	}
	run, err := a.Billing.StartRun(ctx, principal(t, a, "felix@it.contoso.example"), time.Now().UTC().Format("2006-01"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Billing.Execute(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	docsPage, err := a.Billing.Documents(ctx, access.System(), billing.DocumentFilter{})
	docs := docsPage.Items
	if err != nil {
		t.Fatal(err)
	}
	billed := false
	for _, d := range docs {
		full, _ := a.Billing.Document(ctx, access.System(), d.ID)
		for _, l := range full.Lines {
			if l.InstanceID == instanceID {
				billed = true
				if d.OrgUnitID != unit {
					t.Errorf("the instance's line is on %s's document, want the platform's org unit", d.OrgUnitName)
				}
			}
		}
	}
	if !billed {
		t.Fatal("no document carries the instance")
	}

	// Update the plan, unbind, deprovision.
	upd := map[string]any{"service_id": off.ID, "plan_id": large}
	p.call("PATCH", "/v2/service_instances/inst-1", upd, 422)
	p.call("PATCH", "/v2/service_instances/inst-1?accepts_incomplete=true", upd, 202)
	runJobs(t, a)
	if got := p.call("GET", "/v2/service_instances/inst-1", nil, 200); got.body["plan_id"] != large {
		t.Fatalf("after the update: %v", got.body)
	}
	p.call("DELETE", "/v2/service_instances/inst-1/service_bindings/b-1?accepts_incomplete=true&service_id="+off.ID+"&plan_id="+large, nil, 202)
	runJobs(t, a)
	p.call("GET", "/v2/service_instances/inst-1/service_bindings/b-1/last_operation", nil, 410)
	p.call("DELETE", "/v2/service_instances/inst-1/service_bindings/b-1?accepts_incomplete=true&service_id="+off.ID+"&plan_id="+large, nil, 410)
	del := p.call("DELETE", "/v2/service_instances/inst-1?accepts_incomplete=true&service_id="+off.ID+"&plan_id="+large, nil, 202).body["operation"].(string)
	runJobs(t, a)
	if lo = p.call("GET", "/v2/service_instances/inst-1/last_operation?operation="+del, nil, 200); lo.body["state"] != "succeeded" {
		t.Fatalf("deprovision last_operation = %v", lo.body)
	}
	p.call("DELETE", "/v2/service_instances/inst-1?accepts_incomplete=true&service_id="+off.ID+"&plan_id="+large, nil, 410)
	if n := len(peer.Instances()); n != 0 {
		t.Fatalf("the peer still holds %d instances", n)
	}

	// Authentication.
	bad := &platform{t: t, base: p.base, user: pl.Username, pass: "wrong", v: p.v}
	bad.call("PUT", "/v2/service_instances/inst-2?accepts_incomplete=true", prov, 401)
	_ = metering.Sum
}
