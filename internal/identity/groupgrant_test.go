package identity_test

import (
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
)

// Issue 19, "grants to groups": a role granted to a group applies to its
// members while they are members, in their sessions and tokens at once;
// the group's grants go with it.
func TestGrantsToGroups(t *testing.T) {
	f := newFixture(t)
	retail := f.unit("", "business_unit", "RETAIL")
	stores := f.unit(retail.ID, "department", "STORES")
	other := f.unit("", "business_unit", "OTHER")
	u, p := f.user("member@example.com", stores.ID, grant(access.RoleConsumer, access.ScopeOrgUnit, stores.ID))
	g, err := f.svc.CreateGroup(f.ctx, f.sys, identity.GroupInput{Name: "Retail approvers"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateGrant(f.ctx, f.sys, identity.CreateGrantInput{UserID: u.ID, GroupID: g.ID, Role: access.RoleApprover, ScopeKind: access.ScopeGlobal}); !errs.Is(err, errs.CodeInvalid) {
		t.Errorf("a grant to a user and a group at once: %v, want invalid", err)
	}
	gg, err := f.svc.CreateGrant(f.ctx, f.sys, identity.CreateGrantInput{GroupID: g.ID, Role: access.RoleApprover, ScopeKind: access.ScopeOrgUnit, ScopeID: retail.ID})
	if err != nil || gg.GroupID != g.ID || gg.UserID != "" || gg.GroupName != "Retail approvers" {
		t.Fatalf("grant to the group = %+v, %v", gg, err)
	}
	if _, err := f.svc.CreateGrant(f.ctx, f.sys, identity.CreateGrantInput{GroupID: g.ID, Role: access.RoleApprover, ScopeKind: access.ScopeOrgUnit, ScopeID: retail.ID}); !errs.Is(err, errs.CodeConflict) {
		t.Errorf("the same grant twice: %v, want conflict", err)
	}
	nt, err := f.svc.CreateToken(f.ctx, p, identity.CreateTokenInput{Name: "all", ExpiresAt: f.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	mayApprove := func() (bool, bool) {
		t.Helper()
		sp, err := f.svc.Principal(f.ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		tp, err := f.svc.TokenPrincipal(f.ctx, nt.Secret)
		if err != nil {
			t.Fatal(err)
		}
		in := access.InOrgUnit(stores.Path)
		return sp.Can(access.OrderApprove, in), tp.Can(access.OrderApprove, in)
	}
	if s, tk := mayApprove(); s || tk {
		t.Fatalf("before joining the group the user may approve: session %v, token %v", s, tk)
	}

	if _, err := f.svc.SetMember(f.ctx, f.sys, g.ID, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if s, tk := mayApprove(); !s || !tk {
		t.Errorf("a member of the group may not approve: session %v, token %v", s, tk)
	}
	// Another org unit is not covered.
	sp, _ := f.svc.Principal(f.ctx, u.ID)
	if sp.Can(access.OrderApprove, access.InOrgUnit(other.Path)) {
		t.Error("the group's grant on Retail covers another business unit")
	}
	gs, err := f.svc.Grants(f.ctx, f.sys, u.ID)
	if err != nil || len(gs) != 2 || gs[1].ID != gg.ID || gs[1].UserID != u.ID || gs[1].GroupID != g.ID || gs[0].GroupID != "" {
		t.Errorf("the member's grants = %+v, %v; want their own and the group's, naming the group", gs, err)
	}
	listed, err := f.svc.GroupGrants(f.ctx, f.sys, g.ID)
	if err != nil || len(listed) != 1 || listed[0].ID != gg.ID || listed[0].ScopeName != "RETAIL (business unit)" {
		t.Errorf("the group's grants = %+v, %v", listed, err)
	}
	if _, err := f.svc.GroupGrants(f.ctx, p, g.ID); !errs.Is(err, errs.CodeForbidden) && !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("a consumer lists a group's grants: %v", err)
	}

	// Leaving the group takes the role away at once.
	if _, err := f.svc.SetMember(f.ctx, f.sys, g.ID, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if s, tk := mayApprove(); s || tk {
		t.Errorf("after leaving the group the user may approve: session %v, token %v", s, tk)
	}
	// Taking the group's grant away, and deleting the group, do too.
	if _, err := f.svc.SetMember(f.ctx, f.sys, g.ID, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteGrant(f.ctx, f.sys, gg.ID); err != nil {
		t.Fatal(err)
	}
	if s, tk := mayApprove(); s || tk {
		t.Errorf("after the group's grant was removed the user may approve: session %v, token %v", s, tk)
	}
	if _, err := f.svc.CreateGrant(f.ctx, f.sys, identity.CreateGrantInput{GroupID: g.ID, Role: access.RoleApprover, ScopeKind: access.ScopeOrgUnit, ScopeID: retail.ID}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteOrgUnit(f.ctx, f.sys, retail.ID); !errs.Is(err, errs.CodeConflict) {
		t.Errorf("deleting an org unit a group's grant names: %v, want conflict", err)
	}
	if err := f.svc.DeleteGroup(f.ctx, f.sys, g.ID); err != nil {
		t.Fatal(err)
	}
	if s, tk := mayApprove(); s || tk {
		t.Errorf("after the group was deleted the user may approve: session %v, token %v", s, tk)
	}
	var n int
	if err := f.db.Read().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM group_grants`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d group grants left after the group was deleted (%v)", n, err)
	}
}
