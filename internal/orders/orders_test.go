package orders_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

var cheap = identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}

type fixture struct {
	t       testing.TB
	ctx     context.Context
	db      *sqldb.DB
	ids     *identity.Service
	cat     *catalog.Catalog
	ord     *orders.Service
	sys     *access.Principal
	retail  *identity.OrgUnit
	mfg     *identity.OrgUnit
	pm      *access.Principal // portfolio manager
	dana    *access.Principal // consumer in Retail
	mo      *access.Principal // consumer in Manufacturing
	sponsor *access.Principal
	fin     *access.Principal // financial manager
	agent   *access.Principal // member of Cloud Ops
	outside *access.Principal // agent not in the group
	vm      *catalog.Offering
	service *catalog.Service
}

func newFixture(t testing.TB) *fixture {
	db := sqldbtest.Open(t)
	now := func() time.Time { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) }
	f := &fixture{t: t, ctx: context.Background(), db: db, sys: access.System(), ids: identity.NewService(db, now, cheap), cat: catalog.New(db, now)}
	f.ord = orders.NewService(db, now, f.cat)
	root := f.unit("", "GROUP")
	f.retail, f.mfg = f.unit(root.ID, "RETAIL"), f.unit(root.ID, "MFG")
	f.pm = f.user("pm@x.example", root.ID, grant(access.RolePortfolioManager, access.ScopeGlobal, ""))
	f.dana = f.user("dana@x.example", f.retail.ID, grant(access.RoleConsumer, access.ScopeOrgUnit, f.retail.ID))
	f.mo = f.user("mo@x.example", f.mfg.ID, grant(access.RoleConsumer, access.ScopeOrgUnit, f.mfg.ID))
	// The business sponsor approves for Retail, as sponsors do.
	f.sponsor = f.user("sponsor@x.example", f.retail.ID, grant(access.RoleApprover, access.ScopeOrgUnit, f.retail.ID))
	f.fin = f.user("fin@x.example", root.ID, grant(access.RoleFinancialManager, access.ScopeGlobal, ""))
	f.agent = f.user("agent@x.example", root.ID)
	f.outside = f.user("other@x.example", root.ID)
	g, err := f.ids.CreateGroup(f.ctx, f.sys, identity.GroupInput{Name: "Cloud Ops"})
	must(t, err)
	_, err = f.ids.SetMember(f.ctx, f.sys, g.ID, f.agent.UserID, true)
	must(t, err)

	f.service = f.liveService("virtual-machines", "Virtual machines", g.ID, f.sponsor.UserID)
	f.vm, err = f.cat.CreateOffering(f.ctx, f.pm, catalog.OfferingInput{Code: "vm", ServiceID: f.service.ID, Name: "Virtual machine",
		FormSchema: json.RawMessage(`{"type":"object","properties":{
			"hostname":{"type":"string","title":"Host name","pattern":"^[a-z][a-z0-9-]*$","maxLength":30},
			"cpus":{"type":"integer","title":"CPUs","minimum":1,"maximum":16,"default":2},
			"os":{"type":"string","enum":["linux","windows"],"default":"linux"}},"required":["hostname"]}`),
		Plans: []catalog.PlanInput{
			{Code: "bronze", Name: "Bronze", Currency: "EUR", Recurring: "40.00", OneTime: "10.00"},
			{Code: "silver", Name: "Silver", Currency: "EUR", Recurring: "90.00"},
			{Code: "gold", Name: "Gold", Currency: "EUR", Recurring: "1200.00", OneTime: "100.00"},
		},
		Addons: []catalog.Addon{{Code: "backup", Name: "Nightly backup", Recurring: "5.50"}},
	})
	must(t, err)
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) unit(parent, code string) *identity.OrgUnit {
	o, err := f.ids.CreateOrgUnit(f.ctx, f.sys, identity.CreateOrgUnitInput{ParentID: parent, Kind: "business_unit", Code: code, Name: code})
	must(f.t, err)
	return o
}

func grant(r access.Role, kind access.ScopeKind, id string) identity.CreateGrantInput {
	return identity.CreateGrantInput{Role: r, ScopeKind: kind, ScopeID: id}
}

func (f *fixture) user(email, orgUnit string, grants ...identity.CreateGrantInput) *access.Principal {
	u, err := f.ids.CreateUser(f.ctx, f.sys, identity.CreateUserInput{Email: email, Name: email, OrgUnitID: orgUnit})
	must(f.t, err)
	for _, g := range grants {
		g.UserID = u.ID
		_, err := f.ids.CreateGrant(f.ctx, f.sys, g)
		must(f.t, err)
	}
	p, err := f.ids.Principal(f.ctx, u.ID)
	must(f.t, err)
	return p
}

func (f *fixture) liveService(code, name, group, sponsor string) *catalog.Service {
	s, err := f.cat.CreateService(f.ctx, f.pm, catalog.ServiceInput{Code: code, Name: name, Kind: catalog.KindBusiness, AssignmentGroupID: group, SponsorID: sponsor})
	must(f.t, err)
	for _, to := range []catalog.Lifecycle{catalog.LifecycleApproved, catalog.LifecycleInDesign, catalog.LifecycleLive} {
		s, err = f.cat.Transition(f.ctx, f.pm, s.ID, catalog.TransitionInput{To: to, Reason: "test"})
		must(f.t, err)
	}
	return s
}

func (f *fixture) order(p *access.Principal, plan string, params map[string]any) (*orders.Order, error) {
	o, err := f.ord.CreateOrder(f.ctx, p, orders.OrderInput{Items: []orders.ItemInput{{Offering: "vm", Plan: plan, Parameters: params}}})
	if err != nil {
		return nil, err
	}
	return f.ord.Submit(f.ctx, p, o.ID)
}

func (f *fixture) policy(name, expr string, step int, kind orders.ApproverKind, role access.Role) {
	_, err := f.ord.SavePolicy(f.ctx, f.pm, "", orders.PolicyInput{Name: name, Expression: expr, Step: step, ApproverKind: kind, ApproverRole: role})
	must(f.t, err)
}

func wantCode(t *testing.T, err error, code errs.Code, contains string) {
	t.Helper()
	if !errs.Is(err, code) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if contains != "" && !strings.Contains(errs.As(err).Error(), contains) {
		t.Fatalf("err = %v, want it to mention %q", err, contains)
	}
}

// TestOrderLifecycle orders a gold VM as a Retail consumer; policy routes it
// to the sponsor (step 1) and the financial manager (step 2); an agent of
// the service's group fulfils it; the instance is Retail's.
func TestOrderLifecycle(t *testing.T) {
	f := newFixture(t)
	f.policy("big orders need the sponsor", "order.total_monthly > 1000", 1, orders.ApproverSponsor, "")
	f.policy("gold needs finance", `item.plan == "gold"`, 2, orders.ApproverRole, access.RoleFinancialManager)

	o, err := f.ord.CreateOrder(f.ctx, f.dana, orders.OrderInput{Items: []orders.ItemInput{{Offering: "vm", Plan: "gold", Quantity: 2,
		Parameters: map[string]any{"hostname": "shop-db"}, Addons: []string{"backup"}}}})
	must(t, err)
	if o.State != orders.StateDraft || o.Quote.Monthly != "2411.00" || o.Quote.OneTime != "200.00" {
		t.Fatalf("draft = %s, quote %+v; want draft at 2411.00 a month and 200.00 once", o.State, o.Quote)
	}
	if got := o.Items[0].Parameters["cpus"]; fmt.Sprint(got) != "2" {
		t.Errorf("the default cpus = %v, want 2", got)
	}
	o, err = f.ord.Submit(f.ctx, f.dana, o.ID)
	must(t, err)
	if o.State != orders.StateAwaitingApproval {
		t.Fatalf("state after submit = %s", o.State)
	}
	// A double submit is refused and changes nothing.
	_, err = f.ord.Submit(f.ctx, f.dana, o.ID)
	wantCode(t, err, errs.CodeConflict, "only a draft")

	as, err := f.ord.Approvals(f.ctx, f.dana, o.ID)
	must(t, err)
	if len(as) != 2 || as[0].ApproverKind != orders.ApproverSponsor || as[1].ApproverRole != "financial_manager" {
		t.Fatalf("approvals = %+v", as)
	}
	// Step 2 waits for step 1; others cannot decide; Manufacturing cannot even see the order.
	_, err = f.ord.Decide(f.ctx, f.fin, as[1].ID, orders.Decision{Approve: true})
	wantCode(t, err, errs.CodeConflict, "step 1")
	_, err = f.ord.Decide(f.ctx, f.agent, as[0].ID, orders.Decision{Approve: true})
	wantCode(t, err, errs.CodeNotFound, "")
	_, err = f.ord.Order(f.ctx, f.mo, o.ID)
	wantCode(t, err, errs.CodeNotFound, "")
	inbox, err := pageItems(f.ord.Inbox(f.ctx, f.sponsor, sqldb.Page{}))
	must(t, err)
	if len(inbox) != 1 || inbox[0].Approval.ID != as[0].ID {
		t.Fatalf("the sponsor's inbox = %+v", inbox)
	}
	if inbox, _ := pageItems(f.ord.Inbox(f.ctx, f.fin, sqldb.Page{})); len(inbox) != 0 {
		t.Errorf("finance sees step 2 before step 1 is decided: %+v", inbox)
	}
	_, err = f.ord.Decide(f.ctx, f.sponsor, as[0].ID, orders.Decision{Approve: true, Comment: "go"})
	must(t, err)
	_, err = f.ord.Decide(f.ctx, f.sponsor, as[0].ID, orders.Decision{Approve: true})
	wantCode(t, err, errs.CodeConflict, "already approved")
	_, err = f.ord.Decide(f.ctx, f.fin, as[1].ID, orders.Decision{Approve: true})
	must(t, err)

	o, err = f.ord.Order(f.ctx, f.dana, o.ID)
	must(t, err)
	if o.State != orders.StateFulfilling {
		t.Fatalf("state after approvals = %s", o.State)
	}
	// The task is in Cloud Ops' queue, not in anyone else's.
	if ts, _ := pageItems(f.ord.Tasks(f.ctx, f.outside, orders.TaskFilter{})); len(ts) != 0 {
		t.Errorf("someone outside the group sees %d tasks", len(ts))
	}
	ts, err := pageItems(f.ord.Tasks(f.ctx, f.agent, orders.TaskFilter{}))
	must(t, err)
	if len(ts) != 1 {
		t.Fatalf("agent's queue = %d tasks", len(ts))
	}
	_, err = f.ord.CompleteTask(f.ctx, f.outside, ts[0].ID, orders.TaskResult{Done: true})
	wantCode(t, err, errs.CodeForbidden, "")
	_, err = f.ord.CompleteTask(f.ctx, f.agent, ts[0].ID, orders.TaskResult{Done: true, Note: "built", InstanceName: "shop-db"})
	must(t, err)
	_, err = f.ord.CompleteTask(f.ctx, f.agent, ts[0].ID, orders.TaskResult{Done: true})
	wantCode(t, err, errs.CodeConflict, "already closed")

	o, _ = f.ord.Order(f.ctx, f.dana, o.ID)
	if o.State != orders.StateCompleted || o.Items[0].InstanceID == "" {
		t.Fatalf("order = %s, item %+v", o.State, o.Items[0])
	}
	insts, err := pageItems(f.ord.Instances(f.ctx, f.dana, orders.InstanceFilter{}))
	must(t, err)
	if len(insts) != 1 || insts[0].Name != "shop-db" || insts[0].OrgUnitID != f.retail.ID || insts[0].Quantity != 2 {
		t.Fatalf("Retail's instances = %+v", insts)
	}
	if insts, _ := pageItems(f.ord.Instances(f.ctx, f.mo, orders.InstanceFilter{})); len(insts) != 0 {
		t.Errorf("Manufacturing sees Retail's instances")
	}
	events, err := f.ord.Events(f.ctx, f.dana, o.ID)
	must(t, err)
	var path []string
	for _, e := range events {
		path = append(path, string(e.To))
	}
	if got := strings.Join(path, " "); got != "draft submitted awaiting_approval approved fulfilling completed" {
		t.Errorf("history = %s", got)
	}

	// Deprovisioning goes the same way: the gold policy still applies (the
	// monthly-total one does not: ending costs nothing), then the queue.
	d, err := f.ord.RequestDeprovision(f.ctx, f.dana, insts[0].ID, "project over")
	must(t, err)
	if d.Kind != orders.KindDeprovision || d.State != orders.StateAwaitingApproval {
		t.Fatalf("deprovision order = %s %s", d.Kind, d.State)
	}
	as, _ = f.ord.Approvals(f.ctx, f.dana, d.ID)
	if len(as) != 1 || as[0].ApproverRole != "financial_manager" {
		t.Fatalf("deprovision approvals = %+v", as)
	}
	_, err = f.ord.Decide(f.ctx, f.fin, as[0].ID, orders.Decision{Approve: true})
	must(t, err)
	_, err = f.ord.RequestDeprovision(f.ctx, f.dana, insts[0].ID, "again")
	wantCode(t, err, errs.CodeConflict, "already has a deprovision order")
	ts, _ = pageItems(f.ord.Tasks(f.ctx, f.agent, orders.TaskFilter{}))
	_, err = f.ord.CompleteTask(f.ctx, f.agent, ts[0].ID, orders.TaskResult{Done: true})
	must(t, err)
	inst, err := f.ord.Instance(f.ctx, f.dana, insts[0].ID)
	must(t, err)
	if inst.State != orders.InstanceDeprovisioned || inst.EndedAt == nil {
		t.Errorf("instance after deprovision = %s", inst.State)
	}
}

func TestStateMachine(t *testing.T) {
	legal := map[string]bool{
		"draft>submitted": true, "draft>cancelled": true,
		"submitted>awaiting_approval": true, "submitted>approved": true, "submitted>cancelled": true,
		"awaiting_approval>approved": true, "awaiting_approval>rejected": true, "awaiting_approval>cancelled": true,
		"approved>fulfilling": true, "approved>cancelled": true,
		"fulfilling>completed": true, "fulfilling>failed": true,
	}
	for _, from := range orders.States {
		for _, to := range orders.States {
			if got := orders.CanMove(from, to); got != legal[string(from)+">"+string(to)] {
				t.Errorf("CanMove(%s, %s) = %v", from, to, got)
			}
		}
	}
}

func TestRejectAndCancel(t *testing.T) {
	f := newFixture(t)
	f.policy("gold needs finance", `item.plan == "gold"`, 1, orders.ApproverRole, access.RoleFinancialManager)
	o, err := f.order(f.dana, "gold", map[string]any{"hostname": "a"})
	must(t, err)
	as, _ := f.ord.Approvals(f.ctx, f.dana, o.ID)
	_, err = f.ord.Decide(f.ctx, f.fin, as[0].ID, orders.Decision{Approve: false})
	wantCode(t, err, errs.CodeInvalid, "comment")
	_, err = f.ord.Decide(f.ctx, f.fin, as[0].ID, orders.Decision{Approve: false, Comment: "use silver"})
	must(t, err)
	o, _ = f.ord.Order(f.ctx, f.dana, o.ID)
	if o.State != orders.StateRejected || o.Items[0].State != orders.ItemCancelled {
		t.Fatalf("after rejection: %s / %s", o.State, o.Items[0].State)
	}
	_, err = f.ord.Cancel(f.ctx, f.dana, o.ID, "")
	wantCode(t, err, errs.CodeConflict, "can no longer be cancelled")

	// Bronze needs no approval and goes to fulfilment; then it cannot be cancelled.
	o, err = f.order(f.dana, "bronze", map[string]any{"hostname": "b"})
	must(t, err)
	if o.State != orders.StateFulfilling {
		t.Fatalf("bronze order = %s, want fulfilling", o.State)
	}
	_, err = f.ord.Cancel(f.ctx, f.dana, o.ID, "")
	wantCode(t, err, errs.CodeConflict, "")
	// A draft can be cancelled by its requester, not by someone of another unit.
	d, err := f.ord.CreateOrder(f.ctx, f.dana, orders.OrderInput{})
	must(t, err)
	_, err = f.ord.Cancel(f.ctx, f.mo, d.ID, "")
	wantCode(t, err, errs.CodeNotFound, "")
	d, err = f.ord.Cancel(f.ctx, f.dana, d.ID, "changed my mind")
	must(t, err)
	if d.State != orders.StateCancelled {
		t.Errorf("cancelled draft = %s", d.State)
	}
	// The requester cannot approve their own order (routed to a role the
	// requester holds too, beside another approver of the unit).
	f.user("cleo@x.example", f.retail.ID, grant(access.RoleApprover, access.ScopeOrgUnit, f.retail.ID))
	danaID := f.dana.UserID
	_, err = f.ids.CreateGrant(f.ctx, f.sys, identity.CreateGrantInput{UserID: danaID, Role: access.RoleApprover, ScopeKind: access.ScopeOrgUnit, ScopeID: f.retail.ID})
	must(t, err)
	dana, err := f.ids.Principal(f.ctx, danaID)
	must(t, err)
	f.policy("silver needs an approver", `item.plan == "silver"`, 1, orders.ApproverRole, access.RoleApprover)
	o, err = f.order(dana, "silver", map[string]any{"hostname": "c"})
	must(t, err)
	as, _ = f.ord.Approvals(f.ctx, dana, o.ID)
	_, err = f.ord.Decide(f.ctx, dana, as[0].ID, orders.Decision{Approve: true})
	wantCode(t, err, errs.CodeForbidden, "someone else")
}

func TestBadOrders(t *testing.T) {
	f := newFixture(t)
	_, err := f.order(f.dana, "bronze", map[string]any{"hostname": "Not Valid", "cpus": 64, "colour": "red"})
	wantCode(t, err, errs.CodeInvalid, "")
	fields := map[string]bool{}
	for _, fe := range errs.As(err).Fields {
		fields[fe.Field] = true
	}
	for _, want := range []string{"items[0].parameters.hostname", "items[0].parameters.cpus", "items[0].parameters.colour"} {
		if !fields[want] {
			t.Errorf("field errors %v lack %s", errs.As(err).Fields, want)
		}
	}
	_, err = f.order(f.dana, "bronze", map[string]any{})
	wantCode(t, err, errs.CodeInvalid, "Host name is required")
	_, err = f.order(f.dana, "platinum", map[string]any{"hostname": "a"})
	wantCode(t, err, errs.CodeInvalid, "bronze, silver, gold")

	// An offering only Manufacturing may see does not exist for Retail.
	_, err = f.cat.CreateOffering(f.ctx, f.pm, catalog.OfferingInput{Code: "mfg-vm", ServiceID: f.service.ID, Name: "Plant VM",
		Audience: catalog.Audience{OrgUnitIDs: []string{f.mfg.ID}}, Plans: []catalog.PlanInput{{Code: "std", Name: "Standard", Currency: "EUR", Recurring: "10"}}})
	must(t, err)
	_, err = f.ord.CreateOrder(f.ctx, f.dana, orders.OrderInput{Items: []orders.ItemInput{{Offering: "mfg-vm", Plan: "std"}}})
	wantCode(t, err, errs.CodeInvalid, "no offering")
	if _, err := f.ord.CreateOrder(f.ctx, f.mo, orders.OrderInput{Items: []orders.ItemInput{{Offering: "mfg-vm", Plan: "std"}}}); err != nil {
		t.Errorf("Manufacturing orders its own offering: %v", err)
	}
	// Ordering for another org unit is forbidden.
	_, err = f.ord.CreateOrder(f.ctx, f.dana, orders.OrderInput{OrgUnitID: f.mfg.ID})
	wantCode(t, err, errs.CodeForbidden, "")

	// A retiring service takes no orders and points to its successor; its instances stay.
	o, err := f.order(f.dana, "bronze", map[string]any{"hostname": "keep"})
	must(t, err)
	ts, _ := pageItems(f.ord.Tasks(f.ctx, f.agent, orders.TaskFilter{}))
	_, err = f.ord.CompleteTask(f.ctx, f.agent, ts[0].ID, orders.TaskResult{Done: true})
	must(t, err)
	succ := f.liveService("cloud-compute", "Cloud compute", "", "")
	_, err = f.cat.Transition(f.ctx, f.pm, f.service.ID, catalog.TransitionInput{To: catalog.LifecycleRetiring, Reason: "replaced", SuccessorID: succ.ID})
	must(t, err)
	_, err = f.order(f.dana, "bronze", map[string]any{"hostname": "new"})
	wantCode(t, err, errs.CodeInvalid, "Cloud compute")
	insts, _ := pageItems(f.ord.Instances(f.ctx, f.dana, orders.InstanceFilter{}))
	if len(insts) != 1 || insts[0].OrderID != o.ID {
		t.Errorf("instances of the retiring service = %+v", insts)
	}
	// Retiring the plan keeps its instances visible, marked.
	in := f.vm.Input()
	in.Plans = in.Plans[1:]
	_, err = f.cat.UpdateOffering(f.ctx, f.pm, "vm", in)
	must(t, err)
	insts, _ = pageItems(f.ord.Instances(f.ctx, f.dana, orders.InstanceFilter{}))
	if len(insts) != 1 || !insts[0].PlanRetired || insts[0].State != orders.InstanceActive {
		t.Errorf("instance of a retired plan = %+v", insts)
	}
}

// TestTwoApproversAtOnce: two approvers of the same role decide the same
// approval concurrently; exactly one wins and the other is told.
func TestTwoApproversAtOnce(t *testing.T) {
	f := newFixture(t)
	a1 := f.user("a1@x.example", f.retail.ID, grant(access.RoleApprover, access.ScopeOrgUnit, f.retail.ID))
	a2 := f.user("a2@x.example", f.retail.ID, grant(access.RoleApprover, access.ScopeOrgUnit, f.retail.ID))
	f.policy("everything", "true", 1, orders.ApproverRole, access.RoleApprover)
	o, err := f.order(f.dana, "bronze", map[string]any{"hostname": "x"})
	must(t, err)
	as, _ := f.ord.Approvals(f.ctx, f.dana, o.ID)
	var wg sync.WaitGroup
	results := make([]error, 2)
	for i, p := range []*access.Principal{a1, a2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = f.ord.Decide(f.ctx, p, as[0].ID, orders.Decision{Approve: i == 0, Comment: "decided"})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		if err == nil {
			ok++
		} else if !errs.Is(err, errs.CodeConflict) {
			t.Errorf("the loser got %v, want a conflict", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d decisions succeeded, want exactly 1 (%v)", ok, results)
	}
	o, _ = f.ord.Order(f.ctx, f.dana, o.ID)
	if o.State != orders.StateFulfilling && o.State != orders.StateRejected {
		t.Errorf("order after the race = %s", o.State)
	}
}

// TestQuotaUnderConcurrency fires many orders at once against a quota of 3
// instances; never more than 3 are held, and rejection gives quota back.
func TestQuotaUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	_, err := f.cat.SetQuota(f.ctx, f.dana, catalog.QuotaInput{OrgUnitID: f.retail.ID, OfferingID: f.vm.ID, MaxInstances: 3})
	wantCode(t, err, errs.CodeForbidden, "")
	_, err = f.cat.SetQuota(f.ctx, f.fin, catalog.QuotaInput{OrgUnitID: f.retail.ID, OfferingID: f.vm.ID, MaxInstances: 3})
	must(t, err)
	const n = 16
	var wg sync.WaitGroup
	errsCh := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.order(f.dana, "bronze", map[string]any{"hostname": fmt.Sprintf("h%d", i)})
			errsCh <- err
		}()
	}
	wg.Wait()
	close(errsCh)
	ok := 0
	for err := range errsCh {
		switch {
		case err == nil:
			ok++
		case !errs.Is(err, errs.CodeConflict) || !strings.Contains(err.Error(), "quota"):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 3 {
		t.Fatalf("%d orders got through a quota of 3", ok)
	}
	qs, err := f.cat.Quotas(f.ctx, f.fin, f.vm.ID)
	must(t, err)
	if len(qs) != 1 || qs[0].UsedInstances != 3 {
		t.Fatalf("quota use = %+v", qs)
	}
	// A failed fulfilment gives its share back.
	ts, _ := pageItems(f.ord.Tasks(f.ctx, f.agent, orders.TaskFilter{}))
	_, err = f.ord.CompleteTask(f.ctx, f.agent, ts[0].ID, orders.TaskResult{Done: false, Note: "no capacity"})
	must(t, err)
	if _, err := f.order(f.dana, "bronze", map[string]any{"hostname": "again"}); err != nil {
		t.Errorf("after a failure frees quota, an order should fit: %v", err)
	}
}

func TestQuoteAndPolicies(t *testing.T) {
	f := newFixture(t)
	q, err := f.ord.QuoteItems(f.ctx, f.dana, []orders.ItemInput{{Offering: "vm", Plan: "silver", Quantity: 3, Parameters: map[string]any{"hostname": "q"}, Addons: []string{"backup"}}})
	must(t, err)
	if q.Total.Monthly != "286.50" || q.Total.Currency != "EUR" {
		t.Errorf("quote = %+v, want 286.50 EUR a month", q.Total)
	}
	_, err = f.ord.SavePolicy(f.ctx, f.pm, "", orders.PolicyInput{Name: "bad", Expression: "order.total_monthly >", ApproverKind: orders.ApproverSponsor})
	wantCode(t, err, errs.CodeInvalid, "does not compile")
	_, err = f.ord.SavePolicy(f.ctx, f.pm, "", orders.PolicyInput{Name: "not bool", Expression: "1 + 2", ApproverKind: orders.ApproverSponsor})
	wantCode(t, err, errs.CodeInvalid, "true or false")
	_, err = f.ord.SavePolicy(f.ctx, f.dana, "", orders.PolicyInput{Name: "x", Expression: "true", ApproverKind: orders.ApproverSponsor})
	wantCode(t, err, errs.CodeForbidden, "")
	// Parameters are visible to policies: Windows needs the owner, who is unset, so it falls back to an approver.
	f.policy("windows", `item.parameters.os == "windows" && item.parameters.cpus >= 8`, 1, orders.ApproverOwner, "")
	o, err := f.order(f.dana, "bronze", map[string]any{"hostname": "w", "os": "windows", "cpus": 8})
	must(t, err)
	as, _ := f.ord.Approvals(f.ctx, f.dana, o.ID)
	if o.State != orders.StateAwaitingApproval || len(as) != 1 || as[0].ApproverRole != "approver" {
		t.Errorf("windows order = %s with %+v", o.State, as)
	}
	o, err = f.order(f.dana, "bronze", map[string]any{"hostname": "l", "os": "linux", "cpus": 8})
	must(t, err)
	if o.State != orders.StateFulfilling {
		t.Errorf("linux order = %s", o.State)
	}
}

// pageItems is the items of one page of a list, for tests that read short
// lists whole.
func pageItems[T any](page sqldb.Paged[T], err error) ([]T, error) { return page.Items, err }
