package catalog_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestPlanPricesRoundTrip: docs/catalog.md, "Plans and prices": a plan's
// recurring and one_time prices are its base and setup fees; every other
// component is among its prices. Reading an offering and saving it again
// (o.Input()) must write no new price version: a monthly flat component
// of the prices counted in the recurring price too would become part of
// the base fee and be billed twice (issue 16, catalog follow-up).
func TestPlanPricesRoundTrip(t *testing.T) {
	c, ctx := setup(t)
	sys := access.System()
	s, err := c.CreateService(ctx, sys, catalog.ServiceInput{Code: "desktops", Name: "Desktops", Kind: catalog.KindBusiness})
	if err != nil {
		t.Fatal(err)
	}
	prices := []rating.Component{
		{Code: "desk", Name: "Desk phone", Kind: rating.Flat, Price: "5.00"},
		{Code: "care", Name: "Care pack", Kind: rating.Flat, Price: "30.00", Interval: rating.Quarter},
		{Code: "install", Name: "Installation", Kind: rating.OneTime, Price: "15.00"},
	}
	o, err := c.CreateOffering(ctx, sys, catalog.OfferingInput{Code: "desktop", ServiceID: s.ID, Name: "Desktop",
		Plans: []catalog.PlanInput{{Code: "std", Name: "Standard", Currency: "USD", Recurring: "10.00", OneTime: "20.00", Prices: prices}}})
	if err != nil {
		t.Fatal(err)
	}
	pl := o.Plan("std")
	if pl.Recurring.Decimal() != "10.00" || pl.OneTime.Decimal() != "20.00" || pl.PriceVersion != 1 {
		t.Errorf("read back: recurring %s, one_time %s, version %d; want the base 10.00 and setup 20.00 of version 1",
			pl.Recurring.Decimal(), pl.OneTime.Decimal(), pl.PriceVersion)
	}
	for range 2 {
		if o, err = c.UpdateOffering(ctx, sys, o.ID, o.Input()); err != nil {
			t.Fatal(err)
		}
	}
	pl = o.Plan("std")
	if pl.PriceVersion != 1 || pl.Recurring.Decimal() != "10.00" || pl.OneTime.Decimal() != "20.00" {
		t.Errorf("saved twice unchanged: version %d, recurring %s, one_time %s; want version 1, 10.00, 20.00",
			pl.PriceVersion, pl.Recurring.Decimal(), pl.OneTime.Decimal())
	}
	if diff := cmp.Diff(prices, pl.Prices); diff != "" {
		t.Errorf("prices (-want +got):\n%s", diff)
	}
}

// TestPlanRecurringInterval: docs/billing.md, "Billing intervals": a
// plan's base fee may bill per quarter or year; the catalog says so
// (recurring_interval, and recurring_timing when the version sets one),
// so that a yearly fee is never read as a monthly one (issue 16, catalog
// follow-up).
func TestPlanRecurringInterval(t *testing.T) {
	db := sqldbtest.Open(t)
	now := func() time.Time { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) }
	c, ctx := catalog.New(db, now), context.Background()
	sys := access.System()
	s, err := c.CreateService(ctx, sys, catalog.ServiceInput{Code: "desktops", Name: "Desktops", Kind: catalog.KindBusiness})
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.CreateOffering(ctx, sys, catalog.OfferingInput{Code: "desktop", ServiceID: s.ID, Name: "Desktop",
		Plans: []catalog.PlanInput{{Code: "std", Name: "Standard", Currency: "USD", Recurring: "10.00"}}})
	if err != nil {
		t.Fatal(err)
	}
	plan := func(o *catalog.Offering) map[string]any {
		t.Helper()
		b, _ := json.Marshal(o.Plan("std"))
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	if m := plan(o); m["recurring"] != "10.00" || m["recurring_interval"] != "month" || m["recurring_timing"] != nil {
		t.Errorf("a monthly base fee: %v per %v, timing %v; want 10.00 per month, no timing", m["recurring"], m["recurring_interval"], m["recurring_timing"])
	}
	if _, err := rating.New(db, now).AddVersion(ctx, sys, "desktop/std", rating.VersionInput{Components: []rating.Component{
		{Code: rating.BaseCode, Name: "Desktop support", Kind: rating.Flat, Price: "700.00", Interval: rating.Year, Timing: rating.Advance}}}); err != nil {
		t.Fatal(err)
	}
	if o, err = c.Offering(ctx, sys, "desktop"); err != nil {
		t.Fatal(err)
	}
	if m := plan(o); m["recurring"] != "700.00" || m["recurring_interval"] != "year" || m["recurring_timing"] != "advance" {
		t.Errorf("a yearly base fee: %v per %v, timing %v; want 700.00 per year, in advance", m["recurring"], m["recurring_interval"], m["recurring_timing"])
	}
}
