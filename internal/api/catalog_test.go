package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/identity"
)

// user creates a user with grants and returns an API token for them.
func (e *env) user(t *testing.T, email, orgUnit string, grants ...map[string]any) (id, token string) {
	t.Helper()
	var u identity.User
	e.check.do("POST", "/api/v1/users", e.admin, map[string]any{"email": email, "name": email, "org_unit_id": orgUnit}, 201).decode(t, &u)
	for _, g := range grants {
		g["user_id"] = u.ID
		e.check.do("POST", "/api/v1/grants", e.admin, g, 201)
	}
	var nt identity.NewToken
	e.check.do("POST", "/api/v1/tokens", e.admin, map[string]any{"user_id": u.ID, "name": "test",
		"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, 201).decode(t, &nt)
	return u.ID, nt.Secret
}

type idOnly struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// catalogScenario drives the portfolio, catalog and order routes: a
// portfolio manager builds a service and its map, offers it, a Retail
// consumer orders, the sponsor approves, an agent fulfils.
func catalogScenario(t *testing.T, e *env, retail string) {
	c := e.check
	var plant idOnly
	c.do("POST", "/api/v1/org-units", e.admin, map[string]any{"kind": "business_unit", "code": "PLANT", "name": "Plant"}, 201).decode(t, &plant)
	mfg := plant.ID
	global := map[string]any{"scope_kind": "global"}
	role := func(r string, scope map[string]any) map[string]any {
		g := map[string]any{"role": r}
		for k, v := range scope {
			g[k] = v
		}
		return g
	}
	_, pm := e.user(t, "pm@example.com", retail, role("portfolio_manager", global))
	consumerID, consumer := e.user(t, "buyer@example.com", retail, role("consumer", map[string]any{"scope_kind": "org_unit", "scope_id": retail}))
	_, outsider := e.user(t, "plant@example.com", mfg, role("consumer", map[string]any{"scope_kind": "org_unit", "scope_id": mfg}))
	sponsorID, sponsor := e.user(t, "sponsor@example.com", retail, map[string]any{"role": "approver", "scope_kind": "org_unit", "scope_id": retail}) // a sponsor decides only where they may approve
	agentID, agent := e.user(t, "agent@example.com", retail)
	var grp idOnly
	c.do("POST", "/api/v1/groups", e.admin, map[string]any{"name": "Compute team"}, 201).decode(t, &grp)
	c.do("PUT", "/api/v1/groups/"+grp.ID+"/members/"+agentID, e.admin, nil, 200)

	// Portfolio.
	var vms, network idOnly
	c.do("POST", "/api/v1/services", pm, map[string]any{"code": "virtual-machines", "name": "Virtual machines", "kind": "business",
		"sponsor_id": sponsorID, "assignment_group_id": grp.ID, "outcomes": []string{"servers in minutes"}, "criticality": "high",
		"calendar": map[string]any{"time_zone": "Europe/Paris", "weekly": []map[string]any{{"day": "monday", "start": "08:00", "end": "18:00"}}}}, 201).decode(t, &vms)
	c.do("POST", "/api/v1/services", pm, map[string]any{"code": "network", "name": "Network", "kind": "technical"}, 201).decode(t, &network)
	c.do("GET", "/api/v1/services?lifecycle=proposed&q=minutes", pm, nil, 200)
	c.do("PUT", "/api/v1/services/"+vms.ID, pm, map[string]any{"code": "virtual-machines", "name": "Virtual machines", "kind": "business",
		"sponsor_id": sponsorID, "assignment_group_id": grp.ID, "help": "Raise an incident with the service desk."}, 200)
	for _, to := range []string{"approved", "in_design", "live"} {
		c.do("POST", "/api/v1/services/"+vms.ID+"/transitions", pm, map[string]any{"to": to, "reason": "ready"}, 200)
	}
	c.do("POST", "/api/v1/services/"+network.ID+"/transitions", pm, map[string]any{"to": "live", "reason": "skip"}, 422)
	c.do("GET", "/api/v1/services/virtual-machines/transitions", pm, nil, 200)
	c.do("GET", "/api/v1/services/"+vms.ID, pm, nil, 200)
	c.do("GET", "/api/v1/services/"+vms.ID, consumer, nil, 404)

	// Service map.
	var dc idOnly
	c.do("POST", "/api/v1/config-items", pm, map[string]any{"code": "dc-paris", "name": "Paris data centre", "kind": "hardware"}, 201).decode(t, &dc)
	c.do("GET", "/api/v1/config-items", pm, nil, 200)
	var dep idOnly
	c.do("POST", "/api/v1/service-map/dependencies", pm, map[string]any{"from_service_id": vms.ID, "to_service_id": network.ID, "kind": "depends_on"}, 201).decode(t, &dep)
	c.do("POST", "/api/v1/service-map/dependencies", pm, map[string]any{"from_service_id": network.ID, "to_ci_id": dc.ID, "kind": "runs_on"}, 201)
	c.do("POST", "/api/v1/service-map/dependencies", pm, map[string]any{"from_service_id": network.ID, "to_service_id": vms.ID, "kind": "depends_on"}, 409)
	c.do("GET", "/api/v1/service-map", pm, nil, 200)
	// The map an edge at a time (issue 18): each edge names its nodes.
	var edges struct {
		Items []struct {
			Kind     string
			From, To struct{ Type, Code string }
		}
	}
	c.do("GET", "/api/v1/service-map/dependencies", pm, nil, 200).decode(t, &edges)
	if got := fmt.Sprint(edges.Items); got != "[{depends_on {service virtual-machines} {service network}} {runs_on {service network} {ci dc-paris}}]" {
		t.Errorf("the dependencies: %s", got)
	}
	var impact struct {
		Affected []struct{ Node struct{ Code string } }
	}
	c.do("GET", "/api/v1/service-map/impact?node=dc-paris", pm, nil, 200).decode(t, &impact)
	if len(impact.Affected) != 2 {
		t.Errorf("impact of the data centre = %+v, want network and virtual machines", impact.Affected)
	}
	c.do("GET", "/api/v1/services/"+vms.ID+"/support", pm, nil, 200)
	var extra idOnly
	c.do("POST", "/api/v1/service-map/dependencies", pm, map[string]any{"from_ci_id": dc.ID, "to_service_id": network.ID, "kind": "integrates_with"}, 201).decode(t, &extra)
	c.do("DELETE", "/api/v1/service-map/dependencies/"+extra.ID, pm, nil, 204)

	// Catalog.
	offering := map[string]any{"code": "vm", "service_id": vms.ID, "name": "Virtual machine", "summary": "A Linux or Windows server",
		"form_schema": map[string]any{"type": "object", "required": []string{"hostname"}, "properties": map[string]any{
			"hostname": map[string]any{"type": "string", "pattern": "^[a-z][a-z0-9-]*$"},
			"cpus":     map[string]any{"type": "integer", "minimum": 1, "maximum": 8, "default": 2}}},
		"plans": []map[string]any{{"code": "small", "name": "Small", "currency": "EUR", "recurring": "40.00", "one_time": "5.00"},
			{"code": "large", "name": "Large", "currency": "EUR", "recurring": "1500.00"}}}
	var vm idOnly
	c.do("POST", "/api/v1/catalog/offerings", pm, offering, 201).decode(t, &vm)
	offering["description"] = "Managed servers in our private cloud."
	c.do("PUT", "/api/v1/catalog/offerings/"+vm.ID, pm, offering, 200)
	c.do("GET", "/api/v1/catalog/offerings?q=linux", consumer, nil, 200)
	// Search: a typo, facets, highlights; a hostile query is a 422 or an answer, never a 500.
	var found struct {
		Items []struct {
			Name      string
			Highlight struct{ Name, Summary string }
		}
		Query  string
		Facets struct{ Price []struct{ Value string } }
	}
	c.do("GET", "/api/v1/catalog/offerings?q=lnux+virt&facets=true&limit=1", consumer, nil, 200).decode(t, &found)
	if len(found.Items) != 1 || found.Items[0].Highlight.Summary != "A <mark>Linux</mark> or Windows server" || found.Query != "lnux|linux virt" ||
		len(found.Facets.Price) != 1 || found.Facets.Price[0].Value != "10-100" {
		t.Errorf("search with a typo = %+v", found)
	}
	offering["audience"] = map[string]any{"org_unit_ids": []string{retail}, "roles": []string{}}
	c.do("PUT", "/api/v1/catalog/offerings/"+vm.ID, pm, offering, 200)
	c.do("GET", "/api/v1/catalog/offerings?q=linux", outsider, nil, 200).decode(t, &found)
	if len(found.Items) != 0 {
		t.Errorf("the outsider found %+v, outside the offering's audience", found.Items)
	}
	c.do("GET", "/api/v1/catalog/offerings?q=privte", outsider, nil, 200).decode(t, &found)
	if found.Query != "privte" {
		t.Errorf("the outsider's typo read as %q, a word of an offering they may not see", found.Query)
	}
	c.do("GET", "/api/v1/catalog/offerings?q=privte", consumer, nil, 200).decode(t, &found)
	if found.Query != "privte|private" {
		t.Errorf("the consumer's typo read as %q", found.Query)
	}
	c.do("GET", "/api/v1/catalog/offerings?q=linux", consumer, nil, 200).decode(t, &found)
	if len(found.Items) != 1 {
		t.Errorf("the consumer in the audience found %+v", found.Items)
	}
	delete(offering, "audience")
	c.do("PUT", "/api/v1/catalog/offerings/"+vm.ID, pm, offering, 200)
	// A typo near a word the index keeps from a URL is a search, never a 500 (PostgreSQL's tsquery refused /abcd'e).
	offering["description"] = "Managed servers, see http://wiki.example.com/abcd'e"
	c.do("PUT", "/api/v1/catalog/offerings/"+vm.ID, pm, offering, 200)
	c.do("GET", "/api/v1/catalog/offerings?q=abcdxe", consumer, nil, 200).decode(t, &found)
	if strings.Contains(found.Query, "'") {
		t.Errorf("abcdxe understood as %q", found.Query)
	}
	offering["description"] = "Managed servers in our private cloud."
	c.do("PUT", "/api/v1/catalog/offerings/"+vm.ID, pm, offering, 200)
	c.bad("GET", "/api/v1/catalog/offerings?q="+strings.Repeat("x", 201), consumer, nil, 422)
	c.bad("GET", "/api/v1/catalog/offerings?price=cheap", consumer, nil, 422)
	c.do("GET", `/api/v1/catalog/offerings?q=%22%28*%3A%7C`, consumer, nil, 200)
	c.do("GET", "/api/v1/catalog/offerings/vm", consumer, nil, 200)
	c.do("GET", "/api/v1/catalog/summary", consumer, nil, 200)
	c.do("PUT", "/api/v1/quotas", pm, map[string]any{"org_unit_id": retail, "offering_id": vm.ID, "max_instances": 5}, 200)
	c.do("GET", "/api/v1/quotas?offering_id="+vm.ID, pm, nil, 200)
	var pol idOnly
	c.do("POST", "/api/v1/approval-policies", pm, map[string]any{"name": "big orders", "expression": "order.total_monthly > 1000", "approver_kind": "sponsor"}, 201).decode(t, &pol)
	c.do("PUT", "/api/v1/approval-policies/"+pol.ID, pm, map[string]any{"name": "big orders", "expression": "order.total_monthly_minor > 100000", "approver_kind": "sponsor"}, 200)
	c.do("POST", "/api/v1/approval-policies", pm, map[string]any{"name": "broken", "expression": "order.", "approver_kind": "sponsor"}, 422)
	c.do("GET", "/api/v1/approval-policies", consumer, nil, 200)

	// Orders: a quote, a cart, a bad parameter, a submit retried with the same key.
	var q struct{ Total struct{ Monthly string } }
	c.do("POST", "/api/v1/quotes", consumer, map[string]any{"items": []map[string]any{{"offering": "vm", "plan": "large", "parameters": map[string]any{"hostname": "erp"}}}}, 200).decode(t, &q)
	if q.Total.Monthly != "1500.00" {
		t.Errorf("quote = %+v", q)
	}
	var order idOnly
	c.do("POST", "/api/v1/orders", consumer, map[string]any{"note": "for the ERP", "items": []map[string]any{{"offering": "vm", "plan": "small", "parameters": map[string]any{"hostname": "tmp"}}}}, 201).decode(t, &order)
	var withItem struct{ Items []idOnly }
	c.do("POST", "/api/v1/orders/"+order.ID+"/items", consumer, map[string]any{"offering": "vm", "plan": "large", "parameters": map[string]any{"hostname": "erp", "cpus": 4}}, 200).decode(t, &withItem)
	c.do("DELETE", "/api/v1/orders/"+order.ID+"/items/"+withItem.Items[0].ID, consumer, nil, 200)
	if r := c.do("POST", "/api/v1/orders/"+order.ID+"/items", consumer, map[string]any{"offering": "vm", "plan": "small", "parameters": map[string]any{"hostname": "BAD NAME", "cpus": 99}}, 422); !strings.Contains(strings.Join(r.problemFields(), " "), "parameters.cpus") {
		t.Errorf("bad parameters: %v", r.problemFields())
	}
	c.do("GET", "/api/v1/orders/"+order.ID, outsider, nil, 404)
	submit := func(key string, want int) resp {
		req, _ := http.NewRequest("POST", c.base+"/api/v1/orders/"+order.ID+"/submit", nil)
		req.Header.Set("Authorization", "Bearer "+consumer)
		req.Header.Set("Idempotency-Key", key)
		return c.sendRequest(req, nil, want)
	}
	first := submit("submit-1", 200)
	again := submit("submit-1", 200)
	if again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
		t.Errorf("a retried submit was not replayed: %s", again.body)
	}
	submit("submit-2", 409) // a new key: a real second submit, refused by the state machine
	// The same key for another request is refused, whatever the request.
	req, _ := http.NewRequest("POST", c.base+"/api/v1/orders/"+order.ID+"/cancel", strings.NewReader(`{"comment":"x"}`))
	req.Header.Set("Authorization", "Bearer "+consumer)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "submit-1")
	if r := c.sendRequest(req, []byte(`{"comment":"x"}`), 422); !strings.Contains(string(r.body), "different request") {
		t.Errorf("a reused key: %s", r.body)
	}
	c.do("GET", "/api/v1/orders?mine=true&state=awaiting_approval", consumer, nil, 200)
	c.do("GET", "/api/v1/orders/"+order.ID+"/events", consumer, nil, 200)
	var approvals struct{ Items []idOnly }
	c.do("GET", "/api/v1/orders/"+order.ID+"/approvals", consumer, nil, 200).decode(t, &approvals)
	var inbox struct{ Items []any }
	c.do("GET", "/api/v1/approvals", sponsor, nil, 200).decode(t, &inbox)
	if len(inbox.Items) != 1 || len(approvals.Items) != 1 {
		t.Fatalf("sponsor inbox %d, approvals %d", len(inbox.Items), len(approvals.Items))
	}
	c.do("POST", "/api/v1/approvals/"+approvals.Items[0].ID+"/decision", consumer, map[string]any{"approve": true}, 403)
	c.do("POST", "/api/v1/approvals/"+approvals.Items[0].ID+"/decision", sponsor, map[string]any{"approve": true, "comment": "ok"}, 200)

	var tasks struct{ Items []idOnly }
	c.do("GET", "/api/v1/tasks", agent, nil, 200).decode(t, &tasks)
	if len(tasks.Items) != 1 {
		t.Fatalf("agent queue = %d", len(tasks.Items))
	}
	c.do("POST", "/api/v1/tasks/"+tasks.Items[0].ID+"/complete", agent, map[string]any{"done": true, "note": "built", "instance_name": "erp-01"}, 200)
	var insts struct {
		Items []struct{ ID, Name string }
	}
	c.do("GET", "/api/v1/instances?mine=true", consumer, nil, 200).decode(t, &insts)
	if len(insts.Items) != 1 || insts.Items[0].Name != "erp-01" {
		t.Fatalf("instances = %+v", insts.Items)
	}
	_ = consumerID
	c.do("GET", "/api/v1/instances/"+insts.Items[0].ID, consumer, nil, 200)
	c.do("GET", "/api/v1/instances/"+insts.Items[0].ID, outsider, nil, 404)
	c.do("POST", "/api/v1/instances/"+insts.Items[0].ID+"/deprovision", consumer, map[string]any{"comment": "done with it"}, 201)

	// A cancelled cart; a deleted policy.
	var cart idOnly
	c.do("POST", "/api/v1/orders", consumer, map[string]any{}, 201).decode(t, &cart)
	c.do("POST", "/api/v1/orders/"+cart.ID+"/cancel", consumer, map[string]any{"comment": "not needed"}, 200)
	c.do("POST", "/api/v1/orders/"+cart.ID+"/submit", consumer, nil, 409)
	c.do("DELETE", "/api/v1/approval-policies/"+pol.ID, pm, nil, 204)
}
