package api_test

import (
	"testing"

	"github.com/steward-itaas/steward/internal/desk"
)

// changeScenario drives change management's routes (issue 20): a change
// policy sends high-risk changes to the CAB; an agent raises one; a change
// manager sees it on the agenda and the calendar, with its conflict with
// a freeze, and approves it; a standard change from a template needs no
// one; the requester cannot decide his own change.
func changeScenario(t *testing.T, e *env, retail string) {
	c := e.check
	_, agent := e.user(t, "change-agent@example.com", retail, map[string]any{"role": "agent", "scope_kind": "global"})
	_, cab := e.user(t, "change-cab@example.com", retail, map[string]any{"role": "change_manager", "scope_kind": "global"})
	_, buyer := e.user(t, "change-buyer@example.com", retail, map[string]any{"role": "consumer", "scope_kind": "org_unit", "scope_id": retail})
	c.bad("POST", "/api/v1/approval-policies", e.admin, map[string]any{"subject": "change", "name": "bad", "expression": "order.items > 1",
		"approver_kind": "role", "approver_role": "change_manager"}, 422)
	c.do("POST", "/api/v1/approval-policies", e.admin, map[string]any{"subject": "change", "name": "CAB for high risk", "expression": `change.risk == "high"`,
		"approver_kind": "role", "approver_role": "change_manager"}, 201)
	c.do("POST", "/api/v1/change-freezes", agent, map[string]any{"name": "x", "starts_at": "2030-03-01T00:00:00Z", "ends_at": "2030-03-02T00:00:00Z"}, 403)
	c.bad("POST", "/api/v1/change-freezes", cab, map[string]any{"name": "x", "starts_at": "2030-03-01T00:00:00Z", "ends_at": "2030-09-02T00:00:00Z"}, 422)
	c.do("POST", "/api/v1/change-freezes", cab, map[string]any{"name": "Quarter close", "starts_at": "2030-03-30T00:00:00Z", "ends_at": "2030-04-02T00:00:00Z"}, 201)
	var gone desk.Freeze
	c.do("POST", "/api/v1/change-freezes", cab, map[string]any{"name": "Mistake", "service": "object-storage", "starts_at": "2030-03-30T00:00:00Z",
		"ends_at": "2030-04-02T00:00:00Z"}, 201).decode(t, &gone)
	c.do("DELETE", "/api/v1/change-freezes/"+gone.ID, agent, nil, 403)
	c.do("DELETE", "/api/v1/change-freezes/"+gone.ID, cab, nil, 204)
	c.do("DELETE", "/api/v1/change-freezes/"+gone.ID, cab, nil, 404)

	if f := c.bad("POST", "/api/v1/tickets", agent, map[string]any{"kind": "change", "service": "object-storage", "org_unit": retail, "summary": "Upgrade",
		"change": map[string]any{"type": "sometimes", "planned_start": "soon"}}, 422).problemFields(); len(f) < 3 {
		t.Errorf("a bad change: fields %v, want change.type, change.plan, change.planned_start …", f)
	}
	c.do("POST", "/api/v1/tickets", buyer, map[string]any{"kind": "change", "service": "object-storage", "summary": "Mine",
		"change": map[string]any{"plan": "p", "backout_plan": "b", "planned_start": "2030-03-31T20:00:00Z", "planned_end": "2030-03-31T22:00:00Z"}}, 403)
	var chg desk.Detail
	c.do("POST", "/api/v1/tickets", agent, map[string]any{"kind": "change", "service": "object-storage", "org_unit": retail, "summary": "Upgrade the gateways",
		"change": map[string]any{"risk": "high", "plan": "Roll the gateways one by one.", "backout_plan": "Roll back the image.",
			"planned_start": "2030-03-31T20:00:00Z", "planned_end": "2030-03-31T22:00:00Z"}}, 201).decode(t, &chg)
	if chg.Change == nil || chg.Change.Approval != "pending" || len(chg.Change.Approvals) != 1 || chg.Change.Approvals[0].Policy != "CAB for high risk" {
		t.Fatalf("raised change %+v", chg.Change)
	}
	if len(chg.Change.Conflicts) == 0 || chg.Change.Conflicts[0].Kind != "freeze" {
		t.Errorf("conflicts %+v, want the quarter-close freeze", chg.Change.Conflicts)
	}
	ref := "/api/v1/tickets/" + chg.Reference
	c.do("POST", ref+"/move", agent, map[string]any{"to": "in_progress"}, 409)
	var agenda struct{ Items []desk.AgendaItem }
	c.do("GET", "/api/v1/cab-agenda", cab, nil, 200).decode(t, &agenda)
	if len(agenda.Items) != 1 || agenda.Items[0].Yours == nil || agenda.Items[0].Ticket.Reference != chg.Reference {
		t.Fatalf("CAB agenda %+v", agenda.Items)
	}
	c.do("GET", "/api/v1/cab-agenda", buyer, nil, 403)
	var cal desk.ChangeCalendar
	c.do("GET", "/api/v1/change-calendar?from=2030-03-30&to=2030-04-06", cab, nil, 200).decode(t, &cal)
	if len(cal.Changes) != 1 || len(cal.Freezes) != 1 {
		t.Errorf("calendar: %d changes, %d freezes, want 1 and 1", len(cal.Changes), len(cal.Freezes))
	}
	c.bad("GET", "/api/v1/change-calendar?from=tomorrow", cab, nil, 422)
	c.do("GET", "/api/v1/change-calendar", buyer, nil, 403)
	decide := "/api/v1/change-approvals/" + agenda.Items[0].Yours.ID + "/decision"
	c.do("POST", decide, agent, map[string]any{"approve": true}, 403)
	c.bad("POST", decide, cab, map[string]any{"approve": false}, 422)
	c.do("POST", decide, cab, map[string]any{"approve": true, "comment": "After the close."}, 200).decode(t, &chg)
	if chg.Change.Approval != "approved" {
		t.Errorf("after the CAB: %s, want approved", chg.Change.Approval)
	}
	c.do("POST", decide, cab, map[string]any{"approve": true}, 409)
	c.do("POST", ref+"/move", agent, map[string]any{"to": "in_progress"}, 200)

	var tpl desk.Template
	c.do("POST", "/api/v1/change-templates", agent, map[string]any{"name": "x", "service": "object-storage", "summary": "x", "plan": "x", "backout_plan": "x",
		"duration_minutes": 10}, 403)
	c.do("POST", "/api/v1/change-templates", cab, map[string]any{"name": "Rotate the gateway certificates", "service": "object-storage",
		"summary": "Rotate the gateway certificates", "plan": "Run the rotation job.", "backout_plan": "Restore the previous certificates.", "duration_minutes": 20}, 201).decode(t, &tpl)
	var tpls struct{ Items []desk.Template }
	c.do("GET", "/api/v1/change-templates", agent, nil, 200).decode(t, &tpls)
	if len(tpls.Items) != 1 {
		t.Errorf("templates %+v", tpls.Items)
	}
	c.do("PUT", "/api/v1/change-templates/"+tpl.ID, cab, map[string]any{"name": tpl.Name, "service": "object-storage", "summary": tpl.Summary,
		"plan": tpl.Plan, "backout_plan": tpl.BackoutPlan, "duration_minutes": 25}, 200)
	var std desk.Detail
	c.do("POST", "/api/v1/tickets", agent, map[string]any{"kind": "change", "org_unit": retail,
		"change": map[string]any{"template": tpl.Name, "planned_start": "2030-04-10T20:00:00Z"}}, 201).decode(t, &std)
	if std.Change == nil || std.Change.Type != desk.StandardChange || std.Change.Approval != "approved" || std.Change.PlannedEnd.Sub(std.Change.PlannedStart).Minutes() != 25 {
		t.Errorf("standard change %+v", std.Change)
	}

	// Withdrawn: the approved standard change before it starts (by its
	// requester, with a reason); never the one in progress; a consumer
	// who does not see it is told nothing of it.
	withdraw := "/api/v1/tickets/" + std.Reference + "/withdrawal"
	c.bad("POST", withdraw, agent, map[string]any{"reason": " "}, 422)
	c.do("POST", withdraw, buyer, map[string]any{"reason": "mine"}, 404)
	var gone2 desk.Detail
	c.do("POST", withdraw, agent, map[string]any{"reason": "The certificates were rotated with the upgrade."}, 200).decode(t, &gone2)
	if gone2.State != desk.StateClosed || gone2.Change == nil || gone2.Change.Approval != desk.ApprovalWithdrawn {
		t.Errorf("withdrawn: state %s change %+v", gone2.State, gone2.Change)
	}
	c.do("POST", withdraw, agent, map[string]any{"reason": "again"}, 409)
	c.do("POST", ref+"/withdrawal", agent, map[string]any{"reason": "too late"}, 409)
	c.do("GET", "/api/v1/change-calendar?from=2030-04-09&to=2030-04-12", cab, nil, 200).decode(t, &cal)
	if len(cal.Changes) != 0 {
		t.Errorf("the calendar shows %d changes after the withdrawal, want none", len(cal.Changes))
	}
}
