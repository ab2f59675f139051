package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/demo"
)

func (b *browser) logout() {
	b.t.Helper()
	b.run(press(`.who button`), chromedp.WaitVisible("#email", chromedp.ByQuery))
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
		press(`form[action$="/delete"] button`),
		waitText("main", "Your cart is empty"),
		chromedp.Navigate(b.base+"/catalog"),
		chromedp.WaitVisible("#q", chromedp.ByQuery),
		chromedp.SendKeys("#q", "servers in minutes", chromedp.ByQuery),
		chromedp.Submit("#q", chromedp.ByQuery),
		waitText("main", "Virtual machine"),
		press(`a[href="/catalog/vm"]`),
		chromedp.WaitVisible(`input[name="param.hostname"]`, chromedp.ByQuery),
	)
	b.screenshot("offering")
	// A host name outside the form's pattern is refused by the server, with the field named.
	b.run(
		chromedp.SendKeys(`input[name="param.hostname"]`, "Not Valid", chromedp.ByQuery),
		press(`input[name="plan"][value="silver"]`),
		chromedp.SetValue("#quantity", "5", chromedp.ByQuery),
		press(`.order-form button[type="submit"]`),
		waitText(".error", "do not fit"),
	)
	if got := b.text(`small[id="param.hostname.help"]`); !strings.Contains(got, "Host name must match") {
		t.Errorf("the host name's error reads %q", got)
	}
	b.run(
		chromedp.SetValue(`input[name="param.hostname"]`, "crm-app", chromedp.ByQuery),
		press(`.order-form button[type="submit"]`),
		waitText("main", "Added Virtual machine to your cart"),
	)
	if got := b.text("tfoot .total-monthly"); got != "600.00" {
		t.Errorf("the cart's monthly total is %q, want 600.00", got)
	}
	b.run(press(`form[action="/cart/submit"] button`), waitText("main", "awaiting approval"))
	ref := strings.Fields(b.text("h1"))[1]
	b.screenshot("order-awaiting")
	b.logout()

	b.login("arun@contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/approvals"),
		waitText("main", ref),
		chromedp.SendKeys(`//section[contains(., '`+ref+`')]//input[@name='comment']`, "Approved for the CRM rollout", chromedp.BySearch),
		press(`//section[contains(., '`+ref+`')]//button[@value='approve']`),
		waitText(".flash", "Approved."),
	)
	b.logout()

	b.login("alex@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/tasks"),
		waitText("main", "crm-app"),
		chromedp.SendKeys(`//section[contains(., 'crm-app')]//input[@name='note']`, "Built on the silver cluster", chromedp.BySearch),
		press(`//section[contains(., 'crm-app')]//button[@value='done']`),
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

// press clicks the first element matching a CSS selector (or an XPath when
// it starts with "//") from inside the page, once the page has loaded: a
// click by DOM node id fails when Chromium swaps the document in between.
func press(sel string) chromedp.Action {
	find := fmt.Sprintf(`document.querySelector(%q)`, sel)
	if strings.HasPrefix(sel, "//") {
		find = fmt.Sprintf(`document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue`, sel)
	}
	return until(fmt.Sprintf(`(() => { const e = %s; if (!e) return false; e.click(); return true; })()`, find), "to click "+sel)
}

// choose selects the option of a select whose text is label, once the page
// has loaded.
func choose(sel, label string) chromedp.Action {
	return until(fmt.Sprintf(`(() => { const s = document.querySelector(%q); if (!s) return false;
		const o = [...s.options].find(o => o.text.trim() === %q); if (!o) return false; s.value = o.value; return true; })()`, sel, label),
		fmt.Sprintf("to choose %q in %s", label, sel))
}
