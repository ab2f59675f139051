package desk_test

import (
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
)

// TestRoutesPerOrgUnit: a service's tickets go to its assignment group,
// except those of an org unit (and the org units under it) the service
// has its own support for (issue 20: "routed to the service's assignment
// group, per org unit where the service has managers"). The deepest org
// unit with a route wins; the route's group works the tickets it gets,
// and a reclassified ticket follows the routes of its new service. Only
// those who manage the service set its routes.
func TestRoutesPerOrgUnit(t *testing.T) {
	f := newFixture(t)
	sys := access.System()
	plant := must(f.a.Identity.CreateGroup(f.ctx, sys, identity.GroupInput{Name: "Plant IT"}))(t)
	must(f.a.Identity.CreateGroup(f.ctx, sys, identity.GroupInput{Name: "Plant 5100 floor"}))(t)
	dana := f.as("dana@contoso.example")
	mia := f.person("mia@contoso.example", access.RoleConsumer, "MFG", "")
	cal := f.person("cal@contoso.example", access.RoleConsumer, "CC-5100", "")
	pat := f.person("pat@contoso.example", access.RoleConsumer, "MFG", "Plant IT")
	owner := f.person("owner@it.contoso.example", access.RolePortfolioManager, "", "")

	before := must(f.a.Desk.Raise(f.ctx, mia, desk.RaiseInput{Service: "email", Summary: "Outlook keeps asking for my password"}))(t)
	if before.Group == nil || before.Group.ID == plant.ID {
		t.Fatalf("before any route Mia's ticket went to %+v, want the service's group", before.Group)
	}
	serviceGroup := before.Group.ID

	_, err := f.a.Desk.SetRoute(f.ctx, dana, "email", "MFG", desk.RouteInput{Group: "Plant IT"})
	wantCode(t, err, errs.CodeForbidden, "a consumer routing the service's tickets")
	_, err = f.a.Desk.SetRoute(f.ctx, pat, "email", "MFG", desk.RouteInput{Group: "Plant IT"})
	wantCode(t, err, errs.CodeForbidden, "a member of the group routing tickets to it")
	_, err = f.a.Desk.SetRoute(f.ctx, owner, "email", "NOWHERE", desk.RouteInput{Group: "Nobody"})
	if e := errs.As(err); e == nil || e.Code != errs.CodeInvalid || len(e.Fields) != 2 {
		t.Fatalf("a route to no group for no org unit: %v, want invalid naming org_unit and group", err)
	}
	_, err = f.a.Desk.SetRoute(f.ctx, owner, "no-such-service", "MFG", desk.RouteInput{Group: "Plant IT"})
	wantField(t, err, "service", "a route of no service")
	r := must(f.a.Desk.SetRoute(f.ctx, owner, "email", "MFG", desk.RouteInput{Group: "Plant IT"}))(t)
	if r.OrgUnit.Code != "MFG" || r.Group.ID != plant.ID || r.Service.Code != "email" {
		t.Fatalf("the route %+v", r)
	}
	must(f.a.Desk.SetRoute(f.ctx, owner, "email", "CC-5100", desk.RouteInput{Group: "Plant IT"}))(t)
	must(f.a.Desk.SetRoute(f.ctx, owner, "email", "CC-5100", desk.RouteInput{Group: "Plant 5100 floor"}))(t) // replaces
	rs := must(f.a.Desk.Routes(f.ctx, owner, "email"))(t)
	if len(rs) != 2 || rs[0].OrgUnit.Code != "MFG" || rs[1].OrgUnit.Code != "CC-5100" || rs[1].Group.Name != "Plant 5100 floor" {
		t.Fatalf("the routes %+v, want MFG's then CC-5100's (replaced)", rs)
	}
	_, err = f.a.Desk.Routes(f.ctx, dana, "email")
	wantCode(t, err, errs.CodeForbidden, "a consumer reading the routes")

	// Mia's (Manufacturing) goes to Plant IT, whose member works it;
	// Cal's (a cost centre under it) to the deeper route; Dana's (Retail)
	// to the service's group.
	tk := must(f.a.Desk.Raise(f.ctx, mia, desk.RaiseInput{Service: "email", Summary: "No mail since the plant's network change"}))(t)
	if tk.Group == nil || tk.Group.ID != plant.ID {
		t.Fatalf("Mia's ticket went to %+v, want Plant IT", tk.Group)
	}
	must(f.a.Desk.Take(f.ctx, pat, tk.Reference))(t)
	if c := must(f.a.Desk.Raise(f.ctx, cal, desk.RaiseInput{Service: "email", Summary: "Shared calendar is empty"}))(t); c.Group == nil || c.Group.Name != "Plant 5100 floor" {
		t.Errorf("Cal's ticket went to %+v, want the cost centre's own route", c.Group)
	}
	if d := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "email", Summary: "Mail is slow"}))(t); d.Group == nil || d.Group.ID != serviceGroup {
		t.Errorf("Dana's ticket went to %+v, want the service's group", d.Group)
	}
	_, err = f.a.Desk.Take(f.ctx, pat, before.Reference)
	wantCode(t, err, errs.CodeNotFound, "Plant IT taking a ticket raised before the route (it stays in its queue, which Pat does not read)")
	// Plant IT works the service's tickets it gets: it raises a problem.
	must(f.a.Desk.Raise(f.ctx, pat, desk.RaiseInput{Kind: desk.Problem, Service: "email", OrgUnit: "MFG", Summary: "Mail drops after the plant's network change"}))(t)
	// Not those of Retail, which go to the service's group: a Plant IT
	// member raising a problem, or on someone's behalf, for Retail is refused.
	quinn := f.person("quinn@contoso.example", access.RoleConsumer, "RETAIL", "Plant IT")
	_, err = f.a.Desk.Raise(f.ctx, quinn, desk.RaiseInput{Kind: desk.Problem, Service: "email", OrgUnit: "RETAIL", Summary: "Retail's mail is slow"})
	wantCode(t, err, errs.CodeForbidden, "a Plant IT member raising a problem for Retail")
	_, err = f.a.Desk.Raise(f.ctx, quinn, desk.RaiseInput{Service: "email", Requester: "dana@contoso.example", Summary: "On Dana's behalf"})
	wantCode(t, err, errs.CodeForbidden, "a Plant IT member raising for Retail on someone's behalf")
	if d := must(f.a.Desk.Raise(f.ctx, quinn, desk.RaiseInput{Service: "email", Summary: "My own mail is slow"}))(t); d.Access.Work || d.Access.Notes {
		t.Errorf("Quinn's own Retail ticket answers her access %+v, but the Service Desk works it", d.Access)
	}

	// Reclassified to email, a Manufacturing ticket follows the route.
	moved := must(f.a.Desk.Raise(f.ctx, mia, desk.RaiseInput{Service: "desktop", Summary: "Outlook crashes on start"}))(t)
	alex := f.as("alex@it.contoso.example")
	after := must(f.a.Desk.Classify(f.ctx, alex, moved.Reference, desk.ClassifyInput{Service: "email"}))(t)
	if after.Group == nil || after.Group.ID != plant.ID {
		t.Errorf("reclassified to email, Mia's ticket went to %+v, want Plant IT", after.Group)
	}

	// Without the route, Manufacturing's tickets go to the service's group again.
	err = f.a.Desk.RemoveRoute(f.ctx, dana, "email", "MFG")
	wantCode(t, err, errs.CodeForbidden, "a consumer removing a route")
	if err := f.a.Desk.RemoveRoute(f.ctx, owner, "email", "MFG"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.a.Desk.RemoveRoute(f.ctx, owner, "email", "MFG"), errs.CodeNotFound, "removing a route twice")
	if tk := must(f.a.Desk.Raise(f.ctx, mia, desk.RaiseInput{Service: "email", Summary: "Mail is slow here too"}))(t); tk.Group == nil || tk.Group.ID != serviceGroup {
		t.Errorf("after the route's removal Mia's ticket went to %+v, want the service's group", tk.Group)
	}
}
