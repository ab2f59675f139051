package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/api"
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
	// Meters page by code (issue 18): one a page, the Link header to the
	// next, and the filters.
	type meterPage struct {
		Items []struct{ Code string }
		Next  string
	}
	var mp meterPage
	first := c.do("GET", "/api/v1/meters?limit=1", buyer, nil, 200)
	first.decode(t, &mp)
	if len(mp.Items) != 1 || mp.Items[0].Code != "api-calls" || mp.Next == "" || !strings.Contains(first.header.Get("Link"), `rel="next"`) {
		t.Errorf("first page of meters: %+v, Link %q", mp, first.header.Get("Link"))
	}
	next := mp.Next
	mp = meterPage{}
	c.do("GET", "/api/v1/meters?limit=1&cursor="+next, buyer, nil, 200).decode(t, &mp)
	if len(mp.Items) != 1 || mp.Items[0].Code == "api-calls" {
		t.Errorf("second page of meters: %+v", mp)
	}
	mp = meterPage{}
	c.do("GET", "/api/v1/meters?event_type=com.example.storage.used", buyer, nil, 200).decode(t, &mp)
	if len(mp.Items) != 1 || mp.Items[0].Code != "storage-gb" || mp.Next != "" {
		t.Errorf("meters of type com.example.storage.used: %+v", mp)
	}
	if fields := c.bad("GET", "/api/v1/meters?cursor=nonsense", buyer, nil, 422).problemFields(); len(fields) != 1 || fields[0] != "cursor" {
		t.Errorf("a bad cursor is refused naming %v, want cursor", fields)
	}
	c.do("GET", "/api/v1/meters/api-calls", buyer, nil, 200)

	hour := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	at := func(min int) string { return hour.Add(time.Duration(min) * time.Minute).Format(time.RFC3339) }
	post := eventPoster(t, c, reporter)
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
		Items []struct {
			Subject   string
			OrgUnitID string `json:"org_unit_id"`
			Quantity  string
			Events    int
			Start     time.Time
		}
	}
	q := fmt.Sprintf("/api/v1/usage?meter=api-calls&from=%s&to=%s&granularity=hour", hour.Format(time.RFC3339), hour.Add(3*time.Hour).Format(time.RFC3339))
	c.do("GET", q, buyer, nil, 200).decode(t, &usage)
	if len(usage.Items) != 2 || usage.Items[0].Quantity != "18" || usage.Items[0].Events != 3 || usage.Items[1].Quantity != "7" || usage.Items[0].OrgUnitID != retail {
		t.Errorf("Retail's hourly API calls are %+v, want 18 (10+5+3) then 7", usage.Items)
	}
	// Someone else's org unit sees nothing of Retail's usage.
	_, other := e.user(t, "other-reader@example.com", retail, withRole("consumer", map[string]any{"scope_kind": "org_unit", "scope_id": e.orgUnit(t, "OTHER")}))
	c.do("GET", q, other, nil, 200).decode(t, &usage)
	if len(usage.Items) != 0 {
		t.Errorf("another org unit's consumer reads %+v", usage.Items)
	}
	c.do("GET", "/api/v1/usage?meter=api-calls&from=2026-01-01T00:30:00Z&to=2026-01-02T00:00:00Z", buyer, nil, 422)
}

// orgUnit creates an org unit and returns its ID.
func (e *env) orgUnit(t *testing.T, code string) string {
	var ou idOnly
	e.check.do("POST", "/api/v1/org-units", e.admin, map[string]any{"kind": "business_unit", "code": code, "name": code}, 201).decode(t, &ou)
	return ou.ID
}

// TestIngestLimits sends what issue 15 found ingest took and should not:
// values past the limits, an hour past its maximum, usage outside a
// reporter's scope, and a batch over 1 MiB with an Idempotency-Key.
func TestIngestLimits(t *testing.T) {
	e := setup(t)
	c := e.check
	var ou idOnly
	c.do("POST", "/api/v1/org-units", e.admin, map[string]any{"kind": "business_unit", "code": "RETAIL", "name": "Retail"}, 201).decode(t, &ou)
	retail := ou.ID
	_, fm := e.user(t, "finance@example.com", retail, map[string]any{"role": "financial_manager", "scope_kind": "global"})
	c.do("PUT", "/api/v1/meters/api-calls", fm, map[string]any{"name": "API calls", "event_type": "com.example.api.called",
		"aggregation": "sum", "value_path": "calls", "unit": "call"}, 200)
	_, reporter := e.user(t, "agent-7@example.com", retail, map[string]any{"role": "usage_reporter", "scope_kind": "global"})
	hour := time.Now().UTC().Truncate(time.Hour)
	at := func(min int) string { return hour.Add(time.Duration(min) * time.Minute).Format(time.RFC3339) }
	post := eventPoster(t, c, reporter)
	ev := func(id string, minute int, subject string, calls any) map[string]any {
		return map[string]any{"specversion": "1.0", "id": id, "source": "/bounds", "type": "com.example.api.called",
			"subject": subject, "time": at(minute), "data": map[string]any{"calls": calls}}
	}
	problem := func(body []byte) (fields []string, detail string) {
		var p struct {
			Errors []struct{ Field, Message string }
		}
		json.Unmarshal(body, &p)
		for _, f := range p.Errors {
			fields, detail = append(fields, f.Field), detail+f.Message+" "
		}
		return fields, detail
	}
	// Issue 15, finding 4: a value at the maximum is accepted; one more in
	// the same hour is refused naming the field and the limit; a value past
	// the maximum too; and the usage stays readable.
	post("application/cloudevents+json", ev("b1", -600, "RETAIL", 1000000000), 200, nil)
	fields, detail := problem(post("application/cloudevents+json", ev("b2", -590, "RETAIL", 1), 422, nil))
	if len(fields) != 1 || fields[0] != "data.calls" || !strings.Contains(detail, "1000000000") {
		t.Errorf("one past the hour's maximum: %v %s", fields, detail)
	}
	fields, detail = problem(post("application/cloudevents+json", ev("b3", -530, "RETAIL", 9000000000000), 422, nil))
	if len(fields) != 1 || fields[0] != "data.calls" || !strings.Contains(detail, "1000000000") {
		t.Errorf("a value past the maximum: %v %s", fields, detail)
	}
	// Issue 15, finding 5: no negative values.
	fields, _ = problem(post("application/cloudevents+json", ev("b4", -530, "RETAIL", -5), 422, nil))
	if len(fields) != 1 || fields[0] != "data.calls" {
		t.Errorf("a negative value: %v", fields)
	}
	q := fmt.Sprintf("/api/v1/usage?meter=api-calls&from=%s&to=%s&granularity=total", at(-660)[:14]+"00:00Z", at(-480)[:14]+"00:00Z")
	var usage struct {
		Items []struct{ Subject, Quantity string }
	}
	c.do("GET", q, fm, nil, 200).decode(t, &usage)
	if len(usage.Items) != 1 || usage.Items[0].Quantity != "1000000000" {
		t.Errorf("usage after the refusals: %+v", usage.Items)
	}
	// Issue 15, finding 5: a reporter granted on Retail reports for Retail
	// only; another org unit's event is refused by index, the rest accepted.
	other := e.orgUnit(t, "ELSEWHERE")
	_, scoped := e.user(t, "retail-agent@example.com", retail, map[string]any{"role": "usage_reporter", "scope_kind": "org_unit", "scope_id": retail})
	send := func(body any, want int) []byte {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", c.base+"/api/v1/events", bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/cloudevents-batch+json")
		req.Header.Set("Authorization", "Bearer "+scoped)
		return c.exchange(req, raw, want, want == 200).body
	}
	var res struct {
		Accepted, Rejected int
		Events             []struct {
			Index    int
			Problems []struct{ Field string }
		}
	}
	json.Unmarshal(send([]any{ev("s1", -500, "RETAIL", 1), ev("s2", -500, "ELSEWHERE", 1), ev("s3", -500, other, 1)}, 200), &res)
	if res.Accepted != 1 || res.Rejected != 2 || len(res.Events) != 2 || res.Events[0].Index != 1 || res.Events[0].Problems[0].Field != "subject" {
		t.Errorf("a Retail reporter's batch for another org unit: %+v", res)
	}
	if fields, _ := problem(send([]any{ev("s4", -500, other, 1)}, 422)); len(fields) != 1 || fields[0] != "[0].subject" {
		t.Errorf("a Retail reporter's event for another org unit: %v", fields)
	}
	// Issue 15, finding 15: the body limit is the same with an
	// Idempotency-Key as without (a batch of more than 1 MiB).
	pad := strings.Repeat("x", 60<<10)
	var big []any
	for i := range 20 {
		e := ev(fmt.Sprint("i", i), -450, "RETAIL", 1)
		e["data"].(map[string]any)["pad"] = pad
		big = append(big, e)
	}
	for _, key := range []string{"", "bounds-big-batch"} {
		headers := map[string]string{}
		if key != "" {
			headers["Idempotency-Key"] = key
		}
		post("application/cloudevents-batch+json", big, 200, headers)
	}
	// Other routes keep their own limit, with or without a key.
	raw := []byte(`{"name":"` + strings.Repeat("x", api.MaxBodyBytes) + `"}`)
	for _, key := range []string{"", "bounds-big-group"} {
		req, _ := http.NewRequest("POST", c.base+"/api/v1/groups", bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.admin)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		if body := c.exchange(req, raw, 422, false).body; !strings.Contains(string(body), fmt.Sprint(api.MaxBodyBytes)) {
			t.Errorf("a group of more than %d bytes (key %q): %s", api.MaxBodyBytes, key, body)
		}
	}
}

// TestDuplicatesStayWithinScope: a reporter granted on Retail sends the
// (source, id) of Manufacturing's agent with a Retail subject. It cannot
// make Manufacturing's event a duplicate (it is accepted and counted), and
// a true retry of either event is still answered duplicate. Issue 15,
// finding 5 (review).
func TestDuplicatesStayWithinScope(t *testing.T) {
	e := setup(t)
	c := e.check
	retail, mfg := e.orgUnit(t, "RETAIL"), e.orgUnit(t, "MFG")
	_, fm := e.user(t, "finance@example.com", retail, map[string]any{"role": "financial_manager", "scope_kind": "global"})
	c.do("PUT", "/api/v1/meters/api-calls", fm, map[string]any{"name": "API calls", "event_type": "com.example.api.called",
		"aggregation": "sum", "value_path": "calls", "unit": "call"}, 200)
	reporter := func(email, ou string) func(contentType string, body any, want int, headers map[string]string) []byte {
		_, tok := e.user(t, email, ou, map[string]any{"role": "usage_reporter", "scope_kind": "org_unit", "scope_id": ou})
		return eventPoster(t, c, tok)
	}
	fromRetail, fromMfg := reporter("retail-agent@example.com", retail), reporter("mfg-agent@example.com", mfg)
	hour := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	ev := func(subject string, calls int) map[string]any {
		return map[string]any{"specversion": "1.0", "id": "1001", "source": "/agents/mfg-7", "type": "com.example.api.called",
			"subject": subject, "time": hour.Add(10 * time.Minute).Format(time.RFC3339), "data": map[string]any{"calls": calls}}
	}
	type result struct {
		Accepted, Duplicates, Rejected int
	}
	send := func(post func(string, any, int, map[string]string) []byte, body map[string]any) result {
		t.Helper()
		var r result
		if err := json.Unmarshal(post("application/cloudevents+json", body, 200, nil), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := send(fromRetail, ev("RETAIL", 1)); r != (result{Accepted: 1}) {
		t.Errorf("Retail's event with Manufacturing's (source, id): %+v", r)
	}
	if r := send(fromMfg, ev("MFG", 5)); r != (result{Accepted: 1}) {
		t.Errorf("Manufacturing's event after Retail sent its (source, id): %+v, want accepted", r)
	}
	for _, retry := range []struct {
		post func(string, any, int, map[string]string) []byte
		ev   map[string]any
	}{{fromRetail, ev("RETAIL", 1)}, {fromMfg, ev("MFG", 5)}} {
		if r := send(retry.post, retry.ev); r != (result{Duplicates: 1}) {
			t.Errorf("a retry of %s's event: %+v, want a duplicate", retry.ev["subject"], r)
		}
	}
	var usage struct {
		Items []struct{ Subject, Quantity string }
	}
	q := fmt.Sprintf("/api/v1/usage?meter=api-calls&from=%s&to=%s&granularity=total", hour.Format(time.RFC3339), hour.Add(time.Hour).Format(time.RFC3339))
	c.do("GET", q, fm, nil, 200).decode(t, &usage)
	got := map[string]string{}
	for _, r := range usage.Items {
		got[r.Subject] = r.Quantity
	}
	if len(got) != 2 || got["MFG"] != "5" || got["RETAIL"] != "1" {
		t.Errorf("usage = %v, want MFG=5 RETAIL=1", got)
	}
}

// eventPoster sends usage events with a reporter's token and checks the
// answer's status (and, for 200s, the request against the spec).
func eventPoster(t *testing.T, c *checker, reporter string) func(contentType string, body any, want int, headers map[string]string) []byte {
	return func(contentType string, body any, want int, headers map[string]string) []byte {
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
}
