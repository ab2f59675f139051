package sla_test

import (
	"time"

	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sla"
)

// user creates a user with one grant and returns its principal.
func (f *fixture) user(email string, role access.Role, kind access.ScopeKind, scopeID string) *access.Principal {
	f.t.Helper()
	u, err := f.a.Identity.CreateUser(f.ctx, access.System(), identity.CreateUserInput{Email: email, Name: email})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.a.Identity.CreateGrant(f.ctx, access.System(), identity.CreateGrantInput{UserID: u.ID, Role: role, ScopeKind: kind, ScopeID: scopeID}); err != nil {
		f.t.Fatal(err)
	}
	return f.as(email)
}

// scoped defines Retail's mail SLA and Manufacturing's CRM SLA.
func (f *fixture) scoped() {
	f.t.Helper()
	crm := mailSLA("crm-sla", "FREQ=MONTHLY;BYDAY=1SU")
	crm.Services, crm.OrgUnits, crm.Customer = []string{"crm-saas"}, []string{"MFG"}, "Manufacturing"
	for _, in := range []sla.AgreementInput{mailSLA("mail-sla", "FREQ=MONTHLY;BYDAY=1SU"), crm} {
		if _, _, err := f.a.SLA.SaveAgreement(f.ctx, f.as("lena@it.contoso.example"), in); err != nil {
			f.t.Fatal(err)
		}
	}
}

func forbidden(err error) bool { return errs.Is(err, errs.CodeForbidden) }

// Issue 15, finding 11: a service manager scoped to Manufacturing turned
// Retail's 3-hour outage into 19 days. Outages and incidents move money
// (breaches, rebates): recording or changing one needs outage.record
// provider-wide, on its service, or on the org units of every agreement
// it counts against.
func TestOutageScope(t *testing.T) {
	f := newFixture(t)
	f.scoped()
	sam := f.as("sam@it.contoso.example") // service manager for MFG
	retail := f.outage(sla.OutageInput{Service: "email", Started: "2026-11-03T08:00:00Z", Ended: "2026-11-03T11:00:00Z", Summary: "Mail down"})

	long := retail.Input()
	long.Ended = "2026-11-22T11:00:00Z"
	long.Started = "2026-11-03T08:00:00Z"
	f.now = at("2026-11-23T00:00:00Z")
	if _, err := f.a.SLA.UpdateOutage(f.ctx, sam, retail.ID, long); !forbidden(err) {
		t.Errorf("MFG's manager stretched Retail's outage: %v", err)
	}
	if o, _ := f.a.SLA.Outage(f.ctx, access.System(), retail.ID); o.Ended == nil || !o.Ended.Equal(at("2026-11-03T11:00:00Z")) {
		t.Errorf("Retail's outage changed: %+v", o)
	}
	if _, err := f.a.SLA.RecordOutage(f.ctx, sam, sla.OutageInput{Service: "email", Started: "2026-11-04T08:00:00Z"}); !forbidden(err) {
		t.Errorf("MFG's manager recorded an outage of Retail's mail: %v", err)
	}
	// Through what stands on it: the directory carries Retail's mail.
	if _, err := f.a.SLA.RecordOutage(f.ctx, sam, sla.OutageInput{Service: "directory", Started: "2026-11-04T08:00:00Z"}); !forbidden(err) {
		t.Errorf("MFG's manager recorded an outage under Retail's mail: %v", err)
	}
	// A service no agreement counts is nobody's to record by org unit.
	if _, err := f.a.SLA.RecordOutage(f.ctx, sam, sla.OutageInput{Service: "file-shares", Started: "2026-11-04T08:00:00Z"}); !forbidden(err) {
		t.Errorf("MFG's manager recorded an outage no MFG agreement counts: %v", err)
	}
	own, err := f.a.SLA.RecordOutage(f.ctx, sam, sla.OutageInput{Service: "crm-saas", Started: "2026-11-04T08:00:00Z", Ended: "2026-11-04T09:00:00Z"})
	if err != nil {
		t.Fatalf("MFG's manager on MFG's CRM: %v", err)
	}
	moved := own.Input()
	moved.Service = "email"
	if _, err := f.a.SLA.UpdateOutage(f.ctx, sam, own.ID, moved); !forbidden(err) {
		t.Errorf("MFG's manager moved an outage onto Retail's mail: %v", err)
	}
	if _, err := f.a.SLA.SaveIncident(f.ctx, sam, "", sla.IncidentInput{Service: "email", Priority: 2, Summary: "Mail", OpenedAt: "2026-11-04T08:00:00Z"}); !forbidden(err) {
		t.Errorf("MFG's manager recorded an incident of Retail's mail: %v", err)
	}
	if _, err := f.a.SLA.SaveIncident(f.ctx, sam, "", sla.IncidentInput{Service: "crm-saas", Priority: 2, Summary: "CRM", OpenedAt: "2026-11-04T08:00:00Z"}); err != nil {
		t.Errorf("MFG's manager on an incident of MFG's CRM: %v", err)
	}
	// A grant on the service covers its outages, whoever's agreements count them.
	mailMgr := f.user("mail-manager@it.contoso.example", access.RoleServiceManager, access.ScopeService, f.serviceID("email"))
	if _, err := f.a.SLA.UpdateOutage(f.ctx, mailMgr, retail.ID, retail.Input()); err != nil {
		t.Errorf("the mail service's manager: %v", err)
	}
	if _, err := f.a.SLA.RecordOutage(f.ctx, mailMgr, sla.OutageInput{Service: "crm-saas", Started: "2026-11-04T08:00:00Z"}); !forbidden(err) {
		t.Errorf("the mail service's manager recorded a CRM outage: %v", err)
	}
}

// Issue 15, finding 11: a monitoring token reports outages and resolves
// the ones it reported; it cannot rewrite outages recorded by people, nor
// incidents.
func TestMonitoringChangesOnlyItsOwnOutages(t *testing.T) {
	f := newFixture(t)
	f.scoped()
	mon := f.user("alertmanager@it.contoso.example", access.RoleMonitoring, access.ScopeGlobal, "")
	manual := f.outage(sla.OutageInput{Service: "email", Started: "2026-11-03T08:00:00Z", Ended: "2026-11-03T11:00:00Z"})
	stretched := manual.Input()
	stretched.Ended = "2026-11-20T11:00:00Z"
	if _, err := f.a.SLA.UpdateOutage(f.ctx, mon, manual.ID, stretched); !forbidden(err) {
		t.Errorf("monitoring rewrote a manual outage: %v", err)
	}
	if _, err := f.a.SLA.SaveIncident(f.ctx, mon, "", sla.IncidentInput{Service: "email", Priority: 1, Summary: "Mail", OpenedAt: "2026-11-04T08:00:00Z"}); !forbidden(err) {
		t.Errorf("monitoring recorded an incident: %v", err)
	}
	incs, err := f.a.SLA.Incidents(f.ctx, access.System(), sla.IncidentFilter{})
	if err != nil || len(incs.Items) != 0 {
		t.Fatalf("after the refused incident: %d incidents, %v", len(incs.Items), err)
	}
	f.incident("email", 2, "2026-11-05T08:00:00Z", "")
	if incs, _ = f.a.SLA.Incidents(f.ctx, access.System(), sla.IncidentFilter{}); len(incs.Items) != 1 {
		t.Fatalf("incidents %d", len(incs.Items))
	}
	if _, err := f.a.SLA.SaveIncident(f.ctx, mon, incs.Items[0].ID, sla.IncidentInput{Service: "email", Priority: 4, Summary: "Mail", OpenedAt: "2026-11-05T08:00:00Z"}); !forbidden(err) {
		t.Errorf("monitoring rewrote an incident: %v", err)
	}
	own, err := f.a.SLA.RecordOutage(f.ctx, mon, sla.OutageInput{Service: "email", Started: "2026-11-06T08:00:00Z"})
	if err != nil {
		t.Fatalf("monitoring reports an outage: %v", err)
	}
	end := own.Input()
	end.Ended = "2026-11-06T09:00:00Z"
	if _, err := f.a.SLA.UpdateOutage(f.ctx, mon, own.ID, end); err != nil {
		t.Errorf("monitoring ends its own outage: %v", err)
	}
	res, err := f.a.SLA.Alertmanager(f.ctx, mon, sla.AlertmanagerMessage{Version: "4", Alerts: []sla.Alert{{Status: "firing", Fingerprint: "ab",
		Labels: map[string]string{"service": "email"}, StartsAt: at("2026-11-07T08:00:00Z")}}})
	if err != nil || res.Recorded != 1 {
		t.Errorf("alertmanager: %+v %v", res, err)
	}
}

func (f *fixture) serviceID(code string) string {
	f.t.Helper()
	s, err := f.a.Catalog.Service(f.ctx, access.System(), code)
	if err != nil {
		f.t.Fatal(err)
	}
	return s.ID
}

// Issue 15, finding 15: a breach of an agreement the caller may not read
// is not found exactly as a breach that does not exist: the answer names
// neither the agreement nor its ID.
func TestBreachOutOfScopeIsNotFound(t *testing.T) {
	f := newFixture(t)
	f.scoped()
	f.outage(sla.OutageInput{Service: "email", Started: "2026-11-03T08:00:00Z", Ended: "2026-11-03T10:00:00Z"})
	f.evaluate()
	page, err := f.a.SLA.Breaches(f.ctx, access.System(), sla.BreachFilter{Agreement: "mail-sla"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("breaches %d %v", len(page.Items), err)
	}
	bs := page.Items
	sam := f.as("sam@it.contoso.example") // reads MFG's agreements, not Retail's
	_, err = f.a.SLA.Breach(f.ctx, sam, bs[0].ID)
	_, none := f.a.SLA.Breach(f.ctx, sam, "no-such-breach")
	e, n := errs.As(err), errs.As(none)
	if e == nil || n == nil || e.Code != errs.CodeNotFound || e.Message != strings.ReplaceAll(n.Message, "no-such-breach", bs[0].ID) {
		t.Errorf("out of scope: %v; nonexistent: %v", err, none)
	}
	if e != nil && (strings.Contains(e.Message, bs[0].Agreement.ID) || strings.Contains(e.Message, "mail-sla")) {
		t.Errorf("the answer names Retail's agreement: %q", e.Message)
	}
}

// Issue 15, finding 11 (review): a token limited to monitoring changes only
// the outages that came from Alertmanager, not one its owner recorded by
// hand (the owner, signed in, still may).
func TestMonitoringTokenLeavesItsOwnersManualOutages(t *testing.T) {
	f := newFixture(t)
	f.scoped()
	owner := f.user("ops@it.contoso.example", access.RoleServiceLevelManager, access.ScopeGlobal, "")
	u, err := f.a.Identity.UserByEmail(f.ctx, access.System(), "ops@it.contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Identity.CreateGrant(f.ctx, access.System(), identity.CreateGrantInput{UserID: u.ID, Role: access.RoleMonitoring, ScopeKind: access.ScopeGlobal}); err != nil {
		t.Fatal(err)
	}
	nt, err := f.a.Identity.CreateToken(f.ctx, access.System(), identity.CreateTokenInput{UserID: u.ID, Name: "alertmanager",
		Roles: []access.Role{access.RoleMonitoring}, ExpiresAt: f.a.SLA.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	mon, err := f.a.Identity.TokenPrincipal(f.ctx, nt.Secret)
	if err != nil {
		t.Fatal(err)
	}
	manual, err := f.a.SLA.RecordOutage(f.ctx, owner, sla.OutageInput{Service: "email", Started: "2026-11-03T08:00:00Z", Ended: "2026-11-03T11:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	stretched := manual.Input()
	stretched.Ended = "2026-11-20T11:00:00Z"
	if _, err := f.a.SLA.UpdateOutage(f.ctx, mon, manual.ID, stretched); !forbidden(err) {
		t.Errorf("the monitoring token rewrote its owner's manual outage: %v", err)
	}
	if _, err := f.a.SLA.UpdateOutage(f.ctx, owner, manual.ID, stretched); err != nil {
		t.Errorf("the owner changing their own outage: %v", err)
	}
}
