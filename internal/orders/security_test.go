package orders_test

import (
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// token returns the principal of an API token of user, limited to roles
// (none: all the user's roles), authenticated as a request would be.
func (f *fixture) token(user *access.Principal, roles ...access.Role) *access.Principal {
	f.t.Helper()
	nt, err := f.ids.CreateToken(f.ctx, user, identity.CreateTokenInput{Name: "test", Roles: roles, ExpiresAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	must(f.t, err)
	p, err := f.ids.TokenPrincipal(f.ctx, nt.Secret)
	must(f.t, err)
	return p
}

// TestLimitedTokenOwnsNothing: issue 15, finding 3: a token limited to
// usage_reporter of a consumer who ordered cannot read, edit or cancel the
// consumer's orders nor read or end the consumer's instances, while a full
// token of the same user can.
func TestLimitedTokenOwnsNothing(t *testing.T) {
	f := newFixture(t)
	kai := f.user("kai@x.example", f.retail.ID, grant(access.RoleConsumer, access.ScopeOrgUnit, f.retail.ID),
		grant(access.RoleUsageReporter, access.ScopeOrgUnit, f.retail.ID))
	reporter, full := f.token(kai, access.RoleUsageReporter), f.token(kai)

	draft, err := f.ord.CreateOrder(f.ctx, kai, orders.OrderInput{Items: []orders.ItemInput{{Offering: "vm", Plan: "bronze", Parameters: map[string]any{"hostname": "k1"}}}})
	must(t, err)
	done, err := f.order(kai, "bronze", map[string]any{"hostname": "k2"})
	must(t, err)
	ts, _ := pageItems(f.ord.Tasks(f.ctx, f.agent, orders.TaskFilter{}))
	_, err = f.ord.CompleteTask(f.ctx, f.agent, ts[0].ID, orders.TaskResult{Done: true})
	must(t, err)
	done, err = f.ord.Order(f.ctx, kai, done.ID)
	must(t, err)
	instID := done.Items[0].InstanceID

	refused := func(what string, err error) {
		t.Helper()
		if !errs.Is(err, errs.CodeNotFound) && !errs.Is(err, errs.CodeForbidden) {
			t.Errorf("usage_reporter token: %s: err = %v, want not found or forbidden", what, err)
		}
	}
	_, err = f.ord.Order(f.ctx, reporter, draft.ID)
	refused("read the order", err)
	_, err = f.ord.Events(f.ctx, reporter, draft.ID)
	refused("read the order's history", err)
	if os, err := pageItems(f.ord.Orders(f.ctx, reporter, orders.OrderFilter{Mine: true})); err != nil || len(os) != 0 {
		t.Errorf("usage_reporter token lists %d of its owner's orders (err %v)", len(os), err)
	}
	_, err = f.ord.AddItem(f.ctx, reporter, draft.ID, orders.ItemInput{Offering: "vm", Plan: "gold", Parameters: map[string]any{"hostname": "k3"}})
	refused("add an item", err)
	_, err = f.ord.RemoveItem(f.ctx, reporter, draft.ID, draft.Items[0].ID)
	refused("remove an item", err)
	_, err = f.ord.Submit(f.ctx, reporter, draft.ID)
	refused("submit", err)
	_, err = f.ord.Cancel(f.ctx, reporter, draft.ID, "")
	refused("cancel", err)
	_, err = f.ord.Instance(f.ctx, reporter, instID)
	refused("read the instance", err)
	if is, err := pageItems(f.ord.Instances(f.ctx, reporter, orders.InstanceFilter{Mine: true})); err != nil || len(is) != 0 {
		t.Errorf("usage_reporter token lists %d of its owner's instances (err %v)", len(is), err)
	}
	_, err = f.ord.RequestDeprovision(f.ctx, reporter, instID, "")
	refused("deprovision", err)
	_, err = f.ord.RequestChange(f.ctx, reporter, instID, orders.ChangeInput{Plan: "silver"})
	refused("change the plan", err)

	// The full token does all of it.
	_, err = f.ord.Order(f.ctx, full, draft.ID)
	must(t, err)
	if os, err := pageItems(f.ord.Orders(f.ctx, full, orders.OrderFilter{Mine: true})); err != nil || len(os) != 2 {
		t.Errorf("a full token lists %d of its owner's orders (err %v), want 2", len(os), err)
	}
	_, err = f.ord.AddItem(f.ctx, full, draft.ID, orders.ItemInput{Offering: "vm", Plan: "silver", Parameters: map[string]any{"hostname": "k3"}})
	must(t, err)
	_, err = f.ord.Instance(f.ctx, full, instID)
	must(t, err)
	_, err = f.ord.Cancel(f.ctx, full, draft.ID, "")
	must(t, err)
	_, err = f.ord.RequestDeprovision(f.ctx, full, instID, "")
	must(t, err)
}

// TestLimitedTokenDecidesNothing: issue 15, finding 3: a sponsor's token
// limited to usage_reporter cannot decide an approval routed to the
// sponsor by name, nor see it in an inbox.
func TestLimitedTokenDecidesNothing(t *testing.T) {
	f := newFixture(t)
	f.policy("big orders need the sponsor", "order.total_monthly > 1000", 1, orders.ApproverSponsor, "")
	g := grant(access.RoleUsageReporter, access.ScopeOrgUnit, f.retail.ID)
	g.UserID = f.sponsor.UserID
	_, err := f.ids.CreateGrant(f.ctx, f.sys, g)
	must(t, err)
	sponsorReporter := f.token(f.sponsor, access.RoleUsageReporter)
	o, err := f.order(f.dana, "gold", map[string]any{"hostname": "s1"})
	must(t, err)
	as, _ := f.ord.Approvals(f.ctx, f.dana, o.ID)
	if len(as) != 1 || as[0].ApproverKind != orders.ApproverSponsor {
		t.Fatalf("approvals = %+v, want the sponsor's", as)
	}
	if in, _ := pageItems(f.ord.Inbox(f.ctx, sponsorReporter, sqldb.Page{})); len(in) != 0 {
		t.Errorf("the sponsor's usage_reporter token has %d approvals in its inbox", len(in))
	}
	_, err = f.ord.Decide(f.ctx, sponsorReporter, as[0].ID, orders.Decision{Approve: true})
	if !errs.Is(err, errs.CodeNotFound) && !errs.Is(err, errs.CodeForbidden) {
		t.Errorf("the sponsor's usage_reporter token decides: err = %v", err)
	}
	_, err = f.ord.Decide(f.ctx, f.token(f.sponsor), as[0].ID, orders.Decision{Approve: true})
	must(t, err)
}

// refusedApprover checks that p can neither decide the approval, nor see it
// in an inbox, nor read its order.
func (f *fixture) refusedApprover(t *testing.T, who string, p *access.Principal, a *orders.Approval) {
	t.Helper()
	if in, err := pageItems(f.ord.Inbox(f.ctx, p, sqldb.Page{})); err != nil || len(in) != 0 {
		t.Errorf("%s has %d approvals in the inbox (err %v), want none", who, len(in), err)
	}
	if _, err := f.ord.Order(f.ctx, p, a.OrderID); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("%s reads the order: err = %v, want not found", who, err)
	}
	if _, err := f.ord.Decide(f.ctx, p, a.ID, orders.Decision{Approve: true}); !errs.Is(err, errs.CodeNotFound) && !errs.Is(err, errs.CodeForbidden) {
		t.Errorf("%s decides: err = %v, want not found or forbidden", who, err)
	}
}

// sponsorApproval orders a gold VM as Dana (Retail) under a policy that
// sends big orders to the service's sponsor, and returns the approval.
func (f *fixture) sponsorApproval(t *testing.T) *orders.Approval {
	t.Helper()
	f.policy("big orders need the sponsor", "order.total_monthly > 1000", 1, orders.ApproverSponsor, "")
	o, err := f.order(f.dana, "gold", map[string]any{"hostname": "s1"})
	must(t, err)
	as, err := f.ord.Approvals(f.ctx, f.dana, o.ID)
	must(t, err)
	if len(as) != 1 || as[0].ApproverKind != orders.ApproverSponsor || as[0].ApproverUserID != f.sponsor.UserID {
		t.Fatalf("approvals = %+v, want the sponsor's", as)
	}
	return as[0]
}

// TestRevokedApproverDecidesNothing: issue 15, finding 3 (review): a
// sponsor whose approver grant on Retail is revoked while a Retail order
// waits for them, and who approves only for Manufacturing now, can neither
// decide the approval nor read the order; the approval is not stuck: it
// falls to Retail's approvers, as routing would send it today.
func TestRevokedApproverDecidesNothing(t *testing.T) {
	f := newFixture(t)
	ria := f.user("ria@x.example", f.retail.ID, grant(access.RoleApprover, access.ScopeOrgUnit, f.retail.ID))
	a := f.sponsorApproval(t)
	if in, _ := pageItems(f.ord.Inbox(f.ctx, ria, sqldb.Page{})); len(in) != 0 {
		t.Errorf("Retail's approver has the sponsor's approval in the inbox while the sponsor may decide it")
	}

	gs, err := f.ids.Grants(f.ctx, f.sys, f.sponsor.UserID)
	must(t, err)
	for _, g := range gs {
		must(t, f.ids.DeleteGrant(f.ctx, f.sys, g.ID))
	}
	g := grant(access.RoleApprover, access.ScopeOrgUnit, f.mfg.ID)
	g.UserID = f.sponsor.UserID
	_, err = f.ids.CreateGrant(f.ctx, f.sys, g)
	must(t, err)
	sponsor, err := f.ids.Principal(f.ctx, f.sponsor.UserID)
	must(t, err)
	f.refusedApprover(t, "the sponsor without a grant on Retail", sponsor, a)

	in, err := pageItems(f.ord.Inbox(f.ctx, ria, sqldb.Page{}))
	must(t, err)
	if len(in) != 1 || in[0].Approval.ID != a.ID {
		t.Fatalf("Retail's approver has %d approvals in the inbox, want the sponsor's", len(in))
	}
	d, err := f.ord.Decide(f.ctx, ria, a.ID, orders.Decision{Approve: true, Comment: "ok"})
	must(t, err)
	if d.State != orders.ApprovalApproved || d.DecidedByID != ria.UserID || !strings.Contains(d.Comment, "fallback") {
		t.Errorf("decided approval = %+v, want approved by Retail's approver with a note on the fallback", d)
	}
}

// TestApproverTokenForAnotherOrgUnit: issue 15, finding 3 (review): a
// token of the sponsor limited to a role that approves for Manufacturing
// only can neither decide nor read the Retail order routed to the sponsor
// by name; the sponsor, with all their roles, still decides it.
func TestApproverTokenForAnotherOrgUnit(t *testing.T) {
	f := newFixture(t)
	g := grant(access.RoleRelationshipManager, access.ScopeOrgUnit, f.mfg.ID)
	g.UserID = f.sponsor.UserID
	_, err := f.ids.CreateGrant(f.ctx, f.sys, g)
	must(t, err)
	a := f.sponsorApproval(t)
	f.refusedApprover(t, "the sponsor's token for Manufacturing", f.token(f.sponsor, access.RoleRelationshipManager), a)

	full := f.token(f.sponsor)
	if in, err := pageItems(f.ord.Inbox(f.ctx, full, sqldb.Page{})); err != nil || len(in) != 1 {
		t.Errorf("the sponsor has %d approvals in the inbox (err %v), want 1", len(in), err)
	}
	d, err := f.ord.Decide(f.ctx, full, a.ID, orders.Decision{Approve: true})
	must(t, err)
	if d.State != orders.ApprovalApproved || d.DecidedByID != f.sponsor.UserID {
		t.Errorf("decided approval = %+v, want approved by the sponsor", d)
	}
}
