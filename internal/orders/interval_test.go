package orders_test

import (
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/rating"
)

// TestQuarterlyAndYearlyFees: issue 16, billing 3 (docs/billing.md,
// "Billing intervals"): a plan may bill per quarter or per year. An
// order's and an item's quote show those fees beside the monthly ones
// (monthly_minor counts only fees billed monthly), in the cart, after
// submit and in a quote; and approval policies compare monthly
// equivalents (docs/catalog.md, "Orders": a yearly fee counts a twelfth
// of itself toward a monthly threshold, a quarterly fee a third, rounded
// up to the minor unit), so a yearly plan is not waved through a monthly
// threshold it is over.
func TestQuarterlyAndYearlyFees(t *testing.T) {
	f := newFixture(t)
	yearly := func(code, price string) catalog.PlanInput {
		return catalog.PlanInput{Code: code, Name: code, Currency: "EUR", Prices: []rating.Component{
			{Code: "desktop", Name: "Desktop support", Kind: rating.Flat, Price: price, Interval: rating.Year, Timing: rating.Advance}}}
	}
	annual := catalog.PlanInput{Code: "annual", Name: "Annual", Currency: "EUR", Recurring: "5.00", Prices: []rating.Component{
		{Code: "desktop", Name: "Desktop support", Kind: rating.Flat, Price: "700.00", Interval: rating.Year, Timing: rating.Advance},
		{Code: "care", Name: "Care pack", Kind: rating.Flat, Price: "30.00", Interval: rating.Quarter}}}
	_, err := f.cat.CreateOffering(f.ctx, f.pm, catalog.OfferingInput{Code: "desktops", ServiceID: f.service.ID, Name: "Desktops",
		Plans: []catalog.PlanInput{annual, yearly("at", "12000.00"), yearly("over", "12000.01")}})
	must(t, err)

	// 2 desktops: 2 × 5.00 a month, 2 × 30.00 a quarter, 2 × 700.00 a year.
	want := orders.Quote{Currency: "EUR", Monthly: "10.00", Quarterly: "60.00", Yearly: "1400.00", OneTime: "0.00",
		MonthlyMinor: 1000, QuarterlyMinor: 6000, YearlyMinor: 140000}
	item := orders.ItemInput{Offering: "desktops", Plan: "annual", Quantity: 2}
	cart, err := f.ord.CreateOrder(f.ctx, f.dana, orders.OrderInput{Items: []orders.ItemInput{item}})
	must(t, err)
	if cart.Quote != want || cart.Items[0].Quote != want {
		t.Errorf("cart: order %+v, item %+v; want %+v", cart.Quote, cart.Items[0].Quote, want)
	}
	q, err := f.ord.QuoteItems(f.ctx, f.dana, []orders.ItemInput{item})
	must(t, err)
	if q.Total != want || q.Lines[0].Quote != want {
		t.Errorf("quote: %+v, line %+v; want %+v", q.Total, q.Lines[0].Quote, want)
	}
	// 10.00 + 60.00/3 + 1400.00/12 = 10 + 20 + 116.666… = 146.67 a month, rounded up.
	if got := want.MonthlyEquivalentMinor(); got != 14667 {
		t.Errorf("monthly equivalent = %d, want 14667", got)
	}

	// A policy over 1000.00 a month: 12000.00 a year is 1000.00 a month,
	// not over; 12000.01 a year is 1000.0008… a month, over.
	f.policy("over 1000 a month", "order.total_monthly_minor > 100000", 1, orders.ApproverRole, access.RoleApprover)
	f.policy("yearly fees are seen", "item.yearly_minor > 0 && order.total_yearly_minor == item.yearly_minor && item.quarterly_minor == 0", 2, orders.ApproverRole, access.RoleFinancialManager)
	for _, c := range []struct {
		plan      string
		approvals int
	}{{"at", 1}, {"over", 2}} {
		o, err := f.ord.CreateOrder(f.ctx, f.dana, orders.OrderInput{Items: []orders.ItemInput{{Offering: "desktops", Plan: c.plan, Parameters: map[string]any{}}}})
		must(t, err)
		o, err = f.ord.Submit(f.ctx, f.dana, o.ID)
		must(t, err)
		as, err := f.ord.Approvals(f.ctx, f.dana, o.ID)
		must(t, err)
		if len(as) != c.approvals || o.Quote.MonthlyMinor != 0 || o.Quote.YearlyMinor == 0 || o.Items[0].Quote.Yearly != o.Quote.Yearly {
			t.Errorf("plan %s: %d approvals (want %d), quote %+v", c.plan, len(as), c.approvals, o.Quote)
		}
	}
	// Submitted, the order still says what it bills per quarter and year.
	o, err := f.ord.Submit(f.ctx, f.dana, cart.ID)
	must(t, err)
	if o.Quote != want {
		t.Errorf("submitted: %+v, want %+v", o.Quote, want)
	}
}
