package notify_test

import (
	"slices"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/notify"
	"github.com/steward-itaas/steward/internal/notify/smtptest"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// sla.at_risk reaches whom sla.breached reaches (the notice internal/sla
// makes names the service level managers, the owners of the agreement's
// service and the relationship managers of its org unit): in their inbox
// and by mail, unless they muted the kind (issue 19). Holders of those
// roles elsewhere, and of other roles here, are not told.
func TestSLAAtRiskRecipients(t *testing.T) {
	f := newFixture(t)
	root := f.unit("", "CORP")
	shops, plants := f.unit(root.ID, "SHOPS"), f.unit(root.ID, "PLANTS")
	slm := f.user("slm@x.example", "Lee Levels", root.ID, access.RoleServiceLevelManager, "")
	rm := f.user("rm-shops@x.example", "Rae Shops", shops.ID, access.RoleRelationshipManager, shops.ID)
	otherRM := f.user("rm-plants@x.example", "Ray Plants", plants.ID, access.RoleRelationshipManager, plants.ID)
	finance := f.user("fin@x.example", "Fin", root.ID, access.RoleFinancialManager, "")
	svc, err := f.cat.Services(f.ctx, f.sys, catalog.ServiceFilter{})
	must(t, err)
	owner := f.user("owner@x.example", "Owen Owner", root.ID, "", "")
	_, err = f.ids.CreateGrant(f.ctx, f.sys, identity.CreateGrantInput{UserID: owner.UserID, Role: access.RoleServiceOwner, ScopeKind: access.ScopeService, ScopeID: svc[0].ID})
	must(t, err)
	// The service level manager keeps at-risk warnings out of their mail.
	_, err = f.svc.SetPreferences(f.ctx, slm, notify.Preferences{Email: notify.EmailImmediate, Muted: []string{"sla.at_risk"}})
	must(t, err)

	const title = "Storage for Shops is at risk of missing 99.9 % availability, calendar month"
	must(t, f.db.Tx(f.ctx, func(tx *sqldb.Tx) error {
		return outbox.Emit(f.ctx, tx, f.sys, f.clock.now(), outbox.Event{Type: "sla.at_risk", Subject: "agreements/a1",
			OrgUnitID: shops.ID, ServiceID: svc[0].ID, Data: map[string]any{"agreement_id": "a1", "target": "availability"},
			Notice: &outbox.Notice{Title: title, Body: "Achieved so far: 99.877.", Link: "/sla/agreements/storage",
				Roles: []access.Role{access.RoleServiceLevelManager, access.RoleServiceOwner, access.RoleRelationshipManager}}})
	}))
	f.deliver()
	for _, c := range []struct {
		who  *access.Principal
		told bool
	}{{slm, true}, {owner, true}, {rm, true}, {otherRM, false}, {finance, false}, {f.dana, false}} {
		n := f.inbox(c.who)
		if got := len(n) == 1 && n[0].Kind == "sla.at_risk" && n[0].Title == title; got != c.told || len(n) > 1 {
			t.Errorf("%s's inbox: %+v, want told %v", c.who.Email, n, c.told)
		}
	}
	msgs := f.mail.WaitFor(t, "the owner's and the relationship manager's mails", func(m []smtptest.Message) bool { return len(m) >= 2 })
	var to []string
	for _, m := range msgs {
		if m.Subject != title {
			t.Errorf("mail to %s: %q", m.To, m.Subject)
		}
		to = append(to, m.To)
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"owner@x.example", "rm-shops@x.example"}) {
		t.Errorf("mailed %v, want the owner and the shops' relationship manager (the service level manager muted the kind)", to)
	}
}
