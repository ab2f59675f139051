package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/demo"
)

func (b *browser) logout() {
	b.t.Helper()
	b.run(chromedp.Click(`.who button`, chromedp.ByQuery), chromedp.WaitVisible("#email", chromedp.ByQuery))
}

// TestBrowserOrderJourney is the catalog's whole loop in a real browser: a
// Retail consumer orders five silver VMs (600 a month, so policy routes the
// order to the service's sponsor), the sponsor approves it, an agent of the
// assignment group fulfils it, and the consumer finds the instance under
// My services.
func TestBrowserOrderJourney(t *testing.T) {
	b := newBrowser(t, startPortal(t))

	b.login("dana@contoso.example", demo.Password)
	// The demo left a laptop in Dana's cart; she takes it out first.
	b.run(
		chromedp.Navigate(b.base+"/cart"),
		waitText("main", "Standard laptop"),
		chromedp.Click(`form[action$="/delete"] button`, chromedp.ByQuery),
		waitText("main", "Your cart is empty"),
		chromedp.Navigate(b.base+"/catalog"),
		chromedp.WaitVisible("#q", chromedp.ByQuery),
		chromedp.SendKeys("#q", "servers in minutes", chromedp.ByQuery),
		chromedp.Submit("#q", chromedp.ByQuery),
		waitText("main", "Virtual machine"),
		chromedp.Click(`a[href="/catalog/vm"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`input[name="param.hostname"]`, chromedp.ByQuery),
	)
	b.screenshot("offering")
	// A host name outside the form's pattern is refused by the server, with the field named.
	b.run(
		chromedp.SendKeys(`input[name="param.hostname"]`, "Not Valid", chromedp.ByQuery),
		chromedp.Click(`input[name="plan"][value="silver"]`, chromedp.ByQuery),
		chromedp.SetValue("#quantity", "5", chromedp.ByQuery),
		chromedp.Click(`.order-form button[type="submit"]`, chromedp.ByQuery),
		waitText(".error", "do not fit"),
	)
	if got := b.text(`small[id="param.hostname.help"]`); !strings.Contains(got, "Host name must match") {
		t.Errorf("the host name's error reads %q", got)
	}
	b.run(
		chromedp.SetValue(`input[name="param.hostname"]`, "crm-app", chromedp.ByQuery),
		chromedp.Click(`.order-form button[type="submit"]`, chromedp.ByQuery),
		waitText("main", "Added Virtual machine to your cart"),
	)
	if got := b.text("tfoot .total-monthly"); got != "600.00" {
		t.Errorf("the cart's monthly total is %q, want 600.00", got)
	}
	b.run(chromedp.Click(`form[action="/cart/submit"] button`, chromedp.ByQuery), waitText("main", "awaiting approval"))
	ref := strings.Fields(b.text("h1"))[1]
	b.screenshot("order-awaiting")
	b.logout()

	b.login("arun@contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/approvals"),
		waitText("main", ref),
		chromedp.SendKeys(`//section[contains(., '`+ref+`')]//input[@name='comment']`, "Approved for the CRM rollout", chromedp.BySearch),
		chromedp.Click(`//section[contains(., '`+ref+`')]//button[@value='approve']`, chromedp.BySearch),
		waitText(".flash", "Approved."),
	)
	b.logout()

	b.login("alex@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/tasks"),
		waitText("main", "crm-app"),
		chromedp.SendKeys(`//section[contains(., 'crm-app')]//input[@name='note']`, "Built on the silver cluster", chromedp.BySearch),
		chromedp.Click(`//section[contains(., 'crm-app')]//button[@value='done']`, chromedp.BySearch),
		waitText(".flash", "Task done."),
	)
	b.logout()

	b.login("dana@contoso.example", demo.Password)
	b.run(chromedp.Navigate(b.base+"/my-services"), waitText("main", "crm-app"))
	var row string
	b.run(chromedp.Text(`//tr[contains(., 'crm-app')]`, &row, chromedp.BySearch))
	if !strings.Contains(row, "Silver") || !strings.Contains(row, "active") || !strings.Contains(row, "5") {
		t.Errorf("the instance row reads %q", row)
	}
	b.screenshot("my-services")
	b.run(chromedp.Navigate(b.base+"/orders?mine=true&state=completed"), waitText("main", ref))
}
