package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// meteringScenario drives the metering routes: a financial manager defines
// meters, a reporter's token sends usage in all three modes of the
// CloudEvents HTTP binding (with a replay, a partly bad batch and a wholly
// bad one), and consumers read usage only of their own org unit.
func meteringScenario(t *testing.T, e *env, retail string) {
	c := e.check
	global := map[string]any{"scope_kind": "global"}
	withRole := func(r string, scope map[string]any) map[string]any {
		g := map[string]any{"role": r}
		for k, v := range scope {
			g[k] = v
		}
		return g
	}
	_, fm := e.user(t, "finance@example.com", retail, withRole("financial_manager", global))
	_, reporter := e.user(t, "agent-7@example.com", retail, withRole("usage_reporter", global))
	_, buyer := e.user(t, "retail-reader@example.com", retail, withRole("consumer", map[string]any{"scope_kind": "org_unit", "scope_id": retail}))

	c.do("PUT", "/api/v1/meters/storage-gb", fm, map[string]any{"name": "Object storage", "event_type": "com.example.storage.used",
		"aggregation": "time_weighted_average", "value_path": "gb", "group_by": []string{"region"}, "unit": "GB"}, 200)
	c.do("PUT", "/api/v1/meters/api-calls", fm, map[string]any{"name": "API calls", "event_type": "com.example.api.called",
		"aggregation": "sum", "value_path": "calls", "unit": "call"}, 200)
	c.do("PUT", "/api/v1/meters/api-calls", reporter, map[string]any{"name": "x", "event_type": "x", "aggregation": "sum", "value_path": "x", "unit": "x"}, 403)
	if fields := c.bad("PUT", "/api/v1/meters/bad", fm, map[string]any{"name": "Bad", "event_type": "t", "aggregation": "median", "unit": "x"}, 422).problemFields(); len(fields) == 0 {
		t.Error("a meter with an unknown aggregation is refused without naming the field")
	}
	c.do("GET", "/api/v1/meters", buyer, nil, 200)
	c.do("GET", "/api/v1/meters/api-calls", buyer, nil, 200)

	hour := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	at := func(min int) string { return hour.Add(time.Duration(min) * time.Minute).Format(time.RFC3339) }
	post := func(contentType string, body any, want int, headers map[string]string) []byte {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", c.base+"/api/v1/events", bytes.NewReader(raw))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+reporter)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		return c.exchange(req, raw, want, want == 200).body
	}
	ev := func(id string, minute, calls int) map[string]any {
		return map[string]any{"specversion": "1.0", "id": id, "source": "/gateway", "type": "com.example.api.called",
			"subject": "RETAIL", "time": at(minute), "data": map[string]any{"calls": calls}}
	}
	// Structured: one event.
	post("application/cloudevents+json", ev("e1", 5, 10), 200, nil)
	// Batch: a replay of e1, two new events, and one with a bad time.
	bad := ev("e4", 10, 1)
	bad["time"] = "yesterday"
	var res struct {
		Accepted, Duplicates, Rejected int
		Events                         []struct {
			Index  int
			Status string
		}
	}
	json.Unmarshal(post("application/cloudevents-batch+json", []any{ev("e1", 5, 10), ev("e2", 20, 5), ev("e3", 70, 7), bad}, 200, nil), &res)
	if res.Accepted != 2 || res.Duplicates != 1 || res.Rejected != 1 || len(res.Events) != 2 || res.Events[0].Index != 0 || res.Events[1].Index != 3 {
		t.Errorf("the batch's answer is %+v", res)
	}
	// Binary: the attributes in headers, the data as the body.
	post("application/json", map[string]any{"calls": 3}, 200, map[string]string{"ce-specversion": "1.0", "ce-id": "e5", "ce-source": "/gateway",
		"ce-type": "com.example.api.called", "ce-subject": "RETAIL", "ce-time": at(30)})
	// Nothing valid: refused whole, each problem named by index and attribute.
	noID := ev("", 1, 1)
	body := post("application/cloudevents-batch+json", []any{noID, map[string]any{"specversion": "0.3"}}, 422, nil)
	var p struct{ Errors []struct{ Field string } }
	json.Unmarshal(body, &p)
	if len(p.Errors) < 2 || p.Errors[0].Field != "[0].id" {
		t.Errorf("the refusal names %+v", p.Errors)
	}
	// A value a meter cannot read refuses the event.
	post("application/cloudevents+json", map[string]any{"specversion": "1.0", "id": "e6", "source": "/gateway", "type": "com.example.api.called",
		"subject": "RETAIL", "data": map[string]any{"calls": "many"}}, 422, nil)
	// Readers cannot send; reporters cannot read.
	c.do("GET", "/api/v1/meters", reporter, nil, 403)

	var usage struct {
		Rows []struct {
			Subject   string
			OrgUnitID string `json:"org_unit_id"`
			Quantity  string
			Events    int
			Start     time.Time
		}
	}
	q := fmt.Sprintf("/api/v1/usage?meter=api-calls&from=%s&to=%s&granularity=hour", hour.Format(time.RFC3339), hour.Add(3*time.Hour).Format(time.RFC3339))
	c.do("GET", q, buyer, nil, 200).decode(t, &usage)
	if len(usage.Rows) != 2 || usage.Rows[0].Quantity != "18" || usage.Rows[0].Events != 3 || usage.Rows[1].Quantity != "7" || usage.Rows[0].OrgUnitID != retail {
		t.Errorf("Retail's hourly API calls are %+v, want 18 (10+5+3) then 7", usage.Rows)
	}
	// Someone else's org unit sees nothing of Retail's usage.
	_, other := e.user(t, "other-reader@example.com", retail, withRole("consumer", map[string]any{"scope_kind": "org_unit", "scope_id": e.orgUnit(t, "OTHER")}))
	c.do("GET", q, other, nil, 200).decode(t, &usage)
	if len(usage.Rows) != 0 {
		t.Errorf("another org unit's consumer reads %+v", usage.Rows)
	}
	c.do("GET", "/api/v1/usage?meter=api-calls&from=2026-01-01T00:30:00Z&to=2026-01-02T00:00:00Z", buyer, nil, 422)
}

// orgUnit creates an org unit and returns its ID.
func (e *env) orgUnit(t *testing.T, code string) string {
	var ou idOnly
	e.check.do("POST", "/api/v1/org-units", e.admin, map[string]any{"kind": "business_unit", "code": code, "name": code}, 201).decode(t, &ou)
	return ou.ID
}
