package desk_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// maintained gives the desktop service an OLA whose calendar has a
// maintenance window on Saturdays 20:00–23:00 UTC.
func (f *fixture) maintained() {
	f.t.Helper()
	in := sla.AgreementInput{Code: "desktop-ola", Name: "Desktop engineering", Kind: sla.OLA, State: sla.Active, Provider: "Workplace",
		Customer: "Service Desk", Currency: "EUR", EffectiveFrom: "2026-01-01", Services: []string{"desktop"},
		Calendar: catalog.Calendar{TimeZone: "UTC", Weekly: catalog.Weekly(catalog.Weekdays[:5], "09:00", "17:00"),
			Maintenance: []catalog.Maintenance{{Name: "Saturday evening", Rule: "FREQ=WEEKLY;BYDAY=SA", Start: "20:00", End: "23:00", NoticeDays: 2},
				// Saturday night runs on into Sunday: a change across
				// midnight is within the windows.
				{Name: "Saturday night", Rule: "FREQ=WEEKLY;BYDAY=SA", Start: "23:00", End: "24:00", NoticeDays: 2},
				{Name: "Sunday night", Rule: "FREQ=WEEKLY;BYDAY=SU", Start: "00:00", End: "02:00", NoticeDays: 2}}},
		Targets: []sla.Target{{Code: "avail", Kind: sla.Availability, Objective: "99", Window: sla.Window{Kind: sla.Month}}}}
	if _, _, err := f.a.SLA.SaveAgreement(f.ctx, f.as("lena@it.contoso.example"), in); err != nil {
		f.t.Fatal(err)
	}
}

func conflictKinds(c *desk.ChangePlan) []string {
	var out []string
	for _, c := range c.Conflicts {
		out = append(out, c.Kind)
	}
	slices.Sort(out)
	return out
}

func wantField(t *testing.T, err error, field, what string) {
	t.Helper()
	e := errs.As(err)
	if e == nil || e.Code != errs.CodeInvalid || !slices.ContainsFunc(e.Fields, func(fe errs.FieldError) bool { return fe.Field == field }) {
		t.Fatalf("%s: got %v, want invalid naming %s", what, err, field)
	}
}

// TestChangeManagement follows requests for change (issue 20, "Change
// management"): normal changes routed by change policies (CEL over the
// change) to the CAB or the change authority, implemented only once
// approved; a rejection that closes the change; standard changes from
// pre-approved templates; the emergency CAB; and the change calendar's
// conflicts with maintenance windows, freezes and overlapping changes.
func TestChangeManagement(t *testing.T) {
	f := newFixture(t)
	f.maintained()
	alex, chen, dana := f.as("alex@it.contoso.example"), f.as("chen@it.contoso.example"), f.as("dana@contoso.example")
	admin := f.as("admin@it.contoso.example")
	// The test's own change policy, instead of the demo's.
	for _, pol := range must(f.a.Orders.Policies(f.ctx, admin))(t) {
		if pol.Subject == orders.SubjectChange {
			if err := f.a.Orders.DeletePolicy(f.ctx, admin, pol.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	cab := must(f.a.Orders.SavePolicy(f.ctx, admin, "", orders.PolicyInput{Subject: orders.SubjectChange, Name: "CAB for high risk",
		Expression: `change.risk == "high" || (change.criticality == "mission_critical" && change.outside_window)`, ApproverKind: orders.ApproverRole, ApproverRole: access.RoleChangeManager}))(t)
	if cab.Subject != orders.SubjectChange {
		t.Fatalf("policy subject %q, want change", cab.Subject)
	}
	// A change policy reads the change, not an order; its approvers decide changes.
	_, err := f.a.Orders.SavePolicy(f.ctx, admin, "", orders.PolicyInput{Subject: orders.SubjectChange, Name: "bad", Expression: `order.total_monthly > 1`,
		ApproverKind: orders.ApproverRole, ApproverRole: access.RoleChangeManager})
	wantField(t, err, "expression", "a change policy over order")
	_, err = f.a.Orders.SavePolicy(f.ctx, admin, "", orders.PolicyInput{Subject: orders.SubjectChange, Name: "bad", Expression: `true`,
		ApproverKind: orders.ApproverRole, ApproverRole: access.RoleApprover})
	wantField(t, err, "approver_role", "a change policy sending changes to order approvers")
	_, err = f.a.Orders.SavePolicy(f.ctx, admin, "", orders.PolicyInput{Subject: orders.SubjectChange, Name: "bad", Expression: `true`,
		ApproverKind: orders.ApproverSponsor})
	wantField(t, err, "approver_kind", "a change policy sending changes to the sponsor")

	// A low-risk normal change on a Saturday evening (2026-11-21) within the
	// window: no policy matches, so the change authority decides.
	low := must(f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Kind: desk.Change, Service: "desktop", OrgUnit: "RETAIL", Summary: "Patch the print servers",
		Change: &desk.ChangeInput{Risk: "low", Plan: "Install KB-1 on both print servers, one at a time.", BackoutPlan: "Uninstall KB-1.",
			PlannedStart: "2026-11-21T20:30:00Z", PlannedEnd: "2026-11-21T22:00:00Z"}}))(t)
	if c := low.Change; c == nil || c.Type != desk.NormalChange || c.Approval != desk.ApprovalPending || len(c.Approvals) != 1 || c.Approvals[0].Policy != "Change authority" ||
		c.Approvals[0].ApproverRole != string(access.RoleChangeManager) {
		t.Fatalf("low-risk change %+v %+v, want one pending decision by the change authority", low.Change, low.Change.Approvals[0])
	}
	if got := conflictKinds(low.Change); len(got) != 0 {
		t.Errorf("a change within the maintenance window has conflicts %v", got)
	}
	// Another org unit's change manager decides no change to a shared
	// service; nobody decides a change they raised for someone else.
	retailCM := f.person("retail-cab@it.contoso.example", access.RoleChangeManager, "RETAIL", "")
	_, err = f.a.Desk.DecideChange(f.ctx, retailCM, low.Change.Approvals[0].ID, desk.DecideInput{Approve: true})
	wantCode(t, err, errs.CodeForbidden, "a Retail change manager deciding a change to the desktop service")
	night := must(f.a.Desk.Raise(f.ctx, chen, desk.RaiseInput{Kind: desk.Change, Service: "desktop", OrgUnit: "RETAIL", Requester: "alex@it.contoso.example",
		Summary: "Move the print queues", Change: &desk.ChangeInput{Risk: "low", Plan: "Move them.", BackoutPlan: "Move them back.",
			PlannedStart: "2026-11-21T22:30:00Z", PlannedEnd: "2026-11-22T01:00:00Z"}}))(t)
	if got := conflictKinds(night.Change); len(got) != 0 {
		t.Errorf("a change across midnight within the Saturday and Sunday windows has conflicts %v", got)
	}
	_, err = f.a.Desk.DecideChange(f.ctx, chen, night.Change.Approvals[0].ID, desk.DecideInput{Approve: true})
	wantCode(t, err, errs.CodeForbidden, "Chen deciding the change he raised for Alex")
	// Its service stays: reclassifying a change elsewhere is refused.
	_, err = f.a.Desk.Classify(f.ctx, alex, night.Reference, desk.ClassifyInput{Service: "email"})
	wantCode(t, err, errs.CodeConflict, "moving a change to another service")
	// Not implemented before it is approved.
	_, err = f.a.Desk.Move(f.ctx, alex, low.Reference, desk.MoveInput{To: desk.StateInProgress})
	wantCode(t, err, errs.CodeConflict, "starting an unapproved change")
	// Alex works tickets but is no change manager; Dana reads nothing.
	_, err = f.a.Desk.DecideChange(f.ctx, alex, low.Change.Approvals[0].ID, desk.DecideInput{Approve: true})
	wantCode(t, err, errs.CodeForbidden, "an agent deciding a change")
	_, err = f.a.Desk.DecideChange(f.ctx, dana, low.Change.Approvals[0].ID, desk.DecideInput{Approve: true})
	wantCode(t, err, errs.CodeNotFound, "a consumer deciding a change")
	got := must(f.a.Desk.DecideChange(f.ctx, chen, low.Change.Approvals[0].ID, desk.DecideInput{Approve: true, Comment: "Fine on a Saturday."}))(t)
	if got.Change.Approval != desk.ApprovalApproved || got.Change.DecidedAt == nil {
		t.Fatalf("after the change authority approved: %+v", got.Change)
	}
	_, err = f.a.Desk.DecideChange(f.ctx, chen, low.Change.Approvals[0].ID, desk.DecideInput{Approve: true})
	wantCode(t, err, errs.CodeConflict, "deciding twice")
	must(f.a.Desk.Move(f.ctx, alex, low.Reference, desk.MoveInput{To: desk.StateInProgress}))(t)

	// A high-risk change on a Wednesday morning: the CAB policy routes it,
	// and it is outside the maintenance windows and overlaps nothing.
	high := must(f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Kind: desk.Change, Service: "desktop", OrgUnit: "RETAIL", Summary: "Replace the print cluster",
		Change: &desk.ChangeInput{Risk: "high", Plan: "Build the new cluster, move the queues.", BackoutPlan: "Move the queues back.",
			PlannedStart: "2026-11-25T10:00:00Z", PlannedEnd: "2026-11-25T12:00:00Z"}}))(t)
	if c := high.Change; len(c.Approvals) != 1 || c.Approvals[0].Policy != "CAB for high risk" {
		t.Fatalf("high-risk change approvals %+v, want the CAB", c.Approvals)
	}
	if got := conflictKinds(high.Change); !slices.Equal(got, []string{"outside_window"}) {
		t.Errorf("a Wednesday-morning change has conflicts %v, want outside_window", got)
	}
	agenda := must(f.a.Desk.Agenda(f.ctx, chen, sqldb.Page{}))(t).Items
	// Soonest first: the change Chen raised (not his to decide), then the
	// high-risk one.
	if len(agenda) != 2 || agenda[0].Ticket.Reference != night.Reference || agenda[0].Yours != nil ||
		agenda[1].Ticket.Reference != high.Reference || agenda[1].Yours == nil {
		t.Fatalf("CAB agenda %+v, want the night change and the high-risk one, the latter for Chen to decide", agenda)
	}
	_, err = f.a.Desk.Agenda(f.ctx, dana, sqldb.Page{})
	wantCode(t, err, errs.CodeForbidden, "a consumer reading the CAB agenda")
	_, err = f.a.Desk.DecideChange(f.ctx, chen, high.Change.Approvals[0].ID, desk.DecideInput{Approve: false})
	wantField(t, err, "comment", "rejecting without a reason")
	rej := must(f.a.Desk.DecideChange(f.ctx, chen, high.Change.Approvals[0].ID, desk.DecideInput{Comment: "No backout test yet."}))(t)
	if rej.State != desk.StateClosed || rej.Change.Approval != desk.ApprovalRejected {
		t.Fatalf("rejected change is %s/%s, want closed/rejected", rej.State, rej.Change.Approval)
	}

	// A freeze over the next Saturday, and two changes in its window: each
	// conflicts with the freeze and with the other.
	_, err = f.a.Desk.AddFreeze(f.ctx, alex, desk.FreezeInput{Name: "x", StartsAt: "2026-11-28T00:00:00Z", EndsAt: "2026-11-29T00:00:00Z"})
	wantCode(t, err, errs.CodeForbidden, "an agent adding a freeze")
	_, err = f.a.Desk.AddFreeze(f.ctx, chen, desk.FreezeInput{Name: "Black Friday weekend", StartsAt: "2026-11-29T00:00:00Z", EndsAt: "2026-11-28T00:00:00Z"})
	wantField(t, err, "ends_at", "a freeze ending before it starts")
	must(f.a.Desk.AddFreeze(f.ctx, chen, desk.FreezeInput{Name: "Black Friday weekend", StartsAt: "2026-11-27T00:00:00Z", EndsAt: "2026-11-30T00:00:00Z"}))(t)
	tpl := must(f.a.Desk.SaveTemplate(f.ctx, chen, "", desk.TemplateInput{Name: "Restart the print spooler", Service: "desktop", Summary: "Restart the print spooler",
		Plan: "Restart the spooler service on the print servers.", BackoutPlan: "None needed.", DurationMinutes: 30}))(t)
	_, err = f.a.Desk.SaveTemplate(f.ctx, alex, "", desk.TemplateInput{Name: "x", Service: "desktop", Summary: "x", Plan: "x", BackoutPlan: "x", DurationMinutes: 30})
	wantCode(t, err, errs.CodeForbidden, "an agent writing a template")
	std := must(f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Kind: desk.Change, OrgUnit: "RETAIL",
		Change: &desk.ChangeInput{Template: tpl.Name, PlannedStart: "2026-11-28T20:00:00Z"}}))(t)
	if c := std.Change; c.Type != desk.StandardChange || c.Approval != desk.ApprovalApproved || len(c.Approvals) != 0 || std.Summary != tpl.Summary ||
		!c.PlannedEnd.Equal(at("2026-11-28T20:30:00Z")) || c.Template == nil || c.Template.ID != tpl.ID {
		t.Fatalf("standard change %+v / %+v, want pre-approved from the template, 30 minutes", std, std.Change)
	}
	if got := conflictKinds(std.Change); !slices.Equal(got, []string{"freeze"}) {
		t.Errorf("standard change in the freeze has conflicts %v, want freeze", got)
	}
	// A standard change is its template: not another plan, risk or length.
	_, err = f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Kind: desk.Change, OrgUnit: "RETAIL",
		Change: &desk.ChangeInput{Template: tpl.Name, Plan: "Reinstall every desktop.", PlannedStart: "2026-11-28T20:00:00Z"}})
	wantField(t, err, "change.plan", "a standard change with another plan")
	_, err = f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Kind: desk.Change, OrgUnit: "RETAIL",
		Change: &desk.ChangeInput{Template: tpl.Name, PlannedStart: "2026-11-28T20:00:00Z", PlannedEnd: "2026-12-20T20:00:00Z"}})
	wantField(t, err, "change.planned_end", "a standard change of three weeks")
	// An emergency may skip the implementation plan, never the way back.
	_, err = f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Kind: desk.Change, Service: "desktop", OrgUnit: "RETAIL", Summary: "Block the spooler exploit",
		Change: &desk.ChangeInput{Type: desk.EmergencyChange, Risk: "high", PlannedStart: "2026-11-28T20:15:00Z", PlannedEnd: "2026-11-28T21:00:00Z"}})
	wantField(t, err, "change.backout_plan", "an emergency change without a backout plan")
	emg := must(f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Kind: desk.Change, Service: "desktop", OrgUnit: "RETAIL", Summary: "Block the spooler exploit",
		Change: &desk.ChangeInput{Type: desk.EmergencyChange, Risk: "high", BackoutPlan: "Start the spooler again.",
			PlannedStart: "2026-11-28T20:15:00Z", PlannedEnd: "2026-11-28T21:00:00Z"}}))(t)
	if c := emg.Change; len(c.Approvals) != 1 || c.Approvals[0].Policy != "Emergency CAB" {
		t.Fatalf("emergency change approvals %+v, want the emergency CAB alone", c.Approvals)
	}
	if got := conflictKinds(emg.Change); !slices.Equal(got, []string{"freeze", "overlap"}) {
		t.Errorf("emergency change has conflicts %v, want freeze and overlap", got)
	}
	again := must(f.a.Desk.Ticket(f.ctx, alex, std.Reference))(t)
	if got := conflictKinds(again.Change); !slices.Equal(got, []string{"freeze", "overlap"}) {
		t.Errorf("the standard change read again has conflicts %v, want freeze and overlap", got)
	}
	// Dana, for whom Alex raised a change in the same window, reads that it
	// overlaps another change, not which: she may not read Alex's.
	hers := must(f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Kind: desk.Change, Service: "desktop", OrgUnit: "CC-4100", Requester: "dana@contoso.example",
		Summary: "Swap Dana's printer", Change: &desk.ChangeInput{Risk: "low", Plan: "Swap it.", BackoutPlan: "Swap it back.",
			PlannedStart: "2026-11-28T20:05:00Z", PlannedEnd: "2026-11-28T20:10:00Z"}}))(t)
	seen := must(f.a.Desk.Ticket(f.ctx, dana, hers.Reference))(t)
	for _, c := range seen.Change.Conflicts {
		if c.Kind == "overlap" && (c.With != "" || !strings.Contains(c.Message, "another change")) {
			t.Errorf("Dana reads the conflict %+v: it names a change she may not read", c)
		}
	}

	// The calendar of the week: the changes but the rejected one, the
	// Saturday maintenance windows and the freeze.
	cal := must(f.a.Desk.Calendar(f.ctx, chen, at("2026-11-21T00:00:00Z"), at("2026-11-30T00:00:00Z")))(t)
	var refs []string
	for _, c := range cal.Changes {
		refs = append(refs, c.Reference)
	}
	if want := []string{low.Reference, night.Reference, std.Reference, hers.Reference, emg.Reference}; !slices.Equal(refs, want) {
		t.Errorf("calendar changes %v, want %v", refs, want)
	}
	if len(cal.Windows) != 6 || !cal.Windows[0].Start.Equal(at("2026-11-21T20:00:00Z")) || len(cal.Freezes) != 1 {
		t.Errorf("calendar windows %+v freezes %+v, want two weekends' three windows and one freeze", cal.Windows, cal.Freezes)
	}
	_, err = f.a.Desk.Calendar(f.ctx, dana, at("2026-11-21T00:00:00Z"), at("2026-11-30T00:00:00Z"))
	wantCode(t, err, errs.CodeForbidden, "a consumer reading the change calendar")
	_, err = f.a.Desk.Calendar(f.ctx, chen, at("2026-01-01T00:00:00Z"), at("2026-12-30T00:00:00Z"))
	wantField(t, err, "to", "a calendar of a year")

	// The approved change, in progress, causes its outage as planned:
	// from when work began, announced when it was approved; resolving the
	// change ends it.
	_, err = f.a.Desk.DeclareOutage(f.ctx, alex, std.Reference, desk.OutageInput{Impact: sla.Full})
	wantCode(t, err, errs.CodeConflict, "an outage of a change not yet in progress")
	f.set("2026-11-28T20:00:00Z")
	must(f.a.Desk.Move(f.ctx, alex, std.Reference, desk.MoveInput{To: desk.StateInProgress}))(t)
	f.set("2026-11-28T20:10:00Z")
	must(f.a.Desk.DeclareOutage(f.ctx, alex, std.Reference, desk.OutageInput{Impact: sla.Full}))(t)
	f.set("2026-11-28T20:25:00Z")
	done := must(f.a.Desk.Move(f.ctx, alex, std.Reference, desk.MoveInput{To: desk.StateResolved, Resolution: "Spooler restarted."}))(t)
	o := must(f.a.SLA.Outage(f.ctx, access.System(), done.OutageID))(t)
	if !o.Planned || !o.Started.Equal(at("2026-11-28T20:00:00Z")) || o.Ended == nil || !o.Ended.Equal(at("2026-11-28T20:25:00Z")) ||
		o.AnnouncedAt == nil || !o.AnnouncedAt.Equal(at("2026-11-16T10:00:00Z")) {
		t.Errorf("planned outage %+v, want planned from 20:00 to 20:25, announced when the change was approved", o)
	}

	// Bad input changes nothing.
	bad := []struct {
		in    desk.RaiseInput
		field string
	}{
		{desk.RaiseInput{Kind: desk.Incident, Service: "desktop", Summary: "x", Change: &desk.ChangeInput{}}, "change"},
		{desk.RaiseInput{Kind: desk.Change, Service: "desktop", OrgUnit: "RETAIL", Summary: "x", Change: &desk.ChangeInput{Plan: "p", BackoutPlan: "b",
			PlannedStart: "2026-11-28T20:00:00Z", PlannedEnd: "2026-11-28T19:00:00Z"}}, "change.planned_end"},
		{desk.RaiseInput{Kind: desk.Change, Service: "desktop", OrgUnit: "RETAIL", Summary: "x", Change: &desk.ChangeInput{Plan: "p", BackoutPlan: "b",
			PlannedStart: "2026-11-01T20:00:00Z", PlannedEnd: "2026-12-28T19:00:00Z"}}, "change.planned_end"},
		{desk.RaiseInput{Kind: desk.Change, Service: "desktop", OrgUnit: "RETAIL", Summary: "x", Change: &desk.ChangeInput{BackoutPlan: "b",
			PlannedStart: "2026-11-28T20:00:00Z", PlannedEnd: "2026-11-28T21:00:00Z"}}, "change.plan"},
		{desk.RaiseInput{Kind: desk.Change, Service: "desktop", OrgUnit: "RETAIL", Summary: "x", Change: &desk.ChangeInput{Type: desk.StandardChange, Plan: "p", BackoutPlan: "b",
			PlannedStart: "2026-11-28T20:00:00Z", PlannedEnd: "2026-11-28T21:00:00Z"}}, "change.template"},
		{desk.RaiseInput{Kind: desk.Change, OrgUnit: "RETAIL", Change: &desk.ChangeInput{Template: "no such template", PlannedStart: "2026-11-28T20:00:00Z"}}, "change.template"},
		{desk.RaiseInput{Kind: desk.Change, Service: "desktop", OrgUnit: "RETAIL", Summary: "x", Change: &desk.ChangeInput{Risk: "extreme", Plan: "p", BackoutPlan: "b",
			PlannedStart: "2026-11-28T20:00:00Z", PlannedEnd: "2026-11-28T21:00:00Z"}}, "change.risk"},
	}
	var before int
	if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM tickets`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	for _, c := range bad {
		_, err := f.a.Desk.Raise(f.ctx, alex, c.in)
		wantField(t, err, c.field, "raising "+c.field)
	}
	var after int
	if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM tickets`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("bad changes wrote %d tickets", after-before)
	}
}

// TestChangeListsCountOnlyWhatTheReaderSees: the agenda's pages and the
// calendar stop at a number of changes; the changes another org unit's
// change manager may not see must not use it up.
func TestChangeListsCountOnlyWhatTheReaderSees(t *testing.T) {
	f := newFixture(t)
	f.maintained()
	defer desk.SetChangeListLimit(2)()
	alex := f.as("alex@it.contoso.example")
	retailCM := f.person("retail-cab@it.contoso.example", access.RoleChangeManager, "RETAIL", "")
	raise := func(orgUnit, start, end string) *desk.Detail {
		return must(f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Kind: desk.Change, Service: "desktop", OrgUnit: orgUnit, Summary: "Patch " + orgUnit + " " + start,
			Change: &desk.ChangeInput{Risk: "low", Plan: "Patch.", BackoutPlan: "Unpatch.", PlannedStart: start, PlannedEnd: end}}))(t)
	}
	// Manufacturing's two come first in planned order.
	raise("MFG", "2026-11-21T20:30:00Z", "2026-11-21T21:00:00Z")
	raise("MFG", "2026-11-21T21:00:00Z", "2026-11-21T21:30:00Z")
	retail := raise("RETAIL", "2026-11-21T21:30:00Z", "2026-11-21T22:00:00Z")
	agenda := must(f.a.Desk.Agenda(f.ctx, retailCM, sqldb.Page{Limit: 2}))(t).Items
	if len(agenda) != 1 || agenda[0].Ticket.ID != retail.ID {
		var got []string
		for _, it := range agenda {
			got = append(got, it.Ticket.Reference)
		}
		t.Errorf("the Retail change manager's agenda lists %v, want only %s", got, retail.Reference)
	}
	cal := must(f.a.Desk.Calendar(f.ctx, retailCM, at("2026-11-21T00:00:00Z"), at("2026-11-23T00:00:00Z")))(t)
	if len(cal.Changes) != 1 || cal.Changes[0].ID != retail.ID {
		t.Errorf("the Retail change manager's calendar lists %d changes, want only %s", len(cal.Changes), retail.Reference)
	}
	// The agenda pages (issue 18): Alex sees all three, one a page, soonest
	// first; the last page has no next.
	var walked []string
	page := sqldb.Page{Limit: 1}
	for range 5 {
		pg := must(f.a.Desk.Agenda(f.ctx, alex, page))(t)
		for _, it := range pg.Items {
			walked = append(walked, it.Ticket.Change.PlannedStart.Format("15:04"))
		}
		if pg.Next == "" {
			break
		}
		page.Cursor = pg.Next
	}
	if got := strings.Join(walked, " "); got != "20:30 21:00 21:30" {
		t.Errorf("the agenda a change a page: %s, want 20:30 21:00 21:30", got)
	}
}

// TestTemplatePages: issue 18, "every list pages": the standard change
// templates page by name (active ones, or all), each once, as the whole
// list gives them.
func TestTemplatePages(t *testing.T) {
	f := newFixture(t)
	f.maintained()
	chen := f.as("chen@it.contoso.example")
	for i := range 7 {
		tpl := must(f.a.Desk.SaveTemplate(f.ctx, chen, "", desk.TemplateInput{Name: fmt.Sprintf("Template %d", 6-i), Service: "desktop", Summary: "Restart",
			Plan: "Restart.", BackoutPlan: "None.", DurationMinutes: 30}))(t)
		if i%3 == 0 {
			off := false
			must(f.a.Desk.SaveTemplate(f.ctx, chen, tpl.ID, desk.TemplateInput{Name: tpl.Name, Service: "desktop", Summary: "Restart",
				Plan: "Restart.", BackoutPlan: "None.", DurationMinutes: 30, Active: &off}))(t)
		}
	}
	for _, all := range []bool{false, true} {
		whole := must(f.a.Desk.Templates(f.ctx, chen, all))(t)
		var want, got []string
		for _, x := range whole {
			want = append(want, x.Name)
		}
		page := sqldb.Page{Limit: 2}
		for range 20 {
			pg := must(f.a.Desk.TemplatePage(f.ctx, chen, all, page))(t)
			for _, x := range pg.Items {
				got = append(got, x.Name)
			}
			if pg.Next == "" {
				break
			}
			page.Cursor = pg.Next
		}
		if len(want) < 4 || !slices.Equal(want, got) {
			t.Errorf("all=%v: pages of 2 give %v, the whole list %v", all, got, want)
		}
	}
	_, err := f.a.Desk.TemplatePage(f.ctx, f.as("dana@contoso.example"), true, sqldb.Page{})
	wantCode(t, err, errs.CodeForbidden, "a consumer reading the templates")
}
