package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/rating"
)

// TestBrowserYearlyPlan: issue 16, billing 3 (docs/billing.md, "Billing
// intervals"; docs/catalog.md, "Plans and prices"): a plan billed per
// year shows its fee per year on the offering's order form, never as a
// monthly price, and the cart and the order show the yearly fees beside
// the monthly ones.
func TestBrowserYearlyPlan(t *testing.T) {
	base, a := startApp(t)
	ctx := context.Background()
	if _, err := a.Rating.AddVersion(ctx, access.System(), "laptop/performance", rating.VersionInput{Components: []rating.Component{
		{Code: rating.BaseCode, Name: "Laptop support", Kind: rating.Flat, Price: "700.00", Interval: rating.Year, Timing: rating.Advance},
		{Code: "care", Name: "Care pack", Kind: rating.Flat, Price: "30.00", Interval: rating.Quarter}}}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, base)
	b.login("dana@contoso.example", demo.Password)
	b.run(chromedp.Navigate(b.base+"/catalog/laptop"), chromedp.WaitVisible(`input[name="plan"][value="performance"]`, chromedp.ByQuery))
	b.screenshot("offering-yearly")
	var label string
	b.run(chromedp.Text(`//label[contains(., 'Performance')]`, &label, chromedp.BySearch))
	if !strings.Contains(label, "700.00 EUR per year, in advance") || !strings.Contains(label, "Care pack: 30.00 per quarter") || strings.Contains(label, "a month") {
		t.Errorf("the performance plan reads %q", label)
	}
	b.run(
		chromedp.SetValue(`input[name="param.delivery_site"]`, "Leeds store", chromedp.ByQuery),
		press(`input[name="plan"][value="performance"]`),
		chromedp.SetValue("#quantity", "2", chromedp.ByQuery),
		press(`.order-form button[type="submit"]`),
		waitText("main", "Added Standard laptop to your cart"),
	)
	b.screenshot("cart-yearly")
	if y, q := b.text("tfoot .total-yearly"), b.text("tfoot .total-quarterly"); y != "1400.00" || q != "60.00" {
		t.Errorf("the cart's totals: %s a year, %s a quarter; want 1400.00 and 60.00", y, q)
	}
	b.run(press(`form[action="/cart/submit"] button`), chromedp.WaitVisible("h1 .chip", chromedp.ByQuery))
	b.screenshot("order-yearly")
	if y := b.text("tfoot .total-yearly"); y != "1400.00" {
		t.Errorf("the order's yearly total is %q, want 1400.00", y)
	}
}
