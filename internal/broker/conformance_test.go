package broker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/logtest"
	"github.com/steward-itaas/steward/internal/osb/osbtest"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// The tests of issue 16's OSB items: each cites the rule of the OSB 2.17
// spec (../shared/specs/osb-spec-v2.17.md) it checks, over real HTTP, every
// exchange checked against the spec by the platform helper.

// countOrders counts every order Steward holds.
func countOrders(t *testing.T, a *app.App) int {
	t.Helper()
	var n int
	if err := a.DB.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM orders`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func description(a answer) string { s, _ := a.body["description"].(string); return s }

// OSB 2.17, "Provisioning", body: organization_guid* and space_guid* are
// REQUIRED and each "MUST be a non-empty string"; "400 Bad Request: MUST be
// returned if the request is malformed or missing mandatory data"; and
// ("Service Broker Errors") a 4xx MUST leave the broker's resources
// "semantically unchanged" (issue 16, OSB 1).
func TestProvisionRequiresOrganizationAndSpace(t *testing.T) {
	f := newFixture(t)
	before := countOrders(t, f.a)
	for _, c := range []struct {
		field string
		value any // nil: left out
	}{{"organization_guid", nil}, {"space_guid", nil}, {"organization_guid", ""}, {"space_guid", ""}} {
		body := f.provisionBody(f.small)
		delete(body, c.field)
		if c.value != nil {
			body[c.field] = c.value
		}
		got := f.p.bad("PUT", "/v2/service_instances/inst-1?accepts_incomplete=true", body, 400)
		if !strings.Contains(description(got), c.field) {
			t.Errorf("%s %v: the answer %v does not name the field", c.field, c.value, got.body)
		}
	}
	if n := countOrders(t, f.a); n != before {
		t.Fatalf("refused provisions made %d orders", n-before)
	}
	// Nothing was remembered: the instance ID is still free for a request with other attributes.
	f.p.call("PUT", "/v2/service_instances/inst-1?accepts_incomplete=true", f.provisionBody(f.large), 202)
}

// OSB 2.17, "Updating a Service Instance", body: service_id* is REQUIRED
// ("MUST be the ID of a Service Offering from the catalog"); "400 Bad
// Request: MUST be returned if the request is malformed or missing
// mandatory data"; "When the response includes a 4xx or 5xx status code,
// the Service Broker MUST NOT apply any of the requested changes" (issue 16, OSB 2).
func TestUpdateRequiresServiceID(t *testing.T) {
	f := newFixture(t)
	f.provisioned("inst-1")
	before := countOrders(t, f.a)
	f.p.bad("PATCH", "/v2/service_instances/inst-1?accepts_incomplete=true", map[string]any{"plan_id": f.large}, 400)
	f.p.bad("PATCH", "/v2/service_instances/inst-1?accepts_incomplete=true", map[string]any{"service_id": "", "plan_id": f.large}, 400)
	f.p.call("PATCH", "/v2/service_instances/inst-1?accepts_incomplete=true", map[string]any{"service_id": "nope", "plan_id": f.large}, 400)
	if n := countOrders(t, f.a); n != before {
		t.Fatalf("refused updates made %d change orders", n-before)
	}
	if got := f.p.call("GET", "/v2/service_instances/inst-1", nil, 200); got.body["plan_id"] != f.small {
		t.Fatalf("after refused updates the instance is %v", got.body)
	}
}

// OSB 2.17, "Unbinding" and "Deprovisioning", parameters: service_id* and
// plan_id* are REQUIRED query parameters; "400 Bad Request: MUST be
// returned if the request is malformed or missing mandatory data"; a 4xx
// leaves resources unchanged ("Service Broker Errors") (issue 16, OSB 3).
func TestUnbindAndDeprovisionRequireServiceAndPlan(t *testing.T) {
	f := newFixture(t)
	f.provisioned("inst-1")
	f.bound("inst-1", "b-1")
	for _, q := range []string{"", "&service_id=" + f.off.ID, "&plan_id=" + f.small, "&service_id=&plan_id=" + f.small, "&service_id=" + f.off.ID + "&plan_id="} {
		f.p.bad("DELETE", "/v2/service_instances/inst-1/service_bindings/b-1?accepts_incomplete=true"+q, nil, 400)
		f.p.bad("DELETE", "/v2/service_instances/inst-1?accepts_incomplete=true"+q, nil, 400)
	}
	f.p.call("GET", "/v2/service_instances/inst-1/service_bindings/b-1", nil, 200)
	f.p.call("GET", "/v2/service_instances/inst-1", nil, 200)
}

// OSB 2.17, "Binding", body: service_id* "MUST be the ID of the Service
// Offering that is being used" and plan_id* "MUST be the ID of the Servie
// Plan from the service that is being used"; "Unbinding" and
// "Deprovisioning": service_id and plan_id "MUST be the ID of the Service
// Offering/Plan associated with" the binding or instance being deleted.
// "400 Bad Request: … MAY be returned if the request contains invalid
// data", and a 4xx leaves resources unchanged, so the right request
// afterwards is not a 409 (issue 16, OSB 7).
func TestBindAndDeleteRefuseAnotherServiceOrPlan(t *testing.T) {
	f := newFixture(t)
	f.provisioned("inst-1")
	vm, err := f.a.Catalog.Offering(context.Background(), access.System(), "vm")
	if err != nil {
		t.Fatal(err)
	}
	wrong := []struct{ service, plan string }{{vm.ID, vm.Plans[0].ID}, {f.off.ID, f.large}, {"nope", f.small}, {f.off.ID, "nope"}}
	for _, w := range wrong {
		got := f.p.call("PUT", "/v2/service_instances/inst-1/service_bindings/b-1?accepts_incomplete=true", map[string]any{"service_id": w.service, "plan_id": w.plan}, 400)
		if !strings.Contains(description(got), "instance") {
			t.Errorf("bind with %v: %v does not say what is wrong", w, got.body)
		}
	}
	f.bound("inst-1", "b-1") // 202, not 409: the refusals recorded nothing
	for _, w := range wrong {
		q := "?accepts_incomplete=true&service_id=" + w.service + "&plan_id=" + w.plan
		f.p.call("DELETE", "/v2/service_instances/inst-1/service_bindings/b-1"+q, nil, 400)
		f.p.call("DELETE", "/v2/service_instances/inst-1"+q, nil, 400)
	}
	f.p.call("GET", "/v2/service_instances/inst-1/service_bindings/b-1", nil, 200)
	f.p.call("GET", "/v2/service_instances/inst-1", nil, 200)
	right := "?accepts_incomplete=true&service_id=" + f.off.ID + "&plan_id=" + f.small
	f.p.call("DELETE", "/v2/service_instances/inst-1/service_bindings/b-1"+right, nil, 202)
}

// OSB 2.17, "Updating a Service Instance", 202 Accepted: "The operation
// string MUST match that returned for the original request … a re-sent
// PATCH request MUST return a 202 Accepted, not a 200 OK, if the requested
// update has not yet completed" (issue 16, OSB 4); "Fetching a Service
// Instance", 422: "MUST be returned if the Service Instance is being
// updated and therefore cannot be fetched at this time. The response body
// MUST contain error code ConcurrencyError" (issue 16, OSB 5); "Blocking
// Operations": another mutation meanwhile is a 422 ConcurrencyError.
func TestUpdateInProgress(t *testing.T) {
	f := newFixture(t)
	f.provisioned("inst-1")
	upd := map[string]any{"service_id": f.off.ID, "plan_id": f.large}
	op := f.p.call("PATCH", "/v2/service_instances/inst-1?accepts_incomplete=true", upd, 202).body["operation"]
	if again := f.p.call("PATCH", "/v2/service_instances/inst-1?accepts_incomplete=true", upd, 202).body["operation"]; again != op || op == nil {
		t.Fatalf("the repeated update's operation is %v, want the original's %v", again, op)
	}
	other := map[string]any{"service_id": f.off.ID, "plan_id": f.small}
	if got := f.p.call("PATCH", "/v2/service_instances/inst-1?accepts_incomplete=true", other, 422); got.body["error"] != "ConcurrencyError" {
		t.Fatalf("another update while one is in progress: %v", got.body)
	}
	if got := f.p.call("GET", "/v2/service_instances/inst-1", nil, 422); got.body["error"] != "ConcurrencyError" {
		t.Fatalf("fetching the instance being updated: %v", got.body)
	}
	// Polling the update is still possible, and says it is in progress.
	if lo := f.p.call("GET", "/v2/service_instances/inst-1/last_operation?operation="+op.(string), nil, 200); lo.body["state"] != "in progress" {
		t.Fatalf("last_operation of the update = %v", lo.body)
	}
	runJobs(t, f.a)
	if got := f.p.call("GET", "/v2/service_instances/inst-1", nil, 200); got.body["plan_id"] != f.large {
		t.Fatalf("after the update: %v", got.body)
	}
	// Done: the same request again has nothing left to do.
	f.p.call("PATCH", "/v2/service_instances/inst-1?accepts_incomplete=true", upd, 200)
}

// OSB 2.17, "Input Parameters Schema Object": "The $schema key MUST be
// present in the schema declaring the version of JSON schema being used";
// "Platforms MUST support at least JSON Schema draft v4"; "Schemas MUST
// NOT contain any external references"; "Schemas MUST NOT be larger than
// 64kB" (issue 16, OSB 6).
func TestCatalogSchemasDeclareTheirVersion(t *testing.T) {
	f := newFixture(t)
	cat := f.p.call("GET", "/v2/catalog", nil, 200)
	seen := 0
	for _, s := range cat.body["services"].([]any) {
		svc := s.(map[string]any)
		for _, pl := range svc["plans"].([]any) {
			plan := pl.(map[string]any)
			schemas, _ := plan["schemas"].(map[string]any)
			inst, _ := schemas["service_instance"].(map[string]any)
			for _, op := range []string{"create", "update"} {
				ips, _ := inst[op].(map[string]any)
				params, ok := ips["parameters"].(map[string]any)
				if !ok {
					t.Errorf("%s/%s: no %s parameters schema: %v", svc["name"], plan["name"], op, schemas)
					continue
				}
				seen++
				if params["$schema"] != "http://json-schema.org/draft-04/schema#" {
					t.Errorf("%s/%s %s: $schema = %v, want draft-04's", svc["name"], plan["name"], op, params["$schema"])
				}
				raw, _ := json.Marshal(params)
				if len(raw) > 64<<10 || strings.Contains(string(raw), `"$ref"`) {
					t.Errorf("%s/%s %s: %d bytes, with references: %s", svc["name"], plan["name"], op, len(raw), raw)
				}
				c := jsonschema.NewCompiler()
				if err := c.AddResource("p.json", params); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Compile("p.json"); err != nil {
					t.Errorf("%s/%s %s: not a valid JSON schema: %v", svc["name"], plan["name"], op, err)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("the catalog has no parameter schemas")
	}
}

// OSB 2.17, "API Version Header": a broker that depends on a feature of a
// newer version "MAY reject the request with 412 Precondition Failed and
// provide a message that informs the operator of the API version that is
// to be used instead"; without the header it "MAY reject the request with
// 400 Bad Request and provide a message that the header is required".
// Steward's bindings are asynchronous only (bind needs
// accepts_incomplete=true, then last_operation and GET of the binding),
// and it declares instances_retrievable and bindings_retrievable: the
// release notes of v2.14 add "support for asynchronous Service Bindings",
// the binding last_operation endpoint and "GET endpoints for fetching a
// Service Instance and Service Binding". So 2.14 is the minimum; later
// minor versions only add (the spec's "Change Policy for Minor Versions")
// (issue 16, OSB 8).
func TestVersionHeader(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		version string
		want    int
		says    string
	}{
		{"2.13", 412, "2.14"}, {"2.0", 412, "2.14"}, {"1.13", 412, "2.14"}, {"3.0", 412, "2.14"},
		{"2.14", 200, ""}, {"2.15", 200, ""}, {"2.17", 200, ""}, {"2.18", 200, ""},
		{"-", 400, "X-Broker-API-Version"}, {"two", 400, "MAJOR.MINOR"}, {"2", 400, "MAJOR.MINOR"}, {"2.x", 400, "MAJOR.MINOR"},
	} {
		p := *f.p
		p.version = c.version
		var got answer
		if c.version == "-" {
			got = p.bad("GET", "/v2/catalog", nil, c.want)
		} else {
			got = p.call("GET", "/v2/catalog", nil, c.want)
		}
		if !strings.Contains(description(got), c.says) {
			t.Errorf("version %q: %v does not say %q", c.version, got.body, c.says)
		}
	}
}

// Issue 16, OSB 10: the broker shares the one error model (package errs,
// as the REST API answers it): a failure of Steward's own database is an
// internal error, never "unknown platform or wrong password"; it is
// answered 500 ("Service Broker Errors": "MUST return an appropriate HTTP
// response code") with no driver text, and logged with the request ID the
// answer carries in X-Request-Id.
func TestBrokerInternalErrorsAreLoggedNotShown(t *testing.T) {
	var logs logtest.Buffer
	a := seededLogging(t, sqldbtest.Config(t), slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() { a.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	pl, _ := platformUnit(t, a, "K8S", "Kubernetes tenants")
	p := &platform{t: t, base: srv.URL + "/osb", user: pl.Username, pass: pl.Password, v: osbtest.NewValidator(t, srv.URL+"/osb")}
	ctx := context.Background()
	rename := func(from, to string) {
		t.Helper()
		if err := a.DB.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, `ALTER TABLE `+from+` RENAME TO `+to)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// The platforms' table goes away under the running broker (as a
	// database fails): signing in cannot read the credentials.
	rename("platforms", "platforms_gone")
	got := p.call("GET", "/v2/catalog", nil, 500)
	rid := got.header.Get("X-Request-Id")
	desc := description(got)
	for _, leak := range []string{"platforms", "SQL", "sql", "relation", "no such", "password"} {
		if strings.Contains(desc, leak) {
			t.Errorf("the 500's description %q shows %q", desc, leak)
		}
	}
	if rid == "" || !strings.Contains(desc, rid) {
		t.Errorf("the 500's description %q does not give the request ID %q", desc, rid)
	}
	logged := false
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] == "ERROR" && rec["msg"] == "request failed" && rec["request_id"] == rid {
			logged = strings.Contains(fmt.Sprint(rec["err"]), "platforms")
		}
	}
	if !logged {
		t.Errorf("no error with the database's cause logged with request_id %s:\n%s", rid, logs.String())
	}

	rename("platforms_gone", "platforms")
	// The catalog cannot be read while provisioning: a 500, not 400 "not a
	// service in this broker's catalog", which would tell the platform
	// its request was wrong.
	p.call("GET", "/v2/catalog", nil, 200) // signs in, so the credentials are cached
	rename("offerings", "offerings_gone")
	prov := p.call("PUT", "/v2/service_instances/db-down?accepts_incomplete=true", map[string]any{"service_id": "no-such-service",
		"plan_id": "p", "organization_guid": "org-1", "space_guid": "space-1"}, 500)
	if d := description(prov); strings.Contains(d, "not a service") || strings.Contains(d, "offerings") {
		t.Errorf("provisioning while the catalog cannot be read answered %q", d)
	}
	rename("offerings_gone", "offerings")
	p.call("PUT", "/v2/service_instances/db-up?accepts_incomplete=true", map[string]any{"service_id": "no-such-service",
		"plan_id": "p", "organization_guid": "org-1", "space_guid": "space-1"}, 400)
}

// miniBlueprint makes a database at the peer broker, on the plan named.
func miniBlueprint(plan string) string {
	return "blueprint: mini\nname: Mini database\nsteps:\n  - name: database\n    provider: peer\n    plan: peer-test-db/" + plan + "\n"
}

// OSB 2.17, "Service Plan Object": maintenance_info is "Maintenance
// information for a Service Instance which is provisioned using the
// Service Plan. If provided, a version string MUST be provided", and
// ("Maintenance Info Object") the version "MUST be a string conforming to a
// semantic version 2.0". "Provisioning" and "Updating a Service Instance",
// 422: "MUST be returned if the maintenance_info.version provided in the
// request does not match the maintenance_info.version described for the
// Service Plan in the Service Broker's catalog … the response body MUST
// contain error code MaintenanceInfoConflict". "Fetching a Service
// Instance": a broker "MAY return the maintenance information currently
// associated with the Service Instance". Updating: "When the response
// includes a 4xx or 5xx status code, the Service Broker MUST NOT apply any
// of the requested changes"; update_repeatable false says a refused update
// will fail again ("Service Broker Errors") (issue 16, OSB 9).
func TestMaintenanceInfo(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sofia, petra := principal(t, f.a, "sofia@it.contoso.example"), principal(t, f.a, "petra@it.contoso.example")
	if _, _, err := f.a.Provision.UploadBlueprint(ctx, sofia, provision.BlueprintInput{Source: miniBlueprint("small"), Note: "a small database"}); err != nil {
		t.Fatal(err)
	}
	mini, err := f.a.Catalog.CreateOffering(ctx, petra, catalog.OfferingInput{Code: "mini", ServiceID: f.off.ServiceID, Name: "Mini database", Brokered: true,
		Plans: []catalog.PlanInput{{Code: "standard", Name: "Standard", Currency: "EUR", Recurring: "20.00", Blueprint: "mini@1"}}})
	if err != nil {
		t.Fatal(err)
	}
	standard := mini.Plan("standard").ID
	plans := func() map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, s := range f.p.call("GET", "/v2/catalog", nil, 200).body["services"].([]any) {
			for _, pl := range s.(map[string]any)["plans"].([]any) {
				out[pl.(map[string]any)["id"].(string)] = pl.(map[string]any)
			}
		}
		return out
	}
	cat := plans()
	if mi, _ := cat[standard]["maintenance_info"].(map[string]any); mi["version"] != "1.0.0" || !strings.Contains(fmt.Sprint(mi["description"]), "mini version 1: a small database") {
		t.Fatalf("the blueprint plan's maintenance_info = %v, want version 1.0.0 described by the blueprint", cat[standard]["maintenance_info"])
	}
	if mi, ok := cat[f.small]["maintenance_info"]; ok {
		t.Fatalf("a plan a provider makes declares maintenance_info %v; its implementation version is the provider's", mi)
	}

	body := func(plan, version string) map[string]any {
		b := map[string]any{"service_id": mini.ID, "plan_id": plan, "organization_guid": "org-1", "space_guid": "space-1"}
		if version != "" {
			b["maintenance_info"] = map[string]any{"version": version}
		}
		return b
	}
	before := countOrders(t, f.a)
	for _, v := range []string{"2.0.0", "1.0.1", "1"} {
		if got := f.p.call("PUT", "/v2/service_instances/m-1?accepts_incomplete=true", body(standard, v), 422); got.body["error"] != "MaintenanceInfoConflict" {
			t.Fatalf("provision with maintenance_info %s: %v", v, got.body)
		}
	}
	noInfo := f.provisionBody(f.small)
	noInfo["maintenance_info"] = map[string]any{"version": "1.0.0"}
	if got := f.p.call("PUT", "/v2/service_instances/m-1?accepts_incomplete=true", noInfo, 422); got.body["error"] != "MaintenanceInfoConflict" {
		t.Fatalf("provision of a plan without maintenance_info, sending one: %v", got.body)
	}
	if n := countOrders(t, f.a); n != before {
		t.Fatalf("refused provisions made %d orders", n-before)
	}
	f.p.call("PUT", "/v2/service_instances/m-1?accepts_incomplete=true", body(standard, "1.0.0"), 202)
	runJobs(t, f.a)
	if lo := f.p.call("GET", "/v2/service_instances/m-1/last_operation", nil, 200); lo.body["state"] != "succeeded" {
		t.Fatalf("provisioning m-1: %v", lo.body)
	}
	if got := f.p.call("GET", "/v2/service_instances/m-1", nil, 200); fmt.Sprint(got.body["maintenance_info"]) != fmt.Sprint(cat[standard]["maintenance_info"]) {
		t.Fatalf("the instance's maintenance_info = %v, want the plan's %v", got.body["maintenance_info"], cat[standard]["maintenance_info"])
	}

	// A new blueprint version: the plan's maintenance_info moves on; the instance stays made by version 1.
	if _, _, err := f.a.Provision.UploadBlueprint(ctx, sofia, provision.BlueprintInput{Source: miniBlueprint("large"), Note: "moves the database to the large plan"}); err != nil {
		t.Fatal(err)
	}
	in := mini.Input()
	in.Plans[0].Blueprint = "mini@2"
	if _, err := f.a.Catalog.UpdateOffering(ctx, petra, mini.ID, in); err != nil {
		t.Fatal(err)
	}
	if mi, _ := plans()[standard]["maintenance_info"].(map[string]any); mi["version"] != "2.0.0" || !strings.Contains(fmt.Sprint(mi["description"]), "large plan") {
		t.Fatalf("after mini@2 the plan's maintenance_info = %v", mi)
	}
	upd := func(version string) map[string]any {
		return map[string]any{"service_id": mini.ID, "maintenance_info": map[string]any{"version": version}}
	}
	before = countOrders(t, f.a)
	if got := f.p.call("PATCH", "/v2/service_instances/m-1?accepts_incomplete=true", upd("1.0.0"), 422); got.body["error"] != "MaintenanceInfoConflict" {
		t.Fatalf("update with the old maintenance_info: %v", got.body)
	}
	// The maintenance update itself: Steward cannot remake an instance
	// with another blueprint version in place, and says so.
	got := f.p.call("PATCH", "/v2/service_instances/m-1?accepts_incomplete=true", upd("2.0.0"), 422)
	if got.body["update_repeatable"] != false || got.body["instance_usable"] != true || !strings.Contains(description(got), "version 2") {
		t.Fatalf("the maintenance update = %v; want it refused, not repeatable, the instance usable", got.body)
	}
	if n := countOrders(t, f.a); n != before {
		t.Fatalf("refused updates made %d orders", n-before)
	}
	if got := f.p.call("GET", "/v2/service_instances/m-1", nil, 200); got.body["maintenance_info"].(map[string]any)["version"] != "1.0.0" {
		t.Fatalf("after the refused updates the instance's maintenance_info = %v", got.body["maintenance_info"])
	}
	// New instances are made by version 2.
	f.p.call("PUT", "/v2/service_instances/m-2?accepts_incomplete=true", body(standard, "2.0.0"), 202)
}

// TestCatalogCostsNameTheirInterval: OSB 2.17, "Cost Object": unit is
// "the pricing unit for this cost. E.g. MONTHLY, 1GB of transfer"; a plan
// whose base fee bills yearly says YEARLY, not MONTHLY with a yearly
// amount (issue 16, billing 3: intervals).
func TestCatalogCostsNameTheirInterval(t *testing.T) {
	f := newFixture(t)
	ref := f.off.Code + "/small"
	if _, err := f.a.Rating.AddVersion(context.Background(), access.System(), ref, rating.VersionInput{Components: []rating.Component{
		{Code: rating.BaseCode, Name: "Database", Kind: rating.Flat, Price: "700.00", Interval: rating.Year, Timing: rating.Advance}}}); err != nil {
		t.Fatal(err)
	}
	units := map[string]string{}
	for _, s := range f.p.call("GET", "/v2/catalog", nil, 200).body["services"].([]any) {
		for _, pl := range s.(map[string]any)["plans"].([]any) {
			plan := pl.(map[string]any)
			costs := plan["metadata"].(map[string]any)["costs"].([]any)
			units[plan["id"].(string)] = costs[0].(map[string]any)["unit"].(string)
		}
	}
	if units[f.small] != "YEARLY" || units[f.large] != "MONTHLY" {
		t.Errorf("cost units: small %q (yearly fee), large %q (monthly)", units[f.small], units[f.large])
	}
}
