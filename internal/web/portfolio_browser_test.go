package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/portfolio"
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

// TestBrowserServiceCalendarUnchangedSave opens the edit form of a service
// whose calendar has every kind of holiday (once, every year, the nth
// weekday of a month, observed on the closest weekday), a season on the
// closest weekdays, a season once and maintenance windows, and saves it
// unchanged: the portfolio file exported before and after is the same.
// docs/catalog.md: a service has "a service-hours calendar (IANA time
// zone, weekly hours in local time, holidays, seasons with their own hours
// and RFC 5545 maintenance windows ...). Agreements carry calendars of the
// same shape"; docs/service-levels.md, "Service hours": a holiday is a
// date once or every year or a yearly rule, closest_weekday on holidays
// and seasons (issue 16, service levels 5, follow-up: the service form
// lost rule holidays and the closest-weekday flags).
func TestBrowserServiceCalendarUnchangedSave(t *testing.T) {
	base, a := startApp(t)
	ctx := context.Background()
	s, err := a.Catalog.Service(ctx, access.System(), "desktop")
	if err != nil {
		t.Fatal(err)
	}
	in := s.Input()
	in.Calendar = &catalog.Calendar{TimeZone: "America/New_York",
		Weekly: append(catalog.Weekly(catalog.Weekdays[:5], "08:00", "18:00"), catalog.Hours{Day: "saturday", Start: "09:00", End: "13:00"}),
		Holidays: []catalog.Holiday{
			{Date: "2026-12-28", Name: "Boxing Day (substitute)"},
			{Date: "2027-07-04", Name: "Independence Day", ClosestWeekday: true},
			{Date: "01-01", Name: "New Year's Day"},
			{Date: "12-25", Name: "Christmas Day", ClosestWeekday: true},
			{Rule: "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", Name: "Thanksgiving Day"},
			{Rule: "FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO", Name: "Memorial Day"},
		},
		Seasons: []catalog.Season{
			{Name: "Tax season", From: "04-07", To: "04-21", ClosestWeekday: true,
				Weekly: append(catalog.Weekly(catalog.Weekdays[:5], "07:00", "19:00"), catalog.Hours{Day: "saturday", Start: "09:00", End: "14:00"})},
			{Name: "Year-end freeze", From: "2026-12-21", To: "2027-01-04", Weekly: catalog.Weekly(catalog.Weekdays[:5], "10:00", "16:00")},
		},
		Maintenance: []catalog.Maintenance{
			{Name: "Patch Sunday", Rule: "FREQ=MONTHLY;BYDAY=1SU", Start: "02:00", End: "06:00", NoticeDays: 7},
			{Name: "Quarterly failover test", Rule: "FREQ=MONTHLY;INTERVAL=3;BYDAY=3SA", Start: "22:00", End: "24:00", NoticeDays: 14},
		},
	}
	if _, err := a.Catalog.UpdateService(ctx, access.System(), s.ID, in); err != nil {
		t.Fatal(err)
	}
	services := portfolio.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders}
	before, err := portfolio.Export(ctx, services, access.System())
	if err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, base)
	b.login("petra@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/portfolio/desktop/edit"),
		chromedp.WaitVisible("#holidays", chromedp.ByQuery),
	)
	b.screenshot("service-calendar-edit")
	b.submit(`form[action$="/edit"] button[type="submit"]`, "Saved.")
	// The service's page says the calendar in words.
	hours := b.text("main")
	for _, want := range []string{"Thanksgiving Day (the fourth Thursday of November every year)", "Christmas Day (25 December every year, or the closest weekday)",
		"Boxing Day (substitute) (28 December 2026)", "Tax season (04-07 to 04-21, the closest weekdays)", "Patch Sunday, FREQ=MONTHLY;BYDAY=1SU 02:00–06:00"} {
		if !strings.Contains(hours, want) {
			t.Errorf("the service's page lacks %q", want)
		}
	}
	b.screenshot("service-calendar-saved")
	after, err := portfolio.Export(ctx, services, access.System())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(before), string(after)); diff != "" {
		t.Errorf("the portfolio after an unchanged save of the service form (-before +after):\n%s", diff)
	}
}

// submit presses a form's button and waits for the page the post leads
// to, with its flash. A refused form fails the test at once with the
// page's error, rather than leave it waiting for a flash that never comes.
func (b *browser) submit(sel, flash string) {
	b.t.Helper()
	// The page the post leads to is a new document, without the mark.
	b.run(chromedp.Evaluate(`window.stewardPosted = true`, nil), press(sel),
		until(`!window.stewardPosted && !!document.querySelector(".flash, .error")`, "the page after posting "+sel))
	var refused, shown string
	b.run(chromedp.Evaluate(`document.querySelector(".error")?.innerText ?? ""`, &refused),
		chromedp.Evaluate(`document.querySelector(".flash")?.innerText ?? ""`, &shown))
	if refused != "" {
		b.t.Fatalf("posting %s was refused: %s", sel, refused)
	}
	if !strings.Contains(shown, flash) {
		b.t.Fatalf("after posting %s the page says %q, want %q", sel, shown, flash)
	}
}
