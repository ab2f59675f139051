package web_test

import (
	"context"
	"fmt"
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
		loaded("#dep-to"),
		choose("#dep-to", "Private cloud virtual machines"),
	)
	b.refused(`form[action$="/dependencies"] button[type="submit"]`, "cycle")
	b.run(choose("#dep-to", "Network"))
	b.submit(`form[action$="/dependencies"] button[type="submit"]`, "Dependency added.")
	b.run(waitText(".deps", "Network"))
	var drawn string
	b.run(chromedp.Evaluate(`document.querySelector("svg.map").textContent`, &drawn))
	if !strings.Contains(drawn, "Network") {
		t.Errorf("the drawn map lacks the new dependency: %q", drawn)
	}
	b.screenshot("service-dependencies")
	b.submit(`button[aria-label="Remove the dependency on Network"]`, "Dependency removed.")
	if got := b.text(".deps"); strings.Contains(got, "Network") {
		t.Errorf("the removed dependency is still listed: %q", got)
	}
	// The mobile devices service's FOCUS category (how FinOps tools group
	// its costs in the billing export), chosen on its edit form.
	b.run(
		chromedp.Navigate(b.base+"/portfolio/mobile-devices/edit"),
		loaded("#focus_category"),
		choose("#focus_category", "Mobile"),
	)
	b.submit(`form[action$="/edit"] button[type="submit"]`, "Saved.")
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
		loaded("#code"),
		chromedp.SendKeys("#code", "archive", chromedp.ByQuery),
		chromedp.SendKeys("#name", "Archive bucket", chromedp.ByQuery),
		chromedp.SendKeys("#summary", "Cheap storage for what you keep for years.", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="plan.0.code"]`, "cold", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="plan.0.name"]`, "Cold", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="plan.0.currency"]`, "EUR", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="plan.0.recurring"]`, "1.2345", chromedp.ByQuery),
	)
	b.refused(`.offering-edit button[type="submit"]`, "prices are decimals")
	b.screenshot("offering-edit")
	// The form comes back as typed, so fixing the price is enough.
	b.run(chromedp.SetValue(`input[name="plan.0.recurring"]`, "1.20", chromedp.ByQuery))
	b.submit(`.offering-edit button[type="submit"]`, "Saved Archive bucket.")
	b.run(waitText(".plans", "1.20 EUR a month"))

	// Retire Cold for Deep: the order form offers Deep only.
	b.run(
		press(`a[href="/catalog/archive/edit"]`),
		loaded(`input[name="plan.1.code"]`),
		press(`input[name="plan.0.retired"]`),
		chromedp.SendKeys(`input[name="plan.1.code"]`, "deep", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="plan.1.name"]`, "Deep", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="plan.1.recurring"]`, "0.90", chromedp.ByQuery),
	)
	b.submit(`.offering-edit button[type="submit"]`, "Saved Archive bucket.")
	b.run(
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
			{Date: "12-26", Name: "Boxing Day", Substitute: true},
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
		loaded("#holidays"),
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

// loaded waits until the page has finished loading and has an element
// matching sel: the way to wait for the page a link leads to. It asks the
// page itself (as press, choose and waitText do): chromedp's WaitVisible
// and SendKeys read chromedp's copy of the page's DOM, which a navigation
// still loading can leave without its document, so that a wait that
// starts before the page arrives may never end.
func loaded(sel string) chromedp.Action {
	return until(fmt.Sprintf(`!!document.querySelector(%q)`, sel), "a page with "+sel)
}

// post presses a form's button and waits for the page the post leads to:
// a new document (the one posted from is marked) with a flash or an
// error. It returns both texts.
func (b *browser) post(sel string) (flash, refused string) {
	b.t.Helper()
	b.run(chromedp.Evaluate(`window.stewardPosted = true`, nil), press(sel),
		until(`!window.stewardPosted && !!document.querySelector(".flash, .error")`, "the page after posting "+sel))
	b.run(chromedp.Evaluate(`document.querySelector(".error")?.innerText ?? ""`, &refused),
		chromedp.Evaluate(`document.querySelector(".flash")?.innerText ?? ""`, &flash))
	return flash, refused
}

// submit posts a form that must be saved, with its flash. A refused form
// fails the test at once with the page's error, rather than leave it
// waiting for a flash that never comes.
func (b *browser) submit(sel, want string) {
	b.t.Helper()
	flash, refused := b.post(sel)
	if refused != "" {
		b.t.Fatalf("posting %s was refused: %s", sel, refused)
	}
	if !strings.Contains(flash, want) {
		b.t.Fatalf("after posting %s the page says %q, want %q", sel, flash, want)
	}
}

// refused posts a form that must be refused with an error containing want.
func (b *browser) refused(sel, want string) {
	b.t.Helper()
	flash, refused := b.post(sel)
	if !strings.Contains(refused, want) {
		b.t.Fatalf("posting %s: want it refused with %q, got error %q, flash %q", sel, want, refused, flash)
	}
}
