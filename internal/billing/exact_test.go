package billing_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TestYearlyFeeInAdvance: issue 16, billing 3: "The MOF sample charges
// $700 per desktop per year; plans can only bill monthly." A flat
// component bills per year in advance, prorated by the days of the year
// held (docs/billing.md, "Billing intervals"); an interval that is not
// month, quarter or year is refused by field.
func TestYearlyFeeInAdvance(t *testing.T) {
	f := newFixture(t) // today is 5 Dec 2026
	sys := access.System()
	if _, err := f.bill.SaveAccount(f.ctx, sys, billing.AccountInput{OrgUnit: "other", Mode: billing.Chargeback, Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	var v errs.Validator
	rating.Validate(&v, "components", "USD", []rating.Component{{Code: "d", Kind: rating.Flat, Price: "700.00", Interval: "week", Timing: "later"},
		{Code: "u", Kind: rating.PerUnit, Meter: "calls", Price: "1", Interval: rating.Year}}, nil)
	var fields []string
	if e := errs.As(v.Err("x")); e != nil {
		for _, fe := range e.Fields {
			fields = append(fields, fe.Field)
		}
	}
	if diff := cmp.Diff([]string{"components[0].interval", "components[0].timing", "components[1].interval"}, fields); diff != "" {
		t.Errorf("validation (-want +got):\n%s", diff)
	}
	f.plan("desktops", "USD", []rating.Component{{Code: "desk", Name: "Desktop support", Kind: rating.Flat, Price: "700.00", Interval: rating.Year, Timing: rating.Advance}})
	f.instance("desks", "other", [4]string{"desktops", "3", "2026-03-01T00:00:00Z", ""})
	f.run("2026-03")
	// 3 desktops × 700 × (1 Mar 2026 → 1 Jan 2027 = 306 of 365 days) = 1760.547… → 1760.55.
	mar := f.doc("other", "2026-03-01T00:00:00Z")
	if diff := cmp.Diff("recurring desk 1760.55", lines(mar)); diff != "" || mar.Lines[0].Unit != "unit-year" || mar.Lines[0].PeriodEnd != at("2027-01-01T00:00:00Z") {
		t.Errorf("March (-want +got):\n%s\n%+v", diff, mar.Lines[0])
	}
	f.run("2026-04")
	if apr := f.doc("other", "2026-04-01T00:00:00Z"); len(apr.Lines) != 0 {
		t.Errorf("April bills the year again: %s", lines(apr))
	}
}

// TestUsageSplitAtPlanChange: issue 16, billing 5: "Usage across plan
// changes is rated at the last segment's version; split by the hour at
// segment boundaries." An hour's usage is rated at the version in effect
// when the hour starts (docs/billing.md, "Instances over time").
func TestUsageSplitAtPlanChange(t *testing.T) {
	f := newFixture(t) // today is 5 Dec 2026: November has ended
	sys := access.System()
	if _, err := f.bill.SaveAccount(f.ctx, sys, billing.AccountInput{OrgUnit: "corp", Mode: billing.Chargeback, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	f.plan("bigger", "EUR", []rating.Component{{Code: "base", Name: "Monthly fee", Kind: rating.Flat, Price: "60.00"},
		{Code: "storage", Name: "Storage", Kind: rating.PerUnit, Meter: "storage", Price: "0.20"}})
	// Small (storage at 0.10) until 15 Nov 10:30, then bigger (0.20).
	a := f.instance("a", "corp", [4]string{"small", "1", "2026-11-01T00:00:00Z", "2026-11-15T10:30:00Z"}, [4]string{"bigger", "1", "2026-11-15T10:30:00Z", ""})
	f.events("storage", a, "2026-11-15T09:15:00Z", "10") // small's hour
	f.events("storage", a, "2026-11-15T10:45:00Z", "20") // the hour from 10:00 starts on small
	f.events("storage", a, "2026-11-15T11:05:00Z", "40") // bigger's hour
	f.run("2026-11")
	nov := f.doc("corp", "2026-11-01T00:00:00Z")
	// Small held 1 Nov → 15 Nov 10:30 = 346.5 of 720 hours; bigger 373.5.
	want := []string{
		"recurring base 14.44", // 30 × 346.5/720 = 14.4375
		"one_time setup 5.00",
		"recurring base 31.13", // 60 × 373.5/720 = 31.125, half away from zero
		"usage storage 3.00",   // (10 + 20) × 0.10, at small's version
		"minimum commit 1.81",  // 10 × 346.5/720 = 4.8125 → 4.81, less the 3.00 of usage
		"usage storage 8.00",   // 40 × 0.20, at bigger's version (all 70 at 0.20 was 14.00)
	}
	if !sameLines(lines(nov), joinLines(want)) || nov.Total != "63.38" { // 14.44 + 5 + 31.13 + 3 + 1.81 + 8
		t.Fatalf("November:\n%s\ntotal %s, want\n%s", lines(nov), nov.Total, joinLines(want))
	}
	for _, l := range nov.Lines {
		if l.Kind != billing.LineUsage {
			continue
		}
		wantFrom, wantTo := at("2026-11-01T00:00:00Z"), at("2026-11-15T11:00:00Z")
		if l.PriceVersionID == f.vers["bigger"] {
			wantFrom, wantTo = at("2026-11-15T11:00:00Z"), at("2026-12-01T00:00:00Z")
		}
		if l.PeriodStart != wantFrom || l.PeriodEnd != wantTo {
			t.Errorf("usage at %s covers %s to %s", l.PriceVersionID, l.PeriodStart, l.PeriodEnd)
		}
	}
	// Late usage in bigger's hours after finalising bills the difference at
	// bigger's version only: 5 × 0.20 = 1.00.
	if _, err := f.bill.Finalise(f.ctx, sys, nov.ID); err != nil {
		t.Fatal(err)
	}
	f.events("storage", a, "2026-11-20T08:00:00Z", "5")
	f.run("2026-12")
	var late []string
	for _, l := range f.doc("corp", "2026-12-01T00:00:00Z").Lines {
		if l.Kind == billing.LineLateUsage {
			late = append(late, l.Quantity+" "+l.Amount)
		}
	}
	if diff := cmp.Diff([]string{"5.000000 1.00"}, late); diff != "" {
		t.Errorf("late usage (-want +got):\n%s", diff)
	}
}

// TestCostsToDate: issue 16, billing 4: "A draft for the month in
// progress bills fees to the month's end; costs to date should show what
// is incurred so far, with the month-end projection shown separately."
func TestCostsToDate(t *testing.T) {
	f := newFixture(t)
	f.now = at("2026-12-11T00:00:00Z") // 10 of December's 31 days
	sys := access.System()
	if _, err := f.bill.SaveAccount(f.ctx, sys, billing.AccountInput{OrgUnit: "corp", Mode: billing.Chargeback, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	f.instance("a", "corp", [4]string{"large", "1", "2026-11-01T00:00:00Z", ""})
	b := f.instance("b", "corp", [4]string{"small", "1", "2026-12-01T00:00:00Z", ""})
	f.events("storage", b, "2026-12-03T10:00:00Z", "100")
	f.run("2026-12")
	dec := f.doc("corp", "2026-12-01T00:00:00Z")
	// Projection: 90 + 30 + 5 setup + 100 × 0.10 = 135.00 (the minimum of
	// 10.00 is met by the 10.00 of usage).
	// To date: 90 × 10/31 = 29.032… → 29.03; 30 × 10/31 = 9.677… → 9.68;
	// setup 5.00; usage so far 10.00; the minimum to date (10 × 10/31 =
	// 3.23) is met: 29.03 + 9.68 + 5 + 10 = 53.71.
	if dec.Total != "135.00" || dec.CostsToDate != "53.71" || dec.AsOf == nil || !dec.AsOf.Equal(f.now) {
		t.Fatalf("December: projection %s, to date %s as of %v", dec.Total, dec.CostsToDate, dec.AsOf)
	}
	c, err := f.bill.Costs(f.ctx, sys, at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))
	if err != nil || len(c.Months) != 1 || c.Months[0].Total != "135.00" || c.Months[0].ToDate != "53.71" {
		t.Fatalf("costs: %+v, %v", c, err)
	}
	// A credit added by hand counts whole in both: 53.71 − 3.71 = 50.00 to
	// date, 135.00 − 3.71 = 131.29 projected.
	if dec, err = f.bill.AddLine(f.ctx, sys, dec.ID, billing.LineInput{Kind: billing.LineCredit, Description: "Goodwill", Amount: "3.71"}); err != nil ||
		dec.Total != "131.29" || dec.CostsToDate != "50.00" {
		t.Fatalf("December with a credit: projection %s, to date %s, %v", dec.Total, dec.CostsToDate, err)
	}
	f.run("2026-12") // a re-run keeps it so
	if dec = f.doc("corp", "2026-12-01T00:00:00Z"); dec.Total != "131.29" || dec.CostsToDate != "50.00" {
		t.Fatalf("December re-run: projection %s, to date %s", dec.Total, dec.CostsToDate)
	}
	// Once the month has ended, the document is to date: no projection.
	f.now = at("2027-01-02T00:00:00Z")
	f.run("2026-12")
	if dec = f.doc("corp", "2026-12-01T00:00:00Z"); dec.Total != "131.29" || dec.CostsToDate != "" || dec.AsOf != nil {
		t.Fatalf("December after its end: %s, to date %q", dec.Total, dec.CostsToDate)
	}
	if c, _ = f.bill.Costs(f.ctx, sys, at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z")); c.Months[0].ToDate != "131.29" {
		t.Errorf("costs to date of an ended month: %+v", c.Months[0])
	}
}

func joinLines(ls []string) string {
	out := ""
	for i, l := range ls {
		if i > 0 {
			out += "\n"
		}
		out += l
	}
	return out
}

// TestUsageSplitAtCostCentreChange: issue 16, billing 5, the same rule
// across accounts: an instance charged to another cost centre mid-month
// (same price version) has each hour's usage billed once, to the account
// charged when the hour starts; before, both accounts billed all of it.
func TestUsageSplitAtCostCentreChange(t *testing.T) {
	f := newFixture(t)
	sys := access.System()
	for _, u := range []string{"corp", "other"} {
		if _, err := f.bill.SaveAccount(f.ctx, sys, billing.AccountInput{OrgUnit: u, Mode: billing.Chargeback, Currency: "EUR"}); err != nil {
			t.Fatal(err)
		}
	}
	a := f.instance("a", "corp", [4]string{"small", "1", "2026-11-01T00:00:00Z", ""})
	// From 16 Nov 00:00 it is charged to other, at the same version.
	f.exec(`UPDATE instance_segments SET ended_at = $1 WHERE instance_id = $2`, at("2026-11-16T00:00:00Z"), a)
	f.exec(`INSERT INTO instance_segments (instance_id, seq, plan_id, price_version_id, quantity, cost_centre_id, addons, started_at, ended_at)
		VALUES ($1, 2, $2, $3, 1, $4, '[]', $5, NULL)`, a, f.plans["small"], f.vers["small"], f.units["other"], at("2026-11-16T00:00:00Z"))
	f.events("storage", a, "2026-11-10T10:00:00Z", "100") // corp's: 100 × 0.10 = 10.00
	f.events("storage", a, "2026-11-20T10:00:00Z", "50")  // other's: 50 × 0.10 = 5.00
	f.run("2026-11")
	usage := func(unit string) []string {
		var out []string
		for _, l := range f.doc(unit, "2026-11-01T00:00:00Z").Lines {
			if l.Kind == billing.LineUsage {
				out = append(out, l.Quantity+" "+l.Amount)
			}
		}
		return out
	}
	if diff := cmp.Diff([]string{"100 10.00"}, usage("corp")); diff != "" {
		t.Errorf("corp's usage (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"50 5.00"}, usage("other")); diff != "" {
		t.Errorf("other's usage (-want +got):\n%s", diff)
	}
}

// TestCatalogKeepsTheInterval: issue 16, billing 3: a plan's base fee may
// bill per year; saving the catalog (which says the fee, not its
// interval) keeps the interval, and a fee unchanged writes no version
// (docs/billing.md, "Billing intervals").
func TestCatalogKeepsTheInterval(t *testing.T) {
	f := newFixture(t)
	f.plan("desktops", "USD", []rating.Component{{Code: "base", Name: "Desktop support", Kind: rating.Flat, Price: "700.00", Interval: rating.Year, Timing: rating.Advance}})
	sync := func(price string) *rating.Version {
		t.Helper()
		var v *rating.Version
		if err := f.db.Tx(f.ctx, func(tx *sqldb.Tx) error {
			rec, _ := money.Parse(price, "USD")
			if err := rating.SyncCatalog(f.ctx, tx, access.System(), f.plans["desktops"], "USD", rec, money.New(0, "USD"), nil, f.now); err != nil {
				return err
			}
			var err error
			v, err = rating.Current(f.ctx, tx, f.plans["desktops"], f.now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := sync("700.00"); v.Version != 1 {
		t.Errorf("an unchanged fee wrote version %d", v.Version)
	}
	v := sync("750.00")
	base := v.Component(rating.BaseCode)
	if v.Version != 2 || base == nil || base.Price != "750.00" || base.Interval != rating.Year || base.Timing != rating.Advance {
		t.Errorf("version %d, base %+v", v.Version, base)
	}
	if rec, _ := v.ListPrice(); rec.Decimal() != "750.00" {
		t.Errorf("list price %s, want the yearly fee", rec.Decimal())
	}
}
