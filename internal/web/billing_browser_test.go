package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/demo"
)

// TestBrowserBilling: the financial manager opens a billing account and
// runs this month's billing, watching its progress; the Retail consumer
// reads the invoice in My costs, opens a line's explanation, and the
// invoice prints without the portal around it.
func TestBrowserBilling(t *testing.T) {
	base, a := startApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go a.Jobs.Run(ctx) // billing runs are jobs
	b := newBrowser(t, base)

	b.login("felix@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/billing"),
		waitText("main", "Billing runs"),
		chromedp.SendKeys("#org_unit", "FABRIKAM", chromedp.ByQuery),
		chromedp.SetValue("#currency", "euro", chromedp.ByQuery),
		press(`form[action="/billing/accounts"] button`),
		waitText(".error", "currency must be an ISO 4217 code"),
		chromedp.SetValue("#org_unit", "FABRIKAM", chromedp.ByQuery),
		chromedp.SetValue("#currency", "EUR", chromedp.ByQuery),
		press(`form[action="/billing/accounts"] button`),
		waitText(".flash", "Saved the billing account Fabrikam Ltd"),
		press(`form[action="/billing/runs"] button`),
		waitText(".flash", "Started the billing run"),
		// The page refreshes itself while the run goes; the job finishes it.
		waitText("table.runs", "completed"),
		waitText("table.runs", "4 of 4 accounts"),
		waitText("main", "Account credit"),
	)
	b.screenshot("billing")
	b.logout()

	b.login("dana@contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/costs"),
		waitText("main", "By service"),
		chromedp.WaitVisible("svg.chart rect.bar", chromedp.ByQuery),
		// Issue 16, billing 1, 2 and 4: the month in progress shows its
		// costs to date beside the projection; Retail's balance is shown.
		waitText("main", "Costs to date"),
		waitText("main", "in progress"),
		waitText("table.balances", "Retail"),
	)
	b.screenshot("costs")
	b.run(
		press(`table.documents a`),
		waitText("main", "Invoice (draft)"),
		waitText("table.lines", "shop-images"),
		waitText("table.lines tfoot", "Costs to date"),
		waitText("table.lines tfoot", "Projected to"),
		waitText("table.lines tfoot", "Amount due"),
	)
	// A draft shows what will be due: its total (Retail has no account credit).
	if total, due := b.text("td.doc-total"), b.text("td.doc-balance"); total != due || due == "0.00" {
		t.Errorf("the draft's amount due is %q of %q", due, total)
	}
	b.screenshot("invoice")
	// A usage line explains itself in words (issue 17, item 8): the price
	// version, the usage and its meter, and a link to that usage by day.
	b.run(press(`tr.usage details.why summary`), waitText(`tr.usage details.why[open]`, "of meter"))
	if got := b.text(`tr.usage details.why[open]`); !strings.Contains(got, "usage event") || !strings.Contains(got, "version 1 of the Standard plan") {
		t.Errorf("the usage line explains: %s", got)
	}
	var invoice string
	b.run(chromedp.Location(&invoice), press(`tr.usage details.why[open] a.usage-link`), waitText("h1", "Usage"),
		until(`!!document.querySelector("svg.chart rect.bar")`, "the usage chart"))
	b.screenshot("usage")
	b.run(chromedp.Navigate(invoice), waitText("main", "Invoice (draft)"))
	// Printed, the invoice stands alone: no navigation, no actions.
	var navShown, linesShown bool
	b.run(
		emulation.SetEmulatedMedia().WithMedia("print"),
		chromedp.Evaluate(`getComputedStyle(document.querySelector("nav.nav")).display !== "none"`, &navShown),
		chromedp.Evaluate(`getComputedStyle(document.querySelector("table.lines")).display !== "none"`, &linesShown),
		emulation.SetEmulatedMedia().WithMedia(""),
	)
	if navShown || !linesShown {
		t.Errorf("printed: navigation shown %v, lines shown %v", navShown, linesShown)
	}
	b.logout()

	// Felix adds a credit to the draft; finalising before the period ends is refused.
	b.login("felix@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/costs"),
		waitText("table.documents", "Retail"),
		press(`table.documents a`),
		waitText("main", "Actions"),
		chromedp.SendKeys("#description", "Welcome credit", chromedp.ByQuery),
		chromedp.SendKeys("#line-amount", "5.00", chromedp.ByQuery),
		press(`form[action$="/line"] button`),
		waitText(".flash", "Line added"),
		waitText("table.lines", "Welcome credit"),
		press(`form[action$="/finalise"] button`),
		waitText(".error", "finalise it after then"),
	)
}
