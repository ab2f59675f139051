package sla_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/notify"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// atRiskEvents are the sla.at_risk events emitted so far, oldest first.
func (f *fixture) atRiskEvents() []map[string]any {
	f.t.Helper()
	rows, err := sqldb.QueryAll(f.ctx, f.a.DB.Read(), "outbox events", func(row sqldb.Scanner) (map[string]any, error) {
		var data string
		if err := row.Scan(&data); err != nil {
			return nil, err
		}
		var m map[string]any
		return m, json.Unmarshal([]byte(data), &m)
	}, `SELECT data_json FROM outbox_events WHERE type = 'sla.at_risk' ORDER BY seq`)
	if err != nil {
		f.t.Fatal(err)
	}
	return rows
}

// TestAtRiskToldOncePerWindow: a target whose current window turns at
// risk is told so once, in the pass that finds it (issue 19): not again at
// the next pass, nor when a correction takes it out of risk and back in the
// same window (a rolling window: the same month); a target breached at
// once is told it is breached, never at risk; a new window is told afresh.
// Those told are the people told of breaches: the service level manager,
// the service's owner and the relationship manager of the org unit, not
// its financial manager or consumers.
func TestAtRiskToldOncePerWindow(t *testing.T) {
	f := newFixture(t)
	slm := f.as("lena@it.contoso.example")
	month := sla.Window{Kind: sla.Month}
	in := sla.AgreementInput{Code: "storage-levels", Name: "Storage for Retail", Kind: sla.SLA, State: sla.Active, Provider: "Contoso IT",
		Customer: "Retail", Currency: "EUR", EffectiveFrom: "2026-01-01", Services: []string{"desktop"}, OrgUnits: []string{"RETAIL"},
		Calendar: catalog.Calendar{TimeZone: "UTC", Weekly: allWeek()},
		// November has 720 hours: 0.1 % of them is 43.2 minutes, 0.01 % 4.32.
		Targets: []sla.Target{
			{Code: "availability", Kind: sla.Availability, Objective: "99.9", Window: month},
			{Code: "rolling", Kind: sla.Availability, Objective: "99.9", Window: sla.Window{Kind: sla.RollingDays, N: 30}},
			{Code: "strict", Kind: sla.Availability, Objective: "99.99", Window: month},
		}}
	if _, _, err := f.a.SLA.SaveAgreement(f.ctx, slm, in); err != nil {
		t.Fatal(err)
	}
	told := func(want ...string) {
		t.Helper()
		var got []string
		for _, e := range f.atRiskEvents() {
			got = append(got, e["target"].(string)+" "+e["window"].(string))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("sla.at_risk events (-want +got):\n%s", diff)
		}
	}
	const nov = "2026-11-01T00:00:00Z/2026-12-01T00:00:00Z"
	rollingNov := "rolling 2026-10-21T20:00:00Z/2026-11-20T20:00:00Z"

	// 20 minutes down: 46 % of the budget, met; the strict target is
	// breached at once, and is not told it is at risk.
	f.outage(sla.OutageInput{Service: "desktop", Started: "2026-11-10T10:00:00Z", Ended: "2026-11-10T10:20:00Z", Summary: "Logon failing"})
	f.evaluate()
	told()
	// 35 minutes: 81 % of the budget, at risk (from 75 %).
	second := f.outage(sla.OutageInput{Service: "desktop", Started: "2026-11-12T10:00:00Z", Ended: "2026-11-12T10:15:00Z", Summary: "Logon failing again"})
	if p := f.evaluate(); p.Notices != 2 {
		t.Errorf("the pass raised %d notices, want 2 (the two targets turned at risk)", p.Notices)
	}
	told("availability "+nov, rollingNov)
	got := f.atRiskEvents()[0]
	want := map[string]any{"agreement": "Storage for Retail", "target": "availability", "window": nov, "achieved": "99.877",
		"objective": "99.9 % availability, calendar month", "budget_used": "81.019", "at_risk_percent": float64(75)}
	delete(got, "agreement_id")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event data (-want +got):\n%s", diff)
	}
	// The next pass finds it still at risk, and tells nobody again.
	f.evaluate()
	told("availability "+nov, rollingNov)
	// Corrected to 25 minutes (met), then back to 35 (at risk): the same
	// window, already told.
	oin := second.Input()
	for _, c := range []struct {
		end  string
		want sla.Status
	}{{"2026-11-12T10:05:00Z", sla.Met}, {"2026-11-12T10:15:00Z", sla.AtRisk}} {
		oin.Ended = c.end
		if _, err := f.a.SLA.UpdateOutage(f.ctx, f.as("alex@it.contoso.example"), second.ID, oin); err != nil {
			t.Fatal(err)
		}
		f.evaluate()
		for _, code := range []string{"availability", "rolling"} {
			if st := target(mustCompliance(t, f, "storage-levels"), code).Current.Status; st != c.want {
				t.Fatalf("%s is %s with the outage ending at %s, want %s", code, st, c.end, c.want)
			}
		}
	}
	told("availability "+nov, rollingNov)
	if st := target(mustCompliance(t, f, "storage-levels"), "strict").Current.Status; st != sla.Breached {
		t.Errorf("the strict target is %s, want breached", st)
	}

	// A window breached, then corrected to met (the breach withdrawn) and
	// to at risk, was told it is breached: it is not told it is at risk.
	bucket := in
	bucket.Code, bucket.Name, bucket.Services = "bucket-levels", "Buckets for Retail", []string{"object-storage"}
	bucket.Targets = []sla.Target{{Code: "uptime", Kind: sla.Availability, Objective: "99.9", Window: month}}
	if _, _, err := f.a.SLA.SaveAgreement(f.ctx, slm, bucket); err != nil {
		t.Fatal(err)
	}
	o := f.outage(sla.OutageInput{Service: "object-storage", Started: "2026-11-05T10:00:00Z", Ended: "2026-11-05T10:50:00Z", Summary: "Gateway down"})
	f.evaluate()
	oin = o.Input()
	for _, end := range []string{"2026-11-05T10:20:00Z", "2026-11-05T10:35:00Z"} {
		oin.Ended = end
		if _, err := f.a.SLA.UpdateOutage(f.ctx, f.as("alex@it.contoso.example"), o.ID, oin); err != nil {
			t.Fatal(err)
		}
		f.evaluate()
	}
	c := mustCompliance(t, f, "bucket-levels")
	if st := target(c, "uptime").Current.Status; st != sla.AtRisk || len(c.Breaches) != 1 || c.Breaches[0].State != "withdrawn" {
		t.Fatalf("the bucket's uptime is %s with breaches %+v, want at risk and one withdrawn", st, c.Breaches)
	}
	told("availability "+nov, rollingNov)

	// The people told of breaches are told, in their inbox.
	for {
		n, err := f.a.Outbox.Once(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	for email, want := range map[string]int{"lena@it.contoso.example": 2, "omar@it.contoso.example": 2, "rita@it.contoso.example": 2,
		"felix@it.contoso.example": 0, "dana@contoso.example": 0, "sam@it.contoso.example": 0} {
		page, err := f.a.Notify.List(f.ctx, f.as(email), notify.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, x := range page.Items {
			if x.Kind == "sla.at_risk" {
				n++
				if x.Link != "/sla/agreements/storage-levels" || x.Title != "Storage for Retail is at risk of missing 99.9 % availability, calendar month" &&
					x.Title != "Storage for Retail is at risk of missing 99.9 % availability, rolling 30 days" {
					t.Errorf("%s was told %q, linking to %s", email, x.Title, x.Link)
				}
			}
		}
		if n != want {
			t.Errorf("%s was told %d times the targets are at risk, want %d", email, n, want)
		}
	}

	// December is a new window: 35 minutes down in it is told afresh. (The
	// rolling window, now holding 50 minutes, is breached.)
	f.now = at("2026-12-10T12:00:00Z")
	f.outage(sla.OutageInput{Service: "desktop", Started: "2026-12-03T10:00:00Z", Ended: "2026-12-03T10:35:00Z", Summary: "Logon failing in December"})
	f.evaluate()
	f.evaluate()
	told("availability "+nov, rollingNov, "availability 2026-12-01T00:00:00Z/2027-01-01T00:00:00Z")
	if st := target(mustCompliance(t, f, "storage-levels"), "rolling").Current.Status; st != sla.Breached {
		t.Errorf("the rolling window is %s, want breached", st)
	}
}
