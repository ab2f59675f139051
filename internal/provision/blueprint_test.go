package provision_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/osb/osbtest"
	"github.com/steward-itaas/steward/internal/portfolio"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// appStack makes a database at an OSB peer, then storage at a webhook
// provider that is told the database's ID.
const appStack = `blueprint: app-stack
name: Application stack
inputs:
  app_name:
    type: string
    required: true
    pattern: "^[a-z][a-z0-9-]+$"
  tier:
    type: string
    default: standard
steps:
  - name: database
    provider: peer
    plan: peer-test-db/small
    parameters:
      db_name: ${inputs.app_name}
      owner: ${instance.owner}
  - name: storage
    provider: automation
    plan: bucket/standard
    parameters:
      bucket_name: ${inputs.app_name + "-files"}
      database: ${steps.database.id}
outputs:
  dashboard_url: ${steps.database.dashboard_url}
  endpoint: ${steps.storage.outputs.endpoint}
  tier: ${inputs.tier}
`

// hook is a webhook provider whose answer to provision is set per test.
type hook struct {
	*httptest.Server
	mu       sync.Mutex
	answer   string // the body answering provision
	status   int
	requests []map[string]any
}

func newHook(t *testing.T, key string) *hook {
	h := &hook{answer: `{"state":"succeeded"}`, status: 200}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := provision.Verify(key, r.Header.Get(provision.SignatureHeader), body, time.Now()); err != nil {
			w.WriteHeader(401)
			return
		}
		var req map[string]any
		json.Unmarshal(body, &req)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.requests = append(h.requests, req)
		if req["type"] == "provision" {
			w.WriteHeader(h.status)
			fmt.Fprint(w, strings.ReplaceAll(h.answer, "$ID", fmt.Sprint(req["instance_id"])))
			return
		}
		w.Write([]byte(`{"state":"succeeded"}`))
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) set(status int, answer string) {
	h.mu.Lock()
	h.status, h.answer = status, answer
	h.mu.Unlock()
}

// seen lists "type instance_id" of the requests received.
func (h *hook) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.requests {
		if r["type"] != "health" {
			out = append(out, fmt.Sprint(r["type"], " ", r["instance_id"]))
		}
	}
	return out
}

func (h *hook) last(kind string) map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.requests) - 1; i >= 0; i-- {
		if h.requests[i]["type"] == kind {
			return h.requests[i]
		}
	}
	return nil
}

// stackEnv registers the peer broker and the webhook provider, uploads
// app-stack and offers it as the plan "standard" of the offering app-stack.
func stackEnv(t *testing.T) (*env, *osbtest.Broker, *hook) {
	e := newEnv(t)
	br := osbtest.NewBroker(t, osbtest.Behaviour{Polls: 1})
	e.peer(br, "peer", "0")
	const key = "webhook-signing-secret-0123"
	h := newHook(t, key)
	sofia := e.as("sofia@it.contoso.example")
	_, bucket := e.webhookBuckets(h, key)
	bp, created, err := e.a.Provision.UploadBlueprint(e.ctx, sofia, provision.BlueprintInput{Source: appStack, Note: "first"})
	if err != nil || !created || bp.Ref() != "app-stack@1" {
		t.Fatalf("upload = %+v, %v, %v", bp, created, err)
	}
	petra := e.as("petra@it.contoso.example")
	if _, err := e.a.Catalog.CreateOffering(e.ctx, petra, stackOffering(bucket.ServiceID, "app-stack@1")); err != nil {
		t.Fatal(err)
	}
	return e, br, h
}

func stackOffering(serviceID, ref string) catalog.OfferingInput {
	return catalog.OfferingInput{Code: "app-stack", ServiceID: serviceID, Name: "Application stack",
		FormSchema: json.RawMessage(`{"type":"object","required":["app_name"],"properties":{"app_name":{"type":"string","title":"Application name"}}}`),
		Plans:      []catalog.PlanInput{{Code: "standard", Name: "Standard", Currency: "EUR", Recurring: "50.00", Blueprint: ref}}}
}

func (e *env) components(instanceID string) []*provision.Component {
	e.t.Helper()
	csPage, err := e.a.Provision.Components(e.ctx, access.System(), instanceID, sqldb.Page{})
	cs := csPage.Items
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

func states(cs []*provision.Component) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Step+":"+string(c.State))
	}
	return strings.Join(out, " ")
}

// TestBlueprintLifecycle: the steps run in order, the second gets the
// first's results, the outputs reach the instance; deprovisioning deletes
// the components in reverse order.
func TestBlueprintLifecycle(t *testing.T) {
	e, br, h := stackEnv(t)
	h.set(200, `{"state":"succeeded","dashboard_url":"https://files.test/$ID","outputs":{"endpoint":"https://files.test/$ID/s3"}}`)
	o, inst := e.order("app-stack", "standard", map[string]any{"app_name": "shop"})
	if inst.State != orders.InstanceProvisioning || inst.Blueprint != "app-stack@1" || inst.ProviderID != "" {
		t.Fatalf("opened instance = %+v", inst)
	}
	e.drain()
	st, inst := e.state(o)
	cs := e.components(inst.ID)
	if st != orders.StateCompleted || inst.State != orders.InstanceActive || states(cs) != "database:ready storage:ready" {
		t.Fatalf("after the steps: order %s, instance %s, components %s", st, inst.State, states(cs))
	}
	db, files := cs[0], cs[1]
	// The database was made at the peer under the component's ID, with rendered parameters.
	got := br.Instances()[db.ID]
	if got.PlanID != br.SmallPlan || got.Parameters["db_name"] != "shop" || got.Parameters["owner"] != "dana@contoso.example" {
		t.Fatalf("at the peer: %+v (all: %v)", got, br.Instances())
	}
	// The storage step was told the database's ID.
	req := h.last("provision")
	params, _ := req["parameters"].(map[string]any)
	if req["instance_id"] != files.ID || params["bucket_name"] != "shop-files" || params["database"] != db.ID {
		t.Fatalf("the webhook got %v", req)
	}
	want := map[string]any{"dashboard_url": "https://db.test/" + db.ID, "endpoint": "https://files.test/" + files.ID + "/s3", "tier": "standard"}
	if !reflect.DeepEqual(inst.Outputs, want) || inst.DashboardURL != want["dashboard_url"] {
		t.Fatalf("outputs = %v (dashboard %s), want %v", inst.Outputs, inst.DashboardURL, want)
	}
	if files.Outputs["endpoint"] == nil || files.Provider != "automation" || db.Provider != "peer" {
		t.Fatalf("components = %+v %+v", db, files)
	}
	opsPage, err := e.a.Provision.Operations(e.ctx, access.System(), inst.ID, sqldb.Page{})
	ops := opsPage.Items
	if err != nil || len(ops) != 2 || ops[1].Step != "database" || ops[0].Step != "storage" || ops[0].State != provision.OpSucceeded {
		t.Fatalf("operations = %+v, %v", ops, err)
	}
	// A blueprint's instance changes plan only by a new order; it has no bindings of its own.
	dana := e.as("dana@contoso.example")
	if _, err := e.a.Provision.CreateBinding(e.ctx, dana, inst.ID, provision.BindingInput{}); !errs.Is(err, errs.CodeInvalid) {
		t.Fatalf("binding a blueprint's instance: %v", err)
	}
	ch, err := e.a.Orders.RequestChange(e.ctx, dana, inst.ID, orders.ChangeInput{Plan: "standard", Parameters: map[string]any{"app_name": "shop2"}})
	if err != nil {
		t.Fatal(err)
	}
	if ch, _ = e.a.Orders.Order(e.ctx, access.System(), ch.ID); ch.State != orders.StateFailed {
		t.Fatalf("change order = %s", ch.State)
	}

	// Deprovision: storage first, then the database.
	before := len(h.seen())
	d, err := e.a.Orders.RequestDeprovision(e.ctx, dana, inst.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	e.drain()
	d, _ = e.a.Orders.Order(e.ctx, access.System(), d.ID)
	_, inst = e.state(o)
	if d.State != orders.StateCompleted || inst.State != orders.InstanceDeprovisioned || states(e.components(inst.ID)) != "database:deleted storage:deleted" {
		t.Fatalf("after deprovision: order %s, instance %s, components %s", d.State, inst.State, states(e.components(inst.ID)))
	}
	if len(br.Instances()) != 0 || !reflect.DeepEqual(h.seen()[before:], []string{"deprovision " + files.ID}) {
		t.Fatalf("left at the peer: %v; webhook saw %v", br.Instances(), h.seen()[before:])
	}
	opsPage, _ = e.a.Provision.Operations(e.ctx, access.System(), inst.ID, sqldb.Page{})
	ops = opsPage.Items
	var deletes []string
	for i := len(ops) - 1; i >= 0; i-- {
		if ops[i].Kind == provision.OpDeprovision {
			deletes = append(deletes, ops[i].Step)
		}
	}
	if !reflect.DeepEqual(deletes, []string{"storage", "database"}) {
		t.Fatalf("deleted in the order %v, want storage then database", deletes)
	}
}

// TestBlueprintSurvivesRestart: Steward stops while the first step is in
// progress at the peer; started again, it polls on and runs the rest.
func TestBlueprintSurvivesRestart(t *testing.T) {
	e, br, h := stackEnv(t)
	h.set(200, `{"state":"succeeded","outputs":{"endpoint":"e"}}`)
	o, inst := e.order("app-stack", "standard", map[string]any{"app_name": "shop"})
	var ops []*provision.Operation
	for i := 0; i < 50; i++ {
		opsPage, _ := e.a.Provision.Operations(e.ctx, access.System(), inst.ID, sqldb.Page{})
		if ops = opsPage.Items; len(ops) == 1 && ops[0].State == provision.OpInProgress {
			break
		}
		e.a.Jobs.RunOne(e.ctx)
	}
	if len(ops) != 1 || ops[0].State != provision.OpInProgress || len(br.Instances()) != 1 || states(e.components(inst.ID)) != "database:provisioning storage:pending" {
		t.Fatalf("before the restart: %s, operations %+v", states(e.components(inst.ID)), ops)
	}
	e.restart()
	e.drain()
	st, inst := e.state(o)
	if st != orders.StateCompleted || states(e.components(inst.ID)) != "database:ready storage:ready" || inst.Outputs["endpoint"] != "e" {
		t.Fatalf("after the restart: order %s, components %s, outputs %v", st, states(e.components(inst.ID)), inst.Outputs)
	}
}

// TestBlueprintCompensation: when a step fails, the steps before it are
// deleted in reverse order, the ones after it never run, and the order
// fails saying why; an unknown outcome also cleans up the failed step.
func TestBlueprintCompensation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		answer  string
		cleanup bool // the failed step's outcome was unknown: orphan mitigation
		why     string
	}{
		{"step fails", 200, `{"state":"failed","description":"no space left"}`, false, "no space left"},
		{"step refused", 422, `{"description":"bucket name taken"}`, false, "bucket name taken"},
		{"step unknown", 502, `gateway down`, true, "502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, br, h := stackEnv(t)
			h.set(tc.status, tc.answer)
			o, _ := e.order("app-stack", "standard", map[string]any{"app_name": "shop"})
			e.drain()
			st, inst := e.state(o)
			cs := e.components(inst.ID)
			if st != orders.StateFailed || inst.State != orders.InstanceFailed || states(cs) != "database:deleted storage:failed" {
				t.Fatalf("order %s, instance %s, components %s", st, inst.State, states(cs))
			}
			if len(br.Instances()) != 0 {
				t.Fatalf("the database was left at the peer: %v", br.Instances())
			}
			if !strings.Contains(cs[1].Note, tc.why) {
				t.Fatalf("the failed step says %q, want it to mention %q", cs[1].Note, tc.why)
			}
			evs, _ := e.a.Orders.Events(e.ctx, access.System(), o.ID)
			if last := evs[len(evs)-1].Comment; !strings.Contains(last, "step storage failed: ") || !strings.Contains(last, tc.why) ||
				!strings.HasSuffix(last, "deleted in reverse order: database") {
				t.Fatalf("the order's last event says %q", last)
			}
			cleaned := false
			for _, s := range h.seen() {
				cleaned = cleaned || s == "cleanup "+cs[1].ID
			}
			if cleaned != tc.cleanup {
				t.Fatalf("orphan mitigation of the failed step: %v, want %v (webhook saw %v)", cleaned, tc.cleanup, h.seen())
			}
		})
	}
}

// TestBlueprintStepWithoutProvider: a step naming no provider is placed by
// the plan's placement policy; inputs that do not fit fail the order at
// once, with nothing made.
func TestBlueprintPlacementAndInputs(t *testing.T) {
	e, br, _ := stackEnv(t)
	sofia := e.as("sofia@it.contoso.example")
	src := strings.Replace(strings.Replace(appStack, "    provider: peer\n", "", 1), "  - name: storage", "  - name: unused", 1)
	src = src[:strings.Index(src, "  - name: unused")] + "outputs:\n  db: ${steps.database.id}\n"
	bp, created, err := e.a.Provision.UploadBlueprint(e.ctx, sofia, provision.BlueprintInput{Source: src})
	if err != nil || !created || bp.Version != 2 {
		t.Fatalf("second version = %+v, %v, %v", bp, created, err)
	}
	petra := e.as("petra@it.contoso.example")
	off, _ := e.a.Catalog.Offering(e.ctx, access.System(), "app-stack")
	if _, err := e.a.Catalog.UpdateOffering(e.ctx, petra, off.ID, stackOffering(off.ServiceID, "app-stack@2")); err != nil {
		t.Fatal(err)
	}
	o, _ := e.order("app-stack", "standard", map[string]any{"app_name": "shop"})
	e.drain()
	st, inst := e.state(o)
	cs := e.components(inst.ID)
	if st != orders.StateCompleted || len(cs) != 1 || cs[0].Provider != "peer" || cs[0].Placement == nil || inst.Outputs["db"] != cs[0].ID {
		t.Fatalf("order %s, components %+v, outputs %v", st, cs, inst.Outputs)
	}
	if len(br.Instances()) != 1 {
		t.Fatalf("at the peer: %v", br.Instances())
	}
	// app_name breaks the blueprint's pattern: the order form allows it, the blueprint does not.
	o, _ = e.order("app-stack", "standard", map[string]any{"app_name": "Shop!"})
	e.drain()
	st, inst = e.state(o)
	if st != orders.StateFailed || len(e.components(inst.ID)) != 0 || len(br.Instances()) != 1 {
		t.Fatalf("bad input: order %s, components %d, at the peer %d", st, len(e.components(inst.ID)), len(br.Instances()))
	}
	evs, _ := e.a.Orders.Events(e.ctx, access.System(), o.ID)
	if last := evs[len(evs)-1].Comment; !strings.Contains(last, "do not fit blueprint app-stack") || !strings.Contains(last, "pattern") {
		t.Fatalf("the order's last event says %q", last)
	}
}

// TestBlueprintUpload: what an upload checks against Steward, with lines;
// versions; what a plan may name.
func TestBlueprintUpload(t *testing.T) {
	e, _, _ := stackEnv(t)
	sofia := e.as("sofia@it.contoso.example")
	// The same source again is the same version.
	bp, created, err := e.a.Provision.UploadBlueprint(e.ctx, sofia, provision.BlueprintInput{Source: appStack})
	if err != nil || created || bp.Version != 1 || !reflect.DeepEqual(bp.Plans, []string{"app-stack/standard"}) || len(bp.Steps) != 2 {
		t.Fatalf("re-upload = %+v, %v, %v", bp, created, err)
	}
	bad := strings.NewReplacer("provider: peer", "provider: nowhere", "plan: bucket/standard", "plan: bucket/premium").Replace(appStack)
	_, _, err = e.a.Provision.UploadBlueprint(e.ctx, sofia, provision.BlueprintInput{Source: bad})
	var lines []int
	for _, f := range errs.As(err).Fields {
		lines = append(lines, f.Line)
	}
	if !errs.Is(err, errs.CodeInvalid) || !reflect.DeepEqual(lines, []int{13, 20}) {
		t.Fatalf("bad references: %v (lines %v, want 13 and 20)", err, lines)
	}
	// Nothing was stored.
	if vs, _ := e.a.Provision.BlueprintVersions(e.ctx, sofia, "app-stack", sqldb.Page{}); len(vs.Items) != 1 {
		t.Fatalf("versions after refused uploads = %d", len(vs.Items))
	}
	dana := e.as("dana@contoso.example")
	if _, _, err := e.a.Provision.UploadBlueprint(e.ctx, dana, provision.BlueprintInput{Source: appStack}); !errs.Is(err, errs.CodeForbidden) {
		t.Fatalf("a consumer uploaded a blueprint: %v", err)
	}
	// A plan names a version that exists, whose needed inputs its form asks for.
	petra := e.as("petra@it.contoso.example")
	off, _ := e.a.Catalog.Offering(e.ctx, access.System(), "app-stack")
	if _, err := e.a.Catalog.UpdateOffering(e.ctx, petra, off.ID, stackOffering(off.ServiceID, "app-stack@9")); !errs.Is(err, errs.CodeInvalid) ||
		!strings.Contains(err.Error(), "has not been uploaded") {
		t.Fatalf("a plan named a missing version: %v", err)
	}
	in := stackOffering(off.ServiceID, "app-stack@1")
	in.FormSchema = json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}}}`)
	if _, err := e.a.Catalog.UpdateOffering(e.ctx, petra, off.ID, in); !errs.Is(err, errs.CodeInvalid) || !strings.Contains(err.Error(), "needs the input app_name") {
		t.Fatalf("a form without the blueprint's input: %v", err)
	}
	got, _ := e.a.Catalog.Offering(e.ctx, access.System(), "app-stack")
	if got.Plans[0].Blueprint != "app-stack@1" {
		t.Fatalf("plan blueprint = %q", got.Plans[0].Blueprint)
	}
	// The portfolio as YAML carries the plan's blueprint, and imports it back unchanged.
	svcs := portfolio.Services{Identity: e.a.Identity, Catalog: e.a.Catalog, Orders: e.a.Orders}
	yml, err := portfolio.Export(e.ctx, svcs, petra)
	if err != nil || !strings.Contains(string(yml), "blueprint: app-stack@1") {
		t.Fatalf("export: %v\n%s", err, yml)
	}
	if changes, err := portfolio.Import(e.ctx, svcs, petra, "p.yaml", yml, true); err != nil || len(changes) != 0 {
		t.Fatalf("importing the export: %v %v", changes, err)
	}
	edited := strings.Replace(string(yml), "blueprint: app-stack@1", "blueprint: app-stack@7", 1)
	if _, err := portfolio.Import(e.ctx, svcs, petra, "p.yaml", []byte(edited), false); err == nil || !strings.Contains(err.Error(), "app-stack@7 has not been uploaded") {
		t.Fatalf("importing a plan naming a missing version: %v", err)
	}
}

// webhookBuckets registers the webhook provider "automation" at h, signing
// with key, and offers it the bucket offering's first plan.
func (e *env) webhookBuckets(h *hook, key string) (*provision.Provider, *catalog.Offering) {
	e.t.Helper()
	sofia := e.as("sofia@it.contoso.example")
	pv, err := e.a.Provision.CreateProvider(e.ctx, sofia, provision.ProviderInput{Code: "automation", Name: "Automation", Kind: provision.KindWebhook, URL: h.URL, Secret: key})
	if err != nil {
		e.t.Fatal(err)
	}
	bucket, err := e.a.Catalog.Offering(e.ctx, access.System(), "bucket")
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.a.Provision.SetOffer(e.ctx, sofia, pv.ID, provision.OfferInput{Plan: bucket.Plans[0].ID, Currency: bucket.Plans[0].Currency, Price: "1.00"}); err != nil {
		e.t.Fatal(err)
	}
	return pv, bucket
}
