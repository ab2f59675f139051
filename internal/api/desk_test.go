package api_test

import (
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/desk"
)

// deskScenario drives the service desk's routes (issue 20): a Retail
// consumer raises an incident about object storage (whose group the
// billing scenario made), its group's agent takes it, puts it on hold
// for her, she answers, it is escalated, resolved and rated; someone of
// another org unit reads none of it.
func deskScenario(t *testing.T, e *env, retail string) {
	c := e.check
	_, buyer := e.user(t, "desk-buyer@example.com", retail, map[string]any{"role": "consumer", "scope_kind": "org_unit", "scope_id": retail})
	var grp idOnly
	c.do("GET", "/api/v1/services/object-storage", e.admin, nil, 200)
	var groups struct{ Items []struct{ ID, Name string } }
	c.do("GET", "/api/v1/groups", e.admin, nil, 200).decode(t, &groups)
	for _, g := range groups.Items {
		if g.Name == "Storage team" {
			grp.ID = g.ID
		}
	}
	agentID, agent := e.user(t, "desk-agent@example.com", retail)
	c.do("PUT", "/api/v1/groups/"+grp.ID+"/members/"+agentID, e.admin, nil, 200)
	var lab idOnly
	c.do("POST", "/api/v1/org-units", e.admin, map[string]any{"kind": "business_unit", "code": "DESKLAB", "name": "Desk lab"}, 201).decode(t, &lab)
	_, outsider := e.user(t, "desk-outsider@example.com", lab.ID, map[string]any{"role": "consumer", "scope_kind": "org_unit", "scope_id": lab.ID})

	if f := c.bad("POST", "/api/v1/tickets", buyer, map[string]any{"kind": "gripe", "service": "", "summary": "", "impact": 7}, 422).problemFields(); len(f) != 4 {
		t.Errorf("a bad ticket: fields %v, want kind, service, summary and impact", f)
	}
	c.do("POST", "/api/v1/tickets", buyer, map[string]any{"service": "object-storage", "org_unit": lab.ID, "summary": "not mine"}, 403)
	c.do("POST", "/api/v1/tickets", buyer, map[string]any{"kind": "problem", "service": "object-storage", "summary": "root cause"}, 403)
	var sg struct{ Suggestions []desk.Suggestion }
	c.do("GET", "/api/v1/service-suggestions?text=uploads+to+the+bucket+fail+with+503&k=2", buyer, nil, 200).decode(t, &sg)
	if len(sg.Suggestions) == 0 || sg.Suggestions[0].Service.Code != "object-storage" || len(sg.Suggestions[0].Why) == 0 {
		t.Errorf("suggestions for a failing bucket: %+v, want object storage first, with reasons", sg.Suggestions)
	}
	c.do("GET", "/api/v1/service-suggestions?text=", buyer, nil, 422)
	var tk desk.Detail
	c.do("POST", "/api/v1/tickets", buyer, map[string]any{"service": "object-storage", "summary": "Uploads to the bucket fail",
		"description": "Since 9:00 every upload answers 503.", "impact": 2, "urgency": 1}, 201).decode(t, &tk)
	if tk.Reference == "" || tk.Priority != 2 || tk.Group == nil || tk.Group.ID != grp.ID || !tk.Access.Requester || tk.Access.Work {
		t.Fatalf("raised %+v", tk)
	}
	ref := "/api/v1/tickets/" + tk.Reference
	c.do("GET", ref, outsider, nil, 404)
	c.do("GET", "/api/v1/tickets/"+tk.ID, buyer, nil, 200)
	c.do("GET", "/api/v1/tickets?view=mine&state=open&limit=1", buyer, nil, 200)
	c.do("GET", "/api/v1/tickets?view=queue&sort=due&q=upload", agent, nil, 200)
	c.bad("GET", "/api/v1/tickets?view=bogus", agent, nil, 422)
	var list struct{ Items []desk.Ticket }
	c.do("GET", "/api/v1/tickets", outsider, nil, 200).decode(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("the outsider lists %d tickets, want none", len(list.Items))
	}

	c.do("POST", ref+"/take", buyer, nil, 403)
	c.do("POST", ref+"/take", agent, nil, 200).decode(t, &tk)
	if tk.State != desk.StateAssigned || tk.Assignee == nil || tk.Assignee.ID != agentID {
		t.Errorf("taken: %+v", tk.Ticket)
	}
	c.do("POST", ref+"/comments", agent, map[string]any{"body": "Gateway pods restarting", "internal": true}, 200)
	c.do("POST", ref+"/move", agent, map[string]any{"to": "on_hold", "hold_reason": "customer", "note": "Which bucket?"}, 200).decode(t, &tk)
	if !tk.Resolution.Paused {
		t.Errorf("on hold, the resolution clock is %+v, want paused", tk.Resolution)
	}
	var comments struct{ Items []desk.Comment }
	c.do("GET", ref+"/comments", buyer, nil, 200).decode(t, &comments)
	if len(comments.Items) != 1 || comments.Items[0].Internal {
		t.Errorf("the requester sees %+v, want only the question", comments.Items)
	}
	c.do("POST", ref+"/comments", buyer, map[string]any{"body": "retail-invoices"}, 200).decode(t, &tk)
	if tk.State != desk.StateInProgress {
		t.Errorf("after the answer: %s, want in_progress", tk.State)
	}
	c.bad("POST", ref+"/assign", agent, map[string]any{"tier": 4}, 422)
	// Bulk assignment is all or nothing: one ticket the caller may not
	// work refuses the lot, naming it.
	var other desk.Detail
	c.do("POST", "/api/v1/tickets", buyer, map[string]any{"service": "object-storage", "summary": "Downloads are slow"}, 201).decode(t, &other)
	if p := c.bad("POST", "/api/v1/ticket-assignments", agent, map[string]any{"tickets": []string{other.Reference, "INC-999999"}, "tier": 2}, 404); !strings.Contains(string(p.body), "INC-999999") {
		t.Errorf("a bulk assignment with a missing ticket: %s", p.body)
	}
	if got := c.do("GET", "/api/v1/tickets/"+other.Reference, agent, nil, 200); !strings.Contains(string(got.body), `"tier":1`) {
		t.Errorf("a refused bulk assignment changed %s: %s", other.Reference, got.body)
	}
	c.bad("POST", "/api/v1/ticket-assignments", agent, map[string]any{"tickets": []string{}}, 422)
	var bulk struct{ Tickets []desk.Ticket }
	c.do("POST", "/api/v1/ticket-assignments", agent, map[string]any{"tickets": []string{tk.Reference, other.Reference}, "tier": 2, "note": "Needs the storage engineers"}, 200).decode(t, &bulk)
	if len(bulk.Tickets) != 2 || bulk.Tickets[0].Tier != 2 || bulk.Tickets[1].Tier != 2 {
		t.Errorf("bulk assigned %+v, want both at tier 2", bulk.Tickets)
	}
	c.do("POST", ref+"/classify", agent, map[string]any{"impact": 1}, 200).decode(t, &tk)
	if tk.Priority != 1 {
		t.Errorf("after raising the impact: P%d, want P1", tk.Priority)
	}
	// Narrowed to a configuration item on object storage's map; one off
	// its map is refused, naming the field.
	var array, svcID idOnly
	c.do("POST", "/api/v1/config-items", e.admin, map[string]any{"code": "storage-array-1", "name": "Storage array 1", "kind": "hardware"}, 201).decode(t, &array)
	c.do("GET", "/api/v1/services/object-storage", e.admin, nil, 200).decode(t, &svcID)
	c.do("POST", "/api/v1/service-map/dependencies", e.admin, map[string]any{"from_service_id": svcID.ID, "to_ci_id": array.ID, "kind": "runs_on"}, 201)
	c.do("POST", ref+"/classify", agent, map[string]any{"config_item": "storage-array-1"}, 200).decode(t, &tk)
	if tk.ConfigItem == nil || tk.ConfigItem.Code != "storage-array-1" {
		t.Errorf("narrowed to the storage array: %+v", tk.ConfigItem)
	}
	if f := c.bad("POST", ref+"/classify", agent, map[string]any{"config_item": "dc-paris"}, 422).problemFields(); len(f) != 1 || f[0] != "config_item" {
		t.Errorf("an item off the service's map: fields %v", f)
	}
	c.do("POST", ref+"/outage", buyer, map[string]any{"impact": "full"}, 403)
	c.do("POST", ref+"/outage", agent, map[string]any{"impact": "partial", "share_percent": 30}, 403) // a group member without outage.record
	c.do("PUT", ref+"/watch", outsider, nil, 404)
	c.do("PUT", ref+"/watch", agent, nil, 200)
	c.do("DELETE", ref+"/watch", agent, nil, 200)
	c.do("POST", ref+"/move", agent, map[string]any{"to": "closed"}, 409)
	c.do("POST", ref+"/move", agent, map[string]any{"to": "resolved", "resolution": "Restarted the gateway with more memory"}, 200)
	c.do("POST", ref+"/rating", agent, map[string]any{"rating": 5}, 403)
	c.do("POST", ref+"/rating", buyer, map[string]any{"rating": 5, "comment": "Fast"}, 200).decode(t, &tk)
	month := tk.OpenedAt.Format("2006-01")
	next := tk.OpenedAt.AddDate(0, 1, 0).Format("2006-01")
	var rep struct{ Rows []desk.ReportRow }
	c.do("GET", "/api/v1/ticket-report?by=service&from="+month+"&to="+next, agent, nil, 200).decode(t, &rep)
	if len(rep.Rows) != 1 || rep.Rows[0].Key != "object-storage" || rep.Rows[0].Resolved != 1 || rep.Rows[0].Rated != 1 || rep.Rows[0].MeanRating != 5 {
		t.Errorf("the report: %+v, want object storage with the one resolved ticket rated 5", rep.Rows)
	}
	if csv := c.do("GET", "/api/v1/ticket-report?by=month&format=csv&from="+month+"&to="+next, agent, nil, 200); !strings.HasPrefix(string(csv.body), "month,name,raised") {
		t.Errorf("the CSV report starts %.80q", csv.body)
	}
	c.do("GET", "/api/v1/ticket-report?from="+month+"&to="+next, outsider, nil, 200).decode(t, &rep)
	if len(rep.Rows) != 0 {
		t.Errorf("the outsider's report holds %+v", rep.Rows)
	}
	c.bad("GET", "/api/v1/ticket-report?by=week&from="+month+"&to="+next, agent, nil, 422)
	if tk.Rating == nil || *tk.Rating != 5 {
		t.Errorf("rating %v", tk.Rating)
	}

	// A service request the catalog can fulfil turns into an order: the
	// order is submitted for the request's org unit and the request is
	// resolved through it; an incident does not, an outsider may not, and
	// bad items change nothing.
	var req desk.Detail
	c.do("POST", "/api/v1/tickets", buyer, map[string]any{"kind": "request", "service": "object-storage", "summary": "A bucket for the team's exports"}, 201).decode(t, &req)
	if !req.Access.Order {
		t.Errorf("the requester may not order her request: %+v", req.Access)
	}
	bucket := map[string]any{"items": []map[string]any{{"offering": "bucket", "plan": "standard"}}, "note": "Exports of the till data"}
	c.do("POST", ref+"/orders", buyer, bucket, 409)
	c.do("POST", "/api/v1/tickets/"+req.Reference+"/orders", outsider, bucket, 404)
	if f := c.bad("POST", "/api/v1/tickets/"+req.Reference+"/orders", buyer, map[string]any{"items": []map[string]any{{"offering": "bucket", "plan": "standard", "colour": "red"}}}, 422).problemFields(); len(f) != 1 || f[0] != "items[0].colour" {
		t.Errorf("an unknown item field: fields %v", f)
	}
	var o struct {
		ID, State, Note string
		OrgUnitID       string `json:"org_unit_id"`
	}
	res := c.do("POST", "/api/v1/tickets/"+req.Reference+"/orders", buyer, bucket, 201)
	res.decode(t, &o)
	if o.State == "draft" || o.OrgUnitID != retail || !strings.Contains(o.Note, req.Reference) || res.header.Get("Location") != "/api/v1/orders/"+o.ID {
		t.Errorf("the order from the request: %+v (Location %q)", o, res.header.Get("Location"))
	}
	c.do("GET", "/api/v1/tickets/"+req.Reference, buyer, nil, 200).decode(t, &req)
	// It waits for the order (being fulfilled), offering no other meanwhile.
	if !req.State.Open() || len(req.Orders) != 1 || req.Orders[0].ID != o.ID || req.Access.Order {
		t.Errorf("the request after its order: %s, orders %+v, access %+v", req.State, req.Orders, req.Access)
	}
	c.do("POST", "/api/v1/tickets/"+req.Reference+"/orders", buyer, bucket, 409)

	// Per org unit support: the desk lab's object storage tickets go to
	// the lab's own group, until the route is removed.
	c.do("POST", "/api/v1/groups", e.admin, map[string]any{"name": "Lab support"}, 201)
	routes := "/api/v1/services/object-storage/ticket-routes"
	c.do("PUT", routes+"/DESKLAB", buyer, map[string]any{"group": "Lab support"}, 403)
	if f := c.bad("PUT", routes+"/NOWHERE", e.admin, map[string]any{"group": "Nobody"}, 422).problemFields(); len(f) != 2 {
		t.Errorf("a route of no org unit to no group: fields %v", f)
	}
	c.do("PUT", routes+"/DESKLAB", e.admin, map[string]any{"group": "Lab support"}, 200)
	var rs struct{ Items []desk.Route }
	c.do("GET", routes, e.admin, nil, 200).decode(t, &rs)
	if len(rs.Items) != 1 || rs.Items[0].OrgUnit.Code != "DESKLAB" || rs.Items[0].Group.Name != "Lab support" {
		t.Errorf("the routes: %+v", rs.Items)
	}
	c.do("GET", routes, buyer, nil, 403)
	var lt desk.Detail
	c.do("POST", "/api/v1/tickets", outsider, map[string]any{"service": "object-storage", "summary": "The lab's bucket is read-only"}, 201).decode(t, &lt)
	if lt.Group == nil || lt.Group.Name != "Lab support" {
		t.Errorf("the lab's ticket went to %+v, want Lab support", lt.Group)
	}
	c.do("DELETE", routes+"/DESKLAB", e.admin, nil, 204)
	c.do("DELETE", routes+"/DESKLAB", e.admin, nil, 404)
}
