package sla_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
)

func mailSLA(code, rule string) sla.AgreementInput {
	return sla.AgreementInput{Code: code, Name: "Mail", Kind: sla.SLA, State: sla.Active, Provider: "IT", Customer: "Retail", Currency: "EUR",
		EffectiveFrom: "2026-01-01", Services: []string{"email"}, OrgUnits: []string{"RETAIL"},
		Calendar: catalog.Calendar{TimeZone: "UTC", Weekly: allWeek(),
			Maintenance: []catalog.Maintenance{{Name: "Patch", Rule: rule, Start: "02:00", End: "04:00", NoticeDays: 1}}},
		Targets: []sla.Target{{Code: "availability", Kind: sla.Availability, Objective: "99.9", Window: sla.Window{Kind: sla.Month}}}}
}

// Issue 15, finding 1: an agreement whose maintenance rule recurs every
// second is refused when saved, naming the rule's field and the limit.
func TestUnboundedMaintenanceRuleRefused(t *testing.T) {
	f := newFixture(t)
	_, _, err := f.a.SLA.SaveAgreement(f.ctx, f.as("lena@it.contoso.example"), mailSLA("mail-sla", "FREQ=SECONDLY"))
	e := errs.As(err)
	if e == nil || e.Code != errs.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "calendar.maintenance[0].rule" ||
		!strings.Contains(e.Fields[0].Message, "once a day") {
		t.Fatalf("FREQ=SECONDLY saved: %v", err)
	}
	if _, err := f.a.SLA.Agreement(f.ctx, access.System(), "mail-sla"); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("a refused agreement left something behind: %v", err)
	}
}

// Issue 15, finding 1: a rule stored before rules were checked (written
// here straight into the table) does not crash-loop the scheduled pass:
// the pass leaves that agreement unmeasured and says why, measures the
// others, and the pages that measure on reading (burn, review, dashboard)
// do not expand it either. FREQ=MINUTELY keeps the test small should the
// rule be expanded after all (tens of thousands of occurrences a month,
// not the 2.6 million of FREQ=SECONDLY).
func TestStoredUnboundedRuleNotExpanded(t *testing.T) {
	f := newFixture(t)
	slm := f.as("lena@it.contoso.example")
	for _, code := range []string{"mail-sla", "mail-sla-2"} {
		if _, _, err := f.a.SLA.SaveAgreement(f.ctx, slm, mailSLA(code, "FREQ=DAILY")); err != nil {
			t.Fatal(err)
		}
	}
	bad := mailSLA("mail-sla", "FREQ=MINUTELY").Calendar
	cal, _ := json.Marshal(bad)
	if err := f.a.DB.Tx(f.ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(f.ctx, `UPDATE agreements SET calendar = $1 WHERE code = 'mail-sla'`, string(cal))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	f.outage(sla.OutageInput{Service: "email", Started: "2026-11-03T02:00:00Z", Ended: "2026-11-03T03:00:00Z", Planned: true,
		AnnouncedAt: "2026-10-01T00:00:00Z"})
	p := f.evaluate()
	if len(p.Unmeasured) != 1 || p.Unmeasured[0].Agreement != "mail-sla" || !strings.Contains(p.Unmeasured[0].Reason, "once a day") {
		t.Fatalf("pass %+v: want mail-sla unmeasured, with the reason", p)
	}
	if p.Targets != 1 {
		t.Errorf("pass measured %d targets, want mail-sla-2's one", p.Targets)
	}
	// Again, as the scheduled pass after a restart would.
	if p := f.evaluate(); len(p.Unmeasured) != 1 {
		t.Errorf("second pass %+v", p)
	}
	if _, err := f.a.SLA.Burn(f.ctx, slm, "mail-sla", "availability"); err != nil {
		t.Errorf("burn: %v", err)
	}
	if _, err := f.a.SLA.Review(f.ctx, slm, "mail-sla", sla.ReviewPeriod{From: "2026-01-01T00:00:00Z", To: "2026-11-01T00:00:00Z"}); err != nil {
		t.Errorf("review: %v", err)
	}
	if _, err := f.a.SLA.ListAgreements(f.ctx, slm, sla.AgreementFilter{}); err != nil {
		t.Errorf("agreements: %v", err)
	}
}
