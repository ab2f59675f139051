package orders_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// fieldError returns the field error of err for field, or fails.
func fieldError(t *testing.T, err error, field string) errs.FieldError {
	t.Helper()
	if !errs.Is(err, errs.CodeInvalid) {
		t.Fatalf("err = %v, want invalid", err)
	}
	for _, fe := range errs.As(err).Fields {
		if fe.Field == field {
			return fe
		}
	}
	t.Fatalf("err = %v has no field error for %s (%+v)", err, field, errs.As(err).Fields)
	return errs.FieldError{}
}

// TestPolicyCostLimit: issue 15, finding 9: an approval policy whose
// estimated cost is over the CEL limit is refused when it is saved, with
// the estimate in the message.
func TestPolicyCostLimit(t *testing.T) {
	f := newFixture(t)
	nested := `item.addons.all(a, item.addons.all(b, item.addons.all(c, item.addons.all(d, a + b + c + d != ""))))`
	_, err := f.ord.SavePolicy(f.ctx, f.pm, "", orders.PolicyInput{Name: "nested", Expression: nested, ApproverKind: orders.ApproverSponsor})
	if fe := fieldError(t, err, "expression"); fe.Rule != "cost" || !strings.Contains(fe.Message, "1000000") {
		t.Errorf("field error = %+v, want rule cost naming the limit 1000000", fe)
	}
	_, err = f.ord.SavePolicy(f.ctx, f.pm, "", orders.PolicyInput{Name: "long", Expression: strings.Repeat("true && ", 1000) + "true", ApproverKind: orders.ApproverSponsor})
	if fe := fieldError(t, err, "expression"); fe.Rule != "length" {
		t.Errorf("field error = %+v, want rule length", fe)
	}
	_, err = f.ord.SavePolicy(f.ctx, f.pm, "", orders.PolicyInput{Name: "bad", Expression: "order.total_monthly >", ApproverKind: orders.ApproverSponsor})
	if fe := fieldError(t, err, "expression"); fe.Rule != "cel" {
		t.Errorf("field error = %+v, want rule cel", fe)
	}
}

// TestFailingPolicyFailsClosed: issue 15, finding 10: a policy that errors
// when it runs (here a parameter the order does not have) is not skipped:
// the order awaits the fallback approver, and the approval says why.
func TestFailingPolicyFailsClosed(t *testing.T) {
	f := newFixture(t)
	approver := f.user("ann@x.example", f.retail.ID, grant(access.RoleApprover, access.ScopeOrgUnit, f.retail.ID))
	f.policy("big disks", `item.parameters.disk_gb > 500`, 1, orders.ApproverRole, access.RoleFinancialManager)
	o, err := f.order(f.dana, "bronze", map[string]any{"hostname": "f1"})
	must(t, err)
	if o.State != orders.StateAwaitingApproval {
		t.Fatalf("an order whose policy failed is %s, want awaiting approval", o.State)
	}
	as, err := f.ord.Approvals(f.ctx, f.dana, o.ID)
	must(t, err)
	if len(as) != 1 || as[0].ApproverKind != orders.ApproverRole || as[0].ApproverRole != string(access.RoleApprover) ||
		!strings.Contains(as[0].Comment, `policy "big disks" failed`) {
		t.Fatalf("approvals = %+v, want one for the approver role saying the policy failed", as)
	}
	inbox, err := pageItems(f.ord.Inbox(f.ctx, approver, sqldb.Page{}))
	must(t, err)
	if len(inbox) != 1 {
		t.Fatalf("the fallback approver's inbox holds %d approvals, want 1", len(inbox))
	}
	a, err := f.ord.Decide(f.ctx, approver, as[0].ID, orders.Decision{Approve: true, Comment: "checked by hand"})
	must(t, err)
	if !strings.Contains(a.Comment, "failed") || !strings.Contains(a.Comment, "checked by hand") {
		t.Errorf("decided approval's comment = %q, want the reason and the decision", a.Comment)
	}
}

// TestRoutingForTheOrgUnit: issue 15, finding 15: a sponsor approves only
// for the org units they approve for (Manufacturing's order goes to
// Manufacturing's approver, not Retail's sponsor), and an approver whose
// own order would route only to himself goes to the next approver up.
func TestRoutingForTheOrgUnit(t *testing.T) {
	f := newFixture(t)
	mia := f.user("mia@x.example", f.mfg.ID, grant(access.RoleApprover, access.ScopeOrgUnit, f.mfg.ID))
	f.policy("big orders need the sponsor", "order.total_monthly > 1000", 1, orders.ApproverSponsor, "")
	o, err := f.order(f.mo, "gold", map[string]any{"hostname": "m1"})
	must(t, err)
	as, _ := f.ord.Approvals(f.ctx, f.mo, o.ID)
	if len(as) != 1 || as[0].ApproverKind != orders.ApproverRole || as[0].ApproverRole != string(access.RoleApprover) {
		t.Fatalf("Manufacturing's approvals = %+v, want Manufacturing's approver", as)
	}
	if in, _ := pageItems(f.ord.Inbox(f.ctx, f.sponsor, sqldb.Page{})); len(in) != 0 {
		t.Errorf("Retail's sponsor has Manufacturing's order in the inbox")
	}
	if in, _ := pageItems(f.ord.Inbox(f.ctx, mia, sqldb.Page{})); len(in) != 1 {
		t.Errorf("Manufacturing's approver has %d approvals, want 1", len(in))
	}
	// Retail's orders still go to the sponsor.
	r, err := f.order(f.dana, "gold", map[string]any{"hostname": "r1"})
	must(t, err)
	as, _ = f.ord.Approvals(f.ctx, f.dana, r.ID)
	if len(as) != 1 || as[0].ApproverKind != orders.ApproverSponsor {
		t.Fatalf("Retail's approvals = %+v, want the sponsor", as)
	}

	// The sponsor is Retail's only approver; their own order goes on to
	// someone else who may approve (finance), never to nobody.
	f.policy("silver needs an approver", `item.plan == "silver"`, 1, orders.ApproverRole, access.RoleApprover)
	s, err := f.order(f.sponsor, "silver", map[string]any{"hostname": "s1"})
	must(t, err)
	as, _ = f.ord.Approvals(f.ctx, f.sponsor, s.ID)
	if len(as) != 1 {
		t.Fatalf("the sponsor's own order has approvals %+v", as)
	}
	var deciders []string
	for _, p := range []*access.Principal{f.sponsor, f.fin, mia, f.pm} {
		in, _ := pageItems(f.ord.Inbox(f.ctx, p, sqldb.Page{}))
		for _, item := range in {
			if item.Approval.ID == as[0].ID {
				deciders = append(deciders, p.Email)
			}
		}
	}
	if fmt.Sprint(deciders) != "[fin@x.example]" {
		t.Errorf("the sponsor's own order may be decided by %v, want finance only (approval %+v)", deciders, as[0])
	}
	_, err = f.ord.Decide(f.ctx, f.fin, as[0].ID, orders.Decision{Approve: true})
	must(t, err)
}

// TestNobodyToApproveRefusesTheSubmit: issue 15, finding 15 ("never leave
// an order without an eligible approver"). When an order needs an approval
// and nobody but its requester holds approver or financial_manager for its
// org unit, Submit refuses, naming who must grant what, and the order stays
// a draft with no approval and no quota taken; once a fallback approver is
// granted, the same draft goes through to them.
func TestNobodyToApproveRefusesTheSubmit(t *testing.T) {
	f := newFixture(t)
	gs, err := f.ids.Grants(f.ctx, f.sys, f.fin.UserID)
	must(t, err)
	for _, g := range gs {
		must(t, f.ids.DeleteGrant(f.ctx, f.sys, g.ID))
	}
	f.policy("gold needs an approver", `item.plan == "gold"`, 1, orders.ApproverRole, access.RoleApprover)
	// Manufacturing's consumer orders; nobody approves for Manufacturing.
	o, err := f.ord.CreateOrder(f.ctx, f.mo, orders.OrderInput{Items: []orders.ItemInput{{Offering: "vm", Plan: "gold", Parameters: map[string]any{"hostname": "m1"}}}})
	must(t, err)
	_, err = f.ord.Submit(f.ctx, f.mo, o.ID)
	wantCode(t, err, errs.CodeConflict, "nobody but its requester may give it for MFG")
	if !strings.Contains(errs.As(err).Message, "grant approver or financial_manager on MFG") {
		t.Errorf("the refusal does not say what to grant: %q", errs.As(err).Message)
	}
	got, err := f.ord.Order(f.ctx, f.mo, o.ID)
	must(t, err)
	if got.State != orders.StateDraft {
		t.Errorf("order state = %s after a refused submit, want draft", got.State)
	}
	if as, _ := f.ord.Approvals(f.ctx, f.mo, o.ID); len(as) != 0 {
		t.Errorf("a refused submit left approvals %+v", as)
	}
	var used int
	must(t, f.db.Read().QueryRowContext(f.ctx, `SELECT COALESCE(SUM(used_instances), 0) FROM quotas`).Scan(&used))
	if used != 0 {
		t.Errorf("a refused submit used quota (%d instances)", used)
	}

	// An approver who is the requester is no eligible approver either.
	boss := f.user("boss@x.example", f.mfg.ID, grant(access.RoleConsumer, access.ScopeOrgUnit, f.mfg.ID), grant(access.RoleApprover, access.ScopeOrgUnit, f.mfg.ID))
	own, err := f.ord.CreateOrder(f.ctx, boss, orders.OrderInput{Items: []orders.ItemInput{{Offering: "vm", Plan: "gold", Parameters: map[string]any{"hostname": "m2"}}}})
	must(t, err)
	_, err = f.ord.Submit(f.ctx, boss, own.ID)
	wantCode(t, err, errs.CodeConflict, "nobody but its requester")

	// The consumer's draft now goes to the boss, who may decide it.
	if o, err = f.ord.Submit(f.ctx, f.mo, o.ID); err != nil {
		t.Fatalf("submit with an approver for MFG: %v", err)
	}
	if o.State != orders.StateAwaitingApproval {
		t.Fatalf("state = %s, want awaiting_approval", o.State)
	}
	as, _ := f.ord.Approvals(f.ctx, f.mo, o.ID)
	if len(as) != 1 {
		t.Fatalf("approvals = %+v", as)
	}
	_, err = f.ord.Decide(f.ctx, boss, as[0].ID, orders.Decision{Approve: true})
	must(t, err)
}

// TestItemsPerOrder: issue 15, finding 8: an order holds at most
// MaxItemsPerOrder items; more is refused naming the limit, and nothing
// is written.
func TestItemsPerOrder(t *testing.T) {
	f := newFixture(t)
	items := make([]orders.ItemInput, orders.MaxItemsPerOrder+1)
	for i := range items {
		items[i] = orders.ItemInput{Offering: "vm", Plan: "bronze", Parameters: map[string]any{"hostname": fmt.Sprintf("h%d", i)}}
	}
	_, err := f.ord.CreateOrder(f.ctx, f.dana, orders.OrderInput{Items: items})
	if fe := fieldError(t, err, "items"); fe.Rule != "max" || !strings.Contains(fe.Message, fmt.Sprint(orders.MaxItemsPerOrder)) {
		t.Errorf("field error = %+v, want rule max naming %d", fe, orders.MaxItemsPerOrder)
	}
	if os, _ := pageItems(f.ord.Orders(f.ctx, f.dana, orders.OrderFilter{})); len(os) != 0 {
		t.Errorf("a refused order left %d orders", len(os))
	}
	_, err = f.ord.QuoteItems(f.ctx, f.dana, items)
	if fe := fieldError(t, err, "items"); fe.Rule != "max" {
		t.Errorf("quote: field error = %+v, want rule max", fe)
	}
	// Up to the limit is fine; one more item after that is refused.
	o, err := f.ord.CreateOrder(f.ctx, f.dana, orders.OrderInput{Items: items[:orders.MaxItemsPerOrder]})
	must(t, err)
	if len(o.Items) != orders.MaxItemsPerOrder {
		t.Fatalf("order holds %d items", len(o.Items))
	}
	_, err = f.ord.AddItem(f.ctx, f.dana, o.ID, items[0])
	wantCode(t, err, errs.CodeInvalid, fmt.Sprint(orders.MaxItemsPerOrder))
}

// Issue 15, finding 10 (review): a role-kind policy may name only a role
// that approves orders; one naming consumer would let every consumer
// decide the orders it routes.
func TestPolicyApproverRoleMustApprove(t *testing.T) {
	f := newFixture(t)
	for _, r := range []access.Role{access.RoleConsumer, access.RoleAdmin, access.RoleUsageReporter} {
		_, err := f.ord.SavePolicy(f.ctx, f.pm, "", orders.PolicyInput{Name: "to " + string(r), Expression: "true", ApproverKind: orders.ApproverRole, ApproverRole: r})
		if fe := fieldError(t, err, "approver_role"); fe.Rule != "enum" {
			t.Errorf("a policy routing to %s: %+v, want refused on approver_role", r, fe)
		}
	}
	if _, err := f.ord.SavePolicy(f.ctx, f.pm, "", orders.PolicyInput{Name: "to finance", Expression: "true", ApproverKind: orders.ApproverRole, ApproverRole: access.RoleFinancialManager}); err != nil {
		t.Errorf("a policy routing to financial_manager: %v", err)
	}
}

// Issue 17, item 3: one decision per order per step. A policy on the
// order's total matches every item; an order of two items from two
// services with the same sponsor, both over the threshold, needs one
// approval of that sponsor, not one per item, and approving it once
// approves the order.
func TestOneApprovalPerOrderPerStep(t *testing.T) {
	f := newFixture(t)
	storage := f.liveService("storage", "Storage", "", f.sponsor.UserID)
	_, err := f.cat.CreateOffering(f.ctx, f.pm, catalog.OfferingInput{Code: "disk", ServiceID: storage.ID, Name: "Disk",
		Plans: []catalog.PlanInput{{Code: "large", Name: "Large", Currency: "EUR", Recurring: "600.00"}}})
	must(t, err)
	f.policy("over 500 needs the sponsor", "order.total_monthly > 500", 1, orders.ApproverSponsor, "")
	f.policy("gold needs the sponsor", `item.plan == "gold"`, 1, orders.ApproverSponsor, "")
	o, err := f.ord.CreateOrder(f.ctx, f.dana, orders.OrderInput{Items: []orders.ItemInput{
		{Offering: "vm", Plan: "gold", Parameters: map[string]any{"hostname": "big1"}},
		{Offering: "vm", Plan: "gold", Parameters: map[string]any{"hostname": "big2"}},
		{Offering: "disk", Plan: "large"},
	}})
	must(t, err)
	o, err = f.ord.Submit(f.ctx, f.dana, o.ID)
	must(t, err)
	as, err := f.ord.Approvals(f.ctx, f.dana, o.ID)
	must(t, err)
	if len(as) != 1 || as[0].ApproverKind != orders.ApproverSponsor || as[0].ApproverUserID != f.sponsor.UserID {
		t.Fatalf("approvals = %+v, want one of the sponsor", as)
	}
	// Two policies asked the sponsor at step 1: one decision, both named.
	if as[0].PolicyName != "gold needs the sponsor; over 500 needs the sponsor" {
		t.Errorf("the approval's policy reads %q, want both policies", as[0].PolicyName)
	}
	inbox, err := pageItems(f.ord.Inbox(f.ctx, f.sponsor, sqldb.Page{}))
	must(t, err)
	if len(inbox) != 1 {
		t.Fatalf("the sponsor's inbox holds %d cards for one order, want 1", len(inbox))
	}
	_, err = f.ord.Decide(f.ctx, f.sponsor, as[0].ID, orders.Decision{Approve: true})
	must(t, err)
	o, err = f.ord.Order(f.ctx, f.dana, o.ID)
	must(t, err)
	if o.State == orders.StateAwaitingApproval || o.State == orders.StateSubmitted || o.State == orders.StateRejected {
		t.Errorf("after the sponsor approved once, the order is %s", o.State)
	}
}

// TestPerItemPolicy: issue 17, item 3: "one decision per order per step
// (unless a policy is explicitly per item)". A policy marked per_item asks
// its approver once for each item it matches, each approval naming its
// item; the order goes on when every one is approved.
func TestPerItemPolicy(t *testing.T) {
	f := newFixture(t)
	_, err := f.ord.SavePolicy(f.ctx, f.pm, "", orders.PolicyInput{Name: "each gold VM", Expression: `item.plan == "gold"`, Step: 1,
		ApproverKind: orders.ApproverSponsor, PerItem: true})
	must(t, err)
	pols, err := f.ord.Policies(f.ctx, f.pm)
	must(t, err)
	if len(pols) != 1 || !pols[0].PerItem {
		t.Fatalf("policies = %+v, want the per-item one", pols)
	}
	o, err := f.ord.CreateOrder(f.ctx, f.dana, orders.OrderInput{Items: []orders.ItemInput{
		{Offering: "vm", Plan: "gold", Parameters: map[string]any{"hostname": "big1"}},
		{Offering: "vm", Plan: "gold", Parameters: map[string]any{"hostname": "big2"}},
	}})
	must(t, err)
	o, err = f.ord.Submit(f.ctx, f.dana, o.ID)
	must(t, err)
	as, err := f.ord.Approvals(f.ctx, f.dana, o.ID)
	must(t, err)
	if len(as) != 2 || as[0].PolicyName == as[1].PolicyName || !strings.HasPrefix(as[0].PolicyName, "each gold VM") {
		t.Fatalf("approvals = %+v, want one per item, each naming its item", as)
	}
	for i, a := range as {
		_, err = f.ord.Decide(f.ctx, f.sponsor, a.ID, orders.Decision{Approve: true})
		must(t, err)
		o, err = f.ord.Order(f.ctx, f.dana, o.ID)
		must(t, err)
		if waiting := o.State == orders.StateAwaitingApproval; waiting != (i == 0) {
			t.Errorf("after %d of 2 approvals the order is %s", i+1, o.State)
		}
	}
}

// TestApproverThroughAGroup: issue 19, grants to groups: a role granted to
// a group routes approvals as a role granted to its member would; the
// member decides, and nobody falls back to a fallback approver.
func TestApproverThroughAGroup(t *testing.T) {
	f := newFixture(t)
	mia := f.user("mia@x.example", f.mfg.ID)
	team, err := f.ids.CreateGroup(f.ctx, f.sys, identity.GroupInput{Name: "Plant approvers"})
	must(t, err)
	_, err = f.ids.CreateGrant(f.ctx, f.sys, identity.CreateGrantInput{GroupID: team.ID, Role: access.RoleApprover, ScopeKind: access.ScopeOrgUnit, ScopeID: f.mfg.ID})
	must(t, err)
	_, err = f.ids.SetMember(f.ctx, f.sys, team.ID, mia.UserID, true)
	must(t, err)
	mia, err = f.ids.Principal(f.ctx, mia.UserID)
	must(t, err)
	f.policy("silver needs an approver", `item.plan == "silver"`, 1, orders.ApproverRole, access.RoleApprover)
	o, err := f.order(f.mo, "silver", map[string]any{"hostname": "m1"})
	must(t, err)
	as, _ := f.ord.Approvals(f.ctx, f.mo, o.ID)
	if len(as) != 1 || as[0].ApproverRole != string(access.RoleApprover) || strings.Contains(as[0].Comment, "fallback") {
		t.Fatalf("approvals = %+v, want Manufacturing's approver, not a fallback", as)
	}
	in, err := pageItems(f.ord.Inbox(f.ctx, mia, sqldb.Page{}))
	must(t, err)
	if len(in) != 1 || in[0].Approval.ID != as[0].ID {
		t.Fatalf("the group's member has %d approvals in the inbox, want the order's", len(in))
	}
	d, err := f.ord.Decide(f.ctx, mia, as[0].ID, orders.Decision{Approve: true})
	must(t, err)
	if d.DecidedByID != mia.UserID {
		t.Errorf("decided by %s, want the group's member", d.DecidedByID)
	}
}

// TestSubmitPricesAndEvaluatesOutsideTheWriteTransaction: issue 15,
// findings 8 and 9: pricing each item and evaluating each approval policy
// (the slow part of a submit, up to CEL's cost and time bounds per policy)
// happen before Submit's write transaction, so they hold no write lock.
// While each runs, another writer changes the very order being submitted;
// inside the transaction that write would wait for Submit (SQLite's one
// writer, PostgreSQL's row lock on the order), which waits for it: the
// write would run out of its generous deadline instead of going through.
func TestSubmitPricesAndEvaluatesOutsideTheWriteTransaction(t *testing.T) {
	f := newFixture(t)
	f.policy("gold needs an approver", `item.plan == "gold"`, 1, orders.ApproverRole, access.RoleApprover)
	o, err := f.ord.CreateOrder(f.ctx, f.dana, orders.OrderInput{Items: []orders.ItemInput{{Offering: "vm", Plan: "gold", Parameters: map[string]any{"hostname": "g1"}}}})
	must(t, err)
	var ran []string
	f.ord.SetBeforeSlowWork(func(what string) {
		ran = append(ran, what)
		// The write runs on its own goroutine: were this inside Submit's
		// transaction it would wait for it, and the test fails after a
		// minute instead of hanging (Submit goes on, and so does the write).
		wrote := make(chan error, 1)
		go func() {
			wrote <- f.db.Tx(f.ctx, func(tx *sqldb.Tx) error {
				_, err := tx.ExecContext(f.ctx, `UPDATE orders SET updated_at = updated_at WHERE id = $1`, o.ID)
				return err
			})
		}()
		select {
		case err := <-wrote:
			if err != nil {
				t.Errorf("a write to the order while it is %s: %v", what, err)
			}
		case <-time.After(time.Minute):
			t.Errorf("a write to the order waited a minute while it was %s: Submit holds the write lock there", what)
		}
	})
	defer f.ord.SetBeforeSlowWork(nil)
	if o, err = f.ord.Submit(f.ctx, f.dana, o.ID); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ran) != "[price policy]" || o.State != orders.StateAwaitingApproval {
		t.Errorf("ran %v, order %s; want [price policy], awaiting approval", ran, o.State)
	}
}

// TestPolicyPages: issue 18, "every list pages": the approval policies
// page by keyset in the order they apply (step, then name), every policy
// once, the same as the whole list; a cursor of another list is refused.
func TestPolicyPages(t *testing.T) {
	f := newFixture(t)
	for i := range 11 {
		in := orders.PolicyInput{Name: fmt.Sprintf("policy %02d", 10-i), Expression: "true", Step: 1 + i%3, ApproverKind: orders.ApproverSponsor}
		if _, err := f.ord.SavePolicy(f.ctx, f.pm, "", in); err != nil {
			t.Fatal(err)
		}
	}
	all, err := f.ord.Policies(f.ctx, f.pm)
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, p := range all {
		want = append(want, fmt.Sprint(p.Step, " ", p.Name))
	}
	page := sqldb.Page{Limit: 2}
	for {
		pg, err := f.ord.PolicyPage(f.ctx, f.pm, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pg.Items {
			got = append(got, fmt.Sprint(p.Step, " ", p.Name))
		}
		if pg.Next == "" {
			break
		}
		page.Cursor = pg.Next
	}
	if len(want) < 11 || strings.Join(want, ", ") != strings.Join(got, ", ") {
		t.Errorf("pages of 2:\n got %v\nwant %v", got, want)
	}
	if _, err := f.ord.PolicyPage(f.ctx, f.pm, sqldb.Page{Cursor: sqldb.Order{Name: "other", Columns: []string{"x"}}.Cursor("x")}); !errs.Is(err, errs.CodeInvalid) {
		t.Errorf("a cursor of another list: %v", err)
	}
}
