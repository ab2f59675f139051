package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/access"
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
	// In the field's own words (its description), once (issue 17, a newcomer's walk).
	if got := b.text(`small[id="param.hostname.help"]`); !strings.HasPrefix(got, "Host name is not valid: Lower-case letters, digits and hyphens.") || strings.Count(got, "Lower-case") != 1 {
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
	// Issue 17, item 2: the bad host name did not turn the nightly backup off.
	if got := b.text("main table tbody"); !strings.Contains(got, "backup: true") {
		t.Errorf("after the refused host name, the cart's VM reads %q, want backup: true", got)
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

// TestBrowserOrderFormKeepsValues: Issue 17, item 2: typed values survive
// every error, for every field type of the order form (text with a
// pattern, enum, integer, number, checkboxes with a default of true and of
// false), and a checkbox left at its default goes into the order as the
// default. (The bad host name of the README's tour once turned the VM's
// nightly backup off: the page expected "true", the browser sends "on".)
func TestBrowserOrderFormKeepsValues(t *testing.T) {
	base, a := startApp(t)
	ctx := context.Background()
	vm, err := a.Catalog.Offering(ctx, access.System(), "vm")
	if err != nil {
		t.Fatal(err)
	}
	in := vm.Input()
	in.FormSchema = json.RawMessage(`{"type":"object","required":["hostname"],"properties":{
		"hostname":{"type":"string","title":"Host name","pattern":"^[a-z][a-z0-9-]{1,30}$"},
		"os":{"type":"string","title":"Operating system","enum":["ubuntu-24.04","rhel-9","windows-2022"],"default":"ubuntu-24.04"},
		"zone":{"type":"string","title":"Zone","enum":["north","south"]},
		"cpus":{"type":"integer","title":"vCPUs","minimum":1,"maximum":32,"default":2},
		"ratio":{"type":"number","title":"Overcommit ratio","minimum":1,"maximum":4,"default":1.5},
		"note":{"type":"string","title":"Note","maxLength":40},
		"backup":{"type":"boolean","title":"Nightly backup","default":true},
		"monitoring":{"type":"boolean","title":"Monitoring","default":false},
		"debug":{"type":"boolean","title":"Debug logging"}}}`)
	if _, err := a.Catalog.UpdateOffering(ctx, access.System(), "vm", in); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, base)
	b.login("dana@contoso.example", demo.Password)
	param := func(name string) string { return `[name="param.` + name + `"]` }
	// values reads what the form shows now: a checkbox as "on" or "off".
	values := func() map[string]string {
		var got map[string]string
		b.run(chromedp.Evaluate(`Object.fromEntries([...document.querySelectorAll('.order-form [name^="param."]')].map(e =>
			[e.name.slice(6), e.type === "checkbox" ? (e.checked ? "on" : "off") : e.value]))`, &got))
		return got
	}
	open := func() {
		b.run(chromedp.Navigate(b.base+"/catalog/vm"), chromedp.WaitVisible(param("hostname"), chromedp.ByQuery))
	}
	open()
	want := map[string]string{"hostname": "", "os": "ubuntu-24.04", "zone": "", "cpus": "2", "ratio": "1.5", "note": "",
		"backup": "on", "monitoring": "off", "debug": "off"}
	if diff := cmp.Diff(want, values()); diff != "" {
		t.Errorf("the form's defaults (-want +got):\n%s", diff)
	}

	// Every field typed, the host name wrong: all of it comes back.
	b.run(
		chromedp.SendKeys(param("hostname"), "Not Valid", chromedp.ByQuery),
		chromedp.SetValue(param("os"), "rhel-9", chromedp.ByQuery),
		chromedp.SetValue(param("zone"), "south", chromedp.ByQuery),
		chromedp.SetValue(param("cpus"), "4", chromedp.ByQuery),
		chromedp.SetValue(param("ratio"), "2.25", chromedp.ByQuery),
		chromedp.SendKeys(param("note"), "for the CRM", chromedp.ByQuery),
		press(`input`+param("monitoring")),
		press(`input[name="plan"][value="silver"]`),
		chromedp.SetValue("#quantity", "2", chromedp.ByQuery),
		press(`.order-form button[type="submit"]`),
		waitText(".error", "do not fit"),
	)
	want = map[string]string{"hostname": "Not Valid", "os": "rhel-9", "zone": "south", "cpus": "4", "ratio": "2.25", "note": "for the CRM",
		"backup": "on", "monitoring": "on", "debug": "off"}
	if diff := cmp.Diff(want, values()); diff != "" {
		t.Errorf("after the error, the form shows (-want +got):\n%s", diff)
	}
	var plan, qty string
	b.run(chromedp.Value(`input[name="plan"]:checked`, &plan, chromedp.ByQuery), chromedp.Value("#quantity", &qty, chromedp.ByQuery))
	if plan != "silver" || qty != "2" {
		t.Errorf("after the error, plan %q and quantity %q; want silver and 2", plan, qty)
	}
	// A second error (vCPUs out of range too): still all there.
	b.run(
		chromedp.SetValue(param("cpus"), "64", chromedp.ByQuery),
		press(`.order-form button[type="submit"]`),
		waitText(`small[id="param.cpus.help"] strong`, "vCPUs must be from 1 to 32"),
	)
	want["cpus"] = "64"
	if diff := cmp.Diff(want, values()); diff != "" {
		t.Errorf("after the second error, the form shows (-want +got):\n%s", diff)
	}
	b.screenshot("order-form-error")
	b.run(
		chromedp.SetValue(param("hostname"), "crm-app", chromedp.ByQuery),
		chromedp.SetValue(param("cpus"), "4", chromedp.ByQuery),
		press(`.order-form button[type="submit"]`),
		waitText("main", "Added Virtual machine to your cart"),
	)

	// A checkbox turned off stays off through an error too.
	open()
	b.run(
		chromedp.SendKeys(param("hostname"), "Bad Name", chromedp.ByQuery),
		press(`input`+param("backup")),
		press(`.order-form button[type="submit"]`),
		waitText(".error", "do not fit"),
	)
	if got := values(); got["backup"] != "off" || got["hostname"] != "Bad Name" {
		t.Errorf("after an error with backup turned off, the form shows %v", got)
	}
	b.run(
		chromedp.SetValue(param("hostname"), "crm-db", chromedp.ByQuery),
		press(`.order-form button[type="submit"]`),
		waitText("main", "Added Virtual machine to your cart"),
	)

	var orderID string
	b.run(chromedp.Value(`form[action="/cart/submit"] input[name="order"]`, &orderID, chromedp.ByQuery))
	o, err := a.Orders.Order(ctx, access.System(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range o.Items {
		if it.Parameters["hostname"] == nil {
			continue // the laptop the demo left in Dana's cart
		}
		p, _ := json.Marshal(it.Parameters)
		got[fmt.Sprint(it.Parameters["hostname"])] = string(p)
	}
	wantParams := map[string]string{
		"crm-app": `{"backup":true,"cpus":4,"debug":false,"hostname":"crm-app","monitoring":true,"note":"for the CRM","os":"rhel-9","ratio":2.25,"zone":"south"}`,
		"crm-db":  `{"backup":false,"cpus":2,"debug":false,"hostname":"crm-db","monitoring":false,"os":"ubuntu-24.04","ratio":1.5}`,
	}
	if diff := cmp.Diff(wantParams, got); diff != "" {
		t.Errorf("the cart's parameters (-want +got):\n%s", diff)
	}
}

// TestBrowserOneApprovalCard: Issue 17, item 3: the README's tour orders
// five silver VMs with the laptop the demo left in Dana's cart; the
// "over 500" policy matches both items, and the sponsor of both services
// finds one card for the order, which one approval decides.
func TestBrowserOneApprovalCard(t *testing.T) {
	b := newBrowser(t, startPortal(t))
	b.login("dana@contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/catalog/vm"),
		chromedp.WaitVisible(`input[name="param.hostname"]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="param.hostname"]`, "crm-app", chromedp.ByQuery),
		press(`input[name="plan"][value="silver"]`),
		chromedp.SetValue("#quantity", "5", chromedp.ByQuery),
		press(`.order-form button[type="submit"]`),
		waitText("main", "Added Virtual machine to your cart"),
		waitText("main", "Standard laptop"),
		press(`form[action="/cart/submit"] button`),
		waitText("main", "awaiting approval"),
	)
	ref := strings.Fields(b.text("h1"))[1]
	b.logout()

	b.login("arun@contoso.example", demo.Password)
	b.run(chromedp.Navigate(b.base+"/approvals"), waitText("main", ref))
	var cards int
	b.run(chromedp.Evaluate(fmt.Sprintf(`[...document.querySelectorAll("section.approval h2")].filter(h => h.innerText.includes(%q)).length`, ref), &cards))
	if cards != 1 {
		t.Fatalf("the sponsor's inbox holds %d cards for order %s, want 1", cards, ref)
	}
	b.screenshot("approvals-one-card")
	b.run(
		press(`//section[contains(., '`+ref+`')]//button[@value='approve']`),
		waitText(".flash", "Approved."),
	)
	if got := b.text("main"); strings.Contains(got, ref) {
		t.Errorf("after one approval, the inbox still shows %s: %q", ref, got)
	}
	b.run(chromedp.Navigate(b.base+"/orders"), waitText("main", ref))
	var row string
	b.run(chromedp.Text(`//tr[contains(., '`+ref+`')]`, &row, chromedp.BySearch))
	if strings.Contains(row, "awaiting approval") {
		t.Errorf("after one approval the order's row reads %q", row)
	}
}
