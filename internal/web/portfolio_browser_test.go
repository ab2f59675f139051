package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/demo"
)

// TestBrowserPortfolioEditing is a portfolio manager's afternoon: she edits
// the service map of a service (a cycle is refused and named), puts a new
// offering with a plan in the catalog (a bad price is refused with nothing
// saved), then retires that plan in favour of a new one. (That a retired plan
// takes no orders is the catalog's own test.)
func TestBrowserPortfolioEditing(t *testing.T) {
	b := newBrowser(t, startPortal(t))
	b.login("petra@it.contoso.example", demo.Password)

	// The storage platform cannot depend on the private cloud, which runs on it.
	b.run(
		chromedp.Navigate(b.base+"/portfolio/storage"),
		chromedp.WaitVisible("#dep-to", chromedp.ByQuery),
		choose("#dep-to", "Private cloud virtual machines"),
		press(`form[action$="/dependencies"] button[type="submit"]`),
		waitText(".error", "cycle"),
	)
	b.run(
		choose("#dep-to", "Network"),
		press(`form[action$="/dependencies"] button[type="submit"]`),
		waitText(".flash", "Dependency added."),
		waitText(".deps", "Network"),
	)
	var drawn string
	b.run(chromedp.Evaluate(`document.querySelector("svg.map").textContent`, &drawn))
	if !strings.Contains(drawn, "Network") {
		t.Errorf("the drawn map lacks the new dependency: %q", drawn)
	}
	b.screenshot("service-dependencies")
	b.run(
		press(`button[aria-label="Remove the dependency on Network"]`),
		waitText(".flash", "Dependency removed."),
	)
	if got := b.text(".deps"); strings.Contains(got, "Network") {
		t.Errorf("the removed dependency is still listed: %q", got)
	}
	// The mobile devices service's FOCUS category (how FinOps tools group
	// its costs in the billing export), chosen on its edit form.
	b.run(
		chromedp.Navigate(b.base+"/portfolio/mobile-devices/edit"),
		chromedp.WaitVisible("#focus_category", chromedp.ByQuery),
		choose("#focus_category", "Mobile"),
		press(`form[action$="/edit"] button[type="submit"]`),
		waitText(".flash", "Saved."),
	)
	var category string
	b.run(chromedp.Evaluate(`[...document.querySelectorAll("dt")].find(d => d.textContent === "FOCUS service category").nextElementSibling.textContent`, &category))
	if category != "Mobile" {
		t.Errorf("the service's FOCUS category after saving: %q", category)
	}
	b.screenshot("service-focus-category")

	// A new offering of object storage; a price with too many decimals is refused.
	b.run(
		chromedp.Navigate(b.base+"/portfolio/object-storage"),
		press(`a[href="/portfolio/object-storage/offerings/new"]`),
		chromedp.WaitVisible("#code", chromedp.ByQuery),
		chromedp.SendKeys("#code", "archive", chromedp.ByQuery),
		chromedp.SendKeys("#name", "Archive bucket", chromedp.ByQuery),
		chromedp.SendKeys("#summary", "Cheap storage for what you keep for years.", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="plan.0.code"]`, "cold", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="plan.0.name"]`, "Cold", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="plan.0.currency"]`, "EUR", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="plan.0.recurring"]`, "1.2345", chromedp.ByQuery),
		press(`.offering-edit button[type="submit"]`),
		waitText(".error", "prices are decimals"),
	)
	b.screenshot("offering-edit")
	// The form comes back as typed, so fixing the price is enough.
	b.run(
		chromedp.SetValue(`input[name="plan.0.recurring"]`, "1.20", chromedp.ByQuery),
		press(`.offering-edit button[type="submit"]`),
		waitText(".flash", "Saved Archive bucket."),
		waitText(".plans", "1.20 EUR a month"),
	)

	// Retire Cold for Deep: the order form offers Deep only.
	b.run(
		press(`a[href="/catalog/archive/edit"]`),
		chromedp.WaitVisible(`input[name="plan.1.code"]`, chromedp.ByQuery),
		press(`input[name="plan.0.retired"]`),
		chromedp.SendKeys(`input[name="plan.1.code"]`, "deep", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="plan.1.name"]`, "Deep", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="plan.1.recurring"]`, "0.90", chromedp.ByQuery),
		press(`.offering-edit button[type="submit"]`),
		waitText(".flash", "Saved Archive bucket."),
		waitText(".plans", "0.90 EUR a month"),
		waitText(".plans", "retired: no new orders"),
	)
}
