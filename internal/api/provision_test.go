package api_test

import (
	"bytes"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/api"

	"github.com/steward-itaas/steward/internal/osb/osbtest"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// runJobs runs due jobs until none is left: provider operations poll
// within milliseconds here.
func runJobs(t *testing.T, e *env) {
	t.Helper()
	e.app.Provision.MinPoll, e.app.Provision.MaxPoll = time.Millisecond, 5*time.Millisecond
	for idle := 0; idle < 10; {
		ran, err := e.app.Jobs.RunOne(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if ran {
			idle = 0
		} else {
			idle++
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// provisionScenario drives the provider, placement, instance day-2,
// binding and platform routes against a test OSB broker over HTTP.
func provisionScenario(t *testing.T, e *env, retail string) {
	c := e.check
	br := osbtest.NewBroker(t, osbtest.Behaviour{Polls: 1})
	_, sofia := e.user(t, "sofia@example.com", retail, map[string]any{"role": "supplier_manager", "scope_kind": "global"})
	_, buyer := e.user(t, "peer-buyer@example.com", retail, map[string]any{"role": "consumer", "scope_kind": "org_unit", "scope_id": retail})
	_, outsider := e.user(t, "nosy@example.com", retail)

	in := map[string]any{"code": "peer", "name": "Peer cloud", "kind": "osb", "url": br.URL, "username": br.Username, "secret": br.Password, "markup": "10"}
	c.do("POST", "/api/v1/providers", buyer, in, 403)
	if f := c.bad("POST", "/api/v1/providers", sofia, map[string]any{"code": "Bad Code", "name": "x", "kind": "ftp", "url": "nope"}, 422).problemFields(); len(f) != 3 {
		t.Errorf("a bad provider: fields %v, want code, kind, url", f)
	}
	var pv struct {
		ID        string `json:"id"`
		HasSecret bool   `json:"has_secret"`
		Health    string `json:"health"`
	}
	c.do("POST", "/api/v1/providers", sofia, in, 201).decode(t, &pv)
	if !pv.HasSecret {
		t.Error("the provider has no secret")
	}
	c.do("GET", "/api/v1/providers", sofia, nil, 200)
	c.do("GET", "/api/v1/providers/peer", sofia, nil, 200)
	in["name"], in["secret"] = "Peer cloud (EU)", ""
	c.do("PUT", "/api/v1/providers/"+pv.ID, sofia, in, 200)
	c.do("POST", "/api/v1/providers/"+pv.ID+"/check", sofia, nil, 200).decode(t, &pv)
	if pv.Health != "healthy" {
		t.Errorf("health after a check = %s (the password must survive an update with an empty secret)", pv.Health)
	}
	var rep struct {
		Offerings []string `json:"offerings"`
	}
	c.do("POST", "/api/v1/providers/"+pv.ID+"/sync", sofia, nil, 200).decode(t, &rep)
	if len(rep.Offerings) != 1 || rep.Offerings[0] != "peer-test-db" {
		t.Fatalf("sync = %+v", rep)
	}
	var off struct {
		ID    string `json:"id"`
		Plans []struct {
			ID, Code, Recurring string
		} `json:"plans"`
	}
	c.do("GET", "/api/v1/catalog/offerings/peer-test-db", buyer, nil, 200).decode(t, &off)
	c.do("PUT", "/api/v1/providers/"+pv.ID+"/offers", sofia, map[string]any{"plan": off.Plans[0].ID, "remote_service_id": br.ServiceID,
		"remote_plan_id": br.SmallPlan, "currency": "EUR", "price": "10.00", "bindable": true, "plan_updateable": true}, 200)
	c.do("GET", "/api/v1/placement-policies", sofia, nil, 200)
	c.do("PUT", "/api/v1/placement-policies/"+off.ID, sofia, map[string]any{"filter": "provider.healthy", "rank": "provider.price_minor"}, 200)
	if f := c.bad("PUT", "/api/v1/placement-policies/"+off.ID, sofia, map[string]any{"filter": "provider.(", "rank": "1"}, 422).problemFields(); len(f) != 1 || f[0] != "filter" {
		t.Errorf("a filter that does not compile: %v", f)
	}

	var o struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Items []struct {
			InstanceID string `json:"instance_id"`
		} `json:"items"`
	}
	c.do("POST", "/api/v1/orders", buyer, map[string]any{"items": []map[string]any{{"offering": "peer-test-db", "plan": "small"}}}, 201).decode(t, &o)
	c.do("POST", "/api/v1/orders/"+o.ID+"/submit", buyer, nil, 200).decode(t, &o)
	runJobs(t, e)
	c.do("GET", "/api/v1/orders/"+o.ID, buyer, nil, 200).decode(t, &o)
	if o.State != "completed" {
		t.Fatalf("the order provisioned at the peer is %s", o.State)
	}
	inst := o.Items[0].InstanceID
	var ops struct {
		Items []struct{ Kind, State string }
	}
	c.do("GET", "/api/v1/instances/"+inst+"/operations", buyer, nil, 200).decode(t, &ops)
	if len(ops.Items) != 1 || ops.Items[0].State != "succeeded" {
		t.Errorf("operations = %+v", ops.Items)
	}
	c.do("GET", "/api/v1/instances/"+inst+"/operations", outsider, nil, 404)

	// The instances list filters inside its scope: by state, org unit
	// (ID or code), offering; an unknown state is refused naming it.
	var insts struct {
		Items []struct{ ID string }
	}
	for _, q := range []string{"state=active", "org_unit=RETAIL", "offering=peer-test-db", "org_unit=" + retail + "&state=active&limit=500"} {
		c.do("GET", "/api/v1/instances?"+q, buyer, nil, 200).decode(t, &insts)
		if !slices.ContainsFunc(insts.Items, func(i struct{ ID string }) bool { return i.ID == inst }) {
			t.Errorf("instances?%s does not hold the new instance: %+v", q, insts.Items)
		}
	}
	for _, q := range []string{"state=failed", "offering=nothing-such", "to=2020-01"} {
		if c.do("GET", "/api/v1/instances?"+q, buyer, nil, 200).decode(t, &insts); len(insts.Items) != 0 {
			t.Errorf("instances?%s = %+v, want none", q, insts.Items)
		}
	}
	if c.do("GET", "/api/v1/instances?org_unit=RETAIL", outsider, nil, 200).decode(t, &insts); len(insts.Items) != 0 {
		t.Errorf("an outsider filtering by Retail sees %+v", insts.Items)
	}
	if f := c.bad("GET", "/api/v1/instances?state=lost", buyer, nil, 422).problemFields(); len(f) != 1 || f[0] != "state" {
		t.Errorf("instances?state=lost: fields %v", f)
	}

	var b struct {
		ID          string         `json:"id"`
		State       string         `json:"state"`
		Credentials map[string]any `json:"credentials"`
	}
	c.do("POST", "/api/v1/instances/"+inst+"/bindings", buyer, map[string]any{"name": "app"}, 202).decode(t, &b)
	runJobs(t, e)
	c.do("GET", "/api/v1/instances/"+inst+"/bindings", buyer, nil, 200)
	c.do("GET", "/api/v1/instances/"+inst+"/bindings/"+b.ID, buyer, nil, 200).decode(t, &b)
	if b.State != "ready" || b.Credentials["username"] != "app" {
		t.Errorf("first read of the binding = %+v", b)
	}
	b.Credentials = nil
	c.do("GET", "/api/v1/instances/"+inst+"/bindings/"+b.ID, buyer, nil, 200).decode(t, &b)
	if b.Credentials != nil {
		t.Error("the credentials were shown twice")
	}
	c.do("DELETE", "/api/v1/instances/"+inst+"/bindings/"+b.ID, buyer, nil, 202)
	runJobs(t, e)

	var ch struct{ ID, State, Kind string }
	c.do("POST", "/api/v1/instances/"+inst+"/change", buyer, map[string]any{"plan": "large"}, 201).decode(t, &ch)
	c.do("POST", "/api/v1/instances/"+inst+"/change", buyer, map[string]any{"plan": "large"}, 409)
	runJobs(t, e)
	c.do("GET", "/api/v1/orders/"+ch.ID, buyer, nil, 200).decode(t, &ch)
	if ch.Kind != "change" || ch.State != "completed" {
		t.Errorf("change order = %+v", ch)
	}

	blueprintScenario(t, e, retail, sofia, buyer)

	// A webhook callback that is not signed by the provider is refused,
	// alike for an operation that does not exist (issue 15, finding 15).
	c.bad("POST", "/api/v1/provider-callbacks/"+ops.Items[0].Kind, "", map[string]any{"state": "succeeded"}, 401)

	var plat struct{ ID, Password string }
	c.do("POST", "/api/v1/platforms", sofia, map[string]any{"name": "cf-prod", "org_unit_id": retail}, 403)
	c.do("POST", "/api/v1/platforms", e.admin, map[string]any{"name": "cf-prod", "org_unit_id": retail}, 201).decode(t, &plat)
	if len(plat.Password) < 24 {
		t.Errorf("platform password %q is too weak", plat.Password)
	}
	c.do("POST", "/api/v1/platforms", e.admin, map[string]any{"name": "cf-prod", "org_unit_id": retail}, 409)
	c.do("GET", "/api/v1/platforms", e.admin, nil, 200)
}

const dbStack = `blueprint: db-stack
name: Database stack
inputs:
  app_name: {type: string, required: true}
steps:
  - name: db
    provider: peer
    plan: peer-test-db/small
    parameters:
      name: ${inputs.app_name}
outputs:
  database: ${steps.db.id}
`

// blueprintScenario checks, uploads and reads a blueprint, offers a plan
// made by it and orders it, after the peer's catalog was imported.
func blueprintScenario(t *testing.T, e *env, retail, sofia, buyer string) {
	c := e.check
	bad := strings.NewReplacer("provider: peer", "provider: nowhere", "${steps.db.id}", "${steps.web.id}").Replace(dbStack)
	var p api.Problem
	c.do("POST", "/api/v1/blueprints/validate", sofia, map[string]any{"source": bad}, 422).decode(t, &p)
	var lines []int
	for _, f := range p.Errors {
		lines = append(lines, f.Line)
	}
	if !reflect.DeepEqual(lines, []int{12}) { // the YAML is checked first; references only when it is sound
		t.Errorf("problems = %+v, want the output on line 12", p.Errors)
	}
	c.do("POST", "/api/v1/blueprints/validate", sofia, map[string]any{"source": strings.Replace(dbStack, "provider: peer", "provider: nowhere", 1)}, 422).decode(t, &p)
	if len(p.Errors) != 1 || p.Errors[0].Line != 7 || p.Errors[0].Field != "steps[0].provider" {
		t.Errorf("problems = %+v, want the provider on line 7", p.Errors)
	}
	c.do("POST", "/api/v1/blueprints/validate", sofia, map[string]any{"source": dbStack}, 200)
	c.do("POST", "/api/v1/blueprints", buyer, map[string]any{"source": dbStack}, 403)
	upload := func(want int) {
		req, _ := http.NewRequest("POST", c.base+"/api/v1/blueprints?note=first", bytes.NewReader([]byte(dbStack)))
		req.Header.Set("Content-Type", "application/yaml")
		req.Header.Set("Authorization", "Bearer "+sofia)
		c.sendRequest(req, []byte(dbStack), want)
	}
	upload(201)
	upload(200)
	c.do("GET", "/api/v1/blueprints", sofia, nil, 200)
	c.do("GET", "/api/v1/blueprints/db-stack", sofia, nil, 200)
	c.do("GET", "/api/v1/blueprints/nothing", sofia, nil, 404)
	var bp struct {
		Version int
		Note    string
		Source  string
	}
	c.do("GET", "/api/v1/blueprints/db-stack/versions/1", sofia, nil, 200).decode(t, &bp)
	if bp.Version != 1 || bp.Note != "first" || bp.Source != dbStack {
		t.Errorf("version 1 = %+v", bp)
	}

	_, pm := e.user(t, "pm-stack@example.com", retail, map[string]any{"role": "portfolio_manager", "scope_kind": "global"})
	var peerOff struct {
		ServiceID string `json:"service_id"`
	}
	c.do("GET", "/api/v1/catalog/offerings/peer-test-db", pm, nil, 200).decode(t, &peerOff)
	off := map[string]any{"code": "db-stack", "service_id": peerOff.ServiceID, "name": "Database stack",
		"form_schema": map[string]any{"type": "object", "required": []string{"app_name"}, "properties": map[string]any{"app_name": map[string]any{"type": "string"}}},
		"plans":       []map[string]any{{"code": "std", "name": "Standard", "currency": "EUR", "recurring": "20.00", "blueprint": "db-stack@2"}}}
	if f := c.do("POST", "/api/v1/catalog/offerings", pm, off, 422).problemFields(); len(f) != 1 || f[0] != "plans.blueprint" {
		t.Errorf("a plan naming a version not uploaded: %v", f)
	}
	off["plans"].([]map[string]any)[0]["blueprint"] = "db-stack@1"
	c.do("POST", "/api/v1/catalog/offerings", pm, off, 201)
	var o struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Items []struct {
			InstanceID string `json:"instance_id"`
		} `json:"items"`
	}
	c.do("POST", "/api/v1/orders", buyer, map[string]any{"items": []map[string]any{{"offering": "db-stack", "plan": "std", "parameters": map[string]any{"app_name": "crm"}}}}, 201).decode(t, &o)
	c.do("POST", "/api/v1/orders/"+o.ID+"/submit", buyer, nil, 200).decode(t, &o)
	runJobs(t, e)
	c.do("GET", "/api/v1/orders/"+o.ID, buyer, nil, 200).decode(t, &o)
	var comps struct {
		Items []struct{ ID, Step, State string }
	}
	c.do("GET", "/api/v1/instances/"+o.Items[0].InstanceID+"/components", buyer, nil, 200).decode(t, &comps)
	var inst struct {
		Blueprint string         `json:"blueprint"`
		Outputs   map[string]any `json:"outputs"`
	}
	c.do("GET", "/api/v1/instances/"+o.Items[0].InstanceID, buyer, nil, 200).decode(t, &inst)
	if o.State != "completed" || len(comps.Items) != 1 || comps.Items[0].State != "ready" || inst.Blueprint != "db-stack@1" || inst.Outputs["database"] != comps.Items[0].ID {
		t.Errorf("order %s, components %+v, instance %+v", o.State, comps.Items, inst)
	}
}

// Issue 15, finding 9 (review, nit): a provider callback over
// api.MaxBodyBytes is refused as invalid, naming the limit, before its
// signature is looked at; it is never cut to the limit and read.
func TestProviderCallbackBodyLimit(t *testing.T) {
	e := setup(t)
	answer := `{"state":"succeeded"}`
	for _, tc := range []struct {
		name string
		size int
		want int
	}{
		{"at the limit (then the missing signature is what is wrong)", api.MaxBodyBytes, 401},
		{"one byte over", api.MaxBodyBytes + 1, 422},
	} {
		body := answer + strings.Repeat(" ", tc.size-len(answer))
		p := e.check.bad("POST", "/api/v1/provider-callbacks/"+sqldb.NewID(), "", body, tc.want)
		var prob api.Problem
		p.decode(t, &prob)
		if limit := strconv.Itoa(api.MaxBodyBytes); tc.want == 422 && !strings.Contains(prob.Detail, limit) {
			t.Errorf("%s: the problem %+v does not name the limit of %s bytes", tc.name, prob, limit)
		}
	}
}
