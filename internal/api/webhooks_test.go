package api_test

import (
	"strings"
	"testing"
)

// webhookScenario drives the webhook routes: an administrator of Retail
// subscribes a receiver to Retail's events (not to the whole provider's,
// nor with a private address), sends a test event, reads the delivery log,
// redelivers, rotates the secret, changes and removes the subscription.
func webhookScenario(t *testing.T, e *env, retail string) {
	c := e.check
	_, ouAdmin := e.user(t, "retail-admin@example.com", retail, map[string]any{"role": "admin", "scope_kind": "org_unit", "scope_id": retail})
	_, buyer := e.user(t, "hook-buyer@example.com", retail, map[string]any{"role": "consumer", "scope_kind": "org_unit", "scope_id": retail})

	var types struct {
		Items []struct{ Type string }
	}
	c.do("GET", "/api/v1/event-types", buyer, nil, 200).decode(t, &types)
	if len(types.Items) == 0 || types.Items[0].Type == "" {
		t.Errorf("event types: %+v", types)
	}
	c.do("POST", "/api/v1/webhooks", ouAdmin, map[string]any{"url": "https://hooks.example.com/all"}, 403)
	c.do("POST", "/api/v1/webhooks", buyer, map[string]any{"url": "https://hooks.example.com/retail", "org_unit_id": retail}, 403)
	bad := c.do("POST", "/api/v1/webhooks", ouAdmin, map[string]any{"url": "http://10.0.0.8/hook", "org_unit_id": retail, "event_types": []string{"order.approved"}}, 422)
	if f := bad.problemFields(); len(f) != 1 || f[0] != "url" {
		t.Errorf("private address: fields %v", f)
	}
	var sub struct {
		ID, Secret string
		EventTypes []string `json:"event_types"`
	}
	c.do("POST", "/api/v1/webhooks", ouAdmin, map[string]any{"url": "https://hooks.example.com/retail", "org_unit_id": retail,
		"event_types": []string{"order.approved", "order.rejected"}, "description": "Retail's order bus"}, 201).decode(t, &sub)
	if !strings.HasPrefix(sub.Secret, "whsec_") || len(sub.EventTypes) != 2 {
		t.Errorf("created: %+v", sub)
	}
	c.do("GET", "/api/v1/webhooks", ouAdmin, nil, 200)
	c.do("GET", "/api/v1/webhooks/"+sub.ID, ouAdmin, nil, 200)
	c.do("GET", "/api/v1/webhooks", buyer, nil, 403)
	var d struct{ ID, State string }
	c.do("POST", "/api/v1/webhooks/"+sub.ID+"/test", ouAdmin, nil, 202).decode(t, &d)
	c.do("POST", "/api/v1/webhooks/"+sub.ID+"/test", ouAdmin, nil, 202)
	c.do("GET", "/api/v1/webhooks/"+sub.ID+"/deliveries?state=pending", ouAdmin, nil, 200)
	c.bad("GET", "/api/v1/webhooks/"+sub.ID+"/deliveries?state=lost", ouAdmin, nil, 422)
	c.do("POST", "/api/v1/webhooks/"+sub.ID+"/deliveries/"+d.ID+"/redeliver", ouAdmin, nil, 202)
	var rot struct{ Secret string }
	c.do("POST", "/api/v1/webhooks/"+sub.ID+"/rotate-secret", ouAdmin, nil, 200).decode(t, &rot)
	if rot.Secret == sub.Secret || !strings.HasPrefix(rot.Secret, "whsec_") {
		t.Errorf("rotated secret %q", rot.Secret)
	}
	c.do("PUT", "/api/v1/webhooks/"+sub.ID, ouAdmin, map[string]any{"url": "https://hooks.example.com/retail2", "org_unit_id": retail, "enabled": false}, 200)
	c.do("POST", "/api/v1/webhooks/"+sub.ID+"/test", ouAdmin, nil, 409)
	var gone struct{ ID string }
	c.do("POST", "/api/v1/webhooks", ouAdmin, map[string]any{"url": "https://hooks.example.com/gone", "org_unit_id": retail}, 201).decode(t, &gone)
	c.do("DELETE", "/api/v1/webhooks/"+gone.ID, ouAdmin, nil, 204)
	c.do("GET", "/api/v1/webhooks/"+gone.ID, ouAdmin, nil, 404)
	var keep struct{ ID string }
	c.do("POST", "/api/v1/webhooks", e.admin, map[string]any{"url": "https://hooks.example.com/all"}, 201).decode(t, &keep)
	c.do("POST", "/api/v1/webhooks/"+keep.ID+"/test", e.admin, nil, 202)
	c.do("GET", "/api/v1/webhooks/"+keep.ID+"/deliveries", e.admin, nil, 200)
}
